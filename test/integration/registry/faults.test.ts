/**
 * The client against a misbehaving registry: the real docker-registry behind a proxy
 * that injects 5xx, 429, resets, cut or corrupted bodies, ignored ranges and redirects.
 */
import assert from 'node:assert/strict';
import { describe, it, type TestContext } from 'node:test';
import { isTscError } from '../../../src/engine/errors.ts';
import { downloadBlob, memorySink } from '../../../src/engine/registry/blobs.ts';
import { RegistryClient, type RegistryClientOptions } from '../../../src/engine/registry/client.ts';
import { listTags } from '../../../src/engine/registry/listing.ts';
import { fetchManifest } from '../../../src/engine/registry/manifests.ts';
import { busyboxLayout, requiresRegistry, skopeoPush, uniqueRepository, type FixtureImage } from '../../lib/registry-fixtures.ts';
import { FaultProxy } from './fault-proxy.ts';

interface Setup {
  registry: string;
  proxy: FaultProxy;
  client: RegistryClient;
  repository: string;
  image: FixtureImage;
  sleeps: number[];
}

async function setup(t: TestContext, options: RegistryClientOptions = {}): Promise<Setup | undefined> {
  const registry = await requiresRegistry(t);
  if (registry === undefined) return undefined;
  const layout = busyboxLayout(t);
  const repository = uniqueRepository('faults');
  skopeoPush(layout, registry, repository);
  const proxy = await FaultProxy.start(registry);
  t.after(() => proxy.close());
  const sleeps: number[] = [];
  const client = new RegistryClient(proxy.host, { insecure: true, sleep: async (ms) => void sleeps.push(ms), random: () => 0.5, ...options });
  return { registry, proxy, client, repository, image: layout.images[0]!, sleeps };
}

const MANIFESTS = /\/manifests\//;
const BLOBS = /\/blobs\/sha256:/;

describe('registry client under injected faults', () => {
  it('retries 5xx with exponential backoff and then succeeds', async (t) => {
    const s = await setup(t);
    if (s === undefined) return;
    s.proxy.inject({ path: MANIFESTS, times: 2, action: { status: 500 } }, { path: MANIFESTS, action: { status: 502 } });
    const fetched = await fetchManifest(s.client, s.repository, 'latest');
    assert.equal(fetched.digest, s.image.manifest.digest);
    assert.equal(s.proxy.matching(MANIFESTS).length, 4);
    assert.deepEqual(s.sleeps, [375, 750, 1500], 'backoff doubles, with jitter (random fixed at 0.5 here)');
  });

  it('gives up after the attempt limit with the status in the message', async (t) => {
    const s = await setup(t);
    if (s === undefined) return;
    s.proxy.inject({ path: MANIFESTS, times: 10, action: { status: 503, body: '{"errors":[{"code":"UNAVAILABLE","message":"down for maintenance"}]}' } });
    await assert.rejects(fetchManifest(s.client, s.repository, 'latest'), (e: unknown) => {
      assert.ok(isTscError(e) && e.code === 'remote', String(e));
      assert.equal(e.message, `manifest latest of ${s.proxy.host}/${s.repository}: ${s.proxy.host} answered 503 (unavailable: down for maintenance)`);
      return true;
    });
    assert.equal(s.proxy.matching(MANIFESTS).length, 4);
  });

  it('honours Retry-After on 429 and fails when it asks for too long', async (t) => {
    const s = await setup(t, { maxRetryAfterMs: 10_000 });
    if (s === undefined) return;
    s.proxy.inject({ path: MANIFESTS, action: { status: 429, headers: { 'retry-after': '3' } } });
    await fetchManifest(s.client, s.repository, 'latest');
    assert.deepEqual(s.sleeps, [3000]);

    s.proxy.inject({ path: MANIFESTS, action: { status: 429, headers: { 'retry-after': '3600' } } });
    await assert.rejects(fetchManifest(s.client, s.repository, 'latest'), (e: unknown) => {
      assert.ok(isTscError(e) && e.code === 'remote' && /answered 429/.test(e.message), String(e));
      assert.match(e.hint ?? '', /rate limiting/);
      return true;
    });
    assert.deepEqual(s.sleeps, [3000], 'no waiting for an hour');
  });

  it('retries a connection reset', async (t) => {
    const s = await setup(t);
    if (s === undefined) return;
    s.proxy.inject({ path: MANIFESTS, action: { reset: true } });
    assert.equal((await fetchManifest(s.client, s.repository, 'latest')).digest, s.image.manifest.digest);
    assert.equal(s.sleeps.length, 1);
  });

  it('resumes a cut blob download with Range and verifies the whole', async (t) => {
    const s = await setup(t);
    if (s === undefined) return;
    const layer = s.image.layers[0]!;
    s.proxy.inject({ path: BLOBS, action: { truncateAfter: 100_000 } }, { path: BLOBS, action: { truncateAfter: 200_000 } });
    const sink = memorySink();
    const result = await downloadBlob(s.client, s.repository, layer, sink);
    assert.deepEqual(result, { digest: layer.digest, size: layer.size, resumes: 2, restarts: 0 });
    assert.deepEqual(Buffer.from(sink.bytes()), layer.bytes);
    assert.deepEqual(s.proxy.matching(BLOBS).map((r) => r.headers.range), [undefined, 'bytes=100000-', 'bytes=300000-']);
  });

  it('starts over when the registry ignores Range', async (t) => {
    const s = await setup(t);
    if (s === undefined) return;
    const layer = s.image.layers[0]!;
    s.proxy.inject({ path: BLOBS, action: { truncateAfter: 50_000 } }, { path: BLOBS, action: { stripRange: true } });
    const sink = memorySink();
    const result = await downloadBlob(s.client, s.repository, layer, sink);
    assert.deepEqual(result, { digest: layer.digest, size: layer.size, resumes: 1, restarts: 1 });
    assert.deepEqual(Buffer.from(sink.bytes()), layer.bytes);
  });

  it('rejects a corrupted blob with a digest mismatch naming both digests', async (t) => {
    const s = await setup(t);
    if (s === undefined) return;
    const layer = s.image.layers[0]!;
    s.proxy.inject({ path: BLOBS, action: { corruptByte: 1234 } });
    await assert.rejects(downloadBlob(s.client, s.repository, layer, memorySink()), (e: unknown) => {
      assert.ok(isTscError(e) && e.code === 'invalid-content', String(e));
      assert.match(e.message, new RegExp(`^digest mismatch for blob ${layer.digest} from ${s.proxy.host}/${s.repository}: got sha256:[0-9a-f]{64}$`));
      return true;
    });
  });

  it('rejects a corrupted manifest fetched by digest and by tag', async (t) => {
    const s = await setup(t);
    if (s === undefined) return;
    const digest = s.image.manifest.digest;
    s.proxy.inject({ path: MANIFESTS, times: 2, action: { corruptByte: 20 } });
    for (const reference of [digest, 'latest']) {
      await assert.rejects(fetchManifest(s.client, s.repository, reference), (e: unknown) => {
        assert.ok(isTscError(e) && e.code === 'invalid-content', String(e));
        assert.match(e.message, new RegExp(`^digest mismatch for manifest ${digest} from ${s.proxy.host}/${s.repository}: got sha256:`));
        return true;
      });
    }
  });

  it('gives up on a download that keeps breaking without progress', async (t) => {
    const s = await setup(t);
    if (s === undefined) return;
    const layer = s.image.layers[0]!;
    s.proxy.inject({ path: BLOBS, action: { truncateAfter: 1000 } }, { path: BLOBS, times: 10, action: { truncateAfter: 0 } });
    await assert.rejects(downloadBlob(s.client, s.repository, layer, memorySink(), { maxResumes: 3 }), (e: unknown) => {
      assert.ok(isTscError(e) && e.code === 'remote', String(e));
      assert.equal(e.message, `truncated download of blob ${layer.digest} from ${s.proxy.host}/${s.repository}: got 1000 of ${layer.size} bytes`);
      return true;
    });
    assert.equal(s.proxy.matching(BLOBS).length, 4);
  });

  it('rejects a body longer than the descriptor says', async (t) => {
    const s = await setup(t);
    if (s === undefined) return;
    const layer = s.image.layers[0]!;
    await assert.rejects(downloadBlob(s.client, s.repository, { digest: layer.digest, size: layer.size - 10 }, memorySink()), (e: unknown) => {
      assert.ok(isTscError(e) && e.code === 'invalid-content', String(e));
      assert.match(e.message, /is larger than the \d+ bytes its descriptor gives/);
      return true;
    });
  });

  it('rejects docker schema 1 and unknown manifest media types as unsupported', async (t) => {
    const s = await setup(t);
    if (s === undefined) return;
    const schema1 = JSON.stringify({ schemaVersion: 1, name: s.repository, tag: 'old', fsLayers: [], signatures: [] });
    s.proxy.inject({ path: MANIFESTS, action: { status: 200, headers: { 'content-type': 'application/vnd.docker.distribution.manifest.v1+prettyjws' }, body: schema1 } });
    await assert.rejects(fetchManifest(s.client, s.repository, 'old'), (e: unknown) => {
      assert.ok(isTscError(e) && e.code === 'unsupported', String(e));
      assert.equal(e.message, `manifest old of ${s.proxy.host}/${s.repository} uses docker schema 1, which tsc does not support`);
      return true;
    });
    const helm = JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.cncf.helm.chart.v1+json' });
    s.proxy.inject({ path: MANIFESTS, action: { status: 200, headers: { 'content-type': 'application/vnd.cncf.helm.chart.v1+json' }, body: helm } });
    await assert.rejects(fetchManifest(s.client, s.repository, 'chart'), (e: unknown) => isTscError(e) && e.code === 'unsupported' && /unsupported media type application\/vnd\.cncf\.helm\.chart\.v1\+json/.test(e.message));
  });

  it('follows a blob redirect to another host without sending the Authorization header there', async (t) => {
    const s = await setup(t);
    if (s === undefined) return;
    const storage = await FaultProxy.start(s.registry);
    t.after(() => storage.close());
    const expected = `Basic ${Buffer.from('user:secret').toString('base64')}`;
    s.proxy.gate = (req) => (req.headers.authorization === expected ? undefined : { status: 401, headers: { 'www-authenticate': 'Basic realm="test"' } });
    const client = new RegistryClient(s.proxy.host, { insecure: true, credentials: () => ({ username: 'user', password: 'secret' }) });
    await fetchManifest(client, s.repository, 'latest');
    const layer = s.image.layers[0]!;
    s.proxy.inject({ path: BLOBS, action: { redirectTo: `http://${storage.host}` } });
    const sink = memorySink();
    await downloadBlob(client, s.repository, layer, sink);
    assert.deepEqual(Buffer.from(sink.bytes()), layer.bytes);
    assert.equal(s.proxy.matching(BLOBS)[0]?.headers.authorization, expected, 'the registry itself gets the credentials');
    assert.equal(storage.requests.length, 1);
    assert.equal(storage.requests[0]!.headers.authorization, undefined, 'the storage host does not');
  });

  it('follows Link pages of tags even though docker-registry itself ignores n for tags', async (t) => {
    const s = await setup(t);
    if (s === undefined) return;
    const first = JSON.stringify({ name: s.repository, tags: ['page-one'] });
    s.proxy.inject({ path: /\/tags\/list\?n=1$/, action: { status: 200, headers: { 'content-type': 'application/json', link: `</v2/${s.repository}/tags/list?n=1&last=page-one>; rel="next"` }, body: first } });
    assert.deepEqual(await listTags(s.client, s.repository, { pageSize: 1 }), ['page-one', 'latest']);
  });
});
