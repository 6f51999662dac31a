/**
 * The container log format the monitor writes (k8s-file, as podman/conmon and the CRI use):
 *
 *   TIMESTAMP STREAM TAG CONTENT\n
 *
 * TIMESTAMP is RFC 3339 UTC with nanoseconds, STREAM `stdout` or `stderr`, TAG `F` for a
 * full line (CONTENT without its newline) or `P` for a piece without newline: a long line
 * is cut into P pieces and a final F, and output left at the end of a stream is one P.
 * TAG may carry further `:`-separated flags (CRI), which are ignored.
 *
 * Everything here is pure: bytes in, entries and reassembled lines out. Content stays in
 * Buffers because a P cut may fall inside a multi-byte UTF-8 character.
 */

export type LogStream = 'stdout' | 'stderr';

/** One line of the log file. */
export interface LogEntry {
  /** nanoseconds since the Unix epoch */
  time: bigint;
  stream: LogStream;
  /** true for a P piece (no newline after its content) */
  partial: boolean;
  content: Buffer;
}

/** A line of the container's output after reassembly. */
export interface LogLine {
  /** the time of its first piece, nanoseconds since the Unix epoch */
  time: bigint;
  stream: LogStream;
  content: Buffer;
  /** false for output that never got its newline (the stream ended, or the container stopped) */
  complete: boolean;
}

const NS_PER_SECOND = 1_000_000_000n;
const RFC3339 = /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(?:([Zz])|([+-])(\d{2}):(\d{2}))$/;

/** Parses an RFC 3339 time with up to nanosecond precision; undefined when malformed. */
export function parseTimestamp(text: string): bigint | undefined {
  const m = RFC3339.exec(text);
  if (!m) return undefined;
  const [year, month, day, hour, minute, second] = m.slice(1, 7).map(Number) as [number, number, number, number, number, number];
  if (hour > 23 || minute > 59 || second > 59) return undefined;
  const ms = Date.UTC(year, month - 1, day, hour, minute, second);
  const check = new Date(ms);
  // Date.UTC rolls over (Feb 30 becomes Mar 2): reject what did not round-trip
  if (check.getUTCFullYear() !== year || check.getUTCMonth() !== month - 1 || check.getUTCDate() !== day) return undefined;
  let seconds = BigInt(ms / 1000);
  if (m[9] !== undefined) {
    const offset = Number(m[10]) * 3600 + Number(m[11]) * 60;
    seconds -= BigInt(m[9] === '+' ? offset : -offset);
  }
  return seconds * NS_PER_SECOND + BigInt((m[7] ?? '').padEnd(9, '0'));
}

/** docker's RFC3339NanoFixed in UTC: always nine fraction digits, e.g. `2026-11-23T03:40:00.123456789Z`. */
export function formatTimestamp(time: bigint): string {
  let seconds = time / NS_PER_SECOND;
  let nanos = time % NS_PER_SECOND;
  if (nanos < 0n) {
    nanos += NS_PER_SECOND;
    seconds -= 1n;
  }
  const base = new Date(Number(seconds) * 1000).toISOString().slice(0, 19);
  return `${base}.${nanos.toString().padStart(9, '0')}Z`;
}

export function dateToTime(date: Date): bigint {
  return BigInt(date.getTime()) * 1_000_000n;
}

const SPACE = 0x20;

/** Parses one log file line (without its `\n`); undefined when it is not a valid entry. */
export function parseLogLine(line: Buffer): LogEntry | undefined {
  const first = line.indexOf(SPACE);
  if (first <= 0) return undefined;
  const second = line.indexOf(SPACE, first + 1);
  if (second < 0) return undefined;
  let third = line.indexOf(SPACE, second + 1);
  // an empty F line may come without the separator before its (empty) content
  if (third < 0) third = line.length;
  const time = parseTimestamp(line.toString('latin1', 0, first));
  if (time === undefined) return undefined;
  const stream = line.toString('latin1', first + 1, second);
  if (stream !== 'stdout' && stream !== 'stderr') return undefined;
  const tag = line.toString('latin1', second + 1, third).split(':')[0];
  if (tag !== 'F' && tag !== 'P') return undefined;
  return { time, stream, partial: tag === 'P', content: line.subarray(Math.min(third + 1, line.length)) };
}

/** The file line of an entry, with its `\n` (what the monitor writes). */
export function formatLogLine(entry: LogEntry): Buffer {
  const head = `${formatTimestamp(entry.time)} ${entry.stream} ${entry.partial ? 'P' : 'F'} `;
  return Buffer.concat([Buffer.from(head, 'latin1'), entry.content, Buffer.from('\n')]);
}

/**
 * Cuts a byte stream into lines. Bytes after the last `\n` are held until the rest
 * arrives (the writer may be in the middle of a line).
 */
export class LineSplitter {
  private rest: Buffer = Buffer.alloc(0);

  push(chunk: Buffer): Buffer[] {
    const data = this.rest.length > 0 ? Buffer.concat([this.rest, chunk]) : chunk;
    const lines: Buffer[] = [];
    let start = 0;
    for (let nl = data.indexOf(0x0a, start); nl >= 0; nl = data.indexOf(0x0a, start)) {
      lines.push(data.subarray(start, nl));
      start = nl + 1;
    }
    // copy so the caller may reuse its read buffer
    this.rest = Buffer.from(data.subarray(start));
    return lines;
  }

  /** How many bytes are held waiting for a newline. */
  get pending(): number {
    return this.rest.length;
  }
}

/**
 * Joins P pieces with the F that ends them, per stream (the two streams' pieces may
 * interleave). State carries across files, so a line cut by rotation is still one line.
 */
export class Reassembler {
  private readonly open = new Map<LogStream, { time: bigint; parts: Buffer[] }>();

  /** The completed line, or undefined while pieces are held. */
  push(entry: LogEntry): LogLine | undefined {
    const held = this.open.get(entry.stream);
    if (entry.partial) {
      if (held) held.parts.push(entry.content);
      else this.open.set(entry.stream, { time: entry.time, parts: [entry.content] });
      return undefined;
    }
    if (!held) return { time: entry.time, stream: entry.stream, content: entry.content, complete: true };
    this.open.delete(entry.stream);
    return { time: held.time, stream: entry.stream, content: Buffer.concat([...held.parts, entry.content]), complete: true };
  }

  /** Gives up the held pieces as lines without newline (oldest first), e.g. once the container stopped. */
  flush(): LogLine[] {
    const lines = [...this.open.entries()].map(([stream, held]): LogLine => ({ time: held.time, stream, content: Buffer.concat(held.parts), complete: false }));
    this.open.clear();
    return lines.sort((a, b) => (a.time < b.time ? -1 : a.time > b.time ? 1 : 0));
  }
}

export interface ParsedLog {
  lines: LogLine[];
  /** lines of the file that were not valid entries (skipped) */
  malformed: number;
}

/**
 * Parses a whole log (e.g. LOG.1 + LOG concatenated): complete file lines only, pieces
 * joined, held pieces at the end returned as incomplete lines.
 */
export function parseLog(data: Buffer): ParsedLog {
  const splitter = new LineSplitter();
  const reassembler = new Reassembler();
  const lines: LogLine[] = [];
  let malformed = 0;
  for (const raw of splitter.push(data)) {
    const entry = parseLogLine(raw);
    if (!entry) {
      malformed++;
      continue;
    }
    const line = reassembler.push(entry);
    if (line) lines.push(line);
  }
  lines.push(...reassembler.flush());
  return { lines, malformed };
}

/** What `docker logs` prints for a line: `-t` adds the timestamp and a space. */
export function renderLine(line: LogLine, timestamps: boolean): Buffer {
  const parts: Buffer[] = [];
  if (timestamps) parts.push(Buffer.from(`${formatTimestamp(line.time)} `, 'latin1'));
  parts.push(line.content);
  if (line.complete) parts.push(Buffer.from('\n'));
  return parts.length === 1 ? line.content : Buffer.concat(parts);
}
