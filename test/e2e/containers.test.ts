/**
 * Kept containers as the rootless test user, with the built binary and an image from the
 * local registry: -d under a monitor that outlives the CLI and its session, logs, exec,
 * stop, rm, ps, inspect, wait, rename, pause/unpause (cgroup freezer), restart policies,
 * attach, -it on a real terminal (tmux) with the detach keys, and --rm. Each test file
 * keeps its own store, so it can run beside the others.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, describe, it, type TestContext } from 'node:test';
import { requires, requiresTestHost, type TestHost } from '../lib/env.ts';
import { requiresRegistry, uniqueRepository } from '../lib/registry-fixtures.ts';
import { DIST_TSC, ROOT, staged } from '../lib/stage.ts';
import { asUserArgv, runAs, userEnv } from '../lib/users.ts';

const tsc = staged(DIST_TSC);
const scratch = mkdtempSync('/tmp/tsc-e2e-ctr-');
const store = join(scratch, 'store');
after(() => rmSync(scratch, { recursive: true, force: true }));
let image = '';
let ready = false;

function env(host: TestHost): Record<string, string> {
  return { ...userEnv(host.uid, host.user), TSC_STORAGE_ROOT: store };
}

async function tscAs(host: TestHost, args: string[], options: { input?: string; timeoutMs?: number } = {}) {
  return runAs(tsc!, args, { uid: host.uid, cgroup: host.cgroup, env: env(host), ...options });
}

async function setup(t: TestContext): Promise<TestHost | undefined> {
  const host = requiresTestHost(t);
  if (!host || !requires(t, tsc !== undefined, 'dist/tsc is not built')) return undefined;
  if (!ready) {
    const registry = await requiresRegistry(t);
    if (!registry) return undefined;
    // busybox with every applet linked (sleep, top, tr...), as the quickstart's image
    image = `${registry}/${uniqueRepository('ctr')}:latest`;
    execFileSync(process.execPath, [join(ROOT, 'scripts', 'demo-image.ts'), image], { stdio: 'ignore' });
    chownSync(scratch, host.uid, host.uid);
    chmodSync(scratch, 0o755);
    const pulled = await tscAs(host, ['pull', '-q', image]);
    assert.equal(pulled.status, 0, pulled.stderr);
    ready = true;
  }
  return host;
}

async function until(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

interface Inspected {
  Id: string;
  Name: string;
  RestartCount: number;
  Notes: string[];
  State: { Status: string; Running: boolean; Pid: number; ExitCode: number };
  Config: { Labels: Record<string, string> };
  HostConfig: { CgroupParent: string; RestartPolicy: { Name: string; MaximumRetryCount: number } };
}

async function inspect(host: TestHost, name: string): Promise<Inspected> {
  const r = await tscAs(host, ['container', 'inspect', name]);
  assert.equal(r.status, 0, r.stderr);
  return (JSON.parse(r.stdout) as Inspected[])[0]!;
}

describe('containers (rootless, kept)', { timeout: 180_000 }, () => {
  it('-d, logs, exec, ps, inspect, stop, rm', async (t) => {
    const host = await setup(t);
    if (!host) return;
    const run = await tscAs(host, ['run', '-d', '--name', 'web1', '-l', 'app=test', image, 'sh', '-c', 'echo started; echo oops >&2; trap "echo bye; exit 0" TERM; while true; do sleep 0.1; done']);
    assert.equal(run.status, 0, run.stderr);
    const id = run.stdout.trim();
    assert.match(id, /^[0-9a-f]{64}$/);

    const ps = await tscAs(host, ['ps', '--format', '{{.ID}} {{.Names}} {{.State}} {{.Labels}}']);
    assert.equal(ps.stdout, `${id.slice(0, 12)} web1 running app=test\n`);
    const quiet = await tscAs(host, ['ps', '-q', '--no-trunc']);
    assert.equal(quiet.stdout, `${id}\n`);

    await until('the first log lines', async () => (await tscAs(host, ['logs', 'web1'])).stdout.includes('started'));
    const logs = await tscAs(host, ['logs', 'web1']);
    assert.equal(logs.stdout, 'started\n');
    assert.equal(logs.stderr, 'oops\n');
    const stamped = await tscAs(host, ['logs', '-t', 'web1']);
    assert.match(stamped.stdout, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z started\n$/);

    const exec = await tscAs(host, ['exec', '-e', 'X=1', '-w', '/tmp', 'web1', 'sh', '-c', 'echo $X $(pwd); ps -o pid,comm | grep -c sleep >/dev/null; exit 7']);
    assert.equal(exec.status, 7, exec.stderr);
    assert.equal(exec.stdout, '1 /tmp\n');
    const missing = await tscAs(host, ['exec', 'web1', 'nosuch']);
    assert.equal(missing.status, 127);
    assert.match(missing.stderr, /nosuch: executable file not found in \$PATH/);

    const info = await inspect(host, 'web1');
    assert.equal(info.Id, id);
    assert.equal(info.Name, '/web1');
    assert.equal(info.State.Status, 'running');
    assert.equal(info.State.Running, true);
    assert.ok(info.State.Pid > 0);
    assert.equal(info.Config.Labels.app, 'test');
    // the container's pid 1 runs as a subordinate id, in its own pid namespace
    const status = readFileSync(`/proc/${info.State.Pid}/status`, 'utf8');
    assert.match(status, new RegExp(`^Uid:\\s+${host.uid}\\b`, 'm'), 'root in the container is the user on the host');
    assert.match(status, /^NSpid:\s+\d+\s+1$/m);

    const follow = spawn('/bin/sh', asUserArgv(tsc!, ['logs', '-f', 'web1'], { uid: host.uid, cgroup: host.cgroup }), { env: env(host) });
    let followed = '';
    follow.stdout.on('data', (b: Buffer) => (followed += b.toString()));
    const followEnded = new Promise<number | null>((resolve) => follow.on('exit', resolve));

    const stop = await tscAs(host, ['stop', 'web1']);
    assert.equal(stop.status, 0, stop.stderr);
    assert.equal(stop.stdout, 'web1\n');
    assert.equal(await followEnded, 0, 'logs -f ends when the container stops');
    assert.equal(followed, 'started\nbye\n');
    const stopped = await inspect(host, 'web1');
    assert.equal(stopped.State.Status, 'exited');
    assert.equal(stopped.State.ExitCode, 0);
    const all = await tscAs(host, ['ps', '-a', '--format', '{{.Names}} {{.Status}}']);
    assert.match(all.stdout, /^web1 Exited \(0\) /);

    const rm = await tscAs(host, ['rm', 'web1']);
    assert.equal(rm.status, 0, rm.stderr);
    assert.equal((await tscAs(host, ['ps', '-a', '-q'])).stdout, '');
    assert.ok(!existsSync(join(store, 'containers', id)), 'the container directory is gone');
    const again = await tscAs(host, ['rm', 'web1']);
    assert.equal(again.status, 1);
    assert.match(again.stderr, /no such container: web1/);
  });

  it('keeps running after the CLI and its session are gone', async (t) => {
    const host = await setup(t);
    if (!host) return;
    // setsid: a new session whose leader (the shell) exits right after tsc returns
    const argv = asUserArgv(tsc!, ['run', '-d', '--name', 'orphan', image, 'sleep', '300'], { uid: host.uid, cgroup: host.cgroup });
    execFileSync('setsid', ['-w', '/bin/sh', ...argv], { env: env(host) });
    await sleep(300);
    const info = await inspect(host, 'orphan');
    assert.equal(info.State.Status, 'running');
    const monitor = Number(/^PPid:\s+(\d+)$/m.exec(readFileSync(`/proc/${info.State.Pid}/status`, 'utf8'))![1]);
    const stat = readFileSync(`/proc/${monitor}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    assert.equal(Number(fields[3]), monitor, 'the monitor leads its own session');
    assert.equal(Number(fields[4]), 0, 'and has no controlling terminal');
    const rm = await tscAs(host, ['rm', '-f', 'orphan']);
    assert.equal(rm.status, 0, rm.stderr);
  });

  it('restart on-failure:2 runs the container three times', async (t) => {
    const host = await setup(t);
    if (!host) return;
    const run = await tscAs(host, ['run', '-d', '--name', 'flaky', '--restart', 'on-failure:2', image, 'sh', '-c', 'echo try; exit 3']);
    assert.equal(run.status, 0, run.stderr);
    const wait = await tscAs(host, ['wait', 'flaky'], { timeoutMs: 30_000 });
    assert.equal(wait.stdout, '3\n');
    const logs = await tscAs(host, ['logs', 'flaky']);
    assert.equal(logs.stdout, 'try\ntry\ntry\n');
    const info = await inspect(host, 'flaky');
    assert.equal(info.RestartCount, 2);
    assert.deepEqual(info.HostConfig.RestartPolicy, { Name: 'on-failure', MaximumRetryCount: 2 });
    assert.equal((await tscAs(host, ['rm', 'flaky'])).status, 0);
  });

  it('always restarts until stopped; a stopped container starts again', async (t) => {
    const host = await setup(t);
    if (!host) return;
    await tscAs(host, ['run', '-d', '--name', 'phoenix', '--restart', 'always', image, 'sh', '-c', 'sleep 0.2; exit 1']);
    await until('two restarts', async () => (await inspect(host, 'phoenix')).RestartCount >= 2, 15_000);
    assert.equal((await tscAs(host, ['stop', '-t', '1', 'phoenix'])).status, 0);
    await sleep(500);
    assert.equal((await inspect(host, 'phoenix')).State.Status, 'exited');
    const start = await tscAs(host, ['start', 'phoenix']);
    assert.equal(start.status, 0, start.stderr);
    // it exits every 0.2 s and comes back: running, or restarting between two runs
    assert.match((await inspect(host, 'phoenix')).State.Status, /^(running|restarting)$/);
    assert.equal((await tscAs(host, ['rm', '-f', 'phoenix'])).status, 0);
  });

  it('pause freezes every process, unpause thaws them', async (t) => {
    const host = await setup(t);
    if (!host) return;
    await tscAs(host, ['run', '-d', '--name', 'ice', image, 'sh', '-c', 'while true; do date +%s%N > /tmp/tick; sleep 0.05; done']);
    const info = await inspect(host, 'ice');
    if (!info.HostConfig.CgroupParent) {
      // CI provides a delegated cgroup: a container without one is a failure there
      assert.fail(`no cgroup for the container: ${JSON.stringify(info.Notes)}`);
    }
    assert.equal((await tscAs(host, ['pause', 'ice'])).status, 0);
    assert.equal((await inspect(host, 'ice')).State.Status, 'paused');
    const frozen = readFileSync(join(info.HostConfig.CgroupParent, 'cgroup.events'), 'utf8');
    assert.match(frozen, /^frozen 1$/m);
    const busy = await tscAs(host, ['exec', 'ice', 'true']);
    assert.equal(busy.status, 125);
    assert.match(busy.stderr, /is paused/);
    assert.equal((await tscAs(host, ['unpause', 'ice'])).status, 0);
    assert.equal((await inspect(host, 'ice')).State.Status, 'running');
    const top = await tscAs(host, ['top', 'ice']);
    assert.match(top.stdout, /^UID\s+PID\s+PPID/);
    assert.match(top.stdout, /while true/);
    assert.equal((await tscAs(host, ['rm', '-f', 'ice'])).status, 0);
    assert.ok(!existsSync(info.HostConfig.CgroupParent), 'the cgroup goes with the container');
  });

  it('names: conflicts, rename, id prefixes; rm refuses a running container without -f', async (t) => {
    const host = await setup(t);
    if (!host) return;
    const first = (await tscAs(host, ['create', '--name', 'dup', image, 'true'])).stdout.trim();
    const second = await tscAs(host, ['create', '--name', 'dup', image, 'true']);
    assert.equal(second.status, 125);
    assert.match(second.stderr, new RegExp(`"dup" is already in use by container ${first.slice(0, 12)}`));
    assert.equal((await tscAs(host, ['ps', '-a', '--filter', 'status=created', '--format', '{{.Names}}'])).stdout, 'dup\n');
    assert.equal((await tscAs(host, ['rename', 'dup', 'dup2'])).status, 0);
    assert.equal((await tscAs(host, ['start', first.slice(0, 8)])).status, 0);
    assert.equal((await tscAs(host, ['wait', 'dup2'])).stdout, '0\n');
    await tscAs(host, ['run', '-d', '--name', 'busy', image, 'sleep', '100']);
    const refused = await tscAs(host, ['rm', 'busy', 'dup2']);
    assert.equal(refused.status, 1);
    assert.match(refused.stderr, /cannot remove container busy: it is running/);
    assert.equal(refused.stdout, 'dup2\n', 'the others are still removed');
    assert.equal((await tscAs(host, ['rm', '-f', 'busy'])).status, 0);
    const prune = await tscAs(host, ['container', 'prune', '-f']);
    assert.equal(prune.status, 0, prune.stderr);
  });

  it('foreground: exit codes, stdin with -i, --rm, and start -a', async (t) => {
    const host = await setup(t);
    if (!host) return;
    const piped = await tscAs(host, ['run', '--rm', '--name', 'fg-rm', '-i', image, 'sh', '-c', 'tr a-z A-Z; exit 4'], { input: 'hello\n' });
    assert.equal(piped.status, 4, piped.stderr);
    assert.equal(piped.stdout, 'HELLO\n');
    assert.equal((await tscAs(host, ['ps', '-a', '-q', '--filter', 'name=^fg-rm$'])).stdout, '', '--rm removed it');
    // a non-root user of the container can use the image (the overlay's root is not 0700)
    const nobody = await tscAs(host, ['run', '--rm', '-u', '65534:65534', image, 'sh', '-c', 'id -u; stat -c %a /; ls /bin/sh']);
    assert.equal(nobody.status, 0, nobody.stderr);
    assert.equal(nobody.stdout, '65534\n755\n/bin/sh\n');
    const kept = await tscAs(host, ['run', '--name', 'kept', image, 'sh', '-c', 'echo once']);
    assert.equal(kept.stdout, 'once\n');
    const again = await tscAs(host, ['start', '-a', 'kept']);
    assert.equal(again.status, 0, again.stderr);
    assert.equal(again.stdout, 'once\n');
    assert.equal((await tscAs(host, ['logs', 'kept'])).stdout, 'once\nonce\n');
    assert.equal((await tscAs(host, ['rm', 'kept'])).status, 0);
  });

  it('--init: a minimal init is pid 1, reaps orphans and passes signals on; inspect finds containers and images', async (t) => {
    const host = await setup(t);
    if (!host) return;
    // a subshell starts `sleep 0.2` and exits at once: the sleep is an orphan, and init reaps it when it ends
    const run = await tscAs(host, ['run', '-d', '--init', '--name', 'inited', image, 'sh', '-c', '(sleep 0.2 &); trap "exit 0" TERM; sleep 100 & wait']);
    assert.equal(run.status, 0, run.stderr);
    await sleep(800);
    const ps = await tscAs(host, ['exec', 'inited', 'ps', '-o', 'pid,stat,comm']);
    const rows = ps.stdout.trim().split('\n').slice(1).map((l) => l.trim().split(/\s+/));
    assert.ok(rows.some(([pid, , comm]) => pid === '1' && comm !== 'sh'), `pid 1 is the init, not the program: ${ps.stdout}`);
    assert.ok(rows.some(([pid, , comm]) => pid === '2' && comm === 'sh'), ps.stdout);
    assert.ok(!rows.some(([, stat]) => stat!.startsWith('Z')), `no zombie: ${ps.stdout}`);
    const stop = await tscAs(host, ['stop', '-t', '5', 'inited']);
    assert.equal(stop.status, 0, stop.stderr);
    const both = await tscAs(host, ['inspect', '-f', '{{.Id}}', 'inited', image]);
    assert.equal(both.status, 0, both.stderr);
    const [containerId, imageId] = both.stdout.trim().split('\n');
    assert.match(containerId!, /^[0-9a-f]{64}$/);
    assert.match(imageId!, /^sha256:[0-9a-f]{64}$/);
    const code = await tscAs(host, ['inspect', '-f', '{{.State.ExitCode}}', 'inited']);
    assert.equal(code.stdout, '0\n', 'SIGTERM reached the program through init and it exited 0');
    const none = await tscAs(host, ['inspect', 'nosuchthing']);
    assert.equal(none.status, 1);
    assert.match(none.stderr, /no such object: nosuchthing/);
    assert.equal((await tscAs(host, ['rm', 'inited'])).status, 0);
  });

  it('publishes ports: busybox httpd answers the host through pasta; /etc files are generated', async (t) => {
    const host = await setup(t);
    if (!host) return;
    const run = await tscAs(host, ['run', '-d', '--name', 'httpd', '-p', '127.0.0.1::80', '--add-host', 'db.internal:192.0.2.77', '--dns-search', 'example.test', image,
      'sh', '-c', 'mkdir -p /www && echo "served by tsc" > /www/index.html && exec httpd -f -p 80 -h /www']);
    assert.equal(run.status, 0, run.stderr);
    const port = await tscAs(host, ['port', 'httpd', '80']);
    const match = /^127\.0\.0\.1:(\d+)\n$/.exec(port.stdout);
    assert.ok(match, port.stdout + port.stderr);
    let body = '';
    await until('httpd answers', async () => {
      try {
        body = await (await fetch(`http://127.0.0.1:${match[1]}/`)).text();
        return true;
      } catch {
        return false;
      }
    });
    assert.equal(body, 'served by tsc\n');
    const ps = await tscAs(host, ['ps', '--filter', 'name=^httpd$', '--format', '{{.Ports}}']);
    assert.equal(ps.stdout, `127.0.0.1:${match[1]}->80/tcp\n`);
    const files = await tscAs(host, ['exec', 'httpd', 'sh', '-c', 'cat /etc/hostname /etc/hosts /etc/resolv.conf; ip -o addr show | grep -c "inet "']);
    assert.equal(files.status, 0, files.stderr);
    const [hostname] = files.stdout.split('\n');
    assert.match(files.stdout, new RegExp(`^192\\.0\\.2\\.77\\s+db\\.internal$`, 'm'));
    assert.match(files.stdout, new RegExp(`\\s${hostname}\\s+httpd$`, 'm'), 'the host name and the container name resolve');
    assert.match(files.stdout, /^search example\.test$/m);
    assert.match(files.stdout, /^2$/m, 'lo and the pasta interface have addresses');
    const info = await inspect(host, 'httpd');
    assert.equal((info as unknown as { NetworkSettings: { Ports: Record<string, { HostPort: string }[]> } }).NetworkSettings.Ports['80/tcp']![0]!.HostPort, match[1]);
    assert.equal((await tscAs(host, ['rm', '-f', 'httpd'])).status, 0);
    await until('the port is free again', async () => {
      try {
        await fetch(`http://127.0.0.1:${match[1]}/`);
        return false;
      } catch {
        return true;
      }
    });
  });

  it('-it on a real terminal: a shell, the window size, detach with ctrl-p ctrl-q, attach again', async (t) => {
    const host = await setup(t);
    if (!host) return;
    if (!requires(t, spawnSync('tmux', ['-V']).status === 0, 'tmux is not installed')) return;
    const session = `tsc-e2e-it-${process.pid}`;
    const quote = (s: string) => `'${s.replaceAll("'", "'\\''")}'`;
    const vars = Object.entries({ ...env(host), TERM: 'xterm' }).map(([k, v]) => `${k}=${quote(v)}`).join(' ');
    const command = (args: string[]) => `env -i ${vars} /bin/sh ${asUserArgv(tsc!, args, { uid: host.uid, cgroup: host.cgroup }).map(quote).join(' ')}; echo EXIT=$?; sleep 60`;
    execFileSync('tmux', ['new-session', '-d', '-s', session, '-x', '100', '-y', '30', command(['run', '-it', '--name', 'tty1', image, 'sh'])]);
    t.after(() => spawnSync('tmux', ['kill-session', '-t', session]));
    const screen = () => execFileSync('tmux', ['capture-pane', '-p', '-t', session]).toString();
    const keys = (...k: string[]) => execFileSync('tmux', ['send-keys', '-t', session, ...k]);
    await until('a prompt', () => /# ?$/m.test(screen()));
    keys('stty size; tty; echo $TERM', 'Enter');
    await until('the answers', () => /^30 100$/m.test(screen()));
    assert.match(screen(), /^\/dev\/pts\/0$/m);
    assert.match(screen(), /^xterm$/m);
    execFileSync('tmux', ['resize-window', '-t', session, '-x', '90', '-y', '25']);
    await sleep(300);
    keys('stty size', 'Enter');
    await until('the new size', () => /^25 90$/m.test(screen()));
    keys('C-p', 'C-q');
    await until('tsc detached', () => /EXIT=0/.test(screen()));
    assert.equal((await inspect(host, 'tty1')).State.Running, true, 'detaching leaves it running');
    execFileSync('tmux', ['respawn-pane', '-k', '-t', session, command(['attach', 'tty1'])]);
    await sleep(500);
    keys('echo again; exit 5', 'Enter');
    await until('the shell exited', () => /EXIT=5/.test(screen()));
    assert.match(screen(), /^again$/m);
    assert.equal((await tscAs(host, ['rm', 'tty1'])).status, 0);
    // exec -it: a terminal of the container's own, sized like ours, and the command's exit code
    assert.equal((await tscAs(host, ['run', '-d', '--name', 'tty2', image, 'sleep', '300'])).status, 0);
    execFileSync('tmux', ['respawn-pane', '-k', '-t', session, command(['exec', '-it', 'tty2', 'sh'])]);
    await until('a prompt in exec', () => /# ?$/m.test(screen()));
    keys('stty size; tty; exit 6', 'Enter');
    await until('exec ended', () => /EXIT=6/.test(screen()));
    assert.match(screen(), /^25 90$/m);
    assert.match(screen(), /^\/dev\/pts\/\d+$/m);
    assert.equal((await tscAs(host, ['rm', '-f', 'tty2'])).status, 0);
  });
});

describe('containers as root', { timeout: 60_000 }, () => {
  it('run, exec and rm work the same, with root\'s own store', async (t) => {
    const host = await setup(t);
    if (!host) return;
    const rootStore = join(scratch, 'root-store');
    const asRoot = (args: string[]) => runAs(tsc!, args, { uid: 0, env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin', HOME: '/root', TSC_STORAGE_ROOT: rootStore, TSC_RUNTIME_DIR: join(scratch, 'root-run') } });
    assert.equal((await asRoot(['pull', '-q', image])).status, 0);
    const hi = await asRoot(['run', '--rm', image, 'sh', '-c', 'id -u; cat /proc/self/uid_map']);
    assert.equal(hi.status, 0, hi.stderr);
    assert.deepEqual(hi.stdout.trim().split('\n').map((l) => l.trim().replace(/\s+/g, ' ')), ['0', '0 0 4294967295']);
    const d = await asRoot(['run', '-d', '--name', 'rootbox', image, 'sleep', '100']);
    assert.equal(d.status, 0, d.stderr);
    assert.equal((await asRoot(['exec', 'rootbox', 'echo', 'inside'])).stdout, 'inside\n');
    assert.equal((await asRoot(['rm', '-f', 'rootbox'])).status, 0);
    assert.deepEqual(readdirSync(join(rootStore, 'containers')), []);
  });
});
