/**
 * The native helper's run mode against the real kernel, as the test user with its
 * subordinate ids: a busybox container on a prepared root directory, in its own user,
 * mount, pid, uts, ipc, cgroup and network namespaces, with capabilities, no_new_privs,
 * seccomp, masked and read-only paths.
 */
import assert from 'node:assert/strict';
import { chmodSync, chownSync, copyFileSync, existsSync, lchownSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { eventNamed, runHelperAs, startHelper, testContainerBase, type HelperResult } from '../lib/helper-client.ts';
import { requires, requiresTestHost, testHost, type TestHost } from '../lib/env.ts';
import { DIST_HELPER, staged } from '../lib/stage.ts';
import { encodeConfig, type ConfigEntry } from '../../src/engine/sys/helper.ts';
import { compileSeccomp, serializeProgram } from '../../src/engine/runtime/seccomp/bpf.ts';
import { defaultSeccompProfile } from '../../src/engine/runtime/seccomp/default.ts';
import { DEFAULT_CAPABILITIES, ALL_CAPABILITIES } from '../../src/engine/runtime/spec/defaults.ts';

const helper = staged(DIST_HELPER);
const NOT_BUILT = 'dist/native/tsc-helper is not built (npm run build)';
const BUSYBOX = '/usr/bin/busybox';
const scratch = mkdtempSync('/tmp/tsc-it-run-');
chmodSync(scratch, 0o755);
after(() => rmSync(scratch, { recursive: true, force: true }));

const APPLETS = ['sh', 'echo', 'cat', 'ls', 'ps', 'hostname', 'grep', 'unshare', 'touch', 'id', 'sleep', 'mount', 'ulimit'];
let rootfs = '';
let seccompFile = '';

/** A busybox root directory owned by the test user. */
function buildRootfs(host: TestHost): string {
  const root = join(scratch, 'rootfs');
  for (const dir of ['bin', 'etc', 'proc', 'dev', 'tmp', 'ro', 'secret']) mkdirSync(join(root, dir), { recursive: true });
  copyFileSync(BUSYBOX, join(root, 'bin', 'busybox'));
  chmodSync(join(root, 'bin', 'busybox'), 0o755);
  for (const applet of APPLETS) symlinkSync('busybox', join(root, 'bin', applet));
  writeFileSync(join(root, 'etc', 'passwd'), 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/sh\n');
  writeFileSync(join(root, 'secret', 'key'), 'sensitive\n');
  writeFileSync(join(root, 'etc', 'marker'), 'rootfs\n');
  writeFileSync(join(root, 'bin', 'noexec'), '#!/bin/sh\necho no\n', { mode: 0o644 });
  const own = (p: string): void => lchownSync(p, host.uid, host.uid);
  own(root);
  for (const dir of ['bin', 'etc', 'proc', 'dev', 'tmp', 'ro', 'secret']) own(join(root, dir));
  own(join(root, 'bin', 'busybox'));
  for (const applet of APPLETS) own(join(root, 'bin', applet));
  for (const f of ['etc/passwd', 'etc/marker', 'secret/key', 'bin/noexec']) own(join(root, f));
  chownSync(scratch, host.uid, host.uid);
  return root;
}

before(() => {
  if (!testHost || process.getuid?.() !== 0 || !existsSync(BUSYBOX)) return;
  rootfs = buildRootfs(testHost);
  const filter = compileSeccomp(defaultSeccompProfile(), {
    arch: 'x86_64',
    capabilities: DEFAULT_CAPABILITIES,
    kernel: { major: 6, minor: 1 },
  });
  seccompFile = join(scratch, 'seccomp.bpf');
  writeFileSync(seccompFile, serializeProgram(filter.instructions));
  chmodSync(seccompFile, 0o644);
});

function runConfig(host: TestHost, argv: readonly string[], extra: readonly ConfigEntry[] = []): ConfigEntry[] {
  return [...testContainerBase(host, rootfs), ...extra, ...argv.map((arg): ConfigEntry => ['arg', arg])];
}

async function run(host: TestHost, argv: readonly string[], extra: readonly ConfigEntry[] = []): Promise<HelperResult> {
  return runHelperAs(helper!, 'run', runConfig(host, argv, extra), { uid: host.uid, name: host.user });
}

function names(result: HelperResult): string[] {
  return result.messages.map((m) => (m.type === 'event' ? m.name : m.type));
}

function assertExited(result: HelperResult, status: number): void {
  assert.equal(result.status, 0, `helper failed: ${JSON.stringify(result.messages)} ${result.stderr}`);
  assert.deepEqual(names(result), ['idmap', 'started', 'exited', 'done']);
  assert.deepEqual(eventNamed(result, 'exited'), { type: 'event', name: 'exited', status });
}

/** Skips or fails unless the host, the helper and busybox are there; returns the host. */
function ready(t: Parameters<typeof requiresTestHost>[0]): TestHost | undefined {
  const host = requiresTestHost(t);
  if (!host || !requires(t, helper !== undefined, NOT_BUILT) || !requires(t, existsSync(BUSYBOX), `${BUSYBOX} (static) is missing`)) return undefined;
  return host;
}

function capMask(caps: readonly string[]): string {
  let mask = 0n;
  for (const cap of caps) mask |= 1n << BigInt(ALL_CAPABILITIES.indexOf(cap));
  return mask.toString(16).padStart(16, '0');
}

describe('helper run as the test user (busybox rootfs)', { timeout: 120_000 }, () => {
  it('runs echo and reports status 0', async (t) => {
    const host = ready(t);
    if (!host) return;
    const result = await run(host, ['/bin/echo', 'hi']);
    assertExited(result, 0);
    assert.equal(result.stdout, 'hi\n');
    assert.ok((eventNamed(result, 'started')?.pid as number) > 0);
  });

  it('reports the exit status', async (t) => {
    const host = ready(t);
    if (!host) return;
    assertExited(await run(host, ['/bin/sh', '-c', 'exit 3']), 3);
  });

  it('reports a missing command as an execve ENOENT error', async (t) => {
    const host = ready(t);
    if (!host) return;
    const result = await run(host, ['/bin/nonexistent']);
    assert.equal(result.status, 1);
    assert.deepEqual(names(result), ['idmap', 'error']);
    const error = result.messages.at(-1) as Record<string, unknown>;
    assert.equal(error.op, 'execve');
    assert.equal(error.errname, 'ENOENT');
    assert.equal(error.path, '/bin/nonexistent');
  });

  it('shows the full id map', async (t) => {
    const host = ready(t);
    if (!host) return;
    const result = await run(host, ['/bin/cat', '/proc/self/uid_map']);
    assertExited(result, 0);
    const text = result.stdout.trim().split('\n').map((l) => l.trim().split(/\s+/).join(' ')).join('\n');
    assert.equal(text, `0 ${host.uid} 1\n1 ${host.subidStart} ${host.subidCount}`);
  });

  it('has its own pid namespace: the command is pid 1', async (t) => {
    const host = ready(t);
    if (!host) return;
    const result = await run(host, ['/bin/sh', '-c', 'echo $$; ls /proc | grep "^[0-9]"']);
    assertExited(result, 0);
    const [self, ...pids] = result.stdout.trim().split('\n');
    assert.equal(self, '1');
    assert.ok(pids.length <= 3, `processes: ${pids.join(' ')}`);
    assert.ok(pids.includes('1'));
    const ps = await run(host, ['/bin/ps']);
    assertExited(ps, 0);
    const lines = ps.stdout.trim().split('\n').slice(1);
    assert.equal(lines.length, 1, ps.stdout);
    assert.match(lines[0]!, /^\s*1\s/);
  });

  it('sets the host name', async (t) => {
    const host = ready(t);
    if (!host) return;
    const result = await run(host, ['/bin/hostname'], [['hostname', 'box-1']]);
    assertExited(result, 0);
    assert.equal(result.stdout, 'box-1\n');
  });

  it('makes readonly paths read-only and masks masked files', async (t) => {
    const host = ready(t);
    if (!host) return;
    const ro = await run(host, ['/bin/touch', '/ro/x'], [['readonly', '/ro']]);
    assert.equal(ro.status, 0, JSON.stringify(ro.messages));
    assert.notEqual((eventNamed(ro, 'exited')?.status as number), 0);
    assert.match(ro.stderr, /read-only/i);
    const rw = await run(host, ['/bin/touch', '/tmp/x']);
    assertExited(rw, 0);
    const masked = await run(host, ['/bin/cat', '/secret/key'], [['masked', '/secret/key'], ['masked', '/proc/kcore'], ['masked', '/proc/acpi']]);
    assertExited(masked, 0);
    assert.equal(masked.stdout, '');
  });

  it('limits the capabilities to the configured set', async (t) => {
    const host = ready(t);
    if (!host) return;
    const caps = DEFAULT_CAPABILITIES.map((c): ConfigEntry => ['cap', c]);
    const result = await run(host, ['/bin/grep', 'Cap', '/proc/self/status'], caps);
    assertExited(result, 0);
    const want = capMask(DEFAULT_CAPABILITIES);
    assert.match(result.stdout, new RegExp(`CapEff:\\s+${want}`));
    assert.match(result.stdout, new RegExp(`CapPrm:\\s+${want}`));
    assert.match(result.stdout, new RegExp(`CapBnd:\\s+${want}`));
    assert.match(result.stdout, /CapInh:\s+0{16}/);
    assert.match(result.stdout, /CapAmb:\s+0{16}/);
    const none = await run(host, ['/bin/grep', 'CapEff', '/proc/self/status']);
    assertExited(none, 0);
    assert.match(none.stdout, /CapEff:\s+0{16}/);
  });

  it('sets no_new_privs', async (t) => {
    const host = ready(t);
    if (!host) return;
    const result = await run(host, ['/bin/grep', 'NoNewPrivs', '/proc/self/status'], [['no-new-privs', '1']]);
    assertExited(result, 0);
    assert.match(result.stdout, /NoNewPrivs:\s+1/);
  });

  it('installs the seccomp filter: unshare fails with EPERM, echo works', async (t) => {
    const host = ready(t);
    if (!host) return;
    const extra: ConfigEntry[] = [...DEFAULT_CAPABILITIES.map((c): ConfigEntry => ['cap', c]), ['no-new-privs', '1'], ['seccomp', seccompFile]];
    const echo = await run(host, ['/bin/echo', 'ok'], extra);
    assertExited(echo, 0);
    assert.equal(echo.stdout, 'ok\n');
    const unshare = await run(host, ['/bin/unshare', '-U', '/bin/echo', 'escaped'], extra);
    assert.equal(unshare.status, 0, JSON.stringify(unshare.messages));
    assert.notEqual(eventNamed(unshare, 'exited')?.status, 0);
    assert.match(unshare.stderr, /not permitted/i);
    assert.equal(unshare.stdout, '');
    // without no_new_privs the filter goes in before the capabilities are dropped
    const noNnp = extra.filter((e) => e[0] !== 'no-new-privs');
    const echo2 = await run(host, ['/bin/echo', 'ok'], noNnp);
    assertExited(echo2, 0);
    const unshare2 = await run(host, ['/bin/unshare', '-U', '/bin/echo', 'escaped'], noNnp);
    assert.notEqual(eventNamed(unshare2, 'exited')?.status, 0, JSON.stringify(unshare2.messages));
    // without the filter the same unshare works
    const free = await run(host, ['/bin/unshare', '-U', '/bin/echo', 'escaped'], extra.filter((e) => e[0] !== 'seccomp'));
    assertExited(free, 0);
  });

  it('passes no descriptor of the helper and shows only the rootfs', async (t) => {
    const host = ready(t);
    if (!host) return;
    // the shell stays (a builtin follows), so ls lists the shell's descriptors, not its own
    const fds = await run(host, ['/bin/sh', '-c', 'ls /proc/$$/fd; echo end']);
    assertExited(fds, 0);
    assert.equal(fds.stdout, '0\n1\n2\nend\n');
    const root = await run(host, ['/bin/ls', '/']);
    assertExited(root, 0);
    assert.deepEqual(root.stdout.trim().split('\n').sort(), ['bin', 'dev', 'etc', 'proc', 'ro', 'secret', 'tmp']);
    const marker = await run(host, ['/bin/cat', '/etc/marker']);
    assert.equal(marker.stdout, 'rootfs\n');
  });

  it('reports a program it may not execute as an execve EACCES error', async (t) => {
    const host = ready(t);
    if (!host) return;
    const result = await run(host, ['/bin/noexec']);
    assert.equal(result.status, 1);
    const error = result.messages.at(-1) as Record<string, unknown>;
    assert.equal(error.op, 'execve');
    assert.equal(error.errname, 'EACCES');
  });

  it('runs as the configured uid, gid and groups', async (t) => {
    const host = ready(t);
    if (!host) return;
    const result = await run(host, ['/bin/id'], [['uid', '1000'], ['gid', '1001'], ['groups', '10,20']]);
    assertExited(result, 0);
    assert.match(result.stdout, /uid=1000 gid=1001/);
    assert.match(result.stdout, /groups=.*10.*20/);
  });

  it('sets rlimits', async (t) => {
    const host = ready(t);
    if (!host) return;
    const result = await run(host, ['/bin/sh', '-c', 'ulimit -n; ulimit -Hn'], [['rlimit', 'RLIMIT_NOFILE 123 456']]);
    assertExited(result, 0);
    assert.equal(result.stdout, '123\n456\n');
  });

  it('applies the standard mounts and read-only binds', async (t) => {
    const host = ready(t);
    if (!host) return;
    const extra: ConfigEntry[] = [
      ['mount', '/dev/pts devpts devpts nosuid,noexec,newinstance,ptmxmode=0666,mode=0620,gid=5'],
      ['mount', '/dev/mqueue mqueue mqueue nosuid,nodev,noexec'],
      ['mount', '/dev/shm tmpfs shm nosuid,nodev,noexec,mode=1777,size=65536k'],
      ['mount', '/sys sysfs sysfs nosuid,noexec,nodev,ro'],
      ['mount', '/host-etc bind /etc rbind,ro'],
    ];
    const result = await run(host, ['/bin/sh', '-c', 'cat /proc/mounts; test -e /host-etc/passwd && echo bound; touch /host-etc/x 2>/dev/null || echo ro'], extra);
    assertExited(result, 0);
    for (const mnt of [' /dev/pts devpts ', ' /dev/mqueue mqueue ', ' /dev/shm tmpfs ', ' /sys sysfs ro,', ' /host-etc ']) {
      assert.ok(result.stdout.includes(mnt), `${mnt} in ${result.stdout}`);
    }
    assert.match(result.stdout, /bound\nro\n$/);
  });

  it('mounts a kernel overlay as the root file system', async (t) => {
    const host = ready(t);
    if (!host) return;
    const dir = mkdtempSync(join(scratch, 'ovl-'));
    for (const sub of ['', 'upper', 'work', 'merged']) {
      mkdirSync(join(dir, sub), { recursive: true });
      chownSync(join(dir, sub), host.uid, host.uid);
    }
    const config = runConfig(host, ['/bin/sh', '-c', 'cat /etc/marker; echo new > /etc/added']).map((e): ConfigEntry => (e[0] === 'rootfs' ? ['rootfs', join(dir, 'merged')] : e));
    config.push(['lowerdir', rootfs], ['upperdir', join(dir, 'upper')], ['workdir', join(dir, 'work')]);
    const result = await runHelperAs(helper!, 'run', config, { uid: host.uid, name: host.user });
    assertExited(result, 0);
    assert.equal(result.stdout, 'rootfs\n');
    assert.ok(existsSync(join(dir, 'upper', 'etc', 'added')), 'the write went to the upper directory');
    assert.ok(!existsSync(join(rootfs, 'etc', 'added')), 'the lower directory is untouched');
  });

  it('keeps mounts inside the root even through symlinks in the image', async (t) => {
    const host = ready(t);
    if (!host) return;
    const outside = mkdtempSync(join(scratch, 'outside-'));
    chownSync(outside, host.uid, host.uid);
    const image = mkdtempSync(join(scratch, 'evil-'));
    chownSync(image, host.uid, host.uid);
    const root = join(image, 'root');
    mkdirSync(join(root, 'bin'), { recursive: true });
    copyFileSync(BUSYBOX, join(root, 'bin', 'busybox'));
    chmodSync(join(root, 'bin', 'busybox'), 0o755);
    symlinkSync('../../../../../../../../..', join(root, 'up'));
    symlinkSync(outside, join(root, 'abs'));
    for (const p of [root, join(root, 'bin'), join(root, 'bin', 'busybox'), join(root, 'up'), join(root, 'abs')]) lchownSync(p, host.uid, host.uid);
    const cases: ConfigEntry[][] = [
      [['mount', `/up${outside}/sub tmpfs tmpfs size=1k`]],
      [['mount', '/abs/sub tmpfs tmpfs size=1k']],
      [['mount', '/abs/f bind /etc/hostname ro']],
      [['readonly', '/abs']],
    ];
    for (const extra of cases) {
      const config = runConfig(host, ['/bin/busybox', 'true'], extra).filter((e) => e[0] !== 'mount' && e[0] !== 'device').map((e): ConfigEntry => (e[0] === 'rootfs' ? ['rootfs', root] : e));
      const result = await runHelperAs(helper!, 'run', [...config, ...extra], { uid: host.uid, name: host.user });
      assert.ok(result.status === 0 || result.status === 1, JSON.stringify(result.messages));
      assert.deepEqual(readdirSync(outside), [], `${JSON.stringify(extra)} reached the host: ${JSON.stringify(result.messages)}`);
    }
  });

  it('takes the container down when the helper is killed', async (t) => {
    const host = ready(t);
    if (!host) return;
    const { child, channel } = startHelper(helper!, 'run', { uid: host.uid, name: host.user });
    let text = '';
    channel.on('data', (b: Buffer) => (text += b.toString()));
    channel.on('error', () => undefined);
    channel.end(encodeConfig(runConfig(host, ['/bin/sleep', '30'])));
    for (let i = 0; i < 200 && !text.includes('"started"'); i++) await sleep(20);
    const pid = Number(/"pid":(\d+)/.exec(text)?.[1]);
    assert.ok(pid > 0 && existsSync(`/proc/${pid}`), text);
    const closed = new Promise((resolve) => child.on('close', resolve));
    child.kill('SIGKILL');
    await closed;
    for (let i = 0; i < 100 && alive(pid); i++) await sleep(20);
    assert.equal(alive(pid), false, `container ${pid} outlived the helper`);
  });
});

/** A process that exists and is not a zombie. */
function alive(pid: number): boolean {
  try {
    return !/^\d+ \(.*\) Z /.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}
