/** The human view of `tsc info`. */
import type { Finding, HostInfo } from '../../engine/index.ts';

const GiB = 1024 ** 3;

export function renderInfo(info: HostInfo): string {
  const rows: [string, string][] = [];
  const { host, user, userns, idmap, storage, devices, network, cgroups, paths } = info;
  rows.push(['tsc', `${info.tsc.version} (commit ${info.tsc.commit}, node ${info.tsc.node})`]);
  rows.push(['host', `${host.os}, kernel ${host.kernel}, ${host.arch}, ${host.cpus} CPUs, ${(host.memoryBytes / GiB).toFixed(1)} GiB`]);
  rows.push(['user', `${user.name} (uid ${user.uid}, gid ${user.gid}), ${user.rootless ? 'rootless' : 'root'}`]);
  if (user.rootless) {
    rows.push(['user namespaces', userns.maxUserNamespaces === undefined ? 'unknown' : `max ${userns.maxUserNamespaces}`]);
    rows.push(['subordinate uids', ranges(idmap.subuid)]);
    rows.push(['subordinate gids', ranges(idmap.subgid)]);
    rows.push(['id mapping', idMapping(info)]);
  }
  rows.push(['storage driver', storageLine(info)]);
  rows.push(['fuse-overlayfs', storage.fuseOverlayfs.path
    ? `${storage.fuseOverlayfs.version ?? 'unknown version'} at ${storage.fuseOverlayfs.path}: ${storage.fuseOverlayfs.ok ? 'works' : `fails (${storage.fuseOverlayfs.error})`}`
    : 'not installed']);
  rows.push(['/dev/fuse', deviceLine(devices.fuse)]);
  rows.push(['/dev/net/tun', deviceLine(devices.tun)]);
  rows.push(['pasta', tool(network.pasta)]);
  rows.push(['slirp4netns', tool(network.slirp4netns)]);
  rows.push(['default network', network.default]);
  rows.push(['cgroups', cgroupLine(info)]);
  rows.push(['cgroup controllers', cgroups.controllers.length ? cgroups.controllers.join(' ') : 'none']);
  rows.push(['cgroup manager', cgroups.manager]);
  rows.push(['storage root', paths.storageRoot]);
  rows.push(['runtime dir', paths.runtimeDir]);
  rows.push(['config dir', paths.configDir]);

  const width = Math.max(...rows.map(([k]) => k.length)) + 2;
  let out = rows.map(([k, v]) => `${`${k}:`.padEnd(width)}${v}\n`).join('');
  out += `\n${findingsBlock(info.findings)}`;
  out += info.ready
    ? `Ready for rootless containers: yes${user.rootless ? '' : ' (running as root)'}\n`
    : 'Ready for rootless containers: no (fix the errors above)\n';
  return out;
}

function ranges(list: HostInfo['idmap']['subuid']): string {
  return list.length ? list.map((r) => `${r.start}-${r.start + r.count - 1} (${r.count})`).join(', ') : 'none';
}

function idMapping(info: HostInfo): string {
  const { idmap } = info;
  switch (idmap.result) {
    case 'newuidmap':
      return `works (newuidmap/newgidmap): uid map ${oneLine(idmap.uidMap)}; gid map ${oneLine(idmap.gidMap)}`;
    case 'single':
      return `single id only (uid map ${oneLine(idmap.uidMap)})${idmap.fallbackReason ? `: ${idmap.fallbackReason}` : ''}`;
    case 'failed':
      return `fails${idmap.fallbackReason ? `: ${idmap.fallbackReason}` : ''}`;
    case 'not-needed':
      return 'not needed (root)';
  }
}

function oneLine(map: string | undefined): string {
  return (map ?? '').split('\n').join(', ');
}

function storageLine(info: HostInfo): string {
  const k = info.storage.kernelOverlay;
  const kernel = k.ok
    ? `kernel overlayfs works${k.options ? ` (${k.options})` : ''}${k.whiteout ? '' : ', but whiteouts fail'}`
    : `kernel overlayfs fails (${k.error})`;
  return `${info.storage.driver}; ${kernel}`;
}

function deviceLine(d: HostInfo['devices']['fuse']): string {
  return !d.exists ? 'missing' : d.usable ? 'usable' : 'not accessible to you';
}

function tool(t: { path: string | undefined; version: string | undefined }): string {
  return t.path ? `${t.version ?? 'unknown version'} at ${t.path}` : 'not installed';
}

function cgroupLine(info: HostInfo): string {
  const c = info.cgroups;
  const parts: string[] = [c.layout];
  if (c.v2MountPoint) parts.push(`v2 at ${c.v2MountPoint}`);
  const v1 = Object.keys(c.v1Controllers);
  if (v1.length) parts.push(`v1 controllers ${v1.join(' ')}`);
  if (c.ownCgroupDir) parts.push(`yours: ${c.ownCgroupDir} (${c.writable ? 'writable' : 'not writable'})`);
  return parts.join('; ');
}

function findingsBlock(findings: readonly Finding[]): string {
  if (findings.length === 0) return 'No problems found.\n\n';
  let out = `Problems (${findings.length}):\n`;
  for (const f of findings) {
    out += `  ${f.severity.padEnd(8)}${f.message}\n`;
    if (f.fix) out += `  ${''.padEnd(8)}fix: ${f.fix}\n`;
  }
  return `${out}\n`;
}
