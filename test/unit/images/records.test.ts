import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { openDatabase } from '../../../src/engine/state/db.ts';
import {
  completeImage, getImage, imageByIdPrefix, imageByRepoDigest, imageByTag, imageLayers, layerState, listImages, removeImage, saveImage,
  setLayerReady, tagImage, untag, type NewImage,
} from '../../../src/engine/images/records.ts';
import { chainIds } from '../../../src/engine/images/chain.ts';
import { TscError } from '../../../src/engine/errors.ts';

const hex = (c: string) => c.repeat(64);
const d = (c: string) => `sha256:${hex(c)}`;

function image(id: string, layerDiffs: string[], manifest: string): NewImage {
  const chains = chainIds(layerDiffs);
  return {
    id,
    manifestDigest: manifest,
    repoDigests: [`127.0.0.1:5000/x@${manifest}`],
    platform: 'linux/amd64',
    created: '2026-01-01T00:00:00Z',
    blobs: [
      { digest: manifest, size: 500, mediaType: 'application/vnd.oci.image.manifest.v1+json' },
      { digest: id, size: 300, mediaType: 'application/vnd.oci.image.config.v1+json' },
      ...layerDiffs.map((diff) => ({ digest: `${diff}-blob`, size: 1000, mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip' })),
    ],
    layers: layerDiffs.map((diff, i) => ({ chainId: chains[i]!, diffId: diff, blobDigest: `${diff}-blob`, size: 1000 })),
  };
}

describe('image records', () => {
  it('saves an image with its layers and tags, and finds it every way', () => {
    const db = openDatabase(':memory:');
    saveImage(db, image(d('a'), [d('1'), d('2')], d('m')), ['docker.io/library/busybox:latest']);
    assert.equal(listImages(db).length, 1);
    const byTag = imageByTag(db, 'docker.io/library/busybox:latest');
    assert.equal(byTag?.id, d('a'));
    assert.equal(byTag?.size, 2000);
    assert.deepEqual(byTag?.tags, ['docker.io/library/busybox:latest']);
    assert.equal(imageByIdPrefix(db, 'aaaa')?.id, d('a'));
    assert.equal(imageByIdPrefix(db, `sha256:${hex('a')}`)?.id, d('a'));
    assert.equal(imageByIdPrefix(db, 'bbbb'), undefined);
    assert.equal(imageByRepoDigest(db, `127.0.0.1:5000/x@${d('m')}`)?.id, d('a'));
    assert.deepEqual(imageLayers(db, d('a')).map((l) => l.diffId), [d('1'), d('2')]);
    assert.equal(layerState(db, chainIds([d('1')])[0]!), 'unpacking');
    setLayerReady(db, chainIds([d('1')])[0]!);
    assert.equal(layerState(db, chainIds([d('1')])[0]!), 'ready');
  });

  it('moves a tag to the newer image, leaving the old one dangling', () => {
    const db = openDatabase(':memory:');
    saveImage(db, image(d('a'), [d('1')], d('m')), ['r/x:latest']);
    saveImage(db, image(d('b'), [d('1'), d('3')], d('n')), ['r/x:latest']);
    assert.equal(imageByTag(db, 'r/x:latest')?.id, d('b'));
    assert.deepEqual(getImage(db, d('a'))?.tags, []);
    tagImage(db, d('a'), 'r/x:old');
    assert.deepEqual(getImage(db, d('a'))?.tags, ['r/x:old']);
    assert.equal(untag(db, 'r/x:old'), true);
    assert.equal(untag(db, 'r/x:old'), false);
  });

  it('refuses an ambiguous id prefix', () => {
    const db = openDatabase(':memory:');
    saveImage(db, image(`sha256:ab${hex('1').slice(2)}`, [d('1')], d('m')), []);
    saveImage(db, image(`sha256:ac${hex('1').slice(2)}`, [d('2')], d('n')), []);
    assert.throws(() => imageByIdPrefix(db, 'a'), (e: unknown) => e instanceof TscError && /ambiguous/.test(e.message));
    assert.equal(imageByIdPrefix(db, 'ab')?.id, `sha256:ab${hex('1').slice(2)}`);
  });

  it('removing an image frees only what no other image shares', () => {
    const db = openDatabase(':memory:');
    saveImage(db, image(d('a'), [d('1'), d('2')], d('m')), ['r/a:1']);
    saveImage(db, image(d('b'), [d('1'), d('3')], d('n')), ['r/b:1']);
    const chains = { a: chainIds([d('1'), d('2')]), b: chainIds([d('1'), d('3')]) };
    const removal = removeImage(db, d('a'));
    assert.deepEqual(removal.blobs.sort(), [d('a'), `${d('2')}-blob`, d('m')].sort());
    assert.deepEqual(removal.layers, [chains.a[1]]);
    assert.equal(imageByTag(db, 'r/a:1'), undefined, 'its tags went with it');
    const last = removeImage(db, d('b'));
    assert.deepEqual(last.layers, [chains.b[1], chains.b[0]], 'the child layer before its parent');
    assert.equal(db.prepare('SELECT count(*) AS n FROM blobs').get()!.n, 0);
  });

  it('lets the caller veto a removal, and names a missing image', () => {
    const db = openDatabase(':memory:');
    saveImage(db, image(d('a'), [d('1')], d('m')), []);
    assert.throws(() => removeImage(db, d('a'), () => 'container web'), (e: unknown) => e instanceof TscError && e.code === 'conflict' && /in use by container web/.test(e.message));
    assert.ok(getImage(db, d('a')), 'nothing was removed');
    assert.throws(() => removeImage(db, d('f')), (e: unknown) => e instanceof TscError && e.code === 'not-found');
  });
});

describe('chainIds', () => {
  it('follows the OCI definition', () => {
    // The spec's own example values would need real layers; check the recurrence instead.
    const [c0, c1] = chainIds([d('1'), d('2')]);
    assert.equal(c0, d('1'));
    const { createHash } = require_crypto();
    assert.equal(c1, `sha256:${createHash('sha256').update(`${d('1')} ${d('2')}`).digest('hex')}`);
    assert.deepEqual(chainIds([]), []);
  });
});

function require_crypto() {
  return process.getBuiltinModule('node:crypto');
}

describe('images being pulled', () => {
  it('are hidden and untagged until complete, and hold their layers against removal of other images', () => {
    const db = openDatabase(':memory:');
    saveImage(db, image(d('a'), [d('1')], d('m')), ['r/a:1']);
    saveImage(db, image(d('b'), [d('1'), d('2')], d('n')), ['r/b:1'], new Date(), 'pulling');
    assert.deepEqual(listImages(db).map((i) => i.id), [d('a')]);
    assert.equal(imageByTag(db, 'r/b:1'), undefined);
    const removal = removeImage(db, d('a'));
    assert.deepEqual(removal.layers, [], 'the pulling image still needs layer 1');
    assert.ok(!removal.blobs.includes(`${d('1')}-blob`));
    completeImage(db, d('b'), ['r/b:1']);
    assert.equal(imageByTag(db, 'r/b:1')?.id, d('b'));
  });
  it('a complete image stays complete when pulled again', () => {
    const db = openDatabase(':memory:');
    saveImage(db, image(d('a'), [d('1')], d('m')), ['r/a:1']);
    saveImage(db, image(d('a'), [d('1')], d('m')), [], new Date(), 'pulling');
    assert.equal(getImage(db, d('a'))?.tags[0], 'r/a:1');
  });
});
