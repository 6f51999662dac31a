/**
 * tsc has no daemon, so concurrent CLIs and killed CLIs are normal: runs racing a
 * removal must leave `tsc ps -a` listing exactly the containers whose directories exist
 * and whose programs run, and a `tsc run` killed (SIGKILL) at any moment must leave only
 * what `tsc ps -a` shows or `tsc system check` reports and repairs, with no mount and no
 * process of a removed container left on the host. Every container sleeps for a number
 * of seconds unique to it, so its processes can be found on the host (other test runs
 * may use the same user). The test file has a store of its own.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it, type TestContext } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { requires, requiresTestHost, type TestHost } from '../lib/env.ts';
import { busyboxLayout, requiresRegistry, skopeoPush, uniqueRepository } from '../lib/registry-fixtures.ts';
import { DIST_TSC, staged } from '../lib/stage.ts';
import { asUserArgv, runAs, userEnv, type Completed } from '../lib/users.ts';

const tsc = staged(DIST_TSC);
const scratch = mkdtempSync('/tmp/tsc-e2e-concurrency-');
chmodSync(scratch, 0o755);
const store = join(scratch, 'store');
let owner: TestHost | undefined;

after(async () => {
  if (owner) {
    const ids = (await tscAs(owner)('ps', '-aq', '--no-trunc')).stdout.split('\n').filter(Boolean);
    if (ids.length > 0) await tscAs(owner)('rm', '-f', ...ids);
  }
  rmSync(scratch, { recursive: true, force: true });
});

function envOf(host: TestHost): Record<string, string> {
  return { ...userEnv(host.uid, host.user), TSC_STORAGE_ROOT: store };
}

function tscAs(host: TestHost) {
  return (...args: string[]): Promise<Completed> => runAs(tsc!, args, { uid: host.uid, cgroup: host.cgroup, env: envOf(host) });
}

let image: Promise<string> | undefined;

async function ready(t: TestContext): Promise<{ host: TestHost; image: string } | undefined> {
  const host = requiresTestHost(t);
  if (!host || !requires(t, tsc !== undefined, 'dist/tsc is not built')) return undefined;
  const registry = await requiresRegistry(t);
  if (!registry) return undefined;
  owner = host;
  image ??= (async () => {
    chownSync(scratch, host.uid, host.uid);
    const repo = uniqueRepository('concurrency');
    skopeoPush(busyboxLayout(t), registry, repo);
    // pulled once up front, so the races are about containers, not the image
    const pulled = await tscAs(host)('pull', `${registry}/${repo}:latest`);
    assert.equal(pulled.status, 0, pulled.stderr);
    return `${registry}/${repo}:latest`;
  })();
  return { host, image: await image };
}

/** Host pids of processes whose command line is `busybox sleep SECONDS`. */
function sleepers(seconds: number): number[] {
  const found: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      if (readFileSync(`/proc/${name}/cmdline`, 'utf8') === `/bin/busybox\0sleep\0${seconds}\0`) found.push(Number(name));
    } catch {
      // gone meanwhile
    }
  }
  return found;
}

/** Host mounts that name the container (there should never be any: they live in its own namespace). */
function hostMountsOf(id: string): string[] {
  return readFileSync('/proc/self/mountinfo', 'utf8').split('\n').filter((l) => l.includes(id));
}

interface Listed {
  id: string;
  name: string;
  state: string;
}

async function listAll(host: TestHost): Promise<Listed[]> {
  const r = await tscAs(host)('ps', '-a', '--no-trunc', '--format', '{{.ID}} {{.Names}} {{.State}}');
  assert.equal(r.status, 0, r.stderr);
  return r.stdout.split('\n').filter(Boolean).map((l) => {
    const [id, name, state] = l.split(' ') as [string, string, string];
    return { id, name, state };
  });
}

function containerDirs(): string[] {
  return existsSync(join(store, 'containers')) ? readdirSync(join(store, 'containers')).sort() : [];
}

async function check(host: TestHost, ...flags: string[]): Promise<string> {
  const r = await tscAs(host)('system', 'check', '--grace', '0', ...flags);
  assert.equal(r.status, 0, r.stderr);
  return r.stdout;
}

/**
 * The invariants: ps lists exactly the container directories; a running container's
 * program runs on the host and an exited one's does not; system check is clean.
 */
async function assertConsistent(host: TestHost, seconds: Map<string, number>): Promise<Listed[]> {
  const listed = await listAll(host);
  assert.deepEqual(listed.map((c) => c.id).sort(), containerDirs(), 'ps -a and the container directories disagree');
  for (const c of listed) {
    const s = seconds.get(c.name);
    if (s === undefined) continue;
    assert.equal(sleepers(s).length, c.state === 'running' ? 1 : 0, `${c.name} is ${c.state} but its program ${c.state === 'running' ? 'does not run' : 'runs'}`);
  }
  assert.match(await check(host), /\nno problems found\n$/);
  return listed;
}

/** What must hold once a container is gone: no process and no host mount of it. */
async function assertGone(id: string, seconds: number): Promise<void> {
  // a program killed with its container may take a moment to be reaped
  for (let i = 0; i < 50 && sleepers(seconds).length > 0; i++) await sleep(100);
  assert.deepEqual(sleepers(seconds), [], `the program of removed container ${id} still runs`);
  assert.deepEqual(hostMountsOf(id), []);
}

describe('tsc containers under concurrency (rootless)', () => {
  it('leaves exactly the survivors after runs racing removals', async (t) => {
    const ready_ = await ready(t);
    if (!ready_) return;
    const { host, image: img } = ready_;
    const run = tscAs(host);
    const seconds = new Map<string, number>();
    const base = 70000 + Math.floor(Math.random() * 10000) * 10;
    const runD = (name: string) => {
      seconds.set(name, base + seconds.size);
      return run('run', '-d', '--name', name, img, 'busybox', 'sleep', String(seconds.get(name)));
    };
    for (let round = 0; round < 5; round++) {
      const [a, b, c] = [`a${round}`, `b${round}`, `c${round}`];
      let results: Completed[];
      if (round % 3 === 0) {
        // two runs and a removal of one of them, all at once
        results = await Promise.all([runD(a), runD(b), sleep(round * 40).then(() => run('rm', '-f', a))]);
      } else if (round % 3 === 1) {
        // two removals of the same running container while another starts
        assert.equal((await runD(a)).status, 0);
        results = await Promise.all([run('rm', '-f', a), run('rm', '-f', a), runD(b)]);
        assert.equal(results.filter((r) => r.status === 0).length >= 2, true, results.map((r) => r.stderr).join(''));
      } else {
        // removals of both while a third starts
        assert.equal((await runD(a)).status, 0);
        assert.equal((await runD(b)).status, 0);
        results = await Promise.all([run('rm', '-f', a), run('rm', '-f', b), runD(c)]);
        assert.deepEqual(results.map((r) => r.status), [0, 0, 0], results.map((r) => r.stderr).join(''));
      }
      // every failure is one of the expected races, said clearly
      for (const r of results) {
        if (r.status !== 0) assert.match(r.stderr, /no such container|is being (created|removed)|still being created|cannot start container/, r.stderr);
      }
      const listed = await assertConsistent(host, seconds);
      t.diagnostic(`round ${round}: exit ${results.map((r) => r.status).join(',')}; left ${listed.map((l) => l.name).join(' ') || 'nothing'}`);
      const names = new Set(listed.map((l) => l.name));
      // whatever is listed runs; whatever was removed is gone
      for (const l of listed) assert.equal(l.state, 'running', `${l.name} is ${l.state}`);
      for (const [name, s] of seconds) {
        if (!names.has(name)) await assertGone(name, s);
      }
      if (round % 3 !== 0) assert.equal(names.has(a), false);
      if (round % 3 === 2) assert.equal(names.has(b), false);
    }
    const ids = (await listAll(host)).map((l) => l.id);
    if (ids.length > 0) assert.equal((await run('rm', '-f', ...ids)).status, 0);
    assert.deepEqual(await listAll(host), []);
    assert.deepEqual(containerDirs(), []);
    for (const [name, s] of seconds) await assertGone(name, s);
  });

  it('leaves nothing ps and system check cannot explain when tsc run is killed', async (t) => {
    const ready_ = await ready(t);
    if (!ready_) return;
    const { host, image: img } = ready_;
    const run = tscAs(host);
    const base = 80000 + Math.floor(Math.random() * 10000) * 10;
    // kill points spread over how long a run takes here: before the row, while creating, while starting, after
    const t0 = Date.now();
    const probe = await run('run', '--rm', img, 'busybox', 'true');
    assert.equal(probe.status, 0, probe.stderr);
    const full = Date.now() - t0;
    const delays = [0, 0.3, 0.5, 0.6, 0.7, 0.75, 0.8, 0.85, 0.9, 0.95, 1, 1.3].map((f) => Math.round(f * full));
    for (const [i, delay] of delays.entries()) {
      const name = `k${i}`;
      const seconds = base + i;
      const child = spawn('/bin/sh', asUserArgv(tsc!, ['run', '--name', name, img, 'busybox', 'sleep', String(seconds)], { uid: host.uid, cgroup: host.cgroup }), {
        env: envOf(host), cwd: '/', stdio: 'ignore',
      });
      const exited = new Promise((resolve) => child.on('exit', resolve));
      await sleep(delay);
      child.kill('SIGKILL');
      await exited;
      await sleep(300); // a helper the CLI started finishes or dies with it

      const listed = await listAll(host);
      const mine = listed.find((l) => l.name === name);
      const dirs = containerDirs();
      const report = await check(host);
      // anything without a row is reported; a row is either usable or reported
      const problems = report.split('\n').filter((l) => l.startsWith('found: '));
      for (const dir of dirs) {
        if (listed.some((l) => l.id === dir)) continue;
        assert.ok(problems.some((p) => p.includes(dir)), `delay ${delay}: directory ${dir} is neither listed nor reported:\n${report}`);
      }
      t.diagnostic(`killed after ${delay} ms: ${mine ? `${mine.state}` : 'no container'}, ${dirs.length} dirs, problems: ${problems.join('; ') || 'none'}`);
      for (const p of problems) assert.match(p, /^found: (unfinished-create|orphan-container-dir|stale-scratch|monitor-gone) /, `delay ${delay}: ${p}`);
      if (mine && mine.state === 'running') assert.equal(sleepers(seconds).length, 1, `delay ${delay}: listed running but its program does not run`);
      if (!mine || mine.state !== 'running') assert.deepEqual(sleepers(seconds), [], `delay ${delay}: the program runs but ps says ${mine?.state ?? 'nothing'}`);

      // repair fixes what was reported; a second check is clean
      if (problems.length > 0) {
        const repaired = await check(host, '--repair');
        const lines = repaired.split('\n').filter((l) => /^(found|repaired): /.test(l));
        assert.deepEqual(lines, problems.map((p) => p.replace(/^found: /, 'repaired: ')), repaired);
      }
      assert.match(await check(host), /\nno problems found\n$/, `delay ${delay}: after the repair`);
      const remaining = await listAll(host);
      assert.deepEqual(remaining.map((l) => l.id).sort(), containerDirs(), `delay ${delay}: after the repair`);
      // what is left is an ordinary container: created, running, or exited (its monitor lost), and removable
      for (const l of remaining) assert.match(l.state, /^(created|running|exited)$/);
      const ids = remaining.map((l) => l.id);
      if (ids.length > 0) assert.equal((await run('rm', '-f', ...ids)).status, 0);
      assert.match(await check(host), /\nno problems found\n$/, `delay ${delay}`);
      assert.deepEqual(containerDirs(), []);
      for (const id of new Set([...dirs, ...ids])) await assertGone(id, seconds);
      await assertGone(name, seconds);
    }

    // the same with certainty: a monitor killed under a running container
    const seconds = base + delays.length;
    const started = await run('run', '-d', img, 'busybox', 'sleep', String(seconds));
    assert.equal(started.status, 0, started.stderr);
    const id = started.stdout.trim();
    const state = JSON.parse(readFileSync(join(store, 'containers', id, 'state.json'), 'utf8')) as { monitorPid: number };
    process.kill(state.monitorPid, 'SIGKILL');
    await assertGone(id, seconds); // its program dies with it
    assert.match(await check(host), new RegExp(`\\nfound: monitor-gone ${id}: `));
    assert.match(await check(host, '--repair'), new RegExp(`\\nrepaired: monitor-gone ${id}: `));
    assert.match(await check(host), /\nno problems found\n$/);
    assert.deepEqual((await listAll(host)).map((l) => l.state), ['exited']);
    assert.match((await run('ps', '-a', '--format', '{{.Status}}')).stdout, /^Exited \(255\) /);
    assert.equal((await run('rm', id)).status, 0);
  });
});
