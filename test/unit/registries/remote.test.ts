/**
 * How remote.ts turns the configuration into clients (http or https, CAs, blocked) and
 * walks the pull candidates, with the registry side played by the `attempt` callback:
 * nothing is contacted.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import type { EngineContext } from '../../../src/engine/context.ts';
import { isTscError, TscError } from '../../../src/engine/errors.ts';
import { openPullSource, openRegistryClient, registryClient } from '../../../src/engine/images/remote.ts';
import { formatReference, parseReference, type ImageReference } from '../../../src/engine/reference/reference.ts';

const CA = readFileSync(new URL('fixtures/ca.crt', import.meta.url), 'utf8');
const root = mkdtempSync(join(tmpdir(), 'tsc-remote-'));
after(() => rmSync(root, { recursive: true, force: true }));
let counter = 0;

/** A context whose registries.conf is `conf` and whose certs.d holds `certs` (host -> files). */
function context(conf: string, certs: Record<string, Record<string, string>> = {}): EngineContext {
  const dir = join(root, String(counter++));
  mkdirSync(join(dir, 'home'), { recursive: true });
  writeFileSync(join(dir, 'registries.conf'), conf);
  for (const [host, contents] of Object.entries(certs)) {
    mkdirSync(join(dir, 'certs.d', host), { recursive: true });
    for (const [name, text] of Object.entries(contents)) writeFileSync(join(dir, 'certs.d', host, name), text);
  }
  const env = { CONTAINERS_REGISTRIES_CONF: join(dir, 'registries.conf'), TSC_CERTS_DIR: join(dir, 'certs.d'), HOME: join(dir, 'home') };
  return {
    who: { uid: 1000, gid: 1000, name: 'u', home: join(dir, 'home'), env },
    authFiles: { write: join(dir, 'auth.json'), read: [join(dir, 'auth.json')] },
  } as unknown as EngineContext;
}

async function protocol(ctx: EngineContext, target: string | ImageReference, options = {}): Promise<string> {
  const client = await openRegistryClient(ctx, target, options);
  await client.close();
  return client.base.protocol;
}

describe('openRegistryClient', () => {
  it('speaks plain http to loopback registries by default', async () => {
    assert.equal(await protocol(context(''), '127.0.0.1:5000'), 'http:');
    assert.equal(await protocol(context(''), 'localhost:5000'), 'http:');
    assert.equal(await protocol(context(''), 'quay.io'), 'https:');
  });

  it('speaks https to a loopback registry that has certificates in certs.d', async () => {
    assert.equal(await protocol(context('', { '127.0.0.1:5443': { 'ca.crt': CA } }), '127.0.0.1:5443'), 'https:');
    assert.equal(await protocol(context('', { '127.0.0.1:5443': { 'ca.crt': CA } }), '127.0.0.1:5000'), 'http:', 'only for that host:port');
  });

  it('follows registries.conf: insecure = false means https even on loopback, true means http', async () => {
    assert.equal(await protocol(context('[[registry]]\nlocation = "127.0.0.1:5000"\ninsecure = false\n'), '127.0.0.1:5000'), 'https:');
    assert.equal(await protocol(context('[[registry]]\nlocation = "plain.example.com"\ninsecure = true\n'), 'plain.example.com'), 'http:');
    assert.equal(await protocol(context('[[registry]]\nprefix = "*.example.com"\ninsecure = true\n'), 'a.example.com'), 'http:');
  });

  it('matches repository prefixes when given a reference', async () => {
    const ctx = context('[[registry]]\nprefix = "example.com/plain"\nlocation = "example.com/plain"\ninsecure = true\n');
    assert.equal(await protocol(ctx, parseReference('example.com/plain/app:1')), 'http:');
    assert.equal(await protocol(ctx, parseReference('example.com/other/app:1')), 'https:');
  });

  it('tlsVerify false forces plain http', async () => {
    assert.equal(await protocol(context('[[registry]]\nlocation = "127.0.0.1:5000"\ninsecure = false\n'), '127.0.0.1:5000', { tlsVerify: false }), 'http:');
    assert.equal(await protocol(context(''), 'quay.io', { tlsVerify: false }), 'http:');
  });

  it('uses a certificate directory named for the operation (--cert-dir) instead of certs.d', async () => {
    const dir = join(root, 'cert-dir');
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'ca.crt'), CA);
    assert.equal(await protocol(context(''), '127.0.0.1:5000', { certDir: dir }), 'https:');
  });

  it('reports client certificates as unsupported instead of failing the handshake obscurely', async () => {
    const ctx = context('', { 'mtls.example.com': { 'client.cert': 'c', 'client.key': 'k', 'ca.crt': CA } });
    await assert.rejects(openRegistryClient(ctx, 'mtls.example.com'), (e: unknown) => {
      assert.ok(isTscError(e) && e.code === 'unsupported', String(e));
      assert.match(e.message, /^client certificates are not supported yet: .*\/mtls\.example\.com\/client\.cert \(for mtls\.example\.com\)$/);
      return true;
    });
    assert.equal(await protocol(ctx, 'mtls.example.com', { tlsVerify: false }), 'http:', 'irrelevant over plain http');
  });

  it('refuses a blocked registry, naming the file', async () => {
    const ctx = context('[[registry]]\nlocation = "evil.example.com"\nblocked = true\n');
    await assert.rejects(openRegistryClient(ctx, 'evil.example.com'), (e: unknown) =>
      isTscError(e) && /^evil\.example\.com is blocked by the registry "evil\.example\.com" in .*registries\.conf:1$/.test(e.message));
  });

  it('registryClient keeps the built-in rules and takes credentials for login', async () => {
    const ctx = context('');
    assert.equal(registryClient(ctx, '127.0.0.1:5000').base.protocol, 'http:');
    assert.equal(registryClient(ctx, 'quay.io', { tlsVerify: false }).base.protocol, 'http:');
  });
});

describe('openPullSource', () => {
  const conf = `unqualified-search-registries = ["a.example.com", "b.example.com"]
[[registry]]
location = "a.example.com"
[[registry.mirror]]
location = "mirror.example.com/a"
`;
  const missing = (what: string) => new TscError('not-found', `manifest 1 of ${what}: answered 404`);

  it('falls through not-found and unreachable candidates to the first that has the image', async () => {
    const tried: string[] = [];
    const source = await openPullSource(context(conf), 'team/app:1', {}, async (client, ref) => {
      tried.push(`${client.base.origin} ${formatReference(ref)}`);
      if (ref.registry === 'mirror.example.com') throw new TscError('remote', 'cannot reach registry mirror.example.com: host not found');
      if (ref.registry === 'a.example.com') throw missing('a.example.com/team/app');
      return 'found';
    });
    await source.client.close();
    assert.deepEqual(tried, [
      'https://mirror.example.com mirror.example.com/a/team/app:1',
      'https://a.example.com a.example.com/team/app:1',
      'https://b.example.com b.example.com/team/app:1',
    ]);
    assert.equal(source.value, 'found');
    assert.equal(formatReference(source.candidate.name), 'b.example.com/team/app:1');
    assert.equal(source.plan.resolvedBy, 'search');
  });

  it('reports the mirror it used', async () => {
    const source = await openPullSource(context(conf), 'a.example.com/team/app:1', {}, async () => 'ok');
    await source.client.close();
    assert.equal(source.candidate.mirror, true);
    assert.equal(formatReference(source.candidate.reference), 'mirror.example.com/a/team/app:1');
    assert.equal(formatReference(source.candidate.name), 'a.example.com/team/app:1');
  });

  it('stops at other errors', async () => {
    let calls = 0;
    await assert.rejects(openPullSource(context(conf), 'team/app:1', {}, async () => {
      calls++;
      throw new TscError('invalid-content', 'digest mismatch');
    }), /digest mismatch/);
    assert.equal(calls, 1);
  });

  it('names every candidate when all fail', async () => {
    await assert.rejects(openPullSource(context(conf), 'team/app:1', {}, async (client, ref) => {
      throw missing(formatReference(ref));
    }), (e: unknown) => {
      assert.ok(isTscError(e) && e.code === 'not-found', String(e));
      assert.equal(e.message, 'cannot pull team/app:1 from any of 3 sources: '
        + 'mirror.example.com/a/team/app:1 (mirror): manifest 1 of mirror.example.com/a/team/app:1: answered 404; '
        + 'a.example.com/team/app:1: manifest 1 of a.example.com/team/app:1: answered 404; '
        + 'b.example.com/team/app:1: manifest 1 of b.example.com/team/app:1: answered 404');
      return true;
    });
  });

  it('passes a single failure on as it is, with a certs.d hint for an untrusted certificate', async () => {
    const ctx = context('');
    await assert.rejects(openPullSource(ctx, 'quay.io/x:1', {}, async () => {
      throw new TscError('remote', 'cannot reach registry quay.io at https://quay.io: certificate not trusted (SELF_SIGNED_CERT_IN_CHAIN)', { hint: 'old' });
    }), (e: unknown) => {
      assert.ok(isTscError(e) && e.code === 'remote');
      assert.equal(e.message, 'cannot reach registry quay.io at https://quay.io: certificate not trusted (SELF_SIGNED_CERT_IN_CHAIN)');
      assert.equal(e.hint, `put the CA certificate of quay.io in ${ctx.who.env.TSC_CERTS_DIR}/quay.io/ca.crt (see containers-certs.d(5))`);
      return true;
    });
  });
});
