/**
 * `tsc volume ls` with docker's filters: name=SUBSTRING|REGEX, label=KEY[=VALUE],
 * dangling=true|false (no container uses it), driver=NAME. Values of one key are ORed,
 * different keys ANDed, as docker does.
 */
import type { EngineContext } from '../context.ts';
import { TscError } from '../errors.ts';
import { allVolumes, toInspect, type VolumeRow } from './store.ts';

export interface VolumeListOptions {
  filters?: readonly string[] | undefined;
}

/** A row of `volume ls`: docker's --format fields. */
export interface VolumeSummary {
  Name: string;
  Driver: string;
  Scope: 'local';
  Mountpoint: string;
  /** k=v,k=v as docker prints them */
  Labels: string;
  CreatedAt: string;
  /** containers using it */
  Links: number;
  Anonymous: boolean;
}

export type VolumeFilter = (v: VolumeRow, links: number) => boolean;

const FILTER_KEYS = ['name', 'label', 'dangling', 'driver'] as const;

function badFilter(filter: string, why: string): TscError {
  return new TscError('invalid-argument', `invalid filter ${JSON.stringify(filter)}: ${why}`, { hint: 'filters: name=NAME, label=KEY[=VALUE], dangling=true|false, driver=local' });
}

/** docker's name match: the value as a regular expression anywhere in the name (text when not a valid one). */
function nameMatcher(value: string): (name: string) => boolean {
  try {
    const re = new RegExp(value);
    return (name) => re.test(name);
  } catch {
    return (name) => name.includes(value);
  }
}

export function labelMatcher(value: string): (labels: Record<string, string>) => boolean {
  const eq = value.indexOf('=');
  if (eq < 0) return (labels) => Object.hasOwn(labels, value);
  const key = value.slice(0, eq);
  const wanted = value.slice(eq + 1);
  return (labels) => Object.hasOwn(labels, key) && labels[key] === wanted;
}

/** Parses `key=value` filters into one predicate; `allowed` limits the keys (prune takes label only). */
export function parseVolumeFilters(filters: readonly string[], allowed: readonly string[] = FILTER_KEYS): VolumeFilter {
  const byKey = new Map<string, ((v: VolumeRow, links: number) => boolean)[]>();
  for (const filter of filters) {
    const eq = filter.indexOf('=');
    if (eq <= 0) throw badFilter(filter, 'expected KEY=VALUE');
    const key = filter.slice(0, eq).toLowerCase();
    const value = filter.slice(eq + 1);
    if (!allowed.includes(key)) throw badFilter(filter, `unknown key "${key}"; this command takes ${allowed.join(', ')}`);
    let test: (v: VolumeRow, links: number) => boolean;
    switch (key) {
      case 'name': {
        const match = nameMatcher(value);
        test = (v) => match(v.name);
        break;
      }
      case 'label': {
        if (value === '') throw badFilter(filter, 'label needs a key');
        const match = labelMatcher(value);
        test = (v) => match(v.labels);
        break;
      }
      case 'dangling': {
        const v = value.toLowerCase();
        if (!['true', 'false', '1', '0'].includes(v)) throw badFilter(filter, 'dangling takes true or false');
        const dangling = v === 'true' || v === '1';
        test = (_, links) => (links === 0) === dangling;
        break;
      }
      default:
        test = (v) => v.driver === value;
    }
    byKey.set(key, [...(byKey.get(key) ?? []), test]);
  }
  const groups = [...byKey.values()];
  return (v, links) => groups.every((tests) => tests.some((t) => t(v, links)));
}

export function labelsText(labels: Record<string, string>): string {
  return Object.entries(labels).map(([k, v]) => `${k}=${v}`).join(',');
}

export async function listVolumes(ctx: EngineContext, options: VolumeListOptions = {}): Promise<VolumeSummary[]> {
  const filter = parseVolumeFilters(options.filters ?? []);
  const store = await ctx.store();
  const links = new Map<string, number>();
  for (const r of store.db.prepare('SELECT volume, COUNT(DISTINCT container_id) AS n FROM container_volumes GROUP BY volume').all() as { volume: string; n: number }[]) {
    links.set(r.volume, Number(r.n));
  }
  return allVolumes(store.db)
    .filter((v) => filter(v, links.get(v.name) ?? 0))
    .map((v) => {
      const full = toInspect(store.root, v);
      return {
        Name: v.name,
        Driver: v.driver,
        Scope: 'local',
        Mountpoint: full.Mountpoint,
        Labels: labelsText(v.labels),
        CreatedAt: full.CreatedAt,
        Links: links.get(v.name) ?? 0,
        Anonymous: v.anonymous,
      };
    });
}
