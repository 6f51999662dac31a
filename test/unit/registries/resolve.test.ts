import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isTscError } from '../../../src/engine/errors.ts';
import { formatReference } from '../../../src/engine/reference/reference.ts';
import { EMPTY_CONFIG, mergeConfigs } from '../../../src/engine/registries/config.ts';
import { parseAliasesFile, parseRegistriesConf } from '../../../src/engine/registries/parse.ts';
import { resolvePull, type PullPlan } from '../../../src/engine/registries/resolve.ts';

const MAIN = '/etc/containers/registries.conf';
const config = (...texts: string[]) => mergeConfigs(texts.map((t, i) => parseRegistriesConf(t, i === 0 ? MAIN : `/etc/containers/registries.conf.d/${i}.conf`, { dropIn: i > 0 })));
const DIGEST = `sha256:${'d'.repeat(64)}`;

/** The plan as lines: `name <- reference via endpoint [http] [mirror]`. */
function show(plan: PullPlan): string[] {
  return plan.candidates.map((c) => {
    const flags = [c.insecure ? `http(${c.insecureFrom})` : '', c.mirror ? 'mirror' : ''].filter((f) => f !== '');
    const from = formatReference(c.reference);
    return `${formatReference(c.name)}${from === formatReference(c.name) ? '' : ` <- ${from}`}${flags.length > 0 ? ` ${flags.join(' ')}` : ''}`;
  });
}

function refuses(text: string, conf: Parameters<typeof resolvePull>[1], message: string | RegExp, hint?: RegExp): void {
  assert.throws(() => resolvePull(text, conf), (e: unknown) => {
    assert.ok(isTscError(e) && e.code === 'invalid-argument', String(e));
    if (typeof message === 'string') assert.equal(e.message, message);
    else assert.match(e.message, message);
    if (hint) assert.match(e.hint ?? '', hint);
    return true;
  });
}

describe('resolvePull: names', () => {
  it('without any configuration: short names are docker.io names, as docker has them', () => {
    const plan = resolvePull('busybox', EMPTY_CONFIG);
    assert.equal(plan.resolvedBy, 'default-registry');
    assert.deepEqual(show(plan), ['docker.io/library/busybox:latest']);
    assert.deepEqual(show(resolvePull('quay.io/x/y:1', EMPTY_CONFIG)), ['quay.io/x/y:1']);
  });

  it('a fully-qualified name is used as it is, whatever the search registries', () => {
    const plan = resolvePull('quay.io/team/app:1', config('unqualified-search-registries = ["a.io", "b.io"]\nshort-name-mode = "enforcing"\n'));
    assert.equal(plan.resolvedBy, 'qualified');
    assert.deepEqual(show(plan), ['quay.io/team/app:1']);
  });

  it('a short name tries each search registry in order (permissive by default)', () => {
    const plan = resolvePull('team/app:1', config('unqualified-search-registries = ["quay.io", "docker.io", "127.0.0.1:5000"]\n'));
    assert.equal(plan.resolvedBy, 'search');
    assert.deepEqual(plan.origin, { file: MAIN, line: 1 });
    assert.deepEqual(show(plan), ['quay.io/team/app:1', 'docker.io/team/app:1', '127.0.0.1:5000/team/app:1 http(loopback)']);
    assert.deepEqual(show(resolvePull('busybox', config('unqualified-search-registries = ["docker.io"]\n'))), ['docker.io/library/busybox:latest']);
  });

  it('disabled mode tries them all too', () => {
    const plan = resolvePull('app', config('unqualified-search-registries = ["a.io", "b.io"]\nshort-name-mode = "disabled"\n'));
    assert.deepEqual(show(plan), ['a.io/app:latest', 'b.io/app:latest']);
  });

  it('enforcing mode refuses an ambiguous short name, naming the file', () => {
    refuses('app:1', config('unqualified-search-registries = ["a.io", "b.io"]\nshort-name-mode = "enforcing"\n'),
      `short name "app:1" is ambiguous: short-name-mode is enforcing (${MAIN}) and it could come from a.io, b.io`,
      /use a fully-qualified name such as a\.io\/app:1, or add an alias for "app" in \[aliases\]/);
  });

  it('enforcing mode is happy with one search registry or an alias', () => {
    assert.deepEqual(show(resolvePull('app', config('unqualified-search-registries = ["a.io"]\nshort-name-mode = "enforcing"\n'))), ['a.io/app:latest']);
    const aliased = config('unqualified-search-registries = ["a.io", "b.io"]\nshort-name-mode = "enforcing"\n[aliases]\n"app" = "b.io/team/app"\n');
    assert.deepEqual(show(resolvePull('app:2', aliased)), ['b.io/team/app:2']);
  });

  it('an explicitly empty search list is an error naming the file', () => {
    refuses('app', config('unqualified-search-registries = []\n'),
      `short name "app" did not resolve to an alias and no unqualified-search registries are defined in ${MAIN}`);
  });

  it('an alias wins over the search registries and keeps tag and digest', () => {
    const conf = config('unqualified-search-registries = ["a.io"]\n[aliases]\n"busybox" = "docker.io/library/busybox"\n"team/app" = "quay.io/team/app"\n');
    const plan = resolvePull('busybox', conf);
    assert.equal(plan.resolvedBy, 'alias');
    assert.deepEqual(plan.origin, { file: MAIN, line: 3 });
    assert.deepEqual(show(plan), ['docker.io/library/busybox:latest']);
    assert.deepEqual(show(resolvePull('team/app:1', conf)), ['quay.io/team/app:1']);
    assert.deepEqual(show(resolvePull(`team/app@${DIGEST}`, conf)), [`quay.io/team/app@${DIGEST}`]);
    assert.deepEqual(show(resolvePull('other', conf)), ['a.io/other:latest'], 'names without an alias are searched');
  });

  it('invalid references are refused before anything else', () => {
    refuses('Busybox', EMPTY_CONFIG, /^invalid reference "Busybox"/);
  });
});

describe('resolvePull: drop-ins and alias files', () => {
  it('a later drop-in replaces the search list and the mode, and merges aliases', () => {
    const conf = config(
      'unqualified-search-registries = ["a.io"]\nshort-name-mode = "enforcing"\n[aliases]\n"x" = "a.io/x"\n"y" = "a.io/y"\n',
      'unqualified-search-registries = ["b.io", "c.io"]\n[aliases]\n"y" = "b.io/y"\n',
      'short-name-mode = "permissive"\n[aliases]\n"x" = ""\n',
    );
    assert.equal(conf.shortNameMode, 'permissive');
    assert.deepEqual(conf.sources, [MAIN, '/etc/containers/registries.conf.d/1.conf', '/etc/containers/registries.conf.d/2.conf']);
    assert.deepEqual(show(resolvePull('y', conf)), ['b.io/y:latest']);
    assert.deepEqual(show(resolvePull('x', conf)), ['b.io/x:latest', 'c.io/x:latest'], 'the erased alias no longer applies');
    assert.deepEqual(resolvePull('z', conf).origin?.file, '/etc/containers/registries.conf.d/1.conf');
  });

  it('a drop-in [[registry]] replaces the table with the same prefix, others are kept', () => {
    const conf = config(
      '[[registry]]\nlocation = "a.io"\n[[registry.mirror]]\nlocation = "old.mirror"\n[[registry]]\nlocation = "b.io"\nblocked = true\n',
      '[[registry]]\nlocation = "a.io"\n[[registry.mirror]]\nlocation = "new.mirror"\n',
    );
    assert.deepEqual(show(resolvePull('a.io/x', conf)), ['a.io/x:latest <- new.mirror/x:latest mirror', 'a.io/x:latest']);
    refuses('b.io/x', conf, /blocked/);
  });

  it('short-name-aliases.conf wins over registries.conf aliases, and can erase one', () => {
    const file = '/home/u/.cache/containers/short-name-aliases.conf';
    const machine = parseAliasesFile('[aliases]\n"app" = "quay.io/picked/app"\n"gone" = ""\n', file);
    const conf = mergeConfigs([parseRegistriesConf('unqualified-search-registries = ["a.io"]\n[aliases]\n"app" = "a.io/app"\n"gone" = "a.io/gone"\n', MAIN)], machine, file);
    assert.deepEqual(show(resolvePull('app', conf)), ['quay.io/picked/app:latest']);
    assert.deepEqual(resolvePull('app', conf).origin, { file, line: 2 });
    assert.deepEqual(show(resolvePull('gone', conf)), ['a.io/gone:latest']);
    assert.deepEqual(conf.sources, [MAIN, file]);
  });
});

describe('resolvePull: registries, mirrors and locations', () => {
  const EXAMPLE = `
unqualified-search-registries = ["example.com"]
[[registry]]
prefix = "example.com/foo"
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
`;
  it('tries the mirrors in order, then the location (the example of the man page)', () => {
    assert.deepEqual(show(resolvePull('example.com/foo/image:latest', config(EXAMPLE))), [
      'example.com/foo/image:latest <- example-mirror-0.local/mirror-for-foo/image:latest mirror',
      'example.com/foo/image:latest <- example-mirror-1.local/mirrors/foo/image:latest http(registries.conf) mirror',
      'example.com/foo/image:latest <- internal-registry-for-example.com/bar/image:latest',
    ]);
  });

  it('uses only the mirrors of the matching table', () => {
    assert.deepEqual(show(resolvePull('registry.com/image', config(EXAMPLE))), [
      'registry.com/image:latest <- mirror.registry.com/image:latest mirror',
      'registry.com/image:latest',
    ]);
  });

  it('applies mirrors to search-registry names too', () => {
    assert.deepEqual(show(resolvePull('foo/image:1', config(EXAMPLE))), [
      'example.com/foo/image:1 <- example-mirror-0.local/mirror-for-foo/image:1 mirror',
      'example.com/foo/image:1 <- example-mirror-1.local/mirrors/foo/image:1 http(registries.conf) mirror',
      'example.com/foo/image:1 <- internal-registry-for-example.com/bar/image:1',
    ]);
  });

  it('mirrors docker.io library images with the library/ namespace', () => {
    const conf = config('[[registry]]\nprefix = "docker.io/library"\nlocation = "docker.io/library"\n[[registry.mirror]]\nlocation = "mirror.gcr.io/library"\n');
    assert.deepEqual(show(resolvePull('docker.io/busybox:1', conf)), [
      'docker.io/library/busybox:1 <- mirror.gcr.io/library/busybox:1 mirror',
      'docker.io/library/busybox:1',
    ]);
    assert.deepEqual(show(resolvePull('docker.io/team/app:1', conf)), ['docker.io/team/app:1']);
  });

  it('a mirror of a made-up registry on loopback is plain http', () => {
    const conf = config('[[registry]]\nlocation = "registry.invalid"\n[[registry.mirror]]\nlocation = "127.0.0.1:5000"\n');
    assert.deepEqual(show(resolvePull('registry.invalid/tsc-test/x:tag', conf)), [
      'registry.invalid/tsc-test/x:tag <- 127.0.0.1:5000/tsc-test/x:tag http(loopback) mirror',
      'registry.invalid/tsc-test/x:tag',
    ]);
  });

  it('filters mirrors by digest and tag pulls', () => {
    const conf = config(`
[[registry]]
location = "a.io"
[[registry.mirror]]
location = "all.local"
[[registry.mirror]]
location = "digests.local"
pull-from-mirror = "digest-only"
[[registry.mirror]]
location = "tags.local"
pull-from-mirror = "tag-only"
[[registry]]
location = "b.io"
mirror-by-digest-only = true
[[registry.mirror]]
location = "b.mirror"
`);
    const endpoints = (text: string) => resolvePull(text, conf).candidates.map((c) => c.endpoint);
    assert.deepEqual(endpoints('a.io/x:1'), ['all.local', 'tags.local', 'a.io']);
    assert.deepEqual(endpoints(`a.io/x@${DIGEST}`), ['all.local', 'digests.local', 'a.io']);
    assert.deepEqual(endpoints(`a.io/x:1@${DIGEST}`), ['all.local', 'digests.local', 'a.io'], 'a tag beside a digest is a digest pull');
    assert.deepEqual(endpoints('b.io/x:1'), ['b.io']);
    assert.deepEqual(endpoints(`b.io/x@${DIGEST}`), ['b.mirror', 'b.io']);
  });

  it('a wildcard table applies its settings without rewriting', () => {
    const conf = config('[[registry]]\nprefix = "*.corp.example"\ninsecure = true\n[[registry.mirror]]\nlocation = "cache.local/corp"\n');
    assert.deepEqual(show(resolvePull('r1.corp.example/app:1', conf)), [
      'r1.corp.example/app:1 <- cache.local/corp/app:1 mirror',
      'r1.corp.example/app:1 http(registries.conf)',
    ]);
  });

  it('insecure comes from the table, else from the table of the endpoint (here in a drop-in), else the loopback rule', () => {
    const conf = config(`
[[registry]]
location = "a.io"
insecure = true
[[registry]]
prefix = "b.io"
location = "127.0.0.1:5000"
[[registry]]
location = "localhost:5000"
insecure = false
[[registry]]
prefix = "c.io"
location = "plain.local"
`, '[[registry]]\nlocation = "plain.local"\ninsecure = true\n');
    const first = (text: string) => {
      const c = resolvePull(text, conf).candidates[0]!;
      return [c.endpoint, c.insecure, c.insecureFrom];
    };
    assert.deepEqual(first('a.io/x'), ['a.io', true, 'registries.conf']);
    assert.deepEqual(first('b.io/x'), ['127.0.0.1:5000', true, 'loopback']);
    assert.deepEqual(first('localhost:5000/x'), ['localhost:5000', false, 'registries.conf']);
    assert.deepEqual(first('c.io/x'), ['plain.local', true, 'registries.conf']);
    assert.deepEqual(first('quay.io/x'), ['quay.io', false, 'default']);
  });
});

describe('resolvePull: blocked', () => {
  it('refuses a blocked name, naming the file and line', () => {
    const conf = config('\n[[registry]]\nprefix = "quay.io/evil"\nlocation = "quay.io/evil"\nblocked = true\n');
    refuses('quay.io/evil/app:1', conf, `pulling quay.io/evil/app:1 is blocked by the registry "quay.io/evil" in ${MAIN}:2`, /blocked = true/);
    assert.deepEqual(show(resolvePull('quay.io/good/app:1', conf)), ['quay.io/good/app:1']);
  });

  it('a blocked table blocks its mirrors too', () => {
    const conf = config('[[registry]]\nlocation = "a.io"\nblocked = true\n[[registry.mirror]]\nlocation = "m.local"\n');
    refuses('a.io/x', conf, /^pulling a\.io\/x:latest is blocked/);
  });

  it('skips a blocked search registry, and fails when all are', () => {
    const conf = config('unqualified-search-registries = ["bad.io", "good.io"]\n[[registry]]\nlocation = "bad.io"\nblocked = true\n');
    assert.deepEqual(show(resolvePull('app', conf)), ['good.io/app:latest']);
    const all = config('unqualified-search-registries = ["bad.io"]\n[[registry]]\nlocation = "bad.io"\nblocked = true\n');
    refuses('app', all, `pulling bad.io/app:latest is blocked by the registry "bad.io" in ${MAIN}:2`);
  });

  it('skips a mirror whose own registry is blocked', () => {
    const conf = config('[[registry]]\nlocation = "a.io"\n[[registry.mirror]]\nlocation = "bad.mirror"\n[[registry]]\nlocation = "bad.mirror"\nblocked = true\n');
    assert.deepEqual(show(resolvePull('a.io/x', conf)), ['a.io/x:latest']);
  });
});
