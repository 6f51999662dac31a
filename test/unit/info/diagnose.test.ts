import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { diagnose, suggestSubordinateRange, type Facts, type DiagnoseContext } from '../../../src/engine/info/diagnose.ts';

/** A rootless user on a healthy cgroup-v2 host: no findings at all. */
function healthy(): Facts {
  return {
    tsc: { version: '1', commit: 'c', node: 'v26' },
    host: { kernel: '6.1', os: 'Debian', arch: 'x64', cpus: 2, memoryBytes: 1 },
    user: { uid: 1001, gid: 1001, name: 'alice', rootless: true },
    userns: { maxUserNamespaces: 1000, unprivilegedClone: undefined, apparmorRestricted: undefined },
    idmap: {
      subuid: [{ start: 100000, count: 65536 }],
      subgid: [{ start: 100000, count: 65536 }],
      newuidmap: '/usr/bin/newuidmap',
      newgidmap: '/usr/bin/newgidmap',
      result: 'newuidmap',
      uidMap: '0 1001 1\n1 100000 65536',
      gidMap: '0 1001 1\n1 100000 65536',
      fallbackReason: undefined,
    },
    storage: {
      driver: 'overlay',
      kernelOverlay: { ok: true, options: 'userxattr', whiteout: true },
      fuseOverlayfs: { ok: true, path: '/usr/bin/fuse-overlayfs', version: '1.10' },
    },
    devices: { fuse: { path: '/dev/fuse', exists: true, usable: true }, tun: { path: '/dev/net/tun', exists: true, usable: true } },
    network: { pasta: { path: '/usr/bin/pasta', version: '1' }, slirp4netns: { path: undefined, version: undefined }, default: 'pasta' },
    cgroups: {
      layout: 'v2', v2MountPoint: '/sys/fs/cgroup', v1Controllers: {}, ownCgroup: '/user.slice/u', ownCgroupDir: '/sys/fs/cgroup/user.slice/u',
      writable: true, controllers: ['cpu', 'memory', 'pids', 'io', 'cpuset'], missingControllers: [], manager: 'v2',
    },
    paths: { storageRoot: '/s', runtimeDir: '/run/user/1001/tsc', configDir: '/c', runtimeDirSource: 'xdg' },
  };
}

const context: DiagnoseContext = { suggestedRange: '100000-165535', runtimeDirError: undefined, osFamily: 'debian' };

describe('diagnose', () => {
  it('finds nothing on a healthy host', () => assert.deepEqual(diagnose(healthy(), context), []));

  const cases: { name: string; change: (f: Facts) => void; ctx?: Partial<DiagnoseContext>; id: string; severity: string; fix?: RegExp }[] = [
    { name: 'no subordinate ids', change: (f) => { f.idmap.subuid = []; f.idmap.subgid = []; f.idmap.result = 'single'; },
      id: 'subids-missing', severity: 'error', fix: /^sudo usermod --add-subuids 100000-165535 --add-subgids 100000-165535 alice$/ },
    { name: 'no subordinate gids only', change: (f) => { f.idmap.subgid = []; },
      id: 'subids-missing', severity: 'error', fix: /^sudo usermod --add-subgids 100000-165535 alice$/ },
    { name: 'newuidmap missing (debian)', change: (f) => { f.idmap.newuidmap = undefined; }, id: 'newuidmap-missing', severity: 'error', fix: /apt-get install -y uidmap/ },
    { name: 'newuidmap missing (fedora)', change: (f) => { f.idmap.newgidmap = undefined; }, ctx: { osFamily: 'fedora' }, id: 'newuidmap-missing', severity: 'error', fix: /dnf install -y shadow-utils/ },
    { name: 'newuidmap fails', change: (f) => { f.idmap.result = 'single'; f.idmap.fallbackReason = 'newuidmap exited with status 1: write to uid_map failed'; },
      id: 'newuidmap-failed', severity: 'error', fix: /chmod u\+s \/usr\/bin\/newuidmap/ },
    { name: 'user namespaces off', change: (f) => { f.userns.maxUserNamespaces = 0; }, id: 'userns-disabled', severity: 'error', fix: /sysctl -w user.max_user_namespaces/ },
    { name: 'debian clone sysctl', change: (f) => { f.userns.unprivilegedClone = false; }, id: 'userns-unprivileged', severity: 'error', fix: /unprivileged_userns_clone=1/ },
    { name: 'apparmor restriction', change: (f) => { f.userns.apparmorRestricted = true; }, id: 'userns-apparmor', severity: 'error' },
    { name: 'fuse fallback', change: (f) => { f.storage.driver = 'fuse-overlayfs'; f.storage.kernelOverlay = { ok: false, error: 'EPERM' }; }, id: 'storage-fuse', severity: 'note' },
    { name: 'copy fallback, fuse device closed', change: (f) => { f.storage.driver = 'vfs'; f.devices.fuse.usable = false; },
      id: 'storage-vfs', severity: 'warning', fix: /^sudo chmod 0666 \/dev\/fuse$/ },
    { name: 'fuse device closed but overlay works', change: (f) => { f.devices.fuse.usable = false; }, id: 'fuse-device', severity: 'note' },
    { name: 'tun closed', change: (f) => { f.devices.tun.usable = false; }, id: 'tun-device', severity: 'warning', fix: /chmod 0666 \/dev\/net\/tun/ },
    { name: 'tun missing', change: (f) => { f.devices.tun = { path: '/dev/net/tun', exists: false, usable: false }; }, id: 'tun-device', severity: 'warning', fix: /modprobe tun/ },
    { name: 'no network helper', change: (f) => { f.network.pasta = { path: undefined, version: undefined }; }, id: 'network-backend', severity: 'warning', fix: /passt/ },
    { name: 'hybrid cgroups', change: (f) => { f.cgroups.layout = 'hybrid'; f.cgroups.controllers = ['hugetlb']; f.cgroups.missingControllers = ['cpu', 'memory', 'pids', 'io', 'cpuset']; },
      id: 'cgroup-controllers', severity: 'warning', fix: /unified_cgroup_hierarchy=1/ },
    { name: 'controllers not delegated', change: (f) => { f.cgroups.missingControllers = ['memory']; }, id: 'cgroup-controllers', severity: 'warning', fix: /Delegate=/ },
    { name: 'cgroup not writable', change: (f) => { f.cgroups.writable = false; f.cgroups.manager = 'none'; }, id: 'cgroup-not-delegated', severity: 'warning' },
    { name: 'v1 only', change: (f) => { f.cgroups.layout = 'v1'; }, id: 'cgroups-v1', severity: 'warning' },
    { name: 'runtime dir unusable', change: () => undefined, ctx: { runtimeDirError: '/run/user/1001/tsc is owned by uid 0' }, id: 'runtime-dir', severity: 'error' },
    { name: 'runtime dir fallback', change: (f) => { f.paths.runtimeDirSource = 'fallback'; }, id: 'runtime-dir', severity: 'note' },
    { name: 'root', change: (f) => { f.user = { uid: 0, gid: 0, name: 'root', rootless: false }; f.idmap.result = 'not-needed'; }, id: 'root', severity: 'note' },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const facts = healthy();
      c.change(facts);
      const findings = diagnose(facts, { ...context, ...c.ctx });
      const finding = findings.find((f) => f.id === c.id);
      assert.ok(finding, `expected finding ${c.id}, got ${JSON.stringify(findings.map((f) => f.id))}`);
      assert.equal(finding.severity, c.severity);
      assert.doesNotMatch(finding.message, /^[A-Z][a-z]+\s/, 'messages start lower-case (names excepted)');
      if (c.fix) assert.match(finding.fix ?? '', c.fix);
    });
  }

  it('a configured storage driver that cannot work is an error', () => {
    const facts = healthy();
    facts.storage.configured = 'fuse-overlayfs';
    facts.storage.configuredError = 'storage driver fuse-overlayfs (TSC_STORAGE_DRIVER) needs /dev/fuse, which is missing';
    const finding = diagnose(facts, context).find((f) => f.id === 'storage-driver');
    assert.equal(finding?.severity, 'error');
    assert.match(finding.message, /needs \/dev\/fuse/);
  });

  it('a configured storage driver gets no advice about the automatic choice', () => {
    const facts = healthy();
    facts.storage.driver = 'vfs';
    facts.storage.configured = 'vfs';
    assert.deepEqual(diagnose(facts, context), []);
  });

  it('does not blame the root user for subordinate ids', () => {
    const facts = healthy();
    facts.user = { uid: 0, gid: 0, name: 'root', rootless: false };
    facts.idmap.subuid = [];
    facts.idmap.result = 'not-needed';
    assert.deepEqual(diagnose(facts, context).map((f) => f.id), ['root']);
  });
});

describe('suggestSubordinateRange', () => {
  it('starts at 100000 on an empty system', () => assert.equal(suggestSubordinateRange(''), '100000-165535'));
  it('goes past every existing range, 65536-aligned', () => {
    assert.equal(suggestSubordinateRange('bob:100000:65536\ncarol:200000:65536\n'), '327680-393215');
  });
  it('ignores comments and junk', () => assert.equal(suggestSubordinateRange('# x:900000:1\njunk\n'), '100000-165535'));
});
