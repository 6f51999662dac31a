import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseImageConfig } from '../../../src/engine/images/config.ts';
import { TscError } from '../../../src/engine/errors.ts';

const diff = `sha256:${'a'.repeat(64)}`;
const good = { architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [diff] } };
const bytes = (v: unknown) => Buffer.from(typeof v === 'string' ? v : JSON.stringify(v));

describe('parseImageConfig', () => {
  it('reads a minimal config, filling absent config and history', () => {
    const c = parseImageConfig(bytes(good), 'x');
    assert.equal(c.architecture, 'amd64');
    assert.deepEqual(c.rootfs.diff_ids, [diff]);
    assert.deepEqual(c.config, {});
    assert.deepEqual(c.history, []);
  });
  it('accepts null lists as docker writes them', () => {
    const c = parseImageConfig(bytes({ ...good, config: { Cmd: null, Entrypoint: null, Env: ['A=1'] }, history: null }), 'x');
    assert.equal(c.config?.Cmd, null);
    assert.deepEqual(c.config?.Env, ['A=1']);
  });
  const bad: [string, unknown, RegExp][] = [
    ['not json', '{', /not JSON/],
    ['a list', '[]', /not a JSON object/],
    ['no architecture', { ...good, architecture: '' }, /architecture is missing/],
    ['no os', { ...good, os: undefined }, /os is missing/],
    ['wrong rootfs type', { ...good, rootfs: { type: 'x', diff_ids: [] } }, /rootfs.type must be "layers"/],
    ['no diff ids', { ...good, rootfs: { type: 'layers' } }, /rootfs.diff_ids is missing/],
    ['bad diff id', { ...good, rootfs: { type: 'layers', diff_ids: ['nope'] } }, /rootfs.diff_ids\[0\] is not a digest/],
    ['Cmd not strings', { ...good, config: { Cmd: [1] } }, /config.Cmd must be a list of strings/],
    ['config not object', { ...good, config: 'x' }, /config must be an object/],
    ['history not list', { ...good, history: {} }, /history must be a list/],
  ];
  for (const [name, value, message] of bad) {
    it(`rejects ${name}`, () => {
      assert.throws(() => parseImageConfig(bytes(value), 'busybox:latest'), (e: unknown) =>
        e instanceof TscError && e.code === 'invalid-content' && e.message.startsWith('invalid image config of busybox:latest: ') && message.test(e.message));
    });
  }
});
