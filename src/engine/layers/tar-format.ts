/**
 * The byte layout shared by the tar reader (tar.ts) and writer (tar-write.ts): ustar header
 * fields, octal and base-256 numbers, header checksums and PAX extended-header records.
 * Pure functions over Buffers.
 */
import { TscError } from '../errors.ts';

export const BLOCK = 512;

export type TarEntryType =
  | 'file'
  | 'hardlink'
  | 'symlink'
  | 'char-device'
  | 'block-device'
  | 'directory'
  | 'fifo'
  /** a type this reader does not interpret (GNU sparse 'S', volume label 'V', ...) */
  | 'unsupported';

/** Typeflags of the entry types, as the writer emits them. */
export const TYPEFLAG: Record<Exclude<TarEntryType, 'unsupported'>, string> = {
  file: '0',
  hardlink: '1',
  symlink: '2',
  'char-device': '3',
  'block-device': '4',
  directory: '5',
  fifo: '6',
};

export function entryTypeOf(flag: string): TarEntryType {
  switch (flag) {
    case '0':
    case '\0':
    case '7':
      return 'file';
    case '1': return 'hardlink';
    case '2': return 'symlink';
    case '3': return 'char-device';
    case '4': return 'block-device';
    case '5': return 'directory';
    case '6': return 'fifo';
    default: return 'unsupported';
  }
}

/** Field offsets and widths of the ustar header (POSIX.1-1988, as extended by POSIX.1-2001). */
export const FIELD = {
  name: [0, 100],
  mode: [100, 8],
  uid: [108, 8],
  gid: [116, 8],
  size: [124, 12],
  mtime: [136, 12],
  checksum: [148, 8],
  typeflag: [156, 1],
  linkname: [157, 100],
  magic: [257, 6],
  version: [263, 2],
  uname: [265, 32],
  gname: [297, 32],
  devmajor: [329, 8],
  devminor: [337, 8],
  prefix: [345, 155],
} as const satisfies Record<string, readonly [number, number]>;

export type FieldName = keyof typeof FIELD;

export function field(block: Buffer, name: FieldName): Buffer {
  const [offset, width] = FIELD[name];
  return block.subarray(offset, offset + width);
}

/** The bytes of a NUL-terminated (or full-width) string field. */
export function fieldBytes(block: Buffer, name: FieldName): Buffer {
  const raw = field(block, name);
  const end = raw.indexOf(0);
  return end < 0 ? raw : raw.subarray(0, end);
}

export function fieldString(block: Buffer, name: FieldName): string {
  return fieldBytes(block, name).toString('utf8');
}

/**
 * A numeric field: octal digits (optionally surrounded by spaces or NULs), or GNU base-256
 * when the high bit of the first byte is set (two's complement, big-endian). Returns
 * undefined for a malformed field or a value beyond Number's safe integers.
 */
export function parseNumeric(raw: Buffer): number | undefined {
  if (raw.length === 0) return undefined;
  if ((raw[0]! & 0x80) !== 0) {
    const negative = (raw[0]! & 0x40) !== 0;
    let value = BigInt(raw[0]! & 0x7f) - (negative ? 0x80n : 0n);
    for (let i = 1; i < raw.length; i++) value = (value << 8n) | BigInt(raw[i]!);
    return value > BigInt(Number.MAX_SAFE_INTEGER) || value < BigInt(Number.MIN_SAFE_INTEGER) ? undefined : Number(value);
  }
  const text = raw.toString('latin1').replace(/[\0 ]+$/, '').replace(/^[ ]+/, '');
  if (text === '') return 0;
  if (!/^[0-7]+$/.test(text)) return undefined;
  const value = parseInt(text, 8);
  return Number.isSafeInteger(value) ? value : undefined;
}

/** Writes `value` as zero-padded octal with a NUL terminator; false when it does not fit. */
export function writeOctal(block: Buffer, name: FieldName, value: number): boolean {
  const [offset, width] = FIELD[name];
  if (!Number.isSafeInteger(value) || value < 0) return false;
  const text = value.toString(8);
  if (text.length > width - 1) return false;
  block.write(text.padStart(width - 1, '0') + '\0', offset, width, 'latin1');
  return true;
}

/** Writes `value` in GNU base-256 (any integer that fits the field's width). */
export function writeBase256(block: Buffer, name: FieldName, value: number): void {
  const [offset, width] = FIELD[name];
  let v = BigInt(value);
  for (let i = width - 1; i >= 0; i--) {
    block[offset + i] = Number(v & 0xffn);
    v >>= 8n;
  }
  block[offset] = (block[offset]! & 0x7f) | 0x80;
}

/**
 * The header checksum: the sum of all header bytes with the checksum field counted as
 * spaces. Historic writers summed signed chars, so both sums are computed.
 */
export function checksums(block: Buffer): { unsigned: number; signed: number } {
  let unsigned = 0;
  let signed = 0;
  const [start, width] = FIELD.checksum;
  for (let i = 0; i < BLOCK; i++) {
    const byte = i >= start && i < start + width ? 0x20 : block[i]!;
    unsigned += byte;
    signed += byte >= 0x80 ? byte - 0x100 : byte;
  }
  return { unsigned, signed };
}

export function writeChecksum(block: Buffer): void {
  const [offset] = FIELD.checksum;
  const sum = checksums(block).unsigned;
  block.write(sum.toString(8).padStart(6, '0') + '\0 ', offset, 8, 'latin1');
}

export function isZeroBlock(block: Buffer): boolean {
  for (let i = 0; i < block.length; i++) if (block[i] !== 0) return false;
  return true;
}

/**
 * Parses PAX extended-header records (`"<len> <key>=<value>\n"`, len counting the whole
 * record). Values stay bytes: most are UTF-8, but SCHILY.xattr.* values are binary.
 */
export function parsePaxRecords(data: Buffer, where: string): Map<string, Buffer> {
  const records = new Map<string, Buffer>();
  let pos = 0;
  while (pos < data.length) {
    if (data[pos] === 0) break; // some writers pad the record block with NULs
    const space = data.indexOf(0x20, pos);
    const lengthText = space < 0 ? '' : data.toString('latin1', pos, space);
    const length = /^[0-9]{1,12}$/.test(lengthText) ? Number(lengthText) : NaN;
    const end = pos + length;
    if (!Number.isSafeInteger(length) || length <= space - pos + 1 || end > data.length || data[end - 1] !== 0x0a) {
      throw new TscError('invalid-content', `corrupt layer: malformed pax record at byte ${pos} of the extended header of ${where}`);
    }
    const record = data.subarray(space + 1, end - 1);
    const eq = record.indexOf(0x3d);
    if (eq <= 0) {
      throw new TscError('invalid-content', `corrupt layer: pax record without a key at byte ${pos} of the extended header of ${where}`);
    }
    records.set(record.toString('utf8', 0, eq), Buffer.from(record.subarray(eq + 1)));
    pos = end;
  }
  return records;
}

/** Encodes PAX records; the length prefix counts its own digits. */
export function encodePaxRecords(records: Iterable<readonly [string, Buffer]>): Buffer {
  const parts: Buffer[] = [];
  for (const [key, value] of records) {
    const body = Buffer.concat([Buffer.from(` ${key}=`, 'utf8'), value, Buffer.from('\n')]);
    let length = body.length + 1;
    while (String(length).length + body.length !== length) length = String(length).length + body.length;
    parts.push(Buffer.from(String(length), 'latin1'), body);
  }
  return Buffer.concat(parts);
}

/** Bytes of padding after `size` bytes of content, up to the next block boundary. */
export function padding(size: number): number {
  return (BLOCK - (size % BLOCK)) % BLOCK;
}

/** A path or name quoted for error messages (control characters escaped). */
export function quote(name: string): string {
  return JSON.stringify(name);
}
