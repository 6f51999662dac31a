/**
 * A streaming tar writer: POSIX ustar headers, with a PAX extended header in front of an
 * entry whenever ustar cannot hold it (long or non-ASCII names, extended attributes,
 * numbers too large for octal, fractional mtimes). Used for layer creation and commit,
 * and by tests to build hostile layers: it writes whatever path it is given.
 */
import { TscError } from '../errors.ts';
import {
  BLOCK,
  encodePaxRecords,
  FIELD,
  padding,
  quote,
  TYPEFLAG,
  writeBase256,
  writeChecksum,
  writeOctal,
  type FieldName,
  type TarEntryType,
} from './tar-format.ts';

export interface TarWriteEntry {
  path: string;
  type: Exclude<TarEntryType, 'unsupported'>;
  /** permission bits incl. setuid/setgid/sticky; default 0o644 (0o755 for directories) */
  mode?: number;
  uid?: number;
  gid?: number;
  uname?: string;
  gname?: string;
  /** seconds since the epoch, fractions kept (in PAX); default 0 */
  mtime?: number;
  linkname?: string;
  devmajor?: number;
  devminor?: number;
  xattrs?: ReadonlyMap<string, Buffer | string> | Readonly<Record<string, Buffer | string>>;
  /** file content; with an iterable, `size` is required and must match */
  body?: Buffer | string | AsyncIterable<Uint8Array> | Iterable<Uint8Array>;
  size?: number;
}

export interface TarWriteOptions {
  /**
   * How numbers too large for octal are written: 'pax' (default) adds a PAX record and
   * also puts GNU base-256 in the field; 'base256' writes only the base-256 field.
   */
  largeNumbers?: 'pax' | 'base256';
}

function utf8(value: string): Buffer {
  return Buffer.from(value, 'utf8');
}

/** Plain ASCII without NUL: stored in ustar fields byte for byte. */
function isAscii(value: string): boolean {
  for (let i = 0; i < value.length; i++) {
    const code = value.charCodeAt(i);
    if (code === 0 || code > 0x7f) return false;
  }
  return true;
}

/** An ASCII stand-in for a name kept in a PAX record. */
function asciiFallback(value: string): string {
  let out = '';
  for (const char of value) out += isAscii(char) ? char : '_';
  return out.slice(0, 100);
}

function fits(name: FieldName, value: string): boolean {
  return isAscii(value) && value.length <= FIELD[name][1];
}

/** Splits a long ustar path into prefix/name at a slash, if it can be. */
function splitPath(path: string): [string, string] | undefined {
  if (!isAscii(path) || path.length > 256) return undefined;
  for (let i = path.indexOf('/'); i >= 0; i = path.indexOf('/', i + 1)) {
    const prefix = path.slice(0, i);
    const name = path.slice(i + 1);
    if (prefix.length <= 155 && name.length <= 100 && name.length > 0) return [prefix, name];
  }
  return undefined;
}

function xattrEntries(xattrs: TarWriteEntry['xattrs']): [string, Buffer][] {
  if (!xattrs) return [];
  const list = xattrs instanceof Map ? [...xattrs] : Object.entries(xattrs as Record<string, Buffer | string>);
  return list.map(([name, value]) => {
    if (name === '' || name.includes('=')) throw new TscError('invalid-argument', `extended attribute name ${quote(name)} cannot be written to a tar header`);
    return [name, typeof value === 'string' ? utf8(value) : Buffer.from(value)];
  });
}

function bodySize(entry: TarWriteEntry): number {
  if (entry.type !== 'file') return 0;
  if (typeof entry.body === 'string') return Buffer.byteLength(entry.body);
  if (Buffer.isBuffer(entry.body)) return entry.body.length;
  if (entry.body === undefined) return entry.size ?? 0;
  if (entry.size === undefined) throw new TscError('invalid-argument', `tar entry ${quote(entry.path)} has a streamed body but no size`);
  return entry.size;
}

/** The header blocks (an optional PAX header, then the ustar header) of one entry. */
export function encodeHeader(entry: TarWriteEntry, options: TarWriteOptions = {}): Buffer {
  const block = Buffer.alloc(BLOCK);
  const pax: [string, Buffer][] = [];
  const usePax = (options.largeNumbers ?? 'pax') === 'pax';
  const size = bodySize(entry);

  if (fits('name', entry.path)) {
    block.write(entry.path, FIELD.name[0], 'latin1');
  } else {
    const split = splitPath(entry.path);
    if (split) {
      block.write(split[0], FIELD.prefix[0], 'latin1');
      block.write(split[1], FIELD.name[0], 'latin1');
    } else {
      pax.push(['path', utf8(entry.path)]);
      block.write(asciiFallback(entry.path), FIELD.name[0], 'latin1');
    }
  }
  const linkname = entry.linkname ?? '';
  if (fits('linkname', linkname)) block.write(linkname, FIELD.linkname[0], 'latin1');
  else pax.push(['linkpath', utf8(linkname)]);

  const number = (name: FieldName, key: string | undefined, value: number) => {
    if (writeOctal(block, name, value)) return;
    if (!Number.isSafeInteger(value)) throw new TscError('invalid-argument', `tar entry ${quote(entry.path)}: ${name} ${value} is not an integer`);
    if (usePax && key) pax.push([key, utf8(String(value))]);
    writeBase256(block, name, value);
  };
  const defaultMode = entry.type === 'directory' ? 0o755 : 0o644;
  number('mode', undefined, (entry.mode ?? defaultMode) & 0o7777);
  number('uid', 'uid', entry.uid ?? 0);
  number('gid', 'gid', entry.gid ?? 0);
  number('size', 'size', size);
  const mtime = entry.mtime ?? 0;
  if (Number.isInteger(mtime)) {
    number('mtime', 'mtime', mtime);
  } else {
    pax.push(['mtime', utf8(mtime.toFixed(9).replace(/0+$/, ''))]);
    number('mtime', undefined, Math.floor(mtime));
  }
  block.write(TYPEFLAG[entry.type], FIELD.typeflag[0], 'latin1');
  block.write('ustar\u000000', FIELD.magic[0], 'latin1');
  for (const [name, key] of [['uname', 'uname'], ['gname', 'gname']] as const) {
    const value = entry[name] ?? '';
    if (fits(name, value)) block.write(value, FIELD[name][0], 'latin1');
    else pax.push([key, utf8(value)]);
  }
  if (entry.type === 'char-device' || entry.type === 'block-device') {
    number('devmajor', undefined, entry.devmajor ?? 0);
    number('devminor', undefined, entry.devminor ?? 0);
  }
  for (const [name, value] of xattrEntries(entry.xattrs)) pax.push([`SCHILY.xattr.${name}`, value]);
  writeChecksum(block);
  if (pax.length === 0) return block;

  const records = encodePaxRecords(pax);
  const paxHeader = Buffer.alloc(BLOCK);
  const base = entry.path.split('/').filter(Boolean).at(-1) ?? 'root';
  paxHeader.write(asciiFallback(`PaxHeaders/${base}`), FIELD.name[0], 'latin1');
  writeOctal(paxHeader, 'mode', 0o644);
  writeOctal(paxHeader, 'uid', 0);
  writeOctal(paxHeader, 'gid', 0);
  writeOctal(paxHeader, 'size', records.length);
  writeOctal(paxHeader, 'mtime', 0);
  paxHeader.write('x', FIELD.typeflag[0], 'latin1');
  paxHeader.write('ustar\u000000', FIELD.magic[0], 'latin1');
  writeChecksum(paxHeader);
  return Buffer.concat([paxHeader, records, Buffer.alloc(padding(records.length)), block]);
}

async function* bodyChunks(entry: TarWriteEntry, size: number): AsyncGenerator<Buffer> {
  const body = entry.body;
  let written = 0;
  if (body !== undefined && entry.type === 'file') {
    const chunks = typeof body === 'string' ? [utf8(body)] : Buffer.isBuffer(body) ? [body] : body;
    for await (const chunk of chunks) {
      const buffer = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
      written += buffer.length;
      if (written > size) break;
      yield buffer;
    }
  }
  if (written !== size) throw new TscError('invalid-argument', `tar entry ${quote(entry.path)} has ${written} bytes of content, not the ${size} its size says`);
  const pad = padding(size);
  if (pad > 0) yield Buffer.alloc(pad);
}

/** Streams a tar archive of `entries`, ending with the two end-of-archive blocks. */
export async function* writeTar(
  entries: AsyncIterable<TarWriteEntry> | Iterable<TarWriteEntry>,
  options: TarWriteOptions = {},
): AsyncGenerator<Buffer, void, undefined> {
  for await (const entry of entries) {
    yield encodeHeader(entry, options);
    yield* bodyChunks(entry, bodySize(entry));
  }
  yield Buffer.alloc(BLOCK * 2);
}

/** The whole archive in memory (for small archives and tests). */
export async function tarBuffer(entries: AsyncIterable<TarWriteEntry> | Iterable<TarWriteEntry>, options: TarWriteOptions = {}): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const chunk of writeTar(entries, options)) parts.push(chunk);
  return Buffer.concat(parts);
}
