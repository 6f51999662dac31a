/**
 * A RUN step: the command runs in a temporary container, an overlay of the build's
 * current layers and a fresh upper dir, through the helper's `run` mode in the foreground
 * (its stdout and stderr are piped to the build log). There is no container record: the
 * container lives in a scratch directory of the store, which the caller removes (with the
 * upper dir, once its layer has been written) whatever happens. The network is none
 * unless the step or the build asks for another (host, pasta, slirp4netns).
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { chmod, mkdir, mkdtemp } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { EngineContext } from '../context.ts';
import { TscError } from '../errors.ts';
import { hardNofile, imageFile, networkTools, resolveCommand, writeNetworkFiles, writeSeccomp } from '../containers/create.ts';
import { helperConfig, ROOT_MAPS } from '../containers/start.ts';
import type { ImageConfig } from '../images/config.ts';
import { buildSpec, type NetworkFiles } from '../runtime/spec/build.ts';
import { prepareNetwork } from '../network/plan.ts';
import type { Mount as SpecMount } from '../runtime/spec/types.ts';
import { encodeArgv, HelperFailure, startHelper, type ConfigEntry } from '../sys/helper.ts';
import { idMapConfig } from '../sys/idmaps.ts';
import { programExit } from '../sys/userns.ts';
import type { RootlessMaps } from '../sys/idmaps.ts';
import { removeTrees } from '../images/unpack.ts';

export interface RunStep {
  /** the build's layer directories, topmost first (at least one) */
  lowers: readonly string[];
  argv: readonly string[];
  env: readonly string[];
  user: string;
  workdir: string;
  network: BuildNetwork;
  /** RUN --mount binds and tmpfs (build/run-mounts.ts) */
  mounts?: readonly SpecMount[] | undefined;
  onOutput: (chunk: Buffer) => void;
  signal?: AbortSignal | undefined;
}

/** How a RUN step reaches the network: none by default; the host's, or its own through pasta or slirp4netns. */
export type BuildNetwork = 'none' | 'host' | 'pasta' | 'slirp4netns';

export interface RunOutcome {
  /** the container's scratch directory: remove it when done */
  dir: string;
  upper: string;
  exitCode: number;
  /** the last lines of the output, for the error message */
  tail: string;
}

const TAIL = 4096;

export async function runStep(ctx: EngineContext, step: RunStep): Promise<RunOutcome> {
  const store = await ctx.store();
  const maps = await ctx.maps();
  const helper = await ctx.helper();
  await mkdir(store.tmpDir, { recursive: true, mode: 0o700 });
  const dir = await mkdtemp(join(store.tmpDir, 'build-run-'));
  try {
    return await runIn(dir, helper, maps, step, join(store.root, 'cache', 'seccomp'));
  } catch (error) {
    // the caller never learns of the directory: remove it here (its files may be the container's)
    await removeTrees({ store, helper, maps }, [dir]).catch(() => undefined);
    throw error;
  }
}

async function runIn(dir: string, helper: string, maps: RootlessMaps | undefined, step: RunStep, seccompCache: string): Promise<RunOutcome> {
  const rootfs = { lowers: [...step.lowers], upper: join(dir, 'upper'), work: join(dir, 'work') };
  await Promise.all(['upper', 'work', 'rootfs'].map((d) => mkdir(join(dir, d), { mode: 0o700 })));
  await chmod(rootfs.upper, 0o755); // the container's `/` (see containers/create.ts)
  const outcome: RunOutcome = { dir, upper: rootfs.upper, exitCode: 0, tail: '' };
  // the helper's configuration is one value a line: a script of several lines (heredocs)
  // reaches the shell on its standard input instead, which is then at its end (as docker's /dev/null)
  let argv = [...step.argv];
  let script: string | undefined;
  if (argv.length > 1 && argv.slice(0, -1).every((a) => !/[\n\0]/.test(a)) && /\n/.test(argv.at(-1)!)) {
    script = argv.at(-1)!;
    argv = [...argv.slice(0, -1), 'eval "$(cat)"'];
  }
  const image: ImageConfig = {
    architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [] },
    config: { Env: [...step.env], User: step.user, WorkingDir: step.workdir || '/', Entrypoint: null, Cmd: argv },
  };
  const id = randomBytes(32).toString('hex');
  const hostname = `build-${randomUUID().slice(0, 8)}`;
  // a network other than none is set up as for `tsc run`: its files bound in, pasta (or slirp4netns) as a hook
  const network: ConfigEntry[] = [];
  let networkFiles: NetworkFiles | undefined;
  let mode: BuildNetwork = 'none';
  if (step.network !== 'none') {
    const plan = await prepareNetwork({ network: step.network, hostname, asRoot: process.getuid?.() === 0 }, { tools: await networkTools() });
    mode = plan.mode as BuildNetwork;
    networkFiles = await writeNetworkFiles(dir, plan.files);
    if (plan.helper.shareNet) network.push(['share-net', '1']);
    if (plan.helper.hook) network.push(['hook', encodeArgv(plan.helper.hook)]);
    if (plan.helper.hook && plan.helper.hookReadyFd !== undefined) network.push(['hook-ready-fd', String(plan.helper.hookReadyFd)]);
  }
  const { spec } = buildSpec({
    id,
    image,
    rootfs: join(dir, 'rootfs'),
    idMaps: maps ? { uid: maps.uidMap, gid: maps.gidMap } : { uid: [IDENTITY], gid: [IDENTITY] },
    rootless: true,
    options: { network: mode, hostname },
    ...(networkFiles ? { networkFiles } : {}),
    passwd: imageFile(step.lowers, 'etc/passwd'),
    group: imageFile(step.lowers, 'etc/group'),
    hostEnv: {},
    lastCap: Number(readFileSync('/proc/sys/kernel/cap_last_cap', 'utf8')),
    hostNofile: hardNofile(),
  });
  spec.process.args[0] = resolveCommand(step.lowers, spec.process.args[0]!, spec.process.env);
  spec.mounts.push(...(step.mounts ?? []));
  await writeSeccomp(spec, dir, seccompCache);
  const config = [...(maps ? idMapConfig(maps) : ROOT_MAPS), ...helperConfig(spec, rootfs, dir), ...network];
  const proc = startHelper(helper, 'run', config, { stdin: script === undefined ? 'ignore' : 'pipe', stdout: 'pipe', stderr: 'pipe', timeoutMs: 0 });
  if (script !== undefined) {
    proc.stdin?.on('error', () => undefined); // the command may end without reading it all
    proc.stdin?.end(script);
  }
  const output = (chunk: Buffer) => {
    outcome.tail = (outcome.tail + chunk.toString('utf8')).slice(-TAIL);
    step.onOutput(chunk);
  };
  proc.stdout?.on('data', output);
  proc.child.stderr?.on('data', output);
  const abort = () => proc.child.kill('SIGKILL');
  step.signal?.addEventListener('abort', abort, { once: true });
  if (step.signal?.aborted) abort(); // the signal came while the container was being set up
  try {
    const run = await proc.result;
    const exit = programExit(run);
    outcome.exitCode = exit.status ?? 128 + (exit.signal ?? 0);
  } catch (error) {
    if (step.signal?.aborted) throw new TscError('system', 'the build was interrupted');
    if (error instanceof HelperFailure && error.record.op === 'execve') {
      outcome.exitCode = error.record.errname === 'ENOENT' ? 127 : 126;
      outcome.tail += `${error.record.path}: ${error.record.message}\n`;
      return outcome;
    }
    throw error;
  } finally {
    step.signal?.removeEventListener('abort', abort);
  }
  return outcome;
}

const IDENTITY = { inside: 0, outside: 0, count: 4294967295 };
