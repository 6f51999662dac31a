/**
 * Filling a volume as real root (no user namespace; the rootless path is in
 * test/e2e/volumes.test.ts): layer directories in overlay format made here with real 0:0
 * whiteout devices and trusted.overlay.opaque, copied with owners, modes, hardlinks,
 * symlinks and xattrs; a second fill of a volume that is no longer empty changes nothing.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { chownSync, existsSync, linkSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { populateDirectory } from '../../../src/engine/volumes/populate.ts';
import { IS_ROOT, requires } from '../../lib/env.ts';
import { DIST_HELPER } from '../../lib/stage.ts';

const scratch = mkdtempSync('/tmp/tsc-it-volumes-');
after(() => rmSync(scratch, { recursive: true, force: true }));

function layers(): { lower: string; upper: string } {
  const lower = join(scratch, 'lower');
  const upper = join(scratch, 'upper');
  for (const d of ['srv/data/sub', 'srv/data/opaque']) mkdirSync(join(lower, d), { recursive: true });
  writeFileSync(join(lower, 'srv/data/keep'), 'keep\n');
  writeFileSync(join(lower, 'srv/data/gone'), 'gone\n');
  writeFileSync(join(lower, 'srv/data/opaque/old'), 'old\n');
  writeFileSync(join(lower, 'srv/data/sub/owned'), 'owned by 33\n', { mode: 0o640 });
  chownSync(join(lower, 'srv/data/sub/owned'), 33, 34);
  chownSync(join(lower, 'srv/data'), 44, 44);
  linkSync(join(lower, 'srv/data/keep'), join(lower, 'srv/data/keep-link'));
  symlinkSync('keep', join(lower, 'srv/data/keep-sym'));
  execFileSync('setfattr', ['-n', 'user.note', '-v', 'kept', join(lower, 'srv/data/keep')]);
  for (const d of ['srv/data/opaque']) mkdirSync(join(upper, d), { recursive: true });
  execFileSync('mknod', [join(upper, 'srv/data/gone'), 'c', '0', '0']);
  execFileSync('setfattr', ['-n', 'trusted.overlay.opaque', '-v', 'y', join(upper, 'srv/data/opaque')]);
  writeFileSync(join(upper, 'srv/data/opaque/new'), 'new\n');
  writeFileSync(join(upper, 'srv/data/added'), 'added\n');
  chownSync(join(upper, 'srv/data'), 33, 33);
  return { lower, upper };
}

describe('populateDirectory (as root)', () => {
  it('copies the merged view with owners, links and xattrs, without overlay xattrs, once', async (t) => {
    if (!requires(t, IS_ROOT, 'making whiteout devices and trusted xattrs needs root')) return;
    if (!requires(t, existsSync(DIST_HELPER), 'dist/native/tsc-helper is not built')) return;
    const { lower, upper } = layers();
    const volume = join(scratch, 'vol');
    const data = join(volume, '_data');
    mkdirSync(data, { recursive: true });
    const report = await populateDirectory(DIST_HELPER, [upper, lower], '/srv/data', join(volume, '_populate-x'), data);
    assert.equal(report.outcome, 'populated');
    assert.deepEqual(report.skipped, []);
    assert.deepEqual(readdirSync(data).sort(), ['added', 'keep', 'keep-link', 'keep-sym', 'opaque', 'sub']);
    assert.deepEqual(readdirSync(join(data, 'opaque')), ['new']);
    const root = lstatSync(data);
    assert.deepEqual([root.uid, root.gid], [33, 33], 'the volume root takes the owner of the topmost layer\'s directory, as the overlay shows it');
    const owned = lstatSync(join(data, 'sub/owned'));
    assert.deepEqual([owned.uid, owned.gid, owned.mode & 0o7777], [33, 34, 0o640]);
    assert.equal(lstatSync(join(data, 'keep-link')).ino, lstatSync(join(data, 'keep')).ino);
    assert.equal(lstatSync(join(data, 'keep-sym')).isSymbolicLink(), true);
    assert.equal(execFileSync('getfattr', ['--absolute-names', '--only-values', '-n', 'user.note', join(data, 'keep')], { encoding: 'utf8' }), 'kept');
    const attrs = execFileSync('getfattr', ['--absolute-names', '-d', '-m', '-', join(data, 'opaque')], { encoding: 'utf8' });
    assert.doesNotMatch(attrs, /overlay/);
    assert.deepEqual(readdirSync(volume), ['_data'], 'no scratch left');

    writeFileSync(join(data, 'keep'), 'changed\n');
    const again = await populateDirectory(DIST_HELPER, [upper, lower], '/srv/data', join(volume, '_populate-y'), data);
    assert.equal(again.outcome, 'not-empty');
    assert.equal(readFileSync(join(data, 'keep'), 'utf8'), 'changed\n');
    const nothing = join(scratch, 'vol2', '_data');
    mkdirSync(nothing, { recursive: true });
    assert.equal((await populateDirectory(DIST_HELPER, [upper, lower], '/srv/data/keep', join(scratch, 'vol2', '_p'), nothing)).outcome, 'nothing-to-copy');
  });
});
