/**
 * The native helper's probe against the real kernel, as the real users it serves: the
 * test user with subordinate ids, a user without any, and root.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, chownSync, chmodSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { eventNamed, runHelperAs } from '../lib/helper-client.ts';
import { requires, requiresTestHost, type TestHost } from '../lib/env.ts';
import { DIST_HELPER, staged } from '../lib/stage.ts';
import { userEnv } from '../lib/users.ts';
import type { ConfigEntry } from '../../src/engine/sys/helper.ts';

const helper = staged(DIST_HELPER);
const scratch = mkdtempSync('/tmp/tsc-it-probe-');
chmodSync(scratch, 0o755);
after(() => rmSync(scratch, { recursive: true, force: true }));

/** An empty work directory owned by `uid`, as the engine would make in the runtime dir. */
function workdirFor(uid: number): string {
  const dir = mkdtempSync(join(scratch, `u${uid}-`));
  chownSync(dir, uid, uid);
  return dir;
}

function probeConfig(host: TestHost, uid: number, workdir: string, subids: boolean): ConfigEntry[] {
  const start = host.subidStart;
  const count = host.subidCount;
  const config: ConfigEntry[] = [['userns', '1'], ['workdir', workdir]];
  for (const key of ['uidmap', 'gidmap'] as const) {
    config.push([key, `0 ${uid} 1`], [key, `1 ${start} ${count}`]);
  }
  if (subids) config.push(['newuidmap', '/usr/bin/newuidmap'], ['newgidmap', '/usr/bin/newgidmap']);
  config.push(['fuse-overlayfs', '/usr/bin/fuse-overlayfs']);
  return config;
}

describe('helper probe as the test user (subordinate ids)', () => {
  it('maps the subordinate range with newuidmap and mounts overlay with userxattr', async (t) => {
    const host = requiresTestHost(t);
    if (!host || !requires(t, helper !== undefined, 'dist/native/tsc-helper is not built (npm run build)')) return;
    const workdir = workdirFor(host.uid);
    const result = await runHelperAs(helper!, 'probe', probeConfig(host, host.uid, workdir, true), {
      uid: host.uid, name: host.user, cgroup: host.cgroup,
    });
    assert.equal(result.status, 0, `helper failed: ${JSON.stringify(result.messages)} ${result.stderr}`);
    assert.equal(result.stderr, '', 'the helper writes nothing to stderr');
    const idmap = eventNamed(result, 'idmap');
    assert.equal(idmap?.method, 'newuidmap');
    assert.equal(idmap?.uid_map, `0 ${host.uid} 1\n1 ${host.subidStart} ${host.subidCount}`);
    assert.equal(idmap?.gid_map, `0 ${host.uid} 1\n1 ${host.subidStart} ${host.subidCount}`);
    assert.equal(eventNamed(result, 'idmap-fallback'), undefined);
    const overlay = eventNamed(result, 'overlay');
    assert.equal(overlay?.ok, true, JSON.stringify(overlay));
    assert.equal(overlay?.options, 'userxattr');
    assert.equal(overlay?.whiteout, true);
    assert.equal(eventNamed(result, 'fuse-overlayfs')?.ok, true, JSON.stringify(eventNamed(result, 'fuse-overlayfs')));
    assert.deepEqual(result.messages.at(-1), { type: 'done' });
    // everything the probe made stays inside its work directory, owned by the user
    for (const entry of readdirSync(workdir, { recursive: true, withFileTypes: true })) {
      assert.ok(join(entry.parentPath, entry.name).startsWith(workdir));
    }
    rmSync(workdir, { recursive: true, force: true });
  });
});

describe('helper probe as a user without subordinate ids', () => {
  it('falls back to the single-id map and says why', async (t) => {
    const host = requiresTestHost(t);
    if (!host || !requires(t, helper !== undefined, 'dist/native/tsc-helper is not built')) return;
    const workdir = workdirFor(host.nosubUid);
    // it asks for the test user's range, which newuidmap must refuse to this user
    const result = await runHelperAs(helper!, 'probe', probeConfig(host, host.nosubUid, workdir, true), {
      uid: host.nosubUid, name: host.nosubUser,
    });
    assert.equal(result.status, 0, JSON.stringify(result.messages));
    const fallback = eventNamed(result, 'idmap-fallback');
    assert.equal(fallback?.tool, 'newuidmap');
    assert.notEqual(fallback?.status, 0);
    assert.equal(typeof fallback?.stderr, 'string');
    const idmap = eventNamed(result, 'idmap');
    assert.equal(idmap?.method, 'single');
    assert.equal(idmap?.uid_map, `0 ${host.nosubUid} 1`);
    assert.equal(idmap?.gid_map, `0 ${host.nosubUid} 1`);
    // overlay still works with a single-id map
    assert.equal(eventNamed(result, 'overlay')?.ok, true);
    rmSync(workdir, { recursive: true, force: true });
  });
});

describe('helper probe as root', () => {
  it('mounts overlay in a mount namespace without a user namespace', async (t) => {
    if (!requires(t, process.getuid?.() === 0, 'needs root')) return;
    if (!requires(t, helper !== undefined, 'dist/native/tsc-helper is not built')) return;
    const workdir = mkdtempSync(join(scratch, 'root-'));
    const result = await runHelperAs(helper!, 'probe', [['userns', '0'], ['workdir', workdir]], {
      uid: 0, name: 'root', env: userEnv(0, 'root'),
    });
    assert.equal(result.status, 0, JSON.stringify(result.messages));
    assert.equal(eventNamed(result, 'idmap'), undefined);
    const overlay = eventNamed(result, 'overlay');
    assert.equal(overlay?.ok, true);
    assert.equal(overlay?.options, '');
    // the probe's mounts lived in its own mount namespace: none is left in ours
    const mounts = execFileSync('cat', ['/proc/self/mountinfo']).toString();
    assert.ok(!mounts.includes(workdir), 'no probe mount leaked into the host mount namespace');
    rmSync(workdir, { recursive: true, force: true });
  });
});

describe('helper protocol errors', () => {
  it('rejects an unknown configuration key with a structured error and exit 1', async (t) => {
    const host = requiresTestHost(t);
    if (!host || !requires(t, helper !== undefined, 'dist/native/tsc-helper is not built')) return;
    const result = await runHelperAs(helper!, 'probe', 'userns 1\nbogus-key 1\n', { uid: host.uid, name: host.user });
    assert.equal(result.status, 1);
    const error = result.messages.find((m) => m.type === 'error') as Record<string, unknown> | undefined;
    assert.equal(error?.op, 'config');
    assert.match(String(error?.message), /bogus-key/);
    assert.equal(result.messages.some((m) => m.type === 'done'), false);
  });

  it('rejects an unknown mode with exit 2', async (t) => {
    const host = requiresTestHost(t);
    if (!host || !requires(t, helper !== undefined, 'dist/native/tsc-helper is not built')) return;
    const result = await runHelperAs(helper!, 'frobnicate', '', { uid: host.uid, name: host.user });
    assert.equal(result.status, 2);
    assert.match(result.stderr, /usage|unknown mode/i);
  });

  it('reports a workdir it cannot use as an error, not a crash', async (t) => {
    const host = requiresTestHost(t);
    if (!host || !requires(t, helper !== undefined, 'dist/native/tsc-helper is not built')) return;
    const result = await runHelperAs(helper!, 'probe', probeConfig(host, host.uid, '/nonexistent/dir', true), {
      uid: host.uid, name: host.user,
    });
    const error = result.messages.find((m) => m.type === 'error') as Record<string, unknown> | undefined;
    const overlay = eventNamed(result, 'overlay');
    // either a fatal error record naming the path, or a failed overlay probe naming it
    assert.ok(
      (error && String(error.path ?? error.message).includes('/nonexistent/dir')) ||
        (overlay && overlay.ok === false && String(overlay.message).length > 0),
      JSON.stringify(result.messages),
    );
    assert.equal(result.signal, null);
  });
});
