/**
 * The values of `logs --tail/--since/--until`, read as docker reads them: pure functions of
 * the text (and of "now" for relative durations), with errors that show what is accepted.
 */
import { TscError } from '../errors.ts';

export interface LogOptions {
  /** lines (after reassembly) to show from the end of LOG.1 + LOG; default all */
  tail?: number | 'all';
  /** only lines at or after this time */
  since?: Date;
  /** only lines at or before this time */
  until?: Date;
  /** prefix each line with its RFC3339Nano time and a space */
  timestamps?: boolean;
  /** keep reading what is appended until the container stops */
  follow?: boolean;
}

/** The flags as typed by the user. */
export interface LogRequest {
  tail?: string | undefined;
  since?: string | undefined;
  until?: string | undefined;
  timestamps?: boolean | undefined;
  follow?: boolean | undefined;
}

export function parseLogRequest(request: LogRequest, now: Date = new Date()): LogOptions {
  const options: LogOptions = { timestamps: request.timestamps ?? false, follow: request.follow ?? false };
  if (request.tail !== undefined) options.tail = parseTail(request.tail);
  if (request.since !== undefined) options.since = parseTimeArg(request.since, now, 'since');
  if (request.until !== undefined) options.until = parseTimeArg(request.until, now, 'until');
  return options;
}

/** `all`, or a number of lines; a negative number means all (as docker). */
export function parseTail(value: string): number | 'all' {
  const text = value.trim();
  if (text === 'all') return 'all';
  if (/^-?\d+$/.test(text)) {
    const n = Number(text);
    return n < 0 ? 'all' : n;
  }
  throw new TscError('invalid-argument', `invalid --tail value "${value}": expected a number of lines or "all"`, { hint: 'e.g. --tail 100' });
}

const DURATION_UNITS: Record<string, number> = { ns: 1e-6, us: 1e-3, 'µs': 1e-3, 'μs': 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
const DURATION = /^[+-]?(?:(?:\d+(?:\.\d*)?|\.\d+)(?:ns|us|µs|μs|ms|s|m|h))+$/;
const DURATION_PART = /(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h)/g;
const UNIX = /^(\d+)(?:\.(\d{1,9}))?$/;
const DATE_TIME = /^(\d{4})-(\d{2})-(\d{2})(?:[Tt](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?)?(?:([Zz])|([+-])(\d{2}):?(\d{2}))?$/;

/**
 * A --since/--until value, as docker accepts it:
 *   - RFC 3339 and its shorter forms: `2024-01-02T15:04:05.123Z`, `2024-01-02T15:04:05+02:00`,
 *     `2024-01-02T15:04`, `2024-01-02` (without a zone: local time, as docker)
 *   - a Unix timestamp in seconds: `1700000000`, `1700000000.123`
 *   - a Go duration before `now`: `42s`, `10m`, `1h30m`, `1.5h`
 * Precision is milliseconds (a Date).
 */
export function parseTimeArg(value: string, now: Date = new Date(), flag = 'since'): Date {
  const text = value.trim();
  const fail = (why: string): never => {
    throw new TscError('invalid-argument', `invalid --${flag} value "${value}": ${why}`, {
      hint: 'use an RFC 3339 time (2024-01-02T15:04:05Z), a Unix timestamp (1700000000.5) or a duration before now (42s, 10m, 1h30m)',
    });
  };
  if (text === '') return fail('empty');

  if (DURATION.test(text)) {
    let ms = 0;
    for (const [, amount, unit] of text.matchAll(DURATION_PART)) ms += Number(amount) * DURATION_UNITS[unit!]!;
    if (text.startsWith('-')) ms = -ms;
    return new Date(now.getTime() - Math.floor(ms));
  }

  const unix = UNIX.exec(text);
  if (unix) {
    const ms = Number(unix[1]) * 1000 + Number((unix[2] ?? '').padEnd(3, '0').slice(0, 3));
    const date = new Date(ms);
    return Number.isNaN(date.getTime()) ? fail('the timestamp is out of range') : date;
  }

  const m = DATE_TIME.exec(text);
  if (!m) return fail('not a time, Unix timestamp or duration');
  const [year, month, day] = [Number(m[1]), Number(m[2]), Number(m[3])];
  const [hour, minute, second] = [Number(m[4] ?? 0), Number(m[5] ?? 0), Number(m[6] ?? 0)];
  const ms = Number((m[7] ?? '').padEnd(3, '0').slice(0, 3));
  if (month < 1 || month > 12 || hour > 23 || minute > 59 || second > 59) return fail('a field is out of range');
  let date: Date;
  if (m[8] === undefined && m[9] === undefined) {
    date = new Date(year, month - 1, day, hour, minute, second, ms);
    if (date.getFullYear() !== year || date.getMonth() !== month - 1 || date.getDate() !== day) return fail('no such day');
  } else {
    date = new Date(Date.UTC(year, month - 1, day, hour, minute, second, ms));
    if (date.getUTCFullYear() !== year || date.getUTCMonth() !== month - 1 || date.getUTCDate() !== day) return fail('no such day');
    if (m[9] !== undefined) {
      const offset = (Number(m[10]) * 60 + Number(m[11])) * 60_000;
      if (Number(m[10]) > 23 || Number(m[11]) > 59) return fail('the zone offset is out of range');
      date = new Date(date.getTime() - (m[9] === '+' ? offset : -offset));
    }
  }
  return date;
}
