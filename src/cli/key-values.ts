import { TscError } from '../engine/index.ts';

/** Repeated `KEY=VALUE` flags (a bare `KEY` means an empty value) into a map; later keys win. */
export function parseKeyValues(flag: string, items: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const item of items) {
    const eq = item.indexOf('=');
    const key = eq < 0 ? item : item.slice(0, eq);
    if (key === '') throw new TscError('invalid-argument', `invalid ${flag} "${item}": the key is empty`, { hint: `${flag} KEY=VALUE` });
    out[key] = eq < 0 ? '' : item.slice(eq + 1);
  }
  return out;
}
