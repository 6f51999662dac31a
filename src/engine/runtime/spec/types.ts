/**
 * The subset of the OCI runtime-spec v1.2 config.json that tsc produces
 * (https://github.com/opencontainers/runtime-spec/blob/v1.2.0/config.md and
 * config-linux.md). build.ts makes it as a plain value; the native helper performs it.
 *
 * Contract with the helper (it is the runtime, so it also does what the runtime-spec
 * leaves implicit):
 * - mounts are performed in order, after the rootfs and before pivot_root; every mount
 *   point is created if missing (inside the rootfs, never through a symlink);
 * - `bind` mounts that are read-only keep the flags the kernel locked on their source
 *   (nosuid, nodev, noexec) when remounting, since a user namespace cannot drop them;
 *   `rro` asks for a recursive read-only bind (mount_setattr, Linux 5.12);
 * - after /dev is populated the helper creates the usual symlinks (/dev/fd,
 *   /dev/stdin, /dev/stdout, /dev/stderr, /dev/core, /dev/ptmx -> pts/ptmx) and, with a
 *   terminal, bind-mounts the pty's slave on /dev/console;
 * - `linux.devices` are created with mknod (only without a user namespace); with one,
 *   the same nodes arrive as bind mounts in `mounts` instead;
 * - maskedPaths are covered (/dev/null on files, an empty read-only tmpfs on
 *   directories) and readonlyPaths remounted read-only, after all mounts.
 */

export const OCI_VERSION = '1.2.0';

/**
 * RLIM_INFINITY. A JavaScript number cannot hold 2^64-1; 2^64 is the nearest double and
 * exactly what JSON.parse makes of "18446744073709551615", so the value survives a
 * round trip. json.ts writes it as the exact decimal.
 */
export const RLIM_INFINITY = 2 ** 64;

export interface Spec {
  ociVersion: string;
  process: Process;
  root: Root;
  hostname: string;
  mounts: Mount[];
  linux: Linux;
  annotations: Record<string, string>;
}

export interface Process {
  terminal: boolean;
  user: User;
  args: string[];
  env: string[];
  cwd: string;
  capabilities: Capabilities;
  rlimits: Rlimit[];
  noNewPrivileges: boolean;
  oomScoreAdj?: number;
}

export interface User {
  uid: number;
  gid: number;
  /** 0o022 unless asked otherwise; set explicitly so the helper has no default of its own */
  umask: number;
  /** the primary gid first, as docker passes it, then supplementary groups */
  additionalGids: number[];
}

/** Capability names with their `CAP_` prefix, in the order they are applied. */
export interface Capabilities {
  bounding: string[];
  effective: string[];
  permitted: string[];
  /** always empty: docker stopped filling it after CVE-2022-24769 */
  inheritable: string[];
  ambient: string[];
}

export interface Rlimit {
  /** RLIMIT_NOFILE, RLIMIT_NPROC, ... */
  type: string;
  soft: number;
  hard: number;
}

export interface Root {
  /** absolute host path of the prepared root filesystem */
  path: string;
  readonly: boolean;
}

export interface Mount {
  /** absolute path inside the container */
  destination: string;
  /** `bind`, `tmpfs`, `proc`, `sysfs`, `devpts`, `mqueue`, `cgroup2` */
  type: string;
  /** host path for binds, a label for the others */
  source: string;
  options: string[];
}

export type NamespaceType = 'user' | 'mount' | 'pid' | 'network' | 'ipc' | 'uts' | 'cgroup';

export interface Namespace {
  type: NamespaceType;
}

export interface IdMappingEntry {
  containerID: number;
  hostID: number;
  size: number;
}

/**
 * Not the OCI `LinuxSeccomp` section but a reference to the profile: the engine
 * compiles it into a BPF program for the helper (a later step). Absent = unconfined.
 */
export type SeccompReference = { profile: 'default' } | { profile: 'file'; path: string };

export interface Device {
  type: 'c' | 'b';
  path: string;
  major: number;
  minor: number;
  fileMode: number;
  uid: number;
  gid: number;
}

/** Filled by the cgroup code in a later step; typed here so the shape is settled. */
export interface Resources {
  memory?: { limit?: number; reservation?: number; swap?: number };
  cpu?: { shares?: number; quota?: number; period?: number; cpus?: string; mems?: string };
  pids?: { limit: number };
}

export interface Linux {
  namespaces: Namespace[];
  uidMappings?: IdMappingEntry[];
  gidMappings?: IdMappingEntry[];
  maskedPaths: string[];
  readonlyPaths: string[];
  seccomp?: SeccompReference;
  cgroupsPath?: string;
  resources?: Resources;
  sysctl: Record<string, string>;
  devices: Device[];
  rootfsPropagation?: string;
}
