/**
 * The build cache. A step's key chains its parent's key (which starts from the base
 * image's id, or `scratch`) with the step as it runs: the instruction after expansion and,
 * for RUN, the build args it sees; for COPY and ADD also a digest of the content it copies
 * (paths, owners, modes and bytes, not times, as buildkit's content checksums). So any
 * change to a step or to anything before it changes every key from there on.
 *
 * A filesystem step's result (its layer) is recorded in the database (build_cache) with an
 * untagged image that holds every layer up to it; a metadata step has no entry, only a key.
 */
import { createHash } from 'node:crypto';
import type { LayerPlan } from '../images/install.ts';
import { getImage, layerState } from '../images/records.ts';
import type { Database } from '../state/db.ts';
import type { TarWriteEntry } from '../layers/tar-write.ts';

/** The key of a step whose parent has key `parent`; `parts` describe the step (JSON-able). */
export function stepKey(parent: string, ...parts: unknown[]): string {
  return `sha256:${createHash('sha256').update(parent).update('\n').update(JSON.stringify(parts)).digest('hex')}`;
}

/** The key a build starts from: the base image's id, or scratch for a platform. */
export function baseKey(base: { image: string } | { scratch: string }): string {
  return 'image' in base ? stepKey('', 'image', base.image) : stepKey('', 'scratch', base.scratch);
}

/**
 * Passes `entries` through, hashing what each holds except its time: the content digest
 * of a COPY. The digest is final once the entries have been consumed.
 */
export function contentHashed(entries: AsyncIterable<TarWriteEntry>): { entries: AsyncGenerator<TarWriteEntry>; digest: () => string } {
  const hash = createHash('sha256');
  async function* pass(): AsyncGenerator<TarWriteEntry> {
    for await (const entry of entries) {
      const { body, mtime: _mtime, size: _size, xattrs, ...meta } = entry;
      hash.update(JSON.stringify({ ...meta, xattrs: xattrs ? Object.fromEntries([...(xattrs instanceof Map ? xattrs : Object.entries(xattrs))].map(([k, v]) => [k, Buffer.from(v).toString('base64')])) : undefined }));
      if (body === undefined || typeof body === 'string' || Buffer.isBuffer(body)) {
        if (body !== undefined) hash.update(body);
        yield entry;
        continue;
      }
      const source = body;
      yield {
        ...entry,
        body: (async function* () {
          for await (const chunk of source) {
            hash.update(chunk);
            yield chunk;
          }
        })(),
      };
    }
  }
  return { entries: pass(), digest: () => `sha256:${hash.digest('hex')}` };
}

export interface CachedStep {
  imageId: string;
  layer: LayerPlan;
  /** when the step ran */
  created: string;
}

/** The recorded result of `key`, if its image and layers are still there. */
export function lookupStep(db: Database, key: string, chainId: (layer: LayerPlan) => string): CachedStep | undefined {
  const row = db.prepare('SELECT image_id, result FROM build_cache WHERE key = ?').get(key) as { image_id: string; result: string } | undefined;
  if (!row) return undefined;
  const image = getImage(db, row.image_id);
  if (!image) return undefined;
  const { layer, created } = JSON.parse(row.result) as { layer: LayerPlan; created: string };
  if (layerState(db, chainId(layer)) !== 'ready') return undefined;
  return { imageId: row.image_id, layer, created };
}

export function recordStep(db: Database, key: string, step: CachedStep, now = new Date()): void {
  db.prepare('INSERT INTO build_cache (key, image_id, result, created_at) VALUES (?, ?, ?, ?) ON CONFLICT (key) DO UPDATE SET image_id = excluded.image_id, result = excluded.result')
    .run(key, step.imageId, JSON.stringify({ layer: step.layer, created: step.created }), now.toISOString());
}
