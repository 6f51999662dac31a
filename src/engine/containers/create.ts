/**
 * `tsc create` (and the first half of `tsc run`): a container record and its directory,
 * ready to start. The image is found or pulled and its layers unpacked; the OCI runtime
 * spec is built from the image config and the flags and written to config.json with the
 * compiled seccomp filter beside it; the row goes from 'creating' to 'created' only once
 * everything is on disk, so a process killed half-way leaves a row `system check` can
 * recognise (state 'creating', its owner gone) and remove.
 */
import { createHash, randomBytes } from 'node:crypto';
import { lstatSync, readFileSync, statSync } from 'node:fs';
import { constants } from 'node:fs';
import { access, chmod, copyFile, mkdir, rename, writeFile } from 'node:fs/promises';
import { release } from 'node:os';
import { join } from 'node:path';
import type { EngineContext } from '../context.ts';
import { errnoCode, TscError } from '../errors.ts';
import { VERSION } from '../build-info.ts';
import { parseImageConfig, type ImageConfig } from '../images/config.ts';
import { imageLayers } from '../images/records.ts';
import { findImage } from '../images/resolve.ts';
import { ensureLayer, removeTrees, type UnpackContext } from '../images/unpack.ts';
import { compileSeccomp, serializeProgram } from '../runtime/seccomp/bpf.ts';
import { defaultSeccompProfile } from '../runtime/seccomp/default.ts';
import { parseSeccompProfile } from '../runtime/seccomp/profile.ts';
import { buildSpec, mountRequests, STOP_SIGNAL_ANNOTATION } from '../runtime/spec/build.ts';
import { attachVolumes, containerVolumes, detachVolumes } from '../volumes/attach.ts';
import { populateVolume } from '../volumes/populate.ts';
import { prepareNetwork } from '../network/plan.ts';
import { findProgram } from '../sys/exec.ts';
import { parseBytes, type RunSpecOptions } from '../runtime/spec/options.ts';
import type { Spec } from '../runtime/spec/types.ts';
import { deleteContainerRow, insertContainer, setRowState, type ContainerConfig, type RestartPolicy } from './records.ts';
import { containerDir } from './state.ts';
import { storageDriver } from './driver.ts';
import { prepareCgroup } from './cgroup.ts';

export interface CreateOptions extends Omit<RunSpecOptions, 'init' | 'tty'> {
  image: string;
  name?: string | undefined;
  pull?: 'missing' | 'always' | 'never' | undefined;
  platform?: string | undefined;
  /** -t */
  tty?: boolean | undefined;
  /** -i */
  interactive?: boolean | undefined;
  /** --rm */
  rm?: boolean | undefined;
  /** --restart no|always|unless-stopped|on-failure[:N] */
  restart?: string | undefined;
  /** --log-opt KEY=VALUE (max-size) */
  logOpts?: string[] | undefined;
  /** --stop-timeout, seconds */
  stopTimeout?: number | undefined;
  init?: boolean | undefined;
  /** -p, -P */
  publish?: string[] | undefined;
  publishAll?: boolean | undefined;
  /** --dns, --dns-search, --dns-option, --add-host */
  dns?: string[] | undefined;
  dnsSearch?: string[] | undefined;
  dnsOption?: string[] | undefined;
  addHost?: string[] | undefined;
  /** diagnostics: notes about accepted but unenforced flags, pull progress */
  onNote?: ((message: string) => void) | undefined;
}

export interface CreateResult {
  id: string;
  name: string;
  notes: string[];
}

/** --restart as docker spells it. */
export function parseRestart(text: string | undefined): RestartPolicy {
  if (text === undefined || text === '' || text === 'no') return { name: 'no', maximumRetryCount: 0 };
  if (text === 'always' || text === 'unless-stopped') return { name: text, maximumRetryCount: 0 };
  const match = /^on-failure(?::(\d+))?$/.exec(text);
  if (match) return { name: 'on-failure', maximumRetryCount: match[1] === undefined ? 0 : Number(match[1]) };
  throw new TscError('invalid-argument', `invalid --restart "${text}": expected no, always, unless-stopped or on-failure[:N]`);
}

function parseLogOpts(opts: readonly string[] | undefined): { maxSize: number } {
  let maxSize = 0;
  for (const opt of opts ?? []) {
    const eq = opt.indexOf('=');
    const key = eq < 0 ? opt : opt.slice(0, eq);
    const value = eq < 0 ? '' : opt.slice(eq + 1);
    if (key === 'max-size') maxSize = value === '-1' ? 0 : parseBytes('--log-opt max-size', value);
    else if (key === 'max-file' && value === '1') continue;
    else throw new TscError('invalid-argument', `unsupported --log-opt "${opt}"`, { hint: 'tsc supports max-size=SIZE (the log keeps one rotated file)' });
  }
  return { maxSize };
}

export async function createContainer(ctx: EngineContext, options: CreateOptions): Promise<CreateResult> {
  const restart = parseRestart(options.restart);
  if (options.rm && restart.name !== 'no') {
    throw new TscError('invalid-argument', 'conflicting options: --restart and --rm', { hint: 'a container removed when it exits cannot be restarted' });
  }
  const log = parseLogOpts(options.logOpts);
  const maps = await ctx.maps();
  const store = await ctx.store();
  let found = options.pull === 'always' ? undefined : findImage(store.db, options.image);
  if (!found) {
    if (options.pull === 'never') throw new TscError('not-found', `no such image: ${options.image}`, { hint: 'pull it first, or drop --pull never' });
    const { pullImage } = await import('../images/pull.ts'); // the registry client only when needed
    await pullImage(ctx, { reference: options.image, ...(options.platform ? { platform: options.platform } : {}) });
    found = findImage(store.db, options.image);
    if (!found) throw new TscError('internal', `${options.image} was pulled but cannot be found`);
  }
  const image = found.image;
  const imageConfig = parseImageConfig(await store.content.read(image.id), options.image);
  const helper = await ctx.helper();
  const unpack = { store, helper, maps };
  const layers = imageLayers(store.db, image.id);
  for (const layer of layers) await ensureLayer(unpack, layer);
  const lowers = layers.map((l) => store.layerPath(l.chainId)).reverse();
  const { driver } = await storageDriver(ctx.paths, {
    probe: async (fuseOverlayfs) => (await import('../info/collect.ts')).probeStorage(ctx.who, ctx.paths, maps, fuseOverlayfs),
  });

  const id = randomBytes(32).toString('hex');
  const dir = containerDir(store.root, id);
  const rootfs = { lowers, upper: join(dir, driver === 'vfs' ? 'rootfs' : 'upper'), work: join(dir, 'work') };
  const stopSignal = 'SIGTERM'; // until the spec says (the image's STOPSIGNAL or --stop-signal)
  const placeholder: ContainerConfig = {
    image: options.image, path: '', args: [], env: [], workdir: '/', user: '', hostname: '', labels: {},
    tty: options.tty === true, openStdin: options.interactive === true, autoRemove: options.rm === true, restart,
    network: 'none', ports: [], mounts: [], logMaxSize: log.maxSize, stopSignal,
    stopTimeout: options.stopTimeout ?? 10, init: options.init === true, rootfs, driver, readOnly: options.readOnly === true, notes: [],
  };
  const name = insertContainer(store.db, { id, name: options.name, imageId: image.id, imageName: options.image, config: placeholder }, new Date().toISOString());
  try {
    await Promise.all((driver === 'vfs' ? ['rootfs'] : ['upper', 'work', 'rootfs']).map((d) => mkdir(join(dir, d), { recursive: true, mode: 0o700 })));
    // the overlay's root takes the upper dir's mode: give it the image's own (0755 as a rule),
    // or a non-root user in the container could not even enter /; the container's
    // directory around it stays 0700
    if (driver !== 'vfs') await chmod(join(dir, 'upper'), lowers[0] ? statSync(lowers[0]).mode & 0o7777 : 0o755);
    const copyNote = driver === 'vfs' ? await copyImage(unpack, lowers, dir) : undefined;
    const hostname = options.hostname ?? id.slice(0, 12);
    const network = await prepareNetwork(
      {
        network: options.network, publish: options.publish, publishAll: options.publishAll,
        exposedPorts: imageConfig.config?.ExposedPorts, addHost: options.addHost, dns: options.dns,
        dnsSearch: options.dnsSearch, dnsOption: options.dnsOption, hostname, name, asRoot: ctx.who.uid === 0,
      },
      { tools: await networkTools() },
    );
    const networkFiles = network.mode === 'none' ? undefined : await writeNetworkFiles(dir, network.files);
    const specOptions = { ...options, init: false, tty: options.tty === true, network: network.mode };
    const requests = mountRequests(imageConfig, specOptions);
    const volumeSources = requests.some((r) => r.kind === 'volume')
      ? await attachVolumes(ctx, { containerId: id, requests, imageLayersTopFirst: lowers })
      : {};
    const volumes = Object.keys(volumeSources).length > 0 ? await containerVolumes(ctx, id) : [];
    const { spec, notes } = buildSpec({
      id,
      image: imageConfig,
      rootfs: join(dir, 'rootfs'),
      // root's containers get a user namespace too (every id mapped to itself), so they
      // are shaped like rootless ones: device nodes bound, rlimits within root's own
      idMaps: maps ? { uid: maps.uidMap, gid: maps.gidMap } : { uid: [IDENTITY], gid: [IDENTITY] },
      rootless: true,
      options: specOptions,
      volumeSources,
      ...(networkFiles ? { networkFiles } : {}),
      passwd: imageFile(lowers, 'etc/passwd'),
      group: imageFile(lowers, 'etc/group'),
      hostEnv: process.env,
      lastCap: Number(readFileSync('/proc/sys/kernel/cap_last_cap', 'utf8')),
      hostNofile: hardNofile(),
    });
    spec.process.args[0] = resolveCommand(lowers, spec.process.args[0]!, spec.process.env);
    const cgroup = await prepareCgroup(id);
    if (cgroup.note) notes.push(cgroup.note);
    if (network.note) notes.push(network.note);
    if (copyNote) notes.push(copyNote);
    await writeFile(join(dir, 'config.json'), JSON.stringify(spec, (_, v: unknown) => (typeof v === 'bigint' ? v.toString() : v), 2));
    await writeSeccomp(spec, dir, join(store.root, 'cache', 'seccomp'));
    const config: ContainerConfig = {
      ...placeholder,
      path: spec.process.args[0]!,
      args: spec.process.args.slice(1),
      env: spec.process.env,
      workdir: spec.process.cwd,
      user: options.user ?? imageConfig.config?.User ?? '',
      hostname: spec.hostname,
      labels: { ...spec.annotations },
      stopSignal: spec.annotations?.[STOP_SIGNAL_ANNOTATION] ?? stopSignal,
      cgroup: cgroup.path,
      network: network.mode,
      ports: network.ports,
      networkHook: network.helper.hook ? { argv: network.helper.hook, readyFd: network.helper.hookReadyFd } : undefined,
      shareNet: network.helper.shareNet,
      exposedPorts: Object.keys(imageConfig.config?.ExposedPorts ?? {}),
      mounts: spec.mounts.flatMap((m) => {
        const request = requests.find((r) => r.destination === m.destination);
        if (!request) return [];
        const volume = volumes.find((v) => v.destination === m.destination);
        return [{ type: request.kind, ...(volume ? { name: volume.name } : {}), source: m.source ?? '', destination: m.destination, readonly: request.readonly }];
      }),
      notes,
    };
    delete config.labels[STOP_SIGNAL_ANNOTATION];
    store.db.prepare("UPDATE containers SET config = ?, state = 'created' WHERE id = ?").run(JSON.stringify(config), id);
    for (const note of notes) options.onNote?.(note);
    return { id, name, notes };
  } catch (error) {
    await removeTrees(unpack, [dir]).catch(() => undefined);
    await detachVolumes(ctx, id, { removeAnonymous: true }).catch(() => undefined);
    deleteContainerRow(store.db, id);
    throw error;
  }
}

const IDENTITY = { inside: 0, outside: 0, count: 4294967295 };

/**
 * vfs: the image's merged layers copied into the container's rootfs directory, as root in
 * the user namespace (the volumes' copy-on-first-mount, with `/` as the destination):
 * through a scratch directory into `_data`, which then replaces the empty `rootfs`.
 * Returns a note when entries could not be copied (device nodes, rootless).
 */
async function copyImage(unpack: UnpackContext, lowersTopFirst: readonly string[], dir: string): Promise<string | undefined> {
  const data = join(dir, '_data');
  await mkdir(data, { mode: 0o700 });
  const report = await populateVolume(unpack, { layersTopFirst: lowersTopFirst, destination: '/', volumeDir: dir });
  await rename(data, join(dir, 'rootfs'));
  if (report.skipped.length === 0) return undefined;
  return `vfs: ${report.skipped.length} entries of the image were not copied (${report.skipped.slice(0, 3).join('; ')}${report.skipped.length > 3 ? '; ...' : ''})`;
}

/** For ImageConfig users elsewhere (inspect). */
export type { ImageConfig };

/**
 * The helper executes the program path as given, so a bare command name is looked up in
 * the container's PATH here, in the image's layers (topmost first; a whiteout hides what
 * is below), as runc does inside the container. Not found: left as is (execve reports it).
 */
export function resolveCommand(lowersTopFirst: readonly string[], command: string, env: readonly string[]): string {
  if (command.includes('/')) return command;
  const path = env.find((e) => e.startsWith('PATH='))?.slice(5) ?? '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
  for (const dir of path.split(':')) {
    if (!dir.startsWith('/')) continue;
    const candidate = `${dir.replace(/\/+$/, '')}/${command}`;
    if (findInLayers(lowersTopFirst, candidate.slice(1))) return candidate;
  }
  return command;
}

/** What this host has for networks: pasta, slirp4netns and a usable /dev/net/tun. */
export async function networkTools(): Promise<{ pasta?: string | undefined; slirp4netns?: string | undefined; tunUsable: boolean }> {
  const [pasta, slirp4netns] = await Promise.all([findProgram('pasta'), findProgram('slirp4netns')]);
  let tunUsable = true;
  try {
    await access('/dev/net/tun', constants.R_OK | constants.W_OK);
  } catch {
    tunUsable = false;
  }
  return { pasta, slirp4netns, tunUsable };
}

/** The container's /etc/hosts, /etc/resolv.conf and /etc/hostname, bound into it read-write. */
export async function writeNetworkFiles(dir: string, files: { hosts: string; resolvConf: string; hostname: string }): Promise<{ hosts: string; resolvConf: string; hostname: string }> {
  const paths = { hosts: join(dir, 'hosts'), resolvConf: join(dir, 'resolv.conf'), hostname: join(dir, 'hostname') };
  await Promise.all([writeFile(paths.hosts, files.hosts), writeFile(paths.resolvConf, files.resolvConf), writeFile(paths.hostname, files.hostname)]);
  return paths;
}

/** Our hard RLIMIT_NOFILE (a rootless container cannot be given more), from /proc/self/limits. */
export function hardNofile(): number | undefined {
  const line = readFileSync('/proc/self/limits', 'utf8').split('\n').find((l) => l.startsWith('Max open files'));
  const hard = line?.trim().split(/\s+/)[4];
  return hard === undefined || hard === 'unlimited' ? undefined : Number(hard);
}

/**
 * Where `path` of the image's merged filesystem lives: the topmost layer that has it, as
 * the overlay shows it. A whiteout (0:0 character device) there hides the layers below.
 */
export function findInLayers(lowersTopFirst: readonly string[], path: string): { host: string; isFile: boolean } | undefined {
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
export function imageFile(lowersTopFirst: readonly string[], path: string): string | undefined {
  const found = findInLayers(lowersTopFirst, path);
  return found?.isFile ? readFileSync(found.host, 'utf8') : undefined;
}

/**
 * Compiles the spec's seccomp profile to seccomp.bpf in the container's directory. The
 * program depends only on the profile, the capabilities, the architecture and the kernel,
 * so it is compiled once and kept in the store's cache (written to a temp name, renamed).
 */
export async function writeSeccomp(spec: Spec, dir: string, cacheDir: string): Promise<void> {
  const reference = spec.linux.seccomp;
  if (!reference) return;
  const source = reference.profile === 'default' ? 'default' : readFileSync(reference.path, 'utf8');
  const [major, minor] = release().split('.').map(Number) as [number, number];
  const arch = process.arch === 'arm64' ? 'aarch64' : 'x86_64';
  const key = createHash('sha256').update(JSON.stringify([VERSION, source, [...spec.process.capabilities.bounding].sort(), arch, major, minor])).digest('hex');
  const cached = join(cacheDir, `${key}.bpf`);
  const target = join(dir, 'seccomp.bpf');
  try {
    await copyFile(cached, target);
    return;
  } catch (error) {
    if (errnoCode(error) !== 'ENOENT') throw error;
  }
  const profile = reference.profile === 'default' ? defaultSeccompProfile() : parseSeccompProfile(source, reference.path);
  const program = serializeProgram(compileSeccomp(profile, { arch, capabilities: spec.process.capabilities.bounding, kernel: { major, minor } }).instructions);
  await writeFile(target, program);
  await mkdir(cacheDir, { recursive: true, mode: 0o700 });
  const temp = `${cached}.${process.pid}`;
  await writeFile(temp, program);
  await rename(temp, cached);
}

export { setRowState };
