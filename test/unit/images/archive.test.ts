import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { gzipSync } from 'node:zlib';
import { ContentStore } from '../../../src/engine/content/store.ts';
import { TscError } from '../../../src/engine/errors.ts';
import { tarBuffer } from '../../../src/engine/layers/tar-write.ts';
import { dockerManifestJson, parseDockerManifest, repositoriesJson, shortName } from '../../../src/engine/images/archive-docker.ts';
import {
  checkLayout, indexJson, nameFromAnnotations, OCI_LAYOUT, parseIndexJson, tagOnly, wholeReference, type ArchivedImage,
} from '../../../src/engine/images/archive-oci.ts';
import {
  asArchiveError, blobPath, linkTarget, normaliseArchivePath, readArchive, unsupportedCompression,
} from '../../../src/engine/images/archive-read.ts';
import { ociManifest } from '../../../src/engine/images/install.ts';

const dir = mkdtempSync(join(tmpdir(), 'tsc-archive-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const sha = (b: Uint8Array | string) => `sha256:${createHash('sha256').update(b).digest('hex')}`;
const d = (c: string) => `sha256:${c.repeat(64)}`;

async function store(name: string): Promise<ContentStore> {
  const s = new ContentStore(join(dir, name));
  await s.init();
  return s;
}

async function* chunks(buffer: Buffer, size = 700): AsyncGenerator<Buffer> {
  for (let i = 0; i < buffer.length; i += size) yield buffer.subarray(i, i + size);
}

const image: ArchivedImage = {
  id: d('c'),
  tags: ['docker.io/library/busybox:latest', '127.0.0.1:5000/tsc-test/app:1'],
  manifest: { mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: d('m'), size: 559 },
  layers: [d('1'), d('2')],
  diffIds: [d('a'), d('b')],
};

describe('docker-archive metadata', () => {
  it('writes manifest.json and repositories as docker 25+ does', () => {
    assert.equal(
      dockerManifestJson([image, { ...image, id: d('e'), tags: [] }]).toString(),
      `[{"Config":"blobs/sha256/${'c'.repeat(64)}","RepoTags":["busybox:latest","127.0.0.1:5000/tsc-test/app:1"],"Layers":["blobs/sha256/${'1'.repeat(64)}","blobs/sha256/${'2'.repeat(64)}"]},`
        + `{"Config":"blobs/sha256/${'e'.repeat(64)}","RepoTags":null,"Layers":["blobs/sha256/${'1'.repeat(64)}","blobs/sha256/${'2'.repeat(64)}"]}]\n`,
    );
    assert.deepEqual(JSON.parse(repositoriesJson([image])!.toString()), {
      busybox: { latest: 'b'.repeat(64) },
      '127.0.0.1:5000/tsc-test/app': { '1': 'b'.repeat(64) },
    });
    assert.equal(repositoriesJson([{ ...image, tags: [] }]), undefined);
  });

  it('reads manifest.json from docker, podman and tsc', () => {
    const items = parseDockerManifest(Buffer.from(JSON.stringify([
      { Config: 'abc.json', RepoTags: ['busybox:latest'], Layers: ['x/layer.tar'] },
      { Config: 'blobs/sha256/def', RepoTags: null, Layers: [], LayerSources: {} },
    ])), 'a.tar');
    assert.deepEqual(items, [
      { config: 'abc.json', repoTags: ['busybox:latest'], layers: ['x/layer.tar'] },
      { config: 'blobs/sha256/def', repoTags: [], layers: [] },
    ]);
  });

  for (const [name, text, message] of [
    ['not JSON', '[', /manifest\.json in a\.tar is not valid: not JSON/],
    ['not a list', '{}', /it is not a list/],
    ['empty', '[]', /it lists no images/],
    ['no config', '[{"Layers":[]}]', /image 1 has no Config/],
    ['no layers', '[{"Config":"c"}]', /image 1 has no list of Layers/],
    ['bad tags', '[{"Config":"c","Layers":[],"RepoTags":"x"}]', /RepoTags that are not a list/],
  ] as const) {
    it(`refuses manifest.json that is ${name}`, () => {
      assert.throws(() => parseDockerManifest(Buffer.from(text), 'a.tar'), (e: unknown) => e instanceof TscError && e.code === 'invalid-content' && message.test(e.message));
    });
  }

  it('shortens names as docker shows them', () => {
    assert.equal(shortName('docker.io/library/busybox:latest'), 'busybox:latest');
    assert.equal(shortName('docker.io/user/app:2'), 'user/app:2');
    assert.equal(shortName('localhost:5000/x:y'), 'localhost:5000/x:y');
  });
});

describe('oci-archive metadata', () => {
  it('writes index.json with one descriptor per name', () => {
    const index = JSON.parse(indexJson([image, { ...image, id: d('e'), tags: [], manifest: { ...image.manifest, digest: d('n') } }], tagOnly).toString());
    assert.equal(index.mediaType, 'application/vnd.oci.image.index.v1+json');
    assert.deepEqual(index.manifests.map((m: { annotations?: Record<string, string> }) => m.annotations), [
      { 'io.containerd.image.name': 'docker.io/library/busybox:latest', 'org.opencontainers.image.ref.name': 'latest' },
      { 'io.containerd.image.name': '127.0.0.1:5000/tsc-test/app:1', 'org.opencontainers.image.ref.name': '1' },
      undefined,
    ]);
    const oci = JSON.parse(indexJson([image], wholeReference).toString());
    assert.equal(oci.manifests[1].annotations['org.opencontainers.image.ref.name'], '127.0.0.1:5000/tsc-test/app:1');
    assert.equal(OCI_LAYOUT.toString(), '{"imageLayoutVersion": "1.0.0"}');
  });

  for (const [annotations, name] of [
    [{ 'io.containerd.image.name': 'docker.io/library/busybox:latest', 'org.opencontainers.image.ref.name': 'latest' }, 'docker.io/library/busybox:latest'],
    [{ 'org.opencontainers.image.ref.name': '127.0.0.1:5000/x:1' }, '127.0.0.1:5000/x:1'],
    [{ 'org.opencontainers.image.ref.name': 'busybox:1.36' }, 'docker.io/library/busybox:1.36'],
    [{ 'org.opencontainers.image.ref.name': 'latest' }, undefined],
    [{ 'io.containerd.image.name': `x@${d('1')}` }, undefined],
    [undefined, undefined],
  ] as const) {
    it(`names ${JSON.stringify(annotations)} ${name ?? 'nothing'}`, () => {
      assert.equal(nameFromAnnotations(annotations, 'a.tar'), name);
    });
  }

  it('refuses a name that is not a reference', () => {
    assert.throws(() => nameFromAnnotations({ 'io.containerd.image.name': 'Not/Valid' }, 'a.tar'), /index\.json in a\.tar names an image "Not\/Valid"/);
  });

  it('reads index.json, leaving out artifacts', () => {
    const entries = parseIndexJson(Buffer.from(JSON.stringify({
      schemaVersion: 2,
      manifests: [
        { mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: d('1'), size: 1, annotations: { 'org.opencontainers.image.ref.name': 'a/b:c' } },
        { mediaType: 'application/vnd.oci.image.index.v1+json', digest: d('2'), size: 2 },
        { mediaType: 'application/vnd.example.sbom', digest: d('3'), size: 3 },
      ],
    })), 'a.tar');
    assert.deepEqual(entries.map((e) => [e.kind, e.descriptor.digest, e.name]), [['manifest', d('1'), 'docker.io/a/b:c'], ['index', d('2'), undefined]]);
  });

  it('checks oci-layout', () => {
    checkLayout(Buffer.from('{"imageLayoutVersion":"1.0.0"}'), 'a.tar');
    assert.throws(() => checkLayout(Buffer.from('{}'), 'a.tar'), /oci-layout in a\.tar is not valid/);
    assert.throws(() => checkLayout(Buffer.from('{"imageLayoutVersion":"2.0.0"}'), 'a.tar'), /version 2\.0\.0/);
  });

  it('makes the OCI manifest docker 25+ writes, byte for byte', () => {
    const m = ociManifest(
      { mediaType: 'application/vnd.oci.image.config.v1+json', digest: d('c'), size: 10 },
      [{ mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: d('1'), size: 20 }],
    );
    const text = `{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"${d('c')}","size":10},`
      + `"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar","digest":"${d('1')}","size":20}]}`;
    assert.equal(m.bytes.toString(), text);
    assert.equal(m.digest, sha(text));
    assert.equal(m.size, text.length);
  });
});

describe('archive paths and compressions', () => {
  for (const [input, output] of [['./a/b', 'a/b'], ['/a//b/', 'a/b'], ['a/./b/../c', 'a/c'], ['.', ''], ['../x', '../x'], ['a/../../x', '../x']] as const) {
    it(`normalises ${input} to ${output}`, () => assert.equal(normaliseArchivePath(input), output));
  }

  it('resolves links inside the archive', () => {
    assert.equal(linkTarget('abc/layer.tar', '../def/layer.tar', 'symlink'), 'def/layer.tar');
    assert.equal(linkTarget('abc/layer.tar', '/def/layer.tar', 'symlink'), 'def/layer.tar');
    assert.equal(linkTarget('abc/layer.tar', 'def/layer.tar', 'hardlink'), 'def/layer.tar');
    assert.equal(linkTarget('abc/layer.tar', '../../etc/passwd', 'symlink'), '../etc/passwd');
  });

  it('tells the compressions tsc cannot read', () => {
    assert.equal(unsupportedCompression(Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00])), 'xz');
    assert.equal(unsupportedCompression(Buffer.from('BZh91AY')), 'bzip2');
    assert.equal(unsupportedCompression(Buffer.from([0x1f, 0x8b, 8, 0, 0, 0])), undefined);
    assert.equal(blobPath(d('f')), `blobs/sha256/${'f'.repeat(64)}`);
  });

  it('turns layer errors into archive errors', () => {
    const truncated = asArchiveError(new TscError('invalid-content', 'truncated layer: "x" ends after 3 of its 9 bytes'), 'a.tar') as TscError;
    assert.equal(truncated.message, 'truncated archive a.tar: "x" ends after 3 of its 9 bytes');
    const corrupt = asArchiveError(new TscError('invalid-content', 'corrupt layer: checksum mismatch'), 'a.tar') as TscError;
    assert.equal(corrupt.message, 'a.tar is not a valid tar archive: checksum mismatch');
    const other = new TscError('not-found', 'x');
    assert.equal(asArchiveError(other, 'a.tar'), other);
  });
});

describe('readArchive', () => {
  it('keeps metadata in memory, streams blobs into ingests and follows links', async () => {
    const s = await store('read');
    const layer = Buffer.alloc(300_000, 7);
    const tar = await tarBuffer([
      { path: './manifest.json', type: 'file', body: '[]' },
      { path: 'abc/', type: 'directory' },
      { path: 'abc/layer.tar', type: 'file', body: layer },
      { path: 'def/layer.tar', type: 'symlink', linkname: '../abc/layer.tar' },
      { path: 'ghi/layer.tar', type: 'hardlink', linkname: 'def/layer.tar' },
      { path: 'loop', type: 'symlink', linkname: 'loop' },
    ]);
    const archive = await readArchive(chunks(gzipSync(tar)), s, 'a.tar.gz');
    try {
      const manifest = archive.get('manifest.json')!;
      assert.deepEqual(manifest.bytes?.toString(), '[]');
      const file = archive.require('ghi/layer.tar', 'layer 1');
      assert.equal(file.path, 'abc/layer.tar');
      assert.equal(file.digest, sha(layer));
      assert.equal(file.size, layer.length);
      assert.ok(file.ingest);
      assert.deepEqual(await archive.head(file, 4), Buffer.from([7, 7, 7, 7]));
      assert.throws(() => archive.require('nope', 'the config'), /the config \(nope\) is missing from a\.tar\.gz/);
      assert.throws(() => archive.get('loop'), /chain of more than 16 links/);
      assert.throws(() => archive.blob(d('9'), 'layer'), /layer sha256:9{64} \(blobs\/sha256\/9{64}\) is missing/);
      assert.equal(readdirSync(join(s.root, 'ingest')).length, 1);
      await archive.commit(file);
      await archive.commit(file);
      assert.ok(await s.has(sha(layer)));
    } finally {
      await archive.discard();
    }
    assert.deepEqual(readdirSync(join(s.root, 'ingest')), []);
  });

  it('checks that a blob is what its name says', async () => {
    const s = await store('names');
    const tar = await tarBuffer([{ path: `blobs/sha256/${'a'.repeat(64)}`, type: 'file', body: 'not that' }]);
    const archive = await readArchive(chunks(tar), s, 'a.tar');
    try {
      assert.throws(() => archive.blob(d('a'), 'layer'), (e: unknown) => e instanceof TscError && /is corrupt: its content hashes to sha256:[0-9a-f]{64}, not sha256:a{64}/.test(e.message));
    } finally {
      await archive.discard();
    }
    assert.deepEqual(readdirSync(join(s.root, 'ingest')), []);
  });

  it('refuses a truncated archive and leaves no ingest behind', async () => {
    const s = await store('truncated');
    const tar = await tarBuffer([{ path: 'blobs/sha256/x', type: 'file', body: Buffer.alloc(100_000, 1) }]);
    await assert.rejects(readArchive(chunks(tar.subarray(0, 50_000)), s, 'a.tar'), /truncated archive a\.tar: "blobs\/sha256\/x" ends after/);
    await assert.rejects(readArchive(chunks(gzipSync(tar).subarray(0, 200)), s, 'a.tar.gz'), /truncated archive a\.tar\.gz: the gzip stream ends early/);
    assert.deepEqual(readdirSync(join(s.root, 'ingest')), []);
  });

  it('refuses empty input, non-tar input and xz', async () => {
    const s = await store('bad');
    await assert.rejects(readArchive(chunks(Buffer.alloc(0)), s, 'e.tar'), /e\.tar is empty/);
    await assert.rejects(readArchive(chunks(Buffer.from('hello\n')), s, 't.txt'), /t\.txt is not a tar archive: it is shorter than one tar header/);
    await assert.rejects(readArchive(chunks(Buffer.alloc(2048, 0x41)), s, 'a.bin'), /a\.bin is not a valid tar archive: checksum mismatch/);
    await assert.rejects(readArchive(chunks(Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00, 1, 2])), s, 'a.tar.xz'), (e: unknown) => e instanceof TscError && e.code === 'unsupported' && /xz-compressed/.test(e.message));
  });
});
