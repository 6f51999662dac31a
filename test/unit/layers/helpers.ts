/**
 * Shared by the layer tests: feeding archives in odd chunk sizes, snapshots of directory
 * trees (to prove nothing outside a target changed), and the xattr and mknod operations
 * Node lacks, done with python3 and mknod(1).
 */
import { execFile, execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { lstatSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { promisify } from 'node:util';
import type { Mknod, SetXattr } from '../../../src/engine/layers/extract.ts';
import { readTar, type TarEntry } from '../../../src/engine/layers/tar.ts';

const run = promisify(execFile);

/** Yields `data` in chunks of `size` bytes (1 exercises every boundary). */
export async function* chunked(data: Buffer, size: number): AsyncGenerator<Buffer> {
  for (let i = 0; i < data.length; i += size) yield data.subarray(i, i + size);
}

export interface ReadEntry extends Omit<TarEntry, 'body'> {
  content: Buffer;
}

/** All entries of an archive with their content. */
export async function readAll(data: Buffer | AsyncIterable<Uint8Array>, chunkSize = 4096): Promise<ReadEntry[]> {
  const source = Buffer.isBuffer(data) ? chunked(data, chunkSize) : data;
  const out: ReadEntry[] = [];
  for await (const entry of readTar(source)) {
    const parts: Buffer[] = [];
    for await (const chunk of entry.body) parts.push(chunk);
    const { body: _body, ...rest } = entry;
    out.push({ ...rest, content: Buffer.concat(parts) });
  }
  return out;
}

/** path -> a line describing type, mode, owner, mtime and content of everything under `dir` */
export function snapshot(dir: string): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (rel: string) => {
    const path = rel === '' ? dir : `${dir}/${rel}`;
    const s = lstatSync(path);
    let what: string;
    if (s.isSymbolicLink()) what = `link ${readlinkSync(path)}`;
    else if (s.isFile()) what = `file ${createHash('sha256').update(readFileSync(path)).digest('hex')}`;
    else if (s.isDirectory()) what = 'dir';
    else what = `special ${s.rdev}`;
    out.set(rel, `${what} mode=${(s.mode & 0o7777).toString(8)} ${s.uid}:${s.gid} mtime=${s.mtimeMs} nlink=${s.nlink}`);
    if (s.isDirectory()) for (const name of readdirSync(path).sort()) walk(rel === '' ? name : `${rel}/${name}`);
  };
  walk('');
  return out;
}

function hasCommand(file: string, args: string[]): boolean {
  try {
    execFileSync(file, args, { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

export const HAS_PYTHON = hasCommand('python3', ['-c', 'import os; os.setxattr; os.getxattr']);
export const HAS_GNU_TAR = (() => {
  try {
    return execFileSync('tar', ['--version'], { encoding: 'utf8' }).includes('GNU tar');
  } catch {
    return false;
  }
})();

const SET_XATTR = 'import os,sys; os.setxattr(sys.argv[1], sys.argv[2], bytes.fromhex(sys.argv[3]), follow_symlinks=False)';
const LIST_XATTRS = [
  'import os,sys,json',
  'p=sys.argv[1]',
  'print(json.dumps({n: os.getxattr(p, n, follow_symlinks=False).hex() for n in os.listxattr(p, follow_symlinks=False)}))',
].join('\n');

/** lsetxattr through python3; errors carry the errno name as `code`, like Node's. */
export const pythonSetXattr: SetXattr = async (path, name, value) => {
  try {
    await run('python3', ['-c', SET_XATTR, path, name, value.toString('hex')]);
  } catch (error) {
    const stderr = String((error as { stderr?: unknown }).stderr ?? '');
    const code = /\[Errno (\d+)\]/.exec(stderr)?.[1];
    const names: Record<string, string> = { '1': 'EPERM', '13': 'EACCES', '95': 'ENOTSUP', '61': 'ENODATA' };
    throw Object.assign(new Error(`setxattr ${name} on ${path} failed: ${stderr.trim().split('\n').at(-1)}`), { code: names[code ?? ''] ?? 'EIO' });
  }
};

export async function listXattrs(path: string): Promise<Map<string, Buffer>> {
  const { stdout } = await run('python3', ['-c', LIST_XATTRS, path]);
  return new Map(Object.entries(JSON.parse(stdout) as Record<string, string>).map(([k, v]) => [k, Buffer.from(v, 'hex')]));
}

/** mknod(1) / mkfifo(1); EPERM comes back as such. */
export const commandMknod: Mknod = async (path, kind, mode, major, minor) => {
  const octal = (mode & 0o7777).toString(8);
  try {
    if (kind === 'fifo') await run('mkfifo', ['-m', octal, path]);
    else await run('mknod', ['-m', octal, path, kind === 'char' ? 'c' : 'b', String(major), String(minor)]);
  } catch (error) {
    const stderr = String((error as { stderr?: unknown }).stderr ?? '');
    throw Object.assign(new Error(stderr.trim()), { code: /not permitted/i.test(stderr) ? 'EPERM' : 'EIO' });
  }
};
