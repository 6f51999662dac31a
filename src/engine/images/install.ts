/**
 * Recording an image that arrives whole, from an archive (`tsc load`) or a tarball
 * (`tsc import`), with the same steps and guarantees as a pull: the image is recorded as
 * 'pulling' first (so its blobs and layers are held against removal by other processes),
 * its blobs go into the content store, each layer is unpacked (which checks its DiffID),
 * and only then is it complete and tagged. If anything fails, an image that was not in the
 * store before is removed again with whatever of it was written, so a failed load or
 * import leaves the store as it found it.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { rename } from 'node:fs/promises';
import type { EngineContext } from '../context.ts';
import { errnoCode, TscError } from '../errors.ts';
import { decompressed } from '../layers/decompress.ts';
import { formatPlatform } from '../registry/platform.ts';
import { OCI_MANIFEST } from '../registry/media-types.ts';
import { chainIds } from './chain.ts';
import type { ImageConfig } from './config.ts';
import { completeImage, getImage, imageLayers, layerState, saveImage, setLayerReady, type NewImage } from './records.ts';
import type { ImageStore } from './store.ts';
import { inParallel } from '../util/parallel.ts';
import { forgetImage } from './gc.ts';
import { ensureLayer, type UnpackContext } from './unpack.ts';

export interface BlobPlan {
  digest: string;
  size: number;
  mediaType: string;
}

export interface LayerPlan extends BlobPlan {
  /** digest of the uncompressed tar, as the config lists it */
  diffId: string;
}

export interface ImagePlan {
  /** the config digest */
  id: string;
  config: ImageConfig;
  configBlob: BlobPlan & { bytes: Buffer };
  manifest: BlobPlan & { bytes: Buffer };
  /** bottom layer first */
  layers: LayerPlan[];
  /** canonical names (`docker.io/library/busybox:latest`) to point at the image */
  tags: string[];
}

export type InstallEvent = { kind: 'layer'; digest: string; index: number; count: number; state: 'unpacking' | 'ready' };

export interface Installed {
  id: string;
  tags: string[];
  /** the image was in the store already; only its tags were set */
  present: boolean;
}

const PARALLEL_LAYERS = 3;

/**
 * An OCI image manifest for a config and its layers, with the fields in the order docker
 * writes them (so an image docker saved gets the manifest digest docker gave it).
 */
export function ociManifest(config: BlobPlan, layers: readonly BlobPlan[]): BlobPlan & { bytes: Buffer } {
  const descriptor = (b: BlobPlan) => ({ mediaType: b.mediaType, digest: b.digest, size: b.size });
  const bytes = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: OCI_MANIFEST, config: descriptor(config), layers: layers.map(descriptor) }));
  return { mediaType: OCI_MANIFEST, digest: `sha256:${createHash('sha256').update(bytes).digest('hex')}`, size: bytes.length, bytes };
}

/**
 * Records and unpacks the image; `putLayers` puts the layer blobs into the content store
 * (the manifest and config are put here).
 */
export async function installImage(
  ctx: EngineContext,
  plan: ImagePlan,
  putLayers: () => Promise<void>,
  emit: (event: InstallEvent) => void = () => undefined,
  /**
   * layers already in overlay format on the store's file system, by ChainID (a build
   * step's upper dir, which its blob was written from): moved into place, not unpacked again
   */
  prepared: ReadonlyMap<string, string> = new Map(),
): Promise<Installed> {
  const store = await ctx.store();
  const before = getImage(store.db, plan.id);
  if (before && (await intact(store, plan.id))) {
    completeImage(store.db, plan.id, plan.tags);
    return { id: plan.id, tags: plan.tags, present: true };
  }
  const chains = chainIds(plan.layers.map((l) => l.diffId));
  const image: NewImage = {
    id: plan.id,
    manifestDigest: plan.manifest.digest,
    repoDigests: [],
    platform: formatPlatform({ os: plan.config.os, architecture: plan.config.architecture, variant: plan.config.variant ?? '' }),
    created: plan.config.created ?? '',
    blobs: [plan.manifest, plan.configBlob, ...plan.layers].map((b) => ({ digest: b.digest, size: b.size, mediaType: b.mediaType })),
    layers: plan.layers.map((l, i) => ({ chainId: chains[i]!, diffId: l.diffId, blobDigest: l.digest, size: l.size })),
  };
  saveImage(store.db, image, [], new Date(), 'pulling');
  const unpack: UnpackContext = { store, helper: await ctx.helper(), maps: await ctx.maps() };
  try {
    for (const blob of [plan.manifest, plan.configBlob]) await store.content.put(blob.bytes, { digest: blob.digest, size: blob.size });
    await putLayers();
    await inParallel(plan.layers.map((layer, index) => async () => {
      emit({ kind: 'layer', digest: layer.digest, index, count: plan.layers.length, state: 'unpacking' });
      const ready = await placePrepared(store, chains[index]!, prepared.get(chains[index]!));
      const outcome = ready ? 'placed' : await ensureLayer(unpack, { chainId: chains[index]!, diffId: layer.diffId, blobDigest: layer.digest });
      // an unpacked layer was checked while unpacking; one that was there already is checked here
      if (outcome === 'present') await verifyDiffId(store, layer);
      emit({ kind: 'layer', digest: layer.digest, index, count: plan.layers.length, state: 'ready' });
    }), PARALLEL_LAYERS);
    completeImage(store.db, plan.id, plan.tags);
  } catch (error) {
    if (!before) await forgetImage(unpack, plan.id).catch(() => undefined);
    throw error;
  }
  return { id: plan.id, tags: plan.tags, present: false };
}

/** Moves a prepared layer directory into place and marks it ready; false when there is none to place. */
async function placePrepared(store: ImageStore, chainId: string, dir: string | undefined): Promise<boolean> {
  if (dir === undefined || layerState(store.db, chainId) === 'ready') return false;
  try {
    await rename(dir, store.layerPath(chainId));
  } catch (error) {
    // another process placed or unpacked the same layer first: keep theirs
    if (errnoCode(error) !== 'ENOTEMPTY' && errnoCode(error) !== 'EEXIST') throw error;
  }
  setLayerReady(store.db, chainId);
  return true;
}

/** Every blob of the image is in the content store and every layer is unpacked. */
async function intact(store: ImageStore, id: string): Promise<boolean> {
  const blobs = store.db.prepare('SELECT digest FROM image_blobs WHERE image_id = ?').all(id) as { digest: string }[];
  for (const { digest } of blobs) if (!(await store.content.has(digest))) return false;
  return imageLayers(store.db, id).every((l) => layerState(store.db, l.chainId) === 'ready');
}

async function verifyDiffId(store: ImageStore, layer: LayerPlan): Promise<void> {
  if (layer.digest === layer.diffId) return; // an uncompressed blob is its own DiffID, and its digest was checked
  const hash = createHash('sha256');
  for await (const chunk of decompressed(createReadStream(store.content.blobPath(layer.digest)))) hash.update(chunk);
  const actual = `sha256:${hash.digest('hex')}`;
  if (actual !== layer.diffId) {
    throw new TscError('invalid-content', `layer ${layer.digest} uncompresses to ${actual}, but the image config says ${layer.diffId}`, {
      hint: 'the archive is corrupt or was tampered with; save it again from the original image',
    });
  }
}

