/**
 * Storage drivers: how a container's root file system is made from its image's layers
 * (directories in overlay format, topmost first).
 *
 * - `overlay`: a kernel overlay (`userxattr`), mounted by the container's pid 1;
 * - `fuse-overlayfs`: the same layers and upper/work directories, mounted by the
 *   fuse-overlayfs daemon the helper starts beside the container, out of its reach
 *   (docs/helper-protocol.md, key `fuse-overlayfs`);
 * - `vfs`: a full copy of the image's merged layers in the container's `rootfs`
 *   directory, made at create time in the user namespace; pid 1 binds it onto itself.
 *
 * Lifecycle: chosen once per container at create (TSC_STORAGE_DRIVER, else `driver` in the
 * `[storage]` table of storage.conf, else the best that works here) and recorded in its
 * ContainerConfig, so start, exec and inspect always use the one it was made with.
 * An explicit choice that cannot work here fails, naming what is missing.
 */
import { readFile, writeFile, rename } from 'node:fs/promises';
import { join } from 'node:path';
import { parse, TomlError } from 'smol-toml';
import { errnoCode, TscError } from '../errors.ts';
import type { OverlayProbe, StorageDriver } from '../info/types.ts';
import type { StoragePaths } from '../paths.ts';
import { findProgram } from '../sys/exec.ts';
import { canAccess, readTextIfExists } from '../sys/files.ts';

export type { StorageDriver };

export const STORAGE_DRIVERS: readonly StorageDriver[] = ['overlay', 'fuse-overlayfs', 'vfs'];

/** A driver asked for, and where (for messages). */
export interface DriverSetting {
  driver: StorageDriver;
  source: string;
}

/** What the host offers; `kernelOverlay` and `fuseProbe` are undefined when not probed. */
export interface DriverFacts {
  kernelOverlay?: OverlayProbe | undefined;
  fuseOverlayfs: string | undefined;
  fuseDevice: boolean;
  fuseProbe?: OverlayProbe | undefined;
}

export interface DriverChoice {
  driver: StorageDriver;
  /** the program, for fuse-overlayfs */
  fuseOverlayfs?: string | undefined;
}

const kernelOverlayWorks = (p: OverlayProbe | undefined) => p?.ok === true && p.whiteout !== false;

/**
 * Pure: the driver for `setting` (undefined: the default) given what works. The default
 * prefers kernel overlay, then fuse-overlayfs (installed, /dev/fuse usable, and its probe,
 * when there was one, mounted), then vfs, which always works.
 */
export function chooseDriver(setting: DriverSetting | undefined, facts: DriverFacts): DriverChoice {
  const fuseReady = facts.fuseOverlayfs !== undefined && facts.fuseDevice;
  if (!setting) {
    if (kernelOverlayWorks(facts.kernelOverlay)) return { driver: 'overlay' };
    if (fuseReady && facts.fuseProbe?.ok !== false) return { driver: 'fuse-overlayfs', fuseOverlayfs: facts.fuseOverlayfs };
    return { driver: 'vfs' };
  }
  const from = `(${setting.source})`;
  switch (setting.driver) {
    case 'vfs':
      return { driver: 'vfs' };
    case 'overlay':
      if (kernelOverlayWorks(facts.kernelOverlay)) return { driver: 'overlay' };
      throw new TscError('unsupported', `storage driver overlay ${from} does not work here: kernel overlayfs cannot be mounted in a user namespace${facts.kernelOverlay?.error ? ` (${facts.kernelOverlay.error})` : facts.kernelOverlay?.ok ? ' (whiteouts failed)' : ''}`, {
        hint: 'a kernel >= 5.13 mounts overlayfs in user namespaces with userxattr; or choose fuse-overlayfs or vfs',
      });
    case 'fuse-overlayfs':
      if (facts.fuseOverlayfs === undefined) {
        throw new TscError('unsupported', `storage driver fuse-overlayfs ${from} needs the fuse-overlayfs program, which is not installed (not found in PATH)`, {
          hint: 'install fuse-overlayfs, or choose overlay or vfs',
        });
      }
      if (!facts.fuseDevice) {
        throw new TscError('unsupported', `storage driver fuse-overlayfs ${from} needs /dev/fuse, which is missing or not readable and writable by you`, {
          hint: 'sudo chmod 0666 /dev/fuse (or load the fuse module), or choose overlay or vfs',
        });
      }
      if (facts.fuseProbe?.ok === false) {
        throw new TscError('unsupported', `storage driver fuse-overlayfs ${from} does not work here: ${facts.fuseProbe.error ?? 'its test mount failed'}`, { hint: 'choose overlay or vfs' });
      }
      return { driver: 'fuse-overlayfs', fuseOverlayfs: facts.fuseOverlayfs };
  }
}

function checkName(value: unknown, source: string): StorageDriver {
  if (typeof value === 'string' && (STORAGE_DRIVERS as readonly string[]).includes(value)) return value as StorageDriver;
  throw new TscError('invalid-argument', `unknown storage driver ${JSON.stringify(value)} (${source})`, { hint: `use one of ${STORAGE_DRIVERS.join(', ')}` });
}

/** Pure: the setting from the environment's value and storage.conf's text (either may be absent). */
export function parseDriverSetting(envValue: string | undefined, confText: string | undefined, confFile: string): DriverSetting | undefined {
  if (envValue !== undefined && envValue !== '') return { driver: checkName(envValue, 'TSC_STORAGE_DRIVER'), source: 'TSC_STORAGE_DRIVER' };
  if (confText === undefined) return undefined;
  let table: Record<string, unknown>;
  try {
    table = parse(confText) as Record<string, unknown>;
  } catch (error) {
    if (!(error instanceof TomlError)) throw error;
    throw new TscError('invalid-content', `${confFile}:${error.line}:${error.column}: invalid toml: ${error.message.split('\n')[0]!.replace(/^Invalid TOML document: /, '')}`, {
      hint: `fix the syntax of ${confFile}`,
      cause: error,
    });
  }
  const storage = table.storage;
  if (storage === undefined) return undefined;
  if (typeof storage !== 'object' || storage === null || Array.isArray(storage)) {
    throw new TscError('invalid-content', `${confFile}: storage must be a table ([storage])`);
  }
  const driver = (storage as Record<string, unknown>).driver;
  if (driver === undefined || driver === '') return undefined;
  return { driver: checkName(driver, `driver in ${confFile}`), source: `driver in ${confFile}` };
}

export async function readDriverSetting(paths: StoragePaths, env: NodeJS.ProcessEnv = process.env): Promise<DriverSetting | undefined> {
  const file = join(paths.configDir, 'storage.conf');
  return parseDriverSetting(env.TSC_STORAGE_DRIVER, await readTextIfExists(file), file);
}

/** The probe's answer as kept in the runtime dir, valid for one boot and one kernel. */
export interface CachedProbe {
  bootId: string;
  kernel: string;
  fuseOverlayfs: string | undefined;
  kernelOverlay: OverlayProbe;
  fuse: OverlayProbe;
}

export const PROBE_CACHE = 'storage-probe.json';

export async function readProbeCache(runtimeDir: string, current: Omit<CachedProbe, 'kernelOverlay' | 'fuse'>): Promise<CachedProbe | undefined> {
  try {
    const cached = JSON.parse(await readFile(join(runtimeDir, PROBE_CACHE), 'utf8')) as CachedProbe;
    const same = cached.bootId === current.bootId && cached.kernel === current.kernel && (cached.fuseOverlayfs ?? null) === (current.fuseOverlayfs ?? null);
    return same && typeof cached.kernelOverlay === 'object' && typeof cached.fuse === 'object' ? cached : undefined;
  } catch (error) {
    if (errnoCode(error) === 'ENOENT' || error instanceof SyntaxError) return undefined;
    throw error;
  }
}

export async function writeProbeCache(runtimeDir: string, probe: CachedProbe): Promise<void> {
  const file = join(runtimeDir, PROBE_CACHE);
  const temp = `${file}.${process.pid}.tmp`;
  await writeFile(temp, JSON.stringify(probe), { mode: 0o600 });
  await rename(temp, file);
}

export interface DriverProbes {
  /** the helper's overlay probes (cached per boot): only run when the choice needs them */
  probe(fuseOverlayfs: string | undefined): Promise<{ kernelOverlay: OverlayProbe; fuse: OverlayProbe }>;
}

/** The driver a new container gets here. */
export async function storageDriver(paths: StoragePaths, probes: DriverProbes, env: NodeJS.ProcessEnv = process.env): Promise<DriverChoice> {
  const setting = await readDriverSetting(paths, env);
  if (setting?.driver === 'vfs') return { driver: 'vfs' };
  const [fuseOverlayfs, fuseDevice] = await Promise.all([findProgram('fuse-overlayfs'), canAccess('/dev/fuse', 'rw')]);
  const facts: DriverFacts = { fuseOverlayfs, fuseDevice };
  // an explicit fuse-overlayfs is trusted to work once it is there; the default tries it
  if (setting?.driver !== 'fuse-overlayfs') {
    const probed = await probes.probe(fuseOverlayfs);
    facts.kernelOverlay = probed.kernelOverlay;
    facts.fuseProbe = probed.fuse;
  }
  return chooseDriver(setting, facts);
}
