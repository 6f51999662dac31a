/**
 * `tsc run` (first cut): a foreground container from a local or pulled image, rootless,
 * removed when it exits (--rm). The image's layers are stacked by a kernel overlay in the
 * container's own mount namespace, the OCI runtime spec is built from the image config and
 * the flags (runtime/spec), the default seccomp profile is compiled for the container's
 * capabilities (runtime/seccomp), and the helper's `run` mode performs it all. Exit codes
 * as docker: the container's own, 128+N when killed by signal N, 127 when the command is
 * not found, 126 when it cannot be executed, 125 when tsc fails.
 */
import { randomBytes } from 'node:crypto';
import { lstatSync, readFileSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { release } from 'node:os';
import { join } from 'node:path';
import type { EngineContext } from '../context.ts';
import { TscError } from '../errors.ts';
import { parseImageConfig } from '../images/config.ts';
import { pullImage } from '../images/pull.ts';
import { imageLayers } from '../images/records.ts';
import { findImage } from '../images/resolve.ts';
import { ensureLayer, removeTrees } from '../images/unpack.ts';
import { compileSeccomp, serializeProgram } from '../runtime/seccomp/bpf.ts';
import { defaultSeccompProfile } from '../runtime/seccomp/default.ts';
import { parseSeccompProfile } from '../runtime/seccomp/profile.ts';
import { buildSpec } from '../runtime/spec/build.ts';
import type { RunSpecOptions } from '../runtime/spec/options.ts';
import type { Spec } from '../runtime/spec/types.ts';
import { HelperFailure, startHelper, type ConfigEntry } from '../sys/helper.ts';
import { idMapConfig, type RootlessMaps } from '../sys/idmaps.ts';
import { programExit } from '../sys/userns.ts';

export interface RunOptions extends Omit<RunSpecOptions, 'network' | 'tty' | 'init'> {
  image: string;
  /** remove the container when it exits; required until containers are kept */
  rm: boolean;
  pull?: 'missing' | 'always' | 'never' | undefined;
  /** -i: the container reads our stdin (otherwise /dev/null) */
  interactive?: boolean | undefined;
  /** diagnostics (notes about accepted but unenforced flags) */
  onNote?: ((message: string) => void) | undefined;
  /** why the command could not be started (exit 126/127) */
  onError?: ((message: string) => void) | undefined;
}

export async function runContainer(ctx: EngineContext, options: RunOptions): Promise<number> {
  if (!options.rm) {
    throw new TscError('unsupported', 'tsc does not keep containers yet: run it with --rm', { hint: `tsc run --rm ${options.image} ...` });
  }
  const maps = await ctx.maps();
  if (!maps) throw new TscError('unsupported', 'tsc run as root is not supported yet', { hint: 'run it as an ordinary user (rootless)' });
  const store = await ctx.store();
  let found = options.pull === 'always' ? undefined : findImage(store.db, options.image);
  if (!found) {
    if (options.pull === 'never') throw new TscError('not-found', `no such image: ${options.image}`, { hint: 'pull it first, or drop --pull never' });
    await pullImage(ctx, { reference: options.image });
    found = findImage(store.db, options.image);
    if (!found) throw new TscError('internal', `${options.image} was pulled but cannot be found`);
  }
  const image = found.image;
  const config = parseImageConfig(await store.content.read(image.id), options.image);
  const helper = await ctx.helper();
  const unpack = { store, helper, maps };
  const layers = imageLayers(store.db, image.id);
  for (const layer of layers) await ensureLayer(unpack, layer);
  const lowers = layers.map((l) => store.layerPath(l.chainId)).reverse();

  const id = randomBytes(32).toString('hex');
  const dir = join(store.root, 'containers', id);
  await Promise.all(['upper', 'work', 'rootfs'].map((d) => mkdir(join(dir, d), { recursive: true, mode: 0o700 })));
  try {
    const { spec, notes } = buildSpec({
      id,
      image: config,
      rootfs: join(dir, 'rootfs'),
      idMaps: { uid: maps.uidMap, gid: maps.gidMap },
      rootless: true,
      options: { ...options, network: 'none' },
      passwd: imageFile(lowers, 'etc/passwd'),
      group: imageFile(lowers, 'etc/group'),
      hostEnv: process.env,
      lastCap: Number(readFileSync('/proc/sys/kernel/cap_last_cap', 'utf8')),
      hostNofile: hardNofile(),
    });
    for (const note of notes) options.onNote?.(note);
    spec.process.args[0] = resolveCommand(lowers, spec.process.args[0]!, spec.process.env);
    await writeFile(join(dir, 'config.json'), JSON.stringify(spec, (_, v: unknown) => (typeof v === 'bigint' ? v.toString() : v)));
    const seccomp = await seccompFile(spec, dir);
    const run = startHelper(helper, 'run', helperConfig(spec, maps, { lowers, upper: join(dir, 'upper'), work: join(dir, 'work'), seccomp }), {
      stdin: options.interactive ? 'inherit' : 'ignore',
      stdout: 'inherit',
      stderr: 'inherit',
      timeoutMs: 0,
    });
    let result;
    try {
      result = await run.result;
    } catch (error) {
      if (error instanceof HelperFailure && error.record.op === 'execve') {
        if (error.record.errname === 'ENOENT') return notRunnable(options, error, 127);
        if (error.record.errname === 'EACCES') return notRunnable(options, error, 126);
      }
      throw error;
    }
    const exit = programExit(result);
    return exit.signal !== undefined ? 128 + exit.signal : (exit.status ?? 125);
  } finally {
    await removeTrees(unpack, [dir]);
  }
}

/** The command could not be started: say why as docker does, and return 127 or 126. */
function notRunnable(options: RunOptions, error: HelperFailure, code: number): number {
  const path = error.record.path;
  const why = code === 127
    ? path.includes('/') ? `${path}: no such file or directory` : `${path}: executable file not found in $PATH`
    : `${path}: permission denied`;
  options.onError?.(`cannot start the container's command: ${why}`);
  return code;
}

/**
 * The helper executes the program path as given, so a bare command name is looked up in
 * the container's PATH here, in the image's layers (topmost first; a whiteout hides what
 * is below), as runc does inside the container. Not found: left as is (execve reports it).
 */
function resolveCommand(lowersTopFirst: readonly string[], command: string, env: readonly string[]): string {
  if (command.includes('/')) return command;
  const path = env.find((e) => e.startsWith('PATH='))?.slice(5) ?? '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
  for (const dir of path.split(':')) {
    if (!dir.startsWith('/')) continue;
    const candidate = `${dir.replace(/\/+$/, '')}/${command}`;
    if (findInLayers(lowersTopFirst, candidate.slice(1))) return candidate;
  }
  return command;
}


/** Our hard RLIMIT_NOFILE (a rootless container cannot be given more), from /proc/self/limits. */
function hardNofile(): number | undefined {
  const line = readFileSync('/proc/self/limits', 'utf8').split('\n').find((l) => l.startsWith('Max open files'));
  const hard = line?.trim().split(/\s+/)[4];
  return hard === undefined || hard === 'unlimited' ? undefined : Number(hard);
}

/**
 * Where `path` of the image's merged filesystem lives: the topmost layer that has it, as
 * the overlay shows it. A whiteout (0:0 character device) there hides the layers below.
 */
function findInLayers(lowersTopFirst: readonly string[], path: string): { host: string; isFile: boolean } | undefined {
  for (const layer of lowersTopFirst) {
    const host = join(layer, path);
    let s;
    try {
      s = lstatSync(host);
    } catch {
      continue; // not in this layer: look below
    }
    if (s.isCharacterDevice() && s.rdev === 0) return undefined;
    return { host, isFile: s.isFile() };
  }
  return undefined;
}

/** A regular file of the image (its /etc/passwd, ...), or undefined. */
function imageFile(lowersTopFirst: readonly string[], path: string): string | undefined {
  const found = findInLayers(lowersTopFirst, path);
  return found?.isFile ? readFileSync(found.host, 'utf8') : undefined;
}

async function seccompFile(spec: Spec, dir: string): Promise<string | undefined> {
  const reference = spec.linux.seccomp;
  if (!reference) return undefined;
  const profile = reference.profile === 'default' ? defaultSeccompProfile() : parseSeccompProfile(readFileSync(reference.path, 'utf8'), reference.path);
  const [major, minor] = release().split('.').map(Number) as [number, number];
  const filter = compileSeccomp(profile, {
    arch: process.arch === 'arm64' ? 'aarch64' : 'x86_64',
    capabilities: spec.process.capabilities.bounding,
    kernel: { major, minor },
  });
  const file = join(dir, 'seccomp.bpf');
  await writeFile(file, serializeProgram(filter.instructions));
  return file;
}

interface Rootfs {
  lowers: string[];
  upper: string;
  work: string;
  seccomp: string | undefined;
}

/** The helper's `run` configuration (docs/helper-protocol.md) for a spec. */
export function helperConfig(spec: Spec, maps: RootlessMaps, rootfs: Rootfs): ConfigEntry[] {
  const config: ConfigEntry[] = [...idMapConfig(maps)];
  config.push(['rootfs', spec.root.path], ['lowerdir', rootfs.lowers.join(':')], ['upperdir', rootfs.upper], ['workdir', rootfs.work]);
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
  if (rootfs.seccomp) config.push(['seccomp', rootfs.seccomp]);
  for (const r of p.rlimits) config.push(['rlimit', `${r.type} ${limit(r.soft)} ${limit(r.hard)}`]);
  for (const e of p.env) config.push(['env', e]);
  for (const a of p.args) config.push(['arg', a]);
  return config;
}

function limit(value: number | bigint): string {
  return BigInt(value) >= 18446744073709551615n ? 'unlimited' : String(value);
}
