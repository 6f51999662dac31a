/**
 * Reading host files (/proc, /sys, /etc) and probing access. Part of src/engine/sys, the
 * only engine code that touches the host directly; everything above it gets plain data.
 */
import { access, chmod, constants, lstat, mkdir, readdir, readFile, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { errnoCode, TscError } from '../errors.ts';

/** The file's text, or undefined when it does not exist (or is not readable). */
export async function readTextIfExists(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8');
  } catch (error) {
    const code = errnoCode(error);
    if (code === 'ENOENT' || code === 'ENOTDIR' || code === 'EACCES' || code === 'EPERM') return undefined;
    throw error;
  }
}

export async function canAccess(path: string, mode: 'r' | 'w' | 'rw' | 'x'): Promise<boolean> {
  const bits = { r: constants.R_OK, w: constants.W_OK, rw: constants.R_OK | constants.W_OK, x: constants.X_OK }[mode];
  try {
    await access(path, bits);
    return true;
  } catch {
    return false;
  }
}

export interface FileFacts {
  mode: number;
  uid: number;
  gid: number;
  isCharacterDevice: boolean;
  isFile: boolean;
  isDirectory: boolean;
}

export async function statIfExists(path: string): Promise<FileFacts | undefined> {
  try {
    const s = await stat(path);
    return {
      mode: s.mode,
      uid: s.uid,
      gid: s.gid,
      isCharacterDevice: s.isCharacterDevice(),
      isFile: s.isFile(),
      isDirectory: s.isDirectory(),
    };
  } catch (error) {
    const code = errnoCode(error);
    if (code === 'ENOENT' || code === 'ENOTDIR' || code === 'EACCES') return undefined;
    throw error;
  }
}

/**
 * Makes sure `path` is a directory private to `uid` (mode 0700, owned by uid, not a
 * symlink), creating it (and its parents) if needed. Refuses a directory another user
 * could have planted, e.g. in /tmp.
 */
export async function ensurePrivateDir(path: string, uid: number): Promise<void> {
  await mkdir(path, { recursive: true, mode: 0o700 });
  const s = await lstat(path);
  if (!s.isDirectory()) throw new TscError('system', `${path} is not a directory`, { hint: `remove ${path} and try again` });
  if (s.uid !== uid) {
    throw new TscError('system', `${path} is owned by uid ${s.uid}, not by you (uid ${uid})`, {
      hint: `remove ${path}, or set TSC_RUNTIME_DIR to a directory of your own`,
    });
  }
  if ((s.mode & 0o077) !== 0) await chmod(path, 0o700);
}

/**
 * Removes a directory tree that may contain directories without permissions (overlayfs
 * creates its work/work directory with mode 0): such directories are made accessible to
 * their owner first. Missing paths are fine.
 */
export async function removeTree(path: string): Promise<void> {
  try {
    await rm(path, { recursive: true, force: true });
    return;
  } catch (error) {
    if (errnoCode(error) !== 'EACCES') throw error;
  }
  await openUp(path);
  await rm(path, { recursive: true, force: true });
}

async function openUp(dir: string): Promise<void> {
  await chmod(dir, 0o700).catch(() => undefined);
  let entries;
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch {
    return;
  }
  for (const entry of entries) {
    if (entry.isDirectory()) await openUp(join(dir, entry.name));
  }
}
