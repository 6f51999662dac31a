/**
 * The native helper's `run` with `detach 1` (the monitor) against the real kernel, as the
 * test user with its subordinate ids, on a busybox root directory: state file, k8s-file
 * log and its rotation, the attach protocol (output, stdin, exit, resize, signal frames),
 * restart policies, hooks, cgroup placement, the minimal init, exit commands, and what
 * descriptors the container and the monitor hold.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, chownSync, copyFileSync, existsSync, lchownSync, mkdirSync, mkdtempSync, readFileSync, readlinkSync, readdirSync, rmdirSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { createConnection, type Socket } from 'node:net';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type { Readable, Writable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import { eventNamed, runHelperAs, testContainerBase, type HelperResult } from '../lib/helper-client.ts';
import { requires, requiresTestHost, testHost, type TestHost } from '../lib/env.ts';
import { asUserArgv, userEnv } from '../lib/users.ts';
import { DIST_HELPER, staged } from '../lib/stage.ts';
import { decodeMessage, encodeArgv, encodeConfig, type ConfigEntry, type HelperMessage } from '../../src/engine/sys/helper.ts';

const helper = staged(DIST_HELPER);
const BUSYBOX = '/usr/bin/busybox';
const scratch = mkdtempSync('/tmp/tsc-it-mon-');
chmodSync(scratch, 0o755);
const monitors = new Set<number>();
const cgroups: string[] = [];
after(async () => {
  for (const pid of monitors) {
    try {
      process.kill(pid, 'SIGKILL'); // the container follows (its parent-death signal)
    } catch {
      // already gone
    }
  }
  await sleep(100);
  for (const dir of cgroups.reverse()) {
    try {
      writeFileSync(join(dir, 'cgroup.kill'), '1');
      await sleep(50);
      rmdirSync(dir);
    } catch {
      // best effort
    }
  }
  rmSync(scratch, { recursive: true, force: true });
});

const APPLETS = ['sh', 'echo', 'cat', 'ls', 'ps', 'sleep', 'stty', 'tty', 'seq', 'head', 'tr', 'printf', 'readlink', 'wc', 'true', 'kill'];
let rootfs = '';

function buildRootfs(host: TestHost): string {
  const root = join(scratch, 'rootfs');
  for (const dir of ['bin', 'etc', 'proc', 'dev', 'tmp', 'shared']) mkdirSync(join(root, dir), { recursive: true });
  copyFileSync(BUSYBOX, join(root, 'bin', 'busybox'));
  chmodSync(join(root, 'bin', 'busybox'), 0o755);
  for (const applet of APPLETS) symlinkSync('busybox', join(root, 'bin', applet));
  writeFileSync(join(root, 'etc', 'passwd'), 'root:x:0:0:root:/root:/bin/sh\n');
  for (const p of ['', 'bin', 'etc', 'proc', 'dev', 'tmp', 'shared', 'bin/busybox', 'etc/passwd', ...APPLETS.map((a) => `bin/${a}`)]) {
    lchownSync(join(root, p), host.uid, host.uid);
  }
  chownSync(scratch, host.uid, host.uid);
  return root;
}

before(() => {
  if (!testHost || process.getuid?.() !== 0 || !existsSync(BUSYBOX)) return;
  rootfs = buildRootfs(testHost);
});

function ready(t: Parameters<typeof requiresTestHost>[0]): TestHost | undefined {
  const host = requiresTestHost(t);
  if (!host || !requires(t, helper !== undefined, 'dist/native/tsc-helper is not built') || !requires(t, existsSync(BUSYBOX), `${BUSYBOX} is missing`)) return undefined;
  return host;
}

let counter = 0;
/** A fresh directory the test user owns, for one container's state, log and socket. */
function box(host: TestHost): string {
  const dir = join(scratch, `c${++counter}`);
  mkdirSync(dir);
  chownSync(dir, host.uid, host.uid);
  return dir;
}


function baseConfig(host: TestHost, dir: string, argv: readonly string[], extra: readonly ConfigEntry[] = [], detach = true): ConfigEntry[] {
  const config = testContainerBase(host, rootfs);
  if (detach) config.push(['detach', '1'], ['state', join(dir, 'state.json')], ['log', join(dir, 'ctr.log')]);
  return [...config, ...extra, ...argv.map((a): ConfigEntry => ['arg', a])];
}

interface Detached {
  status: number | null;
  messages: HelperMessage[];
  /** the caller's end of attach-fd 4, when asked for */
  attach?: Frames;
  pid: number;
  monitor: number;
  helperPid: number;
}

/** Two cgroups below a new one in the test user's delegated subtree, given to the user: one for the container, one for the monitor. */
function delegatedPair(host: TestHost, name: string): { ctr: string; mon: string } {
  const base = join(host.cgroup, name);
  const ctr = join(base, 'ctr');
  const mon = join(base, 'mon');
  for (const cg of [base, ctr, mon]) {
    mkdirSync(cg);
    cgroups.push(cg);
    for (const f of ['', 'cgroup.procs', 'cgroup.threads', 'cgroup.subtree_control']) chownSync(join(cg, f), host.uid, host.uid);
  }
  return { ctr, mon };
}

/** Starts `run` with detach and waits for the helper (not the monitor) to exit. */
async function detach(host: TestHost, config: ConfigEntry[], options: { attachFd?: boolean; cgroup?: string } = {}): Promise<Detached> {
  if (options.attachFd) config.push(['attach-fd', '4']);
  const who = { uid: host.uid, name: host.user, cgroup: options.cgroup };
  const child: ChildProcess = spawn('/bin/sh', asUserArgv(helper!, ['run'], who), {
    env: userEnv(host.uid, host.user),
    cwd: '/',
    stdio: ['ignore', 'pipe', 'pipe', 'pipe', ...(options.attachFd ? ['pipe' as const] : [])],
  });
  const channel = child.stdio[3] as Readable & Writable;
  const attach = options.attachFd ? new Frames(child.stdio[4] as Readable & Writable) : undefined;
  const messages: HelperMessage[] = [];
  createInterface({ input: channel }).on('line', (line) => messages.push(decodeMessage(line))).on('error', () => undefined);
  channel.on('error', () => undefined);
  channel.end(encodeConfig(config));
  const status = await new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  await sleep(20); // the last lines
  const started = messages.find((m) => m.type === 'event' && m.name === 'started') as Record<string, number> | undefined;
  const result = { status, messages, attach, pid: started?.pid ?? 0, monitor: started?.monitor ?? 0, helperPid: child.pid! };
  if (result.monitor) monitors.add(result.monitor);
  return result;
}

/** Reads attach frames off a stream. */
class Frames {
  buf = Buffer.alloc(0);
  frames: { type: number; data: Buffer }[] = [];
  closed = false;
  readonly stream: Readable & Writable;
  constructor(stream: Readable & Writable) {
    this.stream = stream;
    stream.on('data', (b: Buffer) => {
      this.buf = Buffer.concat([this.buf, b]);
      while (this.buf.length >= 5 && this.buf.length >= 5 + this.buf.readUInt32BE(1)) {
        const len = this.buf.readUInt32BE(1);
        this.frames.push({ type: this.buf[0]!, data: this.buf.subarray(5, 5 + len) });
        this.buf = this.buf.subarray(5 + len);
      }
    });
    stream.on('error', () => undefined);
    stream.on('close', () => (this.closed = true));
    stream.on('end', () => (this.closed = true));
  }
  text(type: number): string {
    return Buffer.concat(this.frames.filter((f) => f.type === type).map((f) => f.data)).toString();
  }
  exits(): Record<string, unknown>[] {
    return this.frames.filter((f) => f.type === 3).map((f) => JSON.parse(f.data.toString()) as Record<string, unknown>);
  }
  send(type: number, payload: Buffer | string = Buffer.alloc(0)): void {
    const data = Buffer.from(payload);
    const hdr = Buffer.alloc(5);
    hdr[0] = type;
    hdr.writeUInt32BE(data.length, 1);
    this.stream.write(Buffer.concat([hdr, data]));
  }
}

async function connect(path: string): Promise<Frames> {
  const socket: Socket = createConnection(path);
  await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
  return new Frames(socket as unknown as Readable & Writable);
}

async function until(what: string, cond: () => boolean, ms = 10_000): Promise<void> {
  for (const end = Date.now() + ms; Date.now() < end; await sleep(20)) if (cond()) return;
  assert.fail(`timed out waiting for ${what}`);
}

function state(dir: string): Record<string, unknown> {
  try {
    return JSON.parse(readFileSync(join(dir, 'state.json'), 'utf8')) as Record<string, unknown>;
  } catch {
    return {};
  }
}

function logText(dir: string, name = 'ctr.log'): string {
  try {
    return readFileSync(join(dir, name), 'utf8');
  } catch {
    return '';
  }
}

/** The CONTENT of each log record of a stream. */
function logLines(dir: string, stream = 'stdout', name = 'ctr.log'): string[] {
  return logText(dir, name).split('\n').filter(Boolean).map((l) => l.split(' ')).filter((f) => f[1] === stream).map((f) => f.slice(3).join(' '));
}

function alive(pid: number): boolean {
  try {
    return !/^\d+ \(.*\) Z /.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

function statField(pid: number, field: number): string {
  const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return text.slice(text.lastIndexOf(')') + 2).split(' ')[field - 3]!;
}

function assertStarted(d: Detached): void {
  assert.equal(d.status, 0, JSON.stringify(d.messages));
  const names = d.messages.map((m) => (m.type === 'event' ? m.name : m.type));
  assert.deepEqual(names, ['idmap', 'started', 'done']);
  assert.ok(d.pid > 0 && d.monitor > 0);
}

const SIGNAL_STOP = (sig: number): Buffer => Buffer.from([sig, 1]);

describe('helper run detach: the monitor', { timeout: 180_000 }, () => {
  it('starts, records starting/running/exited in the state file with pid and start times', async (t) => {
    const host = ready(t);
    if (!host) return;
    const dir = box(host);
    const hook = encodeArgv(['/bin/sh', '-c', `cat ${dir}/state.json > ${dir}/seen-by-hook`]);
    const d = await detach(host, baseConfig(host, dir, ['/bin/sh', '-c', 'echo hi; sleep 1; exit 3'], [['hook', hook]]));
    assertStarted(d);
    assert.match(readFileSync(join(dir, 'seen-by-hook'), 'utf8'), /"status":"starting"/);
    const s = state(dir);
    assert.equal(s.status, 'running');
    assert.equal(s.pid, d.pid);
    assert.equal(String(s.pidStart), statField(d.pid, 22));
    assert.equal(s.monitorPid, d.monitor);
    assert.equal(String(s.monitorStart), statField(d.monitor, 22));
    assert.equal(s.bootId, readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim());
    assert.match(String(s.startedAt), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z$/);
    assert.equal(s.finishedAt, '');
    assert.ok(!existsSync(join(dir, 'state.json.tmp')));
    await until('exited', () => state(dir).status === 'exited');
    const e = state(dir);
    assert.equal(e.exitCode, 3);
    assert.equal(e.signal, 0);
    assert.equal(e.pid, 0);
    assert.equal(e.restartCount, 0);
    assert.match(String(e.finishedAt), /Z$/);
    await until('the monitor to exit', () => !alive(d.monitor));
    assert.deepEqual(logLines(dir), ['hi']);
  });

  it('survives its caller, in its own session, holding none of its descriptors; stays small', async (t) => {
    const host = ready(t);
    if (!host) return;
    const dir = box(host);
    const d = await detach(host, baseConfig(host, dir, ['/bin/sleep', '60'], [['attach', join(dir, 'a.sock')]]));
    assertStarted(d);
    assert.equal(alive(d.helperPid), false, 'the helper the caller started has exited');
    await sleep(200);
    assert.ok(alive(d.pid), 'the container runs on');
    assert.ok(alive(d.monitor), 'the monitor runs on');
    assert.equal(statField(d.monitor, 6), String(d.monitor), 'the monitor leads its own session');
    assert.equal(statField(d.monitor, 7), '0', 'the monitor has no controlling terminal');
    for (const fd of ['0', '1', '2', '3']) assert.equal(readlinkSync(`/proc/${d.monitor}/fd/${fd}`), '/dev/null', `monitor fd ${fd}`);
    const rss = Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${d.monitor}/status`, 'utf8'))?.[1]);
    const status = readFileSync(`/proc/${d.monitor}/status`, 'utf8');
    const parts = ['RssAnon', 'RssFile', 'RssShmem'].map((k) => `${k} ${new RegExp(`${k}:\\s+(\\d+)`).exec(status)?.[1]}`);
    const ps = execFileSync('ps', ['-o', 'rss=', '-p', String(d.monitor)]).toString().trim();
    t.diagnostic(`monitor RSS (ps -o rss) ${ps} KiB: ${parts.join(', ')} KiB; ${readdirSync(`/proc/${d.monitor}/fd`).length} fds`);
    assert.ok(rss > 0 && rss < 2048, `monitor RSS ${rss} KiB`);
    assert.equal(statSync(join(dir, 'a.sock')).mode & 0o777, 0o600);
    const client = await connect(join(dir, 'a.sock'));
    client.send(6, SIGNAL_STOP(9));
    await until('exit frame', () => client.exits().length === 1);
    assert.deepEqual(client.exits()[0], { exitCode: 137, signal: 9, restarting: false });
    await until('connection closed', () => client.closed);
    await until('monitor gone', () => !alive(d.monitor));
    assert.ok(!existsSync(join(dir, 'a.sock')), 'the socket is removed');
    assert.equal(state(dir).status, 'exited');
  });

  it('writes stdout and stderr to the log (k8s-file) and to attach-fd from the first byte', async (t) => {
    const host = ready(t);
    if (!host) return;
    const dir = box(host);
    const script = 'echo out1; echo err1 >&2; head -c 40000 /dev/zero | tr "\\0" a; echo; printf partial';
    const d = await detach(host, baseConfig(host, dir, ['/bin/sh', '-c', script]), { attachFd: true });
    assertStarted(d);
    const a = d.attach!;
    await until('exit frame', () => a.exits().length === 1);
    assert.deepEqual(a.exits()[0], { exitCode: 0, signal: 0, restarting: false });
    assert.equal(a.text(1), `out1\n${'a'.repeat(40000)}\npartial`);
    assert.equal(a.text(2), 'err1\n');
    await until('attach-fd closed', () => a.closed);
    const records = logText(dir).split('\n').filter(Boolean);
    for (const r of records) assert.match(r, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z (stdout|stderr) [FP] /);
    const short = records.map((r) => r.split(' ').slice(1).join(' ')).map((r) => (r.length > 40 ? `${r.slice(0, 9)}${r.length - 9}` : r));
    assert.deepEqual(short.filter((x) => x.startsWith('stderr')), ['stderr F err1']);
    assert.deepEqual(short.filter((x) => x.startsWith('stdout')), ['stdout F out1', 'stdout P 16384', 'stdout P 16384', 'stdout F 7232', 'stdout P partial']);
    assert.equal(statSync(join(dir, 'ctr.log')).mode & 0o777, 0o600);
  });

  it('rotates the log at log-max-size', async (t) => {
    const host = ready(t);
    if (!host) return;
    const dir = box(host);
    const d = await detach(host, baseConfig(host, dir, ['/bin/seq', '1', '40'], [['log-max-size', '400']]));
    assertStarted(d);
    await until('exited', () => state(dir).status === 'exited');
    assert.ok(statSync(join(dir, 'ctr.log')).size <= 400);
    assert.ok(statSync(join(dir, 'ctr.log.1')).size <= 400);
    const lines = [...logLines(dir, 'stdout', 'ctr.log.1'), ...logLines(dir)].map(Number);
    assert.equal(lines.at(-1), 40);
    assert.ok(lines.length >= 6 && lines.length < 40, `${lines.length} lines kept`);
    lines.forEach((n, i) => assert.equal(n, lines[0]! + i));
  });

  it('feeds stdin from attach clients and closes it on a stdin-close frame', async (t) => {
    const host = ready(t);
    if (!host) return;
    const dir = box(host);
    const d = await detach(host, baseConfig(host, dir, ['/bin/cat'], [['stdin', '1'], ['attach', join(dir, 'a.sock')]]));
    assertStarted(d);
    const c = await connect(join(dir, 'a.sock'));
    c.send(0, 'hello\n');
    await until('echo', () => c.text(1) === 'hello\n');
    c.send(0, 'again');
    await until('echo 2', () => c.text(1) === 'hello\nagain');
    c.send(4);
    await until('exit frame', () => c.exits().length === 1);
    assert.deepEqual(c.exits()[0], { exitCode: 0, signal: 0, restarting: false });
    await until('closed', () => c.closed);
    assert.deepEqual(logLines(dir), ['hello', 'again']);
  });

  it('disconnects a client that sends a malformed frame, and serves the others', async (t) => {
    const host = ready(t);
    if (!host) return;
    const dir = box(host);
    const d = await detach(host, baseConfig(host, dir, ['/bin/cat'], [['stdin', '1'], ['attach', join(dir, 'a.sock')]]));
    assertStarted(d);
    const bad = await connect(join(dir, 'a.sock'));
    const good = await connect(join(dir, 'a.sock'));
    bad.send(5, Buffer.from([1])); // a resize needs 4 bytes
    await until('bad client dropped', () => bad.closed);
    good.send(0, 'x\n');
    await until('echo', () => good.text(1) === 'x\n');
    good.send(6, SIGNAL_STOP(9));
    await until('exit', () => good.exits().length === 1);
  });

  it('runs the program on a pty: resize frames change the window size', async (t) => {
    const host = ready(t);
    if (!host) return;
    const dir = box(host);
    const extra: ConfigEntry[] = [
      ['mount', '/dev/pts devpts devpts nosuid,noexec,newinstance,ptmxmode=0666,mode=0620'],
      ['tty', '1'],
      ['tty-size', '24 80'],
      ['stdin', '1'],
      ['attach', join(dir, 'a.sock')],
    ];
    const script = 'read x; stty size; tty; ls -1 /proc/$$/fd; read y; stty size; echo bye >&2';
    const d = await detach(host, baseConfig(host, dir, ['/bin/sh', '-c', script], extra));
    assertStarted(d);
    const c = await connect(join(dir, 'a.sock'));
    c.send(0, 'a\n');
    await until('first size', () => /24 80\r\n/.test(c.text(1)));
    assert.match(c.text(1), /\/dev\/pts\/0\r\n0\r\n1\r\n2\r\n/);
    c.send(5, Buffer.from([0, 50, 0, 132]));
    c.send(0, 'b\n');
    await until('exit', () => c.exits().length === 1);
    assert.match(c.text(1), /50 132\r\nbye\r\n/);
    assert.equal(c.text(2), '');
    assert.deepEqual(logLines(dir, 'stderr'), []);
    assert.ok(logLines(dir).some((l) => l.startsWith('50 132')), logText(dir));
  });

  it('runs the program under init on the pty, as the foreground process group', async (t) => {
    const host = ready(t);
    if (!host) return;
    const dir = box(host);
    const extra: ConfigEntry[] = [
      ['mount', '/dev/pts devpts devpts nosuid,noexec,newinstance,ptmxmode=0666,mode=0620'],
      ['tty', '1'],
      ['stdin', '1'],
      ['init', '1'],
      ['attach', join(dir, 'a.sock')],
    ];
    const d = await detach(host, baseConfig(host, dir, ['/bin/sh', '-c', 'echo pid $$; read x; echo got $x; exit 5'], extra));
    assertStarted(d);
    const c = await connect(join(dir, 'a.sock'));
    c.send(0, 'hello\n');
    await until('exit', () => c.exits().length === 1);
    assert.match(c.text(1), /got hello\r\n/);
    assert.deepEqual(c.exits()[0], { exitCode: 5, signal: 0, restarting: false });
    assert.ok(logLines(dir).some((l) => l.startsWith('pid 2')), logText(dir));
  });

  it('a signal frame with the stop flag prevents the restart', async (t) => {
    const host = ready(t);
    if (!host) return;
    const dir = box(host);
    const d = await detach(host, baseConfig(host, dir, ['/bin/sleep', '100'], [['restart', 'always'], ['attach', join(dir, 'a.sock')]]));
    assertStarted(d);
    const c = await connect(join(dir, 'a.sock'));
    c.send(6, SIGNAL_STOP(9));
    await until('exit', () => c.exits().length === 1);
    assert.deepEqual(c.exits()[0], { exitCode: 137, signal: 9, restarting: false });
    await until('monitor gone', () => !alive(d.monitor));
    const s = state(dir);
    assert.equal(s.status, 'exited');
    assert.equal(s.stopRequested, true);
    assert.equal(s.restartCount, 0);
  });

  it('restart on-failure:2 runs the program three times', async (t) => {
    const host = ready(t);
    if (!host) return;
    const dir = box(host);
    const d = await detach(host, baseConfig(host, dir, ['/bin/sh', '-c', 'echo run; exit 1'], [['restart', 'on-failure:2']]), { attachFd: true });
    assertStarted(d);
    await until('monitor gone', () => !alive(d.monitor));
    assert.deepEqual(logLines(dir), ['run', 'run', 'run']);
    const s = state(dir);
    assert.equal(s.status, 'exited');
    assert.equal(s.restartCount, 2);
    assert.equal(s.exitCode, 1);
    assert.deepEqual(d.attach!.exits().map((e) => e.restarting), [true, true, false]);
    assert.equal(d.attach!.text(1), 'run\nrun\nrun\n');
  });

  it('restart always restarts a program that succeeds, until stopped', async (t) => {
    const host = ready(t);
    if (!host) return;
    const dir = box(host);
    const d = await detach(host, baseConfig(host, dir, ['/bin/sh', '-c', 'echo run; sleep 0.2'], [['restart', 'always'], ['attach', join(dir, 'a.sock')]]));
    assertStarted(d);
    await until('three runs', () => logLines(dir).length >= 3);
    const c = await connect(join(dir, 'a.sock'));
    c.send(6, SIGNAL_STOP(9));
    await until('monitor gone', () => !alive(d.monitor));
    const runs = logLines(dir).length;
    await sleep(500);
    assert.equal(logLines(dir).length, runs);
    const s = state(dir);
    assert.equal(s.status, 'exited');
    assert.equal(s.stopRequested, true);
    assert.ok((s.restartCount as number) >= 2 && s.restartCount === runs - 1, JSON.stringify(s));
  });

  it('runs hooks with {pid} in the container\'s namespaces before the program (foreground too)', async (t) => {
    const host = ready(t);
    if (!host) return;
    const dir = box(host);
    const hook = encodeArgv(['/bin/sh', '-c', `readlink /proc/{pid}/ns/net > ${dir}/net; readlink /proc/self/ns/net >> ${dir}/net`]);
    const config = baseConfig(host, dir, ['/bin/sh', '-c', 'cat /shared/net; readlink /proc/1/ns/net'], [['hook', hook], ['mount', `/shared bind ${dir} rbind`]], false);
    const fg = await runHelperAs(helper!, 'run', config, { uid: host.uid, name: host.user });
    assert.equal(fg.status, 0, JSON.stringify(fg.messages));
    assert.equal(eventNamed(fg, 'exited')?.status, 0);
    const [inside, outside, own] = fg.stdout.trim().split('\n');
    assert.match(inside!, /^net:\[\d+\]$/);
    assert.notEqual(inside, outside, 'the hook saw the container\'s network namespace');
    assert.equal(inside, own);
    // detached, at each restart
    const dir2 = box(host);
    const hook2 = encodeArgv(['/bin/sh', '-c', `echo {pid} >> ${dir2}/pids`]);
    const d = await detach(host, baseConfig(host, dir2, ['/bin/true'], [['hook', hook2], ['restart', 'on-failure:1']]));
    assertStarted(d);
    await until('exited', () => state(dir2).status === 'exited');
    assert.deepEqual(readFileSync(join(dir2, 'pids'), 'utf8').trim().split('\n'), [String(d.pid)]);
  });

  it('reports a failing hook as an error record and a failed state', async (t) => {
    const host = ready(t);
    if (!host) return;
    const dir = box(host);
    const hook = encodeArgv(['/bin/sh', '-c', 'echo broken network >&2; exit 4']);
    const d = await detach(host, baseConfig(host, dir, ['/bin/true'], [['hook', hook]]));
    assert.equal(d.status, 1);
    const error = d.messages.at(-1) as Record<string, unknown>;
    assert.equal(error.type, 'error');
    assert.equal(error.op, 'hook');
    assert.equal(error.path, '/bin/sh');
    assert.match(String(error.message), /status 4: broken network/);
    const s = state(dir);
    assert.equal(s.status, 'failed');
    assert.match(String(s.error), /broken network/);
  });

  it('hook-ready-fd: waits for the ready byte, stops the hook when the container ends', async (t) => {
    const host = ready(t);
    if (!host) return;
    const dir = box(host);
    const hook = encodeArgv(['/bin/sh', '-c', `echo $$ > ${dir}/hook.pid; sleep 0.3; echo x > ${dir}/ready; printf 1 >&5; exec sleep 100`]);
    const d = await detach(host, baseConfig(host, dir, ['/bin/sh', '-c', 'cat /shared/ready; sleep 0.5'], [['hook', hook], ['hook-ready-fd', '5'], ['mount', `/shared bind ${dir} rbind`]]));
    assertStarted(d);
    const hookPid = Number(readFileSync(join(dir, 'hook.pid'), 'utf8'));
    assert.ok(alive(hookPid), 'the hook runs in the background');
    await until('monitor gone', () => !alive(d.monitor));
    assert.equal(alive(hookPid), false, 'the hook was stopped');
    assert.deepEqual(logLines(dir), ['x']);
  });

  it('creates the container in the given cgroup; the monitor stays outside', async (t) => {
    const host = ready(t);
    if (!host) return;
    if (!requires(t, host.cgroup !== '' && existsSync(host.cgroup), 'no delegated cgroup')) return;
    const dir = box(host);
    const { ctr, mon } = delegatedPair(host, `it-mon-${process.pid}`);
    const d = await detach(host, baseConfig(host, dir, ['/bin/sh', '-c', 'cat /proc/self/cgroup; sleep 60'], [['cgroup', ctr], ['attach', join(dir, 'a.sock')]]), { cgroup: mon });
    assertStarted(d);
    const procs = readFileSync(join(ctr, 'cgroup.procs'), 'utf8').trim().split('\n').map(Number);
    assert.ok(procs.includes(d.pid), `${d.pid} in ${procs.join(' ')}`);
    assert.ok(!procs.includes(d.monitor));
    assert.ok(readFileSync(join(mon, 'cgroup.procs'), 'utf8').split('\n').map(Number).includes(d.monitor));
    await until('cgroup line', () => logLines(dir).length > 0);
    assert.ok(logLines(dir).includes('0::/'), logText(dir));
    writeFileSync(join(ctr, 'cgroup.kill'), '1');
    await until('monitor gone', () => !alive(d.monitor));
    assert.equal(state(dir).signal, 9);
    // a cgroup it may not use is an error record
    const dir2 = box(host);
    const bad = await detach(host, baseConfig(host, dir2, ['/bin/true'], [['cgroup', '/sys/fs/cgroup']]), { cgroup: mon });
    assert.equal(bad.status, 1);
    assert.equal((bad.messages.at(-1) as Record<string, unknown>).op, 'cgroup');
  });

  it('init 1: the program is pid 2, orphans are reaped, SIGTERM is forwarded', async (t) => {
    const host = ready(t);
    if (!host) return;
    const dir = box(host);
    const script = 'echo $$; ls /proc/$$/fd; (sleep 0.2 &); sleep 1; cat /proc/[0-9]*/stat; trap "echo term; exit 7" TERM; echo ready; while true; do sleep 0.1; done';
    const d = await detach(host, baseConfig(host, dir, ['/bin/sh', '-c', script], [['init', '1'], ['attach', join(dir, 'a.sock')]]));
    assertStarted(d);
    await until('ready', () => logLines(dir).includes('ready'));
    const lines = logLines(dir);
    assert.deepEqual(lines.slice(0, 4), ['2', '0', '1', '2'], 'the program is pid 2 and holds only 0 1 2');
    const stats = lines.filter((l) => /^\d+ \(/.test(l));
    assert.ok(stats.length >= 2, lines.join('|'));
    assert.ok(stats.every((l) => !/\) Z /.test(l)), `a zombie: ${stats.join('|')}`);
    assert.ok(stats.some((l) => l.startsWith('1 (')) && !stats.some((l) => l.startsWith('1 (sh)')), 'pid 1 is the init');
    const c = await connect(join(dir, 'a.sock'));
    c.send(6, Buffer.from([15, 0]));
    await until('exit', () => c.exits().length === 1);
    assert.deepEqual(c.exits()[0], { exitCode: 7, signal: 0, restarting: false });
    assert.ok(logLines(dir).includes('term'));
  });

  it('runs the exit commands after the final exit', async (t) => {
    const host = ready(t);
    if (!host) return;
    const dir = box(host);
    const cmd = encodeArgv(['/bin/sh', '-c', `cat ${dir}/state.json > ${dir}/exit-cmd-saw`]);
    const d = await detach(host, baseConfig(host, dir, ['/bin/sh', '-c', 'sleep 0.5; exit 1'], [['exit-cmd', cmd], ['restart', 'on-failure:1']]));
    assertStarted(d);
    await sleep(200);
    assert.ok(!existsSync(join(dir, 'exit-cmd-saw')), 'not while the container runs');
    await until('monitor gone', () => !alive(d.monitor));
    const saw = JSON.parse(readFileSync(join(dir, 'exit-cmd-saw'), 'utf8')) as Record<string, unknown>;
    assert.equal(saw.status, 'exited');
    assert.equal(saw.restartCount, 1);
  });

  it('passes no descriptor of the host or the monitor to the container', async (t) => {
    const host = ready(t);
    if (!host) return;
    const dir = box(host);
    const d = await detach(host, baseConfig(host, dir, ['/bin/sh', '-c', 'ls /proc/$$/fd; echo end; ls /proc'], [['stdin', '1'], ['attach', join(dir, 'a.sock')]]), { attachFd: true });
    assertStarted(d);
    await until('exit', () => d.attach!.exits().length === 1);
    const lines = logLines(dir);
    assert.deepEqual(lines.slice(0, 4), ['0', '1', '2', 'end']);
    const pids = lines.slice(4).filter((l) => /^\d+$/.test(l));
    assert.deepEqual(pids, ['1'], 'the container sees only itself, never the monitor');
  });

  it('never blocks on a socket client that does not read (its output is dropped); attach-fd loses nothing', async (t) => {
    const host = ready(t);
    if (!host) return;
    const dir = box(host);
    const script = 'read x; head -c 3000000 /dev/zero | tr "\\0" a; echo; echo done';
    const d = await detach(host, baseConfig(host, dir, ['/bin/sh', '-c', script], [['stdin', '1'], ['attach', join(dir, 'a.sock')]]), { attachFd: true });
    assertStarted(d);
    const slow = await connect(join(dir, 'a.sock'));
    slow.stream.pause();
    const fd = d.attach!;
    fd.stream.pause(); // the caller is slow for a while: the container waits for it
    fd.send(0, 'go\n');
    await sleep(300);
    assert.equal(state(dir).status, 'running');
    fd.stream.resume();
    await until('exited while the slow client slept', () => state(dir).status === 'exited', 20_000);
    slow.stream.resume(); // within the second the monitor gives clients to take what is queued
    const logged = logText(dir).split('\n').filter(Boolean).map((l) => l.split(' ').slice(3).join(' ')).join('');
    assert.equal(logged.length, 3_000_000 + 'done'.length);
    await until('attach-fd closed', () => fd.closed);
    assert.equal(fd.text(1).length, 3_000_000 + '\ndone\n'.length);
    assert.ok(fd.text(1).endsWith('a\ndone\n'));
    await until('slow client closed', () => slow.closed);
    assert.equal(slow.exits().length, 1, 'the exit frame has room of its own');
    assert.ok(slow.text(1).length < 3_000_000, `slow client got ${slow.text(1).length} bytes`);
  });

  it('foreground run: cgroup and init work without detach', async (t) => {
    const host = ready(t);
    if (!host) return;
    if (!requires(t, host.cgroup !== '' && existsSync(host.cgroup), 'no delegated cgroup')) return;
    const dir = box(host);
    const { ctr, mon } = delegatedPair(host, `it-fg-${process.pid}`);
    const config = baseConfig(host, dir, ['/bin/sh', '-c', 'echo $$; cat /proc/self/cgroup; cat /proc/1/stat'], [['cgroup', ctr], ['init', '1']], false);
    const result = await runHelperAs(helper!, 'run', config, { uid: host.uid, name: host.user, cgroup: mon });
    assert.equal(result.status, 0, JSON.stringify(result.messages));
    assert.equal(eventNamed(result, 'exited')?.status, 0);
    const lines = result.stdout.trim().split('\n');
    assert.equal(lines[0], '2');
    assert.ok(lines.includes('0::/'), lines.join('|'));
    assert.match(lines.at(-1)!, /^1 \(memfd:tsc-helpe\) /);
  });

  it('rejects the monitor keys without detach', async (t) => {
    const host = ready(t);
    if (!host) return;
    const dir = box(host);
    const result: HelperResult = await runHelperAs(helper!, 'run', baseConfig(host, dir, ['/bin/true'], [['log', join(dir, 'x.log')]], false), { uid: host.uid, name: host.user });
    assert.equal(result.status, 1);
    assert.match(String((result.messages.at(-1) as Record<string, unknown>).message), /log needs detach 1/);
  });
});
