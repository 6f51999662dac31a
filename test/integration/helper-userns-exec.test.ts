/**
 * The native helper's userns-exec mode against the real kernel, as the real users it
 * serves: one program runs as root in a new user namespace with the caller's id map,
 * with the helper's stdio, exactly the configured environment, and never the socket.
 */
import assert from 'node:assert/strict';
import { chmodSync, chownSync, existsSync, mkdtempSync, readFileSync, readlinkSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, describe, it } from 'node:test';
import { eventNamed, runHelperAs, startHelper, type HelperResult } from '../lib/helper-client.ts';
import { requires, requiresTestHost, type TestHost } from '../lib/env.ts';
import { DIST_HELPER, staged } from '../lib/stage.ts';
import { decodeMessage, encodeConfig, type ConfigEntry, type HelperMessage } from '../../src/engine/sys/helper.ts';

const helper = staged(DIST_HELPER);
const NOT_BUILT = 'dist/native/tsc-helper is not built (npm run build)';
const scratch = mkdtempSync('/tmp/tsc-it-userns-exec-');
chmodSync(scratch, 0o755);
after(() => rmSync(scratch, { recursive: true, force: true }));

/** The rootless map the engine would ask for: own id to 0, the subordinate range from 1. */
function execConfig(host: TestHost, uid: number, argv: readonly string[], extra: readonly ConfigEntry[] = []): ConfigEntry[] {
  const config: ConfigEntry[] = [];
  for (const key of ['uidmap', 'gidmap'] as const) {
    config.push([key, `0 ${uid} 1`], [key, `1 ${host.subidStart} ${host.subidCount}`]);
  }
  config.push(['newuidmap', '/usr/bin/newuidmap'], ['newgidmap', '/usr/bin/newgidmap'], ['cwd', '/']);
  return [...config, ...argv.map((arg): ConfigEntry => ['arg', arg]), ...extra];
}

function asTestUser(host: TestHost, input?: string) {
  return { uid: host.uid, name: host.user, ...(input === undefined ? {} : { input }) };
}

function names(result: HelperResult): string[] {
  return result.messages.map((m) => (m.type === 'event' ? m.name : m.type));
}

function assertExited(result: HelperResult, how: { status: number } | { signal: number }): void {
  assert.equal(result.status, 0, `helper failed: ${JSON.stringify(result.messages)} ${result.stderr}`);
  assert.deepEqual(names(result), ['idmap', 'started', 'exited', 'done']);
  assert.deepEqual(eventNamed(result, 'exited'), { type: 'event', name: 'exited', ...how });
}

/** Whitespace-normalised /proc/PID/uid_map text, as the idmap event gives it. */
function mapText(raw: string): string {
  return raw.trim().split('\n').map((l) => l.trim().split(/\s+/).join(' ')).join('\n');
}

describe('helper userns-exec as the test user (subordinate ids)', { timeout: 60_000 }, () => {
  it('runs the program as uid 0 with the full map', async (t) => {
    const host = requiresTestHost(t);
    if (!host || !requires(t, helper !== undefined, NOT_BUILT)) return;
    const result = await runHelperAs(helper!, 'userns-exec', execConfig(host, host.uid, ['/usr/bin/id', '-u']), asTestUser(host));
    assertExited(result, { status: 0 });
    assert.equal(result.stdout, '0\n');
    assert.equal(result.stderr, '');
    const idmap = eventNamed(result, 'idmap');
    assert.equal(idmap?.method, 'newuidmap');
    assert.equal(idmap?.uid_map, `0 ${host.uid} 1\n1 ${host.subidStart} ${host.subidCount}`);
    const pid = eventNamed(result, 'started')?.pid;
    assert.ok(Number.isInteger(pid) && (pid as number) > 0, `started pid ${String(pid)}`);
  });

  it('shows the program the whole map', async (t) => {
    const host = requiresTestHost(t);
    if (!host || !requires(t, helper !== undefined, NOT_BUILT)) return;
    const argv = ['/bin/sh', '-c', 'cat /proc/self/uid_map; echo; cat /proc/self/gid_map'];
    const result = await runHelperAs(helper!, 'userns-exec', execConfig(host, host.uid, argv), asTestUser(host));
    assertExited(result, { status: 0 });
    const [uidMap, gidMap] = result.stdout.split('\n\n');
    const want = `0 ${host.uid} 1\n1 ${host.subidStart} ${host.subidCount}`;
    assert.equal(mapText(uidMap!), want);
    assert.equal(mapText(gidMap!), want);
  });

  it('creates files owned by subordinate ids', async (t) => {
    const host = requiresTestHost(t);
    if (!host || !requires(t, helper !== undefined, NOT_BUILT)) return;
    const dir = mkdtempSync(join(scratch, 'chown-'));
    chownSync(dir, host.uid, host.uid);
    const argv = ['/bin/sh', '-c', 'echo x > f && /bin/chown 1000:1000 f && /bin/ls -ln f'];
    const config = execConfig(host, host.uid, argv).map((e): ConfigEntry => (e[0] === 'cwd' ? ['cwd', dir] : e));
    const result = await runHelperAs(helper!, 'userns-exec', config, asTestUser(host));
    assertExited(result, { status: 0 });
    assert.match(result.stdout, / 1000 1000 /, 'inside, the file belongs to 1000:1000');
    const st = statSync(join(dir, 'f'));
    assert.equal(st.uid, host.subidStart + 999);
    assert.equal(st.gid, host.subidStart + 999);
  });

  it('reports the exit status and the killing signal', async (t) => {
    const host = requiresTestHost(t);
    if (!host || !requires(t, helper !== undefined, NOT_BUILT)) return;
    const exit3 = await runHelperAs(helper!, 'userns-exec', execConfig(host, host.uid, ['/bin/sh', '-c', 'exit 3']), asTestUser(host));
    assertExited(exit3, { status: 3 });
    const killed = await runHelperAs(helper!, 'userns-exec', execConfig(host, host.uid, ['/bin/sh', '-c', 'kill -9 $$']), asTestUser(host));
    assertExited(killed, { signal: 9 });
  });

  it('reports a program it cannot execute as an execve error', async (t) => {
    const host = requiresTestHost(t);
    if (!host || !requires(t, helper !== undefined, NOT_BUILT)) return;
    const result = await runHelperAs(helper!, 'userns-exec', execConfig(host, host.uid, ['/nonexistent/prog']), asTestUser(host));
    assert.equal(result.status, 1);
    assert.deepEqual(names(result), ['idmap', 'error']);
    const error = result.messages.at(-1) as Record<string, unknown>;
    assert.equal(error.op, 'execve');
    assert.equal(error.path, '/nonexistent/prog');
    assert.equal(error.errno, 2);
    assert.equal(error.errname, 'ENOENT');
    assert.match(String(error.message), /no such file/i);
  });

  it('passes stdio but not the message socket or any other descriptor', async (t) => {
    const host = requiresTestHost(t);
    if (!host || !requires(t, helper !== undefined, NOT_BUILT)) return;
    // $$ is the shell itself: ls lists the shell's descriptors, not its own
    const fds = await runHelperAs(helper!, 'userns-exec', execConfig(host, host.uid, ['/bin/sh', '-c', 'ls /proc/$$/fd']), asTestUser(host));
    assertExited(fds, { status: 0 });
    assert.equal(fds.stdout, '0\n1\n2\n');
    const cat = await runHelperAs(helper!, 'userns-exec', execConfig(host, host.uid, ['/bin/cat']), asTestUser(host, 'hello'));
    assertExited(cat, { status: 0 });
    assert.equal(cat.stdout, 'hello');
  });

  it('gives the program exactly the configured environment', async (t) => {
    const host = requiresTestHost(t);
    if (!host || !requires(t, helper !== undefined, NOT_BUILT)) return;
    const env: ConfigEntry[] = [['env', 'FOO=bar baz'], ['env', 'EMPTY='], ['env', 'PATH=/nowhere']];
    const result = await runHelperAs(helper!, 'userns-exec', execConfig(host, host.uid, ['/usr/bin/env'], env), asTestUser(host));
    assertExited(result, { status: 0 });
    assert.equal(result.stdout, 'FOO=bar baz\nEMPTY=\nPATH=/nowhere\n');
    const none = await runHelperAs(helper!, 'userns-exec', execConfig(host, host.uid, ['/usr/bin/env']), asTestUser(host));
    assertExited(none, { status: 0 });
    assert.equal(none.stdout, '', 'the helper\'s own environment is not passed on');
  });

  it('unshares a mount namespace only with mountns 1', async (t) => {
    const host = requiresTestHost(t);
    if (!host || !requires(t, helper !== undefined, NOT_BUILT)) return;
    // the helper itself stays in the namespaces of its caller: ours
    const ours = { mnt: readlinkSync('/proc/self/ns/mnt'), user: readlinkSync('/proc/self/ns/user') };
    const argv = ['/bin/sh', '-c', 'readlink /proc/self/ns/mnt /proc/self/ns/user'];
    for (const mountns of ['0', '1']) {
      const result = await runHelperAs(helper!, 'userns-exec', execConfig(host, host.uid, argv, [['env', 'PATH=/usr/bin:/bin'], ['mountns', mountns]]), asTestUser(host));
      assertExited(result, { status: 0 });
      const [mnt, user] = result.stdout.trim().split('\n');
      assert.notEqual(user, ours.user);
      if (mountns === '1') assert.notEqual(mnt, ours.mnt);
      else assert.equal(mnt, ours.mnt);
    }
  });

  it('forwards SIGTERM to the program and reports it', async (t) => {
    const host = requiresTestHost(t);
    if (!host || !requires(t, helper !== undefined, NOT_BUILT)) return;
    const run = startProgram(execConfig(host, host.uid, ['/bin/sleep', '30']), host);
    const started = await run.until('started');
    assert.ok(started, JSON.stringify(run.messages));
    run.child.kill('SIGTERM');
    const { status } = await run.closed;
    assert.equal(status, 0, JSON.stringify(run.messages));
    assert.deepEqual(run.messages.find((m) => m.type === 'event' && m.name === 'exited'), { type: 'event', name: 'exited', signal: 15 });
    assert.deepEqual(run.messages.at(-1), { type: 'done' });
  });

  it('takes the program down when the helper is killed', async (t) => {
    const host = requiresTestHost(t);
    if (!host || !requires(t, helper !== undefined, NOT_BUILT)) return;
    const run = startProgram(execConfig(host, host.uid, ['/bin/sleep', '30']), host);
    const started = await run.until('started');
    const pid = started?.pid as number;
    assert.ok(alive(pid), JSON.stringify(run.messages));
    run.child.kill('SIGKILL');
    await run.closed;
    for (let i = 0; i < 100 && alive(pid); i++) await sleep(20);
    assert.equal(alive(pid), false, `program ${pid} outlived the helper`);
  });
});

describe('helper userns-exec as a user without subordinate ids', { timeout: 60_000 }, () => {
  it('falls back to the single-id map and still runs the program', async (t) => {
    const host = requiresTestHost(t);
    if (!host || !requires(t, helper !== undefined, NOT_BUILT)) return;
    // it asks for the test user's range, which newuidmap must refuse to this user
    const config = execConfig(host, host.nosubUid, ['/usr/bin/id', '-u']);
    const result = await runHelperAs(helper!, 'userns-exec', config, { uid: host.nosubUid, name: host.nosubUser });
    assert.equal(result.status, 0, JSON.stringify(result.messages));
    assert.deepEqual(names(result), ['idmap-fallback', 'idmap', 'started', 'exited', 'done']);
    assert.equal(eventNamed(result, 'idmap-fallback')?.tool, 'newuidmap');
    const idmap = eventNamed(result, 'idmap');
    assert.equal(idmap?.method, 'single');
    assert.equal(idmap?.uid_map, `0 ${host.nosubUid} 1`);
    assert.equal(result.stdout, '0\n');
    assert.deepEqual(eventNamed(result, 'exited'), { type: 'event', name: 'exited', status: 0 });
  });
});

describe('helper userns-exec as root', { timeout: 60_000 }, () => {
  it('writes the configured identity map itself, so files keep their real owners', async (t) => {
    const host = requiresTestHost(t);
    if (!host || !requires(t, helper !== undefined, NOT_BUILT)) return;
    const file = join(scratch, 'root-owned');
    const config: ConfigEntry[] = [
      ['uidmap', '0 0 4294967295'], ['gidmap', '0 0 4294967295'], ['cwd', '/'],
      ['arg', '/bin/sh'], ['arg', '-c'], ['arg', `cat /proc/self/uid_map; touch ${file}; chown 33:34 ${file}`],
    ];
    const result = await runHelperAs(helper!, 'userns-exec', config, { uid: 0, name: 'root' });
    assert.equal(result.status, 0, JSON.stringify(result.messages));
    const idmap = eventNamed(result, 'idmap');
    assert.equal(idmap?.method, 'direct');
    assert.equal(idmap?.uid_map, '0 0 4294967295');
    assert.match(result.stdout, /^\s*0\s+0\s+4294967295\n$/);
    assert.equal(statSync(file).uid, 33);
    assert.equal(statSync(file).gid, 34);
  });
});

describe('helper userns-exec configuration', () => {
  it('requires cwd and a program', async (t) => {
    const host = requiresTestHost(t);
    if (!host || !requires(t, helper !== undefined, NOT_BUILT)) return;
    const result = await runHelperAs(helper!, 'userns-exec', [['cwd', '/']], asTestUser(host));
    assert.equal(result.status, 1);
    const error = result.messages[0] as Record<string, unknown>;
    assert.equal(error.type, 'error');
    assert.equal(error.op, 'config');
    assert.match(String(error.message), /arg/);
  });
});

/** A helper run observed while it goes on, for the tests that signal it. */
function startProgram(config: readonly ConfigEntry[], host: TestHost) {
  const { child, channel } = startHelper(helper!, 'userns-exec', asTestUser(host));
  const messages: HelperMessage[] = [];
  const waiting: Array<() => void> = [];
  createInterface({ input: channel })
    .on('line', (line) => {
      messages.push(decodeMessage(line));
      waiting.splice(0).forEach((wake) => wake());
    })
    .on('close', () => waiting.splice(0).forEach((wake) => wake()))
    .on('error', () => undefined);
  channel.on('error', () => undefined);
  channel.end(encodeConfig(config));
  const closed = new Promise<{ status: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on('close', (status, signal) => resolve({ status, signal })),
  );
  let ended = false;
  void closed.then(() => {
    ended = true;
    waiting.splice(0).forEach((wake) => wake());
  });
  /** The first event named `name`, or undefined once the helper has ended without it. */
  async function until(name: string): Promise<Record<string, unknown> | undefined> {
    for (;;) {
      const found = messages.find((m) => m.type === 'event' && m.name === name);
      if (found || ended) return found as Record<string, unknown> | undefined;
      await new Promise<void>((wake) => waiting.push(wake));
    }
  }
  return { child, messages, closed, until };
}

/** A process that exists and is not a zombie. */
function alive(pid: number): boolean {
  if (!existsSync(`/proc/${pid}`)) return false;
  try {
    return !/^\d+ \(.*\) Z /.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}
