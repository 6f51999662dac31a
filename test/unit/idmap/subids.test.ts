import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { formatIdMap, idMapSize, parseIdMap, parseSubordinateIds, rootlessIdMap } from '../../../src/engine/idmap/subids.ts';

const user = { name: 'alice', uid: 1001 };

describe('parseSubordinateIds', () => {
  const cases: [string, string, { start: number; count: number }[]][] = [
    ['by name', 'alice:100000:65536\n', [{ start: 100000, count: 65536 }]],
    ['by uid', '1001:200000:1000\n', [{ start: 200000, count: 1000 }]],
    ['several ranges in order', 'alice:100000:10\nbob:5:5\nalice:300000:20\n', [{ start: 100000, count: 10 }, { start: 300000, count: 20 }]],
    ['other users only', 'bob:100000:65536\n', []],
    ['comments and blanks', '# alice:1:1\n\n  alice:7:3  \n', [{ start: 7, count: 3 }]],
    ['malformed lines skipped', 'alice:x:1\nalice:1\nalice:1:2:3\nalice:-1:5\nalice:10:0\n', []],
    ['range past 2^32 skipped', 'alice:4294967290:100\n', []],
    ['empty file', '', []],
  ];
  for (const [name, text, expected] of cases) {
    it(name, () => assert.deepEqual(parseSubordinateIds(text, user), expected));
  }
});

describe('rootlessIdMap', () => {
  it('maps 0 to the user and 1.. to the ranges, consecutively', () => {
    const map = rootlessIdMap(1001, [{ start: 100000, count: 10 }, { start: 300000, count: 5 }]);
    assert.deepEqual(map, [
      { inside: 0, outside: 1001, count: 1 },
      { inside: 1, outside: 100000, count: 10 },
      { inside: 11, outside: 300000, count: 5 },
    ]);
    assert.equal(idMapSize(map), 16);
  });
  it('is the single-id map without ranges', () => {
    assert.deepEqual(rootlessIdMap(1001, []), [{ inside: 0, outside: 1001, count: 1 }]);
  });
});

describe('parseIdMap / formatIdMap', () => {
  it('round-trips the kernel format', () => {
    const kernel = '         0       1001          1\n         1     200000      65536\n';
    const map = parseIdMap(kernel);
    assert.deepEqual(map, [{ inside: 0, outside: 1001, count: 1 }, { inside: 1, outside: 200000, count: 65536 }]);
    assert.equal(formatIdMap(map), '0 1001 1\n1 200000 65536');
  });
});
