/**
 * dist/tsc is one self-contained executable: it runs with no Node installed (a PATH with
 * no node), from any directory, through a symlink, and ignores NODE_OPTIONS.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, symlinkSync, chmodSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { requires } from '../lib/env.ts';
import { DIST_TSC, ROOT, staged } from '../lib/stage.ts';

const tsc = staged(DIST_TSC);
const dir = mkdtempSync('/tmp/tsc-e2e-bin-');
chmodSync(dir, 0o755);
after(() => rmSync(dir, { recursive: true, force: true }));

/** Runs the binary with an environment that has no Node anywhere on PATH. */
function run(args: string[], env: Record<string, string> = {}, file = tsc!) {
  const r = spawnSync(file, args, { cwd: dir, env: { PATH: '/usr/bin:/bin', HOME: dir, ...env }, encoding: 'utf8' });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

const pkg = JSON.parse(execFileSync('cat', [join(ROOT, 'package.json')]).toString()) as { version: string };

describe('the single executable', () => {
  it('runs where no node exists at all', (t) => {
    if (!requires(t, tsc !== undefined, 'dist/tsc is not built (npm run build)')) return;
    if (!requires(t, process.getuid?.() === 0, 'hiding the system node in a mount namespace needs root')) return;
    // In a private mount namespace, cover every node binary on the system with /dev/null.
    const script = 'for n in /usr/bin/node /usr/local/bin/node /bin/node; do [ -e "$n" ] && mount --bind /dev/null "$n"; done; ' +
      '! command -v node >/dev/null || ! node --version >/dev/null 2>&1 || exit 99; exec "$0" version --format "{{.node}}"';
    const r = spawnSync('unshare', ['--mount', '--propagation', 'private', 'sh', '-c', script, tsc!], {
      cwd: dir, env: { PATH: '/usr/bin:/bin' }, encoding: 'utf8',
    });
    assert.notEqual(r.status, 99, 'a node was still reachable');
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /^v\d+\.\d+\.\d+\n$/);
  });

  it('prints its version from another directory', (t) => {
    if (!requires(t, tsc !== undefined, 'dist/tsc is not built')) return;
    const r = run(['version', '--format', '{{.version}} {{.node}}']);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, new RegExp(`^${pkg.version.replaceAll('.', '\\.')} v\\d+\\.\\d+\\.\\d+\\n$`));
    assert.equal(r.stderr, '');
  });

  it('answers --version and -v like docker', (t) => {
    if (!requires(t, tsc !== undefined, 'dist/tsc is not built')) return;
    for (const flag of ['--version', '-v']) {
      const r = run([flag]);
      assert.equal(r.status, 0);
      assert.match(r.stdout, new RegExp(`^tsc version ${pkg.version.replaceAll('.', '\\.')}, commit \\S+\\n$`));
    }
  });

  it('runs through a symlink', (t) => {
    if (!requires(t, tsc !== undefined, 'dist/tsc is not built')) return;
    const link = join(dir, 'docker-ish');
    symlinkSync(tsc!, link);
    const r = run(['version', '--format', 'json'], {}, link);
    assert.equal(r.status, 0, r.stderr);
    assert.equal((JSON.parse(r.stdout) as { version: string }).version, pkg.version);
  });

  it('ignores NODE_OPTIONS', (t) => {
    if (!requires(t, tsc !== undefined, 'dist/tsc is not built')) return;
    const r = run(['version'], { NODE_OPTIONS: '--require /nonexistent/evil.js' });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /^Version:/);
  });

  it('shows help for the CLI and for a command', (t) => {
    if (!requires(t, tsc !== undefined, 'dist/tsc is not built')) return;
    const top = run(['--help']);
    assert.equal(top.status, 0, top.stderr);
    assert.match(top.stdout, /info\s+Show what this host offers containers/);
    assert.match(top.stdout, /version\s+Show the tsc version/);
    const info = run(['info', '--help']);
    assert.equal(info.status, 0);
    assert.match(info.stdout, /--strict/);
    assert.match(info.stdout, /--format/);
    const alias = run(['system', 'info', '--help']);
    assert.equal(alias.status, 0, alias.stderr);
    assert.match(alias.stdout, /--strict/);
  });

  it('fails with exit 125 and a clear message on an unknown command or flag', (t) => {
    if (!requires(t, tsc !== undefined, 'dist/tsc is not built')) return;
    const cmd = run(['frobnicate']);
    assert.equal(cmd.status, 125);
    assert.match(cmd.stderr, /^Error: .*frobnicate.*not found/m);
    assert.doesNotMatch(cmd.stderr, /\n\s+at /, 'no stack trace');
    const flag = run(['version', '--bogus']);
    assert.equal(flag.status, 125);
    assert.match(flag.stderr, /^Error: nonexistent flag: --bogus\nHint: see 'tsc version --help'\n$/);
    const level = run(['--log-level', 'loud', 'version']);
    assert.equal(level.status, 125);
    assert.match(level.stderr, /^Error: invalid --log-level "loud"\nHint: use one of debug, info, warn, error\n$/);
  });

  it('takes --flag=false for boolean flags, as podman users write them', (t) => {
    if (!requires(t, tsc !== undefined, 'dist/tsc is not built')) return;
    const r = run(['pull', '--tls-verify=false', 'registry.invalid/x']);
    assert.equal(r.status, 125);
    assert.match(r.stderr, /^Error: cannot reach registry registry\.invalid at http:\/\/registry\.invalid/m, 'plain http was chosen');
    const unknown = run(['pull', '--bogus', 'x']);
    assert.match(unknown.stderr, /Hint: see 'tsc pull --help'/, 'the hint names the command, not its arguments');
  });

  it('rejects a bad --format template with exit 125, naming it', (t) => {
    if (!requires(t, tsc !== undefined, 'dist/tsc is not built')) return;
    const r = run(['version', '--format', '{{.nosuch}}']);
    assert.equal(r.status, 125);
    assert.match(r.stderr, /^Error: invalid --format template "\{\{\.nosuch\}\}": can't evaluate field nosuch\n/);
  });

  it('accepts the global --log-level before the command', (t) => {
    if (!requires(t, tsc !== undefined, 'dist/tsc is not built')) return;
    const r = run(['--log-level', 'debug', 'version', '--format', '{{.version}}']);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout, `${pkg.version}\n`);
  });
});
