/** HEALTHCHECK's options: Go-style durations and the retry count. */
import { LineError } from './errors.ts';
import type { ParsedFlags } from './flags.ts';

const UNIT_NS: Record<string, number> = {
  ns: 1,
  us: 1e3,
  'µs': 1e3,
  'μs': 1e3,
  ms: 1e6,
  s: 1e9,
  m: 60e9,
  h: 3600e9,
};

/**
 * A duration as Go's time.ParseDuration reads it (`1h30m`, `2.5s`, `500ms`, `0`), in
 * nanoseconds.
 */
export function parseDuration(text: string): number {
  const match = /^([-+]?)(.*)$/.exec(text)!;
  const sign = match[1] === '-' ? -1 : 1;
  const body = match[2]!;
  if (body === '0') return 0;
  const part = /(\d*\.?\d*)([a-zµμ]+)/gy;
  let total = 0;
  let consumed = 0;
  for (let m = part.exec(body); m !== null; m = part.exec(body)) {
    const unit = UNIT_NS[m[2]!];
    if (m[1] === '' || m[1] === '.' || unit === undefined) break;
    total += Number(m[1]) * unit;
    consumed = part.lastIndex;
  }
  if (body === '' || consumed !== body.length) throw new LineError(`invalid duration "${text}"`);
  return sign * Math.round(total);
}

/** A duration flag in nanoseconds: 0 when absent or zero, otherwise at least 1ms. */
export function durationFlag(flags: ParsedFlags, name: string): number {
  const value = flags.string(name);
  if (value === null || value === '') return 0;
  const ns = parseDuration(value);
  if (ns !== 0 && ns < 1e6) throw new LineError(`--${name} cannot be less than 1ms`);
  return ns;
}

export function retriesFlag(flags: ParsedFlags): number {
  const value = flags.string('retries');
  if (value === null || value === '') return 0;
  if (!/^[-+]?\d+$/.test(value) || Math.abs(Number(value)) > 2 ** 31 - 1) {
    throw new LineError(`invalid value for --retries: ${value}`);
  }
  const retries = Number(value);
  if (retries < 0) throw new LineError(`--retries cannot be negative (${retries})`);
  return retries;
}
