/**
 * `tsc save`: images as one tar archive, streamed from the content store.
 *
 * docker-archive (the default, as with podman) is what docker 25+ writes: an OCI image
 * layout (`blobs/sha256/<hex>`, `index.json`, `oci-layout`) with docker's `manifest.json`
 * and `repositories` beside it, so docker (any version since 1.10), podman and skopeo
 * load it, through manifest.json or index.json. oci-archive is the OCI image layout alone.
 *
 * Blobs go into the archive exactly as stored, the manifest byte for byte, so a saved and
 * loaded image keeps its id and its manifest digest. Layers stay compressed when they were
 * pulled compressed: docker writes uncompressed `layer.tar` files only because its layer
 * store keeps no compressed blobs, and every loader decompresses what it finds (docker's
 * load through DecompressStream, podman's docker-archive source through AutoDecompress,
 * and the oci-archive readers by media type). Entries carry mtime 0, so the same images
 * always make the same archive.
 *
 * Every blob is hashed while it is copied; a blob that no longer matches its digest fails
 * the save. A file is written under a temporary name and renamed when complete.
 */
import { createHash, randomUUID } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { open, rename, rm, stat, type FileHandle } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import type { EngineContext } from '../context.ts';
import { errnoCode, TscError } from '../errors.ts';
import { writeTar, type TarWriteEntry } from '../layers/tar-write.ts';
import { parseManifest } from '../registry/manifest-parse.ts';
import { dockerManifestJson, repositoriesJson, shortName } from './archive-docker.ts';
import { indexJson, OCI_LAYOUT, tagOnly, wholeReference, type ArchivedImage } from './archive-oci.ts';
import { blobPath } from './archive-read.ts';
import { parseImageConfig } from './config.ts';
import { requireImage } from './resolve.ts';
import type { ImageStore } from './store.ts';

export type ArchiveFormat = 'docker-archive' | 'oci-archive';
export const ARCHIVE_FORMATS: readonly ArchiveFormat[] = ['docker-archive', 'oci-archive'];

export interface SaveOptions {
  /** image names or ids */
  references: readonly string[];
  format?: ArchiveFormat | undefined;
  /** a file path, or a stream (stdout) to write to */
  output: string | NodeJS.WritableStream;
}

export interface SaveResult {
  format: ArchiveFormat;
  images: { id: string; tags: string[] }[];
  bytes: number;
}

interface Blob {
  digest: string;
  size: number;
}

interface SavedImage extends ArchivedImage {
  /** layers and config */
  blobs: Blob[];
}

export async function saveImages(ctx: EngineContext, options: SaveOptions): Promise<SaveResult> {
  const format = options.format ?? 'docker-archive';
  if (!ARCHIVE_FORMATS.includes(format)) {
    throw new TscError('invalid-argument', `unknown archive format ${JSON.stringify(format)}`, { hint: `use ${ARCHIVE_FORMATS.join(' or ')}` });
  }
  if (options.references.length === 0) throw new TscError('invalid-argument', 'no image to save', { hint: 'name at least one image' });
  const store = await ctx.store();
  const images = await collect(store, options.references);
  const { entries, blobs } = archiveEntries(store, images, format);
  for (const blob of blobs) {
    const present = await store.content.has(blob.digest);
    if (!present || present.size !== blob.size) {
      throw new TscError(present ? 'invalid-content' : 'not-found', `blob ${blob.digest} of an image being saved is ${present ? 'damaged' : 'missing'} in the content store`, {
        hint: 'run tsc system check, then pull the image again',
      });
    }
  }
  const bytes = typeof options.output === 'string' ? await toFile(entries, options.output) : await toStream(entries, options.output);
  return { format, images: images.map((i) => ({ id: i.id, tags: i.tags.map(shortName) })), bytes };
}

/** The images `references` name, each once, with the names they were asked for by (docker: an id brings no name). */
async function collect(store: ImageStore, references: readonly string[]): Promise<SavedImage[]> {
  const byId = new Map<string, SavedImage>();
  for (const reference of references) {
    const { image, tag } = requireImage(store.db, reference);
    let saved = byId.get(image.id);
    if (!saved) {
      const manifestBytes = await store.content.read(image.manifestDigest);
      const manifest = parseManifest(manifestBytes, undefined, `the manifest of ${image.id.slice(7, 19)}`);
      if (manifest.kind !== 'manifest' || manifest.config.digest !== image.id) {
        throw new TscError('internal', `image ${image.id} records ${image.manifestDigest} as its manifest, which does not describe it`);
      }
      const config = parseImageConfig(await store.content.read(image.id), reference);
      saved = {
        id: image.id,
        tags: [],
        manifest: { mediaType: manifest.mediaType, digest: image.manifestDigest, size: manifestBytes.length },
        layers: manifest.layers.map((l) => l.digest),
        diffIds: config.rootfs.diff_ids,
        blobs: [...manifest.layers, manifest.config].map((d) => ({ digest: d.digest, size: d.size })),
      };
      byId.set(image.id, saved);
    }
    if (tag && !saved.tags.includes(tag)) saved.tags.push(tag);
  }
  return [...byId.values()];
}

/** The archive's entries (in the order docker writes them: blobs, then the metadata files) and the blobs they copy. */
function archiveEntries(store: ImageStore, images: readonly SavedImage[], format: ArchiveFormat): { entries: TarWriteEntry[]; blobs: Blob[] } {
  const blobs = new Map<string, Blob>();
  for (const image of images) {
    for (const blob of image.blobs) blobs.set(blob.digest, blob);
    blobs.set(image.manifest.digest, { digest: image.manifest.digest, size: image.manifest.size });
  }
  const file = (path: string, body: Buffer): TarWriteEntry => ({ path, type: 'file', mode: 0o644, body });
  const entries: TarWriteEntry[] = [
    { path: 'blobs/', type: 'directory', mode: 0o755 },
    { path: 'blobs/sha256/', type: 'directory', mode: 0o755 },
    ...[...blobs.values()].map((b): TarWriteEntry => ({ path: blobPath(b.digest), type: 'file', mode: 0o644, size: b.size, body: verified(store, b) })),
  ];
  if (format === 'docker-archive') {
    entries.push(file('index.json', indexJson(images, tagOnly)), file('manifest.json', dockerManifestJson(images)), file('oci-layout', OCI_LAYOUT));
    const repositories = repositoriesJson(images);
    if (repositories) entries.push(file('repositories', repositories));
  } else {
    entries.push(file('index.json', indexJson(images, wholeReference)), file('oci-layout', OCI_LAYOUT));
  }
  return { entries, blobs: [...blobs.values()] };
}

/** A blob's bytes from the content store, checked against its digest as they go (lazily: opened when the writer gets to it). */
function verified(store: ImageStore, blob: Blob): AsyncIterable<Uint8Array> {
  return {
    async *[Symbol.asyncIterator]() {
      const hash = createHash('sha256');
      for await (const chunk of createReadStream(store.content.blobPath(blob.digest), { highWaterMark: 1 << 20 })) {
        hash.update(chunk as Buffer);
        yield chunk as Buffer;
      }
      const actual = `sha256:${hash.digest('hex')}`;
      if (actual !== blob.digest) {
        throw new TscError('invalid-content', `blob ${blob.digest} in ${store.content.root} is corrupt (its content hashes to ${actual})`, {
          hint: 'run tsc system check --repair, then pull the image again',
        });
      }
    },
  };
}

async function toFile(entries: readonly TarWriteEntry[], path: string): Promise<number> {
  // a device or pipe (-o /dev/stdout) is written in place; a file under a temporary name, then renamed
  const existing = await stat(path).catch((error: unknown) => {
    if (errnoCode(error) === 'ENOENT') return undefined;
    throw error;
  });
  if (existing?.isDirectory()) throw new TscError('invalid-argument', `${path} is a directory`, { hint: 'give the name of the archive file to write' });
  const inPlace = existing !== undefined && !existing.isFile();
  const target = inPlace ? path : join(dirname(path), `.${basename(path)}.${randomUUID().slice(0, 8)}.partial`);
  let handle: FileHandle;
  try {
    handle = await open(target, inPlace ? 'w' : 'wx', 0o644);
  } catch (error) {
    if (errnoCode(error) === 'ENOENT') throw new TscError('not-found', `cannot write ${path}: the directory ${dirname(path)} does not exist`);
    if (errnoCode(error) === 'EACCES') throw new TscError('system', `cannot write ${path}: permission denied`);
    throw error;
  }
  let bytes = 0;
  try {
    for await (const chunk of writeTar(entries)) {
      await handle.write(chunk);
      bytes += chunk.length;
    }
    if (!inPlace) await handle.sync();
  } catch (error) {
    await handle.close().catch(() => undefined);
    if (!inPlace) await rm(target, { force: true });
    throw error;
  }
  await handle.close();
  if (!inPlace) await rename(target, path);
  return bytes;
}

async function toStream(entries: readonly TarWriteEntry[], out: NodeJS.WritableStream): Promise<number> {
  let failed: unknown;
  const onError = (error: unknown) => (failed ??= error);
  out.on('error', onError);
  let bytes = 0;
  try {
    for await (const chunk of writeTar(entries)) {
      if (failed) break;
      bytes += chunk.length;
      if (!out.write(chunk)) await writable(out);
    }
  } finally {
    out.off('error', onError);
  }
  if (failed) {
    if (errnoCode(failed) === 'EPIPE') throw new TscError('system', 'the output was closed before the archive was complete', { cause: failed });
    throw failed;
  }
  return bytes;
}

/** Resolves when `out` can take more, or will never (closed, failed: the error listener above records why). */
function writable(out: NodeJS.WritableStream): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      for (const event of ['drain', 'close', 'error']) out.off(event, done);
      resolve();
    };
    for (const event of ['drain', 'close', 'error']) out.on(event, done);
  });
}
