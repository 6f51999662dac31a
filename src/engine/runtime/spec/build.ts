/**
 * buildSpec: the OCI runtime config of one container, from its image config, the run
 * flags and facts the caller gathered (id maps, the container's /etc/passwd and
 * /etc/group, the host environment, paths it prepared). Pure: it reads nothing and
 * changes nothing; the native helper performs the result.
 *
 * `notes` lists what was accepted but is not enforced (a `:Z` relabel, an AppArmor
 * profile, ...), for the CLI to print.
 */
import type { ImageConfig } from '../../images/config.ts';
import type { IdMapping } from '../../idmap/subids.ts';
import { TscError } from '../../errors.ts';
import {
  DEFAULT_DEVICES,
  DEFAULT_MASKED_PATHS,
  DEFAULT_READONLY_PATHS,
  DEFAULT_SHM_SIZE,
  DEFAULT_UMASK,
  INIT_PATH,
  TTY_GID,
  defaultMounts,
  defaultRlimits,
} from './defaults.ts';
import { byDepth, checkDuplicates, parseMountFlag, parseTmpfsFlag, parseVolumeFlag, toSpecMount, type MountRequest } from './mounts.ts';
import { checkNamespaceModes, invalid, parseBytes, parseLabels, parseNetworkMode, parseSignal, parseSysctl, parseUlimit, type RunSpecOptions } from './options.ts';
import { clean, mergeEnv, resolveArgs, resolveUser, resolveWorkdir, withHome } from './process.ts';
import { parseSecurityOpts, resolveCapabilities, stillMasked } from './security.ts';
import { OCI_VERSION, type IdMappingEntry, type Mount, type Namespace, type Rlimit, type Spec } from './types.ts';

export interface NetworkFiles {
  /** host paths of the files the network setup wrote for this container */
  hosts: string;
  hostname: string;
  resolvConf: string;
}

export interface BuildSpecInput {
  /** the container id: 64 lower-case hex digits */
  id: string;
  image: ImageConfig;
  /** absolute host path of the prepared root filesystem */
  rootfs: string;
  /** the user namespace's maps; undefined when root runs without one */
  idMaps: { uid: IdMapping[]; gid: IdMapping[] } | undefined;
  rootless: boolean;
  options: RunSpecOptions;
  /** the text of the container's /etc/passwd and /etc/group, when present */
  passwd?: string;
  group?: string;
  /** the environment of the tsc process, for -e KEY and --env-file KEY */
  hostEnv: Readonly<Record<string, string | undefined>>;
  /** host path of the init binary for --init */
  initPath?: string;
  networkFiles?: NetworkFiles;
  /** host directory of each named volume (by name) and anonymous volume (by container path); see requiredVolumes */
  volumeSources?: Readonly<Record<string, string>>;
  cgroupsPath?: string;
  /** the caller's hard RLIMIT_NOFILE; a rootless container cannot go above it */
  hostNofile?: number;
  /** /proc/sys/kernel/cap_last_cap */
  lastCap?: number;
  /** host-specific paths docker also masks (/sys/devices/system/cpu/cpuN/thermal_throttle) */
  hostMaskedPaths?: readonly string[];
  /** the kernel has mount_setattr (5.12+): read-only binds become recursively read-only */
  recursiveReadOnly?: boolean;
}

export interface BuildSpecResult {
  spec: Spec;
  notes: string[];
}

/** The stop signal is kept here for `tsc stop`. */
export const STOP_SIGNAL_ANNOTATION = 'io.tsc.stop-signal';

const HOSTNAME = /^(?:(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])\.)*(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])$/;
/** Default mounts that --read-only leaves writable, as docker does. */
const WRITABLE_WITH_READ_ONLY = new Set(['/proc', '/dev', '/dev/pts', '/dev/shm', '/dev/mqueue']);

/** The -v, --mount and --tmpfs requests and the image's VOLUMEs not covered by them. */
export function mountRequests(image: ImageConfig, options: RunSpecOptions, notes: string[] = []): MountRequest[] {
  const requests = [
    ...(options.volumes ?? []).map((v) => parseVolumeFlag(v, notes)),
    ...(options.mounts ?? []).map((m) => parseMountFlag(m)),
    ...(options.tmpfs ?? []).map((t) => parseTmpfsFlag(t)),
  ];
  checkDuplicates(requests);
  const taken = new Set(requests.map((r) => r.destination));
  for (const path of Object.keys(image.config?.Volumes ?? {})) {
    const destination = clean(path.startsWith('/') ? path : `/${path}`);
    if (taken.has(destination) || destination === '/') continue;
    taken.add(destination);
    requests.push({ kind: 'volume', destination, readonly: false, flags: [], origin: `the image's VOLUME ${path}` });
  }
  return requests;
}

/**
 * The volumes the caller must provide before buildSpec: named ones by `name`, anonymous
 * ones (-v /path, image VOLUMEs) by `destination`; `nocopy` says not to fill a new
 * volume from the image.
 */
export function requiredVolumes(image: ImageConfig, options: RunSpecOptions): { name?: string; destination: string; nocopy: boolean }[] {
  return mountRequests(image, options)
    .filter((r) => r.kind === 'volume')
    .map((r) => ({ ...(r.source === undefined ? {} : { name: r.source }), destination: r.destination, nocopy: r.nocopy === true }));
}

function mapped(maps: readonly IdMapping[], id: number): boolean {
  return maps.some((m) => id >= m.inside && id < m.inside + m.count);
}

function toEntries(maps: readonly IdMapping[]): IdMappingEntry[] {
  return maps.map((m) => ({ containerID: m.inside, hostID: m.outside, size: m.count }));
}

export function buildSpec(input: BuildSpecInput): BuildSpecResult {
  const { options, idMaps } = input;
  const notes: string[] = [];
  const image = input.image.config ?? {};
  if (!/^[0-9a-f]{64}$/.test(input.id)) throw new TscError('internal', `container id "${input.id}" is not 64 hex digits`);
  if (input.rootless && idMaps === undefined) throw new TscError('internal', 'a rootless container needs id maps');
  const userNamespace = idMaps !== undefined;
  const privileged = options.privileged === true;

  const hostname = options.hostname ?? input.id.slice(0, 12);
  if (hostname.length > 64 || !HOSTNAME.test(hostname)) {
    throw invalid('--hostname', hostname, 'a hostname is up to 64 letters, digits, "-" and "." (RFC 1123)');
  }
  const network = parseNetworkMode(options.network);
  const newNetwork = network !== 'host';
  const { ipcNone } = checkNamespaceModes(options);

  const security = parseSecurityOpts(options.securityOpt ?? [], privileged);
  notes.push(...security.notes);
  const capabilities = resolveCapabilities({ capAdd: options.capAdd, capDrop: options.capDrop, privileged, lastCap: input.lastCap });
  if (privileged) notes.push("--privileged does not pass the host's devices into the container");

  // process
  let args = resolveArgs(image, options);
  if (options.init === true) {
    if (input.initPath === undefined) {
      throw new TscError('unsupported', '--init needs an init binary (catatonit or tini), and none was found', { hint: 'install catatonit or tini, or leave out --init' });
    }
    args = [INIT_PATH, '--', ...args];
  }
  const user = resolveUser(options.user ?? image.User ?? '', input.passwd, input.group);
  if (idMaps !== undefined) {
    const unmapped = (what: string, id: number): TscError =>
      new TscError('unsupported', `${what} ${id} is not mapped in the container's user namespace`, {
        hint: 'give your user subordinate ids in /etc/subuid and /etc/subgid, or run as a mapped user',
      });
    if (!mapped(idMaps.uid, user.uid)) throw unmapped('uid', user.uid);
    if (!mapped(idMaps.gid, user.gid)) throw unmapped('gid', user.gid);
    const dropped = user.additionalGids.filter((g) => !mapped(idMaps.gid, g));
    if (dropped.length > 0) {
      notes.push(`supplementary groups ${dropped.join(', ')} are not mapped in the container's user namespace and are left out`);
      user.additionalGids = user.additionalGids.filter((g) => mapped(idMaps.gid, g));
    }
  }
  const tty = options.tty === true;
  const env = withHome(mergeEnv({ image, hostname, tty, envFiles: options.envFiles, env: options.env, hostEnv: input.hostEnv }), user.home);

  const rlimits = new Map<string, Rlimit>(defaultRlimits(input.rootless, input.hostNofile).map((r) => [r.type, r]));
  for (const text of options.ulimits ?? []) {
    const limit = parseUlimit(text);
    if (input.rootless && limit.type === 'RLIMIT_NOFILE' && input.hostNofile !== undefined && limit.hard > input.hostNofile) {
      throw new TscError('unsupported', `--ulimit ${text}: a rootless container cannot raise nofile above your own hard limit ${input.hostNofile}`, {
        hint: `use at most nofile=${input.hostNofile}, or raise your limit (limits.conf, systemd LimitNOFILE)`,
      });
    }
    rlimits.set(limit.type, limit);
  }

  const oomScoreAdj = options.oomScoreAdj;
  if (oomScoreAdj !== undefined && (!Number.isInteger(oomScoreAdj) || oomScoreAdj < -1000 || oomScoreAdj > 1000)) {
    throw invalid('--oom-score-adj', String(oomScoreAdj), 'the value must be an integer from -1000 to 1000');
  }

  // sysctls: docker's defaults for a new network namespace, then the user's
  const sysctl: Record<string, string> = {};
  if (newNetwork) {
    sysctl['net.ipv4.ip_unprivileged_port_start'] = '0';
    // a user namespace cannot set ping_group_range for ids outside it; docker skips it too
    if (!userNamespace) sysctl['net.ipv4.ping_group_range'] = '0 2147483647';
  }
  for (const text of options.sysctls ?? []) {
    const [key, value] = parseSysctl(text, newNetwork);
    sysctl[key] = value;
  }

  // mounts
  let shmSize: number | undefined = undefined;
  if (!ipcNone) {
    shmSize = options.shmSize === undefined ? DEFAULT_SHM_SIZE : parseBytes('--shm-size', options.shmSize);
    if (shmSize === 0) shmSize = DEFAULT_SHM_SIZE;
  }
  const cgroupWritable = privileged || !stillMasked('/sys/fs/cgroup', security);
  const ttyGidMapped = idMaps === undefined || mapped(idMaps.gid, TTY_GID);
  const requests = mountRequests(input.image, options, notes);
  const userMounts: Mount[] = requests.map((r) => {
    const host = r.kind === 'bind' ? r.source : r.kind === 'volume' ? input.volumeSources?.[r.source ?? r.destination] : undefined;
    return toSpecMount(r, host, input.recursiveReadOnly === true);
  });
  const userDestinations = new Set(userMounts.map((m) => m.destination));
  if (input.networkFiles !== undefined) {
    const files: [string, string][] = [
      ['/etc/hostname', input.networkFiles.hostname],
      ['/etc/hosts', input.networkFiles.hosts],
      ['/etc/resolv.conf', input.networkFiles.resolvConf],
    ];
    for (const [destination, source] of files) {
      if (userDestinations.has(destination)) continue;
      userMounts.push({ destination, type: 'bind', source, options: ['rbind', 'rprivate', ...(options.readOnly === true ? ['ro'] : [])] });
    }
  }
  userMounts.sort(byDepth);
  const defaults = defaultMounts({ userNamespace, newNetwork, ttyGidMapped, shmSize, sysWritable: privileged, cgroupWritable })
    .filter((m) => !userDestinations.has(m.destination))
    .filter((m) => !(userDestinations.has('/dev') && m.destination.startsWith('/dev/')));
  if (options.readOnly === true) {
    // as docker: --privileged (and for cgroup an unmask) keeps /sys and cgroup writable even so
    const writable = new Set([...WRITABLE_WITH_READ_ONLY, ...(privileged ? ['/sys'] : []), ...(cgroupWritable ? ['/sys/fs/cgroup'] : [])]);
    for (const m of defaults) {
      const exempt = writable.has(m.destination) || m.destination.startsWith('/dev/');
      if (!exempt && !m.options.includes('ro')) m.options = [...m.options.filter((o) => o !== 'rw'), 'ro'];
    }
  }
  const mounts = [...defaults, ...userMounts];
  if (options.init === true && input.initPath !== undefined) {
    mounts.push({ destination: INIT_PATH, type: 'bind', source: input.initPath, options: ['bind', 'rprivate', 'ro'] });
  }
  const propagations = requests.map((r) => r.propagation ?? '');
  const rootfsPropagation = propagations.some((p) => p.endsWith('shared')) ? 'shared' : propagations.some((p) => p.endsWith('slave')) ? 'rslave' : undefined;

  // masked and read-only paths
  const maskedPaths = privileged
    ? []
    : [...DEFAULT_MASKED_PATHS, ...(input.hostMaskedPaths ?? []), ...(userNamespace && !newNetwork ? ['/sys/kernel'] : [])].filter((p) => stillMasked(p, security));
  for (const path of security.mask) if (!maskedPaths.includes(clean(path))) maskedPaths.push(clean(path));
  const readonlyPaths = privileged ? [] : DEFAULT_READONLY_PATHS.filter((p) => stillMasked(p, security));

  const namespaces: Namespace[] = [
    ...(userNamespace ? [{ type: 'user' as const }] : []),
    { type: 'mount' },
    { type: 'pid' },
    { type: 'ipc' },
    { type: 'uts' },
    { type: 'cgroup' },
    ...(newNetwork ? [{ type: 'network' as const }] : []),
  ];

  const annotations: Record<string, string> = { ...(image.Labels ?? {}), ...parseLabels(options.labels ?? []) };
  const stopSignal = options.stopSignal ?? image.StopSignal;
  annotations[STOP_SIGNAL_ANNOTATION] = stopSignal === undefined || stopSignal === '' ? 'SIGTERM' : parseSignal(options.stopSignal === undefined ? 'STOPSIGNAL' : '--stop-signal', stopSignal);

  const spec: Spec = {
    ociVersion: OCI_VERSION,
    process: {
      terminal: tty,
      user: { uid: user.uid, gid: user.gid, umask: DEFAULT_UMASK, additionalGids: user.additionalGids },
      args,
      env,
      cwd: resolveWorkdir(image, options.workdir),
      capabilities: { bounding: capabilities, effective: [...capabilities], permitted: [...capabilities], inheritable: [], ambient: [] },
      rlimits: [...rlimits.values()],
      noNewPrivileges: security.noNewPrivileges,
      ...(oomScoreAdj === undefined ? {} : { oomScoreAdj }),
    },
    root: { path: input.rootfs, readonly: options.readOnly === true },
    hostname,
    mounts,
    linux: {
      namespaces,
      ...(idMaps === undefined ? {} : { uidMappings: toEntries(idMaps.uid), gidMappings: toEntries(idMaps.gid) }),
      maskedPaths,
      readonlyPaths,
      ...(security.seccomp === undefined ? {} : { seccomp: security.seccomp }),
      ...(input.cgroupsPath === undefined ? {} : { cgroupsPath: input.cgroupsPath }),
      sysctl,
      devices: userNamespace ? [] : DEFAULT_DEVICES.map((d) => ({ ...d })),
      ...(rootfsPropagation === undefined ? {} : { rootfsPropagation }),
    },
    annotations,
  };
  return { spec, notes };
}
