/**
 * Reading layer directories as overlayfs shows them: the merged view, docker-diff changes,
 * and several layers squashed into one. Opaque directories come from an injected xattr
 * reader (so the tests need no privileges); a directory replacing a file hides below too.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { squashedEntries, upperChanges, walkMerged } from '../../../src/engine/layers/merged.ts';
import { removeTree } from '../../../src/engine/sys/files.ts';

const scratch = mkdtempSync(join(tmpdir(), 'tsc-merged-'));
after(() => removeTree(scratch));

function tree(name: string, files: Record<string, string | null>): string {
  const root = join(scratch, name);
  mkdirSync(root, { recursive: true });
  for (const [path, content] of Object.entries(files)) {
    if (content === null) mkdirSync(join(root, path), { recursive: true });
    else {
      mkdirSync(join(root, path, '..'), { recursive: true });
      writeFileSync(join(root, path), content);
    }
  }
  return root;
}

const base = tree('base', { 'etc/passwd': 'root', 'etc/group': 'g', 'bin/sh': 'sh', 'var/lib/x': 'x' });
const mid = tree('mid', { 'var/lib/': null, 'var/lib/y': 'y', app: 'was a file' });
const top = tree('top', { 'etc/only': 'o', 'app/main': 'm' });
/** `top`'s etc is opaque (it replaced the image's /etc) */
const opaqueEtc = async (path: string) => new Map(path === join(top, 'etc') ? [['user.overlay.opaque', Buffer.from('y')]] : []);

describe('merged view', () => {
  test('topmost wins, an opaque directory hides below, a directory over a file hides nothing it does not hold', async () => {
    const seen: string[] = [];
    for await (const { node } of walkMerged([top, mid, base], opaqueEtc)) seen.push(`${node.type === 'directory' ? 'd' : 'f'} ${node.path}`);
    assert.deepEqual(seen, ['d app', 'f app/main', 'd bin', 'f bin/sh', 'd etc', 'f etc/only', 'd var', 'd var/lib', 'f var/lib/x', 'f var/lib/y']);
  });
});

describe('docker diff of an upper dir', () => {
  test('A for new paths, C for existing ones, D for what an opaque directory hid', async () => {
    const changes = await upperChanges(top, [mid, base], opaqueEtc);
    assert.deepEqual(changes.map((c) => `${c.kind} ${c.path}`), ['C /app', 'A /app/main', 'C /etc', 'D /etc/group', 'A /etc/only', 'D /etc/passwd']);
  });
});

describe('squash', () => {
  test('the layers as one: topmost versions, opacity kept where a layer hid what was below', async () => {
    const entries: string[] = [];
    for await (const e of squashedEntries([top, mid], opaqueEtc)) entries.push(`${e.type} ${e.path}`);
    assert.deepEqual(entries, [
      'directory app/', 'file app/.wh..wh..opq', 'file app/main', // it replaced mid's file: nothing of base's /app shows
      'directory etc/', 'file etc/.wh..wh..opq', 'file etc/only',
      'directory var/', 'directory var/lib/', 'file var/lib/y',
    ]);
  });
  test('a directory that replaced a file of a lower squashed layer is opaque', async () => {
    const lower = tree('sq-lower', { thing: 'file' });
    const upper = tree('sq-upper', { 'thing/inside': 'i' });
    const entries: string[] = [];
    for await (const e of squashedEntries([upper, lower], async () => new Map())) entries.push(e.path);
    assert.deepEqual(entries, ['thing/', 'thing/.wh..wh..opq', 'thing/inside']);
  });
});
