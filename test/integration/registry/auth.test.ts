/**
 * Authentication: bearer tokens from a token server written here (in front of the real
 * registry, since docker-registry's own token auth needs certificates), and Basic auth
 * against a second, real docker-registry started with an htpasswd file.
 */
import assert from 'node:assert/strict';
import { describe, it, type TestContext } from 'node:test';
import { isTscError } from '../../../src/engine/errors.ts';
import { fetchBlob } from '../../../src/engine/registry/blobs.ts';
import { RegistryClient, type RegistryClientOptions } from '../../../src/engine/registry/client.ts';
import { catalog } from '../../../src/engine/registry/listing.ts';
import { fetchManifest } from '../../../src/engine/registry/manifests.ts';
import { OCI_MANIFEST } from '../../../src/engine/registry/media-types.ts';
import { bytesSource, pushBlob, putManifest } from '../../../src/engine/registry/push.ts';
import { basicRegistry } from '../../lib/htpasswd-registry.ts';
import { busyboxLayout, requiresRegistry, skopeoPush, uniqueRepository, type FixtureLayout } from '../../lib/registry-fixtures.ts';
import { FaultProxy } from './fault-proxy.ts';
import { SERVICE, TokenServer, type TokenServerOptions } from './token-server.ts';

const USER = { username: 'tsc-user', password: 'pa55-w0rd-secret' };

interface BearerSetup {
  proxy: FaultProxy;
  tokens: TokenServer;
  repository: string;
  layout: FixtureLayout;
  clock: { now: number };
  client: (options?: RegistryClientOptions) => RegistryClient;
}

async function bearer(t: TestContext, options: TokenServerOptions = {}): Promise<BearerSetup | undefined> {
  const registry = await requiresRegistry(t);
  if (registry === undefined) return undefined;
  const layout = busyboxLayout(t);
  const repository = uniqueRepository('bearer');
  skopeoPush(layout, registry, repository);
  const tokens = await TokenServer.start(options);
  t.after(() => tokens.close());
  const proxy = await FaultProxy.start(registry);
  t.after(() => proxy.close());
  proxy.gate = tokens.gate();
  const clock = { now: 1_000_000 };
  const client = (extra: RegistryClientOptions = {}) =>
    new RegistryClient(proxy.host, { insecure: true, now: () => clock.now, sleep: async () => undefined, ...extra });
  return { proxy, tokens, repository, layout, clock, client };
}

describe('bearer token auth', () => {
  it('gets an anonymous token for the pull scope and reuses it until it expires', async (t) => {
    const s = await bearer(t, { expiresIn: 120 });
    if (s === undefined) return;
    const client = s.client();
    const image = s.layout.images[0]!;
    assert.equal((await fetchManifest(client, s.repository, 'latest')).digest, image.manifest.digest);
    await fetchBlob(client, s.repository, image.config);
    s.clock.now += 100_000;
    await fetchManifest(client, s.repository, image.manifest.digest);
    assert.deepEqual(s.tokens.requests, [{ service: SERVICE, scopes: [`repository:${s.repository}:pull`], authorization: undefined }]);

    s.clock.now += 30_000; // past expires_in
    await fetchManifest(client, s.repository, 'latest');
    assert.equal(s.tokens.requests.length, 2, 'an expired token is replaced');
    // only the very first request went without a token
    assert.equal(s.proxy.requests.filter((r) => r.headers.authorization === undefined).length, 1);
  });

  it('shares one token fetch between parallel first requests', async (t) => {
    const s = await bearer(t);
    if (s === undefined) return;
    const client = s.client();
    const image = s.layout.images[0]!;
    await Promise.all([
      fetchManifest(client, s.repository, 'latest'),
      fetchBlob(client, s.repository, image.config),
      ...image.layers.map((layer) => fetchBlob(client, s.repository, layer)),
      fetchManifest(client, s.repository, image.manifest.digest),
    ]);
    assert.equal(s.tokens.requests.length, 1);
  });

  it('sends credentials to the token server and asks for pull,push when pushing', async (t) => {
    const s = await bearer(t, { user: USER, field: 'access_token' });
    if (s === undefined) return;
    const client = s.client({ credentials: (host) => (host === s.proxy.host ? USER : undefined) });
    const blob = bytesSource(Buffer.from(`pushed with a token ${Math.random()}`));
    assert.equal((await pushBlob(client, s.repository, blob)).outcome, 'uploaded');
    const basic = `Basic ${Buffer.from(`${USER.username}:${USER.password}`).toString('base64')}`;
    assert.deepEqual(s.tokens.requests, [{ service: SERVICE, scopes: [`repository:${s.repository}:pull,push`], authorization: basic }]);
    assert.ok(s.proxy.requests.slice(1).every((r) => r.headers.authorization === 'Bearer tok-1'));
  });

  it('fails clearly with wrong credentials, never showing them', async (t) => {
    const s = await bearer(t, { user: USER });
    if (s === undefined) return;
    const client = s.client({ credentials: () => ({ username: USER.username, password: 'wrong-password' }) });
    await assert.rejects(fetchManifest(client, s.repository, 'latest'), (e: unknown) => {
      assert.ok(isTscError(e) && e.code === 'remote', String(e));
      const host = new URL(s.tokens.realm).host;
      assert.equal(e.message, `cannot get a token with the configured credentials for ${s.proxy.host} from ${host}: ${host} answered 401`);
      assert.doesNotMatch(`${e.message} ${e.hint}`, /wrong-password|pa55/);
      return true;
    });
  });

  it('gets a fresh token once when the registry rejects a token early', async (t) => {
    const s = await bearer(t);
    if (s === undefined) return;
    const client = s.client();
    await fetchManifest(client, s.repository, 'latest');
    s.tokens.revokeAll();
    await fetchManifest(client, s.repository, 'latest');
    assert.equal(s.tokens.requests.length, 2);
  });

  it('asks for the catalog scope for the catalog', async (t) => {
    const s = await bearer(t);
    if (s === undefined) return;
    const repositories = await catalog(s.client(), { pageSize: 1000 });
    assert.ok(repositories.includes(s.repository));
    assert.deepEqual(s.tokens.requests.map((r) => r.scopes), [['registry:catalog:*']]);
  });
});

describe('basic auth against docker-registry with htpasswd', () => {
  it('announces Basic, pushes and pulls with credentials', async (t) => {
    const host = await basicRegistry(t, USER);
    if (host === undefined) return;
    const anonymous = new RegistryClient(host, { insecure: true });
    assert.deepEqual(await anonymous.ping(), { status: 401, apiVersion: 'registry/2.0', challenge: { scheme: 'basic', params: { realm: 'tsc-basic' } } });

    const client = new RegistryClient(host, { insecure: true, credentials: () => USER });
    const image = busyboxLayout(t).images[0]!;
    const repository = uniqueRepository('basic');
    for (const blob of [image.config, ...image.layers]) {
      assert.equal((await pushBlob(client, repository, bytesSource(blob.bytes))).outcome, 'uploaded');
    }
    assert.equal(await putManifest(client, repository, 'v1', image.manifest.bytes, OCI_MANIFEST), image.manifest.digest);
    const fetched = await fetchManifest(client, repository, 'v1');
    assert.equal(fetched.digest, image.manifest.digest);
    assert.deepEqual(Buffer.from(await fetchBlob(client, repository, image.layers[0]!)), image.layers[0]!.bytes);

    await assert.rejects(fetchManifest(anonymous, repository, 'v1'), (e: unknown) => {
      assert.ok(isTscError(e) && e.code === 'remote', String(e));
      assert.match(e.message, new RegExp(`^manifest v1 of ${host}/${repository}: ${host} answered 401 \\(unauthorized: `));
      assert.match(e.hint ?? '', /check the credentials for/);
      return true;
    });
    const wrong = new RegistryClient(host, { insecure: true, credentials: () => ({ username: USER.username, password: 'not-the-password' }) });
    await assert.rejects(fetchManifest(wrong, repository, 'v1'), (e: unknown) => {
      assert.ok(isTscError(e) && /answered 401/.test(e.message), String(e));
      assert.doesNotMatch(`${e.message} ${e.hint}`, /not-the-password|pa55/);
      return true;
    });
  });
});
