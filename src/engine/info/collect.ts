/**
 * Gathers the facts `tsc info` reports. Cheap facts are read in parallel; what only the
 * kernel can answer (may this user create a user namespace, map its subordinate ids,
 * mount overlay there?) is tried for real by the native helper's `probe` mode.
 */
import { mkdtemp } from 'node:fs/promises';
import { arch, cpus, release, totalmem } from 'node:os';
import { join } from 'node:path';
import { COMMIT, VERSION } from '../build-info.ts';
import { detectCgroups } from '../cgroups/detect.ts';
import { TscError } from '../errors.ts';
import { storagePaths, type StoragePaths } from '../paths.ts';
import { findProgram, runProgram } from '../sys/exec.ts';
import { idMapConfig, rootlessMaps, type RootlessMaps } from '../sys/idmaps.ts';
import { canAccess, ensurePrivateDir, readTextIfExists, removeTree, statIfExists } from '../sys/files.ts';
import { helperBinary, runHelper, type ConfigEntry, type HelperEvent } from '../sys/helper.ts';
import type { Identity } from '../sys/identity.ts';
import { chooseDriver, readDriverSetting, readProbeCache, writeProbeCache, type DriverFacts } from '../containers/driver.ts';
import { diagnose, suggestSubordinateRange } from './diagnose.ts';
import type { DeviceFacts, HostInfo, IdMapFacts, NetworkFacts, OverlayProbe, StorageFacts, ToolFacts, UsernsFacts } from './types.ts';

export interface CollectOptions {
  /** the files subordinate ids are read from (tests point these elsewhere) */
  subuidFile?: string;
  subgidFile?: string;
}

export async function collectInfo(who: Identity, options: CollectOptions = {}): Promise<HostInfo> {
  const rootless = who.uid !== 0;
  const paths = storagePaths(who);
  const maps = await rootlessMaps(who, options);
  const { subuid, subgid, newuidmap, newgidmap } = maps;

  const [os, userns, cgroups, fuseOverlayfs, pasta, slirp4netns, fuse, tun, subidText] = await Promise.all([
    osName(),
    usernsFacts(),
    detectCgroups(),
    tool('fuse-overlayfs'),
    tool('pasta'),
    tool('slirp4netns'),
    device('/dev/fuse'),
    device('/dev/net/tun'),
    allSubordinateText(options),
  ]);

  const probe = await probeKernel(who, paths, { maps, fuseOverlayfs: fuseOverlayfs.path });
  if (probe.complete) await cacheProbe(paths.runtimeDir, fuseOverlayfs.path, probe);
  const idmap: IdMapFacts = { subuid, subgid, newuidmap, newgidmap, ...probe.idmap };
  const storage: StorageFacts = {
    ...(await driverFacts(paths, { kernelOverlay: probe.kernelOverlay, fuseOverlayfs: fuseOverlayfs.path, fuseDevice: fuse.usable, fuseProbe: probe.fuse })),
    kernelOverlay: probe.kernelOverlay,
    fuseOverlayfs: { ...fuseOverlayfs, ...probe.fuse },
  };
  const network: NetworkFacts = {
    pasta,
    slirp4netns,
    default: pasta.path && tun.usable ? 'pasta' : slirp4netns.path && tun.usable ? 'slirp4netns' : 'none',
  };
  const manager = rootless
    ? cgroups.writable ? 'v2' : 'none'
    : cgroups.layout === 'v2' ? 'v2' : cgroups.layout === 'none' ? 'none' : 'v1';

  const partial = {
    tsc: { version: VERSION, commit: COMMIT, node: process.version },
    host: { kernel: release(), os, arch: arch(), cpus: cpus().length, memoryBytes: totalmem() },
    user: { uid: who.uid, gid: who.gid, name: who.name, rootless },
    userns,
    idmap,
    storage,
    devices: { fuse, tun },
    network,
    cgroups: { ...cgroups, manager } as HostInfo['cgroups'],
    paths,
  };
  const findings = diagnose(partial, {
    suggestedRange: suggestSubordinateRange(subidText),
    runtimeDirError: probe.runtimeDirError,
    osFamily: osFamily(os),
  });
  return { ...partial, findings, ready: !findings.some((f) => f.severity === 'error') };
}

/** The driver new containers get (driver.ts), and why a configured one cannot be used. */
async function driverFacts(paths: StoragePaths, facts: DriverFacts): Promise<Pick<StorageFacts, 'driver' | 'configured' | 'configuredError'>> {
  let setting;
  try {
    setting = await readDriverSetting(paths);
    return { driver: chooseDriver(setting, facts).driver, configured: setting?.driver };
  } catch (error) {
    if (!(error instanceof TscError)) throw error;
    return { driver: chooseDriver(undefined, facts).driver, configured: setting?.driver, configuredError: error.message };
  }
}

async function bootId(): Promise<string> {
  return ((await readTextIfExists('/proc/sys/kernel/random/boot_id')) ?? '').trim();
}

async function cacheProbe(runtimeDir: string, fuseOverlayfs: string | undefined, probe: KernelProbe): Promise<void> {
  await writeProbeCache(runtimeDir, { bootId: await bootId(), kernel: release(), fuseOverlayfs, kernelOverlay: probe.kernelOverlay, fuse: probe.fuse });
}

/**
 * The overlay probes for choosing a storage driver: the answer `tsc info` or an earlier
 * create left in the runtime dir for this boot and kernel, else the helper's probe (kept).
 */
export async function probeStorage(who: Identity, paths: StoragePaths, maps: RootlessMaps | undefined, fuseOverlayfs: string | undefined): Promise<{ kernelOverlay: OverlayProbe; fuse: OverlayProbe }> {
  const cached = await readProbeCache(paths.runtimeDir, { bootId: await bootId(), kernel: release(), fuseOverlayfs });
  if (cached) return cached;
  const probe = await probeKernel(who, paths, { maps, fuseOverlayfs });
  if (probe.complete) await cacheProbe(paths.runtimeDir, fuseOverlayfs, probe);
  return probe;
}

/** Both subordinate id files whole: the suggested new range must avoid everyone's. */
async function allSubordinateText(options: CollectOptions): Promise<string> {
  const [uids, gids] = await Promise.all([
    readTextIfExists(options.subuidFile ?? '/etc/subuid'),
    readTextIfExists(options.subgidFile ?? '/etc/subgid'),
  ]);
  return `${uids ?? ''}\n${gids ?? ''}`;
}

async function osName(): Promise<string> {
  const text = (await readTextIfExists('/etc/os-release')) ?? '';
  const match = /^PRETTY_NAME="?([^"\n]*)"?$/m.exec(text);
  return match?.[1] ?? 'unknown';
}

function osFamily(os: string): 'debian' | 'fedora' | 'other' {
  if (/debian|ubuntu|mint/i.test(os)) return 'debian';
  if (/fedora|red hat|rhel|centos|rocky|alma/i.test(os)) return 'fedora';
  return 'other';
}

async function usernsFacts(): Promise<UsernsFacts> {
  const read = async (path: string) => {
    const text = await readTextIfExists(path);
    return text === undefined ? undefined : Number(text.trim());
  };
  const [max, clone, apparmor] = await Promise.all([
    read('/proc/sys/user/max_user_namespaces'),
    read('/proc/sys/kernel/unprivileged_userns_clone'),
    read('/proc/sys/kernel/apparmor_restrict_unprivileged_userns'),
  ]);
  return {
    maxUserNamespaces: max,
    unprivilegedClone: clone === undefined ? undefined : clone !== 0,
    apparmorRestricted: apparmor === undefined ? undefined : apparmor !== 0,
  };
}

async function tool(name: string): Promise<ToolFacts> {
  const path = await findProgram(name);
  if (!path) return { path: undefined, version: undefined };
  try {
    const result = await runProgram(path, ['--version'], { timeoutMs: 5000 });
    return { path, version: parseToolVersion(`${result.stdout}\n${result.stderr}`, name) };
  } catch {
    return { path, version: undefined };
  }
}

/**
 * The version in a tool's `--version` output: from the first line naming the tool
 * (fuse-overlayfs prints its libraries' versions too), else from the first line with one.
 */
export function parseToolVersion(output: string, name: string): string | undefined {
  const lines = output.split('\n');
  const own = lines.filter((line) => line.startsWith(name));
  for (const line of [...own, ...lines]) {
    const match = /(?:^|[\s:])v?(\d+(?:[._]\d+)+[\w.~+-]*)/.exec(line);
    if (match) return match[1];
  }
  return undefined;
}

async function device(path: string): Promise<DeviceFacts> {
  const s = await statIfExists(path);
  const exists = s?.isCharacterDevice ?? false;
  return { path, exists, usable: exists && (await canAccess(path, 'rw')) };
}

interface KernelProbe {
  idmap: Omit<IdMapFacts, 'subuid' | 'subgid' | 'newuidmap' | 'newgidmap'>;
  kernelOverlay: OverlayProbe;
  fuse: OverlayProbe;
  runtimeDirError: string | undefined;
  /** the probe ran to its end (its answer may be kept) */
  complete: boolean;
}

interface ProbeInputs {
  /** undefined as root */
  maps: RootlessMaps | undefined;
  fuseOverlayfs: string | undefined;
}

/** Runs the helper's probe in a scratch directory of the runtime dir, then removes it. */
async function probeKernel(who: Identity, paths: StoragePaths, inputs: ProbeInputs): Promise<KernelProbe> {
  const rootless = who.uid !== 0;
  const result: KernelProbe = {
    idmap: { result: rootless ? 'failed' : 'not-needed', uidMap: undefined, gidMap: undefined, fallbackReason: undefined },
    kernelOverlay: { ok: false, error: 'not probed' },
    fuse: { ok: false, error: inputs.fuseOverlayfs ? 'not probed' : 'fuse-overlayfs is not installed' },
    runtimeDirError: undefined,
    complete: false,
  };
  let workdir: string;
  try {
    await ensurePrivateDir(paths.runtimeDir, who.uid);
    workdir = await mkdtemp(join(paths.runtimeDir, 'probe-'));
  } catch (error) {
    result.runtimeDirError = error instanceof Error ? error.message : String(error);
    return result;
  }
  const config: ConfigEntry[] = [['userns', rootless ? '1' : '0'], ['workdir', workdir]];
  if (rootless && inputs.maps) config.push(...idMapConfig(inputs.maps));
  if (inputs.fuseOverlayfs) config.push(['fuse-overlayfs', inputs.fuseOverlayfs]);
  try {
    const binary = await helperBinary(paths.runtimeDir, who.uid);
    const run = await runHelper(binary, 'probe', config);
    applyProbeEvents(result, run.events);
    result.complete = true;
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    if (rootless) result.idmap.fallbackReason = message;
    result.kernelOverlay = { ok: false, error: message };
    if (error instanceof TscError && error.code === 'internal') throw error;
  } finally {
    await removeTree(workdir);
  }
  return result;
}

/** Folds the probe's events (docs/helper-protocol.md) into the facts. */
export function applyProbeEvents(result: KernelProbe, events: readonly HelperEvent[]): void {
  for (const event of events) {
    switch (event.name) {
      case 'idmap':
        result.idmap.result = event.method === 'newuidmap' ? 'newuidmap' : 'single';
        result.idmap.uidMap = String(event.uid_map ?? '');
        result.idmap.gidMap = String(event.gid_map ?? '');
        break;
      case 'idmap-fallback':
        result.idmap.fallbackReason = `${String(event.tool)} exited with status ${String(event.status)}: ${String(event.stderr ?? '').trim()}`;
        break;
      case 'overlay':
      case 'fuse-overlayfs': {
        const probe: OverlayProbe = event.ok === true
          ? { ok: true, options: String(event.options ?? ''), whiteout: event.whiteout !== false }
          : { ok: false, error: String(event.message ?? event.errname ?? 'failed') };
        if (event.name === 'overlay') result.kernelOverlay = probe;
        else result.fuse = { ok: probe.ok, ...(probe.error ? { error: probe.error } : {}) };
        break;
      }
    }
  }
}

