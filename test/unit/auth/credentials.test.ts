import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { authFiles, findCredentials, lookup, storeCredentials } from '../../../src/engine/auth/credentials.ts';
import { TscError } from '../../../src/engine/errors.ts';

const dir = mkdtempSync(join(tmpdir(), 'tsc-auth-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const b64 = (s: string) => Buffer.from(s).toString('base64');

describe('lookup', () => {
  const auth = {
    auths: {
      'registry.example.com': { auth: b64('host:pw') },
      'registry.example.com/team': { auth: b64('team:pw') },
      'registry.example.com/team/app': { auth: b64('app:p:w') },
      'https://index.docker.io/v1/': { auth: b64('hub:pw') },
      'plain.example.com': { username: 'u', password: 'p' },
    },
  };
  const cases: [string, string | undefined, string | undefined][] = [
    ['registry.example.com', undefined, 'host'],
    ['registry.example.com', 'other/x', 'host'],
    ['registry.example.com', 'team/x', 'team'],
    ['registry.example.com', 'team/app', 'app'],
    ['registry.example.com', 'teamx/y', 'host'],
    ['docker.io', 'library/busybox', 'hub'],
    ['plain.example.com', undefined, 'u'],
    ['unknown.example.com', undefined, undefined],
  ];
  for (const [registry, repository, user] of cases) {
    it(`${registry}${repository ? `/${repository}` : ''} -> ${user ?? 'none'}`, () => {
      assert.equal(lookup(auth, registry, repository, 'f')?.username, user);
    });
  }
  it('keeps colons in passwords', () => assert.equal(lookup(auth, 'registry.example.com', 'team/app', 'f')?.password, 'p:w'));
  it('names a credential helper it cannot use', () => {
    assert.throws(() => lookup({ credsStore: 'desktop' }, 'x.io', undefined, '/h/.docker/config.json'), (e: unknown) =>
      e instanceof TscError && e.code === 'unsupported' && /\/h\/.docker\/config.json keeps the credentials for x.io in a credential helper/.test(e.message));
  });
  it('rejects a malformed auth value', () => {
    assert.throws(() => lookup({ auths: { 'x.io': { auth: b64('nocolon') } } }, 'x.io', undefined, 'f'), /malformed/);
  });
});

describe('auth files', () => {
  const who = (uid: number, env: NodeJS.ProcessEnv) => ({ uid, gid: uid, name: 'u', home: '/home/u', env });
  it('writes where podman does and reads docker config too', () => {
    assert.deepEqual(authFiles(who(1001, { XDG_RUNTIME_DIR: '/run/user/1001' })), {
      write: '/run/user/1001/containers/auth.json',
      read: ['/run/user/1001/containers/auth.json', '/home/u/.config/containers/auth.json', '/home/u/.docker/config.json'],
    });
    assert.equal(authFiles(who(1001, { REGISTRY_AUTH_FILE: '/x/auth.json' })).write, '/x/auth.json');
    assert.equal(authFiles(who(0, {})).write, '/run/containers/0/auth.json');
  });

  it('stores, finds and removes credentials, file mode 0600, other keys kept', async () => {
    const file = join(dir, 'containers', 'auth.json');
    writeFileSync(join(dir, 'docker.json'), JSON.stringify({ auths: { 'b.io': { auth: b64('docker:pw') } } }));
    assert.equal(await storeCredentials(file, 'a.io', { username: 'me', password: 'secret' }), false);
    assert.equal((statSync(file).mode & 0o777).toString(8), '600');
    assert.deepEqual(await findCredentials([file, join(dir, 'docker.json')], 'a.io'), { username: 'me', password: 'secret' });
    assert.deepEqual(await findCredentials([file, join(dir, 'docker.json')], 'b.io'), { username: 'docker', password: 'pw' });
    await storeCredentials(file, 'c.io', { username: 'c', password: 'c' });
    assert.equal(await storeCredentials(file, 'a.io', undefined), true);
    assert.deepEqual(Object.keys((JSON.parse(readFileSync(file, 'utf8')) as { auths: object }).auths), ['c.io']);
    assert.equal(await findCredentials([file], 'a.io'), undefined);
  });

  it('says which file is broken', async () => {
    const bad = join(dir, 'bad.json');
    writeFileSync(bad, '{');
    await assert.rejects(findCredentials([bad], 'x.io'), (e: unknown) => e instanceof TscError && e.message.startsWith(`${bad} is not valid JSON`));
  });
});
