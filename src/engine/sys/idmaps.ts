/**
 * The rootless id maps of the current user, as the helper's `uidmap`/`gidmap`/
 * `newuidmap`/`newgidmap` configuration: container id 0 is the user, 1.. the subordinate
 * ranges from /etc/subuid and /etc/subgid, mapped by newuidmap/newgidmap when installed
 * (the helper falls back to a single-id map and says so otherwise).
 */
import { parseSubordinateIds, rootlessIdMap, type IdMapping, type IdRange } from '../idmap/subids.ts';
import { findProgram } from './exec.ts';
import { readTextIfExists } from './files.ts';
import type { ConfigEntry } from './helper.ts';
import type { Identity } from './identity.ts';

export interface RootlessMaps {
  subuid: IdRange[];
  subgid: IdRange[];
  uidMap: IdMapping[];
  gidMap: IdMapping[];
  newuidmap: string | undefined;
  newgidmap: string | undefined;
}

export interface SubidFiles {
  subuidFile?: string | undefined;
  subgidFile?: string | undefined;
}

export async function rootlessMaps(who: Identity, files: SubidFiles = {}): Promise<RootlessMaps> {
  const [subuidText, subgidText, newuidmap, newgidmap] = await Promise.all([
    readTextIfExists(files.subuidFile ?? '/etc/subuid'),
    readTextIfExists(files.subgidFile ?? '/etc/subgid'),
    findProgram('newuidmap'),
    findProgram('newgidmap'),
  ]);
  const subuid = parseSubordinateIds(subuidText ?? '', who);
  const subgid = parseSubordinateIds(subgidText ?? '', who);
  return {
    subuid,
    subgid,
    uidMap: rootlessIdMap(who.uid, subuid),
    gidMap: rootlessIdMap(who.gid, subgid),
    newuidmap,
    newgidmap,
  };
}

/** The helper configuration lines for these maps. */
export function idMapConfig(maps: RootlessMaps): ConfigEntry[] {
  const config: ConfigEntry[] = [];
  for (const m of maps.uidMap) config.push(['uidmap', `${m.inside} ${m.outside} ${m.count}`]);
  for (const m of maps.gidMap) config.push(['gidmap', `${m.inside} ${m.outside} ${m.count}`]);
  // newuidmap/newgidmap come as a pair, and only add something with subordinate ranges
  if (maps.newuidmap && maps.newgidmap && maps.subuid.length > 0 && maps.subgid.length > 0) {
    config.push(['newuidmap', maps.newuidmap], ['newgidmap', maps.newgidmap]);
  }
  return config;
}
