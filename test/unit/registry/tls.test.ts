import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isTscError } from '../../../src/engine/errors.ts';
import { caDispatcher } from '../../../src/engine/registry/tls.ts';

const CA = `-----BEGIN CERTIFICATE-----
MIIBjDCCATGgAwIBAgIUaekuz2eVZWrKCwVzrCPd1+LED1kwCgYIKoZIzj0EAwIw
GzEZMBcGA1UEAwwQdHNjIHVuaXQgdGVzdCBDQTAeFw0yNjExMjMwMTU0NDhaFw0z
NjExMjAwMTU0NDhaMBsxGTAXBgNVBAMMEHRzYyB1bml0IHRlc3QgQ0EwWTATBgcq
hkjOPQIBBggqhkjOPQMBBwNCAATgDYC389OohuS6C40eWAkWIWogO9GvYqH2jPop
i7zOuTGFSvJDhaMM3+fq8jU1XN6PdMGYCFaMyXGxSCXUNoZjo1MwUTAdBgNVHQ4E
FgQUVkXlIRsZj7/gM4sAcPGyGm7lun8wHwYDVR0jBBgwFoAUVkXlIRsZj7/gM4sA
cPGyGm7lun8wDwYDVR0TAQH/BAUwAwEB/zAKBggqhkjOPQQDAgNJADBGAiEAmUj4
CrRoJog89JG3GwLslixCKAwcs7NIR3UJS+9gBNYCIQCd1Ac+4MOFt+AuL00VZM/n
T6v94oNo1H+GdZErOR9yPQ==
-----END CERTIFICATE-----
`;

test('this node exposes an undici Agent for per-registry CA certificates', async () => {
  // if this fails after a Node upgrade, extra CAs need the undici package (see tls.ts)
  const tls = caDispatcher('registry.example', [CA]);
  assert.equal(typeof (tls.dispatcher as { dispatch?: unknown }).dispatch, 'function');
  await tls.close();
});

test('a malformed certificate is an invalid argument naming the registry', () => {
  assert.throws(() => caDispatcher('registry.example', [CA, 'not a certificate']), (e: unknown) => {
    assert.ok(isTscError(e) && e.code === 'invalid-argument');
    assert.equal(e.message, 'CA certificate 2 for registry registry.example is not a valid PEM certificate');
    return true;
  });
});
