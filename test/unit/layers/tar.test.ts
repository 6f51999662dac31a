import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { linkSync, mkdirSync, mkdtempSync, readFileSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { gzipSync, zstdCompressSync } from 'node:zlib';
import { isTscError } from '../../../src/engine/errors.ts';
import { compressionOf, decompressed } from '../../../src/engine/layers/decompress.ts';
import { BLOCK, checksums, parseNumeric, parsePaxRecords, encodePaxRecords } from '../../../src/engine/layers/tar-format.ts';
import { encodeHeader, tarBuffer, type TarWriteEntry } from '../../../src/engine/layers/tar-write.ts';
import { readTar } from '../../../src/engine/layers/tar.ts';
import { removeTree } from '../../../src/engine/sys/files.ts';
import { IS_ROOT, requires } from '../../lib/env.ts';
import { chunked, HAS_GNU_TAR, HAS_PYTHON, pythonSetXattr, readAll } from './helpers.ts';

const scratch = mkdtempSync(join(tmpdir(), 'tsc-tar-'));
after(() => removeTree(scratch));

/** A VFS capability (v2) granting cap_net_bind_service: binary, with NULs and high bytes. */
const CAPABILITY = Buffer.from('0000000200040000000000000000000000000000', 'hex');
const LONG_DIR = `${'d'.repeat(120)}/${'e'.repeat(90)}`;
const LONG_NAME = `${LONG_DIR}/${'f'.repeat(150)}.txt`;

async function rejectsWith(promise: Promise<unknown>, pattern: RegExp): Promise<void> {
  await assert.rejects(promise, (error: unknown) => {
    assert.ok(isTscError(error), `expected a TscError, got ${String(error)}`);
    assert.equal(error.code, 'invalid-content');
    assert.match(error.message, pattern);
    return true;
  });
}

describe('numeric fields', () => {
  const cases: [string, Buffer, number | undefined][] = [
    ['octal with NUL', Buffer.from('0000644\0'), 0o644],
    ['octal with space and NUL', Buffer.from('000644 \0'), 0o644],
    ['leading spaces', Buffer.from('   644 \0'), 0o644],
    ['empty', Buffer.from('\0\0\0\0\0\0\0\0'), 0],
    ['not octal', Buffer.from('0000899\0'), undefined],
    ['base-256 positive', Buffer.from([0x80, 0, 0, 0, 0, 0, 0x10, 0]), 4096],
    ['base-256 uid beyond octal', Buffer.from([0x80, 0, 0, 0, 0x7f, 0xff, 0xff, 0xfe]), 0x7ffffffe],
    ['base-256 negative', Buffer.from([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfe]), -2],
    ['base-256 too large', Buffer.from([0x80, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]), undefined],
  ];
  for (const [name, raw, expected] of cases) test(name, () => assert.equal(parseNumeric(raw), expected));
});

describe('pax records', () => {
  test('round-trip binary values and lengths across a digit boundary', () => {
    const records: [string, Buffer][] = [
      ['path', Buffer.from('x'.repeat(91))],
      ['SCHILY.xattr.security.capability', CAPABILITY],
      ['SCHILY.xattr.user.nl', Buffer.from('a\nb=c\0')],
    ];
    const encoded = encodePaxRecords(records);
    assert.deepEqual([...parsePaxRecords(encoded, 'x')], records);
    assert.match(encoded.toString('latin1'), /^101 path=x{91}\n/);
  });

  test('libarchive xattrs: percent-encoded names, base64 values', async () => {
    const records = encodePaxRecords([
      ['LIBARCHIVE.xattr.security.capability', Buffer.from(CAPABILITY.toString('base64'))],
      ['LIBARCHIVE.xattr.user.a%3Db', Buffer.from(Buffer.from('v').toString('base64'))],
      ['SCHILY.xattr.user.both', Buffer.from('schily')],
      ['LIBARCHIVE.xattr.user.both', Buffer.from(Buffer.from('libarchive').toString('base64'))],
    ]);
    const pax = encodeHeader({ path: 'PaxHeader/f', type: 'file', size: records.length });
    pax.write('x', 156, 'latin1');
    fixChecksum(pax);
    const rest = await tarBuffer([{ path: 'f', type: 'file', body: '' }]);
    const [entry] = await readAll(Buffer.concat([pax, records, Buffer.alloc(BLOCK - (records.length % BLOCK)), rest]));
    assert.deepEqual(entry!.xattrs.get('security.capability'), CAPABILITY);
    assert.equal(entry!.xattrs.get('user.a=b')?.toString(), 'v');
    assert.equal(entry!.xattrs.get('user.both')?.toString(), 'schily');
  });

  test('a bad length is corrupt input', () => {
    assert.throws(() => parsePaxRecords(Buffer.from('99 path=a\n'), 'e'), /malformed pax record/);
    assert.throws(() => parsePaxRecords(Buffer.from('8 path=a\n'), 'e'), /malformed pax record/);
  });
});

describe('writer -> reader round-trip', () => {
  const entries: TarWriteEntry[] = [
    { path: 'dir', type: 'directory', mode: 0o1777, uid: 0, gid: 0, mtime: 1_700_000_000 },
    { path: 'dir/file', type: 'file', mode: 0o4755, uid: 1000, gid: 1000, uname: 'u', gname: 'g', mtime: 1_700_000_000, body: 'hello\n' },
    { path: LONG_NAME, type: 'file', body: Buffer.alloc(1500, 7), mtime: 1_700_000_000.25 },
    { path: 'split/' + 'p'.repeat(130) + '/' + 'n'.repeat(80), type: 'file', body: '' },
    { path: 'ünïcödé', type: 'file', body: 'u' },
    { path: 'cap', type: 'file', body: 'c', xattrs: { 'security.capability': CAPABILITY, 'user.text': 'v=1' } },
    { path: 'big-ids', type: 'file', uid: 0x7ffffffe, gid: 3_000_000, body: '' },
    { path: 'sym', type: 'symlink', linkname: `/abs/${'t'.repeat(120)}` },
    { path: 'hard', type: 'hardlink', linkname: 'dir/file' },
    { path: 'null', type: 'char-device', devmajor: 1, devminor: 3, mode: 0o666 },
    { path: 'sda', type: 'block-device', devmajor: 8, devminor: 0, mode: 0o660 },
    { path: 'pipe', type: 'fifo', mode: 0o600 },
  ];

  for (const chunk of [1, 7, 512, 65536]) {
    test(`in chunks of ${chunk} bytes`, async () => {
      const read = await readAll(await tarBuffer(entries), chunk);
      assert.deepEqual(read.map((e) => e.path), entries.map((e) => e.path));
      assert.deepEqual(read.map((e) => e.type), entries.map((e) => e.type));
      const byPath = new Map(read.map((e) => [e.path, e]));
      const file = byPath.get('dir/file')!;
      assert.equal(file.mode, 0o4755);
      assert.deepEqual([file.uid, file.gid, file.uname, file.gname], [1000, 1000, 'u', 'g']);
      assert.equal(file.content.toString(), 'hello\n');
      assert.equal(byPath.get('dir')!.mode, 0o1777);
      const long = byPath.get(LONG_NAME)!;
      assert.equal(long.mtime, 1_700_000_000.25);
      assert.deepEqual(long.content, Buffer.alloc(1500, 7));
      assert.equal(byPath.get('ünïcödé')!.content.toString(), 'u');
      const cap = byPath.get('cap')!;
      assert.deepEqual(cap.xattrs.get('security.capability'), CAPABILITY);
      assert.equal(cap.xattrs.get('user.text')!.toString(), 'v=1');
      assert.deepEqual([byPath.get('big-ids')!.uid, byPath.get('big-ids')!.gid], [0x7ffffffe, 3_000_000]);
      assert.equal(byPath.get('sym')!.linkname, `/abs/${'t'.repeat(120)}`);
      assert.equal(byPath.get('hard')!.linkname, 'dir/file');
      assert.deepEqual([byPath.get('null')!.devmajor, byPath.get('null')!.devminor], [1, 3]);
      assert.deepEqual([byPath.get('sda')!.devmajor, byPath.get('sda')!.devminor], [8, 0]);
    });
  }

  test('base-256 numbers without pax', async () => {
    const data = await tarBuffer([{ path: 'f', type: 'file', uid: 0x7ffffffe, gid: 2 ** 40, mtime: -5, body: 'x' }], { largeNumbers: 'base256' });
    assert.equal(data[0], 'f'.charCodeAt(0), 'no pax header in front');
    assert.equal(data[108]! & 0x80, 0x80, 'uid is base-256');
    const [entry] = await readAll(data);
    assert.deepEqual([entry!.uid, entry!.gid, entry!.mtime], [0x7ffffffe, 2 ** 40, -5]);
  });

  test('gnu long names (L/K) and a pax global header', async () => {
    const name = `gnu/${'l'.repeat(200)}`;
    const target = `t/${'k'.repeat(200)}`;
    const gnu = (flag: string, text: string) => {
      const header = encodeHeader({ path: '././@LongLink', type: 'file', size: text.length + 1 });
      header.write(flag, 156, 'latin1');
      header.write('ustar  \0', 257, 'latin1');
      fixChecksum(header);
      const body = Buffer.alloc(Math.ceil((text.length + 1) / BLOCK) * BLOCK);
      body.write(text, 'latin1');
      return Buffer.concat([header, body]);
    };
    const global = encodeHeader({ path: 'pax_global_header', type: 'file', size: 0 });
    global.write('g', 156, 'latin1');
    fixChecksum(global);
    const real = await tarBuffer([{ path: 'short', type: 'symlink', linkname: 'short-target' }]);
    const archive = Buffer.concat([global, gnu('L', name), gnu('K', target), real]);
    const entries = await readAll(archive);
    assert.equal(entries.length, 1);
    assert.equal(entries[0]!.path, name);
    assert.equal(entries[0]!.linkname, target);
  });

  test('an unread body is skipped', async () => {
    const data = await tarBuffer([{ path: 'a', type: 'file', body: Buffer.alloc(5000, 1) }, { path: 'b', type: 'file', body: 'b' }]);
    const names: string[] = [];
    for await (const entry of readTar(chunked(data, 100))) names.push(entry.path);
    assert.deepEqual(names, ['a', 'b']);
  });
});

function fixChecksum(header: Buffer): void {
  header.write(checksums(header).unsigned.toString(8).padStart(6, '0') + '\0 ', 148, 8, 'latin1');
}

describe('corrupt and truncated archives', () => {
  test('a checksum mismatch names the entry', async () => {
    const data = await tarBuffer([{ path: 'ok', type: 'file', body: 'a' }, { path: 'etc/passwd', type: 'file', body: 'root' }]);
    data[1124] = data[1124]! ^ 1; // the mode field of the second header
    await rejectsWith(readAll(data), /checksum mismatch in the tar header of "etc\/passwd" at byte 1024/);
  });

  test('a stream cut inside a body', async () => {
    const data = await tarBuffer([{ path: 'big', type: 'file', body: Buffer.alloc(3000) }]);
    await rejectsWith(readAll(data.subarray(0, 512 + 1000)), /^truncated layer: "big" ends after 1000 of its 3000 bytes/);
  });

  test('a stream cut inside a header', async () => {
    const data = await tarBuffer([{ path: 'a', type: 'file', body: 'x' }, { path: 'b', type: 'file', body: 'y' }]);
    await rejectsWith(readAll(data.subarray(0, 1024 + 100)), /^truncated layer: the archive ends inside a tar header/);
  });

  test('a stream cut inside a pax header', async () => {
    const data = await tarBuffer([{ path: LONG_NAME, type: 'file', body: 'x' }]);
    await rejectsWith(readAll(data.subarray(0, 600)), /^truncated layer: the archive ends inside the pax header/);
  });

  test('a stream cut inside the padding', async () => {
    const data = await tarBuffer([{ path: 'a', type: 'file', body: 'x' }]);
    await rejectsWith(readAll(data.subarray(0, 512 + 100)), /^truncated layer: the archive ends inside the padding of "a"/);
  });

  test('no end-of-archive blocks is accepted at a block boundary', async () => {
    const data = await tarBuffer([{ path: 'a', type: 'file', body: 'x' }]);
    assert.equal((await readAll(data.subarray(0, 1024))).length, 1);
  });

  test('entries hidden behind a lone zero block', async () => {
    const hidden = await tarBuffer([{ path: 'hidden', type: 'file', body: 'h' }]);
    await rejectsWith(readAll(Buffer.concat([Buffer.alloc(BLOCK), hidden])), /^corrupt layer: a lone zero block at byte 0 is followed by more data/);
    assert.deepEqual(await readAll(Buffer.alloc(BLOCK)), [], 'one zero block at the very end is accepted');
  });

  test('header-only types have no body whatever their size says', async () => {
    const header = encodeHeader({ path: 'l', type: 'symlink', linkname: 't' });
    header.write('00000001000\0', 124, 'latin1');
    fixChecksum(header);
    const next = await tarBuffer([{ path: 'next', type: 'file', body: 'n' }]);
    const entries = await readAll(Buffer.concat([header, next]));
    assert.deepEqual(entries.map((e) => [e.path, e.size]), [['l', 0], ['next', 1]]);
  });
});

describe('interoperability with GNU tar', () => {
  test('reads what GNU tar --xattrs --format=pax writes', async (t) => {
    if (!requires(t, HAS_GNU_TAR, 'GNU tar is not installed')) return;
    if (!requires(t, HAS_PYTHON, 'python3 is needed to set xattrs')) return;
    const src = join(scratch, 'gnu-src');
    mkdirSync(join(src, LONG_DIR), { recursive: true });
    writeFileSync(join(src, LONG_NAME), 'long');
    writeFileSync(join(src, 'cap'), 'binary', { mode: 0o755 });
    linkSync(join(src, 'cap'), join(src, 'cap-link'));
    symlinkSync('cap', join(src, 'sym'));
    await pythonSetXattr(join(src, 'cap'), 'user.comment', Buffer.from('hi'));
    if (IS_ROOT) await pythonSetXattr(join(src, 'cap'), 'security.capability', CAPABILITY);
    utimesSync(join(src, 'cap'), 1_600_000_000.5, 1_600_000_000.5);
    const archive = execFileSync('tar', ['--xattrs', "--xattrs-include=*", '--format=pax', '-C', src, '-cf', '-', '.'], { maxBuffer: 1 << 26 });
    const entries = new Map((await readAll(archive, 333)).map((e) => [e.path, e]));
    assert.equal(entries.get(`./${LONG_NAME}`)?.content.toString(), 'long');
    const cap = entries.get('./cap')!;
    assert.equal(cap.mode, 0o755);
    assert.equal(cap.mtime, 1_600_000_000.5);
    assert.equal(cap.xattrs.get('user.comment')?.toString(), 'hi');
    if (IS_ROOT) assert.deepEqual(cap.xattrs.get('security.capability'), CAPABILITY);
    assert.equal(entries.get('./cap-link')?.type, 'hardlink');
    assert.equal(entries.get('./cap-link')?.linkname, './cap');
    assert.equal(entries.get('./sym')?.linkname, 'cap');
    assert.equal(entries.get('.')?.type, 'directory');
  });

  test('GNU tar reads what the writer writes', async (t) => {
    if (!requires(t, HAS_GNU_TAR, 'GNU tar is not installed')) return;
    const archive = await tarBuffer([
      { path: LONG_DIR, type: 'directory' },
      { path: LONG_NAME, type: 'file', body: 'long', mtime: 1_600_000_000 },
      { path: 'big-uid', type: 'file', uid: 3_000_000, body: '' },
      { path: 'x', type: 'file', body: 'x', xattrs: { 'user.k': 'v' } },
    ]);
    const file = join(scratch, 'ours.tar');
    writeFileSync(file, archive);
    const listing = execFileSync('tar', ['--numeric-owner', '-tvf', file], { encoding: 'utf8' });
    assert.match(listing, new RegExp(`${LONG_NAME.slice(-60)}`));
    assert.match(listing, /3000000\/0 .* big-uid/);
    const out = join(scratch, 'gnu-out');
    mkdirSync(out);
    execFileSync('tar', ['--xattrs', '-C', out, '-xf', file]);
    assert.equal(readFileSync(join(out, LONG_NAME), 'utf8'), 'long');
  });
});

describe('compressed layers', () => {
  const archive = () => tarBuffer([{ path: 'f', type: 'file', body: Buffer.alloc(100_000, 3) }]);
  const compressors = { gzip: gzipSync, zstd: zstdCompressSync, none: (b: Buffer) => b };

  for (const [name, compress] of Object.entries(compressors)) {
    test(`${name} is recognised by its first bytes and streamed`, async () => {
      const blob = compress(await archive());
      assert.equal(compressionOf(blob), name);
      const [entry] = await readAll(decompressed(chunked(blob, 3)));
      assert.deepEqual(entry!.content, Buffer.alloc(100_000, 3));
    });
  }

  test('a truncated or corrupt compressed stream', async () => {
    const gz = gzipSync(await archive());
    await rejectsWith(readAll(decompressed(chunked(gz.subarray(0, gz.length - 10), 1000))), /^truncated layer: the gzip stream ends early/);
    const bad = Buffer.from(gz);
    bad.fill(0x55, 20, 60);
    await rejectsWith(readAll(decompressed([bad])), /^corrupt layer: gzip data is invalid/);
  });
});
