/**
 * The target directory of one layer extraction, touched only through relative paths whose
 * every parent is known to be a directory: nothing here follows a symlink, so no entry can
 * reach outside the root. What is at each path is learnt with lstat once and then kept up
 * to date in KnownPaths (known-paths.ts), which assumes nobody else changes the target
 * while it is extracted. Also remembers what this layer wrote, which the order-independent
 * whiteout and opaque handling (whiteouts.ts) needs.
 *
 * The file system calls are synchronous: the extractor is the whole job of the process it
 * runs in, and a thread pool round trip per call cost more than the calls themselves.
 */
import { chmodSync, lstatSync, mkdirSync, opendirSync, readdirSync, realpathSync, rmSync, unlinkSync, type Stats } from 'node:fs';
import { errnoCode, TscError } from '../errors.ts';
import { childOf, directoryNode, KnownPaths, leafNode, type KnownNode, type NodeKind } from './known-paths.ts';

export type { NodeKind } from './known-paths.ts';

export function fsError(error: unknown, action: string, path: string): TscError {
  const message = error instanceof Error ? error.message : String(error);
  return new TscError('system', `cannot ${action} ${path}: ${message}`, { cause: error });
}

export function lstatOrUndefined(path: string): Stats | undefined {
  try {
    return lstatSync(path);
  } catch (error) {
    if (errnoCode(error) === 'ENOENT') return undefined;
    throw fsError(error, 'inspect', path);
  }
}

export function kindOf(stats: Stats): NodeKind {
  if (stats.isSymbolicLink()) return 'symlink';
  if (stats.isDirectory()) return 'directory';
  if (stats.isFile()) return 'file';
  return 'special file';
}

/**
 * Resolves the target directory once (its own path may hold symlinks; nothing below it is
 * followed) and tells whether it is empty. `fresh`: the caller promises an empty directory
 * (a new layer's own), and anything else is refused.
 */
export function openTarget(target: string, fresh: boolean): { root: string; empty: boolean } {
  let root: string;
  let empty: boolean;
  try {
    root = realpathSync(target);
    if (!lstatSync(root).isDirectory()) throw new TscError('invalid-argument', `${target} is not a directory`);
    const dir = opendirSync(root);
    try {
      empty = dir.readSync() === null;
    } finally {
      dir.closeSync();
    }
  } catch (error) {
    if (error instanceof TscError) throw error;
    throw fsError(error, 'open the layer target', target);
  }
  if (fresh && !empty) throw new TscError('internal', `the layer target ${target} is not empty`);
  return { root, empty };
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
  readonly #known: KnownPaths;

  /** Called when the parent walk meets a whiteout marker and puts a directory there. */
  onMarkerReplaced: (rel: string) => Promise<void> = async () => {};
  /** Called before anything in the target is removed (the extractor finishes its helper calls on paths first). */
  beforeRemove: () => Promise<void> = async () => {};

  /** `empty`: the target directory holds nothing yet. */
  constructor(root: string, empty: boolean) {
    this.root = root;
    this.#known = new KnownPaths(empty);
  }

  abs(rel: string): string {
    return rel === '' ? this.root : `${this.root}/${rel}`;
  }

  noteCreated(rel: string): void {
    this.created.add(rel);
    // its directories, deepest first, up to one already noted
    for (let end = rel.lastIndexOf('/'); ; end = rel.lastIndexOf('/', end - 1)) {
      const dir = end < 0 ? '' : rel.slice(0, end);
      if (this.holders.has(dir)) break;
      this.holders.add(dir);
      if (end < 0) break;
    }
  }

  /** Written by this layer, or holding something that is. */
  ownedByLayer(rel: string): boolean {
    return this.created.has(rel) || this.holders.has(rel);
  }

  /** Records what an entry put at `rel` (`mkdir` records directories itself). */
  record(rel: string, kind: Exclude<NodeKind, 'directory'>): void {
    this.#known.set(rel, leafNode(kind));
  }

  /** After a failure that may have left something half made: look everything up on disk again. */
  forgetKnown(): void {
    this.#known.forgetAll();
  }

  /** The child `name` of the known directory `dir` (at `rel`), looked up with lstat unless known. */
  #child(dir: KnownNode, rel: string, name: string): KnownNode | undefined {
    const known = childOf(dir, name);
    if (known === 'absent') return undefined;
    if (known !== 'unknown') return known;
    const stats = lstatOrUndefined(this.abs(rel));
    if (stats === undefined) return undefined;
    const kind = kindOf(stats);
    const node = kind === 'directory' ? directoryNode(false) : leafNode(kind);
    dir.children!.set(name, node);
    if (kind === 'directory') this.#makeWritable(rel, stats);
    return node;
  }

  /**
   * What is at `rel`, or undefined when nothing is or when a parent is not a directory
   * (nothing is followed through a symlink).
   */
  kindAt(rel: string): NodeKind | undefined {
    return this.#nodeAt(rel)?.kind;
  }

  #nodeAt(rel: string): KnownNode | undefined {
    let node = this.#known.root;
    if (rel === '') return node;
    let at = '';
    for (const part of rel.split('/')) {
      if (node.kind !== 'directory') return undefined;
      at = at === '' ? part : `${at}/${part}`;
      const next = this.#child(node, at, part);
      if (next === undefined) return undefined;
      node = next;
    }
    return node;
  }

  /**
   * Checks each parent of `components`. With `create`, missing parents are made, and a
   * non-directory that is not this layer's (a lower layer's symlink, say) is replaced by a
   * directory, as overlayfs would show this layer's directory over it. Without `create`,
   * any missing parent or non-directory ends the walk. Directories on the way are made
   * writable for a non-root caller (see #makeWritable).
   */
  async walkParents(components: readonly string[], create: boolean): Promise<ParentWalk> {
    let node = this.#known.root;
    let rel = '';
    for (let i = 0; i < components.length - 1; i++) {
      const part = components[i]!;
      rel = rel === '' ? part : `${rel}/${part}`;
      let next = this.#child(node, rel, part);
      if (next?.kind === 'directory') {
        node = next;
        continue;
      }
      if (!create) {
        return next === undefined
          ? { ok: false, missing: true, reason: `${rel} does not exist` }
          : { ok: false, missing: false, reason: `${rel} is a ${next.kind}` };
      }
      if (next !== undefined) {
        if (this.created.has(rel) && !this.markers.has(rel)) {
          return { ok: false, missing: false, reason: `its parent ${rel} is a ${next.kind} in this layer` };
        }
        await this.remove(rel);
      }
      this.mkdir(rel, 0o755);
      if (this.markers.delete(rel)) await this.onMarkerReplaced(rel);
      next = this.#nodeAt(rel);
      if (next?.kind !== 'directory') throw new TscError('internal', `the directory ${this.abs(rel)} just made is gone`);
      node = next;
    }
    return { ok: true };
  }

  /** Creates a directory with exactly `mode`, whatever the umask; returns its inode number. */
  mkdir(rel: string, mode: number): number {
    const path = this.abs(rel);
    try {
      mkdirSync(path, mode);
      const stats = lstatSync(path);
      if ((stats.mode & 0o7777) !== mode) chmodSync(path, mode);
      this.#known.set(rel, directoryNode(true));
      return stats.ino;
    } catch (error) {
      throw fsError(error, 'create the directory', path);
    }
  }

  /** Removes whatever is at `rel` (a directory with its content); never follows a symlink. */
  async remove(rel: string): Promise<void> {
    if (this.kindAt(rel) === undefined) return;
    await this.beforeRemove();
    const path = this.abs(rel);
    this.#known.drop(rel);
    try {
      rmSync(path, { recursive: true, force: true });
    } catch (error) {
      const code = errnoCode(error);
      if (code !== 'EACCES' && code !== 'EPERM') throw fsError(error, 'remove', path);
      this.#openUp(path);
      try {
        rmSync(path, { recursive: true, force: true });
      } catch (again) {
        throw fsError(again, 'remove', path);
      }
    }
  }

  /** Makes the directories under `path` writable by us, so a non-root caller can empty them. */
  #openUp(path: string): void {
    if (lstatOrUndefined(path)?.isDirectory() !== true) return;
    try {
      chmodSync(path, 0o700);
    } catch {
      // the removal that follows reports what is wrong
    }
    let names: string[] = [];
    try {
      names = readdirSync(path);
    } catch {
      // as above
    }
    for (const name of names) this.#openUp(`${path}/${name}`);
  }

  async unlinkMarker(rel: string): Promise<void> {
    this.markers.delete(rel);
    if (this.kindAt(rel) === undefined) return;
    await this.beforeRemove();
    this.#known.drop(rel);
    try {
      unlinkSync(this.abs(rel));
    } catch (error) {
      if (errnoCode(error) !== 'ENOENT') throw fsError(error, 'remove the whiteout', this.abs(rel));
    }
  }

  /**
   * Deletes everything under the directory `rel` that this layer did not write: the
   * lower layers' content of an opaque (or whited-out and re-created) directory.
   */
  async pruneLower(rel: string): Promise<void> {
    if (this.kindAt(rel) !== 'directory') return;
    const path = this.abs(rel);
    let names: string[];
    try {
      names = readdirSync(path);
    } catch (error) {
      if (errnoCode(error) === 'ENOENT' || errnoCode(error) === 'ENOTDIR') return;
      throw fsError(error, 'read the directory', path);
    }
    for (const name of names) {
      const child = rel === '' ? name : `${rel}/${name}`;
      if (!this.ownedByLayer(child)) await this.remove(child);
      else if (this.kindAt(child) === 'directory') await this.pruneLower(child);
    }
  }

  /**
   * A non-root caller cannot write into a lower directory without write permission (say
   * mode 0555); such a directory of ours is opened up when first seen and its mode
   * restored at the end.
   */
  #makeWritable(rel: string, stats: Stats): void {
    if (IS_ROOT || (stats.mode & 0o300) === 0o300 || stats.uid !== UID) return;
    try {
      chmodSync(this.abs(rel), (stats.mode & 0o7777) | 0o700);
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
  finish(setTimes: (path: string, mtime: number) => void): void {
    const depth = (rel: string) => (rel === '' ? 0 : rel.split('/').length);
    const ordered = [...this.#deferred].sort((a, b) => depth(b[0]) - depth(a[0]));
    for (const [rel, dir] of ordered) {
      const path = this.abs(rel);
      const stats = lstatOrUndefined(path);
      // replaced by a later entry (perhaps a symlink): chmod would follow it
      if (!stats?.isDirectory() || stats.ino !== dir.ino) continue;
      try {
        chmodSync(path, dir.mode);
        if (dir.mtime !== undefined) setTimes(path, dir.mtime);
      } catch (error) {
        throw fsError(error, 'set the mode and times of', path);
      }
    }
  }
}
