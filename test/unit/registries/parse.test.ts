import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isTscError } from '../../../src/engine/errors.ts';
import { parseAliasesFile, parseRegistriesConf } from '../../../src/engine/registries/parse.ts';

const FILE = '/etc/containers/registries.conf';
const parse = (text: string, dropIn = false) => parseRegistriesConf(text, FILE, { dropIn });

/** Asserts that parsing `text` fails with exactly `message` (code invalid-content). */
function fails(text: string, message: string | RegExp, dropIn = false): void {
  assert.throws(() => parse(text, dropIn), (e: unknown) => {
    assert.ok(isTscError(e) && e.code === 'invalid-content', String(e));
    if (typeof message === 'string') assert.equal(e.message, message);
    else assert.match(e.message, message);
    return true;
  });
}

describe('registries.conf keys', () => {
  it('reads the example of containers-registries.conf(5)', () => {
    const file = parse(`
unqualified-search-registries = ["example.com"]

[[registry]]
prefix = "example.com/foo"
insecure = false
blocked = false
location = "internal-registry-for-example.com/bar"

[[registry.mirror]]
location = "example-mirror-0.local/mirror-for-foo"

[[registry.mirror]]
location = "example-mirror-1.local/mirrors/foo"
insecure = true

[[registry]]
location = "registry.com"

[[registry.mirror]]
location = "mirror.registry.com"
`);
    assert.deepEqual(file.unqualifiedSearch, { registries: ['example.com'], origin: { file: FILE, line: 2 } });
    assert.equal(file.registries.length, 2);
    const [foo, com] = file.registries;
    assert.deepEqual(foo, {
      prefix: 'example.com/foo',
      location: 'internal-registry-for-example.com/bar',
      insecure: false,
      blocked: false,
      mirrorByDigestOnly: false,
      origin: { file: FILE, line: 4 },
      mirrors: [
        { location: 'example-mirror-0.local/mirror-for-foo', insecure: undefined, pullFromMirror: 'all', origin: { file: FILE, line: 10 } },
        { location: 'example-mirror-1.local/mirrors/foo', insecure: true, pullFromMirror: 'all', origin: { file: FILE, line: 13 } },
      ],
    });
    assert.equal(com!.prefix, 'registry.com', 'prefix defaults to the location');
    assert.equal(com!.insecure, undefined, 'insecure left unset stays unset');
    assert.deepEqual(com!.mirrors.map((m) => m.location), ['mirror.registry.com']);
  });

  it('reads short-name-mode, blocked, mirror-by-digest-only and pull-from-mirror', () => {
    const file = parse(`short-name-mode = "enforcing"
[[registry]]
location = "blocked.example.com"
blocked = true
[[registry]]
location = "quay.io"
mirror-by-digest-only = true
[[registry.mirror]]
location = "m.local"
[[registry]]
location = "ghcr.io"
[[registry.mirror]]
location = "tags.local"
pull-from-mirror = "tag-only"
[[registry.mirror]]
location = "digests.local"
pull-from-mirror = "digest-only"
`);
    assert.deepEqual(file.shortNameMode, { mode: 'enforcing', origin: { file: FILE, line: 1 } });
    const by = new Map(file.registries.map((r) => [r.prefix, r]));
    assert.equal(by.get('blocked.example.com')!.blocked, true);
    assert.equal(by.get('quay.io')!.mirrorByDigestOnly, true);
    assert.deepEqual(by.get('ghcr.io')!.mirrors.map((m) => m.pullFromMirror), ['tag-only', 'digest-only']);
  });

  it('reads aliases, normalising docker.io names; an empty value erases', () => {
    const file = parse(`[aliases]
"busybox" = "docker.io/busybox"
"team/app" = "quay.io/team/app"
"gone" = ""
`);
    assert.deepEqual(file.aliases, [
      { name: 'busybox', value: 'docker.io/library/busybox', origin: { file: FILE, line: 2 } },
      { name: 'team/app', value: 'quay.io/team/app', origin: { file: FILE, line: 3 } },
      { name: 'gone', value: undefined, origin: { file: FILE, line: 4 } },
    ]);
  });

  it('reads mirrors written as inline tables and multi-line arrays', () => {
    const file = parse(`unqualified-search-registries = [
  "registry.fedoraproject.org",
  "docker.io",
]
[[registry]]
location = "docker.io"
mirror = [{ location = "mirror.gcr.io" }, { location = "127.0.0.1:5000", insecure = true }]
`);
    assert.deepEqual(file.unqualifiedSearch?.registries, ['registry.fedoraproject.org', 'docker.io']);
    assert.deepEqual(file.registries[0]!.mirrors.map((m) => [m.location, m.insecure]), [['mirror.gcr.io', undefined], ['127.0.0.1:5000', true]]);
  });

  it('drops trailing slashes, keeps the first table of a repeated prefix, sorts by prefix', () => {
    const file = parse(`[[registry]]
location = "z.example.com/"
[[registry]]
prefix = "a.example.com"
location = "first.example.com"
[[registry]]
prefix = "a.example.com"
location = "second.example.com"
`);
    assert.deepEqual(file.registries.map((r) => [r.prefix, r.location]), [['a.example.com', 'first.example.com'], ['z.example.com', 'z.example.com']]);
  });

  it('accepts a wildcard prefix without a location, and ignores keys it does not use', () => {
    const file = parse(`credential-helpers = ["containers-auth.json"]
additional-layer-store-auth-helper = "x"
[[registry]]
prefix = "*.example.com"
insecure = true
`);
    assert.deepEqual(file.registries.map((r) => [r.prefix, r.location, r.insecure]), [['*.example.com', '', true]]);
  });

  it('an empty file sets nothing', () => {
    assert.deepEqual(parse('# nothing\n'), { file: FILE, registries: [], aliases: [] });
  });
});

describe('the v1 format', () => {
  it('is converted in the main file', () => {
    const file = parse(`[registries.search]
registries = ['registry1.com', 'registry2.com']
[registries.insecure]
registries = ['registry3.com']
[registries.block]
registries = ['registry.untrusted.com']
`);
    assert.deepEqual(file.unqualifiedSearch, { registries: ['registry1.com', 'registry2.com'], origin: { file: FILE, line: 2 } });
    assert.deepEqual(file.registries.map((r) => [r.prefix, r.insecure, r.blocked]), [
      ['registry.untrusted.com', undefined, true],
      ['registry3.com', true, false],
    ]);
  });
  it('is refused in drop-ins and when mixed with v2 keys', () => {
    fails('[registries.search]\nregistries = ["a.io"]\n', `${FILE}:1: drop-in files must use the v2 format, not [registries.*]`, true);
    fails('short-name-mode = "disabled"\n[registries.search]\nregistries = ["a.io"]\n', `${FILE}:2: the v1 format ([registries.*]) cannot be mixed with v2 keys (short-name-mode)`);
  });
});

describe('registries.conf errors name the file and line', () => {
  const cases: [string, string, string | RegExp][] = [
    ['a toml syntax error (line and column)', 'unqualified-search-registries = [\n  "a.io"\n  "b.io"\n]\n', /^\/etc\/containers\/registries\.conf:3:\d+: invalid toml: /],
    ['a duplicated key', 'short-name-mode = "enforcing"\nshort-name-mode = "disabled"\n', /^\/etc\/containers\/registries\.conf:2:1: invalid toml: /],
    ['an unknown short-name-mode', '\nshort-name-mode = "prompt"\n', `${FILE}:2: invalid short-name-mode "prompt": use enforcing, permissive or disabled`],
    ['a search registry with a path', 'unqualified-search-registries = ["quay.io/team"]\n', `${FILE}:1: invalid unqualified-search-registries entry "quay.io/team": use a registry host[:port] such as docker.io or quay.io`],
    ['a search registry that is no host', 'unqualified-search-registries = ["foo"]\n', /entry "foo": use a registry host/],
    ['a search list that is no array', 'unqualified-search-registries = "docker.io"\n', `${FILE}:1: unqualified-search-registries must be an array of strings`],
    ['insecure that is no boolean', '[[registry]]\nlocation = "a.io"\n\ninsecure = "yes"\n', `${FILE}:4: insecure must be true or false`],
    ['blocked that is no boolean', '[[registry]]\nlocation = "a.io"\nblocked = 1\n', `${FILE}:3: blocked must be true or false`],
    ['a location that is no string', '[[registry]]\nlocation = 5\n', `${FILE}:2: location must be a string`],
    ['a location with a scheme', '[[registry]]\nlocation = "https://a.io"\n', `${FILE}:2: invalid location "https://a.io": leave out the scheme (a.io)`],
    ['a table with neither prefix nor location', '[[registry]]\ninsecure = true\n', `${FILE}:1: [[registry]] needs a location or a prefix`],
    ['a plain prefix without a location', '[[registry]]\nprefix = "a.io/x"\n', `${FILE}:1: [[registry]] with prefix "a.io/x" needs a location (only a *.example.com prefix may leave it out)`],
    ['a wildcard in the middle', '[[registry]]\nprefix = "a.*.com"\nlocation = "b.com"\n', `${FILE}:2: invalid prefix "a.*.com": a wildcard prefix looks like *.example.com (no port, path, tag or digest)`],
    ['a wildcard with a path', '[[registry]]\nprefix = "*.example.com/foo"\n', /:2: invalid prefix "\*\.example\.com\/foo"/],
    ['a wildcard with a port', '[[registry]]\nprefix = "*.example.com:5000"\n', /:2: invalid prefix "\*\.example\.com:5000"/],
    ['pull-from-mirror on a registry', '[[registry]]\nlocation = "a.io"\npull-from-mirror = "all"\n', `${FILE}:3: pull-from-mirror is allowed only in [[registry.mirror]] tables`],
    ['a mirror without a location', '[[registry]]\nlocation = "a.io"\n[[registry.mirror]]\ninsecure = true\n', `${FILE}:3: a mirror of "a.io" has no location`],
    ['an unknown pull-from-mirror', '[[registry]]\nlocation = "a.io"\n[[registry.mirror]]\nlocation = "m.io"\npull-from-mirror = "some"\n', `${FILE}:5: invalid pull-from-mirror "some" for mirror m.io: use all, digest-only or tag-only`],
    ['pull-from-mirror with mirror-by-digest-only', '[[registry]]\nlocation = "a.io"\nmirror-by-digest-only = true\n[[registry.mirror]]\nlocation = "m.io"\npull-from-mirror = "tag-only"\n', `${FILE}:6: "a.io" sets mirror-by-digest-only, so its mirror m.io cannot set pull-from-mirror`],
    ['conflicting insecure settings', '[[registry]]\nlocation = "a.io"\ninsecure = true\n[[registry]]\nprefix = "x.io"\nlocation = "a.io"\n', `${FILE}:4: registry "a.io" is defined more than once with conflicting insecure settings (first at line 1)`],
    ['conflicting blocked settings', '[[registry]]\nlocation = "a.io"\n[[registry]]\nprefix = "x.io"\nlocation = "a.io"\nblocked = true\n', `${FILE}:3: registry "a.io" is defined more than once with conflicting blocked settings (first at line 1)`],
    ['registry that is a table, not an array', '[registry]\nlocation = "a.io"\n', /registry must be an array of tables/],
    ['an alias name with a registry', '[aliases]\n"quay.io/x" = "quay.io/x"\n', `${FILE}:2: invalid short name "quay.io/x" in [aliases]: it must not name a registry`],
    ['an alias name with a tag', '[aliases]\n"x:1" = "quay.io/x"\n', `${FILE}:2: invalid short name "x:1" in [aliases]: it must not have a tag`],
    ['an alias value that is short', '[aliases]\n"x" = "team/x"\n', `${FILE}:2: invalid alias "x" = "team/x": the value must be a fully-qualified name such as docker.io/library/busybox`],
    ['an alias value with a tag', '[aliases]\n"x" = "quay.io/x:1"\n', `${FILE}:2: invalid alias "x" = "quay.io/x:1": the value must not have a tag`],
    ['an alias value with a digest', `[aliases]\n"x" = "quay.io/x@sha256:${'a'.repeat(64)}"\n`, /:2: invalid alias "x" = .*: the value must not have a digest/],
    ['an alias that is no string', '[aliases]\nx = true\n', `${FILE}:2: alias "x" must be a string`],
  ];
  for (const [what, text, message] of cases) it(what, () => fails(text, message));

  it('points at the line of a table written inline', () => {
    fails('registry = [{ location = "a.io", insecure = "no" }]\n', `${FILE}:1: insecure must be true or false`);
    fails('[[registry]]\nlocation = "a.io"\nmirror = [{ location = "" }]\n', `${FILE}:3: a mirror of "a.io" has no location`);
  });

  it('gives a hint naming the file', () => {
    assert.throws(() => parse('short-name-mode = "x"\n'), (e: unknown) => isTscError(e) && e.hint === `fix ${FILE} (see containers-registries.conf(5))`);
  });
});

describe('short-name-aliases.conf', () => {
  it('reads only [aliases]', () => {
    const file = '/home/u/.cache/containers/short-name-aliases.conf';
    assert.deepEqual(parseAliasesFile('unqualified-search-registries = ["x.io"]\n[aliases]\n"app" = "quay.io/team/app"\n', file), [
      { name: 'app', value: 'quay.io/team/app', origin: { file, line: 3 } },
    ]);
    assert.deepEqual(parseAliasesFile('', file), []);
  });
});
