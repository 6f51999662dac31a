/**
 * Each container gets its own cgroup v2 directory below the cgroup tsc runs in, when
 * that one is writable (a delegated subtree, or root): the monitor creates the
 * container's processes in it, so freezing (pause), killing the whole tree and reading
 * CPU and memory use cover all of them. Without one the container still runs, and the
 * commands that need it say why they cannot work. tsc never moves or touches cgroups
 * outside its own subtree.
 */
import { mkdir, rmdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { detectCgroups } from '../cgroups/detect.ts';
import { errnoCode } from '../errors.ts';

export interface PreparedCgroup {
  path?: string | undefined;
  note?: string | undefined;
}

export async function prepareCgroup(id: string): Promise<PreparedCgroup> {
  const facts = await detectCgroups();
  if (!facts.ownCgroupDir) {
    return { note: 'the container gets no cgroup of its own: this host has no cgroup v2 hierarchy, so pause, unpause and per-container CPU use are unavailable' };
  }
  if (!facts.writable) {
    return {
      note: `the container gets no cgroup of its own: ${facts.ownCgroupDir} is not delegated to this user, so pause, unpause and per-container CPU use are unavailable (run tsc inside a delegated cgroup, e.g. systemd-run --user --scope -p Delegate=yes)`,
    };
  }
  const path = join(facts.ownCgroupDir, `tsc-${id.slice(0, 12)}`);
  try {
    await mkdir(path);
  } catch (error) {
    if (errnoCode(error) !== 'EEXIST') return { note: `the container gets no cgroup of its own: cannot create ${path} (${(error as Error).message})` };
  }
  return { path };
}

/** Removes a container's cgroup once nothing runs in it; a missing one is fine. */
export async function removeCgroup(path: string | undefined): Promise<void> {
  if (!path) return;
  try {
    await rmdir(path);
  } catch (error) {
    const code = errnoCode(error);
    if (code !== 'ENOENT') throw error;
  }
}

/** Freezes or thaws every process of the container (cgroup.freeze). */
export async function freeze(path: string, frozen: boolean): Promise<void> {
  await writeFile(join(path, 'cgroup.freeze'), frozen ? '1' : '0');
}
