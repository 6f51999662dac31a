/**
 * Volumes as the rootless test user with the built tsc: the create/ls/inspect/rm/prune
 * round trip, rm refusing a volume a container uses, and a volume filled from an image
 * (pulled from the local registry) keeping the image's owners as subordinate ids, with
 * the upper layer's whiteout and opaque directory honoured. The run path's calls are made
 * by a bundled driver (fixtures/volumes-driver.ts) until `tsc run -v` uses them.
 * Every test file has its own XDG_DATA_HOME, so concurrent runs do not meet.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { chmodSync, chownSync, existsSync, lstatSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { after, before, describe, it, type TestContext } from 'node:test';
import * as esbuild from 'esbuild';
import { requires, requiresTestHost, type TestHost } from '../lib/env.ts';
import { requiresRegistry, richLayout, skopeoPush, uniqueRepository } from '../lib/registry-fixtures.ts';
import { DIST_HELPER, DIST_TSC, ROOT, staged } from '../lib/stage.ts';
import { runAs, userEnv, type Completed } from '../lib/users.ts';

const tsc = staged(DIST_TSC);
const scratch = mkdtempSync('/tmp/tsc-e2e-volumes-');
chmodSync(scratch, 0o755);
after(() => rmSync(scratch, { recursive: true, force: true }));

/** A data home of its own for one test, owned by the test user. */
function dataHome(host: TestHost, name: string): string {
  const dir = join(scratch, name);
  execFileSync('mkdir', ['-p', dir]);
  chownSync(dir, host.uid, host.uid);
  return dir;
}

function tscAs(host: TestHost, data: string) {
  const env = { ...userEnv(host.uid, host.user), XDG_DATA_HOME: data };
  return (...args: string[]): Promise<Completed> => runAs(tsc!, args, { uid: host.uid, cgroup: host.cgroup, env });
}

function ready(t: TestContext): TestHost | undefined {
  const host = requiresTestHost(t);
  if (!host || !requires(t, tsc !== undefined, 'dist/tsc is not built')) return undefined;
  return host;
}

describe('tsc volume (rootless)', () => {
  it('creates, lists, inspects, removes and prunes volumes as docker does', async (t) => {
    const host = ready(t);
    if (!host) return;
    const data = dataHome(host, 'roundtrip');
    const run = tscAs(host, data);
    const ok = async (...args: string[]) => {
      const r = await run(...args);
      assert.equal(r.status, 0, `${args.join(' ')}: ${r.stderr}`);
      return r.stdout;
    };
    const name = `vol-${randomBytes(3).toString('hex')}`;
    assert.equal(await ok('volume', 'create', name, '-l', 'app=web', '-l', 'tier'), `${name}\n`);
    assert.equal(await ok('volume', 'create', name), `${name}\n`, 'creating an existing volume returns it');
    const random = (await ok('volume', 'create')).trim();
    assert.match(random, /^[0-9a-f]{64}$/);

    const [inspected] = JSON.parse(await ok('volume', 'inspect', name)) as Record<string, unknown>[];
    const mountpoint = join(data, 'tsc', 'volumes', name, '_data');
    assert.deepEqual({ ...inspected, CreatedAt: undefined }, {
      CreatedAt: undefined, Driver: 'local', Labels: { app: 'web', tier: '' }, Mountpoint: mountpoint, Name: name, Options: {}, Scope: 'local',
    });
    assert.match(inspected!.CreatedAt as string, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    const st = statSync(mountpoint);
    assert.equal(st.uid, host.uid, 'the volume belongs to the user (root in the container)');
    assert.ok(st.isDirectory());
    assert.equal(await ok('volume', 'inspect', '--format', '{{.Name}} {{.Driver}}', name), `${name} local\n`);

    assert.equal(await ok('volume', 'ls'), `DRIVER   VOLUME NAME\n${[random, name].sort().map((n) => `local    ${n}\n`).join('')}`);
    assert.equal(await ok('volume', 'ls', '-q', '--filter', 'label=app=web'), `${name}\n`);
    assert.equal(await ok('volume', 'ls', '-q', '--filter', `name=${random.slice(0, 10)}`), `${random}\n`);
    assert.equal(await ok('volume', 'ls', '--format', '{{.Name}}|{{.Labels}}', '--filter', 'dangling=true', '--filter', 'label=tier'), `${name}|app=web,tier=\n`);
    const badFilter = await run('volume', 'ls', '--filter', 'colour=red');
    assert.equal(badFilter.status, 125);
    assert.match(badFilter.stderr, /invalid filter "colour=red"/);

    // rm: one line per removed volume, errors for the rest, exit 1 if any failed
    const rm = await run('volume', 'rm', random, 'no-such-volume');
    assert.equal(rm.status, 1);
    assert.equal(rm.stdout, `${random}\n`);
    assert.match(rm.stderr, /Error: no such volume: no-such-volume/);
    assert.equal((await run('volume', 'rm', '-f', 'no-such-volume')).status, 0);
    const missing = await run('volume', 'inspect', random);
    assert.equal(missing.status, 1);
    assert.equal(existsSync(join(data, 'tsc', 'volumes', random)), false);

    // prune without -a leaves named volumes; -a takes unused ones, with label filters
    assert.equal(await ok('volume', 'prune', '-f'), 'Total reclaimed space: 0B\n');
    writeFileSync(join(mountpoint, 'blob'), 'x'.repeat(2500));
    assert.equal(await ok('volume', 'prune', '-f', '-a', '--filter', 'label=app=db'), 'Total reclaimed space: 0B\n');
    assert.equal(await ok('volume', 'prune', '-f', '-a', '--filter', 'label=app=web'), `Deleted Volumes:\n${name}\n\nTotal reclaimed space: 2.5kB\n`);
    assert.equal(await ok('volume', 'ls', '-q'), '');
    assert.deepEqual(readdirSync(join(data, 'tsc', 'volumes')), []);

    const bad = await run('volume', 'create', 'a/b');
    assert.equal(bad.status, 125);
    assert.match(bad.stderr, /"a\/b" is not a valid volume name/);
  });

  describe('filled from an image', () => {
    let driver: string | undefined;
    before(async () => {
      // the driver, bundled as tsc is, and a node runtime the test user may execute
      const dir = mkdtempSync(join(scratch, 'driver-'));
      chmodSync(dir, 0o755);
      await esbuild.build({
        entryPoints: [join(ROOT, 'test', 'e2e', 'fixtures', 'volumes-driver.ts')], outfile: join(dir, 'driver.mjs'),
        bundle: true, format: 'esm', platform: 'node', target: 'node26', logLevel: 'warning',
        banner: { js: 'const require = (id) => process.getBuiltinModule(id);' },
      });
      chmodSync(join(dir, 'driver.mjs'), 0o644);
      driver = join(dir, 'driver.mjs');
    });

    it('copies the merged image content with subordinate owners, whiteouts and opaque dirs, once, and refuses rm while used', async (t) => {
      const host = ready(t);
      if (!host) return;
      const registry = await requiresRegistry(t);
      if (!registry) return;
      const node = staged(process.execPath);
      const helper = staged(DIST_HELPER);
      if (!requires(t, node !== undefined && helper !== undefined, 'the node runtime or dist/native/tsc-helper is missing')) return;
      const data = dataHome(host, 'fill');
      const run = tscAs(host, data);
      const repo = uniqueRepository('volumes');
      skopeoPush(await richLayout(t), registry, repo);
      const image = `${registry}/${repo}:rich`;
      const pulled = await run('pull', '-q', image);
      assert.equal(pulled.status, 0, pulled.stderr);

      const env = { ...userEnv(host.uid, host.user), XDG_DATA_HOME: data, TSC_HELPER: helper! };
      const drive = async (...args: string[]) => {
        const r = await runAs(node!, [driver!, ...args], { uid: host.uid, cgroup: host.cgroup, env });
        assert.equal(r.status, 0, `driver ${args[0]}: ${r.stdout}${r.stderr}`);
        return JSON.parse(r.stdout.trim().split('\n').pop()!) as Record<string, unknown>;
      };
      const volume = (destination: string, source?: string, nocopy?: boolean) => ({
        kind: 'volume', destination, readonly: false, flags: [], origin: `-v ${destination}`, ...(source ? { source } : {}), ...(nocopy ? { nocopy } : {}),
      });
      const suffix = randomBytes(3).toString('hex');
      const [www, empty, nocopy] = [`www-${suffix}`, `empty-${suffix}`, `nocopy-${suffix}`];
      const first = 'a'.repeat(63) + '1';
      const attached = await drive('attach', first, image, JSON.stringify([
        volume('/var/www', www), volume('/etc'), volume('/bin'), volume('/nothing/here', empty), volume('/etc/opaque', nocopy, true),
      ]));
      const sources = attached.sources as Record<string, string>;
      const sub = (id: number) => host.subidStart + id - 1; // container id N (N >= 1) on the host

      // /var/www: uid 33 in the image is subordinate id start+32 on the host; modes kept
      const wwwDir = sources[www]!;
      assert.equal(wwwDir, join(data, 'tsc', 'volumes', www, '_data'));
      const rootSt = lstatSync(wwwDir);
      assert.deepEqual([rootSt.uid, rootSt.gid, rootSt.mode & 0o7777], [sub(33), sub(33), 0o750]);
      const index = lstatSync(join(wwwDir, 'index.html'));
      assert.deepEqual([index.uid, index.gid, index.mode & 0o7777], [sub(33), sub(33), 0o640]);
      assert.equal(readFileSync(join(wwwDir, 'index.html'), 'utf8'), '<h1>hi</h1>\n');

      // /etc (anonymous): the whiteout hides removeme, the opaque dir hides old; xattrs kept
      const etc = sources['/etc']!;
      assert.deepEqual(readdirSync(etc).sort(), ['fixture-id', 'opaque', 'passwd', 'tagged']);
      assert.deepEqual(readdirSync(join(etc, 'opaque')), ['new']);
      assert.match(readFileSync(join(etc, 'opaque', 'new'), 'utf8'), /^from layer 2 of /);
      assert.equal(execFileSync('getfattr', ['--absolute-names', '--only-values', '-n', 'user.tsc.note', join(etc, 'tagged')], { encoding: 'utf8' }), 'hello');
      assert.equal(lstatSync(etc).uid, host.uid, 'root of the image is the user');

      // /bin: setuid kept after chown, the hardlink stays one inode, the symlink a symlink
      const bin = sources['/bin']!;
      const ping = lstatSync(join(bin, 'ping'));
      assert.equal(ping.mode & 0o7777, 0o4755);
      assert.equal(lstatSync(join(bin, 'ping-link')).ino, ping.ino);
      assert.equal(lstatSync(join(bin, 'sh')).isSymbolicLink(), true);

      // nothing in the image there: an empty volume owned by the container's root; nocopy stays empty
      const emptySt = lstatSync(sources[empty]!);
      assert.equal(emptySt.uid, host.uid);
      assert.deepEqual(readdirSync(sources[empty]!), []);
      assert.deepEqual(readdirSync(sources[nocopy]!), []);
      const reports = attached.reports as { volume: string; report: { outcome: string } }[];
      assert.deepEqual(reports.map((r) => r.report.outcome), ['populated', 'populated', 'populated', 'nothing-to-copy']);

      // a second container: the volume is not empty, so it is not filled again
      writeFileSync(join(wwwDir, 'index.html'), 'changed\n');
      const second = 'b'.repeat(63) + '2';
      const again = await drive('attach', second, image, JSON.stringify([volume('/var/www', www)]));
      assert.deepEqual((again.reports as { report: { outcome: string } }[]).map((r) => r.report.outcome), ['not-empty']);
      assert.equal(readFileSync(join(wwwDir, 'index.html'), 'utf8'), 'changed\n');

      // in use: rm refuses, naming both containers; ls shows the link
      const refused = await run('volume', 'rm', www);
      assert.equal(refused.status, 1);
      assert.match(refused.stderr, new RegExp(`volume ${www} is in use by containers volumes-e2e-aaaaaa \\(aaaaaaaaaaaa\\), volumes-e2e-bbbbbb \\(bbbbbbbbbbbb\\)`));
      assert.ok(existsSync(wwwDir));
      assert.equal((await run('volume', 'ls', '-q', '--filter', 'dangling=true')).stdout, '', 'every volume is linked');
      const pruned = await run('volume', 'prune', '-f', '-a');
      assert.equal(pruned.stdout, 'Total reclaimed space: 0B\n', pruned.stderr);

      // detach: the anonymous volumes of the first container go (files of subordinate ids too), named ones stay
      const removed = (await drive('detach', first, 'true')).removed as string[];
      assert.equal(removed.length, 2);
      for (const name of removed) assert.equal(existsSync(join(data, 'tsc', 'volumes', name)), false, name);
      assert.deepEqual((await drive('detach', second, 'false')).removed, []);
      const gone = await run('volume', 'rm', www, empty, nocopy);
      assert.equal(gone.status, 0, gone.stderr);
      assert.deepEqual(readdirSync(join(data, 'tsc', 'volumes')), []);
      assert.deepEqual(readdirSync(join(data, 'tsc', 'tmp')), []);
      t.after(() => run('rmi', image));
    });
  });
});
