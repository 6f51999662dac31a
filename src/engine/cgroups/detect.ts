/**
 * What cgroups this process really has: the layout (v1, v2, hybrid), the cgroup2 mount,
 * this process's own cgroup, whether the user may write there, and which controllers it
 * can hand to containers. Parsers are pure; `detectCgroups` reads through src/engine/sys
 * and takes the /proc and cgroup roots as parameters so tests can point them elsewhere.
 */
import { join } from 'node:path';
import { canAccess, readTextIfExists } from '../sys/files.ts';

export type CgroupLayout = 'v2' | 'v1' | 'hybrid' | 'none';

export interface MountInfo {
  mountPoint: string;
  /** the subtree of the filesystem mounted here ("/" for a whole cgroup hierarchy) */
  root: string;
  fsType: string;
  superOptions: string[];
}

/** Parses /proc/PID/mountinfo (see proc(5)). Octal escapes (\040 for space) are decoded. */
export function parseMountInfo(text: string): MountInfo[] {
  const unescape = (s: string) => s.replace(/\\([0-7]{3})/g, (_, oct: string) => String.fromCharCode(parseInt(oct, 8)));
  const mounts: MountInfo[] = [];
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    const fields = line.split(' ');
    const dash = fields.indexOf('-');
    if (dash < 6 || fields.length < dash + 4) continue;
    mounts.push({
      root: unescape(fields[3] ?? ''),
      mountPoint: unescape(fields[4] ?? ''),
      fsType: fields[dash + 1] ?? '',
      superOptions: (fields[dash + 3] ?? '').split(','),
    });
  }
  return mounts;
}

export interface ProcCgroupLine {
  hierarchy: number;
  controllers: string[];
  path: string;
}

/** Parses /proc/PID/cgroup ("ID:controllers:path" per line; "0::path" is cgroup v2). */
export function parseProcCgroup(text: string): ProcCgroupLine[] {
  const lines: ProcCgroupLine[] = [];
  for (const line of text.split('\n')) {
    const match = /^(\d+):([^:]*):(.*)$/.exec(line);
    if (!match) continue;
    lines.push({
      hierarchy: Number(match[1]),
      controllers: match[2] === '' ? [] : match[2]!.split(','),
      path: match[3]!,
    });
  }
  return lines;
}

const V1_CONTROLLERS = new Set([
  'cpu', 'cpuacct', 'cpuset', 'memory', 'devices', 'freezer', 'net_cls', 'blkio', 'perf_event',
  'net_prio', 'hugetlb', 'pids', 'rdma', 'misc',
]);

export interface CgroupMounts {
  layout: CgroupLayout;
  v2Mount: MountInfo | undefined;
  /** v1 controller name -> its mount point */
  v1: Map<string, string>;
}

export function classifyCgroupMounts(mounts: readonly MountInfo[]): CgroupMounts {
  const v2Mount = mounts.find((m) => m.fsType === 'cgroup2');
  const v1 = new Map<string, string>();
  for (const m of mounts) {
    if (m.fsType !== 'cgroup') continue;
    for (const option of m.superOptions) if (V1_CONTROLLERS.has(option)) v1.set(option, m.mountPoint);
  }
  const layout: CgroupLayout = v2Mount ? (v1.size > 0 ? 'hybrid' : 'v2') : v1.size > 0 ? 'v1' : 'none';
  return { layout, v2Mount, v1 };
}

/** The controllers containers most need, in the order users meet them. */
export const WANTED_CONTROLLERS = ['cpu', 'memory', 'pids', 'io', 'cpuset'] as const;

export interface CgroupFacts {
  layout: CgroupLayout;
  /** where the cgroup2 hierarchy is mounted, if at all */
  v2MountPoint: string | undefined;
  /** v1 controllers and where they are mounted */
  v1Controllers: Record<string, string>;
  /** this process's cgroup v2 path (relative to the hierarchy root) */
  ownCgroup: string | undefined;
  /** that cgroup's directory */
  ownCgroupDir: string | undefined;
  /** the user may create child cgroups there and move processes into them */
  writable: boolean;
  /** controllers available in the own cgroup (cgroup.controllers) */
  controllers: string[];
  /** wanted controllers that containers cannot get through cgroup v2 here */
  missingControllers: string[];
}

export interface CgroupProbeRoots {
  /** the /proc of this process, normally /proc/self */
  procSelf: string;
}

export async function detectCgroups(roots: CgroupProbeRoots = { procSelf: '/proc/self' }): Promise<CgroupFacts> {
  const mountText = (await readTextIfExists(join(roots.procSelf, 'mountinfo'))) ?? '';
  const cgroupText = (await readTextIfExists(join(roots.procSelf, 'cgroup'))) ?? '';
  const { layout, v2Mount, v1 } = classifyCgroupMounts(parseMountInfo(mountText));
  const own = parseProcCgroup(cgroupText).find((l) => l.hierarchy === 0)?.path;
  let ownCgroupDir: string | undefined;
  let writable = false;
  let controllers: string[] = [];
  if (v2Mount && own !== undefined) {
    ownCgroupDir = join(v2Mount.mountPoint, relativeToMountRoot(own, v2Mount.root)).replace(/(.)\/$/, '$1');
    writable =
      (await canAccess(ownCgroupDir, 'w')) &&
      (await canAccess(join(ownCgroupDir, 'cgroup.procs'), 'w')) &&
      (await canAccess(join(ownCgroupDir, 'cgroup.subtree_control'), 'w'));
    const text = await readTextIfExists(join(ownCgroupDir, 'cgroup.controllers'));
    controllers = text?.trim() ? text.trim().split(/\s+/) : [];
  }
  const missingControllers = WANTED_CONTROLLERS.filter((c) => !controllers.includes(c));
  return {
    layout,
    v2MountPoint: v2Mount?.mountPoint,
    v1Controllers: Object.fromEntries(v1),
    ownCgroup: own,
    ownCgroupDir,
    writable,
    controllers,
    missingControllers,
  };
}

/** /proc/self/cgroup paths are relative to the cgroup namespace; strip a mount's own root. */
export function relativeToMountRoot(path: string, mountRoot: string): string {
  if (mountRoot === '/' || mountRoot === '') return path;
  if (path === mountRoot) return '/';
  return path.startsWith(`${mountRoot}/`) ? path.slice(mountRoot.length) : path;
}
