/**
 * Downloading blobs: streamed into a caller's sink while a hash and a byte count check
 * them, resumed with `Range` after an interruption (or restarted from zero when the
 * registry ignores the range), and rejected on a digest or size mismatch.
 */
import type { FileHandle } from 'node:fs/promises';
import { TscError } from '../errors.ts';
import { log } from '../log.ts';
import { repositoryScope, type RegistryClient } from './client.ts';
import { responseError } from './errors.ts';
import { hasherFor, type Hasher } from './hashing.ts';
import { discard, isTransientNetworkError } from './transport.ts';

/**
 * Where a download writes. Contract: `write` receives the bytes in order (await it for
 * backpressure); `reset` means "forget everything written", after which writing starts
 * again at byte 0. Until downloadBlob resolves the content is unverified: on an error
 * the caller discards it.
 */
export interface BlobSink {
  write(chunk: Uint8Array): void | Promise<void>;
  reset(): void | Promise<void>;
}

export interface BlobDescriptor {
  digest: string;
  size: number;
}

export interface DownloadOptions {
  /** interruptions resumed before giving up (default 5) */
  maxResumes?: number;
  onProgress?: (received: number, total: number) => void;
  signal?: AbortSignal | undefined;
}

export interface DownloadResult {
  digest: string;
  size: number;
  /** downloads continued with Range after an interruption */
  resumes: number;
  /** downloads started over because the registry did not honour Range */
  restarts: number;
}

/** Downloads blob `descriptor` of `repository` into `sink`, verified. */
export async function downloadBlob(
  client: RegistryClient,
  repository: string,
  descriptor: BlobDescriptor,
  sink: BlobSink,
  options: DownloadOptions = {},
): Promise<DownloadResult> {
  const { digest, size } = descriptor;
  const where = client.describe(repository);
  const subject = `blob ${digest} from ${where}`;
  const maxResumes = options.maxResumes ?? 5;
  let hash: Hasher = hasherFor(digest, subject);
  let received = 0;
  let resumes = 0;
  let restarts = 0;
  let stalled = 0;

  const restart = async () => {
    await sink.reset();
    hash = hasherFor(digest, subject);
    received = 0;
    restarts++;
  };

  for (;;) {
    const headers: Record<string, string> = { 'accept-encoding': 'identity' };
    if (received > 0) headers.range = `bytes=${received}-`;
    const response = await client.request({
      path: `/v2/${repository}/blobs/${digest}`,
      scopes: [repositoryScope(repository, 'pull')],
      headers,
      signal: options.signal,
    });
    if (received > 0 && response.status === 206) {
      const range = parseContentRange(response.headers.get('content-range'));
      if (range === undefined || range.start !== received || (range.total !== undefined && range.total !== size)) {
        await discard(response);
        log.debug(`${subject}: unusable Content-Range ${response.headers.get('content-range') ?? '(none)'}; starting over`);
        await restart();
        if (++resumes > maxResumes) throw truncated(subject, received, size);
        continue;
      }
    } else if (received > 0 && (response.status === 200 || response.status === 416)) {
      log.debug(`${subject}: the registry answered ${response.status} to a Range request; starting over`);
      await restart();
      if (response.status === 416) {
        await discard(response);
        continue;
      }
    } else if (response.status !== 200) {
      throw await responseError(response, subject, client.registry);
    }

    const encoding = response.headers.get('content-encoding');
    if (encoding !== null && encoding !== '' && encoding.toLowerCase() !== 'identity') {
      await discard(response);
      // fetch always decodes a Content-Encoding, and a blob's digest covers its bytes as stored
      throw new TscError('remote', `${subject}: the server sent it with Content-Encoding ${encoding}, so its bytes cannot be verified`, {
        hint: 'the registry or its storage is misconfigured to compress blobs in transit',
      });
    }
    const before = received;
    let interruption: unknown;
    const reader = response.body?.getReader();
    try {
      for (;;) {
        let chunk: Awaited<ReturnType<NonNullable<typeof reader>['read']>> | undefined;
        try {
          chunk = await reader?.read();
        } catch (error) {
          if (options.signal?.aborted === true || !isTransientNetworkError(error)) throw error;
          interruption = error;
          break;
        }
        if (chunk === undefined || chunk.done) break;
        const bytes = chunk.value;
        if (received + bytes.byteLength > size) {
          throw new TscError('invalid-content', `${subject} is larger than the ${size} bytes its descriptor gives`);
        }
        hash.update(bytes);
        received += bytes.byteLength;
        await sink.write(bytes);
        options.onProgress?.(received, size);
      }
    } finally {
      await reader?.cancel().catch(() => undefined);
    }
    if (received === size) break;

    stalled = received > before ? 0 : stalled + 1;
    if (++resumes > maxResumes) throw truncated(subject, received, size, interruption);
    log.debug(`${subject}: interrupted at ${received} of ${size} bytes; resuming (${resumes} of ${maxResumes})`);
    if (stalled > 0) await client.backoff(stalled, options.signal);
  }

  const actual = hash.digest();
  if (actual !== digest) {
    throw new TscError('invalid-content', `digest mismatch for blob ${digest} from ${where}: got ${actual}`, {
      hint: 'the registry or something between it and tsc altered the blob; try again',
    });
  }
  return { digest, size, resumes, restarts };
}

function truncated(subject: string, received: number, size: number, cause?: unknown): TscError {
  return new TscError('remote', `truncated download of ${subject}: got ${received} of ${size} bytes`, {
    hint: 'the connection kept breaking; try again',
    cause,
  });
}

/** `bytes 100-199/200` (total may be `*`), or undefined when malformed. */
export function parseContentRange(value: string | null | undefined): { start: number; end: number; total: number | undefined } | undefined {
  const match = /^\s*bytes\s+(\d+)-(\d+)\/(\d+|\*)\s*$/i.exec(value ?? '');
  if (match === null) return undefined;
  const start = Number(match[1]);
  const end = Number(match[2]);
  const total = match[3] === '*' ? undefined : Number(match[3]);
  if (end < start || (total !== undefined && end >= total)) return undefined;
  return { start, end, total };
}

/** Downloads a small blob (an image config) into memory, refusing one larger than `limit`. */
export async function fetchBlob(
  client: RegistryClient,
  repository: string,
  descriptor: BlobDescriptor,
  options: DownloadOptions & { limit?: number } = {},
): Promise<Uint8Array> {
  const limit = options.limit ?? 16 * 1024 * 1024;
  if (descriptor.size > limit) {
    throw new TscError('invalid-content', `blob ${descriptor.digest} from ${client.describe(repository)} is too large to read into memory: ${descriptor.size} bytes (limit ${limit})`);
  }
  const sink = memorySink();
  await downloadBlob(client, repository, descriptor, sink, options);
  return sink.bytes();
}

/** A sink that keeps everything in memory. */
export function memorySink(): BlobSink & { bytes(): Uint8Array } {
  let chunks: Uint8Array[] = [];
  return {
    write: (chunk) => void chunks.push(chunk),
    reset: () => void (chunks = []),
    bytes: () => Buffer.concat(chunks),
  };
}

/**
 * A sink writing to an open file from offset 0 (typically a content store's temp file);
 * the caller owns the handle: it syncs, renames and closes it.
 */
export function fileSink(handle: FileHandle): BlobSink {
  let position = 0;
  return {
    async write(chunk) {
      let done = 0;
      while (done < chunk.byteLength) {
        const { bytesWritten } = await handle.write(chunk, done, chunk.byteLength - done, position);
        done += bytesWritten;
        position += bytesWritten;
      }
    },
    async reset() {
      await handle.truncate(0);
      position = 0;
    },
  };
}
