import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isTscError } from '../../../src/engine/errors.ts';
import { parseReference } from '../../../src/engine/reference/reference.ts';
import { findRegistry, prefixMatch, rewrite } from '../../../src/engine/registries/match.ts';
import { isLoopbackRegistry, isShortName, splitName } from '../../../src/engine/registries/names.ts';
import { parseRegistriesConf } from '../../../src/engine/registries/parse.ts';

describe('prefix matching', () => {
  const cases: [string, string, number][] = [
    // name, prefix, matched length (-1: no match)
    ['example.com/foo/app:1', 'example.com/foo', 15],
    ['example.com/foo:1', 'example.com/foo', 15],
    [`example.com/foo@sha256:${'a'.repeat(64)}`, 'example.com/foo', 15],
    ['example.com/foo', 'example.com/foo', 15],
    ['example.com/foobar/app:1', 'example.com/foo', -1],
    ['example.com/foo/app:1', 'example.com', 11],
    ['example.com:5000/foo/app:1', 'example.com', -1],
    ['example.com:5000/foo/app:1', 'example.com:5000', 16],
    ['example.community/x:1', 'example.com', -1],
    ['example.com/foo/app:1', 'example.com/foo/app:1', 21],
    ['example.com/foo/app:12', 'example.com/foo/app:1', -1],
    ['other.com/foo:1', 'example.com', -1],
    // wildcards: any subdomain, any port, not the domain itself
    ['a.example.com/x:1', '*.example.com', 13],
    ['a.b.example.com/x:1', '*.example.com', 15],
    ['a.example.com:5000/x:1', '*.example.com', 13],
    ['example.com/x:1', '*.example.com', -1],
    ['aexample.com/x:1', '*.example.com', -1],
    ['a.example.com.evil.io/x:1', '*.example.com', -1],
    ['registry.io/a.example.com/x:1', '*.example.com', -1],
  ];
  for (const [name, prefix, length] of cases) {
    it(`${prefix} ${length === -1 ? 'does not match' : 'matches'} ${name}`, () => assert.equal(prefixMatch(name, prefix), length));
  }
});

describe('findRegistry', () => {
  const config = parseRegistriesConf(`
[[registry]]
location = "example.com"
[[registry]]
prefix = "example.com/foo"
location = "foo.example.com"
[[registry]]
prefix = "example.com/foo/bar"
location = "bar.example.com"
[[registry]]
prefix = "*.example.com"
[[registry]]
prefix = "*.b.example.com"
blocked = true
[[registry]]
prefix = "docker.io/library/alpine"
location = "alpine.local"
`, '/f');
  const cases: [string, string | undefined][] = [
    ['example.com/x:1', 'example.com'],
    ['example.com/foo/x:1', 'example.com/foo'],
    ['example.com/foo/bar/x:1', 'example.com/foo/bar'],
    ['example.com/foo/barx:1', 'example.com/foo'],
    ['a.example.com/x:1', '*.example.com'],
    ['a.b.example.com/x:1', '*.b.example.com'],
    ['docker.io/library/alpine:3', 'docker.io/library/alpine'],
    ['docker.io/alpine/git:1', undefined],
    ['quay.io/x:1', undefined],
  ];
  for (const [name, prefix] of cases) {
    it(`${name} -> ${prefix ?? 'none'}`, () => assert.equal(findRegistry(config, name)?.prefix, prefix));
  }
});

describe('rewrite', () => {
  const [entry] = parseRegistriesConf('[[registry]]\nprefix = "example.com/foo"\nlocation = "internal.example.com/bar"\n', '/f').registries;
  it('replaces the matched prefix with the location, keeping tag and digest', () => {
    const ref = parseReference('example.com/foo/app:1');
    assert.deepEqual(rewrite(ref, 'example.com/foo/app:1', entry!, entry!.location), parseReference('internal.example.com/bar/app:1'));
    assert.deepEqual(rewrite(ref, 'example.com/foo/app:1', entry!, 'mirror.local:5000'), parseReference('mirror.local:5000/app:1'));
  });
  it('leaves the name alone for an empty location (a wildcard table)', () => {
    const [wild] = parseRegistriesConf('[[registry]]\nprefix = "*.example.com"\n', '/f').registries;
    const ref = parseReference('a.example.com/x:1');
    assert.equal(rewrite(ref, 'a.example.com/x:1', wild!, ''), ref);
    assert.deepEqual(rewrite(ref, 'a.example.com/x:1', wild!, 'm.local'), parseReference('m.local/x:1'));
  });
  it('refuses a location that makes no valid reference, naming the file', () => {
    const [bad] = parseRegistriesConf('[[registry]]\nprefix = "example.com/foo"\nlocation = "no-registry"\n', '/etc/r.conf').registries;
    assert.throws(() => rewrite(parseReference('example.com/foo/app:1'), 'example.com/foo/app:1', bad!, bad!.location), (e: unknown) =>
      isTscError(e) && e.message === '/etc/r.conf:1: location "no-registry" turns example.com/foo/app:1 into no-registry/app:1, which names no registry');
  });
});

describe('names', () => {
  const shorts: [string, boolean][] = [
    ['busybox', true], ['busybox:1', true], ['team/app', true], ['x:5000', true], [`app@sha256:${'a'.repeat(64)}`, true],
    ['docker.io/busybox', false], ['localhost/app', false], ['localhost:5000/app', false], ['[::1]:5000/app', false], ['registry:5000/app', false],
  ];
  for (const [name, short] of shorts) it(`${name} is ${short ? '' : 'not '}short`, () => assert.equal(isShortName(name), short));
  it('splits tag and digest off', () => {
    assert.deepEqual(splitName('team/app'), { name: 'team/app', suffix: '' });
    assert.deepEqual(splitName('team/app:1'), { name: 'team/app', suffix: ':1' });
    assert.deepEqual(splitName('a:5000/app:1@sha256:ab'), { name: 'a:5000/app', suffix: ':1@sha256:ab' });
    assert.deepEqual(splitName('a:5000/app'), { name: 'a:5000/app', suffix: '' });
  });
  it('knows loopback registries', () => {
    for (const r of ['localhost', 'localhost:5000', '127.0.0.1:5000', '127.1.2.3', '[::1]:5000']) assert.equal(isLoopbackRegistry(r), true, r);
    for (const r of ['docker.io', '10.0.0.1:5000', 'localhost.example.com', '128.0.0.1']) assert.equal(isLoopbackRegistry(r), false, r);
  });
});
