/**
 * Test images for the registry tests, made offline: OCI image layouts built in temp dirs
 * from the static /bin/busybox (layers tarred by GNU tar), pushed to the test registry by
 * skopeo, so what the client reads was written by an independent implementation.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { gzipSync } from 'node:zlib';
import { requires, testHost } from './env.ts';

const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';
const OCI_CONFIG = 'application/vnd.oci.image.config.v1+json';
const OCI_LAYER_GZIP = 'application/vnd.oci.image.layer.v1.tar+gzip';
const BUSYBOX = '/bin/busybox';

export interface Blob {
  mediaType: string;
  digest: string;
  size: number;
  bytes: Buffer;
}

export interface FixtureImage {
  architecture: string;
  manifest: Blob;
  config: Blob;
  layers: Blob[];
  /** sha256 of each uncompressed layer tar */
  diffIds: string[];
}

export interface FixtureLayout {
  dir: string;
  tag: string;
  /** what the tag points at: an image manifest or an index */
  top: Blob;
  images: FixtureImage[];
}

export function sha256(bytes: Uint8Array): string {
  return `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
}

/** `tsc-test/<name>-<random>`: one repository per test, so leftovers show who made them. */
export function uniqueRepository(name: string): string {
  return `tsc-test/${name}-${randomBytes(4).toString('hex')}`;
}

/** A fresh temp dir removed when the test ends. */
export function tempDir(t: TestContext, prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), `tsc-reg-${prefix}-`));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/**
 * The test registry (plain http) when everything the registry tests need is there;
 * otherwise skips (locally) or fails (CI) with the reason.
 */
export async function requiresRegistry(t: TestContext): Promise<string | undefined> {
  if (!requires(t, testHost !== undefined, 'the test host is not set up (run: sudo bash scripts/setup-host.sh)')) return undefined;
  for (const tool of ['skopeo', 'tar']) {
    if (!requires(t, spawnSync(tool, ['--version']).status === 0, `${tool} is not installed`)) return undefined;
  }
  if (!requires(t, existsSync(BUSYBOX), `${BUSYBOX} is missing (install busybox-static)`)) return undefined;
  const registry = testHost!.registry;
  const up = await fetch(`http://${registry}/v2/`).then((r) => r.ok, () => false);
  if (!requires(t, up, `the test registry on ${registry} is not answering (run: sudo bash scripts/setup-host.sh)`)) return undefined;
  return registry;
}

function blob(mediaType: string, bytes: Buffer): Blob {
  return { mediaType, digest: sha256(bytes), size: bytes.byteLength, bytes };
}

function json(mediaType: string, value: unknown): Blob {
  return blob(mediaType, Buffer.from(JSON.stringify(value)));
}

/** A gzipped layer made by GNU tar from `files` (path -> source file, or text content). */
function layer(work: string, files: Record<string, { copy: string } | { text: string } | { symlink: string }>): { blob: Blob; diffId: string } {
  const root = mkdtempSync(join(work, 'rootfs-'));
  for (const [path, spec] of Object.entries(files)) {
    const target = join(root, path);
    mkdirSync(join(target, '..'), { recursive: true });
    if ('copy' in spec) copyFileSync(spec.copy, target);
    else if ('text' in spec) writeFileSync(target, spec.text);
    else symlinkSync(spec.symlink, target);
  }
  const tar = execFileSync('tar', ['--sort=name', '--owner=0', '--group=0', '--numeric-owner', '--mtime=@0', '-cf', '-', '-C', root, '.'], {
    maxBuffer: 64 * 1024 * 1024,
  });
  rmSync(root, { recursive: true, force: true });
  return { blob: blob(OCI_LAYER_GZIP, gzipSync(tar)), diffId: sha256(tar) };
}

function image(work: string, architecture: string, variant: string | undefined, files: Parameters<typeof layer>[1]): FixtureImage {
  const { blob: layerBlob, diffId } = layer(work, files);
  const config = json(OCI_CONFIG, {
    architecture,
    ...(variant === undefined ? {} : { variant }),
    os: 'linux',
    config: { Cmd: ['/bin/sh'], Env: ['PATH=/bin'] },
    rootfs: { type: 'layers', diff_ids: [diffId] },
    history: [{ created_by: 'tsc registry fixtures' }],
  });
  const manifest = json(OCI_MANIFEST, {
    schemaVersion: 2,
    mediaType: OCI_MANIFEST,
    config: { mediaType: config.mediaType, digest: config.digest, size: config.size },
    layers: [{ mediaType: layerBlob.mediaType, digest: layerBlob.digest, size: layerBlob.size }],
  });
  return { architecture, manifest, config, layers: [layerBlob], diffIds: [diffId] };
}

function writeLayout(dir: string, tag: string, top: Blob, blobs: Blob[]): void {
  mkdirSync(join(dir, 'blobs', 'sha256'), { recursive: true });
  for (const b of [top, ...blobs]) writeFileSync(join(dir, 'blobs', 'sha256', b.digest.slice('sha256:'.length)), b.bytes);
  writeFileSync(join(dir, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
  writeFileSync(join(dir, 'index.json'), JSON.stringify({
    schemaVersion: 2,
    mediaType: OCI_INDEX,
    manifests: [{ mediaType: top.mediaType, digest: top.digest, size: top.size, annotations: { 'org.opencontainers.image.ref.name': tag } }],
  }));
}

/** An OCI layout with one linux/amd64 image: busybox and a /bin/sh link to it. */
export function busyboxLayout(t: TestContext, tag = 'latest'): FixtureLayout {
  const dir = tempDir(t, 'layout');
  const img = image(dir, 'amd64', undefined, { 'bin/busybox': { copy: BUSYBOX }, 'bin/sh': { symlink: 'busybox' } });
  writeLayout(join(dir, 'oci'), tag, img.manifest, [img.config, ...img.layers]);
  return { dir: join(dir, 'oci'), tag, top: img.manifest, images: [img] };
}

/**
 * An OCI layout whose tag names an index of two images: linux/amd64 (busybox) and
 * linux/arm64/v8 (a different, tiny layer).
 */
export function multiPlatformLayout(t: TestContext, tag = 'multi'): FixtureLayout {
  const dir = tempDir(t, 'multi');
  const amd64 = image(dir, 'amd64', undefined, { 'bin/busybox': { copy: BUSYBOX } });
  const arm64 = image(dir, 'arm64', 'v8', { 'etc/platform': { text: 'linux/arm64/v8\n' } });
  const index = json(OCI_INDEX, {
    schemaVersion: 2,
    mediaType: OCI_INDEX,
    manifests: [
      { mediaType: OCI_MANIFEST, digest: amd64.manifest.digest, size: amd64.manifest.size, platform: { architecture: 'amd64', os: 'linux' } },
      { mediaType: OCI_MANIFEST, digest: arm64.manifest.digest, size: arm64.manifest.size, platform: { architecture: 'arm64', os: 'linux', variant: 'v8' } },
    ],
  });
  const blobs = [amd64, arm64].flatMap((i) => [i.manifest, i.config, ...i.layers]);
  writeLayout(join(dir, 'oci'), tag, index, blobs);
  return { dir: join(dir, 'oci'), tag, top: index, images: [amd64, arm64] };
}

/** `skopeo copy` of the layout's tag to `registry/repository:tag` over plain http, digests kept. */
export function skopeoPush(layout: FixtureLayout, registry: string, repository: string, tag = layout.tag): void {
  execFileSync('skopeo', [
    '--insecure-policy', 'copy', '--quiet', '--all', '--preserve-digests', '--dest-tls-verify=false',
    `oci:${layout.dir}:${layout.tag}`, `docker://${registry}/${repository}:${tag}`,
  ], { stdio: ['ignore', 'pipe', 'pipe'] });
}

/** The raw manifest skopeo reads for a reference: an independent check of what we pushed. */
export function skopeoRawManifest(registry: string, repository: string, reference: string): Buffer {
  const sep = reference.includes(':') ? '@' : ':';
  return execFileSync('skopeo', ['inspect', '--raw', '--tls-verify=false', `docker://${registry}/${repository}${sep}${reference}`]);
}
