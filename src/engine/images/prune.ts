/**
 * `tsc image prune`: remove dangling images (no name), or with `all` every image no
 * container uses. Returns what was deleted and the space the blobs took.
 */
import type { EngineContext } from '../context.ts';
import { listImages, removeImage } from './records.ts';
import { removeTrees } from './unpack.ts';

export interface PruneResult {
  deleted: string[];
  untagged: string[];
  reclaimedBytes: number;
}

export async function pruneImages(ctx: EngineContext, options: { all: boolean }): Promise<PruneResult> {
  const store = await ctx.store();
  const inUse = new Set((store.db.prepare('SELECT DISTINCT image_id FROM containers').all() as { image_id: string }[]).map((r) => r.image_id));
  // an image a container uses is never pruned (docker's rule)
  const candidates = listImages(store.db).filter((image) => !inUse.has(image.id) && (options.all || image.tags.length === 0));
  const result: PruneResult = { deleted: [], untagged: [], reclaimedBytes: 0 };
  const layers: string[] = [];
  for (const image of candidates) {
    const sizes = new Map(
      (store.db.prepare('SELECT b.digest, b.size FROM blobs b JOIN image_blobs ib ON ib.digest = b.digest WHERE ib.image_id = ?').all(image.id) as { digest: string; size: number }[]).map((r) => [r.digest, r.size]),
    );
    const removal = removeImage(store.db, image.id);
    for (const digest of removal.blobs) {
      result.reclaimedBytes += sizes.get(digest) ?? 0;
      await store.content.remove(digest);
    }
    layers.push(...removal.layers.map((l) => store.layerPath(l)));
    result.untagged.push(...image.tags);
    result.deleted.push(image.id);
  }
  await removeTrees({ store, helper: await ctx.helper(), maps: await ctx.maps() }, layers);
  return result;
}
