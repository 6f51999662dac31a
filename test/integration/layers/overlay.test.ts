/**
 * Layers extracted in the overlay formats, mounted with the real kernel overlayfs, show
 * exactly what the 'apply' format (the copy driver) builds from the same layers: the
 * whiteouts hide lower files and the opaque directories hide lower content. Mounted by
 * root (trusted.overlay.* xattrs) and by the unprivileged test user in a user namespace
 * (userxattr, user.overlay.* xattrs).
 */
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { extractLayer, type ExtractOptions } from '../../../src/engine/layers/extract.ts';
import { writeTar, type TarWriteEntry } from '../../../src/engine/layers/tar-write.ts';
import { removeTree } from '../../../src/engine/sys/files.ts';
import { IS_ROOT, requires, requiresTestHost } from '../../lib/env.ts';
import { runAs } from '../../lib/users.ts';
import { commandMknod, HAS_PYTHON, pythonSetXattr } from '../../unit/layers/helpers.ts';

const FUSE_OVERLAYFS = '/usr/bin/fuse-overlayfs';
const scratch = mkdtempSync('/tmp/tsc-it-layers-');
chmodSync(scratch, 0o755);
after(() => removeTree(scratch));

const file = (path: string, body = path): TarWriteEntry => ({ path, type: 'file', body, mode: 0o644 });
const dir = (path: string): TarWriteEntry => ({ path, type: 'directory', mode: 0o755 });

/** Three layers with whiteouts and opaque directories at the root and below, in awkward orders. */
const LAYERS: TarWriteEntry[][] = [
  [
    dir('d'), dir('d/sub'), dir('e'), dir('re'), dir('keep'), dir('gonedir'),
    file('gone'), file('gonedir/x'), file('d/old1'), file('d/sub/old2'), file('e/olde'), file('e/stays'),
    file('re/stale'), file('keep/k'), file('rootfile'), { path: 'link', type: 'symlink', linkname: 'keep/k' },
  ],
  [
    file('d/new'), dir('d'), { path: 'd/.wh..wh..opq', type: 'file', body: '' }, file('d/sub/new2'),
    { path: '.wh.gone', type: 'file', body: '' }, { path: '.wh.gonedir', type: 'file', body: '' },
    dir('e'), { path: 'e/.wh.olde', type: 'file', body: '' },
    file('re/fresh'), { path: '.wh.re', type: 'file', body: '' },
    { path: '.wh.link', type: 'file', body: '' },
  ],
  [
    file('gone', 'back again'), { path: '.wh.rootfile', type: 'file', body: '' },
    dir('keep'), { path: 'keep/.wh.k', type: 'file', body: '' }, file('keep/k2'),
  ],
];

/** One line per path below `root`: its type, and a digest of a file's content. */
const LISTING = `cd "$1" && find . -mindepth 1 | LC_ALL=C sort | while read -r p; do
  if [ -L "$p" ]; then echo "$p link $(readlink "$p")";
  elif [ -f "$p" ]; then echo "$p file $(md5sum < "$p" | cut -c1-32)";
  else echo "$p $(stat -c %F "$p")"; fi; done`;

async function extractAll(format: ExtractOptions['format'], overlayXattrs: 'user' | 'trusted', name: string): Promise<string[]> {
  const options: ExtractOptions = { format, ownership: 'keep', overlayXattrs, setXattr: pythonSetXattr, mknod: commandMknod };
  const dirs: string[] = [];
  for (const [i, layer] of LAYERS.entries()) {
    const target = join(scratch, `${name}-${i}`);
    mkdirSync(target);
    const result = await extractLayer(writeTar(layer), target, options);
    assert.deepEqual(result.skipped, [], `layer ${i}`);
    dirs.push(target);
  }
  return dirs;
}

async function expectedListing(): Promise<string> {
  const rootfs = join(scratch, 'apply');
  mkdirSync(rootfs, { recursive: true });
  for (const layer of LAYERS) await extractLayer(writeTar(layer), rootfs, { format: 'apply', ownership: 'keep' });
  return execFileSync('sh', ['-c', LISTING, 'sh', rootfs], { encoding: 'utf8' });
}

/** A script that mounts the layers (topmost first) read-only with `mount` and lists the merged view. */
function mountAndList(layers: string[], how: 'kernel' | 'kernel-userxattr' | 'fuse'): string {
  const lowerdir = [...layers].reverse().join(':');
  const list = `sh -c '${LISTING.replaceAll("'", "'\\''")}' sh "$m"`;
  if (how === 'fuse') return `set -e; m=$(mktemp -d); ${FUSE_OVERLAYFS} -o "lowerdir=${lowerdir}" "$m" 2>/dev/null; ${list}; fusermount3 -u "$m"`;
  const extra = how === 'kernel-userxattr' ? ',userxattr' : '';
  return `set -e; m=$(mktemp -d); mount -t overlay overlay -o "lowerdir=${lowerdir}${extra}" "$m"; ${list}`;
}

describe('extracted layers under overlayfs', () => {
  let expected: string | undefined;
  const want = async () => (expected ??= await expectedListing());

  for (const format of ['xattr-overlay', 'overlay'] as const) {
    test(`${format}: mounted by root matches the copy driver`, async (t) => {
      if (!requires(t, IS_ROOT, 'mounting overlayfs with trusted xattrs needs root')) return;
      if (!requires(t, HAS_PYTHON, 'python3 is needed to write xattrs')) return;
      const layers = await extractAll(format, 'trusted', `root-${format}`);
      const merged = execFileSync('unshare', ['-m', '--propagation', 'private', 'sh', '-c', mountAndList(layers, 'kernel')], { encoding: 'utf8' });
      assert.equal(merged, await want());
      assert.match(merged, /^\.\/gone file /m);
      assert.doesNotMatch(merged, /old1|old2|olde|stale|rootfile|gonedir|\.\/link|keep\/k /);
    });

    test(`${format}: mounted by the unprivileged test user with userxattr matches the copy driver`, async (t) => {
      const host = requiresTestHost(t);
      if (!host) return;
      if (!requires(t, HAS_PYTHON, 'python3 is needed to write xattrs')) return;
      const layers = await extractAll(format, 'user', `user-${format}`);
      const result = await runAs('unshare', ['-Urm', 'sh', '-c', mountAndList(layers, 'kernel-userxattr')], { uid: host.uid });
      assert.equal(result.status, 0, result.stderr);
      assert.equal(result.stdout, await want());
    });
  }

  test('overlay: fuse-overlayfs (which knows no xwhiteouts) as the unprivileged test user matches the copy driver', async (t) => {
    const host = requiresTestHost(t);
    if (!host) return;
    if (!requires(t, HAS_PYTHON, 'python3 is needed to write xattrs')) return;
    if (!requires(t, existsSync(FUSE_OVERLAYFS), `${FUSE_OVERLAYFS} is not installed`)) return;
    const layers = await extractAll('overlay', 'user', 'fuse');
    const result = await runAs('unshare', ['-Urm', 'sh', '-c', mountAndList(layers, 'fuse')], { uid: host.uid });
    assert.equal(result.status, 0, result.stderr);
    assert.equal(result.stdout, await want());
  });
});

describe('what the overlay format rests on', () => {
  test('an unprivileged user may create a 0:0 whiteout device, but no other device', async (t) => {
    const host = requiresTestHost(t);
    if (!host) return;
    const dir = join(scratch, 'mknod');
    mkdirSync(dir);
    chmodSync(dir, 0o777);
    const mknod = (name: string, major: number, minor: number) =>
      spawnSync('setpriv', [`--reuid=${host.uid}`, `--regid=${host.uid}`, '--init-groups', 'mknod', join(dir, name), 'c', String(major), String(minor)], { encoding: 'utf8' });
    const whiteout = mknod('wh', 0, 0);
    assert.equal(whiteout.status, 0, whiteout.stderr);
    assert.ok(statSync(join(dir, 'wh')).isCharacterDevice());
    assert.equal(statSync(join(dir, 'wh')).rdev, 0);
    assert.equal(statSync(join(dir, 'wh')).uid, host.uid);
    const device = mknod('null', 1, 3);
    assert.notEqual(device.status, 0);
    assert.match(device.stderr, /not permitted/i);
  });
});
