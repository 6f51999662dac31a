/**
 * Turns the facts of `tsc info` into findings, each with its one-line fix. Pure, so every
 * rule is table-tested (test/unit/info/diagnose.test.ts).
 */
import type { Finding, HostInfo } from './types.ts';

export type Facts = Omit<HostInfo, 'findings' | 'ready'>;

export interface DiagnoseContext {
  /** a free subordinate range to suggest, e.g. "100000-165535" */
  suggestedRange: string;
  /** why the runtime directory could not be used, if it could not */
  runtimeDirError: string | undefined;
  osFamily: 'debian' | 'fedora' | 'other';
}

export function diagnose(facts: Facts, context: DiagnoseContext): Finding[] {
  const findings: Finding[] = [];
  const add = (f: Finding) => findings.push(f);
  const { user, userns, idmap, storage, devices, network, paths } = facts;
  const install = (debianPackage: string, fedoraPackage: string) =>
    context.osFamily === 'fedora' ? `sudo dnf install -y ${fedoraPackage}` : `sudo apt-get install -y ${debianPackage}`;

  if (context.runtimeDirError) {
    add({
      id: 'runtime-dir',
      severity: 'error',
      message: `the runtime directory ${paths.runtimeDir} cannot be used: ${context.runtimeDirError}`,
      fix: 'export XDG_RUNTIME_DIR=/run/user/$(id -u) (it must exist and be yours), or set TSC_RUNTIME_DIR',
    });
  } else if (paths.runtimeDirSource === 'fallback') {
    add({
      id: 'runtime-dir',
      severity: 'note',
      message: `XDG_RUNTIME_DIR is not set; live state goes to ${paths.runtimeDir}`,
      fix: 'log in through a PAM session that sets XDG_RUNTIME_DIR, or export it',
    });
  }

  if (!user.rootless) {
    add({ id: 'root', severity: 'note', message: 'running as root: containers are not rootless and use root\'s storage' });
  } else {
    if (userns.maxUserNamespaces === 0) {
      add({
        id: 'userns-disabled',
        severity: 'error',
        message: 'user namespaces are disabled (user.max_user_namespaces is 0)',
        fix: 'sudo sysctl -w user.max_user_namespaces=28633',
      });
    }
    if (userns.unprivilegedClone === false) {
      add({
        id: 'userns-unprivileged',
        severity: 'error',
        message: 'unprivileged user namespaces are disabled (kernel.unprivileged_userns_clone is 0)',
        fix: 'sudo sysctl -w kernel.unprivileged_userns_clone=1',
      });
    }
    if (userns.apparmorRestricted === true) {
      add({
        id: 'userns-apparmor',
        severity: 'error',
        message: 'AppArmor restricts unprivileged user namespaces (kernel.apparmor_restrict_unprivileged_userns is 1)',
        fix: 'sudo sysctl -w kernel.apparmor_restrict_unprivileged_userns=0',
      });
    }
    const noUids = idmap.subuid.length === 0;
    const noGids = idmap.subgid.length === 0;
    if (noUids || noGids) {
      const which = noUids && noGids ? 'uids or gids' : noUids ? 'uids' : 'gids';
      const files = noUids && noGids ? '/etc/subuid and /etc/subgid' : noUids ? '/etc/subuid' : '/etc/subgid';
      const flags = [noUids ? `--add-subuids ${context.suggestedRange}` : '', noGids ? `--add-subgids ${context.suggestedRange}` : '']
        .filter(Boolean)
        .join(' ');
      add({
        id: 'subids-missing',
        severity: 'error',
        message: `${user.name} has no subordinate ${which} in ${files}: containers would see a single user, and images with files of other owners cannot be unpacked`,
        fix: `sudo usermod ${flags} ${user.name}`,
      });
    }
    if (!idmap.newuidmap || !idmap.newgidmap) {
      add({
        id: 'newuidmap-missing',
        severity: 'error',
        message: `${!idmap.newuidmap ? 'newuidmap' : 'newgidmap'} is not installed: subordinate ids cannot be mapped`,
        fix: install('uidmap', 'shadow-utils'),
      });
    } else if (!noUids && !noGids && idmap.result !== 'newuidmap') {
      add({
        id: 'newuidmap-failed',
        severity: 'error',
        message: `mapping the subordinate ids failed${idmap.fallbackReason ? `: ${idmap.fallbackReason}` : ''}`,
        fix: `sudo chmod u+s ${idmap.newuidmap} ${idmap.newgidmap} (or give them cap_setuid/cap_setgid), and check that the ranges in /etc/subuid and /etc/subgid are yours`,
      });
    }
    if (idmap.result === 'failed' && (noUids || noGids)) {
      add({
        id: 'userns-failed',
        severity: 'error',
        message: `cannot create a user namespace${idmap.fallbackReason ? `: ${idmap.fallbackReason}` : ''}`,
        fix: 'check user.max_user_namespaces and any LSM policy that restricts user namespaces',
      });
    }
  }

  if (storage.configuredError) {
    add({ id: 'storage-driver', severity: 'error', message: storage.configuredError, fix: 'unset TSC_STORAGE_DRIVER or change driver in storage.conf (overlay, fuse-overlayfs, vfs)' });
  }
  if (storage.configured) {
    // chosen by the user: no advice about the automatic choice
  } else if (storage.driver === 'fuse-overlayfs') {
    add({
      id: 'storage-fuse',
      severity: 'note',
      message: `kernel overlayfs is not usable here (${storage.kernelOverlay.error ?? 'whiteouts failed'}); using fuse-overlayfs, which is slower`,
      fix: 'a kernel >= 5.13 mounts overlayfs in user namespaces with userxattr',
    });
  } else if (storage.driver === 'vfs') {
    add({
      id: 'storage-vfs',
      severity: 'warning',
      message: `neither kernel overlayfs (${storage.kernelOverlay.error ?? 'failed'}) nor fuse-overlayfs (${storage.fuseOverlayfs.error ?? 'failed'}) works: containers get full copies of their images (slow, uses more disk)`,
      fix: devices.fuse.exists && !devices.fuse.usable ? 'sudo chmod 0666 /dev/fuse' : install('fuse-overlayfs', 'fuse-overlayfs'),
    });
  }
  if (user.rootless && devices.fuse.exists && !devices.fuse.usable && storage.driver === 'overlay') {
    add({
      id: 'fuse-device',
      severity: 'note',
      message: '/dev/fuse is not accessible to you: the fuse-overlayfs fallback is unavailable (kernel overlay works, so this is fine)',
      fix: 'sudo chmod 0666 /dev/fuse',
    });
  }

  if (user.rootless && !devices.tun.usable) {
    add({
      id: 'tun-device',
      severity: 'warning',
      message: devices.tun.exists
        ? '/dev/net/tun is not accessible to you: pasta and slirp4netns cannot give containers a network'
        : '/dev/net/tun does not exist: pasta and slirp4netns cannot give containers a network',
      fix: devices.tun.exists ? 'sudo chmod 0666 /dev/net/tun' : 'sudo modprobe tun',
    });
  }
  if (!network.pasta.path && !network.slirp4netns.path) {
    add({
      id: 'network-backend',
      severity: 'warning',
      message: 'neither pasta nor slirp4netns is installed: containers run with --network none unless you choose --network host',
      fix: install('passt', 'passt'),
    });
  }

  addCgroupFindings(facts, add);
  return findings;
}

function addCgroupFindings(facts: Facts, add: (f: Finding) => void): void {
  const { cgroups, user } = facts;
  if (cgroups.layout === 'none') {
    add({ id: 'cgroups-none', severity: 'warning', message: 'no cgroup hierarchy is mounted: containers cannot be limited, paused or measured' });
    return;
  }
  if (!user.rootless) {
    if (cgroups.layout === 'hybrid') {
      add({
        id: 'cgroups-hybrid',
        severity: 'note',
        message: `hybrid cgroups: limits use the v1 controllers (${Object.keys(cgroups.v1Controllers).join(', ')})`,
      });
    }
    return;
  }
  const missing = cgroups.missingControllers;
  const limits = 'limits (--memory, --cpus, --pids-limit) cannot be enforced';
  if (cgroups.layout === 'v1') {
    add({
      id: 'cgroups-v1',
      severity: 'warning',
      message: `only cgroup v1 is mounted and rootless tsc cannot use it: containers get no cgroup of their own; ${limits}`,
      fix: 'boot with systemd.unified_cgroup_hierarchy=1 to use cgroup v2',
    });
    return;
  }
  if (!cgroups.writable) {
    const dir = cgroups.ownCgroupDir ?? cgroups.v2MountPoint ?? '/sys/fs/cgroup';
    add({
      id: 'cgroup-not-delegated',
      severity: 'warning',
      message: `your cgroup ${dir} is not delegated to you: containers get no cgroup of their own (no pause, stats or limits)`,
      fix: 'run tsc in a systemd user session (sudo loginctl enable-linger ' + user.name + '), or have root delegate a cgroup as scripts/setup-host.sh does',
    });
  }
  if (missing.length > 0) {
    const where = cgroups.layout === 'hybrid'
      ? `are bound to the cgroup v1 hierarchies (hybrid host), which rootless tsc cannot use`
      : `are not delegated to your cgroup ${cgroups.ownCgroupDir ?? ''}`;
    add({
      id: 'cgroup-controllers',
      severity: 'warning',
      message: `the ${missing.join(', ')} controller${missing.length > 1 ? 's' : ''} ${where}: ${limits}`,
      fix: cgroups.layout === 'hybrid'
        ? 'boot with systemd.unified_cgroup_hierarchy=1 (cgroup v2 only)'
        : 'delegate them: a drop-in /etc/systemd/system/user@.service.d/delegate.conf with [Service] Delegate=cpu cpuset io memory pids',
    });
  }
}

/**
 * A subordinate range that overlaps nobody's, for the usermod fix: the first 65536-aligned
 * block above every range in the given /etc/subuid and /etc/subgid text (at least 100000).
 */
export function suggestSubordinateRange(text: string): string {
  let end = 100_000;
  for (const line of text.split('\n')) {
    const match = /^[^:#\s][^:]*:(\d+):(\d+)\s*$/.exec(line.trim());
    if (match) end = Math.max(end, Number(match[1]) + Number(match[2]));
  }
  const start = end === 100_000 ? 100_000 : Math.ceil(end / 65_536) * 65_536;
  return `${start}-${start + 65_535}`;
}
