/**
 * Options and result of applying a layer (extract.ts), and the two operations Node has no
 * API for, which the caller plugs in.
 */
import { TscError } from '../errors.ts';

/**
 * How the layer's whiteouts (`.wh.<name>`) and opaque markers (`.wh..wh..opq`) are
 * written:
 * - 'apply': the target is a root file system holding the lower layers (the vfs/copy
 *   driver); whited-out paths are deleted and an opaque directory loses the content it
 *   had before this layer.
 * - 'overlay': the target is the layer's own (empty) directory, used as an overlayfs
 *   lower layer; a whiteout is a 0:0 character device, an opaque directory carries the
 *   xattr `<ns>.overlay.opaque` = "y". Kernel overlayfs reads these with and without
 *   `userxattr`, and fuse-overlayfs reads them too. Creating a 0:0 device needs no
 *   privilege since Linux 5.8 (vfs_mknod exempts the whiteout device from CAP_MKNOD), but
 *   it needs mknod(2), which Node lacks: the `mknod` option.
 * - 'xattr-overlay': as 'overlay', but a whiteout is a zero-size regular file with the
 *   xattr `<ns>.overlay.whiteout`, and its directory carries `<ns>.overlay.opaque` = "x"
 *   (an "xwhiteout", Documentation/filesystems/overlayfs.rst; kernel 6.8 and later 6.7.y,
 *   the first 6.7 releases marked the directory with `overlay.whiteouts` instead). Needs
 *   only setxattr, so it also
 *   works where mknod is refused, and it nests (overlay.overlay.* escaping). The kernel
 *   honours xwhiteouts in lower layers only, and without the parent's "x" a readdir still
 *   lists the whited-out name; fuse-overlayfs ignores them.
 *
 * With `userxattr` (rootless mounts) the kernel reads user.overlay.* with the mounter's
 * credentials, which needs read permission on the file: markers are made mode 0644.
 * In both overlay formats an opaque marker on the layer's root directory cannot be
 * written (overlayfs never reads a layer root's opaque xattr); the result says
 * `rootOpaque` instead, and the mounter must leave the layers below out.
 */
export type WhiteoutFormat = 'apply' | 'overlay' | 'xattr-overlay';

export type DeviceKind = 'char' | 'block' | 'fifo';

/**
 * Sets one extended attribute on `path` without following a symlink there (lsetxattr).
 * Rejects with an errno-coded error (ENOTSUP, EPERM, ...) or a TscError.
 */
export type SetXattr = (path: string, name: string, value: Buffer) => Promise<void>;

/** Creates a device node or fifo at `path` (mknod(2)); must not follow or replace anything. */
export type Mknod = (path: string, kind: DeviceKind, mode: number, major: number, minor: number) => Promise<void>;

export interface ExtractOptions {
  format: WhiteoutFormat;
  /**
   * 'keep': give every entry the archived uid/gid (needs privilege, e.g. root in the
   * user namespace); failing to is an error. 'ignore': everything belongs to the caller.
   */
  ownership: 'keep' | 'ignore';
  /**
   * Namespace of the overlay xattrs in the overlay formats: 'user' for a mount with
   * `userxattr` (rootless), 'trusted' for a mount by real root. Default 'user'.
   */
  overlayXattrs?: 'user' | 'trusted';
  /**
   * The caller made the target for this layer alone (the overlay formats' own layer
   * directory): extraction refuses it unless it is empty. Whether set or not, when the
   * target starts empty nothing in it is looked up on disk: the extraction knows what it
   * made (known-paths.ts).
   */
  freshTarget?: boolean;
  /** default: reports xattrs as unsupported, so they are listed as skipped */
  setXattr?: SetXattr;
  /** default: reports device nodes as unsupported, so they are listed as skipped */
  mknod?: Mknod;
}

/** An entry (or one xattr of it) that was not applied, and why. */
export interface SkippedEntry {
  /** the path as archived */
  path: string;
  action: 'skipped';
  reason: string;
  /** set when only this extended attribute was skipped */
  xattr?: string;
}

export interface ExtractResult {
  /** entries read from the archive (PAX and GNU metadata headers not counted) */
  entries: number;
  files: number;
  directories: number;
  symlinks: number;
  hardlinks: number;
  /** device nodes and fifos created */
  devices: number;
  /** whiteouts applied (deletions in 'apply', markers in the overlay formats) */
  whiteouts: number;
  opaqueDirs: number;
  xattrs: number;
  /** bytes of file content written */
  bytes: number;
  /** the layer hides everything below it (an opaque marker on its root directory) */
  rootOpaque: boolean;
  skipped: SkippedEntry[];
}

export const unsupportedXattrs: SetXattr = async () => {
  throw new TscError('unsupported', 'extended attributes cannot be set yet');
};

export const unsupportedMknod: Mknod = async (_path, kind) => {
  throw new TscError('unsupported', `${kind === 'fifo' ? 'fifos' : 'device nodes'} cannot be created yet`);
};
