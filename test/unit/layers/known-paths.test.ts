/**
 * The extractor's record of its target (known-paths.ts) and the checks that rely on it:
 * a path learnt once, from what the extraction made or from one lstat, must refuse exactly
 * what an lstat would, whether the target started empty or held lower layers.
 */
import assert from 'node:assert/strict';
import { lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { isTscError } from '../../../src/engine/errors.ts';
import { extractLayer, type ExtractOptions, type ExtractResult } from '../../../src/engine/layers/extract.ts';
import { childOf, directoryNode, KnownPaths, leafNode } from '../../../src/engine/layers/known-paths.ts';
import { writeTar, type TarWriteEntry } from '../../../src/engine/layers/tar-write.ts';
import { removeTree } from '../../../src/engine/sys/files.ts';
import { commandMknod, snapshot } from './helpers.ts';

const scratch = mkdtempSync(join(tmpdir(), 'tsc-known-'));
after(() => removeTree(scratch));

const APPLY: ExtractOptions = { format: 'apply', ownership: 'ignore' };

describe('KnownPaths', () => {
  test('a name missing under a complete directory is absent, under an incomplete one unknown', () => {
    const known = new KnownPaths(true);
    assert.equal(childOf(known.root, 'a'), 'absent');
    known.set('a', directoryNode(false));
    known.set('a/b', leafNode('symlink'));
    assert.equal(childOf(known.find('a')!, 'b'), known.find('a/b'));
    assert.equal(childOf(known.find('a')!, 'c'), 'unknown');
    assert.equal(known.find('a/b')?.kind, 'symlink');
    assert.equal(known.find('a/b/c'), undefined, 'nothing is known below a symlink');
    assert.equal(childOf(new KnownPaths(false).root, 'a'), 'unknown');
  });

  test('dropping a directory drops what was below it', () => {
    const known = new KnownPaths(true);
    known.set('d', directoryNode(true));
    known.set('d/e', directoryNode(true));
    known.set('d/e/f', leafNode('file'));
    known.drop('d');
    assert.equal(known.find('d'), undefined);
    assert.equal(childOf(known.root, 'd'), 'absent');
    known.set('d', leafNode('symlink'));
    assert.equal(known.find('d/e'), undefined);
    known.drop('x/y'); // below nothing known: nothing to do
  });

  test('recording below an unknown or non-directory parent forgets everything rather than guess', () => {
    const known = new KnownPaths(true);
    known.set('f', leafNode('file'));
    known.set('f/g', leafNode('file'));
    assert.equal(childOf(known.root, 'f'), 'unknown', 'the root is no longer complete');
    const other = new KnownPaths(true);
    other.set('a/b', leafNode('file'));
    assert.equal(childOf(other.root, 'a'), 'unknown');
  });
});

let counter = 0;
interface Setup {
  target: string;
  outside: string;
}
function setup(name: string): Setup {
  const base = join(scratch, `${String(++counter).padStart(3, '0')}-${name}`);
  const s = { target: join(base, 'target'), outside: join(base, 'outside') };
  mkdirSync(join(s.outside, 'dir'), { recursive: true });
  writeFileSync(join(s.outside, 'passwd'), 'root:x:0:0\n');
  mkdirSync(s.target);
  return s;
}

/** Extracts `layers` in turn; nothing outside the target may change. Returns the last result's skip reasons. */
async function contained(s: Setup, layers: TarWriteEntry[][], options: ExtractOptions = APPLY): Promise<string[]> {
  const before = snapshot(s.outside);
  let result: ExtractResult | undefined;
  for (const layer of layers) result = await extractLayer(writeTar(layer), s.target, options);
  assert.deepEqual(snapshot(s.outside), before, 'something outside the target changed');
  return result!.skipped.map((e) => `${e.path}: ${e.reason}`);
}

describe('what the record must refuse, as lstat did', () => {
  test('a second name for a symlink (a hardlink to it) is a symlink too', async () => {
    const s = setup('hardlinked-symlink');
    const reasons = await contained(s, [[
      { path: 'ln', type: 'symlink', linkname: s.outside },
      { path: 'hl', type: 'hardlink', linkname: 'ln' },
      { path: 'hl/passwd', type: 'file', body: 'pwned' },
      { path: 'hl/.wh.passwd', type: 'file', body: '' },
      { path: 'copy', type: 'hardlink', linkname: 'hl/passwd' },
    ]]);
    assert.deepEqual(reasons, [
      'hl/passwd: not written: its parent hl is a symlink in this layer',
      "hl/.wh.passwd: the whiteout's parent hl is a symlink",
      'copy: the hardlink target hl/passwd is not in the layer (hl is a symlink)',
    ]);
    assert.ok(lstatSync(join(s.target, 'hl')).isSymbolicLink());
  });

  test('a fifo or a file is no directory to write into', async () => {
    const s = setup('special-parents');
    const reasons = await contained(s, [[
      { path: 'p', type: 'fifo' },
      { path: 'p/x', type: 'file', body: 'x' },
      { path: 'f', type: 'file', body: 'f' },
      { path: 'f/x', type: 'directory' },
    ]], { ...APPLY, mknod: commandMknod });
    assert.deepEqual(reasons, [
      'p/x: not written: its parent p is a special file in this layer',
      'f/x: not written: its parent f is a file in this layer',
    ]);
  });

  test('a directory removed and re-made as a symlink is not entered, in any layer after', async () => {
    const s = setup('dir-then-symlink');
    const first = await contained(s, [[
      { path: 'a/b/c', type: 'file', body: 'c' },
      { path: 'a', type: 'symlink', linkname: s.outside },
      { path: 'a/b/c', type: 'file', body: 'pwned' },
      { path: 'a/dir', type: 'directory' },
    ]]);
    assert.deepEqual(first, [
      'a/b/c: not written: its parent a is a symlink in this layer',
      'a/dir: not written: its parent a is a symlink in this layer',
    ]);
    const second = await contained(s, [[
      { path: 'a/passwd', type: 'file', body: 'mine' },
      { path: 'a/dir/new', type: 'file', body: 'mine' },
    ]]);
    assert.deepEqual(second, []);
    assert.ok(lstatSync(join(s.target, 'a')).isDirectory(), "the next layer's file replaced the lower symlink by a directory");
    assert.deepEqual(readdirSync(join(s.target, 'a')).sort(), ['dir', 'passwd']);
  });

  test('after a name the file system refuses, what is known is looked up again, and still refused', async () => {
    const s = setup('forget');
    const reasons = await contained(s, [[
      { path: 'ln', type: 'symlink', linkname: s.outside },
      { path: `d/${'x'.repeat(300)}`, type: 'file', body: 'x' },
      { path: 'ln/passwd', type: 'file', body: 'pwned' },
      { path: 'd/fine', type: 'file', body: 'fine' },
    ]]);
    assert.deepEqual(reasons, [
      `d/${'x'.repeat(300)}: the name is too long for the file system`,
      'ln/passwd: not written: its parent ln is a symlink in this layer',
    ]);
    assert.equal(readFileSync(join(s.target, 'd/fine'), 'utf8'), 'fine');
  });

  test('a target that is not empty is looked at on disk; one said to be fresh must be empty', async () => {
    const s = setup('not-empty');
    symlinkSync(s.outside, join(s.target, 'planted'));
    await assert.rejects(
      extractLayer(writeTar([{ path: 'f', type: 'file', body: 'x' }]), s.target, { ...APPLY, freshTarget: true }),
      (e: unknown) => isTscError(e) && e.code === 'internal' && /is not empty/.test(e.message),
    );
    const reasons = await contained(s, [[
      { path: 'planted/passwd', type: 'file', body: 'mine' },
      { path: 'f', type: 'hardlink', linkname: 'planted/passwd' },
    ]]);
    assert.deepEqual(reasons, []);
    assert.ok(lstatSync(join(s.target, 'planted')).isDirectory());
    const fresh = setup('fresh');
    await contained(fresh, [[{ path: 'f', type: 'file', body: 'x' }]], { ...APPLY, freshTarget: true });
    assert.equal(readFileSync(join(fresh.target, 'f'), 'utf8'), 'x');
  });
});
