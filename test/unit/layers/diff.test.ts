/**
 * Layer diff planning: the tar entries each kind of upper-dir node becomes, and a real
 * directory walked into a layer whose tar reads back in a fixed order.
 */
import assert from 'node:assert/strict';
import { createReadStream, linkSync, mkdirSync, mkdtempSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { createGunzip } from 'node:zlib';
import { isOverlayXattr, planEntries, upperEntries, writeLayerFile, type FsNode } from '../../../src/engine/layers/diff.ts';
import { readTar } from '../../../src/engine/layers/tar.ts';
import { removeTree } from '../../../src/engine/sys/files.ts';

const scratch = mkdtempSync(join(tmpdir(), 'tsc-diff-'));
after(() => removeTree(scratch));

function node(overrides: Partial<FsNode>): FsNode {
  return { path: 'a', type: 'file', mode: 0o644, uid: 0, gid: 0, mtime: 1000, size: 3, rdevMajor: 0, rdevMinor: 0, nlink: 1, inode: '1:1', xattrs: new Map(), ...overrides };
}

describe('planEntries', () => {
  test('a 0:0 character device is a .wh. whiteout beside the name', () => {
    const [entry] = planEntries(node({ path: 'etc/passwd', type: 'char' }), new Map());
    assert.equal(entry!.path, 'etc/.wh.passwd');
    assert.equal(entry!.type, 'file');
    assert.equal(entry!.size, 0);
    assert.equal(planEntries(node({ path: 'gone', type: 'char' }), new Map())[0]!.path, '.wh.gone');
  });
  test('a real character device stays a device', () => {
    const [entry] = planEntries(node({ path: 'dev/null', type: 'char', rdevMajor: 1, rdevMinor: 3 }), new Map());
    assert.deepEqual([entry!.type, entry!.devmajor, entry!.devminor], ['char-device', 1, 3]);
  });
  for (const name of ['user.overlay.opaque', 'trusted.overlay.opaque', 'user.fuseoverlayfs.opaque']) {
    test(`an opaque directory (${name}) gets the opaque marker and loses the xattr`, () => {
      const entries = planEntries(node({ path: 'var/lib', type: 'directory', mode: 0o755, xattrs: new Map([[name, Buffer.from('y')], ['user.keep', Buffer.from('1')]]) }), new Map());
      assert.deepEqual(entries.map((e) => e.path), ['var/lib/', 'var/lib/.wh..wh..opq']);
      assert.deepEqual([...(entries[0]!.xattrs as Map<string, Buffer>).keys()], ['user.keep']);
    });
  }
  test('a directory without the xattr is not opaque', () => {
    assert.deepEqual(planEntries(node({ path: 'd', type: 'directory', xattrs: new Map([['user.overlay.opaque', Buffer.from('n')]]) }), new Map()).map((e) => e.path), ['d/']);
  });
  test('overlay xattrs are recognised, others are not', () => {
    assert.equal(isOverlayXattr('user.overlay.origin'), true);
    assert.equal(isOverlayXattr('trusted.overlay.redirect'), true);
    assert.equal(isOverlayXattr('security.capability'), false);
    assert.equal(isOverlayXattr('user.overlayish'), false);
  });
  test('the second path of a multiply linked file is a hard link to the first', () => {
    const links = new Map<string, string>();
    const first = planEntries(node({ path: 'bin/a', nlink: 2, inode: '5:9' }), links);
    const second = planEntries(node({ path: 'bin/b', nlink: 2, inode: '5:9' }), links);
    assert.equal(first[0]!.type, 'file');
    assert.deepEqual([second[0]!.type, second[0]!.linkname], ['hardlink', 'bin/a']);
  });
  test('owners, modes with special bits, symlinks; sockets are left out', () => {
    const [file] = planEntries(node({ mode: 0o4755, uid: 33, gid: 44 }), new Map());
    assert.deepEqual([file!.mode, file!.uid, file!.gid], [0o4755, 33, 44]);
    const [link] = planEntries(node({ type: 'symlink', linkTarget: '../x' }), new Map());
    assert.deepEqual([link!.type, link!.linkname], ['symlink', '../x']);
    assert.deepEqual(planEntries(node({ type: 'socket' }), new Map()), []);
  });
});

describe('writeLayerFile', () => {
  test('a directory walked twice gives the same DiffID; entries come in byte order', async () => {
    const upper = join(scratch, 'upper');
    mkdirSync(join(upper, 'b/c'), { recursive: true });
    writeFileSync(join(upper, 'b/c/f'), 'hello');
    writeFileSync(join(upper, 'a'), 'x');
    linkSync(join(upper, 'a'), join(upper, 'Z'));
    symlinkSync('b/c/f', join(upper, 'link'));
    for (const p of ['a', 'b', 'b/c', 'b/c/f']) utimesSync(join(upper, p), 1000, 1000);
    const noXattrs = async () => new Map<string, Buffer>();
    const one = await writeLayerFile(upperEntries(upper, noXattrs), join(scratch, 'one.tgz'));
    const two = await writeLayerFile(upperEntries(upper, noXattrs), join(scratch, 'two.tgz'));
    assert.equal(one.diffId, two.diffId);
    assert.match(one.digest, /^sha256:[0-9a-f]{64}$/);
    const seen: string[] = [];
    for await (const entry of readTar(createReadStream(join(scratch, 'one.tgz')).pipe(createGunzip()))) {
      seen.push(`${entry.type} ${entry.path}`);
    }
    assert.deepEqual(seen, ['file Z', 'hardlink a', 'directory b', 'directory b/c', 'file b/c/f', 'symlink link']);
  });
});
