import assert from 'node:assert/strict';
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { isTscError } from '../../../src/engine/errors.ts';
import { extractLayer, type ExtractOptions, type ExtractResult } from '../../../src/engine/layers/extract.ts';
import { writeTar, type TarWriteEntry } from '../../../src/engine/layers/tar-write.ts';
import { removeTree } from '../../../src/engine/sys/files.ts';
import { IS_ROOT, requires } from '../../lib/env.ts';
import { commandMknod, HAS_PYTHON, listXattrs, pythonSetXattr } from './helpers.ts';

const scratch = mkdtempSync(join(tmpdir(), 'tsc-extract-'));
after(() => removeTree(scratch));

const CAPABILITY = Buffer.from('0000000200040000000000000000000000000000', 'hex');
const APPLY: ExtractOptions = { format: 'apply', ownership: 'ignore' };

let counter = 0;
/** A fresh directory for one test, named after it so leftovers are traceable. */
function workdir(name: string): string {
  const dir = join(scratch, `${String(++counter).padStart(3, '0')}-${name.replace(/[^a-z0-9]+/gi, '-')}`);
  mkdirSync(dir);
  return dir;
}

function extract(entries: TarWriteEntry[], target: string, options: ExtractOptions = APPLY): Promise<ExtractResult> {
  return extractLayer(writeTar(entries), target, options);
}

const reasons = (result: ExtractResult) => result.skipped.map((s) => `${s.path}${s.xattr ? ` [${s.xattr}]` : ''}: ${s.reason}`);

describe('regular content', () => {
  test('files, directories, links, modes and times', async () => {
    const target = workdir('basic');
    const result = await extract([
      { path: './etc/', type: 'directory', mode: 0o755, mtime: 1_000_000 },
      { path: 'etc/hosts', type: 'file', mode: 0o644, mtime: 1_500_000, body: '127.0.0.1 localhost\n' },
      { path: 'etc/ro', type: 'directory', mode: 0o555, mtime: 2_000_000 },
      { path: 'etc/ro/inside', type: 'file', mode: 0o400, body: 'x', mtime: 2_100_000 },
      { path: 'bin/sh', type: 'file', mode: 0o755, body: Buffer.alloc(100_000, 1) },
      { path: 'bin/ash', type: 'hardlink', linkname: '/bin/sh' },
      { path: 'usr/bin/env', type: 'symlink', linkname: '../../bin/sh', mtime: 1_234_567 },
      { path: 'tmp', type: 'directory', mode: 0o1777 },
    ], target);
    assert.deepEqual(reasons(result), []);
    assert.deepEqual(
      [result.entries, result.files, result.directories, result.symlinks, result.hardlinks, result.bytes],
      [8, 3, 3, 1, 1, 20 + 1 + 100_000],
    );
    assert.equal(readFileSync(join(target, 'etc/hosts'), 'utf8'), '127.0.0.1 localhost\n');
    assert.equal(statSync(join(target, 'etc/hosts')).mtimeMs, 1_500_000_000);
    assert.equal(statSync(join(target, 'etc/ro')).mode & 0o7777, 0o555);
    assert.equal(statSync(join(target, 'etc/ro')).mtimeMs, 2_000_000_000, 'set after its content');
    assert.equal(statSync(join(target, 'etc')).mtimeMs, 1_000_000_000, 'set after its content');
    assert.equal(statSync(join(target, 'etc/ro/inside')).mode & 0o7777, 0o400);
    assert.equal(statSync(join(target, 'bin/sh')).ino, statSync(join(target, 'bin/ash')).ino);
    assert.equal(readlinkSync(join(target, 'usr/bin/env')), '../../bin/sh');
    assert.equal(lstatSync(join(target, 'usr/bin/env')).mtimeMs, 1_234_567_000);
    assert.equal(statSync(join(target, 'tmp')).mode & 0o7777, 0o1777);
  });

  test("ownership 'ignore' leaves everything to the caller", async () => {
    const target = workdir('ignore');
    await extract([{ path: 'f', type: 'file', uid: 1234, gid: 5678, body: 'x' }, { path: 'd', type: 'directory', uid: 1234, gid: 5678 }], target);
    for (const name of ['f', 'd']) {
      const s = lstatSync(join(target, name));
      assert.deepEqual([s.uid, s.gid], [process.getuid!(), process.getgid!()]);
    }
  });

  test('a later entry replaces an earlier one; directories merge', async () => {
    const target = workdir('replace');
    const result = await extract([
      { path: 'x', type: 'directory' },
      { path: 'x/child', type: 'file', body: '1' },
      { path: 'x', type: 'symlink', linkname: 'elsewhere' },
      { path: 'y', type: 'file', body: 'old' },
      { path: 'y', type: 'file', body: 'new' },
      { path: 'z', type: 'directory', mode: 0o700 },
      { path: 'z/a', type: 'file', body: 'a' },
      { path: 'z', type: 'directory', mode: 0o750 },
    ], target);
    assert.deepEqual(reasons(result), []);
    assert.equal(readlinkSync(join(target, 'x')), 'elsewhere');
    assert.equal(readFileSync(join(target, 'y'), 'utf8'), 'new');
    assert.equal(readFileSync(join(target, 'z/a'), 'utf8'), 'a');
    assert.equal(statSync(join(target, 'z')).mode & 0o777, 0o750);
  });

  test('xattrs go through setXattr; by default they are listed as skipped', async () => {
    const target = workdir('xattrs-default');
    const result = await extract([{ path: 'f', type: 'file', body: '', xattrs: { 'user.a': 'b' } }], target);
    assert.deepEqual(reasons(result), ['f [user.a]: xattr not set: extended attributes cannot be set yet']);
    const seen: [string, string, string][] = [];
    const recorded = await extract(
      [{ path: 'g', type: 'file', body: '', xattrs: { 'user.a': 'b', 'trusted.overlay.opaque': 'y', 'user.overlay.redirect': '/etc' } }],
      target,
      { ...APPLY, setXattr: async (path, name, value) => void seen.push([path, name, value.toString()]) },
    );
    assert.deepEqual(seen, [[join(target, 'g'), 'user.a', 'b']]);
    assert.deepEqual(reasons(recorded), [
      'g [trusted.overlay.opaque]: overlay metadata from a layer is not applied',
      'g [user.overlay.redirect]: overlay metadata from a layer is not applied',
    ]);
  });

  test('device nodes that cannot be made are skipped with a note', async () => {
    const target = workdir('devices');
    const byDefault = await extract([{ path: 'dev/null', type: 'char-device', devmajor: 1, devminor: 3 }, { path: 'p', type: 'fifo' }], target);
    assert.deepEqual(reasons(byDefault), ['dev/null: char-device 1:3 not created: device nodes cannot be created yet', 'p: fifo not created: fifos cannot be created yet']);
    const eperm = await extract([{ path: 'dev/sda', type: 'block-device', devmajor: 8, devminor: 0 }], target, {
      ...APPLY,
      mknod: async () => {
        throw Object.assign(new Error('mknod: Operation not permitted'), { code: 'EPERM' });
      },
    });
    assert.deepEqual(reasons(eperm), ['dev/sda: block-device 8:0 not created: mknod: Operation not permitted']);
    assert.equal(existsSync(join(target, 'dev/sda')), false);
  });

  test('a missing target is an error', async () => {
    await assert.rejects(extract([], join(scratch, 'does-not-exist')), (e: unknown) => isTscError(e) && e.code === 'system');
  });
});

describe('as root', () => {
  test("ownership 'keep', setuid/setgid/sticky after chown, security.capability byte-exact", async (t) => {
    if (!requires(t, IS_ROOT, 'chown to other ids needs root')) return;
    if (!requires(t, HAS_PYTHON, 'python3 is needed to set xattrs')) return;
    const target = workdir('root-keep');
    const result = await extract([
      { path: 'usr', type: 'directory', uid: 0, gid: 0, mode: 0o755 },
      { path: 'usr/bin/ping', type: 'file', uid: 1234, gid: 5678, mode: 0o4755, body: 'elf', xattrs: { 'security.capability': CAPABILITY } },
      { path: 'usr/bin/wall', type: 'file', uid: 0, gid: 5, mode: 0o2755, body: 'elf' },
      { path: 'shared', type: 'directory', uid: 1000, gid: 1000, mode: 0o3777 },
      { path: 'link', type: 'symlink', uid: 4321, gid: 8765, linkname: 'usr' },
      { path: 'dev/null', type: 'char-device', devmajor: 1, devminor: 3, mode: 0o666, uid: 0, gid: 0 },
      { path: 'dev/sda', type: 'block-device', devmajor: 8, devminor: 0, mode: 0o660, uid: 0, gid: 6 },
      { path: 'run/fifo', type: 'fifo', mode: 0o620, uid: 7, gid: 8 },
    ], target, { format: 'apply', ownership: 'keep', setXattr: pythonSetXattr, mknod: commandMknod });
    assert.deepEqual(reasons(result), []);
    const ping = statSync(join(target, 'usr/bin/ping'));
    assert.deepEqual([ping.uid, ping.gid, ping.mode & 0o7777], [1234, 5678, 0o4755]);
    assert.deepEqual((await listXattrs(join(target, 'usr/bin/ping'))).get('security.capability'), CAPABILITY);
    assert.equal(statSync(join(target, 'usr/bin/wall')).mode & 0o7777, 0o2755);
    const shared = statSync(join(target, 'shared'));
    assert.deepEqual([shared.uid, shared.gid, shared.mode & 0o7777], [1000, 1000, 0o3777]);
    const link = lstatSync(join(target, 'link'));
    assert.deepEqual([link.uid, link.gid], [4321, 8765]);
    const dev = statSync(join(target, 'dev/null'));
    assert.ok(dev.isCharacterDevice());
    assert.equal(dev.rdev, (1 << 8) | 3);
    assert.ok(statSync(join(target, 'dev/sda')).isBlockDevice());
    const fifo = statSync(join(target, 'run/fifo'));
    assert.ok(fifo.isFIFO());
    assert.deepEqual([fifo.uid, fifo.gid, fifo.mode & 0o777], [7, 8, 0o620]);
    assert.equal(result.devices, 3);
  });

  test("ownership 'keep' refuses what it cannot apply", async () => {
    const target = workdir('keep-refused');
    if (IS_ROOT) {
      await assert.rejects(
        extract([{ path: 'f', type: 'file', uid: 2 ** 40, gid: 0, body: '' }], target, { format: 'apply', ownership: 'keep' }),
        (e: unknown) => isTscError(e) && e.code === 'invalid-content' && /the uid 1099511627776 of "f" is out of range/.test(e.message),
      );
    } else {
      await assert.rejects(
        extract([{ path: 'f', type: 'file', uid: 0, gid: 0, body: '' }], target, { format: 'apply', ownership: 'keep' }),
        (e: unknown) => isTscError(e) && e.code === 'system' && /cannot give .* the owner 0:0/.test(e.message),
      );
    }
  });
});

const LOWER: TarWriteEntry[] = [
  { path: 'gone', type: 'file', body: 'g' },
  { path: 'gonedir/x', type: 'file', body: 'x' },
  { path: 'd/old1', type: 'file', body: 'o' },
  { path: 'd/sub/old2', type: 'file', body: 'o' },
  { path: 'e/olde', type: 'file', body: 'o' },
  { path: 'e/stays', type: 'file', body: 's' },
  { path: 're/stale', type: 'file', body: 's' },
  { path: 'keep/k', type: 'file', body: 'k' },
];

/** Entries whose relative order matters for whiteout handling; every order is tried. */
const ORDERED: TarWriteEntry[] = [
  { path: 'd/.wh..wh..opq', type: 'file', body: '' },
  { path: 'd/new', type: 'file', body: 'n' },
  { path: 'd/sub/new2', type: 'file', body: 'n' },
  { path: '.wh.re', type: 'file', body: '' },
  { path: 're/fresh', type: 'file', body: 'f' },
];
const FIXED: TarWriteEntry[] = [
  { path: '.wh.gone', type: 'file', body: '' },
  { path: '.wh.gonedir', type: 'file', body: '' },
  { path: 'e/.wh.olde', type: 'file', body: '' },
];

function permutations<T>(items: T[]): T[][] {
  if (items.length <= 1) return [items];
  return items.flatMap((item, i) => permutations([...items.slice(0, i), ...items.slice(i + 1)]).map((rest) => [item, ...rest]));
}

function tree(dir: string): string[] {
  const out: string[] = [];
  const walk = (rel: string) => {
    for (const name of readdirSync(join(dir, rel)).sort()) {
      const child = rel ? `${rel}/${name}` : name;
      out.push(child);
      if (lstatSync(join(dir, child)).isDirectory()) walk(child);
    }
  };
  walk('');
  return out;
}

describe("whiteouts in the 'apply' format", () => {
  test('every order of opaque markers, whiteouts and the files they must not touch', async () => {
    const expected = ['d', 'd/new', 'd/sub', 'd/sub/new2', 'e', 'e/stays', 'keep', 'keep/k', 're', 're/fresh'];
    const base = workdir('apply-orders');
    let n = 0;
    for (const order of permutations(ORDERED)) {
      const target = join(base, String(n++));
      mkdirSync(target);
      await extract(LOWER, target);
      const entries = n % 2 === 0 ? [...FIXED, ...order] : [...order, ...FIXED];
      const result = await extract(entries, target);
      assert.deepEqual(reasons(result), [], order.map((e) => e.path).join(' '));
      assert.deepEqual(tree(target), expected, `order: ${entries.map((e) => e.path).join(' ')}`);
    }
    assert.equal(n, 120);
  });

  test('a whiteout of a path the same layer writes keeps the new file', async () => {
    for (const order of [['f', '.wh.f'], ['.wh.f', 'f']]) {
      const target = workdir('same-layer');
      await extract([{ path: 'f', type: 'file', body: 'lower' }], target);
      await extract(order.map((path) => ({ path, type: 'file' as const, body: path === 'f' ? 'upper' : '' })), target);
      assert.equal(readFileSync(join(target, 'f'), 'utf8'), 'upper', order.join(' '));
    }
  });

  test('an opaque marker on the root keeps only this layer', async () => {
    const target = workdir('root-opaque');
    await extract(LOWER, target);
    const result = await extract([{ path: 'new', type: 'file', body: '' }, { path: '.wh..wh..opq', type: 'file', body: '' }, { path: 'later', type: 'file', body: '' }], target);
    assert.equal(result.rootOpaque, true);
    assert.deepEqual(tree(target), ['later', 'new']);
  });
});

describe('whiteouts in the overlay formats', () => {
  const layer: TarWriteEntry[] = [
    { path: '.wh.gone', type: 'file', body: '' },
    { path: 'e/.wh.olde', type: 'file', body: '' },
    { path: 'd/new', type: 'file', body: 'n' },
    { path: 'd/.wh.ignored', type: 'file', body: '' },
    { path: 'd/.wh..wh..opq', type: 'file', body: '' },
    { path: 'd/.wh.also-ignored', type: 'file', body: '' },
    { path: '.wh.re', type: 'file', body: '' },
    { path: 're/fresh', type: 'file', body: 'f' },
    { path: 'back', type: 'file', body: 'b' },
    { path: '.wh.back', type: 'file', body: '' },
  ];

  test("'xattr-overlay': empty files with user.overlay.whiteout, parents marked opaque=x", async (t) => {
    if (!requires(t, HAS_PYTHON, 'python3 is needed to read and write xattrs')) return;
    const target = workdir('xattr-overlay');
    const result = await extract(layer, target, { format: 'xattr-overlay', ownership: 'ignore', setXattr: pythonSetXattr });
    assert.deepEqual(reasons(result), []);
    assert.deepEqual(tree(target), ['back', 'd', 'd/new', 'e', 'e/olde', 'gone', 're', 're/fresh']);
    for (const marker of ['gone', 'e/olde']) {
      assert.equal(statSync(join(target, marker)).size, 0);
      assert.deepEqual([...(await listXattrs(join(target, marker))).keys()], ['user.overlay.whiteout'], marker);
    }
    assert.equal((await listXattrs(target)).get('user.overlay.opaque')?.toString(), 'x');
    assert.equal((await listXattrs(join(target, 'e'))).get('user.overlay.opaque')?.toString(), 'x');
    assert.equal((await listXattrs(join(target, 'd'))).get('user.overlay.opaque')?.toString(), 'y');
    assert.equal((await listXattrs(join(target, 're'))).get('user.overlay.opaque')?.toString(), 'y');
    assert.equal(readFileSync(join(target, 'back'), 'utf8'), 'b');
    assert.equal(result.whiteouts, 6);
  });

  test("'overlay': 0:0 character devices, opaque=y (mknod of a whiteout needs no privilege)", async (t) => {
    if (!requires(t, HAS_PYTHON, 'python3 is needed to read and write xattrs')) return;
    const target = workdir('overlay');
    const result = await extract(layer, target, { format: 'overlay', ownership: 'ignore', setXattr: pythonSetXattr, mknod: commandMknod });
    assert.deepEqual(reasons(result), []);
    for (const marker of ['gone', 'e/olde']) {
      const s = lstatSync(join(target, marker));
      assert.ok(s.isCharacterDevice() && s.rdev === 0, marker);
    }
    assert.equal((await listXattrs(target)).get('user.overlay.opaque'), undefined);
    assert.equal((await listXattrs(join(target, 'd'))).get('user.overlay.opaque')?.toString(), 'y');
    assert.deepEqual(readdirSync(join(target, 'd')), ['new']);
  });

  test('without xattr support the overlay formats refuse whiteouts rather than drop them', async () => {
    const target = workdir('overlay-unsupported');
    await assert.rejects(
      extract([{ path: 'a/.wh.b', type: 'file', body: '' }], target, { format: 'xattr-overlay', ownership: 'ignore' }),
      (e: unknown) => isTscError(e) && e.code === 'unsupported' && /cannot write the whiteout xattr/.test(e.message),
    );
  });

  test('an opaque root is reported, not written', async (t) => {
    if (!requires(t, HAS_PYTHON, 'python3 is needed to read and write xattrs')) return;
    const target = workdir('overlay-root-opaque');
    const result = await extract([{ path: '.wh..wh..opq', type: 'file', body: '' }], target, { format: 'xattr-overlay', ownership: 'ignore', setXattr: pythonSetXattr });
    assert.equal(result.rootOpaque, true);
    assert.equal((await listXattrs(target)).size, 0);
  });
});
