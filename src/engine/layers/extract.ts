/**
 * Applies a layer's entries onto a target directory: the layer's own directory (overlay
 * and fuse-overlayfs drivers) or a root file system holding the lower layers (vfs/copy
 * driver), with the whiteout format chosen by the caller (extract-types.ts).
 *
 * Security: no entry writes outside the target. Names are cleaned (entry-paths.ts); every
 * parent is checked with lstat and never followed when it is a symlink (tree.ts); files
 * are created with O_EXCL|O_NOFOLLOW after whatever was at their path is removed, so no
 * existing symlink or hardlink is written through; a hardlink must point at an existing
 * non-directory inside the target, reached without a symlink. An entry that cannot be
 * applied safely is left out and listed in the result's `skipped`; only a corrupt archive
 * or a failing file system throws.
 *
 * Metadata order per entry: create, chown, xattrs, chmod, times. chown clears setuid,
 * setgid and security.capability, so both come after it; a directory's mode and mtime are
 * set after all of its content (tree.finish).
 */
import { constants } from 'node:fs';
import { chmod, lchown, link, lstat, lutimes, open, realpath, symlink } from 'node:fs/promises';
import { errnoCode, TscError } from '../errors.ts';
import { classify, cleanPath, joinRel } from './entry-paths.ts';
import {
  unsupportedMknod,
  unsupportedXattrs,
  type ExtractOptions,
  type ExtractResult,
  type Mknod,
  type SetXattr,
  type SkippedEntry,
} from './extract-types.ts';
import { readTar, type TarEntry, type TarSource } from './tar.ts';
import { quote } from './tar-format.ts';
import { fsError, kindOf, LayerTree, lstatOrUndefined } from './tree.ts';
import { isPermissionError, Whiteouts } from './whiteouts.ts';

export type { ExtractOptions, ExtractResult, SkippedEntry, WhiteoutFormat, SetXattr, Mknod, DeviceKind } from './extract-types.ts';

/** xattrs that would let a layer plant overlayfs metadata (whiteouts, redirects) in the mount */
const OVERLAY_XATTR = /^(trusted|user)\.overlay\.|^user\.fuseoverlayfs\./;

/** (uid_t)-1 means "unchanged" to chown, so the largest id is one below it */
const MAX_ID = 2 ** 32 - 2;

const CREATE_FILE = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW;

/** Reads the tar stream `input` (decompressed: see decompress.ts) and applies it onto `target`. */
export async function extractLayer(input: TarSource, target: string, options: ExtractOptions): Promise<ExtractResult> {
  return applyEntries(readTar(input), target, options);
}

/** Applies tar entries onto `target` (an existing directory). */
export async function applyEntries(entries: AsyncIterable<TarEntry>, target: string, options: ExtractOptions): Promise<ExtractResult> {
  let root: string;
  try {
    root = await realpath(target);
    if (!(await lstat(root)).isDirectory()) throw new TscError('invalid-argument', `${target} is not a directory`);
  } catch (error) {
    if (error instanceof TscError) throw error;
    throw fsError(error, 'open the layer target', target);
  }
  const extractor = new Extractor(root, options);
  for await (const entry of entries) await extractor.apply(entry);
  return extractor.finish();
}

class Extractor {
  readonly #tree: LayerTree;
  readonly #options: ExtractOptions;
  readonly #setXattr: SetXattr;
  readonly #mknod: Mknod;
  readonly #whiteouts: Whiteouts;
  readonly #result: ExtractResult = {
    entries: 0, files: 0, directories: 0, symlinks: 0, hardlinks: 0, devices: 0,
    whiteouts: 0, opaqueDirs: 0, xattrs: 0, bytes: 0, rootOpaque: false, skipped: [],
  };

  constructor(root: string, options: ExtractOptions) {
    this.#tree = new LayerTree(root);
    this.#options = options;
    this.#setXattr = options.setXattr ?? unsupportedXattrs;
    this.#mknod = options.mknod ?? unsupportedMknod;
    this.#whiteouts = new Whiteouts(this.#tree, options, this.#setXattr, this.#mknod);
  }

  #skip(entry: TarEntry, reason: string, xattr?: string): void {
    const item: SkippedEntry = { path: entry.path, action: 'skipped', reason };
    if (xattr !== undefined) item.xattr = xattr;
    this.#result.skipped.push(item);
  }

  async apply(entry: TarEntry): Promise<void> {
    this.#result.entries++;
    try {
      await this.#apply(entry);
    } catch (error) {
      // a name the file system cannot hold is the layer's problem, not the host's
      const code = errnoCode(error instanceof TscError ? error.cause : error);
      if (code !== 'ENAMETOOLONG') throw error;
      this.#skip(entry, 'the name is too long for the file system');
    }
  }

  async #apply(entry: TarEntry): Promise<void> {
    if (entry.path.includes('\0') || entry.linkname.includes('\0')) return this.#skip(entry, 'the name contains a NUL byte');
    const components = cleanPath(entry.path);
    if (components === undefined) return this.#skip(entry, 'the path leads outside the layer root');
    const kind = classify(components);
    if (kind.kind === 'reserved') return this.#skip(entry, kind.reason);
    if (kind.kind === 'whiteout' || kind.kind === 'opaque') {
      const skipped = kind.kind === 'whiteout' ? await this.#whiteouts.whiteout(kind.target) : await this.#whiteouts.opaque(kind.dir);
      if (skipped !== undefined) this.#skip(entry, skipped);
      else if (kind.kind === 'whiteout') this.#result.whiteouts++;
      return;
    }
    if (entry.type === 'unsupported') return this.#skip(entry, `tar entry type ${quote(entry.typeflag)} is not supported`);
    const rel = joinRel(components);
    if (rel === '') return this.#applyRoot(entry);

    const tree = this.#tree;
    const walk = await tree.walkParents(components, true);
    if (!walk.ok) return this.#skip(entry, `not written: ${walk.reason}`);

    let linkTarget: string | undefined;
    if (entry.type === 'hardlink') {
      linkTarget = await this.#hardlinkTarget(entry, rel);
      if (linkTarget === undefined) return;
    }
    if (entry.type === 'symlink' && entry.linkname === '') return this.#skip(entry, 'the symlink has no target');

    const path = tree.abs(rel);
    const existing = await lstatOrUndefined(path);
    const wasMarker = tree.markers.has(rel);
    const merge = existing?.isDirectory() === true && entry.type === 'directory';
    if (existing !== undefined && !merge) {
      if (wasMarker) await tree.unlinkMarker(rel);
      else await tree.remove(rel);
    }
    await this.#create(entry, rel, path, merge, linkTarget);
    if (wasMarker && entry.type === 'directory') await this.#whiteouts.opaque(components);
  }

  async #create(entry: TarEntry, rel: string, path: string, merge: boolean, linkTarget: string | undefined): Promise<void> {
    const tree = this.#tree;
    switch (entry.type) {
      case 'file':
        await this.#writeFile(entry, path);
        this.#result.files++;
        break;
      case 'directory': {
        if (!merge) await tree.mkdir(rel, 0o700);
        await this.#chown(entry, path);
        await this.#xattrs(entry, path);
        const stats = await lstat(path);
        tree.deferDirectory(rel, entry.mode, entry.mtime, stats.ino);
        this.#result.directories++;
        break;
      }
      case 'symlink':
        await symlink(entry.linkname, path).catch((error: unknown) => {
          throw fsError(error, 'create the symlink', path);
        });
        await this.#chown(entry, path);
        await this.#xattrs(entry, path);
        await this.#times(path, entry.mtime);
        this.#result.symlinks++;
        break;
      case 'hardlink':
        // the link shares its target's inode, whose metadata came with the target's entry
        await link(linkTarget!, path).catch((error: unknown) => {
          throw fsError(error, 'create the hardlink', path);
        });
        this.#result.hardlinks++;
        break;
      default:
        if (!(await this.#device(entry, path))) return;
    }
    tree.noteCreated(rel);
  }

  async #applyRoot(entry: TarEntry): Promise<void> {
    if (entry.type !== 'directory') return this.#skip(entry, `the layer root cannot be a ${entry.type}`);
    const path = this.#tree.root;
    await this.#chown(entry, path);
    await this.#xattrs(entry, path);
    this.#tree.deferDirectory('', entry.mode, entry.mtime, (await lstat(path)).ino);
    this.#result.directories++;
  }

  /** The absolute path of a hardlink's target, or undefined (and a skip) when it is unsafe. */
  async #hardlinkTarget(entry: TarEntry, rel: string): Promise<string | undefined> {
    const components = cleanPath(entry.linkname);
    if (components === undefined || components.length === 0) {
      this.#skip(entry, `the hardlink target ${quote(entry.linkname)} is outside the layer root`);
      return undefined;
    }
    const targetRel = joinRel(components);
    if (targetRel === rel || targetRel.startsWith(`${rel}/`)) {
      this.#skip(entry, 'the hardlink points at itself or into the path it replaces');
      return undefined;
    }
    const walk = await this.#tree.walkParents(components, false);
    const stats = walk.ok ? await lstatOrUndefined(this.#tree.abs(targetRel)) : undefined;
    if (!walk.ok || stats === undefined || this.#tree.markers.has(targetRel)) {
      this.#skip(entry, `the hardlink target ${targetRel} is not in the layer${walk.ok ? '' : ` (${walk.reason})`}`);
      return undefined;
    }
    if (stats.isDirectory()) {
      this.#skip(entry, `the hardlink target ${targetRel} is a directory`);
      return undefined;
    }
    return this.#tree.abs(targetRel);
  }

  async #writeFile(entry: TarEntry, path: string): Promise<void> {
    let handle;
    try {
      handle = await open(path, CREATE_FILE, 0o600);
    } catch (error) {
      throw fsError(error, 'create', path);
    }
    try {
      for await (const chunk of entry.body) {
        let offset = 0;
        while (offset < chunk.length) offset += (await handle.write(chunk, offset)).bytesWritten;
        this.#result.bytes += chunk.length;
      }
      await this.#chown(entry, path, (uid, gid) => handle.chown(uid, gid));
      await this.#xattrs(entry, path);
      await handle.chmod(entry.mode);
      await handle.utimes(entry.mtime, entry.mtime);
    } catch (error) {
      if (error instanceof TscError) throw error;
      throw fsError(error, 'write', path);
    } finally {
      await handle.close();
    }
  }

  /** Creates a device node or fifo; false (and a skip) when this host does not let us. */
  async #device(entry: TarEntry, path: string): Promise<boolean> {
    const kind = entry.type === 'fifo' ? 'fifo' : entry.type === 'block-device' ? 'block' : 'char';
    try {
      await this.#mknod(path, kind, entry.mode, entry.devmajor, entry.devminor);
    } catch (error) {
      if (!isPermissionError(error)) throw fsError(error, `create the ${entry.type}`, path);
      const what = kind === 'fifo' ? 'fifo' : `${entry.type} ${entry.devmajor}:${entry.devminor}`;
      this.#skip(entry, `${what} not created: ${error instanceof Error ? error.message : String(error)}`);
      return false;
    }
    const stats = await lstat(path);
    if (stats.isSymbolicLink() || stats.isDirectory() || stats.isFile()) {
      throw new TscError('internal', `mknod left a ${kindOf(stats)} at ${path}`);
    }
    await this.#chown(entry, path);
    await this.#xattrs(entry, path);
    await chmod(path, entry.mode).catch((error: unknown) => {
      throw fsError(error, 'set the mode of', path);
    });
    await this.#times(path, entry.mtime);
    this.#result.devices++;
    return true;
  }

  async #chown(entry: TarEntry, path: string, chown: (uid: number, gid: number) => Promise<void> = (uid, gid) => lchown(path, uid, gid)): Promise<void> {
    if (this.#options.ownership !== 'keep') return;
    for (const [name, id] of [['uid', entry.uid], ['gid', entry.gid]] as const) {
      if (id < 0 || id > MAX_ID) throw new TscError('invalid-content', `corrupt layer: the ${name} ${id} of ${quote(entry.path)} is out of range`);
    }
    try {
      await chown(entry.uid, entry.gid);
    } catch (error) {
      const code = errnoCode(error);
      throw new TscError('system', `cannot give ${path} the owner ${entry.uid}:${entry.gid}: ${error instanceof Error ? error.message : String(error)}`, {
        cause: error,
        hint: code === 'EPERM' || code === 'EINVAL'
          ? "extract inside a user namespace that maps the layer's ids, or with ownership 'ignore'"
          : undefined,
      });
    }
  }

  async #xattrs(entry: TarEntry, path: string): Promise<void> {
    for (const [name, value] of entry.xattrs) {
      if (OVERLAY_XATTR.test(name)) {
        this.#skip(entry, 'overlay metadata from a layer is not applied', name);
        continue;
      }
      try {
        await this.#setXattr(path, name, value);
        this.#result.xattrs++;
      } catch (error) {
        this.#skip(entry, `xattr not set: ${error instanceof Error ? error.message : String(error)}`, name);
      }
    }
  }

  async #times(path: string, mtime: number): Promise<void> {
    try {
      await lutimes(path, mtime, mtime);
    } catch (error) {
      throw fsError(error, 'set the times of', path);
    }
  }

  async finish(): Promise<ExtractResult> {
    await this.#tree.finish((path, mtime) => this.#times(path, mtime));
    this.#result.opaqueDirs = this.#whiteouts.opaqueDirs;
    this.#result.rootOpaque = this.#whiteouts.rootOpaque;
    return this.#result;
  }
}
