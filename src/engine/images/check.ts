/**
 * `tsc system check`: verify the image store against the database and, with repair,
 * fix what a killed process or a damaged disk left behind. It removes only what nothing
 * refers to (files older than a grace period, so work in progress elsewhere is safe) and
 * what is provably corrupt; it never deletes images wholesale. A corrupt layer blob makes
 * its images damaged: they are reported (pull them again); a damaged unpacked layer is
 * unpacked again from its blob.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { EngineContext } from '../context.ts';
import type { Database } from '../state/db.ts';
import { forgetImage } from './gc.ts';
import { ensureLayer, removeTrees, type UnpackContext } from './unpack.ts';

export interface CheckProblem {
  kind:
    | 'stale-ingest' | 'orphan-blob' | 'missing-blob' | 'corrupt-blob' | 'orphan-layer' | 'missing-layer' | 'stale-scratch' | 'unfinished-pull'
    | 'unfinished-create' | 'unfinished-remove' | 'orphan-container-dir' | 'monitor-gone';
  subject: string;
  detail: string;
  repaired: boolean;
}

export interface CheckReport {
  blobs: number;
  layers: number;
  images: number;
  problems: CheckProblem[];
}

export interface CheckOptions {
  repair: boolean;
  /** leave files younger than this alone: another tsc may be writing them (default 10 min) */
  graceMs?: number;
  now?: number;
}

export async function checkStore(ctx: EngineContext, options: CheckOptions): Promise<CheckReport> {
  const store = await ctx.store();
  const unpack: UnpackContext = { store, helper: await ctx.helper(), maps: await ctx.maps() };
  const now = options.now ?? Date.now();
  const grace = options.graceMs ?? 10 * 60_000;
  const problems: CheckProblem[] = [];
  const old = async (path: string) => now - (await stat(path)).mtimeMs >= grace;

  // scratch space of killed processes
  const ingests = await readdir(join(store.content.root, 'ingest')).catch(() => [] as string[]);
  for (const name of ingests) {
    const path = join(store.content.root, 'ingest', name);
    if (!(await old(path))) continue;
    problems.push({ kind: 'stale-ingest', subject: path, detail: 'a partial download of a killed process', repaired: options.repair });
  }
  if (options.repair) await store.content.cleanIngests(grace, now);
  const scratch: string[] = [];
  for (const name of await readdir(store.tmpDir)) {
    const path = join(store.tmpDir, name);
    if (await old(path)) scratch.push(path);
  }
  for (const path of scratch) problems.push({ kind: 'stale-scratch', subject: path, detail: 'scratch space of a killed process', repaired: options.repair });
  if (options.repair) await removeTrees(unpack, scratch);

  // pulls that never finished
  const unfinished = store.db.prepare("SELECT id, added_at FROM images WHERE state = 'pulling'").all() as { id: string; added_at: string }[];
  for (const row of unfinished) {
    if (now - Date.parse(row.added_at) < grace) continue;
    problems.push({ kind: 'unfinished-pull', subject: row.id, detail: `a pull started ${row.added_at} did not finish`, repaired: options.repair });
    if (options.repair) {
      await forgetImage(unpack, row.id);
    }
  }

  // blobs: every recorded one present and intact; files nobody recorded are orphans
  const recorded = new Map((store.db.prepare('SELECT digest, size FROM blobs').all() as { digest: string; size: number }[]).map((r) => [r.digest, r.size]));
  const blobDir = join(store.content.root, 'blobs', 'sha256');
  const files = new Set(await readdir(blobDir));
  for (const [digest, size] of recorded) {
    const hex = digest.slice(7);
    if (!files.has(hex)) {
      problems.push({ kind: 'missing-blob', subject: digest, detail: `images using it: ${imagesUsing(store.db, digest).join(', ') || 'none'}; pull them again`, repaired: false });
      continue;
    }
    const actual = await hashFile(join(blobDir, hex));
    if (actual.digest !== digest || actual.size !== size) {
      problems.push({ kind: 'corrupt-blob', subject: digest, detail: `its content hashes to ${actual.digest} (${actual.size} bytes); images using it: ${imagesUsing(store.db, digest).join(', ')}; pull them again`, repaired: options.repair });
      if (options.repair) await store.content.remove(digest);
    }
  }
  for (const hex of files) {
    const path = join(blobDir, hex);
    if (recorded.has(`sha256:${hex}`) || !(await old(path))) continue;
    problems.push({ kind: 'orphan-blob', subject: `sha256:${hex}`, detail: 'no image refers to it', repaired: options.repair });
    if (options.repair) await store.content.remove(`sha256:${hex}`);
  }

  // unpacked layers: every ready one present; directories nobody recorded are orphans
  const layers = store.db.prepare('SELECT chain_id, diff_id, blob_digest, state FROM layers').all() as { chain_id: string; diff_id: string; blob_digest: string; state: string }[];
  const dirs = new Set(await readdir(store.layersDir));
  for (const layer of layers) {
    if (layer.state !== 'ready' || dirs.has(layer.chain_id.slice(7))) continue;
    problems.push({ kind: 'missing-layer', subject: layer.chain_id, detail: 'the unpacked layer is gone; unpacking it again from its blob', repaired: options.repair });
    if (options.repair) {
      store.db.prepare("UPDATE layers SET state = 'unpacking' WHERE chain_id = ?").run(layer.chain_id);
      await ensureLayer(unpack, { chainId: layer.chain_id, diffId: layer.diff_id, blobDigest: layer.blob_digest });
    }
  }
  const known = new Set(layers.map((l) => l.chain_id.slice(7)));
  const orphans: string[] = [];
  for (const dir of dirs) {
    const path = join(store.layersDir, dir);
    if (!known.has(dir) && (await old(path))) orphans.push(path);
  }
  for (const path of orphans) problems.push({ kind: 'orphan-layer', subject: path, detail: 'no image refers to it', repaired: options.repair });
  if (options.repair) await removeTrees(unpack, orphans);

  await checkContainers(ctx, unpack, options, problems, old);

  const images = (store.db.prepare('SELECT count(*) AS n FROM images').get() as { n: number }).n;
  return { blobs: recorded.size, layers: layers.length, images, problems };
}

function imagesUsing(db: Database, digest: string): string[] {
  return (db.prepare('SELECT image_id FROM image_blobs WHERE digest = ?').all(digest) as { image_id: string }[]).map((r) => r.image_id.slice(7, 19));
}

async function hashFile(path: string): Promise<{ digest: string; size: number }> {
  const hash = createHash('sha256');
  let size = 0;
  for await (const chunk of createReadStream(path)) {
    hash.update(chunk as Buffer);
    size += (chunk as Buffer).length;
  }
  return { digest: `sha256:${hash.digest('hex')}`, size };
}

/**
 * Containers a killed tsc left half-made ('creating') or half-removed ('removing'), their
 * directories without a row, and containers whose monitor died without recording an exit.
 */
async function checkContainers(ctx: EngineContext, unpack: UnpackContext, options: CheckOptions, problems: CheckProblem[], old: (path: string) => Promise<boolean>): Promise<void> {
  const { allContainers, deleteContainerRow } = await import('../containers/records.ts');
  const { containerDir, liveState, processStartTime, readMonitorState, writeEndState } = await import('../containers/state.ts');
  const { removeContainer } = await import('../containers/lifecycle.ts');
  const { removeCgroup } = await import('../containers/cgroup.ts');
  const store = unpack.store;
  const rows = allContainers(store.db);
  for (const row of rows) {
    const ownerGone = processStartTime(row.ownerPid) === undefined;
    if (row.state === 'creating' && ownerGone) {
      problems.push({ kind: 'unfinished-create', subject: row.id, detail: `container ${row.name} was being created by a tsc process that is gone`, repaired: options.repair });
      if (options.repair) {
        await removeTrees(unpack, [containerDir(store.root, row.id)]);
        await removeCgroup(row.config.cgroup).catch(() => undefined);
        deleteContainerRow(store.db, row.id);
      }
    } else if (row.state === 'removing' && ownerGone) {
      problems.push({ kind: 'unfinished-remove', subject: row.id, detail: `container ${row.name} was being removed by a tsc process that is gone`, repaired: options.repair });
      if (options.repair) await removeContainer(ctx, row, { force: true });
    } else if (row.state === 'started') {
      const live = liveState(row, store.root);
      const dir = containerDir(store.root, row.id);
      // no state file yet while the tsc that starts it lives: its monitor is on the way
      if (live.exitCode !== -1 || live.status !== 'exited' || (!readMonitorState(dir) && !ownerGone)) continue;
      problems.push({ kind: 'monitor-gone', subject: row.id, detail: `container ${row.name}: ${live.error}; it is shown as exited (tsc start or tsc rm it)`, repaired: options.repair });
      // as docker shows a container its runtime lost: exited, 255 (a state file that
      // appears meanwhile, from a monitor starting late, is left alone)
      if (options.repair) {
        const previous = readMonitorState(dir);
        await writeEndState(dir, { status: 'exited', exitCode: 255, error: live.error, ...(previous ? { startedAt: previous.startedAt, restartCount: previous.restartCount } : {}) }, !previous);
      }
    }
  }
  const known = new Set(rows.map((r) => r.id));
  const dirs = await readdir(join(store.root, 'containers')).catch(() => [] as string[]);
  const orphans: string[] = [];
  for (const name of dirs) {
    const path = join(store.root, 'containers', name);
    if (!known.has(name) && (await old(path))) orphans.push(path);
  }
  for (const path of orphans) problems.push({ kind: 'orphan-container-dir', subject: path, detail: 'no container refers to it', repaired: options.repair });
  if (options.repair) await removeTrees(unpack, orphans);
}
