/**
 * What every container gets unless a flag says otherwise: docker's capability set,
 * masked and read-only paths, the standard filesystems and device nodes, rlimits.
 * Values follow moby's daemon/pkg/oci/defaults.go (checked against its current tree)
 * and podman's rootless adjustments.
 */
import type { Device, Mount, Rlimit } from './types.ts';

/** docker's default capabilities, in docker's order. */
export const DEFAULT_CAPABILITIES: readonly string[] = [
  'CAP_CHOWN',
  'CAP_DAC_OVERRIDE',
  'CAP_FSETID',
  'CAP_FOWNER',
  'CAP_MKNOD',
  'CAP_NET_RAW',
  'CAP_SETGID',
  'CAP_SETUID',
  'CAP_SETFCAP',
  'CAP_SETPCAP',
  'CAP_NET_BIND_SERVICE',
  'CAP_SYS_CHROOT',
  'CAP_KILL',
  'CAP_AUDIT_WRITE',
];

/** Every capability Linux defines, indexed by its number (linux/capability.h). */
export const ALL_CAPABILITIES: readonly string[] = [
  'CAP_CHOWN', // 0
  'CAP_DAC_OVERRIDE',
  'CAP_DAC_READ_SEARCH',
  'CAP_FOWNER',
  'CAP_FSETID',
  'CAP_KILL',
  'CAP_SETGID',
  'CAP_SETUID',
  'CAP_SETPCAP',
  'CAP_LINUX_IMMUTABLE',
  'CAP_NET_BIND_SERVICE', // 10
  'CAP_NET_BROADCAST',
  'CAP_NET_ADMIN',
  'CAP_NET_RAW',
  'CAP_IPC_LOCK',
  'CAP_IPC_OWNER',
  'CAP_SYS_MODULE',
  'CAP_SYS_RAWIO',
  'CAP_SYS_CHROOT',
  'CAP_SYS_PTRACE',
  'CAP_SYS_PACCT', // 20
  'CAP_SYS_ADMIN',
  'CAP_SYS_BOOT',
  'CAP_SYS_NICE',
  'CAP_SYS_RESOURCE',
  'CAP_SYS_TIME',
  'CAP_SYS_TTY_CONFIG',
  'CAP_MKNOD',
  'CAP_LEASE',
  'CAP_AUDIT_WRITE',
  'CAP_AUDIT_CONTROL', // 30
  'CAP_SETFCAP',
  'CAP_MAC_OVERRIDE',
  'CAP_MAC_ADMIN',
  'CAP_SYSLOG',
  'CAP_WAKE_ALARM',
  'CAP_BLOCK_SUSPEND',
  'CAP_AUDIT_READ',
  'CAP_PERFMON',
  'CAP_BPF',
  'CAP_CHECKPOINT_RESTORE', // 40
];

/**
 * docker's masked paths. Docker also masks /sys/devices/system/cpu/cpuN/thermal_throttle
 * where present (GHSA-6fw5-f8r9-fgfm); those depend on the host, so the caller passes
 * them as `hostMaskedPaths`.
 */
export const DEFAULT_MASKED_PATHS: readonly string[] = [
  '/proc/acpi',
  '/proc/asound',
  '/proc/interrupts',
  '/proc/kcore',
  '/proc/keys',
  '/proc/latency_stats',
  '/proc/sched_debug',
  '/proc/scsi',
  '/proc/timer_list',
  '/proc/timer_stats',
  '/sys/devices/virtual/powercap',
  '/sys/firmware',
];

export const DEFAULT_READONLY_PATHS: readonly string[] = ['/proc/bus', '/proc/fs', '/proc/irq', '/proc/sys', '/proc/sysrq-trigger'];

/** docker's default /dev/shm size: 64 MiB. */
export const DEFAULT_SHM_SIZE = 64 * 1024 * 1024;

export const DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

export const DEFAULT_UMASK = 0o022;

/** The nofile limit podman gives containers (docker leaves it to containerd). */
export const DEFAULT_NOFILE = 1048576;

/** Where --init's binary is bind-mounted inside the container. */
export const INIT_PATH = '/run/tsc-init';

/** The gid of the `tty` group that devpts gives new ptys; only used when mapped. */
export const TTY_GID = 5;

/** The nodes every container gets (runtime-spec "Default Devices", less console/ptmx). */
export const DEFAULT_DEVICES: readonly Device[] = [
  { path: '/dev/null', major: 1, minor: 3 },
  { path: '/dev/zero', major: 1, minor: 5 },
  { path: '/dev/full', major: 1, minor: 7 },
  { path: '/dev/random', major: 1, minor: 8 },
  { path: '/dev/urandom', major: 1, minor: 9 },
  { path: '/dev/tty', major: 5, minor: 0 },
].map((d) => ({ type: 'c' as const, ...d, fileMode: 0o666, uid: 0, gid: 0 }));

/** Where the kernel filesystems can and cannot be mounted; decided by build.ts. */
export interface DefaultMountContext {
  /** the container has a user namespace (rootless, or root with --userns) */
  userNamespace: boolean;
  /** a new network namespace is created (not --network host) */
  newNetwork: boolean;
  /** container gid 5 (tty) is mapped */
  ttyGidMapped: boolean;
  /** /dev/shm size in bytes; undefined = no /dev/shm (--ipc none) */
  shmSize: number | undefined;
  /** --privileged: /sys read-write */
  sysWritable: boolean;
  /** --privileged or unmask of /sys/fs/cgroup: the cgroup filesystem read-write */
  cgroupWritable: boolean;
}

/**
 * The standard filesystems, in docker's order. Two rootless facts shape it: sysfs can
 * only be mounted by the user namespace that owns the network namespace, so with the
 * host's network /sys is the host's, bound read-only (podman does the same; docker drops
 * /sys); and device nodes cannot be created (mknod needs the initial user namespace), so
 * they are bind-mounted from the host.
 */
export function defaultMounts(ctx: DefaultMountContext): Mount[] {
  const sys = ctx.sysWritable ? 'rw' : 'ro';
  const cgroup = ctx.cgroupWritable ? 'rw' : 'ro';
  const mounts: Mount[] = [
    { destination: '/proc', type: 'proc', source: 'proc', options: ['nosuid', 'noexec', 'nodev'] },
    { destination: '/dev', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'strictatime', 'mode=755', 'size=65536k'] },
    {
      destination: '/dev/pts',
      type: 'devpts',
      source: 'devpts',
      options: ['nosuid', 'noexec', 'newinstance', 'ptmxmode=0666', 'mode=0620', ...(ctx.ttyGidMapped ? [`gid=${TTY_GID}`] : [])],
    },
  ];
  if (ctx.newNetwork || !ctx.userNamespace) {
    mounts.push({ destination: '/sys', type: 'sysfs', source: 'sysfs', options: ['nosuid', 'noexec', 'nodev', sys] });
  } else {
    mounts.push({ destination: '/sys', type: 'bind', source: '/sys', options: ['rbind', 'rprivate', 'nosuid', 'noexec', 'nodev', sys] });
  }
  // every container has its own cgroup namespace, so cgroup2 can be mounted even rootless
  mounts.push({ destination: '/sys/fs/cgroup', type: 'cgroup2', source: 'cgroup2', options: ['nosuid', 'noexec', 'nodev', cgroup] });
  mounts.push({ destination: '/dev/mqueue', type: 'mqueue', source: 'mqueue', options: ['nosuid', 'noexec', 'nodev'] });
  if (ctx.shmSize !== undefined) {
    mounts.push({ destination: '/dev/shm', type: 'tmpfs', source: 'shm', options: ['nosuid', 'noexec', 'nodev', 'mode=1777', `size=${ctx.shmSize}`] });
  }
  if (ctx.userNamespace) {
    for (const device of DEFAULT_DEVICES) {
      mounts.push({ destination: device.path, type: 'bind', source: device.path, options: ['bind', 'rprivate', 'nosuid', 'noexec', 'rw'] });
    }
  }
  return mounts;
}

/**
 * The default nofile limit. Root gets podman's 1048576; a rootless process cannot raise
 * its hard limit, so it gets its own hard limit when that is lower.
 */
export function defaultRlimits(rootless: boolean, hostNofileHard: number | undefined): Rlimit[] {
  const limit = rootless && hostNofileHard !== undefined ? Math.min(DEFAULT_NOFILE, hostNofileHard) : DEFAULT_NOFILE;
  return [{ type: 'RLIMIT_NOFILE', soft: limit, hard: limit }];
}
