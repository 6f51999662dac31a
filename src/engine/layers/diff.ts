/**
 * The change a container made, as an OCI layer: its overlay upper directory turned into
 * tar entries. The upper dir is in overlayfs format (what layers/unpack writes too):
 * a deleted path is a 0:0 character device (a whiteout), a directory that replaced a lower
 * one is marked opaque by an xattr (`user.overlay.opaque` rootless with `userxattr`,
 * `trusted.overlay.opaque` as root, `user.fuseoverlayfs.opaque` under fuse-overlayfs).
 * In the layer a whiteout becomes an empty `.wh.NAME` file and an opaque directory gets a
 * `.wh..wh..opq` entry; overlay's own xattrs are dropped, every other one is kept.
 *
 * `planEntries` is pure (one node in, its tar entries out) so the format rules are
 * table-tested; `walkTree` reads a directory in a fixed order (names sorted bytewise,
 * a directory before what it holds), so the same tree always gives the same tar and DiffID.
 * Rootless, the walk runs as root in the user namespace (internal op `diff-layer`), where
 * files owned by subordinate ids are readable and their owners read back as the ids the
 * container used.
 */
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream, type BigIntStats } from 'node:fs';
import { lstat, readdir, readlink } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import { OPAQUE_MARKER, WHITEOUT_PREFIX } from './entry-paths.ts';
import { writeTar, type TarWriteEntry } from './tar-write.ts';

export type NodeType = 'file' | 'directory' | 'symlink' | 'char' | 'block' | 'fifo' | 'socket';

/** One file of a tree, as lstat and llistxattr see it. */
export interface FsNode {
  /** relative to the tree's root, `/`-separated, no leading or trailing slash */
  path: string;
  type: NodeType;
  /** permission bits with setuid/setgid/sticky */
  mode: number;
  uid: number;
  gid: number;
  /** whole seconds, as docker writes them */
  mtime: number;
  size: number;
  rdevMajor: number;
  rdevMinor: number;
  nlink: number;
  /** device and inode, to recognise hard links */
  inode: string;
  linkTarget?: string | undefined;
  xattrs: ReadonlyMap<string, Buffer>;
}

/** A tar entry whose body, if any, is read from `source` (a host path) when written. */
export type PlannedEntry = Omit<TarWriteEntry, 'body'> & { source?: string | undefined };

const OVERLAY_XATTR = /^(?:trusted|user)\.(?:overlay|fuseoverlayfs)\./;
const OPAQUE_XATTRS = ['user.overlay.opaque', 'trusted.overlay.opaque', 'user.fuseoverlayfs.opaque'];

/** xattrs of overlayfs (and fuse-overlayfs) itself: never part of a layer. */
export function isOverlayXattr(name: string): boolean {
  return OVERLAY_XATTR.test(name);
}

/** A 0:0 character device: overlayfs's mark for a deleted path. */
export function isWhiteout(node: Pick<FsNode, 'type' | 'rdevMajor' | 'rdevMinor'>): boolean {
  return node.type === 'char' && node.rdevMajor === 0 && node.rdevMinor === 0;
}

/** A directory that hides everything below it in the lower layers. */
export function isOpaque(node: Pick<FsNode, 'type' | 'xattrs'>): boolean {
  if (node.type !== 'directory') return false;
  return OPAQUE_XATTRS.some((name) => node.xattrs.get(name)?.toString('latin1') === 'y');
}

function split(path: string): [dir: string, base: string] {
  const slash = path.lastIndexOf('/');
  return slash < 0 ? ['', path] : [path.slice(0, slash), path.slice(slash + 1)];
}

function keptXattrs(xattrs: ReadonlyMap<string, Buffer>): Map<string, Buffer> | undefined {
  const kept = [...xattrs].filter(([name]) => !isOverlayXattr(name)).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return kept.length > 0 ? new Map(kept) : undefined;
}

/**
 * The tar entries of one node of an upper dir. `links` remembers the first path of each
 * inode with several links (the caller keeps it across the walk): later paths of the same
 * file become hard links to it.
 */
export function planEntries(node: FsNode, links: Map<string, string>): PlannedEntry[] {
  const [dir, base] = split(node.path);
  if (isWhiteout(node)) {
    return [{ path: dir ? `${dir}/${WHITEOUT_PREFIX}${base}` : `${WHITEOUT_PREFIX}${base}`, type: 'file', mode: 0o644, uid: 0, gid: 0, mtime: node.mtime, size: 0 }];
  }
  const xattrs = keptXattrs(node.xattrs);
  const common = { mode: node.mode & 0o7777, uid: node.uid, gid: node.gid, mtime: node.mtime, ...(xattrs ? { xattrs } : {}) };
  switch (node.type) {
    case 'directory': {
      const entries: PlannedEntry[] = [{ path: `${node.path}/`, type: 'directory', ...common }];
      if (isOpaque(node)) entries.push({ path: `${node.path}/${OPAQUE_MARKER}`, type: 'file', mode: 0o644, uid: 0, gid: 0, mtime: node.mtime, size: 0 });
      return entries;
    }
    case 'file': {
      if (node.nlink > 1) {
        const first = links.get(node.inode);
        if (first !== undefined) return [{ path: node.path, type: 'hardlink', linkname: first, ...common }];
        links.set(node.inode, node.path);
      }
      return [{ path: node.path, type: 'file', size: node.size, source: '', ...common }];
    }
    case 'symlink':
      return [{ path: node.path, type: 'symlink', linkname: node.linkTarget ?? '', ...common }];
    case 'char':
    case 'block':
      return [{ path: node.path, type: node.type === 'char' ? 'char-device' : 'block-device', devmajor: node.rdevMajor, devminor: node.rdevMinor, ...common }];
    case 'fifo':
      return [{ path: node.path, type: 'fifo', ...common }];
    case 'socket':
      return []; // a tar cannot hold a socket; docker skips them too
  }
}

/** Reads a node's xattr names and values; `undefined` when the platform cannot. */
export type XattrReader = (path: string) => Promise<Map<string, Buffer>>;

function typeOf(s: BigIntStats): NodeType {
  if (s.isFile()) return 'file';
  if (s.isDirectory()) return 'directory';
  if (s.isSymbolicLink()) return 'symlink';
  if (s.isCharacterDevice()) return 'char';
  if (s.isBlockDevice()) return 'block';
  if (s.isFIFO()) return 'fifo';
  return 'socket';
}

/** One node of `root` (`rel` below it; '' is the root itself). */
export async function readNode(root: string, rel: string, readXattrs: XattrReader): Promise<FsNode> {
  const host = rel === '' ? root : join(root, rel);
  const s = await lstat(host, { bigint: true });
  const type = typeOf(s);
  const rdev = Number(s.rdev);
  return {
    path: rel,
    type,
    mode: Number(s.mode) & 0o7777,
    uid: Number(s.uid),
    gid: Number(s.gid),
    mtime: Number(s.mtimeNs / 1_000_000_000n),
    size: type === 'file' ? Number(s.size) : 0,
    // Linux's new_encode_dev layout
    rdevMajor: (rdev >>> 8) & 0xfff,
    rdevMinor: (rdev & 0xff) | ((rdev >>> 12) & 0xfff00),
    nlink: Number(s.nlink),
    inode: `${s.dev}:${s.ino}`,
    linkTarget: type === 'symlink' ? await readlink(host) : undefined,
    xattrs: type === 'symlink' || type === 'socket' ? new Map() : await readXattrs(host),
  };
}

function byteOrder(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a), Buffer.from(b));
}

/** Every node below `root` (not the root itself): names in byte order, a directory before its contents. */
export async function* walkTree(root: string, readXattrs: XattrReader, rel = ''): AsyncGenerator<FsNode> {
  const names = (await readdir(rel === '' ? root : join(root, rel))).sort(byteOrder);
  for (const name of names) {
    const path = rel === '' ? name : `${rel}/${name}`;
    const node = await readNode(root, path, readXattrs);
    yield node;
    if (node.type === 'directory') yield* walkTree(root, readXattrs, path);
  }
}

/**
 * Files the runtime creates in the upper dir only as mount points for the container's
 * network files (when the image lacks them): empty, and never the container's change.
 */
export const RUNTIME_MOUNT_POINTS: readonly string[] = ['etc/hostname', 'etc/hosts', 'etc/resolv.conf'];
const MOUNT_POINTS = new Set(RUNTIME_MOUNT_POINTS);

/** A mount point the runtime made, not a change of the container. */
export function isRuntimeMountPoint(node: Pick<FsNode, 'path' | 'type' | 'size'>): boolean {
  return node.type === 'file' && node.size === 0 && MOUNT_POINTS.has(node.path);
}

/** The tar entries of an upper dir, with file bodies streamed from it. */
export async function* upperEntries(upper: string, readXattrs: XattrReader): AsyncGenerator<TarWriteEntry> {
  const links = new Map<string, string>();
  for await (const node of walkTree(upper, readXattrs)) {
    if (isRuntimeMountPoint(node)) continue;
    for (const entry of planEntries(node, links)) yield withBody(entry, join(upper, node.path));
  }
}

/** A planned entry with its body opened (a regular file's `source`, or `host` when that is ''). */
export function withBody(entry: PlannedEntry, host: string): TarWriteEntry {
  const { source, ...rest } = entry;
  if (source === undefined || rest.type !== 'file') return rest;
  return { ...rest, body: createReadStream(source || host, { highWaterMark: 1 << 20 }) };
}

export interface WrittenLayer {
  /** sha256 of the uncompressed tar */
  diffId: string;
  /** sha256 of the gzip blob */
  digest: string;
  size: number;
}

/** Writes `entries` as a gzip-compressed layer to `file`, hashing the tar and the blob on the way. */
export async function writeLayerFile(entries: AsyncIterable<TarWriteEntry> | Iterable<TarWriteEntry>, file: string): Promise<WrittenLayer> {
  const tarHash = createHash('sha256');
  const blobHash = createHash('sha256');
  let size = 0;
  const tar = Readable.from((async function* () {
    for await (const chunk of writeTar(entries)) {
      tarHash.update(chunk);
      yield chunk;
    }
  })());
  const count = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      blobHash.update(chunk);
      size += chunk.length;
      done(null, chunk);
    },
  });
  await pipeline(tar, createGzip({ level: 6 }), count, createWriteStream(file, { mode: 0o600 }));
  return { diffId: `sha256:${tarHash.digest('hex')}`, digest: `sha256:${blobHash.digest('hex')}`, size };
}
