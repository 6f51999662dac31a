/**
 * The state machine's transitions a user asks for: stop, kill, restart, pause, unpause,
 * rename, remove, prune. Batch operations return one report per container (docker's
 * behaviour: the others go on when one fails); the command decides the exit code.
 *
 *   created --start--> running --(exit)--> exited --start--> running
 *   running --pause--> paused --unpause--> running
 *   any (running only with force) --rm--> removing --> gone
 */
import { rm } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { EngineContext } from '../context.ts';
import { errnoCode, TscError } from '../errors.ts';
import { removeTrees } from '../images/unpack.ts';
import { freeze, removeCgroup } from './cgroup.ts';
import { signalContainer } from './control.ts';
import { deleteContainerRow, getContainer, renameContainer, requireContainer, setRowState, allContainers, type ContainerRow } from './records.ts';
import { signalNumber } from './signals.ts';
import { attachSocketPath, containerDir, liveState } from './state.ts';

export interface ContainerReport {
  /** as the user named it */
  ref: string;
  id?: string | undefined;
  error?: TscError | undefined;
}

async function each(ctx: EngineContext, refs: readonly string[], work: (row: ContainerRow) => Promise<void>): Promise<ContainerReport[]> {
  const store = await ctx.store();
  const reports: ContainerReport[] = [];
  for (const ref of refs) {
    try {
      const row = requireContainer(store.db, ref);
      await work(row);
      reports.push({ ref, id: row.id });
    } catch (error) {
      reports.push({ ref, error: error instanceof TscError ? error : new TscError('internal', String(error), { cause: error }) });
    }
  }
  return reports;
}

export interface StopOptions {
  /** seconds to wait after the stop signal before SIGKILL; default: the container's --stop-timeout */
  timeout?: number | undefined;
  /** overrides the container's stop signal */
  signal?: string | undefined;
}

/** docker stop: the stop signal, then SIGKILL after the timeout; a stopped container is fine. */
export async function stopContainers(ctx: EngineContext, refs: readonly string[], options: StopOptions = {}): Promise<ContainerReport[]> {
  const store = await ctx.store();
  return each(ctx, refs, async (row) => {
    if (!liveState(row, store.root).running && liveState(row, store.root).status !== 'restarting') return;
    const signal = signalNumber('--signal', options.signal ?? row.config.stopSignal);
    const timeout = options.timeout ?? row.config.stopTimeout;
    if (await signalContainer(ctx, row, signal, true, Math.max(timeout, 0) * 1000 + (timeout <= 0 ? 1 : 0))) return;
    if (!(await signalContainer(ctx, row, 9, true, 10_000))) {
      throw new TscError('system', `container ${row.name} did not stop, even after SIGKILL`);
    }
  });
}

/** docker kill: a signal (SIGKILL by default) to a running container. */
export async function killContainers(ctx: EngineContext, refs: readonly string[], signal = 'SIGKILL'): Promise<ContainerReport[]> {
  const number = signalNumber('--signal', signal);
  const store = await ctx.store();
  return each(ctx, refs, async (row) => {
    if (!liveState(row, store.root).running) throw new TscError('conflict', `container ${row.name} is not running`);
    // SIGKILL ends it for sure: like a stop, the restart policy does not bring it back
    await signalContainer(ctx, row, number, number === 9, 0);
  });
}

export async function pauseContainers(ctx: EngineContext, refs: readonly string[], paused: boolean): Promise<ContainerReport[]> {
  const store = await ctx.store();
  return each(ctx, refs, async (row) => {
    const live = liveState(row, store.root);
    if (!live.running) throw new TscError('conflict', `container ${row.name} is not running`);
    if (live.paused === paused) throw new TscError('conflict', `container ${row.name} is ${paused ? 'already paused' : 'not paused'}`);
    if (!row.config.cgroup) {
      throw new TscError('unsupported', `cannot ${paused ? 'pause' : 'unpause'} ${row.name}: it has no cgroup of its own (${row.config.notes.find((n) => n.includes('cgroup')) ?? 'no delegated cgroup v2'})`);
    }
    await freeze(row.config.cgroup, paused);
  });
}

export async function renameOne(ctx: EngineContext, ref: string, name: string): Promise<void> {
  const store = await ctx.store();
  const row = requireContainer(store.db, ref);
  renameContainer(store.db, row.id, name);
}

export interface RemoveOptions {
  force?: boolean | undefined;
  /** -v: also remove the container's anonymous volumes */
  volumes?: boolean | undefined;
}

export async function removeContainers(ctx: EngineContext, refs: readonly string[], options: RemoveOptions = {}): Promise<ContainerReport[]> {
  return each(ctx, refs, (row) => removeContainer(ctx, row, options));
}

/** Removes one container: refuses a running one unless forced (then kills it first). */
export async function removeContainer(ctx: EngineContext, row: ContainerRow, options: RemoveOptions = {}): Promise<void> {
  const store = await ctx.store();
  const live = liveState(row, store.root);
  if (live.running || live.status === 'restarting') {
    if (!options.force) {
      throw new TscError('conflict', `cannot remove container ${row.name}: it is running`, { hint: 'stop it first, or remove it with -f' });
    }
    if (live.paused && row.config.cgroup) await freeze(row.config.cgroup, false);
    if (!(await signalContainer(ctx, row, 9, true, 10_000))) throw new TscError('system', `cannot remove container ${row.name}: it did not stop after SIGKILL`);
  }
  if (!setRowState(store.db, row.id, 'removing', ['created', 'started', 'removing'])) {
    if (!getContainer(store.db, row.id)) return; // removed by someone else meanwhile
    throw new TscError('conflict', `container ${row.name} is still being created`);
  }
  await removeContainerDir(ctx, containerDir(store.root, row.id));
  await rm(dirname(attachSocketPath(ctx.paths.runtimeDir, row.id)), { recursive: true, force: true });
  await removeCgroup(row.config.cgroup).catch(() => undefined);
  const volumes = await import('./volumes-hook.ts');
  await volumes.detach(ctx, row.id, options.volumes === true || row.config.autoRemove);
  deleteContainerRow(store.db, row.id);
}

export interface PruneResult {
  removed: string[];
  errors: ContainerReport[];
}

/** Removes every stopped container (docker container prune), optionally only those with a label. */
export async function pruneContainers(ctx: EngineContext, filter: (row: ContainerRow) => boolean = () => true): Promise<PruneResult> {
  const store = await ctx.store();
  const result: PruneResult = { removed: [], errors: [] };
  for (const row of allContainers(store.db)) {
    if (row.state === 'creating' || !filter(row)) continue;
    const live = liveState(row, store.root);
    if (live.running || live.status === 'restarting') continue;
    try {
      await removeContainer(ctx, row);
      result.removed.push(row.id);
    } catch (error) {
      result.errors.push({ ref: row.id, error: error instanceof TscError ? error : new TscError('internal', String(error)) });
    }
  }
  return result;
}

/**
 * A container's directory goes with it. What its root wrote is ours on the host (container
 * root is our uid), so a plain removal usually works and saves starting a user namespace;
 * files of its other ids (subordinate ids) need one.
 */
async function removeContainerDir(ctx: EngineContext, dir: string): Promise<void> {
  try {
    await rm(dir, { recursive: true, force: true });
    return;
  } catch (error) {
    const code = errnoCode(error);
    if (code !== 'EACCES' && code !== 'EPERM' && code !== 'ENOTEMPTY') throw error;
  }
  const store = await ctx.store();
  await removeTrees({ store, helper: await ctx.helper(), maps: await ctx.maps() }, [dir]);
}
