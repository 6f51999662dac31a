import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseDetachKeys } from '../../../src/cli/container-flags.ts';

describe('--detach-keys', () => {
  it('parses docker spellings', () => {
    assert.deepEqual(parseDetachKeys(undefined), [16, 17]);
    assert.deepEqual(parseDetachKeys('ctrl-a,x'), [1, 120]);
    assert.deepEqual(parseDetachKeys('ctrl-@,ctrl-_'), [0, 31]);
    assert.deepEqual(parseDetachKeys(''), []);
    assert.throws(() => parseDetachKeys('ctrl-1'), /invalid --detach-keys/);
    assert.throws(() => parseDetachKeys('ab'), /invalid --detach-keys/);
  });
});
