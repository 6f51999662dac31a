/**
 * registries.conf and certs.d, end to end: the built dist/tsc, run as root with its own
 * temp storage, home and configuration (CONTAINERS_REGISTRIES_CONF, TSC_CERTS_DIR), pulls
 * from the real test registry on 127.0.0.1:5000 through a mirror of a made-up registry
 * and through an unqualified-search registry, and from a second docker-registry started
 * here with a self-signed certificate: trusted through certs.d, refused without it.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { createServer, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import { describe, it, type TestContext } from 'node:test';
import { requires, requiresTestHost } from '../../lib/env.ts';
import { busyboxLayout, requiresRegistry, skopeoPush, tempDir, uniqueRepository, type FixtureLayout } from '../../lib/registry-fixtures.ts';
import { DIST_TSC, staged } from '../../lib/stage.ts';
import { runAs, type Completed } from '../../lib/users.ts';

const tsc = staged(DIST_TSC);

interface Setup {
  registry: string;
  layout: FixtureLayout;
  /** runs dist/tsc as root with this test's storage, home, registries.conf and certs.d */
  run(args: string[], config: { conf: string; certs?: Record<string, string> }): Promise<Completed>;
}

async function setup(t: TestContext): Promise<Setup | undefined> {
  if (!requiresTestHost(t)) return undefined;
  if (!requires(t, tsc !== undefined, 'dist/tsc is not built (run: node build/build.ts)')) return undefined;
  const registry = await requiresRegistry(t);
  if (registry === undefined) return undefined;
  const dir = tempDir(t, 'conf');
  let runs = 0;
  return {
    registry,
    layout: busyboxLayout(t, 'tag'),
    run: (args, config) => {
      const run = join(dir, String(runs++));
      const certs = join(run, 'certs.d');
      mkdirSync(join(run, 'home'), { recursive: true });
      mkdirSync(certs, { recursive: true });
      writeFileSync(join(run, 'registries.conf'), config.conf);
      for (const [host, pem] of Object.entries(config.certs ?? {})) {
        mkdirSync(join(certs, host), { recursive: true });
        writeFileSync(join(certs, host, 'ca.crt'), pem);
      }
      return runAs(tsc!, args, {
        uid: 0,
        env: {
          PATH: '/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin',
          HOME: join(run, 'home'),
          TSC_STORAGE_ROOT: join(dir, 'storage'),
          TSC_RUNTIME_DIR: join(dir, 'runtime'),
          CONTAINERS_REGISTRIES_CONF: join(run, 'registries.conf'),
          TSC_CERTS_DIR: certs,
        },
      });
    },
  };
}

/** The `Repository:Tag` rows of `tsc images`. */
async function images(s: Setup): Promise<string[]> {
  const listed = await s.run(['images', '--format', '{{.Repository}}:{{.Tag}}'], { conf: '' });
  assert.equal(listed.status, 0, listed.stderr);
  return listed.stdout.trim().split('\n');
}

describe('tsc pull with registries.conf', () => {
  it('pulls a made-up registry\'s image from its mirror on 127.0.0.1:5000', async (t) => {
    const s = await setup(t);
    if (s === undefined) return;
    const repo = uniqueRepository('mirror');
    skopeoPush(s.layout, s.registry, repo);
    const conf = `[[registry]]\nlocation = "registry.invalid"\n\n[[registry.mirror]]\nlocation = "${s.registry}"\n`;

    const pulled = await s.run(['pull', '--log-level', 'info', `registry.invalid/${repo}:tag`], { conf });
    assert.equal(pulled.status, 0, pulled.stderr);
    assert.match(pulled.stderr, new RegExp(`info: trying to pull ${s.registry}/${repo}:tag \\(mirror\\)\\n`));
    assert.doesNotMatch(pulled.stderr, /trying to pull registry\.invalid/, 'the primary is not needed');
    assert.match(pulled.stderr, new RegExp(`registry\\.invalid/${repo}:tag: 1 of 1 layers downloaded`));
    assert.ok((await images(s)).includes(`registry.invalid/${repo}:tag`), 'the image is named as asked, not after the mirror');

    const inspect = await s.run(['image', 'inspect', '--format', '{{json .RepoDigests}}', `registry.invalid/${repo}:tag`], { conf });
    assert.equal(inspect.stdout.trim(), JSON.stringify([`registry.invalid/${repo}@${s.layout.top.digest}`]), inspect.stderr);
  });

  it('falls back from a mirror without the image to the next one', async (t) => {
    const s = await setup(t);
    if (s === undefined) return;
    const repo = uniqueRepository('mirror2');
    skopeoPush(s.layout, s.registry, repo);
    const conf = `[[registry]]\nprefix = "registry.invalid"\nlocation = "registry.invalid"\n`
      + `[[registry.mirror]]\nlocation = "${s.registry}/no-such-namespace"\n[[registry.mirror]]\nlocation = "${s.registry}"\n`;
    const pulled = await s.run(['pull', '--log-level', 'info', `registry.invalid/${repo}:tag`], { conf });
    assert.equal(pulled.status, 0, pulled.stderr);
    assert.match(pulled.stderr, /info: pulling .*no-such-namespace.* \(mirror\) failed: .*answered 404/);
    assert.match(pulled.stderr, new RegExp(`info: trying to pull ${s.registry}/${repo}:tag \\(mirror\\)`));
  });

  it('resolves a short name through unqualified-search-registries, in order', async (t) => {
    const s = await setup(t);
    if (s === undefined) return;
    const repo = uniqueRepository('search');
    skopeoPush(s.layout, s.registry, repo);

    const single = await s.run(['pull', `${repo}:tag`], { conf: `unqualified-search-registries = ["${s.registry}"]\n` });
    assert.equal(single.status, 0, single.stderr);
    assert.match(single.stderr, new RegExp(`^${s.registry}/${repo}:tag: 1 of 1 layers downloaded`));
    assert.ok((await images(s)).includes(`${s.registry}/${repo}:tag`));

    const conf = `unqualified-search-registries = ["registry.invalid", "${s.registry}"]\n`;
    const second = await s.run(['pull', '--log-level', 'info', `${repo}:tag`], { conf });
    assert.equal(second.status, 0, second.stderr);
    assert.match(second.stderr, new RegExp(`info: pulling registry\\.invalid/${repo}:tag failed: cannot reach registry registry\\.invalid`));
    assert.match(second.stderr, /image is up to date/);

    const enforcing = await s.run(['pull', `${repo}:tag`], { conf: `short-name-mode = "enforcing"\n${conf}` });
    assert.equal(enforcing.status, 125);
    assert.match(enforcing.stderr, new RegExp(`^Error: short name "${repo}:tag" is ambiguous: short-name-mode is enforcing \\(.*registries\\.conf\\) and it could come from registry\\.invalid, ${s.registry}\\n`));
    assert.match(enforcing.stderr, /Hint: use a fully-qualified name/);
  });

  it('refuses a blocked registry, naming the configuration file', async (t) => {
    const s = await setup(t);
    if (s === undefined) return;
    const repo = uniqueRepository('blocked');
    const pulled = await s.run(['pull', `${s.registry}/${repo}:tag`], { conf: `\n[[registry]]\nlocation = "${s.registry}"\nblocked = true\n` });
    assert.equal(pulled.status, 125);
    assert.match(pulled.stderr, new RegExp(`^Error: pulling ${s.registry}/${repo}:tag is blocked by the registry "${s.registry}" in /.*/registries\\.conf:2\\n`));
  });
});

describe('tsc pull with certs.d', () => {
  it('trusts a self-signed registry with its CA in certs.d, and refuses it without', async (t) => {
    const s = await setup(t);
    if (s === undefined) return;
    const tls = await tlsRegistry(t);
    if (tls === undefined) return;
    const repo = uniqueRepository('tls');
    skopeoPush(s.layout, tls.host, repo);
    const name = `${tls.host}/${repo}:tag`;

    // loopback, but certificates in certs.d: https with that CA
    const trusted = await s.run(['pull', name], { conf: '', certs: { [tls.host]: tls.ca } });
    assert.equal(trusted.status, 0, trusted.stderr);
    assert.match(trusted.stderr, new RegExp(`^${name}: 1 of 1 layers downloaded`));

    // registries.conf asks for https, and nothing vouches for the certificate
    const conf = `[[registry]]\nlocation = "${tls.host}"\ninsecure = false\n`;
    const refused = await s.run(['pull', name], { conf });
    assert.equal(refused.status, 125);
    assert.match(refused.stderr, new RegExp(`^Error: cannot reach registry ${tls.host} at https://${tls.host}: certificate not trusted \\(DEPTH_ZERO_SELF_SIGNED_CERT\\)\\n`));
    assert.match(refused.stderr, new RegExp(`Hint: put the CA certificate of ${tls.host} in /.*/certs\\.d/${tls.host}/ca\\.crt`));

    // the same with the CA: fine
    const again = await s.run(['pull', name], { conf, certs: { [tls.host]: tls.ca } });
    assert.equal(again.status, 0, again.stderr);
    assert.match(again.stderr, /image is up to date/);
  });
});

/** A second docker-registry, on a free loopback port, serving https with a self-signed certificate. */
async function tlsRegistry(t: TestContext): Promise<{ host: string; ca: string } | undefined> {
  if (!requires(t, spawnSync('openssl', ['version']).status === 0, 'openssl is not installed')) return undefined;
  if (!requires(t, spawnSync('docker-registry', ['--version']).status === 0, 'docker-registry is not installed')) return undefined;
  const dir = tempDir(t, 'tls-registry');
  execFileSync('openssl', [
    'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1',
    '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem'), '-subj', '/CN=tsc registries test', '-addext', 'subjectAltName=IP:127.0.0.1',
  ], { stdio: 'ignore' });
  const port = await freePort();
  const host = `127.0.0.1:${port}`;
  writeFileSync(join(dir, 'config.yml'), [
    'version: 0.1',
    'log:',
    '  level: error',
    'storage:',
    '  filesystem:',
    `    rootdirectory: ${join(dir, 'data')}`,
    'http:',
    `  addr: ${host}`,
    '  tls:',
    `    certificate: ${join(dir, 'cert.pem')}`,
    `    key: ${join(dir, 'key.pem')}`,
    '',
  ].join('\n'));
  const child = spawn('docker-registry', ['serve', join(dir, 'config.yml')], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
  t.after(() => {
    child.kill('SIGTERM');
  });
  const ca = readFileSync(join(dir, 'cert.pem'), 'utf8');
  const deadline = Date.now() + 15_000;
  while (!(await answers(host, ca))) {
    if (child.exitCode !== null || Date.now() > deadline) assert.fail(`the TLS registry on ${host} did not start: ${stderr}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return { host, ca };
}

function answers(host: string, ca: string): Promise<boolean> {
  const [hostname, port] = host.split(':');
  return new Promise((resolve) => {
    const req = request({ host: hostname, port: Number(port), path: '/v2/', ca, timeout: 1000 }, (res) => {
      res.resume();
      resolve(res.statusCode === 200);
    });
    req.on('error', () => resolve(false));
    req.on('timeout', () => req.destroy());
    req.end();
  });
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      server.close(() => resolve(port));
    });
  });
}
