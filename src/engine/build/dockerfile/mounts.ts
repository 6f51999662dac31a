/**
 * RUN --mount=type=...,key=value,... into typed mounts. The spec is CSV (a field may be
 * double-quoted to hold commas); keys are case-insensitive; each value goes through the
 * shell-word expander, which is how buildkit lets `target=$HOME/.cache` work.
 */
import { LineError } from './errors.ts';
import type { Mount, MountSharing } from './instruction-types.ts';
import { expandWord, variablesIn, type EnvSource, type ShellOptions } from './shell.ts';
import { withSuggestion } from './suggest.ts';

const TYPES = ['bind', 'cache', 'tmpfs', 'secret', 'ssh'] as const;
type MountType = (typeof TYPES)[number];
const SHARING = ['shared', 'private', 'locked'] as const;
const KEYS = [
  'type', 'from', 'source', 'src', 'target', 'dst', 'destination', 'readonly', 'ro', 'readwrite', 'rw',
  'id', 'sharing', 'required', 'size', 'mode', 'uid', 'gid', 'env',
];
const BARE_KEYS = new Set(['readonly', 'ro', 'readwrite', 'rw', 'required']);

/** Splits a CSV line; `"..."` quotes a field part, `""` inside quotes is one `"`. */
export function csvFields(text: string): string[] {
  const fields: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if (quoted) {
      if (ch === '"' && text[i + 1] === '"') {
        field += '"';
        i++;
      } else if (ch === '"') {
        quoted = false;
      } else {
        field += ch;
      }
    } else if (ch === '"') {
      quoted = true;
    } else if (ch === ',') {
      fields.push(field);
      field = '';
    } else {
      field += ch;
    }
  }
  if (quoted) throw new LineError(`failed to parse csv mounts: unterminated quote in '${text}'`);
  fields.push(field);
  return fields;
}

/** strconv.ParseBool's spellings */
function parseBool(key: string, value: string): boolean {
  if (['1', 't', 'T', 'TRUE', 'true', 'True'].includes(value)) return true;
  if (['0', 'f', 'F', 'FALSE', 'false', 'False'].includes(value)) return false;
  throw new LineError(`invalid value for ${key}: ${value}`);
}

function parseUint(key: string, value: string, radix: 8 | 10): number {
  const pattern = radix === 8 ? /^[0-7]+$/ : /^[0-9]+$/;
  const n = pattern.test(value) ? parseInt(value, radix) : NaN;
  if (!(n <= 0xffffffff)) throw new LineError(`invalid value ${value} for ${key}`);
  return n;
}

/** Sizes such as `64m`, `1.5g`, `512MiB` in bytes, by powers of 1024 (docker's RAMInBytes). */
export function parseRamSize(value: string): number {
  const match = /^(\d+(?:\.\d+)?) ?([kmgtp]?)(?:i?b)?$/i.exec(value);
  if (!match) throw new LineError(`invalid value for size: ${value}`);
  const power = ' kmgtp'.indexOf(match[2]!.toLowerCase() || ' ');
  return Math.floor(Number(match[1]) * 1024 ** power);
}

/**
 * True when `spec` cannot be typed before expansion: some value reads a variable.
 * `from` may not, as the stage graph must be known before anything is expanded.
 */
export function mountNeedsExpansion(spec: string, options: ShellOptions): boolean {
  let needs = false;
  for (const field of csvFields(spec)) {
    const eq = field.indexOf('=');
    if (eq === -1) continue;
    const key = field.slice(0, eq).toLowerCase();
    const value = field.slice(eq + 1);
    if (variablesIn(value, options).length === 0) continue;
    if (key === 'from') throw new LineError("'from' doesn't support variable expansion, define alias stage instead");
    needs = true;
  }
  return needs;
}

/** The typed mount of `spec`, each value expanded against `env`. */
export function parseMount(spec: string, env: EnvSource, options: ShellOptions): Mount {
  const values = new Map<string, string>();
  const bare = new Set<string>();
  let type: MountType = 'bind';
  for (const field of csvFields(spec)) {
    const eq = field.indexOf('=');
    const key = (eq === -1 ? field : field.slice(0, eq)).toLowerCase();
    if (!KEYS.includes(key)) {
      throw new LineError(withSuggestion(`unexpected key '${key}' in '${field}'`, key, KEYS));
    }
    if (eq === -1) {
      if (!BARE_KEYS.has(key)) throw new LineError(`invalid field '${field}' must be a key=value pair`);
      bare.add(key);
      continue;
    }
    const value = key === 'from' ? field.slice(eq + 1) : expandWord(field.slice(eq + 1), env, options);
    if (key === 'type') {
      const wanted = value.toLowerCase();
      if (!(TYPES as readonly string[]).includes(wanted)) {
        throw new LineError(withSuggestion(`unsupported mount type "${value}"`, wanted, TYPES));
      }
      type = wanted as MountType;
    } else {
      values.set(key, value);
    }
  }
  const get = (...keys: string[]): string | null => {
    for (const key of keys) {
      const value = values.get(key);
      if (value !== undefined) return value;
    }
    return null;
  };
  const flag = (key: string, alias: string): boolean | null => {
    if (bare.has(key) || bare.has(alias)) return true;
    const value = get(key, alias);
    return value === null ? null : parseBool(key, value);
  };

  const fileInfo = type === 'secret' || type === 'ssh' || type === 'cache';
  for (const key of ['mode', 'uid', 'gid']) {
    if (!fileInfo && values.has(key)) throw new LineError(`${key} not allowed for "${type}" type mounts`);
  }
  if (type !== 'tmpfs' && values.has('size')) throw new LineError(`unexpected key 'size' for mount type '${type}'`);
  if (type !== 'secret' && type !== 'ssh' && (bare.has('required') || values.has('required'))) {
    throw new LineError(`unexpected key 'required' for mount type '${type}'`);
  }
  if (type !== 'cache' && values.has('sharing')) throw new LineError(`invalid cache sharing set for ${type} mount`);
  if (type === 'secret' && values.has('from')) throw new LineError('secret mount should not have a from');

  const rw = flag('readwrite', 'rw');
  const ro = flag('readonly', 'ro');
  const readOnly = (fallback: boolean): boolean => ro ?? (rw === null ? fallback : !rw);
  const target = get('target', 'dst', 'destination');
  const source = get('source', 'src');
  const requiredValue = get('required');
  const required = bare.has('required') || (requiredValue !== null && parseBool('required', requiredValue));
  const owner = (mode: number) => ({
    mode: values.has('mode') ? parseUint('mode', values.get('mode')!, 8) : mode,
    uid: values.has('uid') ? parseUint('uid', values.get('uid')!, 10) : 0,
    gid: values.has('gid') ? parseUint('gid', values.get('gid')!, 10) : 0,
  });
  const needTarget = (): string => {
    if (target === null || target === '') throw new LineError(`mount of type ${type} needs a target`);
    return target;
  };

  switch (type) {
    case 'bind':
      return { type, target: needTarget(), source, from: get('from'), readOnly: readOnly(true) };
    case 'cache': {
      const sharing = (get('sharing') ?? 'shared').toLowerCase();
      if (!(SHARING as readonly string[]).includes(sharing)) {
        throw new LineError(withSuggestion(`unsupported sharing value "${get('sharing')}"`, sharing, SHARING));
      }
      const mountTarget = needTarget();
      return {
        type,
        target: mountTarget,
        id: get('id') || mountTarget,
        source,
        from: get('from'),
        readOnly: readOnly(false),
        sharing: sharing as MountSharing,
        ...owner(0o755),
      };
    }
    case 'tmpfs': {
      const size = get('size');
      return { type, target: needTarget(), size: size === null ? null : parseRamSize(size) };
    }
    case 'secret': {
      const id = get('id');
      if (id !== null && source !== null) throw new LineError("both source and id can't be set");
      const env = get('env');
      const name = id ?? source ?? (target === null ? null : target.split('/').filter((p) => p !== '').pop() ?? null);
      if (name === null || name === '') throw new LineError('invalid secret mount: one of id, source or target is required');
      return { type, id: name, target: target ?? (env === null ? `/run/secrets/${name}` : null), env, required, ...owner(0o400) };
    }
    case 'ssh':
      return { type, id: get('id') ?? 'default', target, required, ...owner(0o600) };
  }
}
