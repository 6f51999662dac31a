/**
 * The helper's `run` with `fuse-overlayfs` against the real kernel, as the test user: a
 * busybox lower directory mounted by the fuse-overlayfs daemon (docs/helper-protocol.md,
 * "The fuse-overlayfs daemon"), the daemon out of the container's sight, gone afterwards;
 * its failures and the configuration rules.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { chmodSync, chownSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it, type TestContext } from 'node:test';
import { eventNamed, runHelperAs, type HelperResult } from '../lib/helper-client.ts';
import { requires, requiresTestHost, type TestHost } from '../lib/env.ts';
import { DIST_HELPER, staged } from '../lib/stage.ts';
import type { ConfigEntry } from '../../src/engine/sys/helper.ts';

const helper = staged(DIST_HELPER);
const BUSYBOX = '/usr/bin/busybox';
const FUSE = ['/usr/bin/fuse-overlayfs', '/usr/local/bin/fuse-overlayfs'].find((p) => existsSync(p));
const scratch = mkdtempSync('/tmp/tsc-it-fuse-');
chmodSync(scratch, 0o755);
after(() => rmSync(scratch, { recursive: true, force: true }));
let counter = 0;

/** lower (busybox), upper, work and the empty mount point, all the test user's. */
function layout(host: TestHost): { lower: string; upper: string; work: string; rootfs: string } {
  const base = join(scratch, `c${++counter}`);
  const lower = join(base, 'lower');
  for (const dir of ['bin', 'etc', 'proc', 'dev', 'tmp']) mkdirSync(join(lower, dir), { recursive: true });
  copyFileSync(BUSYBOX, join(lower, 'bin', 'busybox'));
  chmodSync(join(lower, 'bin', 'busybox'), 0o755);
  for (const applet of ['sh', 'cat', 'ps', 'grep', 'kill', 'tr', 'echo']) symlinkSync('busybox', join(lower, 'bin', applet));
  writeFileSync(join(lower, 'etc', 'marker'), 'lower\n');
  const dirs = { lower, upper: join(base, 'upper'), work: join(base, 'work'), rootfs: join(base, 'rootfs') };
  for (const dir of [dirs.upper, dirs.work, dirs.rootfs]) mkdirSync(dir);
  chownSync(scratch, host.uid, host.uid);
  execFileSync('chown', ['-R', '-h', `${host.uid}:${host.uid}`, base]);
  return dirs;
}

function config(host: TestHost, dirs: ReturnType<typeof layout>, program: string, argv: readonly string[]): ConfigEntry[] {
  const entries: ConfigEntry[] = [];
  for (const key of ['uidmap', 'gidmap'] as const) entries.push([key, `0 ${host.uid} 1`], [key, `1 ${host.subidStart} ${host.subidCount}`]);
  entries.push(
    ['newuidmap', '/usr/bin/newuidmap'], ['newgidmap', '/usr/bin/newgidmap'],
    ['rootfs', dirs.rootfs], ['lowerdir', dirs.lower], ['upperdir', dirs.upper], ['workdir', dirs.work], ['fuse-overlayfs', program],
    ['mount', '/proc proc proc nosuid,nodev,noexec'], ['env', 'PATH=/bin'],
  );
  return [...entries, ...argv.map((a): ConfigEntry => ['arg', a])];
}

function ready(t: TestContext): TestHost | undefined {
  const host = requiresTestHost(t);
  if (!host || !requires(t, helper !== undefined, 'dist/native/tsc-helper is not built') || !requires(t, existsSync(BUSYBOX), `${BUSYBOX} is missing`)) return undefined;
  if (!requires(t, FUSE !== undefined && existsSync('/dev/fuse'), 'fuse-overlayfs or /dev/fuse is missing')) return undefined;
  return host;
}

/** Host processes whose command line mentions text. */
function processesWith(text: string): number[] {
  return readdirSync('/proc').filter((e) => /^\d+$/.test(e)).filter((pid) => {
    try {
      return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(text);
    } catch {
      return false;
    }
  }).map(Number);
}

const run = (host: TestHost, entries: ConfigEntry[]): Promise<HelperResult> => runHelperAs(helper!, 'run', entries, { uid: host.uid, name: host.user });

describe('helper run with fuse-overlayfs (test user)', { timeout: 60_000 }, () => {
  it('mounts the layers with the daemon, which the container cannot see, and stops it at the end', async (t) => {
    const host = ready(t);
    if (!host) return;
    const dirs = layout(host);
    const script = "cat /etc/marker; echo w > /tmp/written; grep ' / / ' /proc/self/mountinfo | grep -c 'fuse[.]fuse'; for p in /proc/[0-9]*; do tr '\\0' ' ' < $p/cmdline; echo; done";
    const result = await run(host, config(host, dirs, FUSE!, ['/bin/sh', '-c', script]));
    assert.equal(result.status, 0, `${JSON.stringify(result.messages)} ${result.stderr}`);
    assert.deepEqual(eventNamed(result, 'exited'), { type: 'event', name: 'exited', status: 0 });
    const [marker, fuseRoot, ...procs] = result.stdout.split('\n');
    assert.equal(marker, 'lower', 'the lower layer shows');
    assert.equal(fuseRoot, '1', 'the root is the fuse-overlayfs mount');
    assert.ok(procs.some((line) => line.includes('/bin/sh')), 'the container sees itself');
    assert.ok(!procs.some((line) => line.includes('fuse-overlayfs')), 'but not the daemon');
    assert.equal(readFileSync(join(dirs.upper, 'tmp', 'written'), 'utf8'), 'w\n', 'writes go to the upper directory');
    assert.deepEqual(processesWith(dirs.upper), [], 'the daemon is gone with the container');
  });

  it('reports a daemon that exits before it mounts, with its output', async (t) => {
    const host = ready(t);
    if (!host) return;
    const dirs = layout(host);
    const fake = join(scratch, 'fake-fuse');
    writeFileSync(fake, '#!/bin/sh\necho "fuse: device not found" >&2\nexit 3\n', { mode: 0o755 });
    const result = await run(host, config(host, dirs, fake, ['/bin/cat', '/etc/marker']));
    assert.equal(result.status, 1);
    const error = result.messages.find((m) => m.type === 'error') as Record<string, unknown> | undefined;
    assert.equal(error?.op, 'fuse-overlayfs');
    assert.equal(error?.path, fake);
    assert.match(String(error?.message), /exited with status 3 before it mounted .*: fuse: device not found/);
    assert.equal(result.stdout, '', 'the program never ran on the empty directory');
  });

  it('refuses a relative program or one without the overlay directories', async (t) => {
    const host = ready(t);
    if (!host) return;
    const dirs = layout(host);
    const relative = await run(host, config(host, dirs, 'fuse-overlayfs', ['/bin/true']));
    assert.equal(relative.status, 1);
    assert.match(JSON.stringify(relative.messages), /fuse-overlayfs needs an absolute path, and lowerdir, upperdir and workdir/);
    const noLower = config(host, dirs, FUSE!, ['/bin/true']).filter(([k]) => !['lowerdir', 'upperdir', 'workdir'].includes(k));
    const bare = await run(host, noLower);
    assert.equal(bare.status, 1);
    assert.match(JSON.stringify(bare.messages), /fuse-overlayfs needs an absolute path/);
  });
});
