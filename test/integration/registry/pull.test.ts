/**
 * Reading from the real docker-registry on 127.0.0.1:5000: images pushed by skopeo,
 * fetched and verified by the client (manifests by tag and digest, platform selection,
 * blobs into memory and files, tags and the catalog with pagination).
 */
import assert from 'node:assert/strict';
import { open, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it, type TestContext } from 'node:test';
import { isTscError } from '../../../src/engine/errors.ts';
import { downloadBlob, fetchBlob, fileSink, memorySink } from '../../../src/engine/registry/blobs.ts';
import { RegistryClient } from '../../../src/engine/registry/client.ts';
import { catalog, listTags } from '../../../src/engine/registry/listing.ts';
import { fetchManifest, headManifest, resolveImage } from '../../../src/engine/registry/manifests.ts';
import { DOCKER_MANIFEST, DOCKER_MANIFEST_LIST, OCI_INDEX, OCI_MANIFEST } from '../../../src/engine/registry/media-types.ts';
import { hostPlatform } from '../../../src/engine/registry/platform.ts';
import { putManifest } from '../../../src/engine/registry/push.ts';
import { parseReference } from '../../../src/engine/reference/reference.ts';
import {
  busyboxLayout,
  multiPlatformLayout,
  requiresRegistry,
  skopeoPush,
  tempDir,
  uniqueRepository,
  type FixtureLayout,
} from '../../lib/registry-fixtures.ts';

interface Pushed {
  registry: string;
  repository: string;
  layout: FixtureLayout;
  client: RegistryClient;
}

async function pushed(t: TestContext, kind: 'busybox' | 'multi'): Promise<Pushed | undefined> {
  const registry = await requiresRegistry(t);
  if (registry === undefined) return undefined;
  const layout = kind === 'busybox' ? busyboxLayout(t) : multiPlatformLayout(t);
  const repository = uniqueRepository(`pull-${kind}`);
  skopeoPush(layout, registry, repository);
  const client = new RegistryClient(registry, { insecure: true });
  t.after(() => client.close());
  return { registry, repository, layout, client };
}

describe('registry pull against docker-registry', () => {
  it('pings the registry anonymously', async (t) => {
    const registry = await requiresRegistry(t);
    if (registry === undefined) return;
    const ping = await new RegistryClient(registry, { insecure: true }).ping();
    assert.deepEqual(ping, { status: 200, apiVersion: 'registry/2.0', challenge: undefined });
  });

  it('fetches a manifest by tag and by digest, verified, with the bytes skopeo pushed', async (t) => {
    const p = await pushed(t, 'busybox');
    if (p === undefined) return;
    const image = p.layout.images[0]!;
    const byTag = await fetchManifest(p.client, p.repository, 'latest');
    assert.equal(byTag.digest, image.manifest.digest);
    assert.equal(byTag.mediaType, OCI_MANIFEST);
    assert.deepEqual(Buffer.from(byTag.bytes), image.manifest.bytes);
    assert.equal(byTag.manifest.kind, 'manifest');
    if (byTag.manifest.kind !== 'manifest') return;
    assert.equal(byTag.manifest.config.digest, image.config.digest);
    assert.deepEqual(byTag.manifest.layers.map((l) => l.digest), image.layers.map((l) => l.digest));

    const byDigest = await fetchManifest(p.client, p.repository, image.manifest.digest, { size: image.manifest.size });
    assert.equal(byDigest.digest, image.manifest.digest);

    const head = await headManifest(p.client, p.repository, 'latest');
    assert.deepEqual(head, { digest: image.manifest.digest, mediaType: OCI_MANIFEST, size: image.manifest.size });
    assert.equal(await headManifest(p.client, p.repository, 'no-such-tag'), undefined);
  });

  it('reports a missing tag, repository and blob as not-found naming them', async (t) => {
    const p = await pushed(t, 'busybox');
    if (p === undefined) return;
    await assert.rejects(fetchManifest(p.client, p.repository, 'nope'), (e: unknown) => {
      assert.ok(isTscError(e) && e.code === 'not-found', String(e));
      assert.match(e.message, new RegExp(`^manifest nope of ${p.registry}/${p.repository}: ${p.registry} answered 404 \\(manifest_unknown`));
      return true;
    });
    const missing = `sha256:${'0'.repeat(64)}`;
    await assert.rejects(fetchBlob(p.client, p.repository, { digest: missing, size: 1 }), (e: unknown) => {
      assert.ok(isTscError(e) && e.code === 'not-found', String(e));
      assert.match(e.message, /blob sha256:0{64} from .* answered 404/);
      return true;
    });
  });

  it('chooses the platform from an index: the host, an override, or a clear error', async (t) => {
    const p = await pushed(t, 'multi');
    if (p === undefined) return;
    const [amd64, arm64] = p.layout.images;
    const ref = parseReference(`${p.registry}/${p.repository}:multi`);

    const arm = await resolveImage(p.client, ref, { platform: 'linux/arm64' });
    assert.equal(arm.digest, p.layout.top.digest);
    assert.equal(arm.index?.mediaType, OCI_INDEX);
    assert.equal(arm.manifest.digest, arm64!.manifest.digest);
    assert.deepEqual(arm.platform, { os: 'linux', architecture: 'arm64', variant: '' });

    const amd = await resolveImage(p.client, ref, { platform: 'linux/x86_64' });
    assert.equal(amd.manifest.digest, amd64!.manifest.digest);

    if (['amd64', 'arm64'].includes(hostPlatform().architecture)) {
      const host = await resolveImage(p.client, ref);
      assert.equal(host.manifest.digest, (hostPlatform().architecture === 'amd64' ? amd64 : arm64)!.manifest.digest);
    }
    await assert.rejects(resolveImage(p.client, ref, { platform: 'linux/riscv64' }), (e: unknown) => {
      assert.ok(isTscError(e) && e.code === 'not-found', String(e));
      assert.equal(e.message, `${p.registry}/${p.repository}:multi has no image for linux/riscv64; it offers linux/amd64, linux/arm64/v8`);
      return true;
    });
  });

  it('downloads blobs into memory and into a file, verified', async (t) => {
    const p = await pushed(t, 'busybox');
    if (p === undefined) return;
    const image = p.layout.images[0]!;
    const config = await fetchBlob(p.client, p.repository, image.config);
    assert.deepEqual(Buffer.from(config), image.config.bytes);

    const layer = image.layers[0]!;
    const file = join(tempDir(t, 'blob'), 'layer');
    const handle = await open(file, 'w');
    let progress = 0;
    try {
      const result = await downloadBlob(p.client, p.repository, layer, fileSink(handle), { onProgress: (n) => (progress = n) });
      assert.deepEqual(result, { digest: layer.digest, size: layer.size, resumes: 0, restarts: 0 });
    } finally {
      await handle.close();
    }
    assert.equal(progress, layer.size);
    assert.deepEqual(await readFile(file), layer.bytes);

    const sink = memorySink();
    await downloadBlob(p.client, p.repository, layer, sink);
    assert.deepEqual(Buffer.from(sink.bytes()), layer.bytes);
  });

  it('reads docker schema 2 manifests and manifest lists the registry stores', async (t) => {
    const p = await pushed(t, 'multi');
    if (p === undefined) return;
    const [amd64, arm64] = p.layout.images;
    const asDocker = (img: typeof amd64) => Buffer.from(JSON.stringify({
      schemaVersion: 2,
      mediaType: DOCKER_MANIFEST,
      config: { mediaType: 'application/vnd.docker.container.image.v1+json', digest: img!.config.digest, size: img!.config.size },
      layers: img!.layers.map((l) => ({ mediaType: 'application/vnd.docker.image.rootfs.diff.tar.gzip', digest: l.digest, size: l.size })),
    }));
    const docker = [asDocker(amd64), asDocker(arm64)];
    const digests = await Promise.all(docker.map((bytes) => putManifest(p.client, p.repository, 'docker-single', bytes, DOCKER_MANIFEST)));
    const list = Buffer.from(JSON.stringify({
      schemaVersion: 2,
      mediaType: DOCKER_MANIFEST_LIST,
      manifests: [
        { mediaType: DOCKER_MANIFEST, digest: digests[0], size: docker[0]!.byteLength, platform: { architecture: 'amd64', os: 'linux' } },
        { mediaType: DOCKER_MANIFEST, digest: digests[1], size: docker[1]!.byteLength, platform: { architecture: 'arm64', os: 'linux', variant: 'v8' } },
      ],
    }));
    const listDigest = await putManifest(p.client, p.repository, 'docker-list', list, DOCKER_MANIFEST_LIST);

    const resolved = await resolveImage(p.client, parseReference(`${p.registry}/${p.repository}:docker-list`), { platform: 'linux/arm64/v8' });
    assert.equal(resolved.digest, listDigest);
    assert.equal(resolved.index?.mediaType, DOCKER_MANIFEST_LIST);
    assert.equal(resolved.manifest.mediaType, DOCKER_MANIFEST);
    assert.equal(resolved.manifest.digest, digests[1]);
  });

  it('lists tags and the catalog across pages', async (t) => {
    const p = await pushed(t, 'busybox');
    if (p === undefined) return;
    for (const tag of ['b', 'a', 'c']) skopeoPush(p.layout, p.registry, p.repository, tag);
    assert.deepEqual((await listTags(p.client, p.repository)).sort(), ['a', 'b', 'c', 'latest']);
    assert.deepEqual((await listTags(p.client, p.repository, { pageSize: 1 })).sort(), ['a', 'b', 'c', 'latest']);
    const repositories = await catalog(p.client, { pageSize: 1 });
    assert.ok(repositories.includes(p.repository), `${p.repository} not in ${repositories.length} repositories`);
    assert.equal(new Set(repositories).size, repositories.length, 'no repository twice across pages');
  });
});
