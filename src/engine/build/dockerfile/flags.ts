/**
 * Checking an instruction's `--flags` against the ones it accepts, as buildkit does:
 * unknown and repeated flags are errors (except list flags such as --mount), string
 * flags need a value, boolean flags take none or true/false.
 */
import type { Flag } from './ast.ts';
import { LineError } from './errors.ts';
import { withSuggestion } from './suggest.ts';

export type FlagKind = 'bool' | 'string' | 'strings';

export type FlagSpec = Readonly<Record<string, FlagKind>>;

export class ParsedFlags {
  private readonly values = new Map<string, string[]>();

  constructor(instruction: string, flags: readonly Flag[], spec: FlagSpec) {
    for (const flag of flags) {
      const kind = spec[flag.name];
      const shown = `--${flag.name}`;
      if (kind === undefined) {
        const known = Object.keys(spec).map((name) => `--${name}`);
        const message = known.length === 0 ? `${instruction} takes no flags, but got ${shown}` : `unknown flag for ${instruction}: ${shown}`;
        throw new LineError(withSuggestion(message, shown, known));
      }
      const seen = this.values.get(flag.name) ?? [];
      if (seen.length > 0 && kind !== 'strings') throw new LineError(`duplicate flag specified: ${shown}`);
      let value: string;
      if (kind === 'bool') {
        if (flag.value === '') throw new LineError(`missing a value on flag: ${shown}`);
        const text = (flag.value ?? 'true').toLowerCase();
        if (text !== 'true' && text !== 'false') {
          throw new LineError(`expecting boolean value for flag ${shown}, not: ${flag.value}`);
        }
        value = text;
      } else {
        if (flag.value === null) throw new LineError(`missing a value on flag: ${shown}`);
        value = flag.value;
      }
      this.values.set(flag.name, [...seen, value]);
    }
  }

  /** true or false when given, null when absent */
  bool(name: string): boolean | null {
    const value = this.values.get(name)?.[0];
    return value === undefined ? null : value === 'true';
  }

  string(name: string): string | null {
    return this.values.get(name)?.[0] ?? null;
  }

  strings(name: string): string[] {
    return this.values.get(name) ?? [];
  }
}

export const FLAG_SPECS: Readonly<Record<string, FlagSpec>> = {
  FROM: { platform: 'string' },
  RUN: { mount: 'strings', network: 'string', security: 'string' },
  COPY: { from: 'string', chown: 'string', chmod: 'string', link: 'bool', exclude: 'strings', parents: 'bool' },
  ADD: {
    chown: 'string',
    chmod: 'string',
    link: 'bool',
    'keep-git-dir': 'bool',
    checksum: 'string',
    unpack: 'bool',
    exclude: 'strings',
  },
  HEALTHCHECK: {
    interval: 'string',
    timeout: 'string',
    'start-period': 'string',
    'start-interval': 'string',
    retries: 'string',
  },
};

export function parseFlags(instruction: string, flags: readonly Flag[]): ParsedFlags {
  return new ParsedFlags(instruction, flags, FLAG_SPECS[instruction] ?? {});
}
