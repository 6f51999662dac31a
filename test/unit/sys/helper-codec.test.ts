import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decodeMessage, encodeConfig } from '../../../src/engine/sys/helper.ts';
import { TscError } from '../../../src/engine/errors.ts';

describe('encodeConfig', () => {
  it('writes KEY SP VALUE lines, values may hold spaces', () => {
    assert.equal(encodeConfig([['workdir', '/run/user/1/a b'], ['uidmap', '0 1001 1']]), 'workdir /run/user/1/a b\nuidmap 0 1001 1\n');
  });
  it('rejects a value with a newline, naming it', () => {
    assert.throws(() => encodeConfig([['workdir', 'a\nuserns 0']]), (e: unknown) => e instanceof TscError && e.code === 'invalid-argument' && /workdir/.test(e.message));
  });
  it('rejects a value with a NUL byte', () => {
    assert.throws(() => encodeConfig([['workdir', 'a\0b']]), TscError);
  });
  it('rejects malformed keys', () => {
    assert.throws(() => encodeConfig([['Bad Key', 'x']]), TscError);
  });
});

describe('decodeMessage', () => {
  it('accepts events, errors and done', () => {
    assert.deepEqual(decodeMessage('{"type":"event","name":"overlay","ok":true}'), { type: 'event', name: 'overlay', ok: true });
    assert.equal(decodeMessage('{"type":"error","op":"mount","path":"/x","errno":1,"errname":"EPERM","message":"m"}').type, 'error');
    assert.deepEqual(decodeMessage('{"type":"done"}'), { type: 'done' });
  });
  const bad = ['not json', '[]', '{"name":"x"}', '{"type":"weird"}', 'null'];
  for (const line of bad) {
    it(`rejects ${line}`, () => assert.throws(() => decodeMessage(line), (e: unknown) => e instanceof TscError && e.code === 'helper'));
  }
});

describe('encodeArgv', () => {
  it('joins by single spaces, escaping spaces and backslashes inside arguments', async () => {
    const { encodeArgv } = await import('../../../src/engine/sys/helper.ts');
    assert.equal(encodeArgv(['/usr/bin/pasta', '-t', '8080:80', '{pid}']), '/usr/bin/pasta -t 8080:80 {pid}');
    assert.equal(encodeArgv(['/a b/c', 'x\\y', 'z\\s']), '/a\\sb/c x\\\\y z\\\\s');
    assert.throws(() => encodeArgv(['/bin/x', '']), /empty argument/);
    assert.throws(() => encodeArgv([]), /empty argument/);
  });
});
