/**
 * Talking to a running container: signals go through its monitor (which holds a pidfd of
 * pid 1, so a recycled pid can never be hit), and the end of the container is learnt
 * from the monitor's exit frame, or from its state file when the monitor is gone.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { EngineContext } from '../context.ts';
import { TscError } from '../errors.ts';
import { attachSession, connectMonitor, type ExitInfo } from './attach.ts';
import { getContainer, requireContainer, type ContainerRow } from './records.ts';
import type { ContainerReport } from './lifecycle.ts';
import { attachSocketPath, currentBootId, isAlive, liveState, type LiveState } from './state.ts';

/**
 * Sends `signal` to the container's pid 1 (`stop`: the monitor will not restart it), and
 * with `waitMs` waits up to that long for the container to end. Returns whether it ended.
 */
export async function signalContainer(ctx: EngineContext, row: ContainerRow, signal: number, stop: boolean, waitMs = 0): Promise<boolean> {
  const socket = attachSocketPath(ctx.paths.runtimeDir, row.id);
  let stream = await connectMonitor(socket);
  // a monitor that is still starting (alive, no pid 1 yet) listens on its socket shortly
  const store = await ctx.store();
  for (let i = 0; !stream && i < 100 && isStarting(liveState(row, store.root)); i++) {
    await sleep(50);
    stream = await connectMonitor(socket);
  }
  if (!stream) {
    // no monitor to ask: a container whose monitor died is not running either
    const live = liveState(row, store.root);
    if (live.running && live.pid > 0 && isAlive(live.pid, live.pidStart, currentBootId())) process.kill(live.pid, signal);
    return !live.running;
  }
  const session = attachSession(stream, {});
  session.signal(signal, stop);
  if (waitMs <= 0) {
    session.detach();
    return false;
  }
  const ended = await Promise.race([session.ended.then(() => true), sleep(waitMs, undefined, { ref: false }).then(() => false)]);
  session.detach();
  return ended;
}

function isStarting(live: LiveState): boolean {
  return live.running && live.pid === 0;
}

/** Waits for the container to end (for good: no restart pending) and returns its live state then. */
export async function waitForExit(ctx: EngineContext, given: ContainerRow, signal?: AbortSignal): Promise<LiveState> {
  const store = await ctx.store();
  for (;;) {
    // the row's state moves on (created -> started) while we wait: read it afresh
    const row = getContainer(store.db, given.id);
    if (!row) throw new TscError('not-found', `container ${given.name} was removed while waiting for it`);
    if (signal?.aborted) throw new TscError('internal', 'wait interrupted');
    const live = liveState(row, store.root);
    if (!live.running && live.status !== 'restarting') return live;
    const stream = await connectMonitor(attachSocketPath(ctx.paths.runtimeDir, row.id));
    if (stream) {
      const session = attachSession(stream, {});
      const onAbort = () => session.detach();
      signal?.addEventListener('abort', onAbort, { once: true });
      const exit: ExitInfo | undefined = await session.ended.catch(() => undefined);
      signal?.removeEventListener('abort', onAbort);
      if (exit) {
        // the state file follows the exit frame; give the monitor a moment to write it
        for (let i = 0; i < 50 && liveState(row, store.root).running; i++) await sleep(20);
        const after = liveState(row, store.root);
        return after.running ? { ...after, running: false, status: 'exited', exitCode: exit.exitCode } : after;
      }
    } else {
      await sleep(100);
    }
  }
}

/** docker wait: blocks until each container ends; its exit code, or an error. */
export async function waitContainers(ctx: EngineContext, refs: readonly string[]): Promise<(ContainerReport & { exitCode?: number })[]> {
  const store = await ctx.store();
  return Promise.all(refs.map(async (ref) => {
    try {
      const row = requireContainer(store.db, ref);
      return { ref, id: row.id, exitCode: (await waitForExit(ctx, row)).exitCode };
    } catch (error) {
      return { ref, error: error instanceof TscError ? error : new TscError('internal', String(error)) };
    }
  }));
}
