/**
 * The native helper's exec mode against the real kernel, as the test user with its
 * subordinate ids: a busybox container started with `run` (pid 1 a long sleep), then more
 * processes in it, joined by pidfd: its pid, mount and uts namespaces, the given ids,
 * capabilities, no_new_privs, seccomp, cwd and env, a pty from its own /dev/pts, detached
 * processes, and nothing of the host (descriptors, the helper's binary) inside.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import type { Readable, Writable } from 'node:stream';
import { chmodSync, chownSync, copyFileSync, existsSync, lchownSync, mkdirSync, mkdtempSync, readFileSync, rmdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { eventNamed, runHelperAs, startHelper, testContainerBase, type HelperResult } from '../lib/helper-client.ts';
import { requires, requiresTestHost, type TestHost } from '../lib/env.ts';
import { asUserArgv, userEnv } from '../lib/users.ts';
import { DIST_HELPER, staged } from '../lib/stage.ts';
import { encodeConfig, type ConfigEntry } from '../../src/engine/sys/helper.ts';
import { compileSeccomp, serializeProgram } from '../../src/engine/runtime/seccomp/bpf.ts';
import { defaultSeccompProfile } from '../../src/engine/runtime/seccomp/default.ts';
import { DEFAULT_CAPABILITIES, ALL_CAPABILITIES } from '../../src/engine/runtime/spec/defaults.ts';

const helper = staged(DIST_HELPER);
const NOT_BUILT = 'dist/native/tsc-helper is not built (npm run build)';
const BUSYBOX = '/usr/bin/busybox';
const HOSTNAME = 'exec-box';
const scratch = mkdtempSync('/tmp/tsc-it-exec-');
chmodSync(scratch, 0o755);

const APPLETS = ['sh', 'echo', 'cat', 'ls', 'ps', 'hostname', 'grep', 'unshare', 'touch', 'id', 'sleep', 'stty', 'tty', 'env', 'readlink', 'pwd', 'rm', 'ln'];

interface Container {
  helper: ChildProcess;
  pid: number;
  start: string;
  /** the container's cgroup (v2), when the host delegates one to the test user */
  cgroup?: string;
}

let container: Promise<Container> | undefined;
let seccompFile = '';

after(async () => {
  if (container) {
    const c = await container.catch(() => undefined);
    if (c && c.helper.exitCode === null && c.helper.signalCode === null) {
      const closed = new Promise((resolve) => c.helper.on('close', resolve));
      c.helper.kill('SIGKILL'); // pid 1 (and with it the pid namespace) dies with it
      await closed;
      for (let i = 0; i < 100 && alive(c.pid); i++) await sleep(20);
    }
    if (c?.cgroup) {
      for (let i = 0; i < 100; i++) {
        try {
          rmdirSync(c.cgroup);
          break;
        } catch {
          await sleep(20); // its processes are still going
        }
      }
    }
  }
  rmSync(scratch, { recursive: true, force: true });
});

/** A busybox root directory owned by the test user. */
function buildRootfs(host: TestHost): string {
  const root = join(scratch, 'rootfs');
  const dirs = ['bin', 'etc', 'proc', 'dev', 'tmp', 'work'];
  for (const dir of dirs) mkdirSync(join(root, dir), { recursive: true });
  copyFileSync(BUSYBOX, join(root, 'bin', 'busybox'));
  chmodSync(join(root, 'bin', 'busybox'), 0o755);
  for (const applet of APPLETS) symlinkSync('busybox', join(root, 'bin', applet));
  writeFileSync(join(root, 'etc', 'passwd'), 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/sh\n');
  writeFileSync(join(root, 'bin', 'noexec'), '#!/bin/sh\necho no\n', { mode: 0o644 });
  const own = (p: string): void => lchownSync(p, host.uid, host.uid);
  own(root);
  for (const dir of dirs) own(join(root, dir));
  for (const f of ['bin/busybox', 'etc/passwd', 'bin/noexec', ...APPLETS.map((a) => `bin/${a}`)]) own(join(root, f));
  chownSync(scratch, host.uid, host.uid);
  return root;
}

function runConfig(host: TestHost, rootfs: string): ConfigEntry[] {
  return [
    ...testContainerBase(host, rootfs),
    ['hostname', HOSTNAME],
    ['mount', '/dev/pts devpts devpts nosuid,noexec,newinstance,ptmxmode=0666,mode=0620'],
    // only in the container's mount namespace: the host's rootfs/tmp stays empty
    ['mount', '/tmp tmpfs tmpfs mode=1777,size=1024k'],
    ['arg', '/bin/sh'],
    ['arg', '-c'],
    ['arg', 'echo from-pid1 > /tmp/pid1-file; exec sleep 1000'],
  ];
}

/** Field 22 of /proc/PID/stat: the start time in clock ticks. */
function startTime(pid: number): string {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19]!;
}

async function startContainer(host: TestHost): Promise<Container> {
  const rootfs = buildRootfs(host);
  const filter = compileSeccomp(defaultSeccompProfile(), { arch: 'x86_64', capabilities: DEFAULT_CAPABILITIES, kernel: { major: 6, minor: 1 } });
  seccompFile = join(scratch, 'seccomp.bpf');
  writeFileSync(seccompFile, serializeProgram(filter.instructions));
  chmodSync(seccompFile, 0o644);
  let cgroup: string | undefined;
  if (host.cgroup && existsSync(join(host.cgroup, 'cgroup.procs'))) {
    cgroup = join(host.cgroup, `exec-${process.pid}`);
    mkdirSync(cgroup);
    for (const f of ['', 'cgroup.procs', 'cgroup.threads', 'cgroup.subtree_control']) chownSync(join(cgroup, f), host.uid, host.uid);
  }
  const { child, channel } = startHelper(helper!, 'run', { uid: host.uid, name: host.user, cgroup });
  let text = '';
  channel.on('data', (b: Buffer) => (text += b.toString()));
  channel.on('error', () => undefined);
  channel.end(encodeConfig(runConfig(host, rootfs)));
  for (let i = 0; i < 250 && !text.includes('"started"'); i++) await sleep(20);
  const pid = Number(/"started","pid":(\d+)/.exec(text)?.[1]);
  assert.ok(pid > 0 && existsSync(`/proc/${pid}`), `the container did not start: ${text}`);
  // pid 1 is the sleep once the shell has written its file and executed it
  for (let i = 0; i < 250 && !readFileSync(`/proc/${pid}/cmdline`, 'utf8').startsWith('sleep'); i++) await sleep(20);
  return { helper: child, pid, start: startTime(pid), cgroup };
}

/** Skips or fails unless the host, the helper and busybox are there; returns the host and the running container. */
async function ready(t: Parameters<typeof requiresTestHost>[0]): Promise<[TestHost, Container] | undefined> {
  const host = requiresTestHost(t);
  if (!host || !requires(t, helper !== undefined, NOT_BUILT) || !requires(t, existsSync(BUSYBOX), `${BUSYBOX} (static) is missing`)) return undefined;
  container ??= startContainer(host);
  return [host, await container];
}

function execConfig(c: Container, argv: readonly string[], extra: readonly ConfigEntry[] = []): ConfigEntry[] {
  const env: ConfigEntry[] = extra.some((e) => e[0] === 'env') ? [] : [['env', 'PATH=/bin']];
  return [['pid', String(c.pid)], ['pid-start', c.start], ...env, ...extra, ...argv.map((a): ConfigEntry => ['arg', a])];
}

function exec(host: TestHost, c: Container, argv: readonly string[], extra: readonly ConfigEntry[] = []): Promise<HelperResult> {
  return runHelperAs(helper!, 'exec', execConfig(c, argv, extra), { uid: host.uid, name: host.user });
}

function names(result: HelperResult): string[] {
  return result.messages.map((m) => (m.type === 'event' ? m.name : m.type));
}

function assertExited(result: HelperResult, status: number): void {
  assert.equal(result.status, 0, `helper failed: ${JSON.stringify(result.messages)} ${result.stderr}`);
  assert.deepEqual(names(result), ['started', 'exited', 'done']);
  assert.deepEqual(eventNamed(result, 'exited'), { type: 'event', name: 'exited', status });
}

function assertError(result: HelperResult, op: string, errname: string): Record<string, unknown> {
  assert.equal(result.status, 1, JSON.stringify(result.messages));
  assert.deepEqual(names(result), ['error']);
  const error = result.messages[0] as Record<string, unknown>;
  assert.equal(error.op, op, JSON.stringify(error));
  assert.equal(error.errname, errname, JSON.stringify(error));
  return error;
}

function capMask(caps: readonly string[]): string {
  let mask = 0n;
  for (const cap of caps) mask |= 1n << BigInt(ALL_CAPABILITIES.indexOf(cap));
  return mask.toString(16).padStart(16, '0');
}

/** A process that exists and is not a zombie. */
function alive(pid: number): boolean {
  try {
    return !/^\d+ \(.*\) Z /.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

describe('helper exec as the test user (into a running busybox container)', { timeout: 120_000 }, () => {
  it('joins the pid namespace: ps shows pid 1 and itself, nothing of the host', async (t) => {
    const r = await ready(t);
    if (!r) return;
    const [host, c] = r;
    const result = await exec(host, c, ['/bin/ps', '-o', 'pid,comm']);
    assertExited(result, 0);
    const rows = result.stdout.trim().split('\n').slice(1).map((l) => l.trim().split(/\s+/));
    assert.deepEqual(rows.map((row) => row[1]).sort(), ['ps', 'sleep'], result.stdout);
    assert.deepEqual(rows.find((row) => row[1] === 'sleep')?.[0], '1');
    const inside = Number(rows.find((row) => row[1] === 'ps')?.[0]);
    assert.ok(inside > 1, result.stdout);
    // `started` gives the host's view of the same process
    const pid = eventNamed(result, 'started')?.pid as number;
    assert.ok(pid > 1 && pid !== inside, `host pid ${pid}, inside ${inside}`);
  });

  it('joins the mount and uts namespaces', async (t) => {
    const r = await ready(t);
    if (!r) return;
    const [host, c] = r;
    const result = await exec(host, c, ['/bin/sh', '-c', 'cat /tmp/pid1-file; hostname']);
    assertExited(result, 0);
    assert.equal(result.stdout, `from-pid1\n${HOSTNAME}\n`);
  });

  it('runs with the given uid, gid and groups', async (t) => {
    const r = await ready(t);
    if (!r) return;
    const [host, c] = r;
    const result = await exec(host, c, ['/bin/id'], [['uid', '1000'], ['gid', '1001'], ['groups', '10,20']]);
    assertExited(result, 0);
    assert.match(result.stdout, /^uid=1000 gid=1001 groups=10,20\n$/);
    const root = await exec(host, c, ['/bin/id', '-u']);
    assertExited(root, 0);
    assert.equal(root.stdout, '0\n');
  });

  it('has exactly the given capabilities', async (t) => {
    const r = await ready(t);
    if (!r) return;
    const [host, c] = r;
    const caps = DEFAULT_CAPABILITIES.map((cap): ConfigEntry => ['cap', cap]);
    const result = await exec(host, c, ['/bin/grep', 'Cap', '/proc/self/status'], caps);
    assertExited(result, 0);
    const want = capMask(DEFAULT_CAPABILITIES);
    assert.match(result.stdout, new RegExp(`CapEff:\\s+${want}\\n`));
    assert.match(result.stdout, new RegExp(`CapPrm:\\s+${want}\\n`));
    assert.match(result.stdout, new RegExp(`CapBnd:\\s+${want}\\n`));
    assert.match(result.stdout, /CapInh:\s+0{16}\n/);
    assert.match(result.stdout, /CapAmb:\s+0{16}\n/);
    const none = await exec(host, c, ['/bin/grep', 'CapEff', '/proc/self/status']);
    assertExited(none, 0);
    assert.match(none.stdout, /CapEff:\s+0{16}\n/);
  });

  it('sets no_new_privs and installs the seccomp filter', async (t) => {
    const r = await ready(t);
    if (!r) return;
    const [host, c] = r;
    const extra: ConfigEntry[] = [...DEFAULT_CAPABILITIES.map((cap): ConfigEntry => ['cap', cap]), ['no-new-privs', '1'], ['seccomp', seccompFile]];
    const status = await exec(host, c, ['/bin/grep', '-E', '^(Seccomp|NoNewPrivs):', '/proc/self/status'], extra);
    assertExited(status, 0);
    assert.equal(status.stdout, 'NoNewPrivs:\t1\nSeccomp:\t2\n');
    const unshare = await exec(host, c, ['/bin/unshare', '-U', '/bin/echo', 'escaped'], extra);
    assert.equal(unshare.status, 0, JSON.stringify(unshare.messages));
    assert.notEqual(eventNamed(unshare, 'exited')?.status, 0);
    assert.equal(unshare.stdout, '');
    // pid 1 has neither: what the exec'd process has is its own
    const plain = await exec(host, c, ['/bin/grep', '-E', '^(Seccomp|NoNewPrivs):', '/proc/self/status']);
    assertExited(plain, 0);
    assert.equal(plain.stdout, 'NoNewPrivs:\t0\nSeccomp:\t0\n');
    // without no_new_privs the filter goes in before the capabilities are dropped
    const noNnp = await exec(host, c, ['/bin/grep', '-E', '^(Seccomp|NoNewPrivs):', '/proc/self/status'], extra.filter((e) => e[0] !== 'no-new-privs'));
    assertExited(noNnp, 0);
    assert.equal(noNnp.stdout, 'NoNewPrivs:\t0\nSeccomp:\t2\n');
  });

  it('uses the given cwd and exactly the given environment', async (t) => {
    const r = await ready(t);
    if (!r) return;
    const [host, c] = r;
    const result = await exec(host, c, ['/bin/sh', '-c', 'pwd; /bin/env'], [['cwd', '/work'], ['env', 'PATH=/bin'], ['env', 'FOO=bar baz']]);
    assertExited(result, 0);
    const [cwd, ...env] = result.stdout.trim().split('\n');
    assert.equal(cwd, '/work');
    // the shell adds PWD (and may add SHLVL); what the helper gave is all there is besides
    assert.deepEqual(env.filter((v) => !/^(PWD|SHLVL|OLDPWD)=/.test(v)).sort(), ['FOO=bar baz', 'PATH=/bin']);
    const direct = await exec(host, c, ['/bin/env'], [['env', 'A=1']]);
    assertExited(direct, 0);
    assert.equal(direct.stdout, 'A=1\n');
  });

  it('reports the exit status', async (t) => {
    const r = await ready(t);
    if (!r) return;
    const [host, c] = r;
    assertExited(await exec(host, c, ['/bin/sh', '-c', 'exit 5']), 5);
  });

  it('reports a missing program as execve ENOENT and one it may not run as EACCES', async (t) => {
    const r = await ready(t);
    if (!r) return;
    const [host, c] = r;
    const missing = assertError(await exec(host, c, ['/bin/nonexistent']), 'execve', 'ENOENT');
    assert.equal(missing.path, '/bin/nonexistent');
    assertError(await exec(host, c, ['/bin/noexec']), 'execve', 'EACCES');
  });

  it('refuses a pid whose start time differs (a recycled pid)', async (t) => {
    const r = await ready(t);
    if (!r) return;
    const [host, c] = r;
    const result = await exec(host, { ...c, start: String(Number(c.start) + 1) }, ['/bin/echo', 'joined']);
    const error = assertError(result, 'pid', 'ESRCH');
    assert.match(String(error.message), /not running/);
    assert.equal(result.stdout, '');
  });

  it('refuses a pid that is gone', async (t) => {
    const r = await ready(t);
    if (!r) return;
    const [host] = r;
    const gone = spawn('/bin/sleep', ['0.2']);
    const pid = gone.pid!;
    const start = startTime(pid);
    await new Promise((resolve) => gone.on('close', resolve));
    const result = await exec(host, { helper: gone, pid, start }, ['/bin/echo', 'joined']);
    assertError(result, 'pid', 'ESRCH');
    assert.equal(result.stdout, '');
  });

  it('gives the process a pty of the container with tty 1, sized by tty-size', async (t) => {
    const r = await ready(t);
    if (!r) return;
    const [host, c] = r;
    const script = 'test -t 0 && test -t 1 && echo is-a-tty; stty size; tty; ls -1 /proc/$$/fd; echo end';
    const result = await exec(host, c, ['/bin/sh', '-c', script], [['tty', '1'], ['tty-size', '33 77']]);
    assertExited(result, 0);
    const lines = result.stdout.split('\r\n');
    assert.equal(lines[0], 'is-a-tty', JSON.stringify(result.stdout));
    assert.equal(lines[1], '33 77');
    assert.match(lines[2]!, /^\/dev\/pts\/\d+$/); // a terminal of the container's own devpts
    // no descriptor of the helper besides the terminal (the shell stays: a builtin follows)
    assert.deepEqual(lines.slice(3), ['0', '1', '2', 'end', '']);
    // without tty, the same process has no terminal
    const plain = await exec(host, c, ['/bin/sh', '-c', 'test -t 0 || echo no-tty']);
    assertExited(plain, 0);
    assert.equal(plain.stdout, 'no-tty\n');
  });

  it('joins the given cgroup before the cgroup namespace', async (t) => {
    const r = await ready(t);
    if (!r) return;
    const [host, c] = r;
    if (!requires(t, c.cgroup !== undefined, 'no delegated cgroup v2 for the test user (TSC_TEST_CGROUP)')) return;
    const who = { uid: host.uid, name: host.user, cgroup: host.cgroup };
    const script = 'grep ^0:: /proc/self/cgroup; sleep 0.3'; // the v2 line (the host may mount v1 too)
    const { child, channel } = startHelper(helper!, 'exec', who);
    let text = '';
    let stdout = '';
    channel.on('data', (b: Buffer) => (text += b.toString()));
    channel.on('error', () => undefined);
    child.stdout!.on('data', (b: Buffer) => (stdout += b.toString()));
    channel.end(encodeConfig(execConfig(c, ['/bin/sh', '-c', script], [['cgroup', c.cgroup!]])));
    for (let i = 0; i < 250 && !text.includes('"started"'); i++) await sleep(20);
    const pid = Number(/"started","pid":(\d+)/.exec(text)?.[1]);
    assert.ok(readFileSync(join(c.cgroup!, 'cgroup.procs'), 'utf8').split('\n').includes(String(pid)), `${pid} not in ${c.cgroup}: ${text}`);
    const closed = new Promise<number | null>((resolve) => child.on('close', resolve));
    assert.equal(await closed, 0, text);
    assert.equal(stdout, '0::/\n'); // the root of the container's cgroup namespace
    // without the key the process stays in the helper's cgroup, outside the namespace's root
    const outside = await runHelperAs(helper!, 'exec', execConfig(c, ['/bin/grep', '^0::', '/proc/self/cgroup']), who);
    assertExited(outside, 0);
    assert.equal(outside.stdout, '0::/..\n');
  });

  it('sizes and relays the pty from the helper\'s own terminal, and follows SIGWINCH', async (t) => {
    const r = await ready(t);
    if (!r) return;
    const [host, c] = r;
    const python = spawnSync('python3', ['-c', 'pass']).status === 0;
    if (!requires(t, python, 'python3 is needed to give the helper a terminal')) return;
    // python gives the helper a terminal of 20x30 as stdin (its controlling terminal); on
    // "go" it resizes that to 40x50 (the kernel sends the helper SIGWINCH) and types a line
    const driver = [
      'import fcntl, os, struct, sys, termios, time',
      'm, s = os.openpty()',
      "fcntl.ioctl(m, termios.TIOCSWINSZ, struct.pack('HHHH', 20, 30, 0, 0))",
      'pid = os.fork()',
      'if pid == 0:',
      '    os.setsid(); fcntl.ioctl(s, termios.TIOCSCTTY, 0); os.dup2(s, 0); os.close(s); os.close(m)',
      '    os.execvp(sys.argv[1], sys.argv[1:])',
      'os.close(s)',
      'sys.stdin.readline()',
      "fcntl.ioctl(m, termios.TIOCSWINSZ, struct.pack('HHHH', 40, 50, 0, 0))",
      'time.sleep(0.1)',
      "os.write(m, b'hello\\n')",
      '_, status = os.waitpid(pid, 0)',
      'sys.exit(os.waitstatus_to_exitcode(status))',
    ].join('\n');
    const argv = asUserArgv(helper!, ['exec'], { uid: host.uid });
    const child = spawn('python3', ['-c', driver, '/bin/sh', ...argv], { env: userEnv(host.uid, host.user), stdio: ['pipe', 'pipe', 'pipe', 'pipe'] });
    const channel = child.stdio[3] as Readable & Writable;
    let text = '';
    let stdout = '';
    let stderr = '';
    channel.on('data', (b: Buffer) => (text += b.toString()));
    channel.on('error', () => undefined);
    child.stdout!.on('data', (b: Buffer) => (stdout += b.toString()));
    child.stderr!.on('data', (b: Buffer) => (stderr += b.toString()));
    const script = 'stty size; read line; stty size; echo "got $line"';
    channel.end(encodeConfig(execConfig(c, ['/bin/sh', '-c', script], [['tty', '1'], ['tty-size', '33 77']])));
    const closed = new Promise<number | null>((resolve) => child.on('close', resolve));
    for (let i = 0; i < 250 && !stdout.includes('\n'); i++) await sleep(20);
    child.stdin!.end('go\n');
    assert.equal(await closed, 0, `${text} ${stderr}`);
    assert.match(text, /"exited","status":0\}/);
    // the typed line is echoed by the container's terminal, as on any terminal
    assert.equal(stdout, '20 30\r\nhello\r\n40 50\r\ngot hello\r\n');
  });

  it('takes the pty through the container\'s /dev/ptmx, and refuses one that is not a pty multiplexer', async (t) => {
    const r = await ready(t);
    if (!r) return;
    const [host, c] = r;
    const tty: ConfigEntry[] = [['tty', '1']];
    try {
      // the container owns its /dev (a tmpfs here): a file in place of /dev/ptmx
      assertExited(await exec(host, c, ['/bin/sh', '-c', 'echo not-a-ptmx > /dev/ptmx']), 0);
      const result = await exec(host, c, ['/bin/tty'], tty);
      assert.equal(result.status, 1, JSON.stringify(result.messages));
      assert.deepEqual(names(result), ['error']);
      const fake = result.messages[0] as Record<string, unknown>;
      // ENOTTY: protocol.c has no symbolic name for it (yet), so errname is "E?"
      assert.deepEqual([fake.op, fake.path, fake.errno], ['open', '/dev/ptmx', 25], JSON.stringify(fake));
      // docker's layout: /dev/ptmx -> pts/ptmx
      assertExited(await exec(host, c, ['/bin/sh', '-c', 'rm /dev/ptmx && ln -s pts/ptmx /dev/ptmx']), 0);
      const linked = await exec(host, c, ['/bin/tty'], tty);
      assertExited(linked, 0);
      assert.match(linked.stdout, /^\/dev\/pts\/\d+\r\n$/);
    } finally {
      await exec(host, c, ['/bin/rm', '-f', '/dev/ptmx']);
    }
  });

  it('gives the terminal to the process\'s uid', async (t) => {
    const r = await ready(t);
    if (!r) return;
    const [host, c] = r;
    const result = await exec(host, c, ['/bin/sh', '-c', 'ls -ln "$(tty)"'], [['tty', '1'], ['uid', '1000'], ['gid', '1000']]);
    assertExited(result, 0);
    assert.match(result.stdout, /^c\S+\s+\d+\s+1000\s/);
  });

  it('sets rlimits', async (t) => {
    const r = await ready(t);
    if (!r) return;
    const [host, c] = r;
    const result = await exec(host, c, ['/bin/sh', '-c', 'ulimit -n; ulimit -Hn'], [['rlimit', 'RLIMIT_NOFILE 123 456']]);
    assertExited(result, 0);
    assert.equal(result.stdout, '123\n456\n');
  });

  it('passes no descriptor of the helper', async (t) => {
    const r = await ready(t);
    if (!r) return;
    const [host, c] = r;
    // the shell stays (a builtin follows), so ls lists the shell's descriptors, not its own
    const result = await exec(host, c, ['/bin/sh', '-c', 'ls /proc/$$/fd; echo end']);
    assertExited(result, 0);
    assert.equal(result.stdout, '0\n1\n2\nend\n');
  });

  it('shows nothing of the helper binary: every process inside is the container program', async (t) => {
    const r = await ready(t);
    if (!r) return;
    const [host, c] = r;
    const result = await exec(host, c, ['/bin/sh', '-c', 'for p in /proc/[0-9]*; do echo "${p#/proc/} $(readlink $p/exe)"; done; grep PPid /proc/$$/status']);
    assertExited(result, 0);
    const lines = result.stdout.trim().split('\n');
    assert.equal(lines.at(-1), 'PPid:\t0'); // its parent, the helper, is outside the container
    const exes = lines.slice(0, -1).map((l) => l.split(' '));
    assert.ok(exes.some(([pid]) => pid === '1'), result.stdout);
    for (const [pid, exe] of exes) assert.equal(exe, '/bin/busybox', `process ${pid}: ${result.stdout}`);
  });

  it('forwards SIGTERM to the process, with and without a tty', async (t) => {
    const r = await ready(t);
    if (!r) return;
    const [host, c] = r;
    for (const extra of [[], [['tty', '1']]] as ConfigEntry[][]) {
      const { child, channel } = startHelper(helper!, 'exec', { uid: host.uid, name: host.user });
      let text = '';
      channel.on('data', (b: Buffer) => (text += b.toString()));
      channel.on('error', () => undefined);
      channel.end(encodeConfig(execConfig(c, ['/bin/sleep', '30'], extra)));
      for (let i = 0; i < 250 && !text.includes('"started"'); i++) await sleep(20);
      const closed = new Promise<number | null>((resolve) => child.on('close', resolve));
      child.kill('SIGTERM');
      assert.equal(await closed, 0, text);
      assert.match(text, /"exited","signal":15\}/, JSON.stringify(extra));
    }
  });

  it('kills the process, not the container, when the helper is killed', async (t) => {
    const r = await ready(t);
    if (!r) return;
    const [host, c] = r;
    const { child, channel } = startHelper(helper!, 'exec', { uid: host.uid, name: host.user });
    let text = '';
    channel.on('data', (b: Buffer) => (text += b.toString()));
    channel.on('error', () => undefined);
    channel.end(encodeConfig(execConfig(c, ['/bin/sleep', '30'])));
    for (let i = 0; i < 250 && !text.includes('"started"'); i++) await sleep(20);
    const pid = Number(/"started","pid":(\d+)/.exec(text)?.[1]);
    assert.ok(pid > 0 && alive(pid), text);
    // 'exit', not 'close': a surviving process would hold the helper's stdout open
    const exited = new Promise((resolve) => child.on('exit', resolve));
    child.kill('SIGKILL');
    await exited;
    for (let i = 0; i < 100 && alive(pid); i++) await sleep(20);
    assert.equal(alive(pid), false, `exec'd process ${pid} outlived the helper`);
    assert.ok(alive(c.pid), 'the container went down too');
  });

  it('detaches: started and done at once, the process keeps running', async (t) => {
    const r = await ready(t);
    if (!r) return;
    const [host, c] = r;
    const began = Date.now();
    const result = await exec(host, c, ['/bin/sh', '-c', 'sleep 1; echo later > /tmp/detached'], [['detach', '1']]);
    const took = Date.now() - began;
    assert.equal(result.status, 0, JSON.stringify(result.messages));
    assert.deepEqual(names(result), ['started', 'done']);
    assert.ok(took < 900, `the helper waited ${took} ms`);
    const pid = eventNamed(result, 'started')?.pid as number;
    assert.ok(alive(pid), `detached process ${pid} is gone`);
    assert.match(readFileSync(`/proc/${pid}/status`, 'utf8'), /NSpid:\s+\d+\s+\d+/); // in a nested pid namespace
    const before = await exec(host, c, ['/bin/cat', '/tmp/detached']);
    assert.equal(before.stdout, '');
    let after = '';
    for (let i = 0; i < 100 && after === ''; i++) {
      await sleep(50);
      after = (await exec(host, c, ['/bin/cat', '/tmp/detached'])).stdout;
    }
    assert.equal(after, 'later\n');
    for (let i = 0; i < 100 && alive(pid); i++) await sleep(20);
    assert.equal(alive(pid), false);
  });

  it('refuses a bad configuration: tty with detach, no pid-start, a key of run only', async (t) => {
    const r = await ready(t);
    if (!r) return;
    const [host, c] = r;
    const echo = ['/bin/echo', 'ran'];
    const bad: ConfigEntry[][] = [
      execConfig(c, echo, [['tty', '1'], ['detach', '1']]),
      execConfig(c, echo).filter((e) => e[0] !== 'pid-start'),
      execConfig(c, echo, [['rootfs', '/']]),
      execConfig(c, echo, [['tty', '1'], ['tty-size', '0 80']]),
    ];
    for (const config of bad) {
      const result = await runHelperAs(helper!, 'exec', config, { uid: host.uid, name: host.user });
      assertError(result, 'config', '');
      assert.equal(result.stdout, '', JSON.stringify(config));
    }
  });
});
