import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { isTscError } from '../../../src/engine/errors.ts';
import {
  familiarName,
  formatReference,
  isDigest,
  looksLikeIdPrefix,
  manifestReference,
  parseDigest,
  parseReference,
  repositoryKey,
  type ImageReference,
  type ReferenceOptions,
} from '../../../src/engine/reference/reference.ts';

const H64 = '0123456789abcdef'.repeat(4);
const H96 = '0123456789abcdef'.repeat(6);
const H128 = '0123456789abcdef'.repeat(8);

interface ValidCase {
  input: string;
  canonical: string;
  familiar: string;
  options?: ReferenceOptions;
  /** fields to check exactly, when the canonical string alone would not show them */
  fields?: ImageReference;
}

const valid: ValidCase[] = [
  // Docker Hub normalisation
  { input: 'busybox', canonical: 'docker.io/library/busybox:latest', familiar: 'busybox:latest',
    fields: { registry: 'docker.io', repository: 'library/busybox', tag: 'latest' } },
  { input: 'busybox:1.36', canonical: 'docker.io/library/busybox:1.36', familiar: 'busybox:1.36' },
  { input: 'user/app', canonical: 'docker.io/user/app:latest', familiar: 'user/app:latest',
    fields: { registry: 'docker.io', repository: 'user/app', tag: 'latest' } },
  { input: 'user/app:1', canonical: 'docker.io/user/app:1', familiar: 'user/app:1' },
  { input: 'library/busybox', canonical: 'docker.io/library/busybox:latest', familiar: 'busybox:latest' },
  { input: 'docker.io/busybox', canonical: 'docker.io/library/busybox:latest', familiar: 'busybox:latest' },
  { input: 'index.docker.io/busybox', canonical: 'docker.io/library/busybox:latest', familiar: 'busybox:latest' },
  { input: 'index.docker.io/user/app:2', canonical: 'docker.io/user/app:2', familiar: 'user/app:2' },
  { input: 'docker.io/library/busybox:latest', canonical: 'docker.io/library/busybox:latest', familiar: 'busybox:latest' },
  { input: 'DOCKER.IO/busybox', canonical: 'docker.io/library/busybox:latest', familiar: 'busybox:latest' },
  { input: 'docker.io/library/a/b', canonical: 'docker.io/library/a/b:latest', familiar: 'library/a/b:latest' },
  { input: 'a/b/c/d', canonical: 'docker.io/a/b/c/d:latest', familiar: 'a/b/c/d:latest',
    fields: { registry: 'docker.io', repository: 'a/b/c/d', tag: 'latest' } },
  { input: 'registry-1.docker.io/library/busybox', canonical: 'registry-1.docker.io/library/busybox:latest',
    familiar: 'registry-1.docker.io/library/busybox:latest' },
  // the registry is kept where dropping it would change what the familiar name means
  { input: 'docker.io/example.com/x', canonical: 'docker.io/example.com/x:latest', familiar: 'docker.io/example.com/x:latest' },
  { input: 'docker.io/localhost/x', canonical: 'docker.io/localhost/x:latest', familiar: 'docker.io/localhost/x:latest' },

  // registry hosts
  { input: 'localhost/x', canonical: 'localhost/x:latest', familiar: 'localhost/x:latest',
    fields: { registry: 'localhost', repository: 'x', tag: 'latest' } },
  { input: 'localhost:5000/x', canonical: 'localhost:5000/x:latest', familiar: 'localhost:5000/x:latest' },
  { input: 'localhost:5000/a/b:tag', canonical: 'localhost:5000/a/b:tag', familiar: 'localhost:5000/a/b:tag',
    fields: { registry: 'localhost:5000', repository: 'a/b', tag: 'tag' } },
  { input: 'example.com/x', canonical: 'example.com/x:latest', familiar: 'example.com/x:latest' },
  { input: 'Example.COM:443/x', canonical: 'example.com:443/x:latest', familiar: 'example.com:443/x:latest',
    fields: { registry: 'example.com:443', repository: 'x', tag: 'latest' } },
  { input: '127.0.0.1/x', canonical: '127.0.0.1/x:latest', familiar: '127.0.0.1/x:latest' },
  { input: '127.0.0.1:5000/x', canonical: '127.0.0.1:5000/x:latest', familiar: '127.0.0.1:5000/x:latest' },
  { input: '192.168.1.10:65535/x', canonical: '192.168.1.10:65535/x:latest', familiar: '192.168.1.10:65535/x:latest' },
  { input: 'my-registry:5000/x', canonical: 'my-registry:5000/x:latest', familiar: 'my-registry:5000/x:latest' },
  { input: '[::1]:5000/x', canonical: '[::1]:5000/x:latest', familiar: '[::1]:5000/x:latest',
    fields: { registry: '[::1]:5000', repository: 'x', tag: 'latest' } },
  { input: '[::1]/x', canonical: '[::1]/x:latest', familiar: '[::1]/x:latest' },
  { input: '[2001:db8::1]:443/org/app:v1', canonical: '[2001:db8::1]:443/org/app:v1', familiar: '[2001:db8::1]:443/org/app:v1' },
  { input: '[FE80::1]:5000/x', canonical: '[fe80::1]:5000/x:latest', familiar: '[fe80::1]:5000/x:latest' },
  { input: 'registry.example.com:5000/team/project/app:1.0', canonical: 'registry.example.com:5000/team/project/app:1.0',
    familiar: 'registry.example.com:5000/team/project/app:1.0' },
  { input: 'xn--bcher-kva.example/x', canonical: 'xn--bcher-kva.example/x:latest', familiar: 'xn--bcher-kva.example/x:latest' },
  { input: 'foo.com/bar.baz/qux', canonical: 'foo.com/bar.baz/qux:latest', familiar: 'foo.com/bar.baz/qux:latest' },

  // no '/' means no registry: these are repositories with tags
  { input: 'x:5000', canonical: 'docker.io/library/x:5000', familiar: 'x:5000',
    fields: { registry: 'docker.io', repository: 'library/x', tag: '5000' } },
  { input: 'localhost:5000', canonical: 'docker.io/library/localhost:5000', familiar: 'localhost:5000' },
  { input: 'localhost', canonical: 'docker.io/library/localhost:latest', familiar: 'localhost:latest' },
  { input: 'docker.io', canonical: 'docker.io/library/docker.io:latest', familiar: 'docker.io:latest' },
  // by the grammar this is repository "sha256" with a 64-character tag; callers test isDigest first
  { input: `sha256:${H64}`, canonical: `docker.io/library/sha256:${H64}`, familiar: `sha256:${H64}`,
    fields: { registry: 'docker.io', repository: 'library/sha256', tag: H64 } },
  { input: `${H64}:latest`, canonical: `docker.io/library/${H64}:latest`, familiar: `${H64}:latest` },
  { input: 'abc', canonical: 'docker.io/library/abc:latest', familiar: 'abc:latest' },

  // path component separators
  { input: 'a__b', canonical: 'docker.io/library/a__b:latest', familiar: 'a__b:latest' },
  { input: 'a--b', canonical: 'docker.io/library/a--b:latest', familiar: 'a--b:latest' },
  { input: 'a---b', canonical: 'docker.io/library/a---b:latest', familiar: 'a---b:latest' },
  { input: 'a.b_c', canonical: 'docker.io/library/a.b_c:latest', familiar: 'a.b_c:latest' },
  { input: 'f0/a-b.c_d__e', canonical: 'docker.io/f0/a-b.c_d__e:latest', familiar: 'f0/a-b.c_d__e:latest' },
  { input: '0', canonical: 'docker.io/library/0:latest', familiar: '0:latest' },

  // tags
  { input: `x:${'t'.repeat(128)}`, canonical: `docker.io/library/x:${'t'.repeat(128)}`, familiar: `x:${'t'.repeat(128)}` },
  { input: 'x:_x', canonical: 'docker.io/library/x:_x', familiar: 'x:_x' },
  { input: 'x:V1.0-RC_2', canonical: 'docker.io/library/x:V1.0-RC_2', familiar: 'x:V1.0-RC_2' },
  { input: 'x:1.2.3-alpine', canonical: 'docker.io/library/x:1.2.3-alpine', familiar: 'x:1.2.3-alpine' },

  // repository length: counted after normalisation, so Docker Hub's library/ counts
  { input: 'a'.repeat(247), canonical: `docker.io/library/${'a'.repeat(247)}:latest`, familiar: `${'a'.repeat(247)}:latest` },
  { input: `example.com/${'a'.repeat(255)}`, canonical: `example.com/${'a'.repeat(255)}:latest`,
    familiar: `example.com/${'a'.repeat(255)}:latest` },

  // digests
  { input: `busybox@sha256:${H64}`, canonical: `docker.io/library/busybox@sha256:${H64}`, familiar: `busybox@sha256:${H64}`,
    fields: { registry: 'docker.io', repository: 'library/busybox', digest: `sha256:${H64}` } },
  { input: `busybox:1@sha256:${H64}`, canonical: `docker.io/library/busybox:1@sha256:${H64}`, familiar: `busybox:1@sha256:${H64}`,
    fields: { registry: 'docker.io', repository: 'library/busybox', tag: '1', digest: `sha256:${H64}` } },
  { input: `localhost:5000/x:tag@sha512:${H128}`, canonical: `localhost:5000/x:tag@sha512:${H128}`,
    familiar: `localhost:5000/x:tag@sha512:${H128}` },
  { input: `x@sha384:${H96}`, canonical: `docker.io/library/x@sha384:${H96}`, familiar: `x@sha384:${H96}` },
  { input: `x@blake3:${H64}`, canonical: `docker.io/library/x@blake3:${H64}`, familiar: `x@blake3:${H64}` },
  { input: 'x@multi+b.v2:0123456789ABCDEF0123456789abcdef', canonical: 'docker.io/library/x@multi+b.v2:0123456789ABCDEF0123456789abcdef',
    familiar: 'x@multi+b.v2:0123456789ABCDEF0123456789abcdef' },

  // another default registry: no library/ namespace there
  { input: 'busybox', options: { defaultRegistry: 'quay.io' }, canonical: 'quay.io/busybox:latest', familiar: 'busybox:latest' },
  { input: 'user/app', options: { defaultRegistry: 'Registry.Local:5000' }, canonical: 'registry.local:5000/user/app:latest',
    familiar: 'user/app:latest' },
  { input: 'busybox', options: { defaultRegistry: 'index.docker.io' }, canonical: 'docker.io/library/busybox:latest',
    familiar: 'busybox:latest' },
  { input: 'docker.io/library/busybox', options: { defaultRegistry: 'quay.io' }, canonical: 'docker.io/library/busybox:latest',
    familiar: 'docker.io/library/busybox:latest' },
];

interface InvalidCase {
  input: string;
  message: string;
}

const invalid: InvalidCase[] = [
  { input: '', message: 'invalid reference "": reference is empty' },
  { input: 'Busybox', message: 'invalid reference "Busybox": repository name must be lowercase' },
  { input: 'user/App', message: 'repository name must be lowercase' },
  { input: 'Foo/bar', message: 'repository name must be lowercase' },
  { input: 'LOCALHOST/x', message: 'repository name must be lowercase' },
  { input: 'example.com/Foo:tag', message: 'repository name must be lowercase' },
  { input: 'a//b', message: 'empty component in "a//b"' },
  { input: '/a', message: 'empty component in "/a"' },
  { input: 'a/', message: 'empty component in "a/"' },
  { input: 'x:5000/', message: 'empty component in "x:5000/"' },
  { input: 'x:', message: 'tag is missing after ":"' },
  { input: `x:${'t'.repeat(129)}`, message: `tag "${'t'.repeat(129)}" is too long (max 128)` },
  { input: 'x:-tag', message: 'tag "-tag" must start with a letter, digit or "_"' },
  { input: 'x:.tag', message: 'tag ".tag" must start with' },
  { input: 'x:a+b', message: 'tag "a+b" contains the invalid character "+"' },
  { input: 'a___b', message: 'component "a___b" has an invalid separator' },
  { input: 'a..b', message: 'component "a..b" has an invalid separator' },
  { input: 'a.-b', message: 'component "a.-b" has an invalid separator' },
  { input: '-a', message: 'component "-a" must start with a letter or digit' },
  { input: '_a', message: 'component "_a" must start with a letter or digit' },
  { input: 'a-', message: 'component "a-" must end with a letter or digit' },
  { input: 'busy box', message: 'component "busy box" contains the invalid character " "' },
  { input: 'a:b:c', message: 'component "a:b" contains the invalid character ":"' },
  { input: 'ué', message: 'contains the invalid character "é"' },
  { input: 'a'.repeat(248), message: 'repository name is too long: 256 characters (max 255)' },
  { input: `example.com/${'a'.repeat(256)}`, message: 'repository name is too long: 256 characters (max 255)' },
  { input: `@sha256:${H64}`, message: 'repository name is missing' },
  { input: ':tag', message: 'repository name is missing' },
  { input: 'busybox@', message: 'digest is missing after "@"' },
  { input: 'busybox@sha256:abc', message: 'digest must be sha256 followed by 64 hex digits, got 3' },
  { input: `busybox@sha256:${H64}0`, message: 'digest must be sha256 followed by 64 hex digits, got 65' },
  { input: `busybox@sha256:${H64.slice(1)}g`, message: 'got the non-hex character "g"' },
  { input: `busybox@sha256:${H64.toUpperCase()}`, message: 'digest hex digits must be lower-case' },
  { input: `busybox@sha512:${H64}`, message: 'digest must be sha512 followed by 128 hex digits, got 64' },
  { input: 'busybox@md5:0123456789abcdef', message: 'digest must be md5 followed by at least 32 hex digits, got 16' },
  { input: `busybox@SHA256:${H64}`, message: 'digest algorithm "SHA256" is invalid' },
  { input: `busybox@${H64}`, message: 'digest must be an algorithm and hex digits separated by ":"' },
  { input: `busybox@:${H64}`, message: 'digest algorithm is missing' },
  { input: `a@b@sha256:${H64}`, message: 'more than one "@"' },
  { input: H64, message: 'a 64-digit hex string is an image id, not a repository name' },
  { input: '::1/x', message: 'registry host "::1" has more than one ":"' },
  { input: '[::1/x', message: 'registry host "[::1" is missing the closing "]"' },
  { input: '[::g]/x', message: 'registry host "[::g]" is not a valid IPv6 address' },
  { input: '[1.2.3.4]/x', message: 'is not a valid IPv6 address' },
  { input: '[::1]x/y', message: 'has unexpected text after "]"' },
  { input: '[::1]:5000', message: '"[::1]:5000" is a registry host without a repository' },
  { input: 'localhost:0/x', message: 'registry port "0" in "localhost:0" must be a number from 1 to 65535' },
  { input: 'localhost:99999/x', message: 'registry port "99999"' },
  { input: 'localhost:/x', message: 'registry port "" in "localhost:"' },
  { input: 'example.com:http/x', message: 'registry port "http"' },
  { input: ':5000/x', message: 'registry host ":5000" has no name before the port' },
  { input: 'exa_mple.com/x', message: 'registry host "exa_mple.com" has an invalid label "exa_mple"' },
  { input: '-bad.com/x', message: 'has an invalid label "-bad"' },
  // a '.' in the first component makes it a host, whose labels do not allow '_'
  { input: 'a-b.c_d/x', message: 'registry host "a-b.c_d" has an invalid label "c_d"' },
  { input: 'a..com/x', message: 'registry host "a..com" has an empty label' },
];

function expectInvalid(input: string, options?: ReferenceOptions): Error {
  try {
    parseReference(input, options);
  } catch (error) {
    assert.ok(isTscError(error), `expected a TscError, got ${String(error)}`);
    assert.equal(error.code, 'invalid-argument');
    assert.ok(error.hint !== undefined && error.hint !== '', 'every reference error carries a hint');
    return error;
  }
  assert.fail(`expected ${JSON.stringify(input)} to be rejected`);
}

describe('parseReference: valid references', () => {
  for (const c of valid) {
    const label = c.input.length > 80 ? `${c.input.slice(0, 60)}… (${c.input.length} chars)` : c.input;
    test(`${label}${c.options ? ` with ${JSON.stringify(c.options)}` : ''}`, () => {
      const ref = parseReference(c.input, c.options);
      assert.equal(formatReference(ref), c.canonical);
      assert.equal(familiarName(ref, c.options), c.familiar);
      if (c.fields) assert.deepEqual(ref, c.fields);
      // both printed forms parse back to the same reference
      assert.deepEqual(parseReference(formatReference(ref), c.options), ref);
      assert.deepEqual(parseReference(familiarName(ref, c.options), c.options), ref);
    });
  }
});

describe('parseReference: invalid references', () => {
  for (const c of invalid) {
    const label = c.input.length > 80 ? `${c.input.slice(0, 60)}… (${c.input.length} chars)` : c.input;
    test(JSON.stringify(label), () => {
      const error = expectInvalid(c.input);
      assert.ok(error.message.startsWith(`invalid reference "${c.input}": `), error.message);
      assert.ok(error.message.includes(c.message), `${JSON.stringify(error.message)} lacks ${JSON.stringify(c.message)}`);
    });
  }

  test('an invalid default registry is reported as such', () => {
    assert.throws(() => parseReference('busybox', { defaultRegistry: 'bad_host' }), {
      code: 'invalid-argument',
      message: 'invalid default registry "bad_host": registry host "bad_host" has an invalid label "bad_host": use letters, digits and inner "-"',
    });
    assert.throws(() => parseReference('busybox', { defaultRegistry: '' }), /invalid default registry "": registry host is empty/);
  });

  test('upper-case names get a hint about how hosts are recognised', () => {
    assert.match(expectInvalid('Foo/bar').message, /must be lowercase/);
    assert.match((expectInvalid('Foo/bar') as { hint?: string }).hint ?? '', /registry host only if it contains/);
  });
});

describe('reference helpers', () => {
  test('repositoryKey ignores tag and digest', () => {
    assert.equal(repositoryKey(parseReference(`busybox:1@sha256:${H64}`)), 'docker.io/library/busybox');
    assert.equal(repositoryKey(parseReference('localhost:5000/a/b:tag')), 'localhost:5000/a/b');
  });

  test('manifestReference prefers the digest', () => {
    assert.equal(manifestReference(parseReference('busybox')), 'latest');
    assert.equal(manifestReference(parseReference('busybox:1.36')), '1.36');
    assert.equal(manifestReference(parseReference(`busybox:1@sha256:${H64}`)), `sha256:${H64}`);
    assert.equal(manifestReference({ registry: 'docker.io', repository: 'library/x' }), 'latest');
  });

  test('formatting a reference without tag or digest prints the bare name', () => {
    const ref = { registry: 'docker.io', repository: `library/${H64}` };
    assert.equal(formatReference(ref), `docker.io/library/${H64}`);
    // a bare 64-hex string would read as an image id, so library/ stays
    assert.equal(familiarName(ref), `library/${H64}`);
  });
});

describe('parseDigest', () => {
  const good: [string, { algorithm: string; hex: string }][] = [
    [`sha256:${H64}`, { algorithm: 'sha256', hex: H64 }],
    [`sha384:${H96}`, { algorithm: 'sha384', hex: H96 }],
    [`sha512:${H128}`, { algorithm: 'sha512', hex: H128 }],
    [`blake3:${H64}`, { algorithm: 'blake3', hex: H64 }],
    ['a.b+c_d-e:0123456789ABCDEF0123456789abcdef', { algorithm: 'a.b+c_d-e', hex: '0123456789ABCDEF0123456789abcdef' }],
  ];
  for (const [input, expected] of good) {
    test(`accepts ${input.slice(0, 24)}…`, () => {
      assert.deepEqual(parseDigest(input), expected);
      assert.equal(isDigest(input), true);
    });
  }

  const bad: [string, string][] = [
    ['', 'invalid digest "": digest must be an algorithm and hex digits separated by ":"'],
    [H64, 'separated by ":"'],
    [`:${H64}`, 'digest algorithm is missing before ":"'],
    [`sha256:${H64.slice(2)}`, 'digest must be sha256 followed by 64 hex digits, got 62'],
    ['sha256:', 'digest must be sha256 followed by 64 hex digits, got none'],
    [`sha256:${'A'.repeat(64)}`, 'digest hex digits must be lower-case'],
    [`sha512:${H64}`, 'digest must be sha512 followed by 128 hex digits'],
    [`Sha256:${H64}`, 'digest algorithm "Sha256" is invalid'],
    [`1sha:${H64}`, 'digest algorithm "1sha" is invalid'],
    [`sha256+:${H64}`, 'digest algorithm "sha256+" is invalid'],
    ['md5:abc', 'digest must be md5 followed by at least 32 hex digits, got 3'],
    [`blake3:${H64.slice(1)}z`, 'got the non-hex character "z"'],
  ];
  for (const [input, message] of bad) {
    test(`rejects ${JSON.stringify(input.slice(0, 24))}`, () => {
      assert.equal(isDigest(input), false);
      assert.throws(
        () => parseDigest(input),
        (error: unknown) =>
          isTscError(error) &&
          error.code === 'invalid-argument' &&
          error.message.startsWith(`invalid digest "${input}": `) &&
          error.message.includes(message),
      );
    });
  }
});

describe('looksLikeIdPrefix', () => {
  const table: [string, boolean][] = [
    ['a', true],
    ['abc', true],
    ['0123abcdef', true],
    [H64, true],
    [`${H64}0`, false],
    ['', false],
    ['ABC', false],
    ['abg', false],
    [`sha256:${H64}`, false],
    ['busybox', false],
  ];
  for (const [input, expected] of table) {
    test(`${JSON.stringify(input.slice(0, 20))} -> ${expected}`, () => {
      assert.equal(looksLikeIdPrefix(input), expected);
    });
  }

  test('a short hex string is both an id prefix and a valid name; the caller decides', () => {
    assert.equal(looksLikeIdPrefix('abc'), true);
    assert.equal(formatReference(parseReference('abc')), 'docker.io/library/abc:latest');
  });
});
