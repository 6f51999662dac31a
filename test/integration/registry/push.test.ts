/**
 * Pushing to the real docker-registry: monolithic and chunked uploads (also when a chunk
 * fails), cross-repository mounts, manifests and indexes, checked back with skopeo.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it, type TestContext } from 'node:test';
import { isTscError } from '../../../src/engine/errors.ts';
import { fetchBlob } from '../../../src/engine/registry/blobs.ts';
import { RegistryClient } from '../../../src/engine/registry/client.ts';
import { resolveImage } from '../../../src/engine/registry/manifests.ts';
import { OCI_INDEX, OCI_MANIFEST } from '../../../src/engine/registry/media-types.ts';
import { bytesSource, fileSource, hasBlob, pushBlob, putManifest } from '../../../src/engine/registry/push.ts';
import { parseReference } from '../../../src/engine/reference/reference.ts';
import {
  busyboxLayout,
  multiPlatformLayout,
  requiresRegistry,
  skopeoRawManifest,
  tempDir,
  uniqueRepository,
  type FixtureImage,
} from '../../lib/registry-fixtures.ts';
import { FaultProxy } from './fault-proxy.ts';

async function pushImage(client: RegistryClient, repository: string, image: FixtureImage, tag: string): Promise<string[]> {
  const outcomes: string[] = [];
  for (const blob of [image.config, ...image.layers]) outcomes.push((await pushBlob(client, repository, bytesSource(blob.bytes))).outcome);
  assert.equal(await putManifest(client, repository, tag, image.manifest.bytes, OCI_MANIFEST), image.manifest.digest);
  return outcomes;
}

async function viaProxy(t: TestContext): Promise<{ registry: string; proxy: FaultProxy; client: RegistryClient } | undefined> {
  const registry = await requiresRegistry(t);
  if (registry === undefined) return undefined;
  const proxy = await FaultProxy.start(registry);
  t.after(() => proxy.close());
  return { registry, proxy, client: new RegistryClient(proxy.host, { insecure: true, sleep: async () => undefined }) };
}

describe('registry push against docker-registry', () => {
  it('pushes an image monolithically that skopeo reads back unchanged', async (t) => {
    const registry = await requiresRegistry(t);
    if (registry === undefined) return;
    const client = new RegistryClient(registry, { insecure: true });
    const image = busyboxLayout(t).images[0]!;
    const repository = uniqueRepository('push');
    assert.deepEqual(await pushImage(client, repository, image, 'v1'), ['uploaded', 'uploaded']);
    assert.deepEqual(skopeoRawManifest(registry, repository, 'v1'), image.manifest.bytes);
    assert.deepEqual(await pushImage(client, repository, image, 'v2'), ['exists', 'exists']);

    const out = tempDir(t, 'pulled');
    execFileSync('skopeo', ['--insecure-policy', 'copy', '--quiet', '--src-tls-verify=false', `docker://${registry}/${repository}:v1`, `oci:${out}:v1`]);
    const layer = image.layers[0]!;
    assert.deepEqual(readFileSync(join(out, 'blobs', 'sha256', layer.digest.slice(7))), layer.bytes);
  });

  it('streams a blob from a file', async (t) => {
    const registry = await requiresRegistry(t);
    if (registry === undefined) return;
    const client = new RegistryClient(registry, { insecure: true });
    const layer = busyboxLayout(t).images[0]!.layers[0]!;
    const file = join(tempDir(t, 'source'), 'layer.tar.gz');
    writeFileSync(file, layer.bytes);
    const repository = uniqueRepository('push-file');
    assert.equal((await pushBlob(client, repository, fileSource(file, layer.digest, layer.size))).outcome, 'uploaded');
    assert.deepEqual(Buffer.from(await fetchBlob(client, repository, layer)), layer.bytes);
  });

  it('uploads in chunks following Location, with Content-Range', async (t) => {
    const s = await viaProxy(t);
    if (s === undefined) return;
    const layer = busyboxLayout(t).images[0]!.layers[0]!;
    const repository = uniqueRepository('chunked');
    const chunk = 256 * 1024;
    assert.equal((await pushBlob(s.client, repository, bytesSource(layer.bytes), { chunkSize: chunk })).outcome, 'uploaded');
    const patches = s.proxy.matching(/\/blobs\/uploads\//, 'PATCH');
    assert.equal(patches.length, Math.ceil(layer.size / chunk));
    assert.deepEqual(patches.map((p) => p.headers['content-range']), patches.map((_, i) => `${i * chunk}-${Math.min((i + 1) * chunk, layer.size) - 1}`));
    assert.equal(s.proxy.matching(/\/blobs\/uploads\/.*digest=sha256/, 'PUT').length, 1);
    assert.deepEqual(Buffer.from(await fetchBlob(s.client, repository, layer)), layer.bytes);
  });

  it('recovers from failed chunks: resumes where the registry stands, or starts over', async (t) => {
    const s = await viaProxy(t);
    if (s === undefined) return;
    const layer = busyboxLayout(t).images[0]!.layers[0]!;
    const repository = uniqueRepository('chunk-fail');
    // the second PATCH never reaches the registry; its next try reaches it but the answer is lost
    s.proxy.inject({ method: 'PATCH', path: /uploads/, skip: 1, action: { status: 500 } }, { method: 'PATCH', path: /uploads/, action: { dropResponse: true } });
    const chunk = 200 * 1024;
    assert.equal((await pushBlob(s.client, repository, bytesSource(layer.bytes), { chunkSize: chunk })).outcome, 'uploaded');
    const patches = s.proxy.matching(/\/blobs\/uploads\//, 'PATCH').map((r) => r.headers['content-range']);
    // after the 500 the registry reports 0-204799, so the chunk is sent again to the same upload;
    // after the lost answer the Location's signed upload state is stale, docker-registry
    // rejects it (and cancels the upload), so the client starts a new upload from byte 0
    assert.deepEqual(patches.slice(0, 4), ['0-204799', '204800-409599', '204800-409599', '0-204799']);
    assert.equal(s.proxy.matching(/\/blobs\/uploads\/[^?]/, 'GET').length, 2);
    assert.equal(s.proxy.matching(/\/blobs\/uploads\/$/, 'POST').length, 2);
    assert.deepEqual(Buffer.from(await fetchBlob(s.client, repository, layer)), layer.bytes);
  });

  it('treats a retried final PUT that finds the blob committed as success', async (t) => {
    const s = await viaProxy(t);
    if (s === undefined) return;
    const blob = bytesSource(Buffer.from(`lost answer ${Math.random()}`));
    s.proxy.inject({ method: 'PUT', path: /\/blobs\/uploads\//, action: { dropResponse: true } });
    assert.equal((await pushBlob(s.client, uniqueRepository('lost-put'), blob)).outcome, 'uploaded');
    assert.equal(s.proxy.matching(/\/blobs\/uploads\//, 'PUT').length, 2);
  });

  it('mounts a blob from another repository, and uploads when the mount is refused', async (t) => {
    const s = await viaProxy(t);
    if (s === undefined) return;
    const blob = bytesSource(Buffer.from(`mountable ${Math.random()}`));
    const source = uniqueRepository('mount-src');
    const target = uniqueRepository('mount-dst');
    assert.equal((await pushBlob(s.client, source, blob)).outcome, 'uploaded');
    assert.equal(await hasBlob(s.client, target, blob.digest), false);
    assert.equal((await pushBlob(s.client, target, blob, { mountFrom: source })).outcome, 'mounted');
    assert.equal(await hasBlob(s.client, target, blob.digest), true);
    const mount = s.proxy.matching(/mount=/, 'POST')[0]!;
    assert.equal(new URL(mount.url, 'http://x').searchParams.get('from'), source);

    const other = bytesSource(Buffer.from(`not in the source ${Math.random()}`));
    assert.equal((await pushBlob(s.client, uniqueRepository('mount-miss'), other, { mountFrom: source })).outcome, 'uploaded');
  });

  it('pushes a multi-platform index after its images', async (t) => {
    const registry = await requiresRegistry(t);
    if (registry === undefined) return;
    const client = new RegistryClient(registry, { insecure: true });
    const layout = multiPlatformLayout(t);
    const repository = uniqueRepository('push-index');
    for (const image of layout.images) await pushImage(client, repository, image, image.architecture);
    assert.equal(await putManifest(client, repository, layout.top.digest, layout.top.bytes, OCI_INDEX), layout.top.digest);
    assert.equal(await putManifest(client, repository, 'multi', layout.top.bytes, OCI_INDEX), layout.top.digest);
    assert.deepEqual(skopeoRawManifest(registry, repository, 'multi'), layout.top.bytes);
    const arm = await resolveImage(client, parseReference(`${registry}/${repository}:multi`), { platform: 'linux/arm64/v8' });
    assert.equal(arm.manifest.digest, layout.images[1]!.manifest.digest);
  });

  it('reports manifests the registry refuses, and bytes that do not match their digest', async (t) => {
    const registry = await requiresRegistry(t);
    if (registry === undefined) return;
    const client = new RegistryClient(registry, { insecure: true });
    const image = busyboxLayout(t).images[0]!;
    const repository = uniqueRepository('push-bad');
    await assert.rejects(putManifest(client, repository, 'v1', image.manifest.bytes, OCI_MANIFEST), (e: unknown) => {
      assert.ok(isTscError(e) && e.code === 'remote', String(e));
      assert.match(e.message, new RegExp(`^push of manifest v1 to ${registry}/${repository}: ${registry} answered 400 \\(manifest_blob_unknown: `));
      return true;
    });
    await assert.rejects(putManifest(client, repository, image.config.digest, image.manifest.bytes, OCI_MANIFEST), (e: unknown) => {
      assert.ok(isTscError(e) && e.code === 'invalid-argument', String(e));
      return true;
    });
  });
});
