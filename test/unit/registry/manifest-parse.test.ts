import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { ErrorCode } from '../../../src/engine/errors.ts';
import { isTscError } from '../../../src/engine/errors.ts';
import { parseManifest, type Manifest } from '../../../src/engine/registry/manifest-parse.ts';
import {
  DOCKER_CONFIG,
  DOCKER_LAYER_GZIP,
  DOCKER_MANIFEST,
  DOCKER_MANIFEST_LIST,
  OCI_CONFIG,
  OCI_INDEX,
  OCI_LAYER_GZIP,
  OCI_MANIFEST,
} from '../../../src/engine/registry/media-types.ts';

const D1 = `sha256:${'1'.repeat(64)}`;
const D2 = `sha256:${'2'.repeat(64)}`;
const config = { mediaType: OCI_CONFIG, digest: D1, size: 100 };
const layer = { mediaType: OCI_LAYER_GZIP, digest: D2, size: 2000 };
const ociManifest = { schemaVersion: 2, mediaType: OCI_MANIFEST, config, layers: [layer] };
const ociIndex = {
  schemaVersion: 2,
  mediaType: OCI_INDEX,
  manifests: [{ mediaType: OCI_MANIFEST, digest: D1, size: 500, platform: { architecture: 'arm', os: 'linux', variant: 'v7' } }],
};

interface Good {
  name: string;
  doc: unknown;
  contentType?: string;
  expected: Partial<Manifest> & { kind: Manifest['kind']; mediaType: string };
}

const good: Good[] = [
  { name: 'OCI image manifest', doc: ociManifest, expected: { kind: 'manifest', mediaType: OCI_MANIFEST, config, layers: [layer] } },
  { name: 'OCI index', doc: ociIndex, expected: { kind: 'index', mediaType: OCI_INDEX, manifests: ociIndex.manifests } },
  {
    name: 'docker schema 2 manifest',
    doc: { schemaVersion: 2, mediaType: DOCKER_MANIFEST, config: { ...config, mediaType: DOCKER_CONFIG }, layers: [{ ...layer, mediaType: DOCKER_LAYER_GZIP }] },
    contentType: DOCKER_MANIFEST,
    expected: { kind: 'manifest', mediaType: DOCKER_MANIFEST },
  },
  {
    name: 'docker manifest list',
    doc: { schemaVersion: 2, mediaType: DOCKER_MANIFEST_LIST, manifests: [{ mediaType: DOCKER_MANIFEST, digest: D1, size: 5, platform: { architecture: 'amd64', os: 'linux' } }] },
    expected: { kind: 'index', mediaType: DOCKER_MANIFEST_LIST },
  },
  { name: 'no mediaType field: taken from Content-Type', doc: { ...ociManifest, mediaType: undefined }, contentType: `${OCI_MANIFEST}; charset=utf-8`, expected: { kind: 'manifest', mediaType: OCI_MANIFEST } },
  { name: 'no mediaType anywhere: an index by its shape', doc: { ...ociIndex, mediaType: undefined }, contentType: 'application/json', expected: { kind: 'index', mediaType: OCI_INDEX } },
  { name: 'no mediaType anywhere: a manifest by its shape', doc: { ...ociManifest, mediaType: undefined }, expected: { kind: 'manifest', mediaType: OCI_MANIFEST } },
  { name: 'an empty layer list (artifacts)', doc: { ...ociManifest, layers: [] }, expected: { kind: 'manifest', mediaType: OCI_MANIFEST, layers: [] } },
  {
    name: 'OCI 1.1 fields: artifactType, subject, annotations, urls, data',
    doc: { ...ociManifest, artifactType: 'application/x-sbom', subject: { mediaType: OCI_MANIFEST, digest: D2, size: 9 }, annotations: { a: 'b' },
      layers: [{ ...layer, urls: ['https://example.com/l'], annotations: { k: 'v' }, data: 'e30=' }] },
    expected: { kind: 'manifest', mediaType: OCI_MANIFEST, artifactType: 'application/x-sbom', annotations: { a: 'b' } },
  },
  {
    name: 'an index entry without a platform (OCI allows it)',
    doc: { ...ociIndex, manifests: [{ mediaType: OCI_MANIFEST, digest: D1, size: 1 }] },
    expected: { kind: 'index', mediaType: OCI_INDEX },
  },
  { name: 'a sha512 digest', doc: { ...ociManifest, config: { ...config, digest: `sha512:${'a'.repeat(128)}` } }, expected: { kind: 'manifest', mediaType: OCI_MANIFEST } },
];

interface Bad {
  name: string;
  doc: unknown;
  contentType?: string;
  code: ErrorCode;
  message: RegExp;
}

const bad: Bad[] = [
  { name: 'not json', doc: '{not json', code: 'invalid-content', message: /not valid json/ },
  { name: 'not an object', doc: [1, 2], code: 'invalid-content', message: /not a json object/ },
  { name: 'docker schema 1 by schemaVersion', doc: { schemaVersion: 1, name: 'x', fsLayers: [] }, code: 'unsupported', message: /uses docker schema 1/ },
  { name: 'docker schema 1 by Content-Type', doc: { name: 'x' }, contentType: 'application/vnd.docker.distribution.manifest.v1+prettyjws', code: 'unsupported', message: /docker schema 1/ },
  { name: 'an unknown media type', doc: { schemaVersion: 2, mediaType: 'application/vnd.cncf.helm.config.v1+json' }, code: 'unsupported', message: /unsupported media type application\/vnd\.cncf\.helm/ },
  { name: 'mediaType contradicting the Content-Type', doc: ociManifest, contentType: OCI_INDEX, code: 'invalid-content', message: /declares media type .*manifest.* but was served as .*index/ },
  { name: 'a manifest that is also an index', doc: { ...ociManifest, manifests: [] }, code: 'invalid-content', message: /must not have "manifests"/ },
  { name: 'an index that is also a manifest', doc: { ...ociIndex, layers: [] }, code: 'invalid-content', message: /must not have "config" or "layers"/ },
  { name: 'ambiguous without any media type', doc: { schemaVersion: 2, config, manifests: [] }, code: 'invalid-content', message: /neither an image manifest nor an index/ },
  { name: 'schemaVersion 3', doc: { ...ociManifest, schemaVersion: 3 }, code: 'invalid-content', message: /schemaVersion is 3, expected 2/ },
  { name: 'schemaVersion missing', doc: { ...ociManifest, schemaVersion: undefined }, code: 'invalid-content', message: /schemaVersion is undefined/ },
  { name: 'mediaType not a string', doc: { ...ociManifest, mediaType: 7 }, code: 'invalid-content', message: /mediaType is not a string/ },
  { name: 'config missing', doc: { ...ociManifest, config: undefined }, code: 'invalid-content', message: /config is missing/ },
  { name: 'layers not an array', doc: { ...ociManifest, layers: {} }, code: 'invalid-content', message: /layers is missing or not an array/ },
  { name: 'a bad layer digest', doc: { ...ociManifest, layers: [{ ...layer, digest: 'sha256:abc' }] }, code: 'invalid-content', message: /layers\[0\]\.digest "sha256:abc" is not a valid digest/ },
  { name: 'a negative size', doc: { ...ociManifest, config: { ...config, size: -1 } }, code: 'invalid-content', message: /config\.size is not a non-negative integer/ },
  { name: 'a fractional size', doc: { ...ociManifest, layers: [{ ...layer, size: 1.5 }] }, code: 'invalid-content', message: /layers\[0\]\.size/ },
  { name: 'a size as a string', doc: { ...ociManifest, layers: [{ ...layer, size: '12' }] }, code: 'invalid-content', message: /layers\[0\]\.size/ },
  { name: 'a descriptor without mediaType', doc: { ...ociManifest, config: { digest: D1, size: 1 } }, code: 'invalid-content', message: /config\.mediaType is missing/ },
  { name: 'annotations with a number', doc: { ...ociManifest, annotations: { a: 1 } }, code: 'invalid-content', message: /annotations\["a"\] is not a string/ },
  { name: 'urls not strings', doc: { ...ociManifest, layers: [{ ...layer, urls: [1] }] }, code: 'invalid-content', message: /layers\[0\]\.urls is not an array of strings/ },
  { name: 'manifests missing in an index', doc: { schemaVersion: 2, mediaType: OCI_INDEX }, code: 'invalid-content', message: /manifests is missing/ },
  { name: 'a platform without os', doc: { ...ociIndex, manifests: [{ ...ociIndex.manifests[0], platform: { architecture: 'amd64' } }] }, code: 'invalid-content', message: /manifests\[0\]\.platform\.os is missing/ },
  { name: 'a docker list entry without platform', doc: { schemaVersion: 2, mediaType: DOCKER_MANIFEST_LIST, manifests: [{ mediaType: DOCKER_MANIFEST, digest: D1, size: 1 }] }, code: 'invalid-content', message: /manifests\[0\]\.platform is missing/ },
];

const bytes = (doc: unknown) => Buffer.from(typeof doc === 'string' ? doc : JSON.stringify(doc));

describe('parseManifest: good manifests', () => {
  for (const c of good) {
    test(c.name, () => {
      const manifest = parseManifest(bytes(c.doc), c.contentType, 'latest of r/x');
      for (const [key, value] of Object.entries(c.expected)) assert.deepEqual(manifest[key as keyof Manifest], value, key);
    });
  }
});

describe('parseManifest: bad manifests', () => {
  for (const c of bad) {
    test(c.name, () => {
      assert.throws(() => parseManifest(bytes(c.doc), c.contentType, 'latest of r/x'), (e: unknown) => {
        assert.ok(isTscError(e), String(e));
        assert.equal(e.code, c.code, e.message);
        assert.match(e.message, c.message);
        assert.match(e.message, /latest of r\/x/);
        return true;
      });
    });
  }
  test('invalid utf-8', () => {
    assert.throws(() => parseManifest(Buffer.from([0x7b, 0xff, 0x7d]), undefined, 's'), (e: unknown) => isTscError(e) && e.code === 'invalid-content');
  });
});
