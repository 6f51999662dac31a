import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { planMergedTree, type EntryKind, type LayerReader } from '../../../src/engine/volumes/merge.ts';

/** Layers in memory: path -> kind, with `!` after a directory marking it opaque. */
function reader(layers: Record<string, Record<string, string>>): LayerReader {
  const entries = new Map<string, { kind: EntryKind; opaque: boolean; target?: string }>();
  for (const [layer, files] of Object.entries(layers)) {
    entries.set(layer, { kind: 'directory', opaque: false });
    for (const [path, spec] of Object.entries(files)) {
      if (spec.startsWith('-> ')) {
        entries.set(`${layer}/${path}`, { kind: 'symlink', opaque: false, target: spec.slice(3) });
        continue;
      }
      const kind = spec.replace('!', '') as EntryKind;
      entries.set(`${layer}/${path}`, { kind, opaque: spec.endsWith('!') });
    }
  }
  return {
    kind: async (path) => entries.get(path)?.kind,
    list: async (path) => [...entries.keys()].filter((p) => p.startsWith(`${path}/`) && !p.slice(path.length + 1).includes('/')).map((p) => p.slice(path.length + 1)),
    opaque: async (path) => entries.get(path)?.opaque ?? false,
    readlink: async (path) => entries.get(path)?.target ?? '',
  };
}

const plan = async (r: LayerReader, top: string[], dest: string) =>
  (await planMergedTree(r, top, dest)).map((e) => `${e.path || '.'} ${e.kind} ${e.source}`);

describe('planMergedTree', () => {
  const layers = reader({
    '/l1': {
      etc: 'directory', 'etc/passwd': 'file', 'etc/removeme': 'file', 'etc/opaque': 'directory', 'etc/opaque/old': 'file',
      'etc/sub': 'directory', 'etc/sub/a': 'file', 'etc/link': 'symlink', 'etc/becomesdir': 'file', 'etc/becomesfile': 'directory', 'etc/becomesfile/x': 'file',
      var: 'directory', 'var/www': 'directory', 'var/www/index.html': 'file',
    },
    '/l2': {
      etc: 'directory', 'etc/removeme': 'whiteout', 'etc/opaque': 'directory!', 'etc/opaque/new': 'file',
      'etc/sub': 'directory', 'etc/sub/b': 'file', 'etc/becomesdir': 'directory', 'etc/becomesdir/y': 'file', 'etc/becomesfile': 'file',
      var: 'whiteout',
    },
    '/l3': { var: 'directory', 'var/new': 'file' },
  });
  const top = ['/l3', '/l2', '/l1'];

  it('merges directories across layers, topmost first, honouring whiteouts and opaque directories', async () => {
    assert.deepEqual(await plan(layers, top, '/etc'), [
      '. directory /l2/etc',
      'becomesdir directory /l2/etc/becomesdir',
      'becomesdir/y file /l2/etc/becomesdir/y',
      'becomesfile file /l2/etc/becomesfile',
      'link symlink /l1/etc/link',
      'opaque directory /l2/etc/opaque',
      'opaque/new file /l2/etc/opaque/new',
      'passwd file /l1/etc/passwd',
      'sub directory /l2/etc/sub',
      'sub/a file /l1/etc/sub/a',
      'sub/b file /l2/etc/sub/b',
    ]);
  });

  it('stops at a whiteout of a parent directory: a lower /var is gone, the upper one stays', async () => {
    assert.deepEqual(await plan(layers, top, '/var'), ['. directory /l3/var', 'new file /l3/var/new']);
    assert.deepEqual(await plan(layers, top, '/var/www'), []);
    assert.deepEqual(await plan(layers, ['/l2', '/l1'], '/var/www'), []);
    assert.deepEqual(await plan(layers, ['/l1'], '/var/www'), ['. directory /l1/var/www', 'index.html file /l1/var/www/index.html']);
  });

  it('has nothing to copy for a missing path, a file, or a path through a file', async () => {
    assert.deepEqual(await plan(layers, top, '/nothing/here'), []);
    assert.deepEqual(await plan(layers, top, '/etc/passwd'), []);
    assert.deepEqual(await plan(layers, top, '/etc/becomesfile/x'), []);
  });

  it('follows symlinks on the way to the destination inside the image, as the mount does', async () => {
    const links = reader({
      '/b': { run: 'directory', 'run/lock': 'file', var: 'directory', 'var/run': '-> ../run', 'var/abs': '-> /run', 'var/loop': '-> loop', 'var/up': '-> ../../../run', data: '-> /var/run' },
    });
    const run = ['. directory /b/run', 'lock file /b/run/lock'];
    assert.deepEqual(await plan(links, ['/b'], '/var/run'), run);
    assert.deepEqual(await plan(links, ['/b'], '/var/abs'), run);
    assert.deepEqual(await plan(links, ['/b'], '/data'), run);
    assert.deepEqual(await plan(links, ['/b'], '/var/up'), run, '.. stops at the root');
    assert.deepEqual(await plan(links, ['/b'], '/var/loop'), []);
    assert.deepEqual((await plan(links, ['/b'], '/var')).slice(0, 2), ['. directory /b/var', 'abs symlink /b/var/abs']);
  });

  it('reaches a directory inside an opaque one only through the upper layer', async () => {
    assert.deepEqual(await plan(layers, top, '/etc/opaque'), ['. directory /l2/etc/opaque', 'new file /l2/etc/opaque/new']);
  });
});
