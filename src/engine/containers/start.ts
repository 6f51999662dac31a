/**
 * Starting a created (or exited) container: the helper's `run` mode with `detach`
 * becomes the container's monitor (docs/helper-protocol.md, "Monitor"), which owns it
 * from then on: stdio, the log, the state file, restarts and the attach socket. tsc
 * returns as soon as the container's program runs.
 */
import { mkdir, readFile, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { Duplex } from 'node:stream';
import type { EngineContext } from '../context.ts';
import { TscError } from '../errors.ts';
import type { Spec } from '../runtime/spec/types.ts';
import { encodeArgv, HelperFailure, startHelper, type ConfigEntry } from '../sys/helper.ts';
import { findProgram } from '../sys/exec.ts';
import { idMapConfig } from '../sys/idmaps.ts';
import { INTERNAL_ARG, selfArgv } from '../sys/self.ts';
import { setRowState, type ContainerRow } from './records.ts';
import { attachSocketPath, containerDir, liveState, writeEndState } from './state.ts';

export interface StartOptions {
  /** hand the monitor a connected stream from the first byte of output (foreground run, start -a) */
  attach?: boolean | undefined;
  /** the terminal's size, for -t */
  ttySize?: { rows: number; cols: number } | undefined;
  /** --rm of a foreground run: the caller removes the container itself */
  callerRemoves?: boolean | undefined;
}

export interface Started {
  pid: number;
  /** the attach stream, with StartOptions.attach */
  stream?: Duplex | undefined;
}

/** Why the container's program could not be started, with docker's exit code for it. */
export class StartFailure extends TscError {
  readonly exitCode: number;
  constructor(message: string, exitCode: number, cause: unknown) {
    super('helper', message, { cause });
    this.exitCode = exitCode;
  }
}

export async function startContainer(ctx: EngineContext, row: ContainerRow, options: StartOptions = {}): Promise<Started> {
  const store = await ctx.store();
  const live = liveState(row, store.root);
  if (live.running || live.status === 'restarting') {
    throw new TscError('conflict', `container ${row.name} is already running`);
  }
  if (row.state === 'removing' || row.state === 'creating') throw new TscError('conflict', `container ${row.name} is being ${row.state === 'removing' ? 'removed' : 'created'}`);
  const dir = containerDir(store.root, row.id);
  const spec = JSON.parse(await readFile(join(dir, 'config.json'), 'utf8')) as Spec;
  const socket = attachSocketPath(ctx.paths.runtimeDir, row.id);
  await mkdir(dirname(socket), { recursive: true, mode: 0o700 });
  await rm(socket, { force: true });
  const maps = await ctx.maps();
  const fuseOverlayfs = row.config.driver === 'fuse-overlayfs' ? await fuseProgram(row) : undefined;
  const config = [
    ...(maps ? idMapConfig(maps) : ROOT_MAPS),
    ...helperConfig(spec, row.config.rootfs, dir, { driver: row.config.driver ?? 'overlay', fuseOverlayfs, name: row.name }),
    ...monitorConfig(ctx, row, dir, socket, options),
  ];
  setRowState(store.db, row.id, 'started');
  const helper = startHelper(await ctx.helper(), 'run', config, {
    stdin: 'ignore', stdout: 'ignore', stderr: 'pipe', attachChannel: options.attach === true, timeoutMs: 60_000,
  });
  try {
    const run = await helper.result;
    const started = run.events.find((e) => e.name === 'started');
    return { pid: Number(started?.pid ?? 0), stream: helper.attach };
  } catch (error) {
    helper.attach?.destroy();
    const failure = startFailure(row, error);
    // the monitor is gone with its failed start: tsc records the outcome in its place
    await writeEndState(dir, { status: 'failed', exitCode: failure instanceof StartFailure ? failure.exitCode : 125, error: failure.message });
    throw failure;
  }
}

/** Root runs containers in a user namespace too, with every id mapped to itself. */
export const ROOT_MAPS: ConfigEntry[] = [['uidmap', '0 0 4294967295'], ['gidmap', '0 0 4294967295']];

function startFailure(row: ContainerRow, error: unknown): TscError {
  if (error instanceof HelperFailure && error.record.op === 'execve') {
    const path = error.record.path;
    if (error.record.errname === 'ENOENT') {
      const why = path.includes('/') ? `${path}: no such file or directory` : `${path}: executable file not found in $PATH`;
      return new StartFailure(`cannot start the container's command: ${why}`, 127, error);
    }
    if (error.record.errname === 'EACCES') return new StartFailure(`cannot start the container's command: ${path}: permission denied`, 126, error);
  }
  if (error instanceof TscError) return new StartFailure(`cannot start container ${row.name}: ${error.message}`, 125, error);
  return new StartFailure(`cannot start container ${row.name}: ${String(error)}`, 125, error);
}

async function fuseProgram(row: ContainerRow): Promise<string> {
  const path = await findProgram('fuse-overlayfs');
  if (path) return path;
  throw new TscError('unsupported', `container ${row.name} uses the fuse-overlayfs storage driver, but fuse-overlayfs is not installed (not found in PATH)`, {
    hint: 'install fuse-overlayfs, or recreate the container with another storage driver',
  });
}

export interface RootfsDriver {
  driver: 'overlay' | 'fuse-overlayfs' | 'vfs';
  /** the fuse-overlayfs program, for that driver */
  fuseOverlayfs?: string | undefined;
  /** the container's name, for messages */
  name?: string | undefined;
}

/**
 * The helper's `run` configuration (docs/helper-protocol.md) for a container's spec (or a
 * build step's); the root file system as its storage driver makes it (default: kernel overlay).
 */
export function helperConfig(spec: Spec, rootfs: ContainerRow['config']['rootfs'], dir: string, storage: RootfsDriver = { driver: 'overlay' }): ConfigEntry[] {
  const config: ConfigEntry[] = [['rootfs', spec.root.path]];
  if (storage.driver !== 'vfs') config.push(['lowerdir', rootfs.lowers.join(':')], ['upperdir', rootfs.upper], ['workdir', rootfs.work]);
  if (storage.driver === 'fuse-overlayfs') {
    if (!storage.fuseOverlayfs) throw new TscError('internal', `container ${storage.name ?? ''}: fuse-overlayfs driver without its program`);
    config.push(['fuse-overlayfs', storage.fuseOverlayfs]);
  }
  config.push(['hostname', spec.hostname]);
  for (const m of spec.mounts) {
    config.push(['mount', `${m.destination} ${m.type} ${m.source || m.type} ${m.options.join(',') || 'defaults'}`.trimEnd()]);
  }
  for (const path of spec.linux.maskedPaths) config.push(['masked', path]);
  for (const path of spec.linux.readonlyPaths) config.push(['readonly', path]);
  const p = spec.process;
  config.push(['cwd', p.cwd], ['uid', String(p.user.uid)], ['gid', String(p.user.gid)]);
  if (p.user.additionalGids?.length) config.push(['groups', p.user.additionalGids.join(',')]);
  for (const cap of p.capabilities.bounding) config.push(['cap', cap]);
  config.push(['no-new-privs', p.noNewPrivileges ? '1' : '0']);
  if (spec.linux.seccomp) config.push(['seccomp', join(dir, 'seccomp.bpf')]);
  for (const r of p.rlimits) config.push(['rlimit', `${r.type} ${rlimitValue(r.soft)} ${rlimitValue(r.hard)}`]);
  for (const e of p.env) config.push(['env', e]);
  for (const a of p.args) config.push(['arg', a]);
  return config;
}

function monitorConfig(ctx: EngineContext, row: ContainerRow, dir: string, socket: string, options: StartOptions): ConfigEntry[] {
  const c = row.config;
  const config: ConfigEntry[] = [
    ['detach', '1'],
    ['state', join(dir, 'state.json')],
    ['log', join(dir, 'ctr.log')],
    ['attach', socket],
  ];
  if (c.logMaxSize > 0) config.push(['log-max-size', String(c.logMaxSize)]);
  if (c.tty) config.push(['tty', '1']);
  if (c.tty && options.ttySize) config.push(['tty-size', `${options.ttySize.rows} ${options.ttySize.cols}`]);
  if (c.openStdin) config.push(['stdin', '1']);
  if (options.attach) config.push(['attach-fd', '4']);
  if (c.restart.name !== 'no') {
    config.push(['restart', c.restart.name === 'on-failure' && c.restart.maximumRetryCount > 0 ? `on-failure:${c.restart.maximumRetryCount}` : c.restart.name]);
  }
  if (c.cgroup) config.push(['cgroup', c.cgroup]);
  if (c.shareNet) config.push(['share-net', '1']);
  if (c.networkHook) {
    config.push(['hook', encodeArgv(c.networkHook.argv)]);
    if (c.networkHook.readyFd !== undefined) config.push(['hook-ready-fd', String(c.networkHook.readyFd)]);
  }
  if (c.init) config.push(['init', '1']);
  if (c.autoRemove && !options.callerRemoves) {
    config.push(['exit-cmd', encodeArgv([...selfArgv(), INTERNAL_ARG, 'cleanup', row.id, ctx.paths.storageRoot, ctx.paths.runtimeDir])]);
  }
  return config;
}

/** An rlimit value as the helper takes it: a number, or `unlimited` for RLIM_INFINITY. */
export function rlimitValue(value: number | bigint): string {
  return BigInt(value) >= 18446744073709551615n ? 'unlimited' : String(value);
}
