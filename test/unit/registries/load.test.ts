/**
 * Where the configuration is looked for and in which order files are read, against real
 * temp directories standing in for /etc/containers and the user's home.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { isTscError } from '../../../src/engine/errors.ts';
import { configFiles, loadRegistriesConfig } from '../../../src/engine/registries/load.ts';
import { certsRoots, registriesLocations, type RegistriesLocations } from '../../../src/engine/registries/locations.ts';
import { resolvePull } from '../../../src/engine/registries/resolve.ts';

const root = mkdtempSync(join(tmpdir(), 'tsc-registries-'));
after(() => rmSync(root, { recursive: true, force: true }));
let counter = 0;

/** A fresh fake host: `files` maps paths under it to contents. */
function host(files: Record<string, string>): RegistriesLocations & { dir: string } {
  const dir = join(root, String(counter++));
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(join(dir, path, '..'), { recursive: true });
    writeFileSync(join(dir, path), text);
  }
  return {
    dir,
    explicit: undefined,
    user: join(dir, 'home/.config/containers/registries.conf'),
    system: join(dir, 'etc/registries.conf'),
    systemDropIns: join(dir, 'etc/registries.conf.d'),
    userDropIns: join(dir, 'home/.config/containers/registries.conf.d'),
    shortNameAliases: join(dir, 'home/.cache/containers/short-name-aliases.conf'),
  };
}

const who = (uid: number, env: NodeJS.ProcessEnv = {}) => ({ uid, gid: uid, name: 'u', home: uid === 0 ? '/root' : '/home/u', env });

describe('locations', () => {
  it('are podman\'s for a rootless user', () => {
    assert.deepEqual(registriesLocations(who(1000, { XDG_CONFIG_HOME: '/elsewhere' })), {
      explicit: undefined,
      user: '/home/u/.config/containers/registries.conf',
      system: '/etc/containers/registries.conf',
      systemDropIns: '/etc/containers/registries.conf.d',
      userDropIns: '/home/u/.config/containers/registries.conf.d',
      shortNameAliases: '/home/u/.cache/containers/short-name-aliases.conf',
    });
    assert.equal(registriesLocations(who(1000, { XDG_CACHE_HOME: '/c' })).shortNameAliases, '/c/containers/short-name-aliases.conf');
  });
  it('keep root\'s aliases in /var/cache', () => {
    assert.equal(registriesLocations(who(0, { XDG_CACHE_HOME: '/c' })).shortNameAliases, '/var/cache/containers/short-name-aliases.conf');
  });
  it('honour CONTAINERS_REGISTRIES_CONF, then REGISTRIES_CONFIG_PATH', () => {
    assert.equal(registriesLocations(who(1000, { CONTAINERS_REGISTRIES_CONF: '/a.conf', REGISTRIES_CONFIG_PATH: '/b.conf' })).explicit, '/a.conf');
    assert.equal(registriesLocations(who(1000, { REGISTRIES_CONFIG_PATH: '/b.conf' })).explicit, '/b.conf');
    assert.equal(registriesLocations(who(1000, { CONTAINERS_REGISTRIES_CONF: '' })).explicit, undefined);
  });
  it('look for certificates in the user\'s certs.d, then /etc/containers, then /etc/docker, or only TSC_CERTS_DIR', () => {
    assert.deepEqual(certsRoots(who(1000)), ['/home/u/.config/containers/certs.d', '/etc/containers/certs.d', '/etc/docker/certs.d']);
    assert.deepEqual(certsRoots(who(0)), ['/root/.config/containers/certs.d', '/etc/containers/certs.d', '/etc/docker/certs.d']);
    assert.deepEqual(certsRoots(who(1000, { TSC_CERTS_DIR: '/t/certs.d' })), ['/t/certs.d']);
  });
});

describe('configFiles: precedence', () => {
  it('reads the system file, then system drop-ins, then user drop-ins, each in byte order, only *.conf', async () => {
    const h = host({
      'etc/registries.conf': '',
      'etc/registries.conf.d/20-b.conf': '',
      'etc/registries.conf.d/10-a.conf': '',
      'etc/registries.conf.d/Z.conf': '',
      'etc/registries.conf.d/notes.txt': '',
      'etc/registries.conf.d/sub.conf/inner.conf': '',
      'home/.config/containers/registries.conf.d/00-first.conf': '',
    });
    const files = await configFiles(h);
    assert.equal(files.main, h.system);
    assert.equal(files.required, false);
    assert.deepEqual(files.dropIns, [
      join(h.systemDropIns, '10-a.conf'),
      join(h.systemDropIns, '20-b.conf'),
      join(h.systemDropIns, 'Z.conf'),
      join(h.userDropIns, '00-first.conf'),
    ]);
  });

  it('a user registries.conf replaces the system file and the system drop-ins', async () => {
    const h = host({
      'etc/registries.conf': '',
      'etc/registries.conf.d/a.conf': '',
      'home/.config/containers/registries.conf': '',
      'home/.config/containers/registries.conf.d/b.conf': '',
    });
    assert.deepEqual(await configFiles(h), { main: h.user, required: false, dropIns: [join(h.userDropIns, 'b.conf')] });
  });

  it('an explicit file replaces both main files but keeps both drop-in directories', async () => {
    const h = host({
      'explicit.conf': '',
      'home/.config/containers/registries.conf': '',
      'etc/registries.conf.d/a.conf': '',
      'home/.config/containers/registries.conf.d/b.conf': '',
    });
    const explicit = join(h.dir, 'explicit.conf');
    assert.deepEqual(await configFiles({ ...h, explicit }), {
      main: explicit,
      required: true,
      dropIns: [join(h.systemDropIns, 'a.conf'), join(h.userDropIns, 'b.conf')],
    });
  });
});

describe('loadRegistriesConfig', () => {
  it('merges the files in order, later ones overriding', async () => {
    const h = host({
      'etc/registries.conf': 'unqualified-search-registries = ["a.io"]\n[aliases]\n"x" = "a.io/x"\n',
      'etc/registries.conf.d/10.conf': 'unqualified-search-registries = ["b.io"]\n',
      'home/.config/containers/registries.conf.d/10.conf': '[aliases]\n"x" = "c.io/x"\n',
      'home/.cache/containers/short-name-aliases.conf': '[aliases]\n"y" = "d.io/y"\n',
    });
    const config = await loadRegistriesConfig(h);
    assert.deepEqual(config.sources, [h.system, join(h.systemDropIns, '10.conf'), join(h.userDropIns, '10.conf'), h.shortNameAliases]);
    assert.deepEqual(config.unqualifiedSearch?.registries, ['b.io']);
    assert.equal(config.aliases.get('x')?.value, 'c.io/x');
    assert.equal(config.aliases.get('y')?.value, 'd.io/y');
    assert.equal(resolvePull('z', config).candidates[0]!.endpoint, 'b.io');
  });

  it('without any file: docker.io for short names', async () => {
    const config = await loadRegistriesConfig(host({}));
    assert.deepEqual(config.sources, []);
    assert.equal(resolvePull('busybox', config).candidates[0]!.endpoint, 'docker.io');
  });

  it('an explicit file that does not exist is an error', async () => {
    const h = host({});
    const explicit = join(h.dir, 'missing.conf');
    await assert.rejects(loadRegistriesConfig({ ...h, explicit }), (e: unknown) => {
      assert.ok(isTscError(e) && e.code === 'not-found', String(e));
      assert.equal(e.message, `the registries configuration ${explicit} does not exist`);
      assert.match(e.hint ?? '', /CONTAINERS_REGISTRIES_CONF/);
      return true;
    });
  });

  it('errors name the drop-in that has them', async () => {
    const h = host({
      'etc/registries.conf': '',
      'etc/registries.conf.d/50-broken.conf': '[[registry]]\nlocation = "a.io"\ninsecure = maybe\n',
    });
    await assert.rejects(loadRegistriesConfig(h), (e: unknown) =>
      isTscError(e) && e.code === 'invalid-content' && e.message.startsWith(`${join(h.systemDropIns, '50-broken.conf')}:3:`));
  });

  it('refuses the v1 format in a drop-in but converts it in the main file', async () => {
    const v1 = '[registries.search]\nregistries = ["a.io"]\n';
    assert.deepEqual((await loadRegistriesConfig(host({ 'etc/registries.conf': v1 }))).unqualifiedSearch?.registries, ['a.io']);
    const h = host({ 'etc/registries.conf.d/old.conf': v1 });
    await assert.rejects(loadRegistriesConfig(h), /drop-in files must use the v2 format/);
  });

  it('errors in short-name-aliases.conf name that file', async () => {
    const h = host({ 'home/.cache/containers/short-name-aliases.conf': '[aliases]\n"x" = "short"\n' });
    await assert.rejects(loadRegistriesConfig(h), (e: unknown) => isTscError(e) && e.message.startsWith(`${h.shortNameAliases}:2: invalid alias "x"`));
  });
});
