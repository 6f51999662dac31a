/**
 * config.json text for a spec. JSON.stringify alone would write RLIM_INFINITY (2^64 as
 * a double) as 18446744073709552000, which overflows a uint64; this writes the exact
 * 18446744073709551615, which JSON.parse reads back as RLIM_INFINITY.
 */
import { RLIM_INFINITY, type Spec } from './types.ts';

const INFINITY_TEXT = '18446744073709551615';

export function specToJson(spec: Spec): string {
  const plain = JSON.stringify(spec, null, 2);
  let marker = 'tsc-rlim-infinity';
  while (plain.includes(marker)) marker += '-';
  const text = JSON.stringify(spec, (_key, value: unknown) => (value === RLIM_INFINITY ? marker : value), 2);
  return `${text.replaceAll(`"${marker}"`, INFINITY_TEXT)}\n`;
}
