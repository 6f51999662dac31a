import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { openDatabase } from '../../../src/engine/state/db.ts';
import { findContainer, insertContainer, renameContainer, requireContainer, setRowState, type ContainerConfig } from '../../../src/engine/containers/records.ts';
import { generateName, validateName } from '../../../src/engine/containers/names.ts';
import { TscError } from '../../../src/engine/errors.ts';

const config = { image: 'busybox', labels: {} } as unknown as ContainerConfig;

function db() {
  const d = openDatabase(':memory:');
  d.exec("INSERT INTO images (id, manifest_digest, added_at) VALUES ('sha256:img', 'sha256:m', 'now')");
  return d;
}

function add(d: ReturnType<typeof db>, id: string, name?: string, state: 'created' | 'creating' = 'created'): string {
  const given = insertContainer(d, { id, name, imageId: 'sha256:img', imageName: 'busybox', config }, new Date().toISOString());
  if (state === 'created') setRowState(d, id, 'created');
  return given;
}

describe('container names', () => {
  it('accepts docker names, with a leading slash', () => {
    assert.equal(validateName('web-1.a_b'), 'web-1.a_b');
    assert.equal(validateName('/web'), 'web');
  });
  for (const bad of ['', '-x', 'a b', 'a/b', 'é', '_x', 'a'.repeat(254), 'a'.repeat(64).replace(/a/g, 'f')]) {
    it(`refuses ${JSON.stringify(bad.slice(0, 20))}`, () => assert.throws(() => validateName(bad), TscError));
  }
  it('generates adjective_noun names that avoid taken ones', () => {
    const taken = new Set<string>();
    for (let i = 0; i < 200; i++) {
      const name = generateName((n) => taken.has(n));
      assert.match(name, /^[a-z]+_[a-z]+\d*$/);
      assert.ok(!taken.has(name));
      taken.add(name);
    }
  });
});

describe('container records', () => {
  it('finds by full id, by name, then by unique prefix', () => {
    const d = db();
    add(d, 'abc1'.padEnd(64, '0'), 'web');
    add(d, 'abd2'.padEnd(64, '0'), 'db');
    assert.equal(findContainer(d, 'web')?.id, 'abc1'.padEnd(64, '0'));
    assert.equal(findContainer(d, '/db')?.id, 'abd2'.padEnd(64, '0'));
    assert.equal(findContainer(d, 'abc')?.name, 'web');
    assert.equal(findContainer(d, 'abd2'.padEnd(64, '0'))?.name, 'db');
    assert.throws(() => findContainer(d, 'ab'), /ambiguous/);
    assert.equal(findContainer(d, 'ffff'), undefined);
    assert.throws(() => requireContainer(d, 'nope'), /no such container: nope/);
  });

  it('prefers an exact name over an id prefix', () => {
    const d = db();
    add(d, 'beef'.padEnd(64, '1'), 'x');
    add(d, 'cafe'.padEnd(64, '1'), 'beef');
    assert.equal(findContainer(d, 'beef')?.id, 'cafe'.padEnd(64, '1'));
  });

  it('hides rows still being created', () => {
    const d = db();
    add(d, 'aaaa'.padEnd(64, '0'), 'half', 'creating');
    assert.equal(findContainer(d, 'half'), undefined);
  });

  it('refuses a name in use, naming the container that has it', () => {
    const d = db();
    add(d, 'aaaa'.padEnd(64, '0'), 'web');
    assert.throws(() => add(d, 'bbbb'.padEnd(64, '0'), 'web'), /"web" is already in use by container aaaa00000000/);
    assert.throws(() => renameContainer(d, 'aaaa'.padEnd(64, '0'), 'bad name'), /invalid container name/);
    add(d, 'cccc'.padEnd(64, '0'), 'db');
    assert.throws(() => renameContainer(d, 'cccc'.padEnd(64, '0'), 'web'), /already in use/);
    renameContainer(d, 'cccc'.padEnd(64, '0'), 'db2');
    assert.equal(findContainer(d, 'db2')?.id, 'cccc'.padEnd(64, '0'));
  });

  it('gives unnamed containers a generated name', () => {
    const d = db();
    const name = add(d, 'dddd'.padEnd(64, '0'));
    assert.match(name, /^[a-z]+_[a-z]+\d*$/);
  });

  it('guards transitions by the current state', () => {
    const d = db();
    add(d, 'eeee'.padEnd(64, '0'), 'e');
    assert.equal(setRowState(d, 'eeee'.padEnd(64, '0'), 'removing', ['started']), false);
    assert.equal(setRowState(d, 'eeee'.padEnd(64, '0'), 'removing', ['created', 'started']), true);
  });
});
