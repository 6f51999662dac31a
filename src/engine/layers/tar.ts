/**
 * A streaming tar reader for OCI layers: ustar, GNU (long names 'L'/'K', base-256 numbers)
 * and PAX (extended headers 'x', global headers 'g' are ignored). Header checksums are
 * verified; a stream that ends inside a header or a body is an error ('truncated layer').
 *
 * Contract: `readTar` yields entries one at a time. An entry's `body` may be read only
 * until the next entry is requested; whatever is left unread is skipped then. Like Go's
 * archive/tar (which produced most layers and reads them in docker/containerd), entries of
 * the header-only types (links, devices, directories, fifos) have no body whatever their
 * size field says, so every tool that matters agrees on where the next header starts. A
 * stream that ends cleanly on a block boundary without the end-of-archive blocks is
 * accepted, as Go and GNU tar accept it.
 */
import { TscError } from '../errors.ts';
import {
  BLOCK,
  checksums,
  entryTypeOf,
  field,
  fieldBytes,
  fieldString,
  isZeroBlock,
  padding,
  parseNumeric,
  parsePaxRecords,
  quote,
  type FieldName,
  type TarEntryType,
} from './tar-format.ts';

export type { TarEntryType } from './tar-format.ts';

export interface TarEntry {
  /** the name as archived (PAX/GNU overrides applied), not cleaned */
  path: string;
  type: TarEntryType;
  /** the raw typeflag, for 'unsupported' entries */
  typeflag: string;
  /** permission bits including setuid, setgid and sticky (mode & 0o7777) */
  mode: number;
  uid: number;
  gid: number;
  uname: string;
  gname: string;
  /** content length in bytes (0 for the header-only types) */
  size: number;
  /** seconds since the epoch; PAX mtimes keep their fraction */
  mtime: number;
  /** symlink target or hardlink target path */
  linkname: string;
  devmajor: number;
  devminor: number;
  /** extended attributes from SCHILY.xattr.* / LIBARCHIVE.xattr.*, values byte-exact */
  xattrs: Map<string, Buffer>;
  /** the content; see the module contract */
  body: AsyncIterable<Buffer>;
}

/** PAX extended headers larger than this are refused (they are read into memory). */
const MAX_META_SIZE = 16 * 1024 * 1024;

/** A tar stream: a Readable, an async generator, or chunks in memory. */
export type TarSource = AsyncIterable<Uint8Array | string> | Iterable<Uint8Array | string>;

const HEADER_ONLY = new Set<TarEntryType>(['hardlink', 'symlink', 'char-device', 'block-device', 'directory', 'fifo']);

/** Pulls exact byte counts out of an async iterable of chunks. */
class ByteSource {
  #iterator: AsyncIterator<Uint8Array | string>;
  #chunks: Buffer[] = [];
  #buffered = 0;
  #ended = false;
  /** bytes consumed so far */
  offset = 0;

  constructor(source: TarSource) {
    this.#iterator = Symbol.asyncIterator in source ? source[Symbol.asyncIterator]() : (async function* () {
      yield* source;
    })();
  }

  /** Makes at least `n` bytes available; false when the stream ends first. */
  async #fill(n: number): Promise<boolean> {
    while (this.#buffered < n) {
      if (this.#ended) return false;
      const next = await this.#iterator.next();
      if (next.done) {
        this.#ended = true;
        return false;
      }
      const value = next.value;
      const chunk = typeof value === 'string' ? Buffer.from(value) : Buffer.from(value.buffer, value.byteOffset, value.byteLength);
      if (chunk.length === 0) continue;
      this.#chunks.push(chunk);
      this.#buffered += chunk.length;
    }
    return true;
  }

  #take(n: number): Buffer {
    const first = this.#chunks[0];
    let out: Buffer;
    if (first !== undefined && first.length >= n) {
      out = first.subarray(0, n);
      if (first.length === n) this.#chunks.shift();
      else this.#chunks[0] = first.subarray(n);
    } else {
      const parts: Buffer[] = [];
      let left = n;
      while (left > 0 && this.#chunks.length > 0) {
        const chunk = this.#chunks[0]!;
        if (chunk.length <= left) {
          parts.push(chunk);
          this.#chunks.shift();
          left -= chunk.length;
        } else {
          parts.push(chunk.subarray(0, left));
          this.#chunks[0] = chunk.subarray(left);
          left = 0;
        }
      }
      out = Buffer.concat(parts);
    }
    this.#buffered -= out.length;
    this.offset += out.length;
    return out;
  }

  /** Exactly `n` bytes, or the shorter remainder when the stream ends first. */
  async read(n: number): Promise<Buffer> {
    await this.#fill(n);
    return this.#take(Math.min(n, this.#buffered));
  }

  /** Up to `max` bytes without copying: part of one buffered chunk; empty at the end. */
  async readSome(max: number): Promise<Buffer> {
    if (this.#buffered === 0) await this.#fill(1);
    const first = this.#chunks[0];
    return first === undefined ? Buffer.alloc(0) : this.#take(Math.min(max, first.length));
  }

  async skip(n: number): Promise<number> {
    let left = n;
    while (left > 0) {
      const got = await this.readSome(left);
      if (got.length === 0) break;
      left -= got.length;
    }
    return n - left;
  }

  /** Reads and discards everything left, so a producer piping into us can finish. */
  async drain(): Promise<void> {
    while ((await this.readSome(1 << 20)).length > 0);
  }
}

function truncated(what: string): TscError {
  return new TscError('invalid-content', `truncated layer: ${what}`, {
    hint: 'the download or the blob in the store is incomplete; pull the image again',
  });
}

function corrupt(what: string): TscError {
  return new TscError('invalid-content', `corrupt layer: ${what}`, { hint: 'the layer is not a valid tar archive; pull the image again' });
}

interface Pending {
  pax: Map<string, Buffer>;
  longName?: string;
  longLink?: string;
}

function numeric(block: Buffer, name: FieldName, where: string): number {
  const value = parseNumeric(field(block, name));
  if (value === undefined) throw corrupt(`invalid ${name} field in the tar header of ${quote(where)}`);
  return value;
}

function paxNumber(value: Buffer, key: string, where: string, fraction: boolean): number {
  const text = value.toString('latin1');
  const ok = fraction ? /^-?[0-9]+(\.[0-9]*)?$/.test(text) : /^[0-9]+$/.test(text);
  const number = Number(text);
  if (!ok || !Number.isFinite(number) || (!fraction && !Number.isSafeInteger(number))) {
    throw corrupt(`invalid pax ${key} ${quote(text)} for ${quote(where)}`);
  }
  return number;
}

const XATTR_PREFIXES = ['SCHILY.xattr.', 'LIBARCHIVE.xattr.'] as const;

function xattrsOf(pax: Map<string, Buffer>): Map<string, Buffer> {
  const xattrs = new Map<string, Buffer>();
  for (const [key, value] of pax) {
    if (key.startsWith(XATTR_PREFIXES[0])) {
      xattrs.set(key.slice(XATTR_PREFIXES[0].length), value);
    } else if (key.startsWith(XATTR_PREFIXES[1])) {
      // libarchive percent-encodes the name and base64-encodes the value
      let name: string;
      try {
        name = decodeURIComponent(key.slice(XATTR_PREFIXES[1].length));
      } catch {
        continue; // a name that is not valid percent-encoding names no attribute
      }
      if (!xattrs.has(name)) xattrs.set(name, Buffer.from(value.toString('latin1'), 'base64'));
    }
  }
  return xattrs;
}

function headerName(block: Buffer): string {
  const name = fieldBytes(block, 'name');
  // the prefix field exists only in POSIX ustar; GNU keeps other data there
  if (field(block, 'magic').toString('latin1') === 'ustar\0') {
    const prefix = fieldBytes(block, 'prefix');
    if (prefix.length > 0) return `${prefix.toString('utf8')}/${name.toString('utf8')}`;
  }
  return name.toString('utf8');
}

/** Reads the whole (small) body of a metadata entry: PAX header or GNU long name. */
async function readMeta(source: ByteSource, size: number, kind: string, where: string): Promise<Buffer> {
  if (size > MAX_META_SIZE) throw corrupt(`${kind} of ${size} bytes for ${quote(where)} is larger than ${MAX_META_SIZE}`);
  const data = await source.read(size);
  if (data.length < size) throw truncated(`the archive ends inside the ${kind} of ${quote(where)}`);
  if ((await source.skip(padding(size))) < padding(size)) throw truncated(`the archive ends inside the ${kind} of ${quote(where)}`);
  return data;
}

function gnuString(data: Buffer): string {
  const end = data.indexOf(0);
  return (end < 0 ? data : data.subarray(0, end)).toString('utf8');
}

/** Iterates over the entries of a tar stream; see the module contract. */
export async function* readTar(input: TarSource): AsyncGenerator<TarEntry, void, undefined> {
  const source = new ByteSource(input);
  let pending: Pending = { pax: new Map() };
  for (;;) {
    const headerOffset = source.offset;
    const block = await source.read(BLOCK);
    if (block.length === 0) return; // no end-of-archive blocks: accepted (see contract)
    const where = pending.pax.get('path')?.toString('utf8') ?? pending.longName ?? headerName(block);
    if (block.length < BLOCK) throw truncated(`the archive ends inside a tar header at byte ${headerOffset}`);
    if (isZeroBlock(block)) {
      // like Go's archive/tar: entries hidden behind a lone zero block are an error, not ignored
      const next = await source.read(BLOCK);
      if (next.length > 0 && !isZeroBlock(next)) throw corrupt(`a lone zero block at byte ${headerOffset} is followed by more data`);
      await source.drain();
      return;
    }
    const stored = parseNumeric(field(block, 'checksum'));
    const sums = checksums(block);
    if (stored !== sums.unsigned && stored !== sums.signed) {
      throw corrupt(`checksum mismatch in the tar header of ${quote(where)} at byte ${headerOffset}`);
    }
    const typeflag = field(block, 'typeflag').toString('latin1');
    const size = numeric(block, 'size', where);
    if (size < 0) throw corrupt(`negative size in the tar header of ${quote(where)}`);

    if (typeflag === 'x' || typeflag === 'g') {
      const data = await readMeta(source, size, 'pax header', where);
      if (typeflag === 'x') for (const [key, value] of parsePaxRecords(data, quote(where))) pending.pax.set(key, value);
      continue;
    }
    if (typeflag === 'L' || typeflag === 'K') {
      const data = await readMeta(source, size, 'GNU long name', where);
      if (typeflag === 'L') pending.longName = gnuString(data);
      else pending.longLink = gnuString(data);
      continue;
    }

    const meta = makeEntry(block, typeflag, size, pending, where);
    pending = { pax: new Map() };
    const bodySize = HEADER_ONLY.has(meta.type) ? 0 : meta.size;
    let left = bodySize;
    let finished = false;
    const entry: TarEntry = {
      ...meta,
      size: bodySize,
      body: {
        async *[Symbol.asyncIterator]() {
          while (left > 0) {
            if (finished) throw new TscError('internal', `the body of tar entry ${quote(meta.path)} was read after the next entry was requested`);
            const chunk = await source.readSome(left);
            if (chunk.length === 0) throw truncated(`${quote(meta.path)} ends after ${bodySize - left} of its ${bodySize} bytes`);
            left -= chunk.length;
            yield chunk;
          }
        },
      },
    };
    yield entry;
    finished = true;
    const rest = left + padding(bodySize);
    if ((await source.skip(rest)) < rest) {
      throw truncated(left > 0 ? `${quote(entry.path)} ends after ${bodySize - left} of its ${bodySize} bytes` : `the archive ends inside the padding of ${quote(entry.path)}`);
    }
  }
}

function makeEntry(block: Buffer, typeflag: string, headerSize: number, pending: Pending, where: string): Omit<TarEntry, 'body'> {
  const pax = pending.pax;
  const text = (key: string) => pax.get(key)?.toString('utf8');
  let path = text('path') || pending.longName || headerName(block);
  let type = entryTypeOf(typeflag);
  // pre-POSIX archives mark directories only by a trailing slash
  if (type === 'file' && (typeflag === '0' || typeflag === '\0') && path.endsWith('/')) type = 'directory';
  const linkname = text('linkpath') || pending.longLink || fieldString(block, 'linkname');
  const paxSize = pax.get('size');
  const paxUid = pax.get('uid');
  const paxGid = pax.get('gid');
  const paxMtime = pax.get('mtime');
  const hasDevice = type === 'char-device' || type === 'block-device';
  if (path === '') throw corrupt(`tar entry without a name at ${quote(where)}`);
  if (path.length > 1 && path.endsWith('/')) path = path.replace(/\/+$/, '') || '/';
  return {
    path,
    type,
    typeflag,
    mode: numeric(block, 'mode', where) & 0o7777,
    uid: paxUid?.length ? paxNumber(paxUid, 'uid', where, false) : numeric(block, 'uid', where),
    gid: paxGid?.length ? paxNumber(paxGid, 'gid', where, false) : numeric(block, 'gid', where),
    uname: text('uname') || fieldString(block, 'uname'),
    gname: text('gname') || fieldString(block, 'gname'),
    size: paxSize?.length ? paxNumber(paxSize, 'size', where, false) : headerSize,
    mtime: paxMtime?.length ? paxNumber(paxMtime, 'mtime', where, true) : numeric(block, 'mtime', where),
    linkname,
    devmajor: hasDevice ? numeric(block, 'devmajor', where) : 0,
    devminor: hasDevice ? numeric(block, 'devminor', where) : 0,
    xattrs: xattrsOf(pax),
  };
}
