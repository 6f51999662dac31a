/**
 * Applies a layer's entries onto a target directory: the layer's own directory (overlay
 * and fuse-overlayfs drivers) or a root file system holding the lower layers (vfs/copy
 * driver), with the whiteout format chosen by the caller (extract-types.ts).
 *
 * Security: no entry writes outside the target. Names are cleaned (entry-paths.ts); every
 * parent is known to be a directory, never followed when it is a symlink (tree.ts); files
 * are created with O_EXCL|O_NOFOLLOW after whatever was at their path is removed, so no
 * existing symlink or hardlink is written through; a hardlink must point at an existing
 * non-directory inside the target, reached without a symlink. An entry that cannot be
 * applied safely is left out and listed in the result's `skipped`; only a corrupt archive
 * or a failing file system throws.
 *
 * Metadata order per entry: create, chown, xattrs, chmod, times. chown clears setuid,
 * setgid and security.capability, so both come after it; a directory's mode and mtime are
 * set after all of its content (tree.finish).
 *
 * Speed: the file system calls are synchronous (tree.ts says why). xattrs and device nodes
 * need the helper (a round trip each): xattrs are pipelined (in-flight.ts), a file's chmod
 * and times waiting on its open descriptor until its xattrs are set; mknod, needed only by
 * device entries and whiteouts, is awaited.
 */
import {
  chmodSync, closeSync, constants, fchmodSync, fchownSync, futimesSync, lchownSync, linkSync, lutimesSync, openSync, symlinkSync, writeSync,
} from 'node:fs';
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
import { InFlight } from './in-flight.ts';
import { readTar, type TarEntry, type TarSource } from './tar.ts';
import { quote } from './tar-format.ts';
import { fsError, kindOf, LayerTree, lstatOrUndefined, openTarget, type NodeKind } from './tree.ts';
import { isPermissionError, Whiteouts } from './whiteouts.ts';

export type { ExtractOptions, ExtractResult, SkippedEntry, WhiteoutFormat, SetXattr, Mknod, DeviceKind } from './extract-types.ts';

/** xattrs that would let a layer plant overlayfs metadata (whiteouts, redirects) in the mount */
const OVERLAY_XATTR = /^(trusted|user)\.overlay\.|^user\.fuseoverlayfs\./;

/** (uid_t)-1 means "unchanged" to chown, so the largest id is one below it */
const MAX_ID = 2 ** 32 - 2;

const CREATE_FILE = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW;

/** entries waiting for the helper at once (each file among them holds its descriptor open) */
const MAX_IN_FLIGHT = 64;

/** Reads the tar stream `input` (decompressed: see decompress.ts) and applies it onto `target`. */
export async function extractLayer(input: TarSource, target: string, options: ExtractOptions): Promise<ExtractResult> {
  return applyEntries(readTar(input), target, options);
}

/** Applies tar entries onto `target` (an existing directory). */
export async function applyEntries(entries: AsyncIterable<TarEntry>, target: string, options: ExtractOptions): Promise<ExtractResult> {
  const { root, empty } = openTarget(target, options.freshTarget === true);
  const extractor = new Extractor(root, empty, options);
  for await (const entry of entries) await extractor.apply(entry);
  return extractor.finish();
}

class Extractor {
  readonly #tree: LayerTree;
  readonly #options: ExtractOptions;
  readonly #setXattr: SetXattr;
  readonly #mknod: Mknod;
  readonly #whiteouts: Whiteouts;
  readonly #inFlight = new InFlight();
  /** skipped entries by the order their reasons arose in the archive (xattr replies come later) */
  readonly #skipped: { seq: number; item: SkippedEntry }[] = [];
  #seq = 0;
  readonly #result: ExtractResult = {
    entries: 0, files: 0, directories: 0, symlinks: 0, hardlinks: 0, devices: 0,
    whiteouts: 0, opaqueDirs: 0, xattrs: 0, bytes: 0, rootOpaque: false, skipped: [],
  };

  constructor(root: string, empty: boolean, options: ExtractOptions) {
    this.#tree = new LayerTree(root, empty);
    this.#tree.beforeRemove = () => this.#inFlight.drain();
    this.#options = options;
    this.#setXattr = options.setXattr ?? unsupportedXattrs;
    this.#mknod = options.mknod ?? unsupportedMknod;
    this.#whiteouts = new Whiteouts(this.#tree, options, this.#setXattr, this.#mknod);
  }

  #skip(entry: TarEntry, reason: string, xattr?: string, seq = this.#seq++): void {
    const item: SkippedEntry = { path: entry.path, action: 'skipped', reason };
    if (xattr !== undefined) item.xattr = xattr;
    this.#skipped.push({ seq, item });
  }

  async apply(entry: TarEntry): Promise<void> {
    this.#result.entries++;
    try {
      await this.#apply(entry);
    } catch (error) {
      // a name the file system cannot hold is the layer's problem, not the host's
      const code = errnoCode(error instanceof TscError ? error.cause : error);
      if (code !== 'ENAMETOOLONG') throw error;
      this.#tree.forgetKnown(); // whatever failed may have been half done
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

    let linkTarget: { path: string; kind: NodeKind } | undefined;
    if (entry.type === 'hardlink') {
      linkTarget = await this.#hardlinkTarget(entry, rel);
      if (linkTarget === undefined) return;
    }
    if (entry.type === 'symlink' && entry.linkname === '') return this.#skip(entry, 'the symlink has no target');

    const existing = tree.kindAt(rel);
    const wasMarker = tree.markers.has(rel);
    const merge = existing === 'directory' && entry.type === 'directory';
    if (merge) await this.#inFlight.drain(); // its metadata changes after what is pending for it
    else if (existing !== undefined) {
      if (wasMarker) await tree.unlinkMarker(rel);
      else await tree.remove(rel);
    }
    await this.#create(entry, rel, tree.abs(rel), merge, linkTarget);
    if (wasMarker && entry.type === 'directory') await this.#whiteouts.opaque(components);
    if (this.#inFlight.size >= MAX_IN_FLIGHT) await this.#inFlight.drain();
  }

  async #create(entry: TarEntry, rel: string, path: string, merge: boolean, linkTarget: { path: string; kind: NodeKind } | undefined): Promise<void> {
    const tree = this.#tree;
    switch (entry.type) {
      case 'file':
        await this.#writeFile(entry, rel, path);
        this.#result.files++;
        break;
      case 'directory': {
        const ino = merge ? lstatOrUndefined(path)?.ino ?? -1 : tree.mkdir(rel, 0o700);
        this.#chown(entry, path, (uid, gid) => lchownSync(path, uid, gid));
        this.#pipeline(this.#xattrs(entry, path));
        tree.deferDirectory(rel, entry.mode, entry.mtime, ino);
        this.#result.directories++;
        break;
      }
      case 'symlink':
        try {
          symlinkSync(entry.linkname, path);
        } catch (error) {
          throw fsError(error, 'create the symlink', path);
        }
        tree.record(rel, 'symlink');
        this.#chown(entry, path, (uid, gid) => lchownSync(path, uid, gid));
        await this.#xattrs(entry, path);
        this.#times(path, entry.mtime);
        this.#result.symlinks++;
        break;
      case 'hardlink':
        // the link shares its target's inode, whose metadata came with the target's entry
        try {
          linkSync(linkTarget!.path, path);
        } catch (error) {
          throw fsError(error, 'create the hardlink', path);
        }
        tree.record(rel, linkTarget!.kind as Exclude<NodeKind, 'directory'>);
        this.#result.hardlinks++;
        break;
      default:
        if (!(await this.#device(entry, rel, path))) return;
    }
    tree.noteCreated(rel);
  }

  async #applyRoot(entry: TarEntry): Promise<void> {
    if (entry.type !== 'directory') return this.#skip(entry, `the layer root cannot be a ${entry.type}`);
    const path = this.#tree.root;
    await this.#inFlight.drain();
    this.#chown(entry, path, (uid, gid) => lchownSync(path, uid, gid));
    this.#pipeline(this.#xattrs(entry, path));
    this.#tree.deferDirectory('', entry.mode, entry.mtime, lstatOrUndefined(path)?.ino ?? -1);
    this.#result.directories++;
  }

  /** A hardlink's target, or undefined (and a skip) when it is unsafe. */
  async #hardlinkTarget(entry: TarEntry, rel: string): Promise<{ path: string; kind: NodeKind } | undefined> {
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
    const kind = walk.ok ? this.#tree.kindAt(targetRel) : undefined;
    if (!walk.ok || kind === undefined || this.#tree.markers.has(targetRel)) {
      this.#skip(entry, `the hardlink target ${targetRel} is not in the layer${walk.ok ? '' : ` (${walk.reason})`}`);
      return undefined;
    }
    if (kind === 'directory') {
      this.#skip(entry, `the hardlink target ${targetRel} is a directory`);
      return undefined;
    }
    return { path: this.#tree.abs(targetRel), kind };
  }

  async #writeFile(entry: TarEntry, rel: string, path: string): Promise<void> {
    let fd: number;
    try {
      fd = openSync(path, CREATE_FILE, 0o600);
    } catch (error) {
      throw fsError(error, 'create', path);
    }
    this.#tree.record(rel, 'file');
    let closeLater = false;
    try {
      for await (const chunk of entry.body) {
        for (let offset = 0; offset < chunk.length;) offset += writeSync(fd, chunk, offset);
        this.#result.bytes += chunk.length;
      }
      this.#chown(entry, path, (uid, gid) => fchownSync(fd, uid, gid));
      const finish = () => {
        fchmodSync(fd, entry.mode);
        futimesSync(fd, entry.mtime, entry.mtime);
      };
      const xattrs = this.#xattrs(entry, path);
      if (xattrs === undefined) finish();
      else {
        closeLater = true;
        this.#inFlight.add(xattrs.then(finish).catch((error: unknown) => {
          throw fsError(error, 'write', path);
        }).finally(() => closeSync(fd)));
      }
    } catch (error) {
      if (error instanceof TscError) throw error;
      throw fsError(error, 'write', path);
    } finally {
      if (!closeLater) closeSync(fd);
    }
  }

  /** Creates a device node or fifo; false (and a skip) when this host does not let us. */
  async #device(entry: TarEntry, rel: string, path: string): Promise<boolean> {
    const kind = entry.type === 'fifo' ? 'fifo' : entry.type === 'block-device' ? 'block' : 'char';
    try {
      await this.#mknod(path, kind, entry.mode, entry.devmajor, entry.devminor);
    } catch (error) {
      if (!isPermissionError(error)) throw fsError(error, `create the ${entry.type}`, path);
      const what = kind === 'fifo' ? 'fifo' : `${entry.type} ${entry.devmajor}:${entry.devminor}`;
      this.#skip(entry, `${what} not created: ${error instanceof Error ? error.message : String(error)}`);
      return false;
    }
    const stats = lstatOrUndefined(path);
    if (stats === undefined || stats.isSymbolicLink() || stats.isDirectory() || stats.isFile()) {
      throw new TscError('internal', `mknod left ${stats === undefined ? 'nothing' : `a ${kindOf(stats)}`} at ${path}`);
    }
    this.#tree.record(rel, 'special file');
    this.#chown(entry, path, (uid, gid) => lchownSync(path, uid, gid));
    await this.#xattrs(entry, path);
    try {
      chmodSync(path, entry.mode);
    } catch (error) {
      throw fsError(error, 'set the mode of', path);
    }
    this.#times(path, entry.mtime);
    this.#result.devices++;
    return true;
  }

  #chown(entry: TarEntry, path: string, chown: (uid: number, gid: number) => void): void {
    if (this.#options.ownership !== 'keep') return;
    for (const [name, id] of [['uid', entry.uid], ['gid', entry.gid]] as const) {
      if (id < 0 || id > MAX_ID) throw new TscError('invalid-content', `corrupt layer: the ${name} ${id} of ${quote(entry.path)} is out of range`);
    }
    try {
      chown(entry.uid, entry.gid);
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

  /**
   * Sends the entry's xattrs to the helper, all at once; resolves (never rejects) when all
   * are answered, or is undefined when none was sent. A refused one is listed as skipped.
   */
  #xattrs(entry: TarEntry, path: string): Promise<void> | undefined {
    let sent: Promise<void>[] | undefined;
    for (const [name, value] of entry.xattrs) {
      const seq = this.#seq++;
      if (OVERLAY_XATTR.test(name)) {
        this.#skip(entry, 'overlay metadata from a layer is not applied', name, seq);
        continue;
      }
      const call = (async () => this.#setXattr(path, name, value))();
      (sent ??= []).push(call.then(
        () => void this.#result.xattrs++,
        (error: unknown) => this.#skip(entry, `xattr not set: ${error instanceof Error ? error.message : String(error)}`, name, seq),
      ));
    }
    return sent && Promise.all(sent).then(() => undefined);
  }

  /** Lets xattrs that nothing in this entry waits for (a directory's: its mode comes at the end) finish in the background. */
  #pipeline(xattrs: Promise<void> | undefined): void {
    if (xattrs !== undefined) this.#inFlight.add(xattrs);
  }

  #times(path: string, mtime: number): void {
    try {
      lutimesSync(path, mtime, mtime);
    } catch (error) {
      throw fsError(error, 'set the times of', path);
    }
  }

  async finish(): Promise<ExtractResult> {
    await this.#inFlight.drain();
    this.#tree.finish((path, mtime) => this.#times(path, mtime));
    this.#result.opaqueDirs = this.#whiteouts.opaqueDirs;
    this.#result.rootOpaque = this.#whiteouts.rootOpaque;
    this.#result.skipped = this.#skipped.sort((a, b) => a.seq - b.seq).map((s) => s.item);
    return this.#result;
  }
}
