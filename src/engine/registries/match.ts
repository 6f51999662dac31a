/**
 * Choosing the `[[registry]]` table for an image name and rewriting the name to a
 * location, as containers-registries.conf(5) defines it. Pure.
 *
 * A prefix matches a name that equals it or continues it with "/", ":" or "@"
 * (`example.com/foo` matches `example.com/foo/app` and `example.com/foo:1`, not
 * `example.com/foobar`). One deliberate difference: a prefix that is only a host does not
 * match the same host with a port (containers/image lets `example.com` match
 * `example.com:5000/...` and documents that as unintended). A `*.example.com` prefix
 * matches any subdomain (`a.example.com`, `a.b.example.com`, with any port), not
 * `example.com` itself. Of several matches the longest prefix wins.
 */
import { TscError } from '../errors.ts';
import { parseReference, type ImageReference } from '../reference/reference.ts';
import { isShortName } from './names.ts';
import type { RegistriesConfig, RegistryEntry } from './types.ts';

/**
 * How much of `name` (`registry/repository[:tag][@digest]`) the prefix covers, or -1.
 * For a wildcard prefix, the length of the matched host name.
 */
export function prefixMatch(name: string, prefix: string): number {
  if (prefix.startsWith('*.')) {
    const slash = name.indexOf('/');
    const host = slash === -1 ? name : name.slice(0, slash);
    const hostname = host.startsWith('[') ? host : host.split(':')[0]!;
    const suffix = prefix.slice(1);
    return hostname.length > suffix.length && hostname.endsWith(suffix) ? hostname.length : -1;
  }
  if (name === prefix) return prefix.length;
  if (!name.startsWith(prefix)) return -1;
  const next = name[prefix.length];
  const hostOnly = !prefix.includes('/');
  if (next === '/' || (!hostOnly && (next === ':' || next === '@'))) return prefix.length;
  return -1;
}

/** The table with the longest prefix matching `name`, or undefined. */
export function findRegistry(config: Pick<RegistriesConfig, 'registries'>, name: string): RegistryEntry | undefined {
  let best: RegistryEntry | undefined;
  for (const entry of config.registries) {
    if (prefixMatch(name, entry.prefix) !== -1 && (best === undefined || entry.prefix.length > best.prefix.length)) best = entry;
  }
  return best;
}

/**
 * `name` with the part the prefix matched replaced by `location` (a wildcard table
 * without a location leaves it as it is). Throws when the result is not a valid,
 * fully-qualified reference, naming the table.
 */
export function rewrite(ref: ImageReference, name: string, entry: RegistryEntry, location: string): ImageReference {
  const matched = prefixMatch(name, entry.prefix);
  if (matched === -1) throw new TscError('internal', `prefix "${entry.prefix}" does not match ${name}`);
  if (location === '') return ref;
  const text = location + name.slice(matched);
  const where = entry.origin.line === undefined ? entry.origin.file : `${entry.origin.file}:${entry.origin.line}`;
  if (isShortName(text)) {
    throw new TscError('invalid-content', `${where}: location "${location}" turns ${name} into ${text}, which names no registry`, {
      hint: `start the location with a registry host in ${entry.origin.file}`,
    });
  }
  try {
    return parseReference(text);
  } catch (error) {
    throw new TscError('invalid-content', `${where}: location "${location}" turns ${name} into the invalid reference ${text}`, {
      hint: `fix the location in ${entry.origin.file}`,
      cause: error,
    });
  }
}
