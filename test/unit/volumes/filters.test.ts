import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { TscError } from '../../../src/engine/errors.ts';
import { checkCreateOptions } from '../../../src/engine/volumes/create.ts';
import { parseVolumeFilters } from '../../../src/engine/volumes/list.ts';
import { checkVolumeName, isVolumeName, randomVolumeName } from '../../../src/engine/volumes/names.ts';
import { pruneFilter } from '../../../src/engine/volumes/prune.ts';
import type { VolumeRow } from '../../../src/engine/volumes/store.ts';

const vol = (name: string, labels: Record<string, string> = {}, anonymous = false): VolumeRow => ({ name, driver: 'local', createdAt: '', labels, options: {}, anonymous });
const rows: [VolumeRow, number][] = [
  [vol('web-data', { app: 'web', tier: 'front' }), 1],
  [vol('db-data', { app: 'db' }), 0],
  [vol('a'.repeat(64), { 'com.docker.volume.anonymous': '' }, true), 0],
  [vol('cache'), 2],
];
const pick = (filters: string[]) => rows.filter(([v, n]) => parseVolumeFilters(filters)(v, n)).map(([v]) => v.name);
const invalid = (e: unknown) => e instanceof TscError && e.code === 'invalid-argument';

describe('volume ls filters', () => {
  const table: [string[], string[]][] = [
    [[], ['web-data', 'db-data', 'a'.repeat(64), 'cache']],
    [['name=data'], ['web-data', 'db-data']],
    [['name=^db'], ['db-data']],
    [['name=web', 'name=cache'], ['web-data', 'cache']],
    [['label=app'], ['web-data', 'db-data']],
    [['label=app=db'], ['db-data']],
    [['label=app', 'label=tier=front'], ['web-data', 'db-data']],
    [['label=app', 'dangling=true'], ['db-data']],
    [['dangling=false'], ['web-data', 'cache']],
    [['dangling=1'], ['db-data', 'a'.repeat(64)]],
    [['driver=local', 'name=cache'], ['cache']],
    [['driver=other'], []],
  ];
  for (const [filters, expected] of table) {
    it(`${filters.join(' ') || '(none)'}`, () => assert.deepEqual(pick(filters), expected));
  }

  it('rejects unknown keys and bad values', () => {
    assert.throws(() => parseVolumeFilters(['size=3']), invalid);
    assert.throws(() => parseVolumeFilters(['dangling=maybe']), invalid);
    assert.throws(() => parseVolumeFilters(['name']), invalid);
    assert.throws(() => parseVolumeFilters(['label=']), invalid);
  });
});

describe('volume prune selection', () => {
  const pruned = (options: Parameters<typeof pruneFilter>[0]) => rows.map(([v]) => v).filter(pruneFilter(options)).map((v) => v.name);
  it('takes only anonymous volumes without all, every one with it (use is checked separately)', () => {
    assert.deepEqual(pruned({}), ['a'.repeat(64)]);
    assert.deepEqual(pruned({ all: true }), ['web-data', 'db-data', 'a'.repeat(64), 'cache']);
  });
  it('narrows by label= and label!=', () => {
    assert.deepEqual(pruned({ all: true, filters: ['label=app'] }), ['web-data', 'db-data']);
    assert.deepEqual(pruned({ all: true, filters: ['label!=app'] }), ['a'.repeat(64), 'cache']);
    assert.deepEqual(pruned({ all: true, filters: ['label=app=web'] }), ['web-data']);
    assert.throws(() => pruneFilter({ filters: ['name=x'] }), invalid);
  });
});

describe('volume names and create options', () => {
  it('accepts docker names and refuses others', () => {
    for (const ok of ['ab', 'my_vol.1-x', 'A0', 'a'.repeat(64)]) assert.ok(isVolumeName(ok), ok);
    for (const bad of ['a', '', '-ab', '.ab', 'a/b', 'a b', 'a:b', 'é1']) assert.equal(isVolumeName(bad), false, bad);
    assert.throws(() => checkVolumeName('a/b'), invalid);
  });
  it('makes random names of 64 hex digits', () => {
    const a = randomVolumeName();
    assert.match(a, /^[0-9a-f]{64}$/);
    assert.notEqual(a, randomVolumeName());
  });
  it('takes the local driver only, and refuses its mount options rather than ignoring them', () => {
    checkCreateOptions({ driver: 'local' });
    assert.throws(() => checkCreateOptions({ driver: 'nfs' }), (e: unknown) => e instanceof TscError && e.code === 'unsupported');
    assert.throws(() => checkCreateOptions({ options: { type: 'tmpfs' } }), (e: unknown) => e instanceof TscError && e.code === 'unsupported');
    assert.throws(() => checkCreateOptions({ options: { bogus: '1' } }), invalid);
  });
});
