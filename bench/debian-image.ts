/**
 * The image the pull suite fetches: a Debian minbase root file system made by debootstrap
 * from the mirror this machine's apt uses, packed as one gzip layer (numeric owners) into
 * an OCI layout and pushed to the local registry with skopeo. Each step is cached under
 * /var/cache/tsc-bench (TSC_BENCH_CACHE) and skipped when its result is there; nothing is
 * built when the registry has the image already.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { closeSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ensureTools } from './common.ts';

const SUITE = 'bookworm';
const TAG = 'minbase';
const REPOSITORY = 'tsc-bench/debian';
const CACHE = join(process.env.TSC_BENCH_CACHE || '/var/cache/tsc-bench', `debian-${SUITE}-${TAG}`);
const MANIFEST_TYPES = ['application/vnd.oci.image.manifest.v1+json', 'application/vnd.docker.distribution.manifest.v2+json'];

export interface BenchImage {
  reference: string;
  /** sum of the layer blobs' sizes in the registry */
  compressedBytes: number;
  /** the layer tar's size, when this machine built the image */
  uncompressedBytes: number | undefined;
  layers: number;
  /** what made it, when this machine built it */
  origin: string | undefined;
}

interface Built {
  compressedBytes: number;
  uncompressedBytes: number;
  origin: string;
}

/** The image in the registry, built and pushed first when it is not there. */
export async function ensureDebianImage(registry: string): Promise<BenchImage> {
  const reference = `${registry}/${REPOSITORY}:${TAG}`;
  let remote = await registryLayers(registry);
  if (!remote) {
    const layout = buildLayout();
    process.stdout.write(`pushing ${reference}\n`);
    execFileSync('skopeo', ['copy', '--quiet', '--dest-tls-verify=false', `oci:${layout}:${TAG}`, `docker://${reference}`], { stdio: 'inherit' });
    remote = await registryLayers(registry);
    if (!remote) throw new Error(`${reference} is not in the registry after skopeo pushed it`);
  }
  const built = existsSync(join(CACHE, 'built.json')) ? (JSON.parse(readFileSync(join(CACHE, 'built.json'), 'utf8')) as Built) : undefined;
  return {
    reference,
    compressedBytes: remote.reduce((sum, size) => sum + size, 0),
    uncompressedBytes: built?.uncompressedBytes,
    layers: remote.length,
    origin: built?.origin,
  };
}

/** The sizes of the image's layers in the registry, or undefined when it has no such image. */
async function registryLayers(registry: string): Promise<number[] | undefined> {
  const response = await fetch(`http://${registry}/v2/${REPOSITORY}/manifests/${TAG}`, { headers: { accept: MANIFEST_TYPES.join(', ') } });
  if (response.status === 404) return undefined;
  if (!response.ok) throw new Error(`registry ${registry}: ${REPOSITORY}:${TAG}: HTTP ${response.status}`);
  const manifest = (await response.json()) as { layers?: { size: number }[] };
  if (!manifest.layers) throw new Error(`registry ${registry}: ${REPOSITORY}:${TAG} is not a single-platform image manifest`);
  return manifest.layers.map((l) => l.size);
}

/** The OCI layout directory holding the image, made (debootstrap, tar, gzip) if missing. */
function buildLayout(): string {
  const layout = join(CACHE, 'oci');
  if (existsSync(join(layout, 'index.json'))) return layout;
  ensureTools({ debootstrap: 'debootstrap', skopeo: 'skopeo' });
  const rootfs = join(CACHE, 'rootfs');
  const mirror = debianMirror(SUITE);
  const origin = `debootstrap --variant=minbase ${SUITE} DIR ${mirror}`;
  if (!existsSync(join(CACHE, 'rootfs.done'))) debootstrap(rootfs, mirror);

  process.stdout.write(`packing ${rootfs} into one gzip layer\n`);
  const blobs = join(layout, 'blobs', 'sha256');
  mkdirSync(blobs, { recursive: true });
  const tar = join(CACHE, 'layer.tar');
  execFileSync('tar', ['--create', '--file', tar, '--numeric-owner', '--sort=name', '-C', rootfs, ...readdirSync(rootfs).sort()]);
  const gz = `${tar}.gz`;
  const out = openSync(gz, 'w');
  try {
    const zipped = spawnSync('gzip', ['-n', '-6', '-c', tar], { stdio: ['ignore', out, 'inherit'] });
    if (zipped.status !== 0) throw new Error(`gzip ${tar} failed (status ${zipped.status})`);
  } finally {
    closeSync(out);
  }
  return writeLayout(layout, blobs, tar, gz, origin);
}

function writeLayout(layout: string, blobs: string, tar: string, gz: string, origin: string): string {
  const diffId = `sha256:${sha256(readFileSync(tar))}`;
  const uncompressedBytes = statSync(tar).size;
  const layer = { mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: `sha256:${sha256(readFileSync(gz))}`, size: statSync(gz).size };
  renameSync(gz, join(blobs, layer.digest.slice(7)));
  rmSync(tar);
  const created = statSync(join(CACHE, 'rootfs.done')).mtime.toISOString();
  const arch = execFileSync('dpkg', ['--print-architecture']).toString().trim();
  const config = blob(blobs, 'application/vnd.oci.image.config.v1+json', {
    created,
    architecture: arch,
    os: 'linux',
    config: { Env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'], Cmd: ['bash'] },
    rootfs: { type: 'layers', diff_ids: [diffId] },
    history: [{ created, created_by: origin }],
  });
  const manifest = blob(blobs, 'application/vnd.oci.image.manifest.v1+json', { schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json', config, layers: [layer] });
  writeFileSync(join(layout, 'oci-layout'), '{"imageLayoutVersion":"1.0.0"}\n');
  const index = { schemaVersion: 2, manifests: [{ ...manifest, annotations: { 'org.opencontainers.image.ref.name': TAG } }] };
  writeFileSync(join(layout, 'index.json.tmp'), `${JSON.stringify(index)}\n`);
  renameSync(join(layout, 'index.json.tmp'), join(layout, 'index.json'));
  const built: Built = { compressedBytes: layer.size, uncompressedBytes, origin };
  writeFileSync(join(CACHE, 'built.json'), `${JSON.stringify(built, null, 2)}\n`);
  return layout;
}

/** Writes JSON as a blob and returns its descriptor. */
function blob(blobs: string, mediaType: string, value: unknown): { mediaType: string; digest: string; size: number } {
  const bytes = Buffer.from(JSON.stringify(value));
  const digest = sha256(bytes);
  writeFileSync(join(blobs, digest), bytes);
  return { mediaType, digest: `sha256:${digest}`, size: bytes.length };
}

function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/**
 * Runs debootstrap into dir (log in the cache) and trims what a container image leaves
 * out, as Debian's official images do: device nodes (the engine provides /dev, and a
 * rootless one cannot create them) and apt's package lists and caches.
 */
function debootstrap(rootfs: string, mirror: string): void {
  execFileSync('rm', ['-rf', '--one-file-system', rootfs]);
  mkdirSync(CACHE, { recursive: true });
  const log = join(CACHE, 'debootstrap.log');
  process.stdout.write(`debootstrap --variant=minbase ${SUITE} ${rootfs} ${mirror} (a few minutes; log: ${log})\n`);
  const fd = openSync(log, 'w');
  try {
    const run = spawnSync('debootstrap', ['--variant=minbase', SUITE, rootfs, mirror], { stdio: ['ignore', fd, fd] });
    if (run.status !== 0) throw new Error(`debootstrap failed (status ${run.status}); see ${log}`);
  } finally {
    closeSync(fd);
  }
  for (const dir of ['dev', 'var/lib/apt/lists', 'var/cache/apt']) {
    for (const entry of readdirSync(join(rootfs, dir))) {
      if (dir === 'var/lib/apt/lists' && entry === 'partial') continue;
      rmSync(join(rootfs, dir, entry), { recursive: true, force: true });
    }
  }
  writeFileSync(join(CACHE, 'rootfs.done'), `${mirror}\n`);
}

/**
 * The Debian mirror apt uses here for suite (the first deb source listing it, in
 * /etc/apt/sources.list and sources.list.d, one-line or deb822 format); TSC_BENCH_MIRROR
 * overrides it.
 */
export function debianMirror(suite: string): string {
  if (process.env.TSC_BENCH_MIRROR) return process.env.TSC_BENCH_MIRROR;
  const dir = '/etc/apt/sources.list.d';
  const files = ['/etc/apt/sources.list', ...(existsSync(dir) ? readdirSync(dir).sort().filter((f) => /\.(list|sources)$/.test(f)).map((f) => join(dir, f)) : [])];
  for (const file of files.filter((f) => existsSync(f))) {
    const lines = readFileSync(file, 'utf8').split('\n').filter((l) => !l.trimStart().startsWith('#'));
    if (file.endsWith('.sources')) {
      for (const paragraph of lines.join('\n').split(/\n\s*\n/)) {
        const field = (name: string) => new RegExp(`^${name}:\\s*(.*)$`, 'mi').exec(paragraph)?.[1]?.trim().split(/\s+/) ?? [];
        if (field('Enabled')[0] === 'no' || !field('Types').includes('deb') || !field('Suites').includes(suite)) continue;
        const uri = field('URIs')[0];
        if (uri) return uri;
      }
    } else {
      for (const line of lines) {
        const m = /^deb\s+(?:\[[^\]]*\]\s+)?(\S+)\s+(\S+)/.exec(line.trim());
        if (m && m[2] === suite) return m[1]!;
      }
    }
  }
  throw new Error(`no apt source lists Debian ${suite} in /etc/apt/sources.list*; set TSC_BENCH_MIRROR to a Debian mirror`);
}
