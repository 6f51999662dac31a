/**
 * Hostile layers: every test puts a sentinel directory next to the target and proves with
 * real file system checks that nothing outside the target was created or changed.
 */
import assert from 'node:assert/strict';
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { applyEntries, extractLayer, type ExtractOptions, type ExtractResult } from '../../../src/engine/layers/extract.ts';
import { checksums } from '../../../src/engine/layers/tar-format.ts';
import { encodeHeader } from '../../../src/engine/layers/tar-write.ts';
import { readTar } from '../../../src/engine/layers/tar.ts';
import { writeTar, type TarWriteEntry } from '../../../src/engine/layers/tar-write.ts';
import { removeTree } from '../../../src/engine/sys/files.ts';
import { requires } from '../../lib/env.ts';
import { HAS_PYTHON, pythonSetXattr, snapshot } from './helpers.ts';

const scratch = mkdtempSync(join(tmpdir(), 'tsc-hostile-'));
after(() => removeTree(scratch));

interface Setup {
  base: string;
  target: string;
  outside: string;
}

let counter = 0;
function setup(name: string): Setup {
  const base = join(scratch, `${String(++counter).padStart(3, '0')}-${name.replace(/[^a-z0-9]+/gi, '-')}`);
  const target = join(base, 'target');
  const outside = join(base, 'outside');
  mkdirSync(join(outside, 'dir'), { recursive: true });
  mkdirSync(target);
  writeFileSync(join(outside, 'passwd'), 'root:x:0:0\n');
  writeFileSync(join(outside, 'dir', 'keep'), 'keep');
  return { base, target, outside };
}

/**
 * Extracts `layers` in turn and checks that the sentinel, the target's siblings, /etc/passwd
 * and /tmp are exactly as before. Returns the last layer's result.
 */
async function contained(s: Setup, layers: TarWriteEntry[][], options: ExtractOptions = { format: 'apply', ownership: 'ignore' }): Promise<ExtractResult> {
  const before = snapshot(s.outside);
  const siblings = readdirSync(s.base).sort();
  const passwd = statSync('/etc/passwd');
  const tmp = readdirSync('/tmp').sort();
  let result: ExtractResult | undefined;
  for (const layer of layers) result = await extractLayer(writeTar(layer), s.target, options);
  assert.deepEqual(snapshot(s.outside), before, 'the sentinel directory changed');
  assert.deepEqual(readdirSync(s.base).sort(), siblings, 'something appeared next to the target');
  const after = statSync('/etc/passwd');
  assert.deepEqual([after.nlink, after.mtimeMs, after.size], [passwd.nlink, passwd.mtimeMs, passwd.size], '/etc/passwd changed');
  assert.deepEqual(readdirSync('/tmp').sort().filter((n) => !tmp.includes(n) && n.startsWith('tsc-evil')), [], 'something appeared in /tmp');
  return result!;
}

const skipped = (result: ExtractResult) => result.skipped.map((e) => `${e.path}: ${e.reason}`);

describe('path traversal', () => {
  test('`..` that climbs out of the root is dropped', async () => {
    const s = setup('dotdot');
    const result = await contained(s, [[
      { path: '../../outside/passwd', type: 'file', body: 'pwned' },
      { path: 'a/../../outside/dir/new', type: 'file', body: 'pwned' },
      { path: '..', type: 'directory', mode: 0o777 },
      { path: 'ok/../fine', type: 'file', body: 'fine' },
    ]]);
    assert.deepEqual(skipped(result), [
      '../../outside/passwd: the path leads outside the layer root',
      'a/../../outside/dir/new: the path leads outside the layer root',
      '..: the path leads outside the layer root',
    ]);
    assert.equal(readFileSync(join(s.target, 'fine'), 'utf8'), 'fine');
  });

  test('absolute paths are rooted in the target', async () => {
    const s = setup('absolute');
    const result = await contained(s, [[
      { path: '/tmp/tsc-evil-absolute', type: 'file', body: 'x' },
      { path: `${s.outside}/passwd`, type: 'file', body: 'pwned' },
      { path: '/', type: 'directory', mode: 0o755 },
    ]]);
    assert.deepEqual(skipped(result), []);
    assert.equal(readFileSync(join(s.target, 'tmp/tsc-evil-absolute'), 'utf8'), 'x');
    assert.equal(readFileSync(join(s.target, s.outside, 'passwd'), 'utf8'), 'pwned');
  });
});

describe('symlinks', () => {
  test('a file is never written through a symlink of the same layer', async () => {
    const s = setup('symlink-escape');
    const result = await contained(s, [[
      { path: 'abs', type: 'symlink', linkname: s.outside },
      { path: 'abs/passwd', type: 'file', body: 'pwned' },
      { path: 'rel', type: 'symlink', linkname: '../outside' },
      { path: 'rel/dir/new', type: 'file', body: 'pwned' },
      { path: 'rel/newdir', type: 'directory' },
      { path: 'etc', type: 'symlink', linkname: '/etc' },
      { path: 'etc/passwd', type: 'file', body: 'pwned' },
    ]]);
    assert.deepEqual(skipped(result), [
      'abs/passwd: not written: its parent abs is a symlink in this layer',
      'rel/dir/new: not written: its parent rel is a symlink in this layer',
      'rel/newdir: not written: its parent rel is a symlink in this layer',
      'etc/passwd: not written: its parent etc is a symlink in this layer',
    ]);
  });

  test('a symlink replacing a directory, then a file inside it', async () => {
    const s = setup('symlink-over-dir');
    const result = await contained(s, [[
      { path: 'd', type: 'directory' },
      { path: 'd/a', type: 'file', body: 'a' },
      { path: 'd', type: 'symlink', linkname: join(s.outside, 'dir') },
      { path: 'd/keep', type: 'file', body: 'pwned' },
      { path: 'd/', type: 'directory', mode: 0o777 },
    ]]);
    assert.deepEqual(skipped(result), ['d/keep: not written: its parent d is a symlink in this layer']);
    assert.ok(lstatSync(join(s.target, 'd')).isDirectory(), 'the directory entry replaced the symlink');
    assert.deepEqual(readdirSync(join(s.target, 'd')), []);
  });

  test("a lower layer's symlink is replaced, not followed", async () => {
    const s = setup('lower-symlink');
    const result = await contained(s, [
      [
        { path: 'lib', type: 'symlink', linkname: s.outside },
        { path: 'shadow', type: 'symlink', linkname: join(s.outside, 'passwd') },
        { path: 'wh', type: 'symlink', linkname: s.outside },
        { path: 'opq', type: 'symlink', linkname: join(s.outside, 'dir') },
      ],
      [
        { path: 'lib/passwd', type: 'file', body: 'mine' },
        { path: 'shadow', type: 'file', body: 'mine' },
        { path: 'wh/.wh.passwd', type: 'file', body: '' },
        { path: 'opq/.wh..wh..opq', type: 'file', body: '' },
      ],
    ]);
    assert.deepEqual(skipped(result), ["wh/.wh.passwd: the whiteout's parent wh is a symlink"]);
    assert.ok(lstatSync(join(s.target, 'lib')).isDirectory());
    assert.equal(readFileSync(join(s.target, 'lib/passwd'), 'utf8'), 'mine');
    assert.ok(lstatSync(join(s.target, 'shadow')).isFile());
    assert.ok(lstatSync(join(s.target, 'opq')).isDirectory());
  });

  test('symlinks may point anywhere; they are created, never followed', async () => {
    const s = setup('symlink-targets');
    await contained(s, [[{ path: 'up', type: 'symlink', linkname: '../../../../../../outside/passwd' }]]);
    assert.equal(readlinkSync(join(s.target, 'up')), '../../../../../../outside/passwd');
  });
});

describe('hardlinks', () => {
  test('to a file outside the layer', async () => {
    const s = setup('hardlink-outside');
    const result = await contained(s, [[
      { path: 'h1', type: 'hardlink', linkname: '/etc/passwd' },
      { path: 'h2', type: 'hardlink', linkname: '../../../../../../../etc/passwd' },
      { path: 'h3', type: 'hardlink', linkname: join(s.outside, 'passwd') },
      { path: 'h4', type: 'hardlink', linkname: '../outside/passwd' },
    ]]);
    assert.deepEqual(skipped(result), [
      'h1: the hardlink target etc/passwd is not in the layer (etc does not exist)',
      'h2: the hardlink target "../../../../../../../etc/passwd" is outside the layer root',
      `h3: the hardlink target ${join(s.outside, 'passwd').slice(1)} is not in the layer (${s.outside.split('/')[1]} does not exist)`,
      'h4: the hardlink target "../outside/passwd" is outside the layer root',
    ]);
    for (const name of ['h1', 'h2', 'h3', 'h4']) assert.equal(existsSync(join(s.target, name)), false);
  });

  test('through a symlink, to a directory, to itself', async () => {
    const s = setup('hardlink-symlink');
    const result = await contained(s, [[
      { path: 'l', type: 'symlink', linkname: s.outside },
      { path: 'h', type: 'hardlink', linkname: 'l/passwd' },
      { path: 'direct', type: 'hardlink', linkname: 'l' },
      { path: 'd', type: 'directory' },
      { path: 'hd', type: 'hardlink', linkname: 'd' },
      { path: 'self', type: 'hardlink', linkname: 'self' },
    ]]);
    assert.deepEqual(skipped(result), [
      'h: the hardlink target l/passwd is not in the layer (l is a symlink)',
      'hd: the hardlink target d is a directory',
      'self: the hardlink points at itself or into the path it replaces',
    ]);
    // a hardlink to the symlink itself links the symlink, which is harmless
    assert.ok(lstatSync(join(s.target, 'direct')).isSymbolicLink());
  });

  test('writing over a hardlinked name does not write into the other name', async () => {
    const s = setup('hardlink-overwrite');
    await contained(s, [
      [{ path: 'etc/shadow', type: 'file', body: 'secret' }],
      [{ path: 'x', type: 'hardlink', linkname: 'etc/shadow' }, { path: 'x', type: 'file', body: 'pwned' }],
    ]);
    assert.equal(readFileSync(join(s.target, 'etc/shadow'), 'utf8'), 'secret');
    assert.equal(readFileSync(join(s.target, 'x'), 'utf8'), 'pwned');
  });
});

describe('names', () => {
  test('NUL bytes, reserved whiteout names and AUFS metadata are left out', async () => {
    const s = setup('names');
    const result = await contained(s, [[
      { path: 'nul\0/../../outside/passwd', type: 'file', body: 'x' },
      { path: '.wh.dir/file', type: 'file', body: 'x' },
      { path: '.wh..wh.plnk/123', type: 'file', body: 'x' },
      { path: '.wh..wh..plnk', type: 'directory' },
      { path: 'a/.wh.', type: 'file', body: '' },
      { path: 'a/.wh...', type: 'file', body: '' },
    ]]);
    assert.deepEqual(skipped(result), [
      'nul\0/../../outside/passwd: the name contains a NUL byte',
      '.wh.dir/file: the directory name .wh.dir is reserved for whiteouts',
      '.wh..wh.plnk/123: the directory name .wh..wh.plnk is reserved for whiteouts',
      '.wh..wh..plnk: AUFS metadata is not part of the image',
      'a/.wh.: the whiteout .wh. names no file',
      'a/.wh...: the whiteout .wh... names no file',
    ]);
    assert.deepEqual(readdirSync(s.target), []);
  });

  test('names the file system cannot hold and unknown entry types are left out', async () => {
    const s = setup('long-names');
    const header = encodeHeader({ path: 'volume-label', type: 'file' });
    header.write('V', 156, 'latin1');
    header.write(checksums(header).unsigned.toString(8).padStart(6, '0') + '\0 ', 148, 8, 'latin1');
    const entries = async function* () {
      yield* readTar(writeTar([
        { path: `${'x'.repeat(300)}`, type: 'file', body: 'x' },
        { path: `${'deep/'.repeat(900)}file`, type: 'file', body: 'x' },
        { path: 'fine', type: 'file', body: 'x' },
      ]));
      yield* readTar([Buffer.concat([header, Buffer.alloc(1024)])]);
    };
    const result = await extractLayer(writeTar([]), s.target, { format: 'apply', ownership: 'ignore' });
    assert.equal(result.entries, 0);
    const applied = await applyEntries(entries(), s.target, { format: 'apply', ownership: 'ignore' });
    assert.deepEqual(applied.skipped.map((e) => e.reason), [
      'the name is too long for the file system',
      'the name is too long for the file system',
      'tar entry type "V" is not supported',
    ]);
    assert.equal(readFileSync(join(s.target, 'fine'), 'utf8'), 'x');
  });

  test('an overlay layer cannot smuggle overlay xattrs or escape through its markers', async (t) => {
    if (!requires(t, HAS_PYTHON, 'python3 is needed to write xattrs')) return;
    const s = setup('overlay-markers');
    symlinkSync(s.outside, join(s.target, 'leftover'));
    const result = await contained(s, [[
      { path: 'd', type: 'directory', xattrs: { 'user.overlay.redirect': '/etc', 'user.overlay.opaque': 'y' } },
      { path: 'leftover/.wh.passwd', type: 'file', body: '' },
      { path: 'ln', type: 'symlink', linkname: s.outside },
      { path: 'ln/.wh..wh..opq', type: 'file', body: '' },
    ]], { format: 'xattr-overlay', ownership: 'ignore', setXattr: pythonSetXattr });
    assert.deepEqual(result.skipped.map((e) => `${e.path} ${e.xattr ?? ''}: ${e.reason}`), [
      'd user.overlay.redirect: overlay metadata from a layer is not applied',
      'd user.overlay.opaque: overlay metadata from a layer is not applied',
      'ln/.wh..wh..opq : the opaque marker is not applied: its parent ln is a symlink in this layer',
    ]);
    assert.ok(lstatSync(join(s.target, 'leftover')).isDirectory(), 'the leftover symlink was replaced by a directory');
    assert.ok(lstatSync(join(s.target, 'leftover/passwd')).isFile());
  });
});
