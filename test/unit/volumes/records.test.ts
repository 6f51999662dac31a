/**
 * The volume operations against a real store in a temp dir, as the current user with no
 * user namespace (maps undefined): rows and directories appear and go together, a volume
 * a container uses is refused by rm and skipped by prune, and detach removes the
 * container's anonymous volumes only.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import type { EngineContext } from '../../../src/engine/context.ts';
import { openImageStore, type ImageStore } from '../../../src/engine/images/store.ts';
import { attachVolumes, containerVolumes, createVolume, detachVolumes, inspectVolumes, listVolumes, pruneVolumes, removeVolumes } from '../../../src/engine/volumes/index.ts';
import type { MountRequest } from '../../../src/engine/runtime/spec/mounts.ts';

const dir = mkdtempSync(join(tmpdir(), 'tsc-volumes-'));
after(() => rmSync(dir, { recursive: true, force: true }));

async function context(name: string): Promise<{ ctx: EngineContext; store: ImageStore }> {
  const store = await openImageStore(join(dir, name));
  const ctx = {
    store: async () => store,
    helper: async () => '/nonexistent/tsc-helper',
    maps: async () => undefined,
  } as unknown as EngineContext;
  after(() => store.close());
  return { ctx, store };
}

function addContainer(store: ImageStore, id: string, name: string): void {
  store.db.prepare("INSERT OR IGNORE INTO images (id, manifest_digest, added_at) VALUES ('sha256:img', 'sha256:m', 'now')").run();
  store.db.prepare("INSERT INTO containers (id, name, image_id, image_name, created_at, state, config) VALUES (?, ?, 'sha256:img', 'img', 'now', 'created', '{}')").run(id, name);
}

const volume = (destination: string, source?: string, nocopy = true): MountRequest => ({
  kind: 'volume', destination, readonly: false, flags: [], origin: `-v ${destination}`, nocopy, ...(source === undefined ? {} : { source }),
});

describe('volume records', () => {
  it('creates a volume once, with its _data directory, and removes both', async () => {
    const { ctx, store } = await context('create');
    const made = await createVolume(ctx, { name: 'data1', labels: { a: 'b' } });
    assert.equal(made.Mountpoint, join(store.root, 'volumes', 'data1', '_data'));
    assert.ok(existsSync(made.Mountpoint));
    writeFileSync(join(made.Mountpoint, 'kept'), 'x');
    const again = await createVolume(ctx, { name: 'data1' });
    assert.deepEqual(again.Labels, { a: 'b' }, 'an existing volume is returned as it was');
    assert.ok(existsSync(join(made.Mountpoint, 'kept')));
    const anon = await createVolume(ctx);
    assert.match(anon.Name, /^[0-9a-f]{64}$/);
    assert.deepEqual((await listVolumes(ctx)).map((v) => v.Name).sort(), [anon.Name, 'data1'].sort());
    const reports = await removeVolumes(ctx, ['data1', 'missing']);
    assert.deepEqual(reports.map((r) => [r.name, r.removed, r.error?.code]), [['data1', true, undefined], ['missing', false, 'not-found']]);
    assert.equal((await removeVolumes(ctx, ['missing'], { force: true }))[0]!.error, undefined);
    assert.equal(existsSync(join(store.root, 'volumes', 'data1')), false);
    assert.deepEqual(readdirSync(store.tmpDir), [], 'nothing left in tmp/');
    assert.equal((await inspectVolumes(ctx, ['data1']))[0]!.error?.code, 'not-found');
  });

  it('attaches named and anonymous volumes, refuses rm while used, and detach removes only anonymous ones', async () => {
    const { ctx, store } = await context('attach');
    const id = 'c'.repeat(64);
    addContainer(store, id, 'web');
    const sources = await attachVolumes(ctx, { containerId: id, requests: [volume('/data', 'shared'), volume('/cache'), volume('/empty', undefined, false)], imageLayersTopFirst: [] });
    assert.deepEqual(Object.keys(sources).sort(), ['/cache', '/empty', 'shared']);
    const mounts = await containerVolumes(ctx, id);
    assert.deepEqual(mounts.map((m) => [m.destination, m.anonymous, m.source === sources[m.anonymous ? m.destination : m.name]]), [
      ['/cache', true, true], ['/data', false, true], ['/empty', true, true],
    ]);
    assert.equal(sources.shared, join(store.root, 'volumes', 'shared', '_data'));
    for (const path of Object.values(sources)) assert.ok(existsSync(path), path);
    const listed = await listVolumes(ctx);
    assert.equal(listed.length, 3);
    assert.deepEqual(listed.filter((v) => v.Anonymous).length, 2);
    assert.ok(listed.every((v) => v.Links === 1));
    assert.deepEqual((await listVolumes(ctx, { filters: ['dangling=true'] })).length, 0);

    const refused = await removeVolumes(ctx, ['shared'], { force: true });
    assert.equal(refused[0]!.error?.code, 'conflict');
    assert.match(refused[0]!.error!.message, /volume shared is in use by container web \(cccccccccccc\)/);
    assert.deepEqual((await pruneVolumes(ctx, { all: true })).deleted, [], 'prune leaves used volumes');

    const removed = await detachVolumes(ctx, id, { removeAnonymous: true });
    assert.equal(removed.length, 2);
    assert.deepEqual(await containerVolumes(ctx, id), []);
    assert.deepEqual((await listVolumes(ctx)).map((v) => v.Name), ['shared']);
    for (const name of removed) assert.equal(existsSync(join(store.root, 'volumes', name)), false);
    assert.equal((await removeVolumes(ctx, ['shared']))[0]!.removed, true);
  });

  it('keeps anonymous volumes on detach without removeAnonymous, and prune without -a takes only them', async () => {
    const { ctx, store } = await context('prune');
    const id = 'd'.repeat(64);
    addContainer(store, id, 'job');
    await createVolume(ctx, { name: 'named-unused', labels: { keep: 'no' } });
    await attachVolumes(ctx, { containerId: id, requests: [volume('/scratch')], imageLayersTopFirst: [] });
    assert.deepEqual(await detachVolumes(ctx, id, { removeAnonymous: false }), []);
    const [anon] = (await listVolumes(ctx, { filters: ['label=com.docker.volume.anonymous'] })).map((v) => v.Name);
    writeFileSync(join(store.root, 'volumes', anon!, '_data', 'f'), 'x'.repeat(1500));
    const first = await pruneVolumes(ctx);
    assert.deepEqual(first, { deleted: [anon], reclaimedBytes: 1500 });
    assert.deepEqual((await pruneVolumes(ctx, { all: true, filters: ['label=keep=yes'] })).deleted, []);
    assert.deepEqual((await pruneVolumes(ctx, { all: true, filters: ['label=keep'] })).deleted, ['named-unused']);
  });

  it('refuses to attach to a container without a record, and leaves nothing behind', async () => {
    const { ctx } = await context('orphan');
    await assert.rejects(attachVolumes(ctx, { containerId: 'e'.repeat(64), requests: [volume('/x', 'vx')], imageLayersTopFirst: [] }));
    assert.deepEqual(await listVolumes(ctx), []);
  });
});
