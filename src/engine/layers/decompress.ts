/**
 * Layer blobs arrive gzip- or zstd-compressed or plain; the format is told by the first
 * bytes (as docker and containerd do), not trusted from the manifest's media type.
 * Decompression streams through node:zlib, which inflates on the thread pool while the
 * extractor works on the main thread: large output chunks (fewer round trips, and zlib is
 * faster on them) and a few of them buffered ahead keep both busy.
 */
import { Readable, pipeline } from 'node:stream';
import zlib from 'node:zlib';
import { errnoCode, TscError } from '../errors.ts';
import type { TarSource } from './tar.ts';

export type Compression = 'gzip' | 'zstd' | 'none';

const GZIP = [0x1f, 0x8b];
const ZSTD = [0x28, 0xb5, 0x2f, 0xfd];

/** 1 MiB output chunks, up to 8 MiB inflated ahead of the reader */
const INFLATE_OPTIONS = { chunkSize: 1 << 20, highWaterMark: 8 << 20 };

export function compressionOf(head: Uint8Array): Compression {
  const starts = (magic: number[]) => magic.every((byte, i) => head[i] === byte);
  if (starts(GZIP)) return 'gzip';
  if (starts(ZSTD)) return 'zstd';
  return 'none';
}

function toBuffer(chunk: Uint8Array | string): Buffer {
  return typeof chunk === 'string' ? Buffer.from(chunk) : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
}

/** The tar stream inside a (possibly compressed) layer blob. */
export async function* decompressed(input: TarSource): AsyncGenerator<Buffer, void, undefined> {
  const iterator = Symbol.asyncIterator in input ? input[Symbol.asyncIterator]() : (async function* () {
    yield* input;
  })();
  const head: Buffer[] = [];
  let length = 0;
  let done = false;
  while (length < ZSTD.length && !done) {
    const next = await iterator.next();
    if (next.done) done = true;
    else {
      head.push(toBuffer(next.value));
      length += head.at(-1)!.length;
    }
  }
  const all = async function* () {
    yield* head;
    if (done) return;
    for (let next = await iterator.next(); !next.done; next = await iterator.next()) yield toBuffer(next.value);
  };
  const compression = compressionOf(Buffer.concat(head));
  if (compression === 'none') {
    yield* all();
    return;
  }
  const inflate = compression === 'gzip' ? zlib.createGunzip(INFLATE_OPTIONS) : zlib.createZstdDecompress(INFLATE_OPTIONS);
  const output = pipeline(Readable.from(all()), inflate, () => {});
  try {
    for await (const chunk of output) yield chunk as Buffer;
  } catch (error) {
    if (error instanceof TscError || errnoCode(error)?.startsWith('Z_') !== true) throw error;
    const message = error instanceof Error ? error.message : String(error);
    if (errnoCode(error) === 'Z_BUF_ERROR') {
      throw new TscError('invalid-content', `truncated layer: the ${compression} stream ends early (${message})`, { cause: error });
    }
    throw new TscError('invalid-content', `corrupt layer: ${compression} data is invalid (${message})`, { cause: error });
  }
}
