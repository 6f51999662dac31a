/**
 * `tsc pull`: resolve a reference to a manifest for this platform, fetch the config,
 * download the missing layers in parallel (verified while they stream, resumed with Range
 * when interrupted), unpack each as it arrives, and record the image.
 *
 * The image is recorded as 'pulling' before its first layer is fetched, so its blobs and
 * layers are held against removal by other tsc processes; it becomes visible and tagged
 * only when everything is in place. A pull killed at any point leaves a consistent store,
 * and the next pull reuses every blob and layer that was finished.
 */
import { TscError } from '../errors.ts';
import type { EngineContext } from '../context.ts';
import { chainIds } from './chain.ts';
import { parseImageConfig, type ImageConfig } from './config.ts';
import { completeImage, getImage, imageByTag, imageLayers, layerState, saveImage, type NewImage } from './records.ts';
import { openPullSource, type RemoteOptions } from './remote.ts';
import type { ImageStore } from './store.ts';
import { inParallel } from '../util/parallel.ts';
import { ensureLayer } from './unpack.ts';
import type { SkippedEntry } from '../layers/extract-types.ts';
import { once } from 'node:events';
import { PassThrough } from 'node:stream';
import { formatReference, type ImageReference } from '../reference/reference.ts';
import { downloadBlob, fetchBlob, type BlobSink } from '../registry/blobs.ts';
import { resolveImage } from '../registry/manifests.ts';
import { formatPlatform, hostPlatform, parsePlatform } from '../registry/platform.ts';
import type { RegistryClient } from '../registry/client.ts';
import type { Descriptor } from '../registry/manifest-parse.ts';
import type { Ingest } from '../content/store.ts';

export type PullEvent =
  | { kind: 'resolved'; reference: string; digest: string; layers: number; source: string }
  | { kind: 'layer'; digest: string; state: 'present' | 'downloading' | 'downloaded' | 'unpacking' | 'ready'; received?: number; total: number }
  | { kind: 'note'; message: string }
  | { kind: 'done'; id: string };

export interface PullOptions extends RemoteOptions {
  reference: string;
  /** `os/arch[/variant]`; this host's when unset */
  platform?: string | undefined;
  onProgress?: ((event: PullEvent) => void) | undefined;
}

export interface PullResult {
  /** the image id (config digest) */
  id: string;
  /** the full reference pulled, e.g. docker.io/library/busybox:latest */
  reference: string;
  /**
   * where it came from: the same as `reference`, or what registries.conf made of it (a
   * mirror, a location, an alias or search registry), e.g. mirror.local/library/busybox:latest
   */
  source: string;
  /** the manifest (or index) digest the reference resolved to */
  digest: string;
  /** layers downloaded now (the others were present) */
  downloaded: number;
  layers: number;
  /** the image was complete already and nothing was fetched but the manifest */
  upToDate: boolean;
}

const PARALLEL_LAYERS = 3;

export async function pullImage(ctx: EngineContext, options: PullOptions): Promise<PullResult> {
  const emit = options.onProgress ?? (() => undefined);
  const platform = options.platform ? parsePlatform(options.platform) : undefined;
  // the first of the registries.conf candidates that has the image; ref names it here, remote there
  const pulled = await openPullSource(ctx, options.reference, options, (client, remote) => resolveImage(client, remote, { platform }));
  const { client, value: resolved } = pulled;
  const ref = pulled.candidate.name;
  const remote = pulled.candidate.reference;
  const source = formatReference(remote);
  try {
    const manifest = resolved.manifest;
    const store = await ctx.store();
    const name = formatReference(ref);
    emit({ kind: 'resolved', reference: name, digest: resolved.digest, layers: manifest.manifest.layers.length, source });

    const tags = ref.tag ? [formatReference({ registry: ref.registry, repository: ref.repository, tag: ref.tag })] : [];
    const known = getImage(store.db, manifest.manifest.config.digest);
    if (known && known.manifestDigest === manifest.digest && (tags.length === 0 || imageByTag(store.db, tags[0]!)?.id === known.id) && (await intact(store, known.id))) {
      emit({ kind: 'done', id: known.id });
      return { id: known.id, reference: name, source, digest: resolved.digest, downloaded: 0, layers: manifest.manifest.layers.length, upToDate: true };
    }

    for (const m of [resolved.index, manifest]) if (m) await store.content.put(m.bytes, { digest: m.digest, size: m.size });
    const configBytes = await fetchConfig(client, store, remote, manifest.manifest.config);
    const config = parseImageConfig(configBytes, name);
    checkPlatform(config, platform, name);
    const layers = manifest.manifest.layers;
    if (config.rootfs.diff_ids.length !== layers.length) {
      throw new TscError('invalid-content', `${name}: the manifest lists ${layers.length} layers but the config ${config.rootfs.diff_ids.length}`);
    }
    const chains = chainIds(config.rootfs.diff_ids);
    const image: NewImage = {
      id: manifest.manifest.config.digest,
      manifestDigest: manifest.digest,
      repoDigests: [`${ref.registry}/${ref.repository}@${resolved.digest}`],
      platform: formatPlatform({ os: config.os, architecture: config.architecture, variant: config.variant ?? '' }),
      created: config.created ?? '',
      blobs: [
        ...(resolved.index ? [{ digest: resolved.index.digest, size: resolved.index.size, mediaType: resolved.index.mediaType }] : []),
        { digest: manifest.digest, size: manifest.size, mediaType: manifest.mediaType },
        { digest: manifest.manifest.config.digest, size: manifest.manifest.config.size, mediaType: manifest.manifest.config.mediaType },
        ...layers.map((l) => ({ digest: l.digest, size: l.size, mediaType: l.mediaType })),
      ],
      layers: layers.map((l, i) => ({ chainId: chains[i]!, diffId: config.rootfs.diff_ids[i]!, blobDigest: l.digest, size: l.size })),
    };
    saveImage(store.db, image, [], new Date(), 'pulling');

    const unpack = { store, helper: await ctx.helper(), maps: await ctx.maps() };
    let downloaded = 0;
    await inParallel(layers.map((layer, i) => async () => {
      const wanted = { chainId: chains[i]!, diffId: config.rootfs.diff_ids[i]!, blobDigest: layer.digest };
      const noteSkipped = (skipped: SkippedEntry[]) => {
        const shown = skipped.slice(0, 5).map((s) => `${s.path}${s.xattr ? ` (xattr ${s.xattr})` : ''}: ${s.reason}`).join('; ');
        emit({ kind: 'note', message: `layer ${layer.digest.slice(7, 19)}: ${skipped.length} entr${skipped.length === 1 ? 'y' : 'ies'} not unpacked: ${shown}${skipped.length > 5 ? '; ...' : ''}` });
      };
      const present = await store.content.has(layer.digest);
      if (present && present.size === layer.size) {
        emit({ kind: 'layer', digest: layer.digest, state: 'present', total: layer.size });
        emit({ kind: 'layer', digest: layer.digest, state: 'unpacking', total: layer.size });
        await ensureLayer(unpack, wanted, noteSkipped);
      } else {
        // unpack while the blob downloads; the layer is kept only if its DiffID verifies
        const tee = new LayerTee();
        const unpacking = ensureLayer(unpack, wanted, noteSkipped, tee.stream).then(() => undefined, (error: unknown) => error);
        void unpacking.then(() => tee.stop());
        try {
          await fetchLayer(client, store, remote, layer, emit, tee);
        } catch (error) {
          tee.stop(error as Error);
          await unpacking;
          throw error;
        }
        downloaded++;
        tee.finish();
        const failed = await unpacking;
        if (failed !== undefined) {
          // a restarted download cannot be streamed: unpack the verified blob instead
          if (!tee.interrupted) throw failed;
          await ensureLayer(unpack, wanted, noteSkipped);
        }
      }
      emit({ kind: 'layer', digest: layer.digest, state: 'ready', total: layer.size });
    }), PARALLEL_LAYERS);

    completeImage(store.db, image.id, tags);
    emit({ kind: 'done', id: image.id });
    return { id: image.id, reference: name, source, digest: resolved.digest, downloaded, layers: layers.length, upToDate: false };
  } finally {
    await client.close();
  }
}

/** Every blob of the image is in the content store and every layer is unpacked. */
async function intact(store: ImageStore, id: string): Promise<boolean> {
  const blobs = store.db.prepare('SELECT digest FROM image_blobs WHERE image_id = ?').all(id) as { digest: string }[];
  for (const { digest } of blobs) if (!(await store.content.has(digest))) return false;
  return imageLayers(store.db, id).every((l) => layerState(store.db, l.chainId) === 'ready');
}

async function fetchConfig(client: RegistryClient, store: ImageStore, ref: ImageReference, descriptor: Descriptor): Promise<Uint8Array> {
  if (await store.content.has(descriptor.digest)) return store.content.read(descriptor.digest);
  const bytes = await fetchBlob(client, ref.repository, descriptor, { limit: 8 * 1024 * 1024 });
  await store.content.put(bytes, { digest: descriptor.digest, size: descriptor.size });
  return bytes;
}

/** Downloads a layer blob into the content store unless it is there. True if it downloaded. */
/** Downloads a layer blob into the content store, copying the bytes to `tee` as they come. */
async function fetchLayer(client: RegistryClient, store: ImageStore, ref: ImageReference, layer: Descriptor, emit: (e: PullEvent) => void, tee: LayerTee): Promise<void> {
  const sink = new IngestSink(store, tee);
  try {
    emit({ kind: 'layer', digest: layer.digest, state: 'downloading', received: 0, total: layer.size });
    await downloadBlob(client, ref.repository, layer, sink, {
      onProgress: (received, total) => emit({ kind: 'layer', digest: layer.digest, state: 'downloading', received, total }),
    });
    await sink.commit(layer.digest, layer.size);
  } catch (error) {
    await sink.abort();
    throw error;
  }
  emit({ kind: 'layer', digest: layer.digest, state: 'downloaded', received: layer.size, total: layer.size });
  emit({ kind: 'layer', digest: layer.digest, state: 'unpacking', total: layer.size });
}

/**
 * The bytes of a downloading layer, passed on to the unpacker with backpressure. Once the
 * unpacker stops (it finished, failed, or found the layer ready already) or the download
 * restarts from zero, nothing more is passed and the download goes on alone.
 */
class LayerTee {
  readonly stream = new PassThrough({ highWaterMark: 4 * 1024 * 1024 });
  /** the download restarted: the streamed bytes are not the blob */
  interrupted = false;
  #open = true;

  constructor() {
    // the unpacker reports stream errors itself; this keeps one that comes before it listens from crashing tsc
    this.stream.on('error', () => undefined);
  }

  async write(chunk: Uint8Array): Promise<void> {
    if (!this.#open) return;
    if (!this.stream.write(chunk)) {
      await Promise.race([once(this.stream, 'drain'), once(this.stream, 'close')]);
    }
  }

  restart(): void {
    this.interrupted = true;
    this.stop(new TscError('remote', 'the layer download restarted'));
  }

  finish(): void {
    if (this.#open) this.stream.end();
    this.#open = false;
  }

  stop(error?: Error): void {
    if (!this.#open) return;
    this.#open = false;
    if (error) this.stream.destroy(error);
    else this.stream.destroy();
  }
}

/** Adapts a content-store ingest to the registry client's sink (which may restart at 0). */
class IngestSink implements BlobSink {
  #store: ImageStore;
  #tee: LayerTee;
  #ingest: Promise<Ingest> | undefined;

  constructor(store: ImageStore, tee: LayerTee) {
    this.#store = store;
    this.#tee = tee;
  }

  async write(chunk: Uint8Array): Promise<void> {
    this.#ingest ??= this.#store.content.ingest();
    await (await this.#ingest).write(chunk);
    await this.#tee.write(chunk);
  }

  async reset(): Promise<void> {
    this.#tee.restart();
    await this.abort();
  }

  async commit(digest: string, size: number): Promise<void> {
    this.#ingest ??= this.#store.content.ingest();
    const ingest = await this.#ingest;
    this.#ingest = undefined;
    await ingest.commit({ digest, size });
  }

  async abort(): Promise<void> {
    const ingest = this.#ingest;
    this.#ingest = undefined;
    await (await ingest)?.abort();
  }
}

function checkPlatform(config: ImageConfig, wanted: ReturnType<typeof parsePlatform> | undefined, name: string): void {
  const want = wanted ?? hostPlatform();
  if (config.os !== want.os || config.architecture !== want.architecture) {
    const has = formatPlatform({ os: config.os, architecture: config.architecture, variant: config.variant ?? '' });
    throw new TscError('unsupported', `${name} is for ${has}, not ${formatPlatform(want)}`, {
      hint: wanted ? 'choose a platform the image provides' : `pull it with --platform ${has} if you want it anyway`,
    });
  }
}
