/**
 * Test images for the registry tests, made offline: OCI image layouts built in temp dirs
 * from the static /bin/busybox (layers tarred by GNU tar), pushed to the test registry by
 * skopeo, so what the client reads was written by an independent implementation.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { gzipSync } from 'node:zlib';
import { requires, testHost } from './env.ts';
import { tarBuffer } from '../../src/engine/layers/tar-write.ts';

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
 * Busybox (as busyboxLayout) plus `files`: text files and symlinks, for images that
 * carry something a test needs, such as a symlink where a volume will be mounted.
 */
export function busyboxLayoutWith(t: TestContext, files: Record<string, { text: string } | { symlink: string }>, tag = 'latest'): FixtureLayout {
  const dir = tempDir(t, 'layout');
  const img = image(dir, 'amd64', undefined, { 'bin/busybox': { copy: BUSYBOX }, 'bin/sh': { symlink: 'busybox' }, ...files });
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

/** A gzipped layer written with tsc's own tar writer (for owners, xattrs and whiteouts GNU tar cannot fake). */
async function writtenLayer(entries: Parameters<typeof tarBuffer>[0]): Promise<{ blob: Blob; diffId: string }> {
  const tar = await tarBuffer(entries);
  return { blob: blob(OCI_LAYER_GZIP, gzipSync(tar)), diffId: sha256(tar) };
}

/** security.capability v2 granting cap_net_raw (bit 13), effective: what `setcap cap_net_raw+ep` writes. */
export const CAP_NET_RAW_V2 = Buffer.from([0x01, 0x00, 0x00, 0x02, 0x00, 0x20, 0x00, 0x00, 0x00, 0x20, 0x00, 0x00, 0, 0, 0, 0, 0, 0, 0, 0]);

/**
 * A two-layer linux/amd64 image exercising what unpacking must preserve: owners other
 * than root, setuid and sticky modes, binary and user xattrs, a hardlink, and in the
 * second layer a whiteout and an opaque directory.
 */
export async function richLayout(t: TestContext, tag = 'rich'): Promise<FixtureLayout> {
  const dir = tempDir(t, 'rich');
  // content unique to this run, so no earlier run's blobs or layers can be reused
  const salt = randomBytes(8).toString('hex');
  const busybox = readFileSync(BUSYBOX);
  const base = await writtenLayer([
    { path: 'bin/', type: 'directory', mode: 0o755 },
    { path: 'bin/busybox', type: 'file', mode: 0o755, body: busybox },
    { path: 'bin/sh', type: 'symlink', linkname: 'busybox' },
    { path: 'bin/ping', type: 'file', mode: 0o4755, body: 'not really ping\n', xattrs: { 'security.capability': CAP_NET_RAW_V2 } },
    { path: 'bin/ping-link', type: 'hardlink', linkname: 'bin/ping' },
    { path: 'etc/', type: 'directory' },
    { path: 'etc/passwd', type: 'file', body: 'root:x:0:0:root:/root:/bin/sh\nwww-data:x:33:33:www:/var/www:/bin/sh\n' },
    { path: 'etc/tagged', type: 'file', body: 'x', xattrs: { 'user.tsc.note': 'hello' } },
    { path: 'etc/removeme', type: 'file', body: 'gone in layer 2\n' },
    { path: 'etc/fixture-id', type: 'file', body: `${salt}\n` },
    { path: 'etc/opaque/', type: 'directory' },
    { path: 'etc/opaque/old', type: 'file', body: 'hidden by layer 2\n' },
    { path: 'tmp/', type: 'directory', mode: 0o1777 },
    { path: 'var/www/', type: 'directory', mode: 0o750, uid: 33, gid: 33 },
    { path: 'var/www/index.html', type: 'file', mode: 0o640, uid: 33, gid: 33, body: '<h1>hi</h1>\n' },
  ]);
  const top = await writtenLayer([
    { path: 'etc/.wh.removeme', type: 'file', body: '' },
    { path: 'etc/opaque/', type: 'directory' },
    { path: 'etc/opaque/.wh..wh..opq', type: 'file', body: '' },
    { path: 'etc/opaque/new', type: 'file', body: `from layer 2 of ${salt}\n` },
  ]);
  const config = json(OCI_CONFIG, {
    architecture: 'amd64',
    os: 'linux',
    created: '2026-01-02T03:04:05Z',
    config: { Cmd: ['/bin/sh'], Env: ['PATH=/bin'], User: '0', Labels: { fixture: 'rich' } },
    rootfs: { type: 'layers', diff_ids: [base.diffId, top.diffId] },
    history: [{ created: '2026-01-02T03:04:05Z', created_by: 'base layer' }, { created: '2026-01-02T03:04:06Z', created_by: 'whiteouts' }],
  });
  const manifest = json(OCI_MANIFEST, {
    schemaVersion: 2,
    mediaType: OCI_MANIFEST,
    config: { mediaType: config.mediaType, digest: config.digest, size: config.size },
    layers: [base.blob, top.blob].map((l) => ({ mediaType: l.mediaType, digest: l.digest, size: l.size })),
  });
  const img = { architecture: 'amd64', manifest, config, layers: [base.blob, top.blob], diffIds: [base.diffId, top.diffId] };
  writeLayout(join(dir, 'oci'), tag, manifest, [config, base.blob, top.blob]);
  return { dir: join(dir, 'oci'), tag, top: manifest, images: [img] };
}

/** A one-layer image holding a device node (which rootless unpacking must skip with a note). */
export async function deviceLayout(t: TestContext, tag = 'dev'): Promise<FixtureLayout> {
  const dir = tempDir(t, 'dev');
  const salt = randomBytes(8).toString('hex');
  const layer = await writtenLayer([
    { path: 'dev/', type: 'directory' },
    { path: 'dev/null', type: 'char-device', mode: 0o666, devmajor: 1, devminor: 3 },
    { path: 'etc/id', type: 'file', body: `${salt}\n` },
  ]);
  const config = json(OCI_CONFIG, { architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [layer.diffId] } });
  const manifest = json(OCI_MANIFEST, {
    schemaVersion: 2,
    mediaType: OCI_MANIFEST,
    config: { mediaType: config.mediaType, digest: config.digest, size: config.size },
    layers: [{ mediaType: layer.blob.mediaType, digest: layer.blob.digest, size: layer.blob.size }],
  });
  writeLayout(join(dir, 'oci'), tag, manifest, [config, layer.blob]);
  return { dir: join(dir, 'oci'), tag, top: manifest, images: [{ architecture: 'amd64', manifest, config, layers: [layer.blob], diffIds: [layer.diffId] }] };
}
