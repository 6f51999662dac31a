/**
 * Storage drivers as the rootless test user, with the built binary: a container made with
 * TSC_STORAGE_DRIVER=fuse-overlayfs and =vfs each sees the image, keeps what it writes,
 * takes `tsc exec`, shows its driver in inspect, and leaves nothing behind after
 * `rm -f`. For fuse-overlayfs: the daemon serves the container's mount namespace but is
 * out of its pid namespace, invisible and unsignallable from inside.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, describe, it, type TestContext } from 'node:test';
import { requires, requiresTestHost, type TestHost } from '../lib/env.ts';
import { requiresRegistry, uniqueRepository } from '../lib/registry-fixtures.ts';
import { DIST_TSC, ROOT, staged } from '../lib/stage.ts';
import { runAs, userEnv } from '../lib/users.ts';

const tsc = staged(DIST_TSC);
const scratch = mkdtempSync('/tmp/tsc-e2e-drv-');
const store = join(scratch, 'store');
after(() => rmSync(scratch, { recursive: true, force: true }));
let image = '';
let ready = false;

async function tscAs(host: TestHost, driver: string, args: string[]) {
  return runAs(tsc!, args, { uid: host.uid, cgroup: host.cgroup, env: { ...userEnv(host.uid, host.user), TSC_STORAGE_ROOT: store, TSC_STORAGE_DRIVER: driver } });
}

async function setup(t: TestContext): Promise<TestHost | undefined> {
  const host = requiresTestHost(t);
  if (!host || !requires(t, tsc !== undefined, 'dist/tsc is not built')) return undefined;
  if (!ready) {
    const registry = await requiresRegistry(t);
    if (!registry) return undefined;
    image = `${registry}/${uniqueRepository('drv')}:latest`;
    execFileSync(process.execPath, [join(ROOT, 'scripts', 'demo-image.ts'), image], { stdio: 'ignore' });
    chownSync(scratch, host.uid, host.uid);
    chmodSync(scratch, 0o755);
    const pulled = await runAs(tsc!, ['pull', '-q', image], { uid: host.uid, cgroup: host.cgroup, env: { ...userEnv(host.uid, host.user), TSC_STORAGE_ROOT: store } });
    assert.equal(pulled.status, 0, pulled.stderr);
    ready = true;
  }
  return host;
}

/** Host processes whose command line mentions `text`. */
function processesWith(text: string): number[] {
  const found: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readFileSync(`/proc/${entry}/cmdline`, 'utf8').includes(text)) found.push(Number(entry));
    } catch {
      // gone meanwhile
    }
  }
  return found.filter((pid) => pid !== process.pid);
}

/** Whether any mount namespace on the host still has a mount under `dir`. */
function mountedAnywhere(dir: string): boolean {
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readFileSync(`/proc/${entry}/mountinfo`, 'utf8').includes(dir)) return true;
    } catch {
      // gone meanwhile
    }
  }
  return false;
}

const ns = (pid: number, kind: string) => readlinkSync(`/proc/${pid}/ns/${kind}`);

interface Inspected {
  Id: string;
  Driver: string;
  State: { Pid: number; Running: boolean };
  GraphDriver: { Name: string; Data: Record<string, string> };
}

for (const driver of ['fuse-overlayfs', 'vfs'] as const) {
  describe(`storage driver ${driver} (rootless)`, { timeout: 120_000 }, () => {
    it('runs the image, keeps writes, takes exec, shows in inspect, leaves nothing after rm -f', async (t) => {
      const host = await setup(t);
      if (!host) return;
      const fuseInstalled = ['/usr/local/bin', '/usr/bin', '/bin'].some((d) => existsSync(join(d, 'fuse-overlayfs')));
      if (driver === 'fuse-overlayfs' && !requires(t, fuseInstalled && existsSync('/dev/fuse'), 'fuse-overlayfs or /dev/fuse is missing')) return;
      const name = `drv-${driver}-${process.pid}`;
      const run = await tscAs(host, driver, ['run', '-d', '--name', name, '--network', 'none', image, 'sh', '-c', 'echo from-pid1 > /pid1-wrote; exec sleep 1000']);
      assert.equal(run.status, 0, run.stderr);
      const id = run.stdout.trim();

      const inspected = await tscAs(host, driver, ['inspect', name]);
      assert.equal(inspected.status, 0, inspected.stderr);
      const info = (JSON.parse(inspected.stdout) as Inspected[])[0]!;
      assert.equal(info.GraphDriver.Name, driver);
      assert.equal(info.Driver, driver);
      assert.ok(info.State.Running);

      const exec = await tscAs(host, driver, ['exec', name, 'sh', '-c', 'echo hello > /written && cat /written && cat /pid1-wrote && test -x /bin/busybox && head -1 /etc/passwd']);
      assert.equal(exec.status, 0, exec.stderr);
      assert.equal(exec.stdout, 'hello\nfrom-pid1\nroot:x:0:0:root:/root:/bin/sh\n');

      // where the writes went: the upper directory (fuse-overlayfs) or the copy itself (vfs)
      const writable = driver === 'vfs' ? info.GraphDriver.Data.Dir! : info.GraphDriver.Data.UpperDir!;
      assert.equal(readFileSync(join(writable, 'written'), 'utf8'), 'hello\n');
      if (driver === 'vfs') {
        assert.ok(existsSync(join(writable, 'bin', 'busybox')), 'the image is copied into the container');
        assert.equal(info.GraphDriver.Data.LowerDir, undefined);
      }

      const mountLine = await tscAs(host, driver, ['exec', name, 'sh', '-c', "grep ' / / ' /proc/self/mountinfo"]);
      assert.match(mountLine.stdout, driver === 'vfs' ? /^(?!.*fuse)/ : / - fuse\.fuse-overlayfs /);

      if (driver === 'fuse-overlayfs') {
        const daemons = processesWith(id).filter((pid) => readFileSync(`/proc/${pid}/comm`, 'utf8').trim() === 'fuse-overlayfs');
        assert.equal(daemons.length, 1, 'one fuse-overlayfs daemon serves the container');
        const daemon = daemons[0]!;
        const pid1 = info.State.Pid;
        assert.equal(ns(daemon, 'user'), ns(pid1, 'user'), 'the daemon is in the container user namespace');
        assert.notEqual(ns(daemon, 'pid'), ns(pid1, 'pid'), 'but not in its pid namespace');
        assert.notEqual(ns(daemon, 'mnt'), ns(pid1, 'mnt'), 'and its mount namespace is its own');
        assert.match(readFileSync(`/proc/${daemon}/status`, 'utf8'), /^NSpid:\s+\d+$/m, 'it has no pid inside the container');

        const seen = await tscAs(host, driver, ['exec', name, 'sh', '-c', 'ps -o pid,args; for p in /proc/[0-9]*; do tr "\\0" " " < $p/cmdline; echo; done']);
        assert.equal(seen.status, 0, seen.stderr);
        assert.doesNotMatch(seen.stdout, /fuse-overlayfs/, 'nothing inside shows the daemon');
        assert.match(seen.stdout, /sleep 1000/, 'while the container itself shows');
        const signal = await tscAs(host, driver, ['exec', name, 'sh', '-c', `kill -0 ${daemon} 2>&1; echo status=$?; kill -9 ${daemon} 2>&1; echo status=$?`]);
        assert.match(signal.stdout, /status=1\n[\s\S]*status=1\n/, 'the daemon cannot be signalled from inside');
        assert.ok(processesWith(id).includes(daemon), 'and is still there');

        // the daemon ends with the container (not only when its directory goes), and a
        // new start gets a new one
        const stop = await tscAs(host, driver, ['stop', '-t', '0', name]);
        assert.equal(stop.status, 0, stop.stderr);
        for (let i = 0; i < 50 && processesWith(id).length > 0; i++) await sleep(100);
        assert.deepEqual(processesWith(id), [], 'the daemon is gone once the container stopped');
        assert.equal(mountedAnywhere(id), false, 'and so is its mount');
        const start = await tscAs(host, driver, ['start', name]);
        assert.equal(start.status, 0, start.stderr);
        const again = await tscAs(host, driver, ['exec', name, 'cat', '/written']);
        assert.equal(again.stdout, 'hello\n', 'the upper directory kept what the last run wrote');
      }

      const rm = await tscAs(host, driver, ['rm', '-f', name]);
      assert.equal(rm.status, 0, rm.stderr);
      for (let i = 0; i < 50 && processesWith(id).length > 0; i++) await sleep(100);
      assert.deepEqual(processesWith(id), [], 'no process of the container is left, the daemon included');
      assert.equal(mountedAnywhere(id), false, 'no mount of the container is left in any namespace');
      assert.ok(!existsSync(join(store, 'containers', id)), 'the container directory is gone');
    });
  });
}

describe('storage driver setting', () => {
  it('an unknown driver fails before anything is created', async (t) => {
    const host = await setup(t);
    if (!host) return;
    const run = await tscAs(host, 'btrfs', ['create', '--network', 'none', image, 'true']);
    assert.equal(run.status, 125, run.stderr);
    assert.match(run.stderr, /unknown storage driver "btrfs" \(TSC_STORAGE_DRIVER\)/);
    assert.equal((await tscAs(host, 'vfs', ['ps', '-a', '-q'])).stdout, '');
  });
});
