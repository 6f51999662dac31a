/**
 * `tsc run`: create, start, and (unless -d) stay attached until the container ends. The
 * container is owned by its monitor from the start, so a foreground run behaves like
 * docker's: the CLI relays stdio over the attach stream the monitor was handed before
 * the program ran (no output is lost), detaching (ctrl-p ctrl-q) leaves it running, and
 * killing the CLI does not kill the container. Exit codes as docker: the container's own,
 * 125 when tsc fails, 126 when the command cannot be invoked, 127 when it is not found.
 */
import type { Readable, Writable } from 'node:stream';
import type { EngineContext } from '../context.ts';
import { attachSession, connectMonitor, type AttachSession } from './attach.ts';
import { TscError } from '../errors.ts';
import type { ContainerReport } from './lifecycle.ts';
import { attachSocketPath, liveState } from './state.ts';
import { createContainer, type CreateOptions } from './create.ts';
import { waitForExit } from './control.ts';
import { removeContainer } from './lifecycle.ts';
import { getContainer, requireContainer } from './records.ts';
import { startContainer, StartFailure } from './start.ts';

export interface RunIo {
  /** read with -i */
  stdin?: Readable | undefined;
  stdout: Writable;
  stderr: Writable;
  /** the terminal's size now, for -t */
  ttySize?: (() => { rows: number; cols: number } | undefined) | undefined;
  /** registers a window-size listener; returns its removal */
  onResize?: ((listener: (rows: number, cols: number) => void) => () => void) | undefined;
  /** the detach sequence (default ctrl-p ctrl-q); empty: none */
  detachKeys?: readonly number[] | undefined;
  /** the live session, e.g. to forward the CLI's signals (--sig-proxy) */
  onSession?: ((session: AttachSession) => void) | undefined;
  /** why the container's command could not be started (exit 126/127) */
  onError?: ((message: string) => void) | undefined;
}

export interface RunOptions extends CreateOptions {
  detach?: boolean | undefined;
  io?: RunIo | undefined;
}

export interface RunResult {
  id: string;
  name: string;
  /** the container's exit code; undefined when detached */
  exitCode?: number | undefined;
  /** the user detached with the detach keys */
  detached?: boolean | undefined;
}

export const DEFAULT_DETACH_KEYS: readonly number[] = [0x10, 0x11];

export async function runContainer(ctx: EngineContext, options: RunOptions): Promise<RunResult> {
  const created = await createContainer(ctx, options);
  const store = await ctx.store();
  const row = getContainer(store.db, created.id)!;
  const io = options.io;
  if (options.detach || !io) {
    try {
      await startContainer(ctx, row);
    } catch (error) {
      if (options.rm) await removeContainer(ctx, getContainer(store.db, row.id)!, { force: true }).catch(() => undefined);
      throw error;
    }
    return { id: created.id, name: created.name };
  }
  let started;
  try {
    started = await startContainer(ctx, row, { attach: true, ttySize: row.config.tty ? io.ttySize?.() : undefined, callerRemoves: options.rm });
  } catch (error) {
    if (options.rm) await removeContainer(ctx, getContainer(store.db, row.id)!, { force: true }).catch(() => undefined);
    if (error instanceof StartFailure && error.exitCode !== 125) {
      io.onError?.(error.message);
      return { id: created.id, name: created.name, exitCode: error.exitCode };
    }
    throw error;
  }
  const outcome = await relay(started.stream!, io, row.config.tty, options.interactive === true);
  if (outcome === 'detached') return { id: created.id, name: created.name, detached: true };
  // the monitor records the exit right after it sends it: wait for the record, so that
  // what follows (removal, a `tsc ps` by the caller's script) sees the container ended
  const recorded = await waitForExit(ctx, row);
  const exitCode = outcome ?? recorded.exitCode;
  if (options.rm) await removeContainer(ctx, getContainer(store.db, row.id)!, { force: true });
  return { id: created.id, name: created.name, exitCode };
}

/**
 * Relays the caller's stdio over an attach stream until the container ends (its exit
 * code) or the user detaches. Undefined: the stream ended without an exit frame.
 */
export async function relay(stream: NonNullable<Awaited<ReturnType<typeof startContainer>>['stream']>, io: RunIo, tty: boolean, interactive: boolean): Promise<number | 'detached' | undefined> {
  const session = attachSession(stream, { stdout: io.stdout, stderr: tty ? io.stdout : io.stderr });
  io.onSession?.(session);
  let detached = false;
  const cleanups: (() => void)[] = [];
  if (tty) {
    const size = io.ttySize?.();
    if (size) session.resize(size.rows, size.cols);
    const off = io.onResize?.((rows, cols) => session.resize(rows, cols));
    if (off) cleanups.push(off);
  }
  if (interactive && io.stdin) {
    const keys = io.detachKeys ?? DEFAULT_DETACH_KEYS;
    let matched = 0;
    const onData = (chunk: Buffer) => {
      if (tty && keys.length > 0) {
        // the detach sequence is recognised across chunks and never reaches the container
        const out: number[] = [];
        for (const byte of chunk) {
          if (byte === keys[matched]) {
            matched++;
            if (matched === keys.length) {
              detached = true;
              session.detach();
              return;
            }
            continue;
          }
          if (matched > 0) out.push(...keys.slice(0, matched));
          matched = 0;
          out.push(byte);
        }
        if (out.length > 0) session.write(Uint8Array.from(out));
        return;
      }
      session.write(chunk);
    };
    const onEnd = () => session.closeStdin();
    io.stdin.on('data', onData);
    io.stdin.on('end', onEnd);
    cleanups.push(() => {
      io.stdin!.off('data', onData);
      io.stdin!.off('end', onEnd);
      io.stdin!.pause();
    });
  }
  try {
    const exit = await session.ended;
    if (detached) return 'detached';
    return exit?.exitCode;
  } finally {
    for (const cleanup of cleanups) cleanup();
  }
}

export interface StartRequest {
  refs: readonly string[];
  /** -a: attach to the (single) container and relay stdio until it ends */
  io?: RunIo | undefined;
  interactive?: boolean | undefined;
}

/** docker start: per-container reports; with io, the exit code of the attached container. */
export async function startContainers(ctx: EngineContext, request: StartRequest): Promise<{ reports: ContainerReport[]; exitCode?: number | undefined }> {
  const store = await ctx.store();
  const reports: ContainerReport[] = [];
  for (const ref of request.refs) {
    try {
      const row = requireContainer(store.db, ref);
      if (liveState(row, store.root).running) {
        reports.push({ ref, id: row.id });
        continue;
      }
      if (request.io) {
        const started = await startContainer(ctx, row, { attach: true, ttySize: row.config.tty ? request.io.ttySize?.() : undefined });
        const outcome = await relay(started.stream!, request.io, row.config.tty, request.interactive === true && row.config.openStdin);
        if (outcome === 'detached') return { reports: [{ ref, id: row.id }] };
        return { reports: [{ ref, id: row.id }], exitCode: outcome ?? (await waitForExit(ctx, row)).exitCode };
      }
      await startContainer(ctx, row);
      reports.push({ ref, id: row.id });
    } catch (error) {
      reports.push({ ref, error: error instanceof TscError ? error : new TscError('internal', String(error), { cause: error }) });
    }
  }
  return { reports };
}

/** docker attach: relays stdio to a running container until it ends or the user detaches. */
export async function attachContainer(ctx: EngineContext, ref: string, io: RunIo, options: { noStdin?: boolean } = {}): Promise<number | undefined> {
  const store = await ctx.store();
  const row = requireContainer(store.db, ref);
  if (!liveState(row, store.root).running) throw new TscError('conflict', `cannot attach to ${row.name}: it is not running`, { hint: `tsc start -a ${row.name}` });
  const stream = await connectMonitor(attachSocketPath(ctx.paths.runtimeDir, row.id));
  if (!stream) throw new TscError('conflict', `cannot attach to ${row.name}: its monitor does not answer`);
  const outcome = await relay(stream, io, row.config.tty, !options.noStdin && row.config.openStdin);
  return outcome === 'detached' ? undefined : outcome;
}
