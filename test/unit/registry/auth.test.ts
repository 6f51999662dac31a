import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { isTscError } from '../../../src/engine/errors.ts';
import {
  basicAuthorization,
  mergeScopes,
  parseTokenResponse,
  parseWwwAuthenticate,
  pickChallenge,
  repositoryScope,
  type Challenge,
} from '../../../src/engine/registry/auth.ts';

const challenges: Array<[string, Challenge[]]> = [
  ['Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/busybox:pull"', [
    { scheme: 'bearer', params: { realm: 'https://auth.docker.io/token', service: 'registry.docker.io', scope: 'repository:library/busybox:pull' } },
  ]],
  // commas inside quotes belong to the value
  ['Bearer realm="https://r.example/token",scope="repository:a:pull,push repository:b:pull",error="insufficient_scope"', [
    { scheme: 'bearer', params: { realm: 'https://r.example/token', scope: 'repository:a:pull,push repository:b:pull', error: 'insufficient_scope' } },
  ]],
  ['Basic realm="Registry Realm"', [{ scheme: 'basic', params: { realm: 'Registry Realm' } }]],
  // case-insensitive scheme and names, spaces around '=', escapes in quoted strings
  ['BEARER Realm = "https://x/t" , Service=svc', [{ scheme: 'bearer', params: { realm: 'https://x/t', service: 'svc' } }]],
  ['Basic realm="say \\"hi\\", ok"', [{ scheme: 'basic', params: { realm: 'say "hi", ok' } }]],
  // several challenges, as one header or joined headers
  ['Basic realm="b", Bearer realm="https://t/x",service="s"', [
    { scheme: 'basic', params: { realm: 'b' } },
    { scheme: 'bearer', params: { realm: 'https://t/x', service: 's' } },
  ]],
  // a token68 credential blob is skipped, not read as a parameter
  ['Negotiate YIIB3w==, Basic realm="x"', [{ scheme: 'negotiate', params: {} }, { scheme: 'basic', params: { realm: 'x' } }]],
  ['', []],
  ['   ,  ', []],
  // an unterminated quote ends at the end of the header
  ['Bearer realm="https://t/x', [{ scheme: 'bearer', params: { realm: 'https://t/x' } }]],
];

describe('parseWwwAuthenticate', () => {
  for (const [header, expected] of challenges) {
    test(JSON.stringify(header), () => assert.deepEqual(parseWwwAuthenticate(header), expected));
  }
  test('null and undefined', () => {
    assert.deepEqual(parseWwwAuthenticate(null), []);
    assert.deepEqual(parseWwwAuthenticate(undefined), []);
  });
});

describe('pickChallenge', () => {
  test('prefers bearer with a realm over basic', () => {
    assert.equal(pickChallenge(parseWwwAuthenticate('Basic realm="b", Bearer realm="https://t"'))?.scheme, 'bearer');
    assert.equal(pickChallenge(parseWwwAuthenticate('Bearer service="no-realm", Basic realm="b"'))?.scheme, 'basic');
    assert.equal(pickChallenge(parseWwwAuthenticate('Negotiate')), undefined);
  });
});

describe('scopes', () => {
  test('repository scopes', () => {
    assert.equal(repositoryScope('library/busybox', 'pull'), 'repository:library/busybox:pull');
    assert.equal(repositoryScope('a/b', 'push'), 'repository:a/b:pull,push');
  });
  const merges: Array<[string[], string[], string[]]> = [
    [['repository:a:pull,push'], ['repository:a:pull'], ['repository:a:pull,push']],
    [['repository:a:pull'], ['repository:a:pull,push'], ['repository:a:pull', 'repository:a:pull,push']],
    [['repository:a:pull'], ['repository:b:pull'], ['repository:a:pull', 'repository:b:pull']],
    [['registry:catalog:*'], ['registry:catalog:*'], ['registry:catalog:*']],
    [['repository:a:*'], ['repository:a:delete'], ['repository:a:*']],
    [[], ['repository:a:pull', ''], ['repository:a:pull']],
  ];
  for (const [requested, announced, expected] of merges) {
    test(`merge ${requested.join(' ')} + ${announced.join(' ')}`, () => assert.deepEqual(mergeScopes(requested, announced), expected));
  }
});

describe('parseTokenResponse', () => {
  const now = 1_000_000;
  test('token, with expires_in', () => {
    assert.deepEqual(parseTokenResponse('{"token":"t1","expires_in":300}', now, 'r'), { token: 't1', expiresAt: now + 300_000 - 5_000 });
  });
  test('access_token only', () => {
    assert.equal(parseTokenResponse('{"access_token":"a1","expires_in":300}', now, 'r').token, 'a1');
  });
  test('token wins over access_token', () => {
    assert.equal(parseTokenResponse('{"token":"t","access_token":"a"}', now, 'r').token, 't');
  });
  test('missing or short expires_in means the 60 s minimum', () => {
    assert.equal(parseTokenResponse('{"token":"t"}', now, 'r').expiresAt, now + 60_000 - 5_000);
    assert.equal(parseTokenResponse('{"token":"t","expires_in":10}', now, 'r').expiresAt, now + 60_000 - 5_000);
  });
  for (const body of ['not json', '{}', '{"token":""}', '[]', 'null', '{"token":42}']) {
    test(`rejects ${body}`, () => {
      assert.throws(() => parseTokenResponse(body, now, 'reg.example'), (e: unknown) => isTscError(e) && e.code === 'remote' && e.message.includes('reg.example'));
    });
  }
});

test('basicAuthorization', () => {
  assert.equal(basicAuthorization({ username: 'user', password: 'pä:ss' }), `Basic ${Buffer.from('user:pä:ss').toString('base64')}`);
});
