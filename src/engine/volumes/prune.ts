/**
 * `tsc volume prune`: docker 23+'s rule. Without `all`, only anonymous volumes no
 * container uses; with it, every unused volume. `label=`/`label!=` filters narrow it.
 * The space is counted before removal (files the user cannot read count as nothing).
 */
import { lstat, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { EngineContext } from '../context.ts';
import { TscError } from '../errors.ts';
import { transaction } from '../state/db.ts';
import { labelMatcher } from './list.ts';
import { allVolumes, detachVolumeRecord, discardTrees, getVolume, volumeDir, volumeUsers, type VolumeRow } from './store.ts';

export interface VolumePruneOptions {
  all?: boolean | undefined;
  /** label=KEY[=VALUE], label!=KEY[=VALUE] */
  filters?: readonly string[] | undefined;
}

export interface VolumePruneResult {
  deleted: string[];
  reclaimedBytes: number;
}

/** The prune predicate from its options (pure). */
export function pruneFilter(options: VolumePruneOptions): (v: VolumeRow) => boolean {
  const tests: ((v: VolumeRow) => boolean)[] = [];
  if (!options.all) tests.push((v) => v.anonymous);
  for (const filter of options.filters ?? []) {
    const m = /^(label!?)=(.+)$/.exec(filter);
    if (!m) {
      throw new TscError('invalid-argument', `invalid filter ${JSON.stringify(filter)}: volume prune takes label=KEY[=VALUE] and label!=KEY[=VALUE]`);
    }
    const match = labelMatcher(m[2]!);
    tests.push(m[1] === 'label' ? (v) => match(v.labels) : (v) => !match(v.labels));
  }
  return (v) => tests.every((t) => t(v));
}

/** Bytes of the regular files under `dir` (each inode once); unreadable parts count as 0. */
export async function treeSize(dir: string): Promise<number> {
  const seen = new Set<string>();
  let total = 0;
  const walk = async (path: string): Promise<void> => {
    let entries;
    try {
      entries = await readdir(path, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      const p = join(path, e.name);
      if (e.isDirectory()) await walk(p);
      else if (e.isFile()) {
        try {
          const s = await lstat(p);
          const key = `${s.dev}:${s.ino}`;
          if (!seen.has(key)) {
            seen.add(key);
            total += s.size;
          }
        } catch {
          // gone or unreadable
        }
      }
    }
  };
  await walk(dir);
  return total;
}

export async function pruneVolumes(ctx: EngineContext, options: VolumePruneOptions = {}): Promise<VolumePruneResult> {
  const wanted = pruneFilter(options);
  const store = await ctx.store();
  const result: VolumePruneResult = { deleted: [], reclaimedBytes: 0 };
  const trash: string[] = [];
  for (const candidate of allVolumes(store.db).filter(wanted)) {
    const size = await treeSize(volumeDir(store.root, candidate.name));
    // decided again under the write lock: a container may have taken it meanwhile
    const moved = transaction(store.db, () => {
      if (volumeUsers(store.db, candidate.name).length > 0) return null;
      if (!getVolume(store.db, candidate.name)) return null;
      return detachVolumeRecord(store, candidate.name) ?? '';
    });
    if (moved === null) continue;
    if (moved) trash.push(moved);
    result.deleted.push(candidate.name);
    result.reclaimedBytes += size;
  }
  await discardTrees(ctx, trash);
  return result;
}
