/**
 * `tsc run --rm` as the rootless test user: output and exit codes as docker's, the
 * user namespace with the subordinate ids, a pid namespace of its own, docker's default
 * capabilities and seccomp, and writes that stay in the container's layer.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { requires, requiresTestHost } from '../lib/env.ts';
import { busyboxLayout, requiresRegistry, skopeoPush, uniqueRepository } from '../lib/registry-fixtures.ts';
import { DIST_TSC, staged } from '../lib/stage.ts';
import { runAs, userEnv } from '../lib/users.ts';

const tsc = staged(DIST_TSC);

describe('tsc run (rootless, foreground)', () => {
  it('runs commands in isolated containers with docker-compatible exit codes', async (t) => {
    const host = requiresTestHost(t);
    if (!host || !requires(t, tsc !== undefined, 'dist/tsc is not built')) return;
    const registry = await requiresRegistry(t);
    if (!registry) return;
    const layout = busyboxLayout(t);
    const repo = uniqueRepository('run');
    skopeoPush(layout, registry, repo);
    const image = `${registry}/${repo}:latest`;
    const as = { uid: host.uid, cgroup: host.cgroup, env: userEnv(host.uid, host.user) };
    const run = (...args: string[]) => runAs(tsc!, ['run', '--rm', ...args], as);
    t.after(() => runAs(tsc!, ['rmi', image], as));

    const hi = await run(image, 'sh', '-c', 'echo hi');
    assert.equal(hi.status, 0, hi.stderr);
    assert.equal(hi.stdout, 'hi\n');
    assert.equal((await run(image, 'sh', '-c', 'exit 3')).status, 3);
    const missing = await run(image, 'nosuchcmd');
    assert.equal(missing.status, 127);
    assert.match(missing.stderr, /Error: cannot start the container's command: nosuchcmd: executable file not found in \$PATH/);

    const inside = await run('-e', 'GREETING=hello', '-h', 'box', image, 'sh', '-c',
      'cat /proc/self/uid_map; echo pid=$$; echo $GREETING; cat /proc/sys/kernel/hostname; grep -E "^(CapEff|NoNewPrivs|Seccomp):" /proc/self/status');
    assert.equal(inside.status, 0, inside.stderr);
    const lines = inside.stdout.trim().split('\n').map((l) => l.trim().replace(/\s+/g, ' '));
    assert.deepEqual(lines, [
      `0 ${host.uid} 1`,
      `1 ${host.subidStart} ${host.subidCount}`,
      'pid=1',
      'hello',
      'box',
      'CapEff: 00000000a80425fb',
      'NoNewPrivs: 0',
      'Seccomp: 2',
    ]);

    // writes go to the container's own layer and go with it
    assert.equal((await run(image, 'sh', '-c', 'echo x > /written && cat /written')).stdout, 'x\n');
    const again = await run(image, 'sh', '-c', 'test -e /written && echo present || echo absent');
    assert.equal(again.stdout, 'absent\n');
    // the host is out of reach
    const root = await run(image, 'sh', '-c', 'ls /');
    assert.doesNotMatch(root.stdout, /\bhome\b|\bvar\b|\busr\b/);

  });
});
