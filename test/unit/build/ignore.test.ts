/** .dockerignore matching, table-driven: patterns, exceptions, `**`, path cleaning. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { isIgnored, mayHaveExceptionsBelow, parseIgnore } from '../../../src/engine/build/ignore.ts';

const cases: [patterns: string, path: string, ignored: boolean][] = [
  ['*.log', 'a.log', true],
  ['*.log', 'dir/a.log', false],
  ['**/*.log', 'dir/sub/a.log', true],
  ['**/*.log', 'a.log', true],
  ['logs', 'logs/x/y.txt', true],
  ['/logs/', 'logs/x', true],
  ['./logs/../tmp', 'tmp/file', true],
  ['logs\n!logs/keep.log', 'logs/keep.log', false],
  ['logs\n!logs/keep.log', 'logs/drop.log', true],
  ['!keep\n*', 'keep', true],
  ['*\n!keep', 'keep', false],
  ['# a comment\n\n   node_modules   ', 'node_modules/pkg/index.js', true],
  ['doc?', 'docs', true],
  ['doc?', 'document', false],
  ['[a-c].txt', 'b.txt', true],
  ['[!a-c].txt', 'b.txt', false],
  ['a/**/z', 'a/z', true],
  ['a/**/z', 'a/b/c/z', true],
  ['a/**', 'a/b', true],
  ['../outside', 'outside', false],
  ['\\*literal', '*literal', true],
];

describe('.dockerignore', () => {
  for (const [patterns, path, ignored] of cases) {
    test(`${JSON.stringify(patterns)} ${ignored ? 'excludes' : 'keeps'} ${path}`, () => {
      assert.equal(isIgnored(parseIgnore(patterns), path), ignored);
    });
  }
  test('an excluded directory is walked when an exception may re-include something below', () => {
    assert.equal(mayHaveExceptionsBelow(parseIgnore('logs\n!logs/keep.log'), 'logs'), true);
    assert.equal(mayHaveExceptionsBelow(parseIgnore('logs\n!src/x'), 'logs'), false);
  });
});
