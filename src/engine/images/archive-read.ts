/**
 * Reading an image archive (docker-archive or oci-archive, optionally gzip- or
 * zstd-compressed) in one streaming pass. Metadata files (manifest.json, index.json,
 * `*.json` configs, ...) and other small files are kept in memory, within a budget; every
 * other file streams into a content-store ingest, hashed while it is written, so nothing
 * large is held in memory and nothing reaches the content store before the caller has
 * checked it.
 *
 * Lifecycle: readArchive → look files up and verify them (require, blob, bytes, head) →
 * commit the ones wanted into the content store → discard() in a `finally`, which removes
 * every ingest that was not committed, so a failed load leaves no scratch files.
 *
 * Symbolic and hard links between entries (docker before 25 linked duplicate layers to
 * one `layer.tar`) are followed inside the archive only; nothing is resolved on disk.
 */
import { createHash } from 'node:crypto';
import { open, readFile, stat } from 'node:fs/promises';
import { posix } from 'node:path';
import type { ContentStore, Ingest } from '../content/store.ts';
import { errnoCode, TscError } from '../errors.ts';
import { decompressed } from '../layers/decompress.ts';
import { readTar } from '../layers/tar.ts';
import { parseDigest } from '../reference/digest.ts';

/**
 * Metadata files up to this size are kept in memory; so are other files up to SMALL_FILE
 * (many tiny files then do not each hold an open ingest); all of it within MEMORY_BUDGET.
 */
const MEMORY_LIMIT = 16 * 1024 * 1024;
const SMALL_FILE = 256 * 1024;
const MEMORY_BUDGET = 128 * 1024 * 1024;
const MAX_LINK_HOPS = 16;

export interface ArchiveFile {
  /** normalised path inside the archive */
  path: string;
  size: number;
  /** sha256 of the content */
  digest: string;
  /** the content, for small metadata files */
  bytes?: Buffer;
  /** the content being held in the content store's ingest area, for everything else */
  ingest?: Ingest;
  committed?: boolean;
}

/** `blobs/sha256/<hex>`: where OCI image layouts (and docker 25+ archives) keep a blob. */
export function blobPath(digest: string): string {
  const { algorithm, hex } = parseDigest(digest);
  return `blobs/${algorithm}/${hex}`;
}

/**
 * A path inside an archive as tar tools write it (`./a/b`, `/a/b`, `a//b/`) in one form
 * (`a/b`). Paths that climb out of the archive keep their leading `../` and match nothing.
 */
export function normaliseArchivePath(path: string): string {
  const normal = posix.normalize(`./${path}`).replace(/\/+$/, '');
  return normal === '.' ? '' : normal.replace(/^\.\//, '');
}

/** The archive path a link entry at `path` points to (symlinks are relative to their directory). */
export function linkTarget(path: string, linkname: string, kind: 'symlink' | 'hardlink'): string {
  if (kind === 'hardlink' || linkname.startsWith('/')) return normaliseArchivePath(linkname);
  return normaliseArchivePath(posix.join(posix.dirname(path), linkname));
}

/** Compressions docker can read but tsc cannot, told by the first bytes. */
export function unsupportedCompression(head: Uint8Array): 'xz' | 'bzip2' | undefined {
  if ([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00].every((b, i) => head[i] === b)) return 'xz';
  if (head[0] === 0x42 && head[1] === 0x5a && head[2] === 0x68) return 'bzip2';
  return undefined;
}

function isMetadataName(path: string): boolean {
  const base = posix.basename(path);
  return base.endsWith('.json') || ['oci-layout', 'repositories', 'json', 'VERSION'].includes(base);
}

export class ImageArchive {
  /** the file name (or `stdin`) messages use */
  readonly where: string;
  readonly #content: ContentStore;
  readonly #files = new Map<string, ArchiveFile>();
  readonly #links = new Map<string, string>();
  /** digests this archive put into the content store */
  readonly #committed = new Set<string>();
  #inMemory = 0;

  constructor(where: string, content: ContentStore) {
    this.where = where;
    this.#content = content;
  }

  get fileCount(): number {
    return this.#files.size;
  }

  /** The file at `path`, following links inside the archive. */
  get(path: string): ArchiveFile | undefined {
    let current = normaliseArchivePath(path);
    for (let hop = 0; hop <= MAX_LINK_HOPS; hop++) {
      const file = this.#files.get(current);
      if (file) return file;
      const next = this.#links.get(current);
      if (next === undefined) return undefined;
      current = next;
    }
    throw new TscError('invalid-content', `${path} in ${this.where} is a chain of more than ${MAX_LINK_HOPS} links`);
  }

  /** The file at `path`; `what` says what it is for the error when it is missing. */
  require(path: string, what: string): ArchiveFile {
    const file = this.get(path);
    if (!file) {
      throw new TscError('invalid-content', `${what} (${path}) is missing from ${this.where}`, {
        hint: 'the archive is incomplete or was not written by docker save, podman save or tsc save',
      });
    }
    // a file named like a blob must be that blob
    const named = /^blobs\/sha256\/([0-9a-f]{64})$/.exec(file.path);
    if (named && file.digest !== `sha256:${named[1]}`) throw this.#corrupt(file, `sha256:${named[1]}`);
    return file;
  }

  /** The blob with `digest` (at blobs/<alg>/<hex>), checked against the digest and, if given, the size. */
  blob(digest: string, what: string, size?: number): ArchiveFile {
    const file = this.require(blobPath(digest), `${what} ${digest}`);
    if (file.digest !== digest) throw this.#corrupt(file, digest);
    if (size !== undefined && file.size !== size) {
      throw new TscError('invalid-content', `${what} ${digest} in ${this.where} has ${file.size} bytes, but its descriptor says ${size}`);
    }
    return file;
  }

  /** The whole content of a (small) file. */
  async bytes(file: ArchiveFile, limit: number, what: string): Promise<Buffer> {
    if (file.size > limit) {
      throw new TscError('invalid-content', `${what} ${file.path} in ${this.where} is ${file.size} bytes, more than the ${limit} allowed`);
    }
    if (file.bytes) return file.bytes;
    return readFile(this.#pathOf(file));
  }

  /** The first `n` bytes of a file (to tell its compression). */
  async head(file: ArchiveFile, n: number): Promise<Buffer> {
    if (file.bytes) return file.bytes.subarray(0, n);
    const handle = await open(this.#pathOf(file), 'r');
    try {
      const buffer = Buffer.alloc(n);
      const { bytesRead } = await handle.read(buffer, 0, n, 0);
      return buffer.subarray(0, bytesRead);
    } finally {
      await handle.close();
    }
  }

  /** Puts the file into the content store under its digest (once; a blob already there is kept). */
  async commit(file: ArchiveFile): Promise<void> {
    if (this.#committed.has(file.digest)) return;
    if (file.bytes) {
      await this.#content.put(file.bytes, { digest: file.digest, size: file.size });
    } else if (!(await this.#content.has(file.digest))) {
      await file.ingest!.commit({ digest: file.digest, size: file.size });
      file.committed = true;
    }
    this.#committed.add(file.digest);
  }

  /** Removes every ingest that was not committed. Safe to call more than once. */
  async discard(): Promise<void> {
    const pending = [...this.#files.values()].filter((f) => f.ingest && !f.committed);
    await Promise.all(pending.map((f) => f.ingest!.abort()));
  }

  async add(path: string, size: number, body: AsyncIterable<Buffer>): Promise<void> {
    const previous = this.#files.get(path);
    if (previous?.ingest && !previous.committed) await previous.ingest.abort();
    this.#links.delete(path);
    if (size <= (isMetadataName(path) ? MEMORY_LIMIT : SMALL_FILE) && this.#inMemory + size <= MEMORY_BUDGET) {
      this.#inMemory += size;
      const parts: Buffer[] = [];
      for await (const chunk of body) parts.push(Buffer.from(chunk));
      const bytes = Buffer.concat(parts);
      this.#files.set(path, { path, size: bytes.length, digest: `sha256:${createHash('sha256').update(bytes).digest('hex')}`, bytes });
      return;
    }
    const ingest = await this.#content.ingest();
    const file: ArchiveFile = { path, size: 0, digest: '', ingest };
    this.#files.set(path, file);
    for await (const chunk of body) await ingest.write(chunk);
    file.size = ingest.offset;
    file.digest = ingest.digestSoFar();
  }

  async link(path: string, target: string): Promise<void> {
    const previous = this.#files.get(path);
    if (previous?.ingest && !previous.committed) await previous.ingest.abort();
    this.#files.delete(path);
    this.#links.set(path, target);
  }

  #pathOf(file: ArchiveFile): string {
    return file.committed || !file.ingest ? this.#content.blobPath(file.digest) : file.ingest.path;
  }

  #corrupt(file: ArchiveFile, expected: string): TscError {
    return new TscError('invalid-content', `${file.path} in ${this.where} is corrupt: its content hashes to ${file.digest}, not ${expected}`, {
      hint: 'the archive was damaged in transit or on disk; save or download it again',
    });
  }
}

/**
 * The (possibly compressed) bytes of `source`, refusing compressions tsc cannot read and
 * counting what went through (`onBytes`).
 */
export async function* sniffed(source: AsyncIterable<Uint8Array>, where: string, onBytes: (n: number) => void): AsyncGenerator<Buffer> {
  const head: Buffer[] = [];
  let length = 0;
  let checked = false;
  const check = (): Buffer => {
    checked = true;
    const first = Buffer.concat(head);
    const kind = unsupportedCompression(first);
    if (kind) {
      throw new TscError('unsupported', `${where} is ${kind}-compressed, which tsc cannot read`, {
        hint: `decompress it first (${kind === 'xz' ? 'xz -d' : 'bunzip2'}); tsc reads plain, gzip- and zstd-compressed tar archives`,
      });
    }
    return first;
  };
  for await (const chunk of source) {
    const buffer = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    onBytes(buffer.length);
    if (checked) {
      yield buffer;
      continue;
    }
    head.push(buffer);
    length += buffer.length;
    if (length >= 6) yield check();
  }
  if (!checked && length > 0) yield check();
}

/**
 * The errors of the tar reader and the decompressor speak of layers; for an archive they
 * are about the archive.
 */
export function asArchiveError(error: unknown, where: string): unknown {
  if (!(error instanceof TscError) || error.code !== 'invalid-content') return error;
  const match = /^(truncated|corrupt) layer: (.*)$/s.exec(error.message);
  if (!match) return error;
  if (match[1] === 'truncated' && match[2]!.endsWith('inside a tar header at byte 0')) {
    return new TscError('invalid-content', `${where} is not a tar archive: it is shorter than one tar header`, {
      hint: 'tsc reads tar archives (plain, gzip or zstd) as docker save, podman save and tsc save write them',
      cause: error,
    });
  }
  if (match[1] === 'truncated') {
    return new TscError('invalid-content', `truncated archive ${where}: ${match[2]}`, {
      hint: 'the archive is incomplete; save or download it again',
      cause: error,
    });
  }
  return new TscError('invalid-content', `${where} is not a valid tar archive: ${match[2]}`, {
    hint: 'tsc reads tar archives (plain, gzip or zstd) as docker save, podman save and tsc save write them',
    cause: error,
  });
}

/** Reads a whole archive; see the module comment for what happens to its files. */
export async function readArchive(source: AsyncIterable<Uint8Array>, content: ContentStore, where: string): Promise<ImageArchive> {
  const archive = new ImageArchive(where, content);
  let bytes = 0;
  try {
    for await (const entry of readTar(decompressed(sniffed(source, where, (n) => (bytes += n))))) {
      const path = normaliseArchivePath(entry.path);
      if (path === '' || path.startsWith('../')) continue;
      if (entry.type === 'symlink' || entry.type === 'hardlink') await archive.link(path, linkTarget(path, entry.linkname, entry.type));
      else if (entry.type === 'file') await archive.add(path, entry.size, entry.body);
    }
    if (bytes === 0) throw new TscError('invalid-content', `${where} is empty`, { hint: 'give an archive written by docker save, podman save or tsc save' });
  } catch (error) {
    await archive.discard();
    throw asArchiveError(error, where);
  }
  return archive;
}

/** The bytes of a file the user named (`tsc load -i`, `tsc import`), with the usual failures as clear errors. */
export async function openInputFile(path: string): Promise<AsyncIterable<Uint8Array>> {
  try {
    if ((await stat(path)).isDirectory()) {
      throw new TscError('invalid-argument', `${path} is a directory, not an archive`, { hint: 'give a tar file (image directories are not supported)' });
    }
    const handle = await open(path, 'r');
    return handle.createReadStream({ highWaterMark: 1 << 20 });
  } catch (error) {
    if (errnoCode(error) === 'ENOENT') throw new TscError('not-found', `no such file: ${path}`);
    if (errnoCode(error) === 'EACCES') throw new TscError('system', `cannot read ${path}: permission denied`);
    throw error;
  }
}
