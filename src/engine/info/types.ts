/** The report `tsc info` prints: plain data, so --format json shows exactly this. */
import type { CgroupFacts } from '../cgroups/detect.ts';
import type { IdRange } from '../idmap/subids.ts';
import type { StoragePaths } from '../paths.ts';

export type Severity = 'error' | 'warning' | 'note';

/** One problem found, with the one-line fix. `error` means rootless containers cannot run. */
export interface Finding {
  id: string;
  severity: Severity;
  message: string;
  fix?: string;
}

export interface ToolFacts {
  path: string | undefined;
  version: string | undefined;
}

export interface IdMapFacts {
  subuid: IdRange[];
  subgid: IdRange[];
  newuidmap: string | undefined;
  newgidmap: string | undefined;
  /** what the probe really managed: full maps, the single-id fallback, or nothing */
  result: 'newuidmap' | 'single' | 'failed' | 'not-needed';
  uidMap: string | undefined;
  gidMap: string | undefined;
  /** why the full map could not be written, when it could not */
  fallbackReason: string | undefined;
}

export interface UsernsFacts {
  maxUserNamespaces: number | undefined;
  /** Debian's kernel.unprivileged_userns_clone, where the kernel has it */
  unprivilegedClone: boolean | undefined;
  /** Ubuntu's kernel.apparmor_restrict_unprivileged_userns, where the kernel has it */
  apparmorRestricted: boolean | undefined;
}

export interface OverlayProbe {
  ok: boolean;
  options?: string;
  whiteout?: boolean;
  error?: string;
}

export type StorageDriver = 'overlay' | 'fuse-overlayfs' | 'vfs';

export interface StorageFacts {
  /** what new containers get: the configured driver, or the best that works here */
  driver: StorageDriver;
  /** TSC_STORAGE_DRIVER or `driver` in storage.conf, when set */
  configured?: StorageDriver | undefined;
  /** why the configured driver cannot be used (containers cannot be created then) */
  configuredError?: string | undefined;
  kernelOverlay: OverlayProbe;
  fuseOverlayfs: OverlayProbe & ToolFacts;
}

export interface DeviceFacts {
  path: string;
  exists: boolean;
  usable: boolean;
}

export interface NetworkFacts {
  pasta: ToolFacts;
  slirp4netns: ToolFacts;
  /** what `tsc run` uses unless --network says otherwise */
  default: 'pasta' | 'slirp4netns' | 'host' | 'none';
}

export interface HostInfo {
  tsc: { version: string; commit: string; node: string };
  host: { kernel: string; os: string; arch: string; cpus: number; memoryBytes: number };
  user: { uid: number; gid: number; name: string; rootless: boolean };
  userns: UsernsFacts;
  idmap: IdMapFacts;
  storage: StorageFacts;
  devices: { fuse: DeviceFacts; tun: DeviceFacts };
  network: NetworkFacts;
  cgroups: CgroupFacts & { manager: 'v2' | 'v1' | 'none' };
  paths: StoragePaths;
  findings: Finding[];
  /** true when nothing rootless containers need is missing (no `error` findings) */
  ready: boolean;
}
