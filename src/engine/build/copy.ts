/**
 * COPY and ADD as layer entries: the files a step copies become tar entries at their
 * destination paths, with the owners and modes the Dockerfile reference gives them (0:0
 * unless `--chown`, the source's mode unless `--chmod`, the source's mtime), so a COPY
 * needs no container: its layer is written directly. Sources are read from a tree of
 * layer directories (the build context is a one-layer tree filtered by .dockerignore; a
 * stage or image is its layers, topmost first).
 *
 * Destination rules (the reference's): a relative destination is below WORKDIR; a file
 * goes to DEST/NAME when DEST ends in `/` or is a directory already, else to DEST; a
 * directory's contents (not the directory itself) go into DEST; several sources (or a
 * wildcard) need a DEST ending in `/`. ADD also takes an http(s) URL (fetched by this
 * process, checked against `--checksum`). Directories the destination needs are created
 * (0755, owned by the --chown ids); existing ones are written with the attributes they have.
 */
import { createHash } from 'node:crypto';
import { createReadStream, lstatSync, type Stats } from 'node:fs';
import { open } from 'node:fs/promises';
import { join, posix } from 'node:path';
import { TscError } from '../errors.ts';
import { compressionOf, decompressed } from '../layers/decompress.ts';
import { planEntries, type FsNode } from '../layers/diff.ts';
import { walkMerged } from '../layers/merged.ts';
import { readTar } from '../layers/tar.ts';
import type { TarWriteEntry } from '../layers/tar-write.ts';
import type { AddInstruction, CopyInstruction } from './dockerfile/instruction-types.ts';
import { compilePattern, isIgnored, mayHaveExceptionsBelow, type IgnorePattern } from './ignore.ts';

export interface SourceTree {
  /** layer directories, topmost first */
  layers: readonly string[];
  /** the context's .dockerignore patterns */
  ignore?: readonly IgnorePattern[] | undefined;
  /** how the error names the tree: `build context` or `stage foo` */
  name: string;
}

export interface CopyPlan {
  instruction: CopyInstruction | AddInstruction;
  source: SourceTree;
  /** the stage's WORKDIR */
  workdir: string;
  chown: { uid: number; gid: number } | undefined;
  chmod: number | undefined;
  /** the layers the step writes on, topmost first */
  target: readonly string[];
  /** a host id of a file in the target layers, as the container sees it */
  containerUid: (hostId: number) => number;
  containerGid: (hostId: number) => number;
  now: number;
}

const noXattrs = async () => new Map<string, Buffer>();
const GLOB = /[*?[]/;

function stepError(plan: CopyPlan, message: string, hint?: string): TscError {
  return new TscError('invalid-argument', `${plan.instruction.kind} failed: ${message}`, { hint });
}

/** A path of the merged tree: its topmost copy, or undefined when absent or whited out. */
export function lookup(layers: readonly string[], rel: string): { host: string; stat: Stats } | undefined {
  for (const layer of layers) {
    const host = rel === '' ? layer : join(layer, rel);
    let s: Stats;
    try {
      s = lstatSync(host);
    } catch {
      const base = posix.basename(rel);
      try {
        lstatSync(join(layer, posix.dirname(rel), `.wh.${base}`));
        return undefined;
      } catch {
        continue;
      }
    }
    if (s.isCharacterDevice() && s.rdev === 0) return undefined;
    return { host, stat: s };
  }
  return undefined;
}

/**
 * Whether the context shows `rel`: not excluded, or an excluded directory an exception
 * re-includes something below (docker's context then holds the directory too).
 */
function visible(tree: SourceTree, rel: string, isDir: boolean): boolean {
  if (!tree.ignore || rel === '' || !isIgnored(tree.ignore, rel)) return true;
  return isDir && mayHaveExceptionsBelow(tree.ignore, rel);
}

function isDirIn(tree: SourceTree, rel: string): boolean {
  return lookup(tree.layers, rel)?.stat.isDirectory() ?? false;
}

/** The source paths (relative to the tree) a COPY source names: itself, or what its wildcard matches. */
async function matches(plan: CopyPlan, pattern: string): Promise<string[]> {
  const cleaned = posix.normalize(`/${pattern}`).slice(1).replace(/\/+$/, '');
  if (!GLOB.test(cleaned)) {
    if (!lookup(plan.source.layers, cleaned) || !visible(plan.source, cleaned, isDirIn(plan.source, cleaned))) {
      throw stepError(plan, `${pattern}: not found in the ${plan.source.name}${plan.source.ignore ? ' (or excluded by .dockerignore)' : ''}`, 'check the path; sources are relative to the context root');
    }
    return [cleaned];
  }
  const regex = compilePattern(cleaned);
  const depth = cleaned.split('/').length;
  const found: string[] = [];
  for await (const { node } of walkMerged(plan.source.layers, noXattrs)) {
    if (node.path.split('/').length !== depth) continue;
    if (regex.test(node.path) && visible(plan.source, node.path, node.type === 'directory')) found.push(node.path);
  }
  if (found.length === 0) throw stepError(plan, `no source files match ${pattern} in the ${plan.source.name}`);
  return found;
}

function isUrl(text: string): boolean {
  return /^[a-z][a-z0-9+.-]*:\/\//i.test(text);
}

async function isTarArchive(host: string): Promise<boolean> {
  const file = await open(host, 'r');
  try {
    const head = Buffer.alloc(512);
    const { bytesRead } = await file.read(head, 0, 512, 0);
    if (bytesRead < 4) return false;
    if (compressionOf(head) !== 'none') return true;
    return bytesRead === 512 && head.toString('latin1', 257, 262) === 'ustar';
  } finally {
    await file.close();
  }
}

/** The entries of the step's layer, in order: the destination's directories first. */
export async function* copyEntries(plan: CopyPlan): AsyncGenerator<TarWriteEntry> {
  const instr = plan.instruction;
  const destText = instr.dest;
  const destAbs = posix.resolve(plan.workdir || '/', destText);
  const destRel = destAbs.slice(1);
  const destIsDirSyntax = destText.endsWith('/') || destText === '.' || destText.endsWith('/.');
  const existingDest = destRel === '' ? { stat: { isDirectory: () => true } } : lookup(plan.target, destRel);
  const destIsDir = destIsDirSyntax || (existingDest?.stat.isDirectory() ?? false);

  type Source = { kind: 'node'; rel: string; dir: boolean } | { kind: 'heredoc'; name: string; content: string } | { kind: 'url'; url: string };
  const sources: Source[] = [];
  let wildcard = false;
  for (const source of instr.sources) {
    if (source.kind === 'heredoc') {
      sources.push({ kind: 'heredoc', name: source.name, content: source.content });
      continue;
    }
    if (isUrl(source.path)) {
      if (instr.kind !== 'ADD') throw stepError(plan, `${source.path}: COPY cannot fetch a URL`, 'use ADD');
      if (!/^https?:\/\//i.test(source.path)) throw stepError(plan, `${source.path}: only http and https URLs can be added`, 'download it in a RUN step');
      sources.push({ kind: 'url', url: source.path });
      continue;
    }
    if (GLOB.test(source.path)) wildcard = true;
    for (const rel of await matches(plan, source.path)) {
      const found = lookup(plan.source.layers, rel)!;
      sources.push({ kind: 'node', rel, dir: found.stat.isDirectory() });
    }
  }
  if (instr.kind === 'ADD' && instr.checksum !== null && sources.some((source) => source.kind !== 'url')) {
    throw stepError(plan, '--checksum applies to URLs only');
  }
  if ((sources.length > 1 || wildcard) && !destIsDirSyntax && !(existingDest?.stat.isDirectory() ?? false)) {
    throw stepError(plan, `with more than one source file, the destination must be a directory and end with a /: ${destText}`);
  }
  const owner = plan.chown ?? { uid: 0, gid: 0 };
  const emitted = new Set<string>();

  /** A directory entry for `rel` and every directory above it (existing ones as they are). */
  const directories = function* (rel: string): Generator<TarWriteEntry> {
    const parts = rel === '' ? [] : rel.split('/');
    for (let i = 1; i <= parts.length; i++) {
      const path = parts.slice(0, i).join('/');
      if (emitted.has(path)) continue;
      emitted.add(path);
      const existing = lookup(plan.target, path);
      if (existing?.stat.isDirectory()) {
        const s = existing.stat;
        yield { path: `${path}/`, type: 'directory', mode: s.mode & 0o7777, uid: plan.containerUid(s.uid), gid: plan.containerGid(s.gid), mtime: Math.floor(s.mtimeMs / 1000) };
      } else {
        yield { path: `${path}/`, type: 'directory', mode: 0o755, uid: owner.uid, gid: owner.gid, mtime: plan.now };
      }
    }
  };
  const adjust = (entry: TarWriteEntry): TarWriteEntry => {
    const mode = plan.chmod !== undefined && entry.type !== 'symlink' ? plan.chmod : entry.mode;
    return { ...entry, uid: owner.uid, gid: owner.gid, ...(mode !== undefined ? { mode } : {}) };
  };

  for (const source of sources) {
    if (source.kind === 'url') {
      const fetched = await download(plan, source.url);
      const path = destIsDir ? posix.join(destRel, fetched.name) : destRel;
      yield* directories(posix.dirname(path) === '.' ? '' : posix.dirname(path));
      yield adjust({ path, type: 'file', mode: 0o600, mtime: fetched.mtime, body: fetched.bytes });
      continue;
    }
    if (source.kind === 'heredoc') {
      const path = destIsDir ? posix.join(destRel, source.name) : destRel;
      yield* directories(posix.dirname(path) === '.' ? '' : posix.dirname(path));
      yield adjust({ path, type: 'file', mode: 0o644, mtime: plan.now, body: source.content });
      continue;
    }
    const found = lookup(plan.source.layers, source.rel)!;
    if (!source.dir) {
      const base = posix.basename(source.rel);
      if (instr.kind === 'ADD' && found.stat.isFile() && (await isTarArchive(found.host))) {
        yield* directories(destRel);
        yield* extracted(found.host, destRel, directories, emitted);
        continue;
      }
      const path = destIsDir ? posix.join(destRel, base) : destRel;
      yield* directories(posix.dirname(path) === '.' ? '' : posix.dirname(path));
      yield* nodeEntries(plan, source.rel, path, adjust);
      continue;
    }
    yield* directories(destRel);
    for await (const { node } of walkMerged(plan.source.layers, noXattrs, source.rel)) {
      if (!visible(plan.source, node.path, node.type === 'directory')) continue;
      const below = node.path.slice(source.rel === '' ? 0 : source.rel.length + 1);
      const path = destRel === '' ? below : `${destRel}/${below}`;
      if (node.type === 'directory') emitted.add(path);
      yield* nodeEntries(plan, node.path, path, adjust, node);
    }
  }
}

async function* nodeEntries(plan: CopyPlan, rel: string, path: string, adjust: (e: TarWriteEntry) => TarWriteEntry, known?: FsNode): AsyncGenerator<TarWriteEntry> {
  const found = lookup(plan.source.layers, rel)!;
  const s = found.stat;
  const node: FsNode = known ?? {
    path: rel, type: s.isDirectory() ? 'directory' : s.isSymbolicLink() ? 'symlink' : s.isFile() ? 'file' : 'socket',
    mode: s.mode & 0o7777, uid: 0, gid: 0, mtime: Math.floor(s.mtimeMs / 1000), size: s.size, rdevMajor: 0, rdevMinor: 0, nlink: 1, inode: '', xattrs: new Map(),
  };
  if (node.type === 'symlink' && node.linkTarget === undefined) {
    const { readlinkSync } = await import('node:fs');
    node.linkTarget = readlinkSync(found.host);
  }
  for (const entry of planEntries({ ...node, path, nlink: 1, xattrs: new Map() }, new Map())) {
    if (entry.path.endsWith('/.wh..wh..opq')) continue;
    const { source, ...rest } = entry;
    const body = source === undefined ? undefined : createReadStream(found.host);
    yield adjust({ ...rest, ...(body ? { body } : {}) });
  }
}

/** ADD of a local tar archive: its entries below `destRel`, with their own owners and modes. */
async function* extracted(host: string, destRel: string, directories: (rel: string) => Generator<TarWriteEntry>, emitted: Set<string>): AsyncGenerator<TarWriteEntry> {
  for await (const entry of readTar(decompressed(createReadStream(host)))) {
    const cleaned = posix.normalize(`/${entry.path}`).slice(1).replace(/\/+$/, '');
    if (cleaned === '' || entry.type === 'unsupported') {
      for await (const chunk of entry.body) void chunk;
      continue;
    }
    const path = destRel === '' ? cleaned : `${destRel}/${cleaned}`;
    const parent = posix.dirname(path);
    yield* directories(parent === '.' ? '' : parent);
    const chunks: Buffer[] = [];
    for await (const chunk of entry.body) chunks.push(chunk);
    if (entry.type === 'directory') emitted.add(path);
    const linkname = entry.type === 'hardlink' ? posix.join(destRel, posix.normalize(`/${entry.linkname}`).slice(1)) : entry.linkname;
    yield {
      path: entry.type === 'directory' ? `${path}/` : path,
      type: entry.type,
      mode: entry.mode, uid: entry.uid, gid: entry.gid, mtime: Math.floor(entry.mtime),
      linkname, devmajor: entry.devmajor, devminor: entry.devminor,
      ...(entry.xattrs.size > 0 ? { xattrs: entry.xattrs } : {}),
      ...(entry.type === 'file' ? { body: Buffer.concat(chunks) } : {}),
    };
  }
}

/**
 * ADD of a URL, as docker does it: the file as served (not unpacked), mode 0600, its time from
 * Last-Modified, named after the URL's last path component when the destination is a
 * directory; with --checksum the bytes must have that sha256 digest.
 */
async function download(plan: CopyPlan, url: string): Promise<{ bytes: Buffer; name: string; mtime: number }> {
  const instr = plan.instruction;
  let response: Response;
  try {
    response = await fetch(url, { redirect: 'follow' });
  } catch (error) {
    throw stepError(plan, `cannot fetch ${url}: ${(error as Error).message}`);
  }
  if (!response.ok) throw stepError(plan, `cannot fetch ${url}: HTTP ${response.status} ${response.statusText}`);
  const bytes = Buffer.from(await response.arrayBuffer());
  if (instr.kind === 'ADD' && instr.checksum !== null) {
    const digest = `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
    if (!/^sha256:[0-9a-f]{64}$/.test(instr.checksum)) throw stepError(plan, `--checksum=${instr.checksum}: expected sha256:<64 hex digits>`);
    if (digest !== instr.checksum) throw stepError(plan, `${url} has digest ${digest}, not the --checksum ${instr.checksum}`);
  }
  const name = decodeURIComponent(new URL(response.url || url).pathname.split('/').filter(Boolean).at(-1) ?? '');
  if (name === '' && (instr.dest.endsWith('/') || instr.dest === '.')) throw stepError(plan, `${url} has no file name; give the destination's`);
  const modified = Date.parse(response.headers.get('last-modified') ?? '');
  return { bytes, name: name || 'index.html', mtime: Number.isNaN(modified) ? plan.now : Math.floor(modified / 1000) };
}
