/**
 * Subordinate id ranges (/etc/subuid, /etc/subgid) and the id maps built from them.
 * Pure: the caller reads the files (src/engine/sys) and passes the text.
 */

export interface IdRange {
  start: number;
  count: number;
}

/** One line of a uid_map/gid_map: ids [inside, inside+count) map to [outside, outside+count). */
export interface IdMapping {
  inside: number;
  outside: number;
  count: number;
}

/**
 * The ranges that /etc/subuid-style `text` gives the user, matched by name or by uid as
 * shadow-utils does. Comments, blank and malformed lines are skipped.
 */
export function parseSubordinateIds(text: string, user: { name: string; uid: number }): IdRange[] {
  const ranges: IdRange[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const parts = line.split(':');
    if (parts.length !== 3) continue;
    const [owner, startText, countText] = parts as [string, string, string];
    if (owner !== user.name && owner !== String(user.uid)) continue;
    if (!/^\d+$/.test(startText) || !/^\d+$/.test(countText)) continue;
    const start = Number(startText);
    const count = Number(countText);
    if (count === 0 || start + count > 2 ** 32 - 1) continue;
    ranges.push({ start, count });
  }
  return ranges;
}

/**
 * The id map of a rootless container, as podman builds it: container id 0 is the user's
 * own id, and ids 1.. come from the subordinate ranges in order.
 */
export function rootlessIdMap(ownId: number, ranges: readonly IdRange[]): IdMapping[] {
  const map: IdMapping[] = [{ inside: 0, outside: ownId, count: 1 }];
  let next = 1;
  for (const range of ranges) {
    map.push({ inside: next, outside: range.start, count: range.count });
    next += range.count;
  }
  return map;
}

/** Parses the kernel's /proc/PID/uid_map text. */
export function parseIdMap(text: string): IdMapping[] {
  return text
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '')
    .map((line) => {
      const [inside, outside, count] = line.split(/\s+/).map(Number) as [number, number, number];
      return { inside, outside, count };
    });
}

export function formatIdMap(map: readonly IdMapping[]): string {
  return map.map((m) => `${m.inside} ${m.outside} ${m.count}`).join('\n');
}

/** How many ids a map covers in all. */
export function idMapSize(map: readonly IdMapping[]): number {
  return map.reduce((sum, m) => sum + m.count, 0);
}
