/**
 * On a real terminal (tmux), `tsc pull` shows one progress line per layer, redrawn in
 * place; the final screen shows every layer ready.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, it } from 'node:test';
import { requires, requiresTestHost } from '../lib/env.ts';
import { requiresRegistry, richLayout, skopeoPush, uniqueRepository } from '../lib/registry-fixtures.ts';
import { DIST_TSC, staged } from '../lib/stage.ts';
import { asUserArgv, runAs, userEnv } from '../lib/users.ts';

const tsc = staged(DIST_TSC);
const quote = (s: string) => `'${s.replaceAll("'", "'\\''")}'`;

describe('pull progress on a terminal', () => {
  it('draws a line per layer and ends with every layer ready', async (t) => {
    const host = requiresTestHost(t);
    if (!host || !requires(t, tsc !== undefined, 'dist/tsc is not built')) return;
    if (!requires(t, spawnSync('tmux', ['-V']).status === 0, 'tmux is not installed')) return;
    const registry = await requiresRegistry(t);
    if (!registry) return;
    const layout = await richLayout(t);
    const repo = uniqueRepository('tty');
    skopeoPush(layout, registry, repo);
    const name = `${registry}/${repo}:rich`;
    const as = { uid: host.uid, cgroup: host.cgroup, env: userEnv(host.uid, host.user) };
    const session = `tsc-e2e-${process.pid}`;
    const env = Object.entries({ ...as.env, TERM: 'xterm-256color' }).map(([k, v]) => `${k}=${quote(v)}`).join(' ');
    const command = `env -i ${env} /bin/sh ${asUserArgv(tsc!, ['pull', name], as).map(quote).join(' ')}; echo EXIT=$?; sleep 30`;
    execFileSync('tmux', ['new-session', '-d', '-s', session, '-x', '120', '-y', '30', command]);
    t.after(() => spawnSync('tmux', ['kill-session', '-t', session]));
    let screen = '';
    for (let i = 0; i < 100 && !screen.includes('EXIT='); i++) {
      await sleep(100);
      screen = execFileSync('tmux', ['capture-pane', '-p', '-t', session]).toString();
    }
    assert.match(screen, /EXIT=0/, screen);
    assert.match(screen, new RegExp(`Pulling ${name.replaceAll('.', '\\.')} \\(sha256:[0-9a-f]{12}, 2 layers\\)`));
    for (const layer of layout.images[0]!.layers) assert.match(screen, new RegExp(`^${layer.digest.slice(7, 19)}: ready$`, 'm'));
    assert.match(screen, /2 of 2 layers downloaded/);
    await runAs(tsc!, ['rmi', name], as);
  });
});
