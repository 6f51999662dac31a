import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { ContentStore } from '../../../src/engine/content/store.ts';
import { TscError } from '../../../src/engine/errors.ts';

const dir = mkdtempSync(join(tmpdir(), 'tsc-content-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const digestOf = (b: Uint8Array) => `sha256:${createHash('sha256').update(b).digest('hex')}`;

async function store(name: string): Promise<ContentStore> {
  const s = new ContentStore(join(dir, name));
  await s.init();
  return s;
}

describe('ContentStore', () => {
  it('is an OCI image layout', async () => {
    const s = await store('layout');
    assert.deepEqual(JSON.parse(readFileSync(join(s.root, 'oci-layout'), 'utf8')), { imageLayoutVersion: '1.0.0' });
    await s.init(); // idempotent
  });

  it('stores bytes under their digest and reads them back verified', async () => {
    const s = await store('put');
    const bytes = Buffer.from('hello layer');
    const info = await s.put(bytes, { digest: digestOf(bytes), size: bytes.length });
    assert.deepEqual(info, { digest: digestOf(bytes), size: bytes.length });
    assert.equal(readFileSync(s.blobPath(info.digest), 'utf8'), 'hello layer');
    assert.deepEqual(await s.read(info.digest), bytes);
    assert.deepEqual(await s.has(info.digest), { digest: info.digest, size: bytes.length });
    assert.equal(await s.has(digestOf(Buffer.from('other'))), undefined);
  });

  it('streams large input and computes the digest when none is expected', async () => {
    const s = await store('stream');
    const chunks = Array.from({ length: 64 }, (_, i) => Buffer.alloc(65536, i));
    async function* source() {
      for (const c of chunks) yield c;
    }
    const info = await s.put(source());
    assert.equal(info.digest, digestOf(Buffer.concat(chunks)));
    assert.equal(info.size, 64 * 65536);
  });

  const mismatches: [string, { digest?: string; size?: number }, RegExp][] = [
    ['digest', { digest: digestOf(Buffer.from('something else')) }, /digest mismatch: expected sha256:[0-9a-f]{64}, got sha256:/],
    ['size', { size: 3 }, /size mismatch for sha256:[0-9a-f]{64}: expected 3 bytes, got 5/],
  ];
  for (const [name, expected, message] of mismatches) {
    it(`rejects a ${name} mismatch and keeps nothing`, async () => {
      const s = await store(`bad-${name}`);
      await assert.rejects(s.put(Buffer.from('bytes'), expected), (e: unknown) => e instanceof TscError && e.code === 'invalid-content' && message.test(e.message));
      assert.deepEqual(readdirSync(join(s.root, 'blobs', 'sha256')), []);
      assert.deepEqual(readdirSync(join(s.root, 'ingest')), []);
    });
  }

  it('resumes an ingest at its offset and hashes the whole', async () => {
    const s = await store('resume');
    const ingest = await s.ingest();
    await ingest.write(Buffer.from('first half, '));
    assert.equal(ingest.offset, 12);
    await ingest.write(Buffer.from('second half'));
    const info = await ingest.commit({ digest: digestOf(Buffer.from('first half, second half')) });
    assert.equal(readFileSync(s.blobPath(info.digest), 'utf8'), 'first half, second half');
  });

  it('lets two writers of the same blob both succeed', async () => {
    const s = await store('race');
    const bytes = Buffer.alloc(1 << 20, 7);
    const results = await Promise.all([s.put(bytes), s.put(bytes), s.put(bytes)]);
    assert.ok(results.every((r) => r.digest === digestOf(bytes)));
    assert.deepEqual(readdirSync(join(s.root, 'ingest')), []);
    assert.equal(readFileSync(s.blobPath(digestOf(bytes))).length, 1 << 20);
  });

  it('detects a blob corrupted on disk', async () => {
    const s = await store('corrupt');
    const info = await s.put(Buffer.from('pristine'));
    writeFileSync(s.blobPath(info.digest), 'tampered');
    await assert.rejects(s.read(info.digest), /is corrupt .*run tsc system check|is corrupt/);
  });

  it('removes only stale ingest files', async () => {
    const s = await store('clean');
    const stale = join(s.root, 'ingest', 'old.partial');
    const fresh = join(s.root, 'ingest', 'new.partial');
    writeFileSync(stale, 'x');
    writeFileSync(fresh, 'y');
    const hourAgo = (Date.now() - 3_600_000) / 1000;
    utimesSync(stale, hourAgo, hourAgo);
    assert.equal(await s.cleanIngests(600_000), 1);
    assert.equal(existsSync(stale), false);
    assert.equal(existsSync(fresh), true);
  });

  it('rejects malformed digests', async () => {
    const s = await store('digests');
    assert.throws(() => s.blobPath('sha256:../../etc/passwd'), TscError);
    assert.throws(() => s.blobPath('nonsense'), TscError);
  });
});
