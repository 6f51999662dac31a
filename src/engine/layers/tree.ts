/**
 * The target directory of one layer extraction, touched only through relative paths whose
 * every parent has been checked with lstat: nothing here follows a symlink, so no entry
 * can reach outside the root. Assumes nobody else changes the target while it is
 * extracted. Also remembers what this layer wrote, which the order-independent whiteout
 * and opaque handling (whiteouts.ts) needs.
 */
import { chmod, lstat, mkdir, readdir, rm, unlink } from 'node:fs/promises';
import type { Stats } from 'node:fs';
import { errnoCode, TscError } from '../errors.ts';
import { ancestorsOf } from './entry-paths.ts';

export function fsError(error: unknown, action: string, path: string): TscError {
  const message = error instanceof Error ? error.message : String(error);
  return new TscError('system', `cannot ${action} ${path}: ${message}`, { cause: error });
}

export async function lstatOrUndefined(path: string): Promise<Stats | undefined> {
  try {
    return await lstat(path);
  } catch (error) {
    if (errnoCode(error) === 'ENOENT') return undefined;
    throw fsError(error, 'inspect', path);
  }
}

export function kindOf(stats: Stats): string {
  if (stats.isSymbolicLink()) return 'symlink';
  if (stats.isDirectory()) return 'directory';
  if (stats.isFile()) return 'file';
  return 'special file';
}

/** Where the parent walk ended: all parents are directories, or why not. */
export type ParentWalk = { ok: true } | { ok: false; missing: boolean; reason: string };

interface DeferredDir {
  mode: number;
  /** undefined: only the mode is restored (a lower directory made writable) */
  mtime: number | undefined;
  ino: number;
}

const IS_ROOT = process.geteuid?.() === 0;
const UID = process.geteuid?.() ?? -1;

export class LayerTree {
  readonly root: string;
  /** paths of entries this layer wrote */
  readonly created = new Set<string>();
  /** directories that hold something this layer wrote */
  readonly holders = new Set<string>();
  /** whiteout markers this layer wrote (overlay formats) */
  readonly markers = new Set<string>();
  /** directories this layer made opaque */
  readonly opaque = new Set<string>();
  readonly #deferred = new Map<string, DeferredDir>();

  /** Called when the parent walk meets a whiteout marker and puts a directory there. */
  onMarkerReplaced: (rel: string) => Promise<void> = async () => {};

  constructor(root: string) {
    this.root = root;
  }

  abs(rel: string): string {
    return rel === '' ? this.root : `${this.root}/${rel}`;
  }

  noteCreated(rel: string): void {
    this.created.add(rel);
    for (const dir of ['', ...ancestorsOf(rel)].reverse()) {
      if (this.holders.has(dir)) break;
      this.holders.add(dir);
    }
  }

  /** Written by this layer, or holding something that is. */
  ownedByLayer(rel: string): boolean {
    return this.created.has(rel) || this.holders.has(rel);
  }

  /**
   * Checks each parent of `components` with lstat. With `create`, missing parents are
   * made, and a non-directory that is not this layer's (a lower layer's symlink, say) is
   * replaced by a directory, as overlayfs would show this layer's directory over it.
   * Without `create`, any missing parent or non-directory ends the walk. Directories on
   * the way are made writable for a non-root caller (see makeWritable).
   */
  async walkParents(components: readonly string[], create: boolean): Promise<ParentWalk> {
    let rel = '';
    for (const part of components.slice(0, -1)) {
      rel = rel === '' ? part : `${rel}/${part}`;
      const path = this.abs(rel);
      const stats = await lstatOrUndefined(path);
      if (stats?.isDirectory()) {
        await this.makeWritable(rel, stats);
        continue;
      }
      if (!create) {
        return stats === undefined
          ? { ok: false, missing: true, reason: `${rel} does not exist` }
          : { ok: false, missing: false, reason: `${rel} is a ${kindOf(stats)}` };
      }
      if (stats !== undefined) {
        if (this.created.has(rel) && !this.markers.has(rel)) {
          return { ok: false, missing: false, reason: `its parent ${rel} is a ${kindOf(stats)} in this layer` };
        }
        await this.remove(rel);
      }
      await this.mkdir(rel, 0o755);
      if (this.markers.delete(rel)) await this.onMarkerReplaced(rel);
    }
    return { ok: true };
  }

  /** Creates a directory with exactly `mode`, whatever the umask. */
  async mkdir(rel: string, mode: number): Promise<void> {
    try {
      await mkdir(this.abs(rel), mode);
      await chmod(this.abs(rel), mode);
    } catch (error) {
      throw fsError(error, 'create the directory', this.abs(rel));
    }
  }

  /** Removes whatever is at `rel` (a directory with its content); never follows a symlink. */
  async remove(rel: string): Promise<void> {
    const path = this.abs(rel);
    try {
      await rm(path, { recursive: true, force: true });
    } catch (error) {
      const code = errnoCode(error);
      if (code !== 'EACCES' && code !== 'EPERM') throw fsError(error, 'remove', path);
      await this.#openUp(path);
      await rm(path, { recursive: true, force: true }).catch((again: unknown) => {
        throw fsError(again, 'remove', path);
      });
    }
  }

  /** Makes the directories under `path` writable by us, so a non-root caller can empty them. */
  async #openUp(path: string): Promise<void> {
    const stats = await lstatOrUndefined(path);
    if (!stats?.isDirectory()) return;
    await chmod(path, 0o700).catch(() => {});
    for (const name of await readdir(path).catch(() => [])) await this.#openUp(`${path}/${name}`);
  }

  async unlinkMarker(rel: string): Promise<void> {
    this.markers.delete(rel);
    await unlink(this.abs(rel)).catch((error: unknown) => {
      if (errnoCode(error) !== 'ENOENT') throw fsError(error, 'remove the whiteout', this.abs(rel));
    });
  }

  /**
   * Deletes everything under the directory `rel` that this layer did not write: the
   * lower layers' content of an opaque (or whited-out and re-created) directory.
   */
  async pruneLower(rel: string): Promise<void> {
    const path = this.abs(rel);
    let names: string[];
    try {
      names = await readdir(path);
    } catch (error) {
      if (errnoCode(error) === 'ENOENT' || errnoCode(error) === 'ENOTDIR') return;
      throw fsError(error, 'read the directory', path);
    }
    for (const name of names) {
      const child = rel === '' ? name : `${rel}/${name}`;
      if (!this.ownedByLayer(child)) {
        await this.remove(child);
        continue;
      }
      const stats = await lstatOrUndefined(this.abs(child));
      if (stats?.isDirectory()) await this.pruneLower(child);
    }
  }

  /**
   * A non-root caller cannot write into a lower directory without write permission (say
   * mode 0555); such a directory of ours is opened up now and its mode restored at the end.
   */
  async makeWritable(rel: string, stats: Stats): Promise<void> {
    if (IS_ROOT || (stats.mode & 0o300) === 0o300 || stats.uid !== UID) return;
    try {
      await chmod(this.abs(rel), (stats.mode & 0o7777) | 0o700);
    } catch (error) {
      throw fsError(error, 'make writable', this.abs(rel));
    }
    if (!this.#deferred.has(rel)) this.#deferred.set(rel, { mode: stats.mode & 0o7777, mtime: undefined, ino: stats.ino });
  }

  /** A directory's mode and mtime are set after its content, by `finish`. */
  deferDirectory(rel: string, mode: number, mtime: number, ino: number): void {
    this.#deferred.set(rel, { mode, mtime, ino });
  }

  /** Applies the deferred directory modes and mtimes, deepest first. */
  async finish(setTimes: (path: string, mtime: number) => Promise<void>): Promise<void> {
    const depth = (rel: string) => (rel === '' ? 0 : rel.split('/').length);
    const ordered = [...this.#deferred].sort((a, b) => depth(b[0]) - depth(a[0]));
    for (const [rel, dir] of ordered) {
      const path = this.abs(rel);
      const stats = await lstatOrUndefined(path);
      // replaced by a later entry (perhaps a symlink): chmod would follow it
      if (!stats?.isDirectory() || stats.ino !== dir.ino) continue;
      try {
        await chmod(path, dir.mode);
        if (dir.mtime !== undefined) await setTimes(path, dir.mtime);
      } catch (error) {
        throw fsError(error, 'set the mode and times of', path);
      }
    }
  }
}
