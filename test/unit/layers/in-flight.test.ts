/**
 * xattrs are sent to the helper without waiting (in-flight.ts): these tests stand in for
 * the helper with a setXattr that acts later, as the real one does, and check that what
 * it acts on, and the order of everything it must precede or follow, are as if it had been
 * awaited.
 */
import assert from 'node:assert/strict';
import { lstatSync, mkdirSync, mkdtempSync, readlinkSync, realpathSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, describe, test } from 'node:test';
import { extractLayer, type ExtractOptions, type ExtractResult, type SetXattr } from '../../../src/engine/layers/extract.ts';
import { InFlight } from '../../../src/engine/layers/in-flight.ts';
import { writeTar, type TarWriteEntry } from '../../../src/engine/layers/tar-write.ts';
import { removeTree } from '../../../src/engine/sys/files.ts';
import { snapshot } from './helpers.ts';

const scratch = mkdtempSync(join(tmpdir(), 'tsc-in-flight-'));
after(() => removeTree(scratch));

let counter = 0;
function workdir(name: string): string {
  const dir = join(scratch, `${String(++counter).padStart(3, '0')}-${name}`);
  mkdirSync(dir);
  return dir;
}

interface Seen {
  path: string;
  name: string;
  /** what was at the path when the stand-in helper acted */
  type: string;
  /** its parents were directories, not reached through a symlink */
  direct: boolean;
  mode: number;
  mtimeMs: number;
}

/** A setXattr that acts after `delay(name)` ms and records what it found then; names starting with `fail.` fail. */
function slowHelper(delay: (name: string) => number = () => 10): { setXattr: SetXattr; seen: Seen[]; maxBusy: () => number } {
  const seen: Seen[] = [];
  let busy = 0;
  let maxBusy = 0;
  const setXattr: SetXattr = async (path, name) => {
    maxBusy = Math.max(maxBusy, ++busy);
    try {
      await sleep(delay(name));
      const s = lstatSync(path);
      const direct = realpathSync(dirname(path)) === dirname(path);
      seen.push({ path, name, type: s.isSymbolicLink() ? 'symlink' : s.isDirectory() ? 'directory' : 'file', direct, mode: s.mode & 0o7777, mtimeMs: s.mtimeMs });
      if (name.startsWith('fail.')) throw Object.assign(new Error(`EPERM: operation not permitted, lsetxattr '${path}'`), { code: 'EPERM' });
    } finally {
      busy--;
    }
  };
  return { setXattr, seen, maxBusy: () => maxBusy };
}

const extract = (entries: TarWriteEntry[], target: string, options: ExtractOptions): Promise<ExtractResult> => extractLayer(writeTar(entries), target, options);

describe('xattrs in flight', () => {
  test("a file's and a directory's mode and times come after their xattrs", async () => {
    const target = workdir('order');
    const helper = slowHelper();
    const result = await extract([
      { path: 'bin', type: 'directory', mode: 0o555, mtime: 1_000, xattrs: { 'user.dir': 'd' } },
      { path: 'bin/ping', type: 'file', mode: 0o4755, mtime: 2_000, body: 'elf', xattrs: { 'security.capability': 'c' } },
      { path: 'bin/plain', type: 'file', mode: 0o644, mtime: 3_000, body: 'x' },
    ], target, { format: 'apply', ownership: 'ignore', setXattr: helper.setXattr });
    assert.deepEqual(result.skipped, []);
    assert.equal(result.xattrs, 2);
    const at = Object.fromEntries(helper.seen.map((s) => [s.name, s]));
    assert.equal(at['user.dir']?.mode, 0o700, 'the directory had its final mode before its xattr');
    assert.equal(at['security.capability']?.mode, 0o600, 'the file had its final mode before its xattr');
    assert.notEqual(at['security.capability']?.mtimeMs, 2_000_000);
    const ping = statSync(join(target, 'bin/ping'));
    assert.deepEqual([ping.mode & 0o7777, ping.mtimeMs], [0o4755, 2_000_000]);
    const bin = statSync(join(target, 'bin'));
    assert.deepEqual([bin.mode & 0o7777, bin.mtimeMs], [0o555, 1_000_000]);
  });

  test('nothing is removed or replaced while an xattr of it, or below it, is in flight', async () => {
    const base = workdir('no-swap');
    const outside = join(base, 'outside');
    mkdirSync(join(outside, 'b'), { recursive: true });
    writeFileSync(join(outside, 'f'), 'outside');
    const target = join(base, 'target');
    mkdirSync(target);
    const before = snapshot(outside);
    const helper = slowHelper(() => 30);
    const result = await extract([
      { path: 'a/b', type: 'directory', xattrs: { 'user.b': '1' } },
      { path: 'a/f', type: 'file', body: 'f', xattrs: { 'user.f': '1' } },
      { path: 'a', type: 'symlink', linkname: outside },
      { path: 'g', type: 'directory', xattrs: { 'user.g': '1' } },
      { path: 'g', type: 'directory', mode: 0o750 },
    ], target, { format: 'apply', ownership: 'ignore', setXattr: helper.setXattr });
    assert.deepEqual(result.skipped, []);
    const seen = helper.seen.map((s) => `${s.path.slice(target.length + 1)} ${s.type}${s.direct ? '' : ' through a symlink'}`);
    assert.deepEqual(seen.sort(), ['a/b directory', 'a/f file', 'g directory']);
    assert.equal(readlinkSync(join(target, 'a')), outside);
    assert.deepEqual(snapshot(outside), before);
  });

  test('skipped xattrs are listed in archive order whatever order the replies come in', async () => {
    const target = workdir('skip-order');
    const helper = slowHelper((name) => (name.endsWith('slow') ? 40 : 0));
    const result = await extract([
      { path: 'one', type: 'file', body: '', xattrs: { 'fail.slow': '1', 'user.overlay.opaque': 'y', 'fail.fast': '1' } },
      { path: 'two', type: 'directory', xattrs: { 'fail.slow': '1' } },
      { path: '.wh..wh..aufs', type: 'file', body: '' },
      { path: 'three', type: 'symlink', linkname: 'one', xattrs: { 'fail.fast': '1' } },
    ], target, { format: 'apply', ownership: 'ignore', setXattr: helper.setXattr });
    assert.deepEqual(result.skipped.map((s) => `${s.path} ${s.xattr ?? '-'}: ${s.reason.replace(/:.*/, '')}`), [
      'one fail.slow: xattr not set',
      'one user.overlay.opaque: overlay metadata from a layer is not applied',
      'one fail.fast: xattr not set',
      'two fail.slow: xattr not set',
      '.wh..wh..aufs -: AUFS metadata is not part of the image',
      'three fail.fast: xattr not set',
    ]);
  });

  test('a bounded number of entries wait at once, and all of them finish', async () => {
    const target = workdir('bounded');
    const helper = slowHelper(() => 2);
    const entries: TarWriteEntry[] = Array.from({ length: 300 }, (_, i) => ({ path: `f${i}`, type: 'file', mode: 0o640, body: String(i), xattrs: { 'user.n': String(i) } }));
    const result = await extract(entries, target, { format: 'apply', ownership: 'ignore', setXattr: helper.setXattr });
    assert.equal(result.xattrs, 300);
    assert.ok(helper.maxBusy() > 1 && helper.maxBusy() <= 64, `at most 64 at once, and more than one: ${helper.maxBusy()}`);
    for (const i of [0, 150, 299]) assert.equal(statSync(join(target, `f${i}`)).mode & 0o777, 0o640);
  });
});

describe('InFlight', () => {
  test('drain waits for everything and throws the first failure', async () => {
    const inFlight = new InFlight();
    const done: number[] = [];
    inFlight.add(sleep(20).then(() => void done.push(1)));
    inFlight.add(sleep(5).then(() => {
      throw new Error('first');
    }));
    inFlight.add(sleep(10).then(() => {
      throw new Error('second');
    }));
    assert.equal(inFlight.size, 3);
    await assert.rejects(inFlight.drain(), /first/);
    assert.deepEqual(done, [1]);
    assert.equal(inFlight.size, 0);
  });
});
