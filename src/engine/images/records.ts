/**
 * Image metadata in the database: images, the blobs and layers they need, and tags.
 * Every change is one transaction. Removal decides, inside the transaction, which blobs
 * and layers no image needs any more and returns them; the caller deletes their files
 * after the commit, so a crash in between leaves only unreferenced files, which
 * `tsc system check` removes. Nothing here touches files.
 */
import { TscError } from '../errors.ts';
import { transaction, type Database } from '../state/db.ts';

export interface LayerRecord {
  chainId: string;
  diffId: string;
  blobDigest: string;
  size: number;
}

export interface NewImage {
  /** config digest */
  id: string;
  manifestDigest: string;
  /** `registry/repository@digest` names the image was pulled or pushed as */
  repoDigests: string[];
  platform: string;
  created: string;
  /** manifest, config and layer blobs with their sizes and media types */
  blobs: { digest: string; size: number; mediaType: string }[];
  /** bottom layer first */
  layers: LayerRecord[];
}

export interface ImageRecord {
  id: string;
  manifestDigest: string;
  repoDigests: string[];
  platform: string;
  created: string;
  /** sum of the layer blob sizes */
  size: number;
  addedAt: string;
  tags: string[];
}

interface ImageRow {
  id: string;
  manifest_digest: string;
  repo_digests: string;
  platform: string;
  created: string;
  size: number;
  added_at: string;
}

/**
 * Records an image (or refreshes it) and points `tags` at it, moving them from other
 * images. With `state: 'pulling'` the image is not listed and gets no tags yet, but it
 * holds its blobs and layers against removal by other processes while they arrive;
 * `completeImage` then finishes it. An image already complete stays complete.
 */
export function saveImage(db: Database, image: NewImage, tags: readonly string[], now = new Date(), state: 'pulling' | 'complete' = 'complete'): void {
  transaction(db, () => {
    const insertBlob = db.prepare('INSERT INTO blobs (digest, size, media_type) VALUES (?, ?, ?) ON CONFLICT (digest) DO NOTHING');
    for (const b of image.blobs) insertBlob.run(b.digest, b.size, b.mediaType);
    const existing = db.prepare('SELECT repo_digests FROM images WHERE id = ?').get(image.id) as { repo_digests: string } | undefined;
    const repoDigests = [...new Set([...(existing ? (JSON.parse(existing.repo_digests) as string[]) : []), ...image.repoDigests])];
    const size = image.layers.reduce((sum, l) => sum + l.size, 0);
    db.prepare(
      `INSERT INTO images (id, manifest_digest, repo_digests, platform, created, size, added_at, state) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (id) DO UPDATE SET manifest_digest = excluded.manifest_digest, repo_digests = excluded.repo_digests,
         state = CASE WHEN images.state = 'complete' THEN 'complete' ELSE excluded.state END`,
    ).run(image.id, image.manifestDigest, JSON.stringify(repoDigests), image.platform, image.created, size, now.toISOString(), state);
    const link = db.prepare('INSERT INTO image_blobs (image_id, digest) VALUES (?, ?) ON CONFLICT DO NOTHING');
    for (const b of image.blobs) link.run(image.id, b.digest);
    const insertLayer = db.prepare(
      `INSERT INTO layers (chain_id, diff_id, parent, blob_digest, state, size) VALUES (?, ?, ?, ?, 'unpacking', ?)
       ON CONFLICT (chain_id) DO NOTHING`,
    );
    const position = db.prepare('INSERT INTO image_layers (image_id, position, chain_id) VALUES (?, ?, ?) ON CONFLICT DO NOTHING');
    image.layers.forEach((l, i) => {
      insertLayer.run(l.chainId, l.diffId, i === 0 ? null : image.layers[i - 1]!.chainId, l.blobDigest, l.size);
      position.run(image.id, i, l.chainId);
    });
    const tag = db.prepare(
      'INSERT INTO tags (name, image_id, tagged_at) VALUES (?, ?, ?) ON CONFLICT (name) DO UPDATE SET image_id = excluded.image_id, tagged_at = excluded.tagged_at',
    );
    if (state === 'complete') for (const name of tags) tag.run(name, image.id, now.toISOString());
  });
}

/** Marks a pulled image complete and tags it. */
export function completeImage(db: Database, id: string, tags: readonly string[], now = new Date()): void {
  transaction(db, () => {
    db.prepare("UPDATE images SET state = 'complete' WHERE id = ?").run(id);
    for (const name of tags) tagImage(db, id, name, now);
  });
}

export function setLayerReady(db: Database, chainId: string): void {
  db.prepare("UPDATE layers SET state = 'ready' WHERE chain_id = ?").run(chainId);
}

export function layerState(db: Database, chainId: string): 'unpacking' | 'ready' | undefined {
  const row = db.prepare('SELECT state FROM layers WHERE chain_id = ?').get(chainId) as { state: 'unpacking' | 'ready' } | undefined;
  return row?.state;
}

export function imageLayers(db: Database, id: string): LayerRecord[] {
  return (
    db.prepare(
      `SELECT l.chain_id, l.diff_id, l.blob_digest, l.size FROM image_layers il JOIN layers l ON l.chain_id = il.chain_id
       WHERE il.image_id = ? ORDER BY il.position`,
    ).all(id) as { chain_id: string; diff_id: string; blob_digest: string; size: number }[]
  ).map((r) => ({ chainId: r.chain_id, diffId: r.diff_id, blobDigest: r.blob_digest, size: r.size }));
}

export function listImages(db: Database): ImageRecord[] {
  const rows = db.prepare("SELECT * FROM images WHERE state = 'complete' ORDER BY added_at DESC, id").all() as unknown as ImageRow[];
  const tags = db.prepare('SELECT name, image_id FROM tags ORDER BY name').all() as { name: string; image_id: string }[];
  return rows.map((row) => toRecord(row, tags.filter((t) => t.image_id === row.id).map((t) => t.name)));
}

export function getImage(db: Database, id: string): ImageRecord | undefined {
  const row = db.prepare("SELECT * FROM images WHERE id = ? AND state = 'complete'").get(id) as unknown as ImageRow | undefined;
  if (!row) return undefined;
  const tags = db.prepare('SELECT name FROM tags WHERE image_id = ? ORDER BY name').all(id) as { name: string }[];
  return toRecord(row, tags.map((t) => t.name));
}

export function imageByTag(db: Database, name: string): ImageRecord | undefined {
  const row = db.prepare('SELECT image_id FROM tags WHERE name = ?').get(name) as { image_id: string } | undefined;
  return row ? getImage(db, row.image_id) : undefined;
}

/** The image whose id starts with `prefix` (hex, optionally `sha256:`); ambiguity is an error. */
export function imageByIdPrefix(db: Database, prefix: string): ImageRecord | undefined {
  const full = prefix.startsWith('sha256:') ? prefix : `sha256:${prefix}`;
  const rows = db.prepare("SELECT id FROM images WHERE id >= ? AND id < ? || 'g' AND state = 'complete' LIMIT 2").all(full, full) as { id: string }[];
  if (rows.length > 1) {
    throw new TscError('invalid-argument', `image id prefix ${prefix} is ambiguous`, { hint: 'give more characters of the id' });
  }
  return rows[0] ? getImage(db, rows[0].id) : undefined;
}

/** The image a repo digest (`registry/repo@sha256:...`) names. */
export function imageByRepoDigest(db: Database, repoDigest: string): ImageRecord | undefined {
  const row = db.prepare('SELECT i.id FROM images i, json_each(i.repo_digests) j WHERE j.value = ?').get(repoDigest) as { id: string } | undefined;
  return row ? getImage(db, row.id) : undefined;
}

export function tagImage(db: Database, id: string, name: string, now = new Date()): void {
  db.prepare(
    'INSERT INTO tags (name, image_id, tagged_at) VALUES (?, ?, ?) ON CONFLICT (name) DO UPDATE SET image_id = excluded.image_id, tagged_at = excluded.tagged_at',
  ).run(name, id, now.toISOString());
}

/** Removes a tag; true if it existed. */
export function untag(db: Database, name: string): boolean {
  return Number(db.prepare('DELETE FROM tags WHERE name = ?').run(name).changes) > 0;
}

export interface Removal {
  /** blobs no image references any more: delete their files */
  blobs: string[];
  /** unpacked layers no image uses any more: delete their directories */
  layers: string[];
}

/**
 * Deletes an image with its tags, and forgets the blobs and layers nothing else needs.
 * `inUse(id)` lets the caller veto (a container uses the image), checked in the transaction.
 */
export function removeImage(db: Database, id: string, inUse: (id: string) => string | undefined = () => undefined): Removal {
  return transaction(db, () => {
    if (!db.prepare('SELECT 1 FROM images WHERE id = ?').get(id)) throw new TscError('not-found', `no such image: ${id}`);
    const user = inUse(id);
    if (user) throw new TscError('conflict', `image ${id.slice(7, 19)} is in use by ${user}`, { hint: 'remove that first, or use --force' });
    db.prepare('DELETE FROM images WHERE id = ?').run(id);
    const blobs = (
      db.prepare('SELECT digest FROM blobs b WHERE NOT EXISTS (SELECT 1 FROM image_blobs ib WHERE ib.digest = b.digest)').all() as { digest: string }[]
    ).map((r) => r.digest);
    db.prepare('DELETE FROM blobs WHERE NOT EXISTS (SELECT 1 FROM image_blobs ib WHERE ib.digest = blobs.digest)').run();
    // Remove unused layers from the top of each chain down: a parent stays while a child needs it.
    const layers: string[] = [];
    const unused = db.prepare(
      `SELECT chain_id FROM layers l WHERE NOT EXISTS (SELECT 1 FROM image_layers il WHERE il.chain_id = l.chain_id)
       AND NOT EXISTS (SELECT 1 FROM layers c WHERE c.parent = l.chain_id)`,
    );
    const drop = db.prepare('DELETE FROM layers WHERE chain_id = ?');
    for (;;) {
      const batch = (unused.all() as { chain_id: string }[]).map((r) => r.chain_id);
      if (batch.length === 0) break;
      for (const chain of batch) drop.run(chain);
      layers.push(...batch);
    }
    return { blobs, layers };
  });
}

function toRecord(row: ImageRow, tags: string[]): ImageRecord {
  return {
    id: row.id,
    manifestDigest: row.manifest_digest,
    repoDigests: JSON.parse(row.repo_digests) as string[],
    platform: row.platform,
    created: row.created,
    size: row.size,
    addedAt: row.added_at,
    tags,
  };
}
