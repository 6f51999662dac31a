/**
 * `tsc import`: a tarball of a root filesystem (a file or stdin, plain, gzip or zstd)
 * becomes a one-layer image, as `docker import` makes it: the run configuration comes from
 * `--change` Dockerfile instructions, the history entry carries the message (docker's
 * default: `Imported from <source>`), and the platform is this host's unless given.
 *
 * The tarball streams once: into a content-store ingest as it comes (a gzip or zstd
 * tarball is stored as it is, like docker's containerd store does; a plain tar as the
 * uncompressed layer blob, its digest being its DiffID, like docker's layer store), and
 * through the tar reader while it is hashed, so a truncated or corrupt tarball is refused
 * before anything is recorded. Then the image is recorded and unpacked like a loaded one.
 * URLs are not fetched.
 */
import { createHash } from 'node:crypto';
import type { EngineContext } from '../context.ts';
import type { Ingest } from '../content/store.ts';
import { TscError } from '../errors.ts';
import { compressionOf, decompressed } from '../layers/decompress.ts';
import { readTar } from '../layers/tar.ts';
import { formatReference, parseReference } from '../reference/reference.ts';
import { OCI_CONFIG, OCI_LAYER, OCI_LAYER_GZIP, OCI_LAYER_ZSTD } from '../registry/media-types.ts';
import { hostPlatform, parsePlatform } from '../registry/platform.ts';
import { shortName } from './archive-docker.ts';
import { asArchiveError, openInputFile, sniffed } from './archive-read.ts';
import { applyChanges } from './changes.ts';
import type { ImageConfig } from './config.ts';
import { installImage, ociManifest, type LayerPlan } from './install.ts';

export interface ImportOptions {
  /** a file path, or the tarball's bytes (stdin) */
  source: string | AsyncIterable<Uint8Array>;
  /** how the default history comment names the source: the path, or `-` for stdin */
  sourceName?: string | undefined;
  /** `repository[:tag]` to name the image */
  reference?: string | undefined;
  /** Dockerfile instructions for the run configuration */
  changes?: readonly string[] | undefined;
  /** the history comment */
  message?: string | undefined;
  /** `os/arch[/variant]`; this host's when unset */
  platform?: string | undefined;
  now?: Date | undefined;
}

export interface ImportResult {
  id: string;
  /** docker's short names */
  tags: string[];
}

export async function importImage(ctx: EngineContext, options: ImportOptions): Promise<ImportResult> {
  const where = typeof options.source === 'string' ? options.source : 'stdin';
  if (typeof options.source === 'string' && /^[a-z][a-z0-9+.-]*:\/\//i.test(options.source)) {
    throw new TscError('unsupported', `importing from a URL is not supported: ${options.source}`, {
      hint: 'download it first (e.g. curl -fLo rootfs.tar URL), then import the file',
    });
  }
  // everything the user typed is checked before the tarball is read
  const tags = options.reference ? [tagOf(options.reference)] : [];
  const runConfig = applyChanges({}, options.changes ?? []);
  const platform = options.platform ? parsePlatform(options.platform) : hostPlatform();

  const source = typeof options.source === 'string' ? await openInputFile(options.source) : options.source;
  const store = await ctx.store();
  const ingest = await store.content.ingest();
  try {
    const layer = await ingestTarball(source, ingest, where);
    const created = (options.now ?? new Date()).toISOString();
    const comment = options.message ?? `Imported from ${options.sourceName ?? (typeof options.source === 'string' ? options.source : '-')}`;
    const config: ImageConfig = {
      created,
      architecture: platform.architecture,
      os: platform.os,
      ...(platform.variant ? { variant: platform.variant } : {}),
      config: runConfig,
      rootfs: { type: 'layers', diff_ids: [layer.diffId] },
      history: [{ created, comment }],
    };
    const bytes = Buffer.from(JSON.stringify(config));
    const configBlob = { digest: `sha256:${createHash('sha256').update(bytes).digest('hex')}`, size: bytes.length, mediaType: OCI_CONFIG, bytes };
    const installed = await installImage(
      ctx,
      { id: configBlob.digest, config, configBlob, manifest: ociManifest(configBlob, [layer]), layers: [layer], tags },
      async () => {
        if (!(await store.content.has(layer.digest))) await ingest.commit({ digest: layer.digest, size: layer.size });
      },
    );
    return { id: installed.id, tags: installed.tags.map(shortName) };
  } finally {
    await ingest.abort();
  }
}

export function tagOf(reference: string): string {
  const ref = parseReference(reference);
  if (ref.digest) throw new TscError('invalid-argument', `cannot name an image by digest: ${reference}`, { hint: 'a name looks like repository[:tag]' });
  return formatReference({ registry: ref.registry, repository: ref.repository, tag: ref.tag ?? 'latest' });
}

/** Streams the tarball into `ingest` while checking that it is a whole tar archive and hashing the tar (the DiffID). */
async function ingestTarball(source: AsyncIterable<Uint8Array>, ingest: Ingest, where: string): Promise<LayerPlan> {
  const hash = createHash('sha256');
  let head: Buffer | undefined;
  let size = 0;
  async function* raw() {
    for await (const chunk of sniffed(source, where, (n) => (size += n))) {
      head ??= chunk;
      await ingest.write(chunk);
      yield chunk;
    }
  }
  const tar = (async function* () {
    for await (const chunk of decompressed(raw())) {
      hash.update(chunk);
      yield chunk;
    }
  })();
  try {
    for await (const entry of readTar(tar)) void entry;
    // whatever follows the end-of-archive blocks is part of the DiffID too, as in unpacking
    for await (const chunk of tar) void chunk;
  } catch (error) {
    throw asArchiveError(error, where);
  }
  if (size === 0 || head === undefined) throw new TscError('invalid-content', `${where} is empty`, { hint: 'give a tar archive of a root filesystem' });
  const compression = compressionOf(head);
  const diffId = `sha256:${hash.digest('hex')}`;
  const digest = ingest.digestSoFar();
  const mediaType = compression === 'gzip' ? OCI_LAYER_GZIP : compression === 'zstd' ? OCI_LAYER_ZSTD : OCI_LAYER;
  return { digest, size: ingest.offset, mediaType, diffId };
}
