/**
 * `tsc load`: images from an archive that docker save, podman save or tsc save wrote.
 *
 * The format is told by what the archive holds, not by its name: `manifest.json` makes a
 * docker-archive (read through manifest.json even when docker 25+ put an OCI layout
 * around it, as docker itself does), else `index.json` with `oci-layout` an oci-archive.
 *
 * Everything is checked before anything is recorded: every blob named by its digest must
 * hash to it (and have the size its descriptor says), an uncompressed docker-archive
 * layer must hash to the DiffID the config lists, and compressed layers are checked
 * against their DiffID while they are unpacked. Layers are stored as they come: a
 * docker-archive's `layer.tar` as an uncompressed blob (application/vnd.oci.image.layer.v1.tar,
 * its digest is its DiffID, as docker's own content store keeps it), compressed ones as
 * they are. The manifest is the archive's own when it has one for the image (oci-archive,
 * docker 25+, tsc save), so a saved and loaded image keeps its manifest digest; otherwise
 * an OCI manifest is made, byte for byte the one docker 25+ would write.
 */
import type { EngineContext } from '../context.ts';
import { TscError } from '../errors.ts';
import { compressionOf } from '../layers/decompress.ts';
import { formatReference, parseReference } from '../reference/reference.ts';
import { parseManifest, type Descriptor, type ImageManifest } from '../registry/manifest-parse.ts';
import { OCI_CONFIG, OCI_LAYER, OCI_LAYER_GZIP, OCI_LAYER_ZSTD } from '../registry/media-types.ts';
import { availablePlatforms, formatPlatform, hostPlatform, selectManifest } from '../registry/platform.ts';
import { parseDockerManifest, shortName } from './archive-docker.ts';
import { checkLayout, parseIndexJson } from './archive-oci.ts';
import { blobPath, openInputFile, readArchive, unsupportedCompression, type ArchiveFile, type ImageArchive } from './archive-read.ts';
import { parseImageConfig } from './config.ts';
import { installImage, ociManifest, type ImagePlan, type InstallEvent, type LayerPlan } from './install.ts';

export type LoadEvent = InstallEvent;

export interface LoadOptions {
  /** a file path, or the archive's bytes (stdin) */
  input: string | AsyncIterable<Uint8Array>;
  onProgress?: ((event: LoadEvent) => void) | undefined;
}

export interface LoadedImage {
  id: string;
  /** docker's short names (`busybox:latest`) */
  tags: string[];
}

export interface LoadResult {
  format: 'docker-archive' | 'oci-archive';
  images: LoadedImage[];
}

const METADATA_LIMIT = 16 * 1024 * 1024;
const CONFIG_LIMIT = 8 * 1024 * 1024;

interface Planned {
  plan: ImagePlan;
  /** the archive files of its layers, committed to the content store on install */
  files: ArchiveFile[];
}

export async function loadImages(ctx: EngineContext, options: LoadOptions): Promise<LoadResult> {
  const where = typeof options.input === 'string' ? options.input : 'stdin';
  const source = typeof options.input === 'string' ? await openInputFile(options.input) : options.input;
  const store = await ctx.store();
  const archive = await readArchive(source, store.content, where);
  try {
    const format = archiveFormat(archive);
    const planned = format === 'docker-archive' ? await planDockerArchive(archive) : await planOciArchive(archive);
    const images: LoadedImage[] = [];
    for (const { plan, files } of planned) {
      const installed = await installImage(ctx, plan, async () => {
        for (const file of files) await archive.commit(file);
      }, options.onProgress);
      images.push({ id: installed.id, tags: installed.tags.map(shortName) });
    }
    return { format, images };
  } finally {
    await archive.discard();
  }
}

export function archiveFormat(archive: ImageArchive): LoadResult['format'] {
  if (archive.get('manifest.json')) return 'docker-archive';
  if (archive.get('index.json') && archive.get('oci-layout')) return 'oci-archive';
  if (archive.get('repositories')) {
    throw new TscError('unsupported', `${archive.where} is in the format of docker before 1.10 (no manifest.json), which tsc does not read`, {
      hint: 'save the image again with a current docker, podman or tsc',
    });
  }
  throw new TscError('invalid-content', `${archive.where} is not an image archive: it has neither manifest.json (docker-archive) nor index.json and oci-layout (oci-archive)`, {
    hint: archive.fileCount > 0 ? 'to make an image of a root filesystem tarball, use tsc import' : 'give an archive written by docker save, podman save or tsc save',
  });
}

async function metadata(archive: ImageArchive, path: string): Promise<Buffer> {
  return archive.bytes(archive.require(path, path), METADATA_LIMIT, path);
}

/** A layer file checked as far as it can be before unpacking: a readable compression, and an uncompressed tar must be its DiffID. */
async function layerPlan(archive: ImageArchive, file: ArchiveFile, diffId: string, what: string): Promise<LayerPlan> {
  const head = await archive.head(file, 6);
  const unsupported = unsupportedCompression(head);
  if (unsupported) {
    throw new TscError('unsupported', `${what} (${file.path}) in ${archive.where} is ${unsupported}-compressed, which tsc cannot read`, {
      hint: 'tsc reads plain, gzip- and zstd-compressed layers',
    });
  }
  const compression = compressionOf(head);
  if (compression === 'none' && file.digest !== diffId) {
    throw new TscError('invalid-content', `${what} (${file.path}) in ${archive.where} does not match the image config: its content hashes to ${file.digest}, but the config lists ${diffId}`, {
      hint: 'the archive is corrupt or was tampered with; save it again',
    });
  }
  const mediaType = compression === 'gzip' ? OCI_LAYER_GZIP : compression === 'zstd' ? OCI_LAYER_ZSTD : OCI_LAYER;
  return { digest: file.digest, size: file.size, mediaType, diffId };
}

function canonicalTag(name: string, where: string, source: string): string | undefined {
  let ref;
  try {
    ref = parseReference(name);
  } catch (error) {
    throw new TscError('invalid-content', `${source} in ${where} names an image ${JSON.stringify(name)}, which is not a valid reference`, { cause: error });
  }
  return ref.tag === undefined ? undefined : formatReference({ registry: ref.registry, repository: ref.repository, tag: ref.tag });
}

async function planDockerArchive(archive: ImageArchive): Promise<Planned[]> {
  const { where } = archive;
  const items = parseDockerManifest(await metadata(archive, 'manifest.json'), where);
  const manifests = await ownManifests(archive);
  const planned: Planned[] = [];
  for (const [i, item] of items.entries()) {
    const what = `image ${i + 1} of manifest.json`;
    const configFile = archive.require(item.config, `the config of ${what}`);
    const configBytes = await archive.bytes(configFile, CONFIG_LIMIT, 'image config');
    const config = parseImageConfig(configBytes, `${item.config} in ${where}`);
    const diffIds = config.rootfs.diff_ids;
    if (diffIds.length !== item.layers.length) {
      throw new TscError('invalid-content', `${what} in ${where} lists ${item.layers.length} layers, but its config ${diffIds.length}`);
    }
    const files = item.layers.map((path, j) => archive.require(path, `layer ${j + 1} of ${what}`));
    const layers: LayerPlan[] = [];
    for (const [j, file] of files.entries()) layers.push(await layerPlan(archive, file, diffIds[j]!, `layer ${j + 1} of ${what}`));
    const id = configFile.digest;
    const configBlob = { digest: id, size: configBytes.length, mediaType: OCI_CONFIG, bytes: configBytes };
    let manifest = ociManifest(configBlob, layers);
    const own = manifests.find((m) => m.manifest.config.digest === id && sameLayers(m.manifest, layers));
    if (own) {
      manifest = own.blob;
      configBlob.mediaType = own.manifest.config.mediaType;
      own.manifest.layers.forEach((l, j) => (layers[j]!.mediaType = l.mediaType));
    }
    const tags = item.repoTags.flatMap((t) => canonicalTag(t, where, 'manifest.json') ?? []);
    planned.push({ plan: { id, config, configBlob, manifest, layers, tags }, files });
  }
  return planned;
}

function sameLayers(manifest: ImageManifest, layers: readonly LayerPlan[]): boolean {
  return manifest.layers.length === layers.length && manifest.layers.every((l, i) => l.digest === layers[i]!.digest && l.size === layers[i]!.size);
}

/**
 * The image manifests of a docker 25+ archive's index.json that are in the archive and
 * intact. docker reads such an archive through manifest.json alone, so a broken index
 * is not an error here; it only means the manifest is made anew.
 */
async function ownManifests(archive: ImageArchive): Promise<{ manifest: ImageManifest; blob: ImagePlan['manifest'] }[]> {
  const index = archive.get('index.json');
  if (!index) return [];
  const found: { manifest: ImageManifest; blob: ImagePlan['manifest'] }[] = [];
  try {
    for (const entry of parseIndexJson(await archive.bytes(index, METADATA_LIMIT, 'index.json'), archive.where)) {
      const file = entry.kind === 'manifest' ? archive.get(blobPath(entry.descriptor.digest)) : undefined;
      if (!file || file.digest !== entry.descriptor.digest) continue;
      const bytes = await archive.bytes(file, METADATA_LIMIT, 'manifest');
      const manifest = parseManifest(bytes, entry.descriptor.mediaType, `${entry.descriptor.digest} in ${archive.where}`);
      if (manifest.kind === 'manifest') found.push({ manifest, blob: { digest: file.digest, size: file.size, mediaType: manifest.mediaType, bytes } });
    }
  } catch (error) {
    if (!(error instanceof TscError)) throw error;
    return found;
  }
  return found;
}

async function planOciArchive(archive: ImageArchive): Promise<Planned[]> {
  const { where } = archive;
  checkLayout(await metadata(archive, 'oci-layout'), where);
  const byManifest = new Map<string, { descriptor: Descriptor; tags: string[] }>();
  for (const entry of parseIndexJson(await metadata(archive, 'index.json'), where)) {
    const descriptor = entry.kind === 'manifest' ? entry.descriptor : await chooseFromIndex(archive, entry.descriptor);
    const seen = byManifest.get(descriptor.digest) ?? { descriptor, tags: [] };
    if (entry.name && !seen.tags.includes(entry.name)) seen.tags.push(entry.name);
    byManifest.set(descriptor.digest, seen);
  }
  if (byManifest.size === 0) throw new TscError('invalid-content', `index.json in ${where} lists no images`);
  const planned: Planned[] = [];
  for (const { descriptor, tags } of byManifest.values()) {
    const manifestFile = archive.blob(descriptor.digest, 'manifest', descriptor.size);
    const manifestBytes = await archive.bytes(manifestFile, METADATA_LIMIT, 'manifest');
    const manifest = parseManifest(manifestBytes, descriptor.mediaType, `${descriptor.digest} in ${where}`);
    if (manifest.kind !== 'manifest') throw new TscError('invalid-content', `${descriptor.digest} in ${where} is an index, but index.json says it is an image manifest`);
    const configFile = archive.blob(manifest.config.digest, 'image config', manifest.config.size);
    const configBytes = await archive.bytes(configFile, CONFIG_LIMIT, 'image config');
    const config = parseImageConfig(configBytes, `${manifest.config.digest} in ${where}`);
    const diffIds = config.rootfs.diff_ids;
    if (diffIds.length !== manifest.layers.length) {
      throw new TscError('invalid-content', `manifest ${descriptor.digest} in ${where} lists ${manifest.layers.length} layers, but its config ${diffIds.length}`);
    }
    const files = manifest.layers.map((l, j) => archive.blob(l.digest, `layer ${j + 1} of manifest ${descriptor.digest.slice(0, 19)}`, l.size));
    const layers: LayerPlan[] = [];
    for (const [j, file] of files.entries()) {
      const layer = await layerPlan(archive, file, diffIds[j]!, `layer ${j + 1} of manifest ${descriptor.digest.slice(0, 19)}`);
      layers.push({ ...layer, mediaType: manifest.layers[j]!.mediaType });
    }
    planned.push({
      plan: {
        id: manifest.config.digest,
        config,
        configBlob: { digest: manifest.config.digest, size: configBytes.length, mediaType: manifest.config.mediaType, bytes: configBytes },
        manifest: { digest: descriptor.digest, size: manifestBytes.length, mediaType: manifest.mediaType, bytes: manifestBytes },
        layers,
        tags,
      },
      files,
    });
  }
  return planned;
}

/** The manifest for this host from an index in the archive (multi-platform saves keep only some platforms' blobs). */
async function chooseFromIndex(archive: ImageArchive, descriptor: Descriptor): Promise<Descriptor> {
  const file = archive.blob(descriptor.digest, 'image index', descriptor.size);
  const index = parseManifest(await archive.bytes(file, METADATA_LIMIT, 'image index'), descriptor.mediaType, `${descriptor.digest} in ${archive.where}`);
  if (index.kind !== 'index') return descriptor;
  const want = hostPlatform();
  const chosen = selectManifest(index, want);
  if (!chosen) {
    throw new TscError('unsupported', `the image index ${descriptor.digest} in ${archive.where} has no image for ${formatPlatform(want)}`, {
      hint: `it has ${availablePlatforms(index).join(', ') || 'no platforms'}`,
    });
  }
  return chosen;
}
