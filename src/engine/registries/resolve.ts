/**
 * Where to pull an image from: the user's text -> the names it may mean -> for each name
 * the endpoints to try (mirrors first, then the primary location), in order. Pure: the
 * configuration comes in as data, nothing is contacted.
 *
 * Names (containers-registries.conf(5), "Short-Name Aliasing"):
 *  - a fully-qualified name is used as it is;
 *  - a short name with an alias (tag and digest are kept) resolves to the alias only;
 *  - else to each unqualified-search registry in order; with none configured anywhere,
 *    tsc uses docker.io as docker does (podman would fail instead); with an explicitly
 *    empty list it fails, naming the file.
 * short-name-mode: `disabled` and `permissive` try every search registry; `enforcing`
 * with more than one fails. podman asks on a terminal instead; tsc never prompts, so
 * for it enforcing always means "use a fully-qualified name or an alias".
 *
 * Endpoints: the `[[registry]]` with the longest matching prefix decides. A blocked table
 * forbids the name (an error naming the file and line); mirrors come first, filtered by
 * `mirror-by-digest-only` / `pull-from-mirror`, then the location (or the name itself).
 * An endpoint whose own rewritten name falls under a blocked table is skipped.
 *
 * insecure: the mirror's or table's own `insecure`, else that of the table matching the
 * endpoint's name, else tsc's default: plain http for loopback registries (docker's rule),
 * https for everything else. `insecureFrom` tells which, so the caller can still choose
 * https for a loopback registry that has certificates in certs.d.
 */
import { TscError } from '../errors.ts';
import { formatReference, parseReference, type ImageReference } from '../reference/reference.ts';
import { findRegistry, rewrite } from './match.ts';
import { isLoopbackRegistry, isShortName, splitName } from './names.ts';
import type { Origin, RegistriesConfig, RegistryEntry } from './types.ts';

export interface PullCandidate {
  /** the name the image is stored under: what the user asked for, completed */
  name: ImageReference;
  /** what to fetch from `endpoint`: the name rewritten by the table's or mirror's location */
  reference: ImageReference;
  /** host[:port] to contact (reference.registry) */
  endpoint: string;
  /** plain http */
  insecure: boolean;
  insecureFrom: 'registries.conf' | 'loopback' | 'default';
  mirror: boolean;
}

export interface PullPlan {
  candidates: PullCandidate[];
  /** how the text became names: as is, an alias, the search registries, or docker.io by default */
  resolvedBy: 'qualified' | 'alias' | 'search' | 'default-registry';
  /** the file of the alias or search list that decided */
  origin?: Origin | undefined;
}

export function resolvePull(text: string, config: RegistriesConfig): PullPlan {
  const parsed = parseReference(text);
  const { names, resolvedBy, origin } = resolveNames(text, parsed, config);
  const candidates: PullCandidate[] = [];
  const refusals: TscError[] = [];
  for (const name of names) {
    const formatted = formatReference(name);
    const entry = findRegistry(config, formatted);
    if (entry?.blocked) {
      refusals.push(blockedError(formatted, entry));
      continue;
    }
    for (const source of sources(name, formatted, entry)) {
      const sourceName = formatReference(source.reference);
      const own = findRegistry(config, sourceName);
      if (own !== undefined && own !== entry && own.blocked) {
        refusals.push(blockedError(sourceName, own));
        continue;
      }
      const configured = source.insecure ?? own?.insecure;
      const endpoint = source.reference.registry;
      candidates.push({
        name,
        reference: source.reference,
        endpoint,
        insecure: configured ?? isLoopbackRegistry(endpoint),
        insecureFrom: configured !== undefined ? 'registries.conf' : isLoopbackRegistry(endpoint) ? 'loopback' : 'default',
        mirror: source.mirror,
      });
    }
  }
  if (candidates.length === 0) throw refusals[0] ?? new TscError('internal', `no pull candidates for ${text}`);
  return { candidates, resolvedBy, origin };
}

function resolveNames(text: string, parsed: ImageReference, config: RegistriesConfig): { names: ImageReference[]; resolvedBy: PullPlan['resolvedBy']; origin?: Origin } {
  if (!isShortName(text)) return { names: [parsed], resolvedBy: 'qualified' };
  const { name, suffix } = splitName(text);
  const alias = config.aliases.get(name);
  if (alias?.value !== undefined) return { names: [parseReference(alias.value + suffix)], resolvedBy: 'alias', origin: alias.origin };

  const search = config.unqualifiedSearch;
  if (search === undefined) return { names: [parsed], resolvedBy: 'default-registry' };
  if (search.registries.length === 0) {
    throw new TscError('invalid-argument', `short name "${text}" did not resolve to an alias and no unqualified-search registries are defined in ${search.origin.file}`, {
      hint: `use a fully-qualified name such as docker.io/${text}, or add unqualified-search-registries or an alias to ${search.origin.file}`,
    });
  }
  const names = search.registries.map((registry) => parseReference(`${registry}/${text}`));
  if (config.shortNameMode === 'enforcing' && names.length > 1) {
    const file = config.shortNameModeOrigin?.file ?? search.origin.file;
    throw new TscError('invalid-argument', `short name "${text}" is ambiguous: short-name-mode is enforcing (${file}) and it could come from ${search.registries.join(', ')}`, {
      hint: `use a fully-qualified name such as ${formatReference(names[0]!)}, or add an alias for "${name}" in [aliases]`,
    });
  }
  return { names, resolvedBy: 'search', origin: search.origin };
}

interface Source {
  reference: ImageReference;
  insecure: boolean | undefined;
  mirror: boolean;
}

function sources(name: ImageReference, formatted: string, entry: RegistryEntry | undefined): Source[] {
  if (entry === undefined) return [{ reference: name, insecure: undefined, mirror: false }];
  const byDigest = name.digest !== undefined;
  const mirrors = entry.mirrors.filter((m) => {
    if (entry.mirrorByDigestOnly) return byDigest;
    if (m.pullFromMirror === 'digest-only') return byDigest;
    if (m.pullFromMirror === 'tag-only') return !byDigest;
    return true;
  });
  return [
    ...mirrors.map((m) => ({ reference: rewrite(name, formatted, entry, m.location), insecure: m.insecure, mirror: true })),
    { reference: rewrite(name, formatted, entry, entry.location), insecure: entry.insecure, mirror: false },
  ];
}

function blockedError(name: string, entry: RegistryEntry): TscError {
  const where = entry.origin.line === undefined ? entry.origin.file : `${entry.origin.file}:${entry.origin.line}`;
  return new TscError('invalid-argument', `pulling ${name} is blocked by the registry "${entry.prefix}" in ${where}`, {
    hint: `remove "blocked = true" from that [[registry]] table if the image is allowed`,
  });
}
