/**
 * registries.conf text -> ConfigFile, checked the way containers/image checks it, with
 * the file (and line, where it can be found) in every error. Pure: bytes in, data out.
 *
 * Read: `unqualified-search-registries`, `short-name-mode`, `[aliases]`, and `[[registry]]`
 * tables with `prefix`, `location`, `insecure`, `blocked`, `mirror-by-digest-only` and
 * `[[registry.mirror]]` (`location`, `insecure`, `pull-from-mirror`). The deprecated v1
 * format (`[registries.search]`, `.insecure`, `.block`) is converted, as podman does, but
 * not in drop-ins. Other keys (`credential-helpers`, `additional-layer-store-auth-helper`)
 * are accepted and ignored: tsc reads credentials only from auth files.
 */
import { parse, TomlError } from 'smol-toml';
import { TscError } from '../errors.ts';
import { parseReference } from '../reference/reference.ts';
import { lineLocator, type LineLocator } from './lines.ts';
import { isShortName, normalisedName } from './names.ts';
import type { AliasEntry, ConfigFile, MirrorEntry, Origin, PullFromMirror, RegistryEntry, ShortNameMode } from './types.ts';

export interface ParseOptions {
  /** a registries.conf.d file: the v1 format is refused */
  dropIn?: boolean;
}

const SHORT_NAME_MODES: readonly ShortNameMode[] = ['enforcing', 'permissive', 'disabled'];
const PULL_FROM_MIRROR: readonly PullFromMirror[] = ['all', 'digest-only', 'tag-only'];
const V2_KEYS = ['registry', 'unqualified-search-registries', 'credential-helpers', 'short-name-mode', 'aliases', 'additional-layer-store-auth-helper'];

type Table = Record<string, unknown>;

/** The error for a problem in a configuration file: `file[:line]: message`. */
export function configError(origin: Origin, message: string, hint?: string): TscError {
  const where = origin.line === undefined ? origin.file : `${origin.file}:${origin.line}`;
  return new TscError('invalid-content', `${where}: ${message}`, { hint: hint ?? `fix ${origin.file} (see containers-registries.conf(5))` });
}

/** Parses TOML; a syntax error names the file, line and column. */
export function parseToml(text: string, file: string): Table {
  try {
    return parse(text) as Table;
  } catch (error) {
    if (error instanceof TomlError) {
      const reason = error.message.split('\n')[0]!.replace(/^Invalid TOML document: /, '');
      throw new TscError('invalid-content', `${file}:${error.line}:${error.column}: invalid toml: ${reason}`, {
        hint: `fix the syntax of ${file}`,
        cause: error,
      });
    }
    throw error;
  }
}

export function parseRegistriesConf(text: string, file: string, options: ParseOptions = {}): ConfigFile {
  const doc = parseToml(text, file);
  const reader = new Reader(file, lineLocator(text));
  const result: ConfigFile = { file, registries: [], aliases: [] };

  if (doc.registries !== undefined) {
    const v2 = V2_KEYS.filter((key) => doc[key] !== undefined);
    const at = ['registries', 'registries.search', 'registries.insecure', 'registries.block'].map((t) => reader.origin(t)).find((o) => o.line !== undefined);
    const origin = at ?? { file };
    if (options.dropIn) throw configError(origin, 'drop-in files must use the v2 format, not [registries.*]');
    if (v2.length > 0) throw configError(origin, `the v1 format ([registries.*]) cannot be mixed with v2 keys (${v2.join(', ')})`);
    return convertV1(doc.registries, reader, result);
  }

  if (doc['unqualified-search-registries'] !== undefined) {
    const origin = reader.origin('', 'unqualified-search-registries');
    const registries = reader.stringArray(doc['unqualified-search-registries'], origin, 'unqualified-search-registries');
    result.unqualifiedSearch = { registries: registries.map((r) => searchRegistry(r, origin)), origin };
  }
  const mode = doc['short-name-mode'];
  if (mode !== undefined && mode !== '') {
    const origin = reader.origin('', 'short-name-mode');
    if (typeof mode !== 'string' || !SHORT_NAME_MODES.includes(mode as ShortNameMode)) {
      throw configError(origin, `invalid short-name-mode ${JSON.stringify(mode)}: use enforcing, permissive or disabled`);
    }
    result.shortNameMode = { mode: mode as ShortNameMode, origin };
  }
  if (doc.aliases !== undefined) result.aliases = parseAliasTable(doc.aliases, reader);
  if (doc.registry !== undefined) result.registries = parseRegistries(doc.registry, reader);
  return result;
}

/** short-name-aliases.conf: only an `[aliases]` table (other keys are ignored, as podman does). */
export function parseAliasesFile(text: string, file: string): AliasEntry[] {
  const doc = parseToml(text, file);
  return doc.aliases === undefined ? [] : parseAliasTable(doc.aliases, new Reader(file, lineLocator(text)));
}

class Reader {
  readonly file: string;
  readonly #lines: LineLocator;

  constructor(file: string, lines: LineLocator) {
    this.file = file;
    this.#lines = lines;
  }

  /**
   * The key's line, else its table's header line, else (for a table written inline, like
   * `mirror = [{...}]`) the line of the key that holds it, and so on outwards.
   */
  origin(table: string, key?: string): Origin {
    let line = key === undefined ? undefined : this.#lines.line(table, key);
    let name = table;
    while (line === undefined && name !== '') {
      line = this.#lines.line(name);
      const parent = /^(?:(.*)\.)?([^.[\]]+)(?:\[\d+\])?$/.exec(name);
      if (line !== undefined || parent === null) break;
      name = parent[1] ?? '';
      line = this.#lines.line(name, parent[2]!);
    }
    return { file: this.file, line };
  }

  table(value: unknown, origin: Origin, what: string): Table {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) throw configError(origin, `${what} must be a table`);
    return value as Table;
  }

  tables(value: unknown, origin: Origin, what: string): Table[] {
    if (!Array.isArray(value)) throw configError(origin, `${what} must be an array of tables ([[${what}]])`);
    return value.map((v) => this.table(v, origin, what));
  }

  string(table: Table, key: string, name: string): string | undefined {
    const value = table[key];
    if (value === undefined) return undefined;
    if (typeof value !== 'string') throw configError(this.origin(name, key), `${key} must be a string`);
    return value;
  }

  bool(table: Table, key: string, name: string): boolean | undefined {
    const value = table[key];
    if (value === undefined) return undefined;
    if (typeof value !== 'boolean') throw configError(this.origin(name, key), `${key} must be true or false`);
    return value;
  }

  stringArray(value: unknown, origin: Origin, key: string): string[] {
    if (!Array.isArray(value) || value.some((v) => typeof v !== 'string')) throw configError(origin, `${key} must be an array of strings`);
    return value as string[];
  }
}

function parseRegistries(value: unknown, reader: Reader): RegistryEntry[] {
  const entries = reader.tables(value, reader.origin('registry[0]'), 'registry').map((raw, i): RegistryEntry => {
    const name = `registry[${i}]`;
    const origin = reader.origin(name);
    const location = parseLocation(reader.string(raw, 'location', name) ?? '', reader.origin(name, 'location'));
    const prefixText = reader.string(raw, 'prefix', name);
    if (raw['pull-from-mirror'] !== undefined) {
      throw configError(reader.origin(name, 'pull-from-mirror'), 'pull-from-mirror is allowed only in [[registry.mirror]] tables');
    }
    let prefix: string;
    if (prefixText === undefined || prefixText === '') {
      if (location === '') throw configError(origin, '[[registry]] needs a location or a prefix');
      prefix = location;
    } else {
      prefix = parseLocation(prefixText, reader.origin(name, 'prefix'));
      if (location === '' && !prefix.startsWith('*.')) {
        throw configError(origin, `[[registry]] with prefix "${prefix}" needs a location (only a *.example.com prefix may leave it out)`);
      }
    }
    checkPrefix(prefix, reader.origin(name, 'prefix'));
    const entry: RegistryEntry = {
      prefix,
      location,
      insecure: reader.bool(raw, 'insecure', name),
      blocked: reader.bool(raw, 'blocked', name) ?? false,
      mirrorByDigestOnly: reader.bool(raw, 'mirror-by-digest-only', name) ?? false,
      mirrors: [],
      origin,
    };
    if (raw.mirror !== undefined) entry.mirrors = parseMirrors(raw.mirror, reader, name, entry);
    return entry;
  });
  checkConflicts(entries);
  // the first table with a prefix wins, as in containers/image; sorted for a stable order
  const unique = new Map<string, RegistryEntry>();
  for (const entry of entries) if (!unique.has(entry.prefix)) unique.set(entry.prefix, entry);
  return [...unique.values()].sort((a, b) => (a.prefix < b.prefix ? -1 : a.prefix > b.prefix ? 1 : 0));
}

function parseMirrors(value: unknown, reader: Reader, parent: string, entry: RegistryEntry): MirrorEntry[] {
  return reader.tables(value, reader.origin(parent, 'mirror'), 'registry.mirror').map((raw, j): MirrorEntry => {
    const name = `${parent}.mirror[${j}]`;
    const origin = reader.origin(name);
    const location = parseLocation(reader.string(raw, 'location', name) ?? '', reader.origin(name, 'location'));
    if (location === '') throw configError(origin, `a mirror of "${entry.prefix}" has no location`);
    const pull = reader.string(raw, 'pull-from-mirror', name);
    if (pull !== undefined && pull !== '') {
      const at = reader.origin(name, 'pull-from-mirror');
      if (!PULL_FROM_MIRROR.includes(pull as PullFromMirror)) {
        throw configError(at, `invalid pull-from-mirror "${pull}" for mirror ${location}: use all, digest-only or tag-only`);
      }
      if (entry.mirrorByDigestOnly) {
        throw configError(at, `"${entry.prefix}" sets mirror-by-digest-only, so its mirror ${location} cannot set pull-from-mirror`);
      }
    }
    return { location, insecure: reader.bool(raw, 'insecure', name), pullFromMirror: (pull || 'all') as PullFromMirror, origin };
  });
}

/** A location or prefix: trailing slashes dropped, no URL scheme. */
function parseLocation(text: string, origin: Origin): string {
  const trimmed = text.replace(/\/+$/, '');
  if (/^https?:\/\//.test(trimmed)) {
    throw configError(origin, `invalid location "${text}": leave out the scheme (${trimmed.replace(/^https?:\/\//, '')})`);
  }
  return trimmed;
}

function checkPrefix(prefix: string, origin: Origin): void {
  const star = prefix.indexOf('*');
  if (star === -1) return;
  if (star !== 0 || !prefix.startsWith('*.') || /[/@:*]/.test(prefix.slice(2)) || prefix.length === 2) {
    throw configError(origin, `invalid prefix "${prefix}": a wildcard prefix looks like *.example.com (no port, path, tag or digest)`);
  }
}

/** A registry named twice (by location) must agree on insecure and blocked. */
function checkConflicts(entries: readonly RegistryEntry[]): void {
  const seen = new Map<string, RegistryEntry>();
  for (const entry of entries) {
    const key = entry.location === '' ? entry.prefix : entry.location;
    const other = seen.get(key);
    if (other === undefined) {
      seen.set(key, entry);
      continue;
    }
    for (const [field, a, b] of [['insecure', other.insecure ?? false, entry.insecure ?? false], ['blocked', other.blocked, entry.blocked]] as const) {
      if (a !== b) {
        const first = other.origin.line === undefined ? '' : ` (first at line ${other.origin.line})`;
        throw configError(entry.origin, `registry "${key}" is defined more than once with conflicting ${field} settings${first}`);
      }
    }
  }
}

/** An unqualified-search registry: a host[:port], nothing more. */
function searchRegistry(text: string, origin: Origin): string {
  const host = text.replace(/\/+$/, '');
  const bad = (): never => {
    throw configError(origin, `invalid unqualified-search-registries entry "${text}": use a registry host[:port] such as docker.io or quay.io`);
  };
  if (host === '' || host.includes('/') || /^https?:/.test(host) || isShortName(`${host}/x`)) bad();
  try {
    return parseReference(`${host}/x`).registry;
  } catch {
    return bad();
  }
}

function parseAliasTable(value: unknown, reader: Reader): AliasEntry[] {
  const table = reader.table(value, reader.origin('aliases'), 'aliases');
  return Object.entries(table).map(([name, target]): AliasEntry => {
    const origin = reader.origin('aliases', name);
    if (typeof target !== 'string') throw configError(origin, `alias "${name}" must be a string`);
    checkAliasName(name, origin);
    return { name, value: target === '' ? undefined : aliasValue(name, target, origin), origin };
  });
}

function checkAliasName(name: string, origin: Origin): void {
  const fail = (reason: string): never => {
    throw configError(origin, `invalid short name "${name}" in [aliases]: ${reason}`);
  };
  if (!isShortName(name)) fail('it must not name a registry');
  if (name.includes('@')) fail('it must not have a digest');
  if (name.lastIndexOf(':') > name.lastIndexOf('/')) fail('it must not have a tag');
  try {
    parseReference(name);
  } catch (error) {
    fail((error as Error).message);
  }
}

function aliasValue(name: string, target: string, origin: Origin): string {
  const fail = (reason: string): never => {
    throw configError(origin, `invalid alias "${name}" = "${target}": ${reason}`);
  };
  if (isShortName(target)) fail('the value must be a fully-qualified name such as docker.io/library/busybox');
  if (target.includes('@')) fail('the value must not have a digest');
  if (target.lastIndexOf(':') > target.lastIndexOf('/')) fail('the value must not have a tag');
  try {
    return normalisedName(target);
  } catch (error) {
    return fail((error as Error).message);
  }
}

function convertV1(value: unknown, reader: Reader, result: ConfigFile): ConfigFile {
  const v1 = reader.table(value, reader.origin('registries'), 'registries');
  const list = (section: string): { hosts: string[]; origin: Origin } => {
    const origin = reader.origin(`registries.${section}`, 'registries');
    const table = v1[section];
    if (table === undefined) return { hosts: [], origin };
    const hosts = reader.table(table, origin, `registries.${section}`).registries;
    return { hosts: hosts === undefined ? [] : reader.stringArray(hosts, origin, `registries.${section}.registries`), origin };
  };
  const byLocation = new Map<string, RegistryEntry>();
  const entry = (host: string, origin: Origin): RegistryEntry => {
    const location = parseLocation(host, origin);
    let found = byLocation.get(location);
    if (found === undefined) {
      found = { prefix: location, location, insecure: undefined, blocked: false, mirrorByDigestOnly: false, mirrors: [], origin };
      byLocation.set(location, found);
    }
    return found;
  };
  const blocked = list('block');
  for (const host of blocked.hosts) entry(host, blocked.origin).blocked = true;
  const insecure = list('insecure');
  for (const host of insecure.hosts) entry(host, insecure.origin).insecure = true;
  const search = list('search');
  if (v1.search !== undefined) result.unqualifiedSearch = { registries: search.hosts.map((h) => searchRegistry(h, search.origin)), origin: search.origin };
  result.registries = [...byLocation.values()].sort((a, b) => (a.prefix < b.prefix ? -1 : a.prefix > b.prefix ? 1 : 0));
  return result;
}
