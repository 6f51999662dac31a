/**
 * `tsc info` run as real users reports the truth about this machine. Every expectation is
 * read independently from the machine (mountinfo, the cgroup files, /etc/subuid), not
 * hard-coded, so the test holds on any host the setup script prepared.
 */
import assert from 'node:assert/strict';
import { chmodSync, chownSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { requires, requiresTestHost } from '../lib/env.ts';
import { DIST_TSC, staged } from '../lib/stage.ts';
import { runAs, userEnv } from '../lib/users.ts';
import type { HostInfo } from '../../src/engine/index.ts';

const tsc = staged(DIST_TSC);
const scratch = mkdtempSync('/tmp/tsc-e2e-info-');
chmodSync(scratch, 0o755);
after(() => rmSync(scratch, { recursive: true, force: true }));

/** The layout as a shell one-liner would see it: cgroup2 and/or v1 controller mounts. */
function expectedLayout(): string {
  const mounts = readFileSync('/proc/self/mountinfo', 'utf8').split('\n');
  const v2 = mounts.some((l) => / - cgroup2 /.test(l));
  const v1 = mounts.some((l) => / - cgroup cgroup .*\b(cpu|memory|pids|cpuset|blkio|devices|freezer)\b/.test(l));
  return v2 && v1 ? 'hybrid' : v2 ? 'v2' : v1 ? 'v1' : 'none';
}

describe('tsc info as the rootless test user', () => {
  it('reports the user namespace, id maps, storage, devices, network and cgroups as they are', async (t) => {
    const host = requiresTestHost(t);
    if (!host || !requires(t, tsc !== undefined, 'dist/tsc is not built')) return;
    const r = await runAs(tsc!, ['info', '--format', 'json'], { uid: host.uid, cgroup: host.cgroup, env: userEnv(host.uid, host.user) });
    assert.equal(r.status, 0, r.stderr);
    const info = JSON.parse(r.stdout) as HostInfo;
    assert.equal(info.user.rootless, true);
    assert.equal(info.user.uid, host.uid);
    assert.equal(info.user.name, host.user);
    assert.deepEqual(info.idmap.subuid, [{ start: host.subidStart, count: host.subidCount }]);
    assert.equal(info.idmap.result, 'newuidmap');
    assert.equal(info.idmap.uidMap, `0 ${host.uid} 1\n1 ${host.subidStart} ${host.subidCount}`);
    assert.equal(info.userns.maxUserNamespaces, Number(readFileSync('/proc/sys/user/max_user_namespaces', 'utf8')));
    assert.equal(info.storage.driver, 'overlay');
    assert.deepEqual(info.storage.kernelOverlay, { ok: true, options: 'userxattr', whiteout: true });
    assert.equal(info.storage.fuseOverlayfs.ok, true);
    assert.match(info.storage.fuseOverlayfs.version ?? '', /^\d+\.\d+/);
    assert.equal(info.devices.fuse.usable, true);
    assert.equal(info.devices.tun.usable, true);
    assert.equal(info.network.pasta.path, '/usr/bin/pasta');
    assert.equal(info.network.slirp4netns.path, '/usr/bin/slirp4netns');
    assert.match(info.network.slirp4netns.version ?? '', /^\d+\.\d+\.\d+/);
    assert.equal(info.network.default, 'pasta');
    assert.equal(info.cgroups.layout, expectedLayout());
    assert.equal(info.cgroups.ownCgroupDir, host.cgroup);
    assert.equal(info.cgroups.writable, true);
    assert.deepEqual(info.cgroups.controllers, readFileSync(join(host.cgroup, 'cgroup.controllers'), 'utf8').trim().split(/\s+/).filter(Boolean));
    assert.equal(info.cgroups.manager, 'v2');
    assert.equal(info.paths.runtimeDir, `/run/user/${host.uid}/tsc`);
    assert.equal(info.paths.storageRoot, `/home/${host.user}/.local/share/tsc`);
    // what cannot be enforced is said plainly
    if (info.cgroups.missingControllers.length > 0) {
      const finding = info.findings.find((f) => f.id === 'cgroup-controllers');
      assert.ok(finding, 'missing controllers are reported');
      for (const c of info.cgroups.missingControllers) assert.match(finding.message, new RegExp(`\\b${c}\\b`));
    }
    assert.equal(info.ready, true, JSON.stringify(info.findings));
    // the probe cleaned up after itself
    const left = await runAs('/bin/sh', ['-c', `ls -A /run/user/${host.uid}/tsc | grep -c probe- || true`], { uid: host.uid, env: userEnv(host.uid, host.user) });
    assert.equal(left.stdout.trim(), '0');
  });

  it('prints a readable report and passes --strict', async (t) => {
    const host = requiresTestHost(t);
    if (!host || !requires(t, tsc !== undefined, 'dist/tsc is not built')) return;
    const r = await runAs(tsc!, ['info', '--strict'], { uid: host.uid, cgroup: host.cgroup, env: userEnv(host.uid, host.user) });
    assert.equal(r.status, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /^id mapping: +works \(newuidmap\/newgidmap\)/m);
    assert.match(r.stdout, /^storage driver: +overlay; kernel overlayfs works \(userxattr\)/m);
    assert.match(r.stdout, /^Ready for rootless containers: yes$/m);
  });

  it('answers a Go template', async (t) => {
    const host = requiresTestHost(t);
    if (!host || !requires(t, tsc !== undefined, 'dist/tsc is not built')) return;
    const r = await runAs(tsc!, ['system', 'info', '--format', '{{.storage.driver}} {{.idmap.result}}'], {
      uid: host.uid, cgroup: host.cgroup, env: userEnv(host.uid, host.user),
    });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout, 'overlay newuidmap\n');
  });

  it('refuses a runtime directory that belongs to someone else, with the fix', async (t) => {
    const host = requiresTestHost(t);
    if (!host || !requires(t, tsc !== undefined, 'dist/tsc is not built')) return;
    const foreign = mkdtempSync(join(scratch, 'foreign-'));
    chmodSync(foreign, 0o777);
    const planted = join(foreign, 'tsc');
    rmSync(planted, { force: true, recursive: true });
    // another user (the one without subordinate ids) planted the directory first
    const { mkdirSync } = await import('node:fs');
    mkdirSync(planted, { mode: 0o777 });
    chownSync(planted, host.nosubUid, host.nosubUid);
    const r = await runAs(tsc!, ['info', '--format', 'json'], {
      uid: host.uid, cgroup: host.cgroup, env: { ...userEnv(host.uid, host.user), XDG_RUNTIME_DIR: foreign },
    });
    assert.equal(r.status, 0, r.stderr);
    const info = JSON.parse(r.stdout) as HostInfo;
    const finding = info.findings.find((f) => f.id === 'runtime-dir');
    assert.equal(finding?.severity, 'error');
    assert.match(finding?.message ?? '', new RegExp(`${planted} is owned by uid ${host.nosubUid}`));
    assert.equal(info.ready, false);
  });
});

describe('tsc info as a user without subordinate ids', () => {
  it('prints the usermod fix, not a stack trace, and --strict fails', async (t) => {
    const host = requiresTestHost(t);
    if (!host || !requires(t, tsc !== undefined, 'dist/tsc is not built')) return;
    const env = userEnv(host.nosubUid, host.nosubUser);
    const plain = await runAs(tsc!, ['info'], { uid: host.nosubUid, env });
    assert.equal(plain.status, 0, plain.stderr);
    assert.equal(plain.stderr, '');
    assert.match(plain.stdout, new RegExp(`error +${host.nosubUser} has no subordinate uids or gids`));
    assert.match(plain.stdout, new RegExp(`fix: sudo usermod --add-subuids \\d+-\\d+ --add-subgids \\d+-\\d+ ${host.nosubUser}`));
    assert.match(plain.stdout, /^Ready for rootless containers: no/m);
    // the suggested range must not overlap anybody's
    const range = /--add-subuids (\d+)-(\d+)/.exec(plain.stdout)!;
    const [lo, hi] = [Number(range[1]), Number(range[2])];
    for (const line of readFileSync('/etc/subuid', 'utf8').split('\n').filter(Boolean)) {
      const [, start, count] = line.split(':').map(Number) as [number, number, number];
      assert.ok(hi < start || lo >= start + count, `suggested ${lo}-${hi} overlaps ${line}`);
    }
    const json = JSON.parse((await runAs(tsc!, ['info', '--format', 'json'], { uid: host.nosubUid, env })).stdout) as HostInfo;
    assert.equal(json.idmap.result, 'single');
    assert.equal(json.idmap.uidMap, `0 ${host.nosubUid} 1`);
    const strict = await runAs(tsc!, ['info', '--strict'], { uid: host.nosubUid, env });
    assert.equal(strict.status, 1);
    assert.doesNotMatch(strict.stdout + strict.stderr, /\n\s+at \S+ \(/, 'no stack trace');
  });
});

describe('tsc info as root', () => {
  it('reports root, needs no id mapping, and picks the cgroup manager for this layout', async (t) => {
    if (!requires(t, process.getuid?.() === 0, 'needs root')) return;
    if (!requires(t, tsc !== undefined, 'dist/tsc is not built')) return;
    const runtime = mkdtempSync(join(scratch, 'root-run-'));
    const r = await runAs(tsc!, ['info', '--format', 'json'], { uid: 0, env: { ...userEnv(0, 'root'), TSC_RUNTIME_DIR: runtime } });
    assert.equal(r.status, 0, r.stderr);
    const info = JSON.parse(r.stdout) as HostInfo;
    assert.equal(info.user.rootless, false);
    assert.equal(info.idmap.result, 'not-needed');
    assert.equal(info.storage.kernelOverlay.ok, true);
    assert.equal(info.paths.storageRoot, '/var/lib/tsc');
    const layout = expectedLayout();
    assert.equal(info.cgroups.manager, layout === 'v2' ? 'v2' : layout === 'none' ? 'none' : 'v1');
    assert.equal(info.ready, true, JSON.stringify(info.findings));
  });
});
