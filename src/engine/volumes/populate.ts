/**
 * Filling a new volume from the image (docker's copy-on-first-mount): the merged content
 * of the image's layers at the mount's destination is copied with owners, modes, times,
 * symlinks, hardlinks and xattrs (not overlayfs' own), into a scratch directory beside
 * `_data`, then renamed over `_data` only if `_data` is still empty. The rename is the
 * commit: a killed copy leaves a scratch directory and an empty volume, never a half
 * filled one, and of two containers filling the same volume at once only one wins.
 *
 * Rootless, layer files belong to subordinate ids, so the copy runs as root in the user
 * namespace: tsc re-executes itself there (`__tsc-internal populate-volume`, see
 * internal/main.ts). As real root it runs in this process.
 */
import { randomUUID } from 'node:crypto';
import { copyFile, chmod, lchown, link, lstat, lutimes, mkdir, readdir, readlink, rename, rm, symlink, utimes } from 'node:fs/promises';
import { join } from 'node:path';
import { errnoCode, TscError } from '../errors.ts';
import type { UnpackContext } from '../images/unpack.ts';
import { openFsOps, type FsOps } from '../sys/fsops.ts';
import type { RootlessMaps } from '../sys/idmaps.ts';
import { INTERNAL_ARG, selfArgv } from '../sys/self.ts';
import { programExit, startInUserns } from '../sys/userns.ts';
import { planMergedTree, type EntryKind, type LayerReader, type PlannedEntry } from './merge.ts';

export type PopulateOutcome = 'populated' | 'not-empty' | 'nothing-to-copy';

export interface PopulateReport {
  outcome: PopulateOutcome;
  entries: number;
  /** entries or xattrs that could not be copied, with why */
  skipped: string[];
}

const OVERLAY_XATTR = /^(user|trusted)\.overlay\./;

/** Reads layer directories with Node's fs and the helper's xattr calls. */
export function fsLayerReader(fsops: Pick<FsOps, 'getXattr'>): LayerReader {
  return {
    async kind(path): Promise<EntryKind | undefined> {
      let s;
      try {
        s = await lstat(path);
      } catch (error) {
        const code = errnoCode(error);
        if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
        throw error;
      }
      if (s.isCharacterDevice() && s.rdev === 0) return 'whiteout';
      if (s.isDirectory()) return 'directory';
      if (s.isFile()) return 'file';
      if (s.isSymbolicLink()) return 'symlink';
      return 'other';
    },
    list: (path) => readdir(path),
    readlink: (path) => readlink(path),
    async opaque(path): Promise<boolean> {
      for (const name of ['user.overlay.opaque', 'trusted.overlay.opaque']) {
        try {
          if ((await fsops.getXattr(path, name)).toString() === 'y') return true;
        } catch {
          // ENODATA, or a namespace this process may not read
        }
      }
      return false;
    },
  };
}

async function copyXattrs(fsops: FsOps, entry: PlannedEntry, target: string, skipped: string[]): Promise<void> {
  let names: string[];
  try {
    names = await fsops.listXattrs(entry.source);
  } catch {
    return;
  }
  for (const name of names) {
    if (OVERLAY_XATTR.test(name)) continue;
    try {
      await fsops.setXattr(target, name, await fsops.getXattr(entry.source, name));
    } catch (error) {
      skipped.push(`/${entry.path}: xattr ${name} (${errnoCode(error) ?? (error as Error).message})`);
    }
  }
}

/** Copies the plan into `root` (an existing empty directory that becomes the plan's root). */
export async function copyPlan(fsops: FsOps, plan: readonly PlannedEntry[], root: string): Promise<string[]> {
  const skipped: string[] = [];
  const linked = new Map<string, string>();
  const directories: { target: string; atime: Date; mtime: Date }[] = [];
  for (const entry of plan) {
    const target = entry.path === '' ? root : join(root, entry.path);
    const s = await lstat(entry.source);
    switch (entry.kind) {
      case 'directory':
        if (entry.path !== '') await mkdir(target, { mode: 0o700 });
        break;
      case 'file': {
        const key = `${s.dev}:${s.ino}`;
        const first = s.nlink > 1 ? linked.get(key) : undefined;
        if (first !== undefined) {
          await link(first, target);
          continue; // same inode: owner, mode and xattrs came with it
        }
        if (s.nlink > 1) linked.set(key, target);
        await copyFile(entry.source, target);
        break;
      }
      case 'symlink':
        await symlink(await readlink(entry.source), target);
        break;
      default: {
        const kind = s.isFIFO() ? 'fifo' : s.isCharacterDevice() ? 'char' : s.isBlockDevice() ? 'block' : undefined;
        if (kind === undefined) {
          skipped.push(`/${entry.path}: a socket`);
          continue;
        }
        try {
          const rdev = Number(s.rdev);
          await fsops.mknod(target, kind, s.mode & 0o7777, (rdev >> 8) & 0xfff, (rdev & 0xff) | ((rdev >> 12) & 0xfff00));
        } catch (error) {
          if (errnoCode(error) !== 'EPERM') throw error;
          skipped.push(`/${entry.path}: a device node (not permitted here)`);
          continue;
        }
      }
    }
    await lchown(target, s.uid, s.gid);
    if (entry.kind !== 'symlink') {
      await chmod(target, s.mode & 0o7777); // after chown, which clears set-id bits
      await copyXattrs(fsops, entry, target, skipped);
    }
    if (entry.kind === 'directory') directories.push({ target, atime: s.atime, mtime: s.mtime });
    else if (entry.kind === 'symlink') await lutimes(target, s.atime, s.mtime);
    else await utimes(target, s.atime, s.mtime);
  }
  // directories last, deepest first: adding their entries changed their times
  for (const d of directories.reverse()) await utimes(d.target, d.atime, d.mtime);
  return skipped;
}

/**
 * The whole fill, in the process that may own the files: plan, copy into `scratch` (a new
 * directory), rename it over `data` if `data` is empty; `scratch` is gone afterwards.
 */
export async function populateDirectory(helper: string, layersTopFirst: readonly string[], destination: string, scratch: string, data: string): Promise<PopulateReport> {
  if ((await readdir(data)).length > 0) return { outcome: 'not-empty', entries: 0, skipped: [] };
  if (layersTopFirst.length === 0) return { outcome: 'nothing-to-copy', entries: 0, skipped: [] };
  const fsops = await openFsOps(helper);
  try {
    const plan = await planMergedTree(fsLayerReader(fsops), layersTopFirst, destination);
    if (plan.length === 0) return { outcome: 'nothing-to-copy', entries: 0, skipped: [] };
    await mkdir(scratch, { mode: 0o700 });
    try {
      const skipped = await copyPlan(fsops, plan, scratch);
      try {
        await rename(scratch, data);
      } catch (error) {
        if (errnoCode(error) === 'ENOTEMPTY' || errnoCode(error) === 'EEXIST') return { outcome: 'not-empty', entries: 0, skipped: [] };
        throw error;
      }
      return { outcome: 'populated', entries: plan.length - 1, skipped };
    } finally {
      await rm(scratch, { recursive: true, force: true });
    }
  } finally {
    await fsops.close();
  }
}

export interface PopulateRequest {
  layersTopFirst: readonly string[];
  /** absolute path in the container */
  destination: string;
  /** the volume's directory (holds `_data`) */
  volumeDir: string;
}

/** Fills the volume's `_data` from the image when it is empty and the image has a directory there. */
export async function populateVolume(ctx: UnpackContext, request: PopulateRequest): Promise<PopulateReport> {
  const scratch = join(request.volumeDir, `_populate-${randomUUID()}`);
  const data = join(request.volumeDir, '_data');
  if (!ctx.maps) return populateDirectory(ctx.helper, request.layersTopFirst, request.destination, scratch, data);
  return populateRootless(ctx.helper, ctx.maps, [scratch, data, request.destination, ...request.layersTopFirst]);
}

async function populateRootless(helper: string, maps: RootlessMaps, args: readonly string[]): Promise<PopulateReport> {
  const proc = startInUserns(helper, maps, {
    argv: [...selfArgv(), INTERNAL_ARG, 'populate-volume', helper, ...args],
    env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin', LANG: 'C.UTF-8' },
    cwd: '/',
    stdout: 'pipe',
  });
  let output = '';
  proc.stdout!.on('data', (b: Buffer) => (output += b.toString('utf8')));
  const exit = programExit(await proc.result);
  const line = output.trim().split('\n').pop() ?? '';
  let report: PopulateReport | { error: { code: string; message: string } };
  try {
    report = JSON.parse(line) as typeof report;
  } catch {
    throw new TscError('internal', `filling the volume printed no report (${exit.signal ? `signal ${exit.signal}` : `status ${exit.status}`})${output ? `: ${output.slice(0, 300)}` : ''}`);
  }
  if ('error' in report) throw new TscError('system', `cannot fill the volume from the image: ${report.error.message}`);
  if (exit.status !== 0) throw new TscError('system', `filling the volume failed (${exit.signal ? `signal ${exit.signal}` : `status ${exit.status}`})`);
  return report;
}
