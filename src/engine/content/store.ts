/**
 * The content store: blobs (layers, configs, manifests) by digest in an OCI image layout
 * (`oci-layout`, `blobs/<alg>/<hex>`), so skopeo and umoci can read it.
 *
 * Writes never expose a partial blob: bytes go to a private file in `ingest/`, are hashed
 * while written, fsynced, verified against the expected digest and size, then renamed into
 * place and the directory fsynced. Two processes writing the same blob both succeed (the
 * content is the same; the second rename replaces the first atomically). A process killed
 * mid-write leaves only an ingest file, which `cleanIngests` removes.
 */
import { createHash, randomUUID, type Hash } from 'node:crypto';
import { constants } from 'node:fs';
import { mkdir, open, readdir, readFile, rename, rm, stat, writeFile, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { errnoCode, TscError } from '../errors.ts';
import { parseDigest } from '../reference/digest.ts';

export interface BlobInfo {
  digest: string;
  size: number;
}

export interface Expected {
  digest?: string | undefined;
  size?: number | undefined;
}

export class ContentStore {
  readonly root: string;

  constructor(root: string) {
    this.root = root;
  }

  async init(): Promise<void> {
    await mkdir(join(this.root, 'blobs', 'sha256'), { recursive: true, mode: 0o700 });
    await mkdir(join(this.root, 'ingest'), { recursive: true, mode: 0o700 });
    const layout = join(this.root, 'oci-layout');
    try {
      await writeFile(layout, '{"imageLayoutVersion":"1.0.0"}\n', { flag: 'wx' });
    } catch (error) {
      if (errnoCode(error) !== 'EEXIST') throw error;
    }
  }

  blobPath(digest: string): string {
    const { algorithm, hex } = parseDigest(digest);
    return join(this.root, 'blobs', algorithm, hex);
  }

  async has(digest: string): Promise<BlobInfo | undefined> {
    try {
      return { digest, size: (await stat(this.blobPath(digest))).size };
    } catch (error) {
      if (errnoCode(error) === 'ENOENT') return undefined;
      throw error;
    }
  }

  /** Starts writing a blob; see Ingest. */
  async ingest(): Promise<Ingest> {
    const path = join(this.root, 'ingest', `${randomUUID()}.partial`);
    const file = await open(path, constants.O_CREAT | constants.O_EXCL | constants.O_WRONLY, 0o600);
    return new Ingest(this, path, file);
  }

  /** Writes a whole blob from bytes or a stream, verified against `expected`. */
  async put(source: Uint8Array | AsyncIterable<Uint8Array>, expected: Expected = {}): Promise<BlobInfo> {
    const ingest = await this.ingest();
    try {
      if (source instanceof Uint8Array) await ingest.write(source);
      else for await (const chunk of source) await ingest.write(chunk);
      return await ingest.commit(expected);
    } catch (error) {
      await ingest.abort();
      throw error;
    }
  }

  /** Reads a (small) blob whole and checks it still matches its digest. */
  async read(digest: string): Promise<Buffer> {
    let bytes: Buffer;
    try {
      bytes = await readFile(this.blobPath(digest));
    } catch (error) {
      if (errnoCode(error) === 'ENOENT') throw new TscError('not-found', `blob ${digest} is not in the content store`);
      throw error;
    }
    const actual = `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
    if (digest.startsWith('sha256:') && actual !== digest) {
      throw new TscError('invalid-content', `blob ${digest} in ${this.root} is corrupt (its content hashes to ${actual})`, {
        hint: 'run tsc system check to repair the store',
      });
    }
    return bytes;
  }

  async remove(digest: string): Promise<void> {
    await rm(this.blobPath(digest), { force: true });
  }

  /** Removes ingest files older than `ageMs` (left by killed processes). Returns how many. */
  async cleanIngests(ageMs: number, now = Date.now()): Promise<number> {
    const dir = join(this.root, 'ingest');
    let removed = 0;
    for (const name of await readdir(dir).catch(() => [] as string[])) {
      const path = join(dir, name);
      const s = await stat(path).catch(() => undefined);
      if (s && now - s.mtimeMs >= ageMs) {
        await rm(path, { force: true });
        removed++;
      }
    }
    return removed;
  }
}

/**
 * A blob being written. `offset` says how many bytes are in, so an interrupted download can
 * resume with an HTTP Range request and keep hashing where it stopped.
 */
export class Ingest {
  readonly path: string;
  #store: ContentStore;
  #file: FileHandle | undefined;
  #hash: Hash = createHash('sha256');
  #offset = 0;

  constructor(store: ContentStore, path: string, file: FileHandle) {
    this.#store = store;
    this.path = path;
    this.#file = file;
  }

  get offset(): number {
    return this.#offset;
  }

  /** The digest of the bytes written so far; the ingest goes on (used to verify before committing). */
  digestSoFar(): string {
    return `sha256:${this.#hash.copy().digest('hex')}`;
  }

  async write(chunk: Uint8Array): Promise<void> {
    if (!this.#file) throw new TscError('internal', 'write to a finished ingest');
    let written = 0;
    while (written < chunk.length) {
      const { bytesWritten } = await this.#file.write(chunk, written, chunk.length - written, this.#offset + written);
      written += bytesWritten;
    }
    this.#hash.update(chunk);
    this.#offset += chunk.length;
  }

  /** Verifies, then moves the blob into place. The ingest is finished either way. */
  async commit(expected: Expected = {}): Promise<BlobInfo> {
    const file = this.#file;
    if (!file) throw new TscError('internal', 'commit of a finished ingest');
    this.#file = undefined;
    try {
      await file.sync();
    } finally {
      await file.close();
    }
    const digest = `sha256:${this.#hash.digest('hex')}`;
    const size = this.#offset;
    try {
      if (expected.size !== undefined && expected.size !== size) {
        throw new TscError('invalid-content', `size mismatch for ${expected.digest ?? digest}: expected ${expected.size} bytes, got ${size}`);
      }
      if (expected.digest !== undefined && expected.digest !== digest) {
        throw new TscError('invalid-content', `digest mismatch: expected ${expected.digest}, got ${digest}`);
      }
      const target = this.#store.blobPath(digest);
      await rename(this.path, target);
      await syncDir(join(target, '..'));
      return { digest, size };
    } catch (error) {
      await rm(this.path, { force: true });
      throw error;
    }
  }

  async abort(): Promise<void> {
    const file = this.#file;
    this.#file = undefined;
    await file?.close().catch(() => undefined);
    await rm(this.path, { force: true });
  }
}

async function syncDir(dir: string): Promise<void> {
  const handle = await open(dir, constants.O_RDONLY | constants.O_DIRECTORY);
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}
