/**
 * `tsc exec`: one more process in a running container, through the helper's `exec` mode
 * (docs/helper-protocol.md): it joins the namespaces of the container's pid 1 by pidfd
 * (checking the pid's start time, so a recycled pid is refused) and its cgroup, and gets
 * the container's privileges (capabilities, no_new_privs, seccomp filter, rlimits) unless
 * --privileged. User, working directory and environment default to the container's.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { EngineContext } from '../context.ts';
import { TscError } from '../errors.ts';
import { ALL_CAPABILITIES } from '../runtime/spec/defaults.ts';
import { invalid, resolveEnvFlag } from '../runtime/spec/options.ts';
import { clean, resolveUser } from '../runtime/spec/process.ts';
import type { Spec } from '../runtime/spec/types.ts';
import { HelperFailure, startHelper, type ConfigEntry } from '../sys/helper.ts';
import { programExit } from '../sys/userns.ts';
import { findInLayers, resolveCommand } from './create.ts';
import { rlimitValue as limit } from './start.ts';
import { requireContainer, type ContainerRow } from './records.ts';
import { containerDir, liveState } from './state.ts';

export interface ExecOptions {
  container: string;
  command: string[];
  interactive?: boolean | undefined;
  tty?: boolean | undefined;
  detach?: boolean | undefined;
  user?: string | undefined;
  env?: string[] | undefined;
  workdir?: string | undefined;
  privileged?: boolean | undefined;
  ttySize?: { rows: number; cols: number } | undefined;
  /** why the command could not be started (126/127) */
  onError?: ((message: string) => void) | undefined;
}

export async function execInContainer(ctx: EngineContext, options: ExecOptions): Promise<number> {
  if (options.command.length === 0) throw new TscError('invalid-argument', 'exec needs a command to run in the container');
  const store = await ctx.store();
  const row = requireContainer(store.db, options.container);
  const live = liveState(row, store.root);
  if (!live.running) throw new TscError('conflict', `container ${row.name} is not running`, { hint: `tsc start ${row.name}` });
  if (live.paused) throw new TscError('conflict', `container ${row.name} is paused`, { hint: `tsc unpause ${row.name}` });
  const dir = containerDir(store.root, row.id);
  const spec = JSON.parse(await readFile(join(dir, 'config.json'), 'utf8')) as Spec;
  const config = execConfig(row, spec, dir, options, live.pid, live.pidStart);
  const helper = startHelper(await ctx.helper(), 'exec', config, {
    stdin: options.interactive && !options.detach ? 'inherit' : 'ignore',
    stdout: options.detach ? 'ignore' : 'inherit',
    stderr: options.detach ? 'pipe' : 'inherit',
    timeoutMs: 0,
  });
  try {
    const run = await helper.result;
    if (options.detach) return 0;
    const exit = programExit(run);
    return exit.signal !== undefined ? 128 + exit.signal : (exit.status ?? 125);
  } catch (error) {
    if (error instanceof HelperFailure) {
      const { op, errname, path } = error.record;
      if (op === 'execve' && errname === 'ENOENT') {
        options.onError?.(`cannot exec in ${row.name}: ${path.includes('/') ? `${path}: no such file or directory` : `${path}: executable file not found in $PATH`}`);
        return 127;
      }
      if (op === 'execve' && errname === 'EACCES') {
        options.onError?.(`cannot exec in ${row.name}: ${path}: permission denied`);
        return 126;
      }
      if (op === 'pid') throw new TscError('conflict', `container ${row.name} is not running`, { cause: error });
    }
    throw error;
  }
}

function execConfig(row: ContainerRow, spec: Spec, dir: string, options: ExecOptions, pid: number, pidStart: number): ConfigEntry[] {
  const layers = [row.config.rootfs.upper, ...row.config.rootfs.lowers];
  const p = spec.process;
  let user = { uid: p.user.uid, gid: p.user.gid, additionalGids: p.user.additionalGids ?? [] };
  if (options.user !== undefined) {
    const file = (path: string) => {
      const found = findInLayers(layers, path);
      if (!found?.isFile) return undefined;
      try {
        return process.getBuiltinModule('node:fs').readFileSync(found.host, 'utf8');
      } catch {
        return undefined; // in the container's layer and owned by one of its ids: use the image's
      }
    };
    const resolved = resolveUser(options.user, file('etc/passwd') ?? file('etc/passwd'), file('etc/group'));
    user = { uid: resolved.uid, gid: resolved.gid, additionalGids: resolved.additionalGids };
  }
  const env = [...p.env];
  for (const entry of options.env ?? []) {
    const resolved = resolveEnvFlag(entry, process.env);
    const key = resolved.includes('=') ? resolved.slice(0, resolved.indexOf('=')) : resolved;
    const at = env.findIndex((e) => e.startsWith(`${key}=`));
    if (!resolved.includes('=')) {
      if (at >= 0) env.splice(at, 1);
      continue;
    }
    if (at >= 0) env[at] = resolved;
    else env.push(resolved);
  }
  if (options.tty && !env.some((e) => e.startsWith('TERM='))) env.push('TERM=xterm');
  let cwd = p.cwd;
  if (options.workdir !== undefined) {
    if (!options.workdir.startsWith('/')) throw invalid('--workdir', options.workdir, 'the working directory must be an absolute path');
    cwd = clean(options.workdir);
  }
  const config: ConfigEntry[] = [['pid', String(pid)], ['pid-start', String(pidStart)]];
  if (row.config.cgroup) config.push(['cgroup', row.config.cgroup]);
  config.push(['cwd', cwd], ['uid', String(user.uid)], ['gid', String(user.gid)]);
  if (user.additionalGids.length > 0) config.push(['groups', user.additionalGids.join(',')]);
  const caps = options.privileged ? ALL_CAPABILITIES : p.capabilities.bounding;
  for (const cap of caps) config.push(['cap', cap]);
  config.push(['no-new-privs', p.noNewPrivileges && !options.privileged ? '1' : '0']);
  if (spec.linux.seccomp && !options.privileged) config.push(['seccomp', join(dir, 'seccomp.bpf')]);
  for (const r of p.rlimits) config.push(['rlimit', `${r.type} ${limit(r.soft)} ${limit(r.hard)}`]);
  if (options.tty) config.push(['tty', '1']);
  if (options.tty && options.ttySize) config.push(['tty-size', `${options.ttySize.rows} ${options.ttySize.cols}`]);
  if (options.detach) config.push(['detach', '1']);
  for (const e of env) config.push(['env', e]);
  config.push(['arg', resolveCommand(layers, options.command[0]!, env)]);
  for (const a of options.command.slice(1)) config.push(['arg', a]);
  return config;
}
