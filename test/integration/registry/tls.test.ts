/**
 * https registries: a TLS front (node:https, a certificate made by openssl for
 * 127.0.0.1) before the real registry. Without its CA the client refuses it; with the CA
 * in `caCertificates` it pulls; and a plain-http registry is never spoken to over http
 * unless configured insecure.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { createServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { describe, it, type TestContext } from 'node:test';
import { isTscError } from '../../../src/engine/errors.ts';
import { RegistryClient } from '../../../src/engine/registry/client.ts';
import { fetchManifest } from '../../../src/engine/registry/manifests.ts';
import { requires } from '../../lib/env.ts';
import { busyboxLayout, requiresRegistry, skopeoPush, tempDir, uniqueRepository } from '../../lib/registry-fixtures.ts';

async function tlsFront(t: TestContext, registry: string, challenge?: string): Promise<{ host: string; ca: string } | undefined> {
  if (!requires(t, spawnSync('openssl', ['version']).status === 0, 'openssl is not installed')) return undefined;
  const dir = tempDir(t, 'tls');
  execFileSync('openssl', [
    'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1',
    '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem'), '-subj', '/CN=tsc test registry', '-addext', 'subjectAltName=IP:127.0.0.1',
  ], { stdio: 'ignore' });
  const [hostname, port] = registry.split(':');
  const server = createServer({ key: readFileSync(join(dir, 'key.pem')), cert: readFileSync(join(dir, 'cert.pem')) }, (req, res) => {
    if (challenge !== undefined) {
      res.writeHead(401, { 'www-authenticate': challenge, 'content-length': '0' });
      res.end();
      return;
    }
    const upstream = httpRequest({ host: hostname, port, method: req.method, path: req.url, headers: req.headers }, (up) => {
      res.writeHead(up.statusCode ?? 502, up.headers);
      up.pipe(res);
    });
    upstream.on('error', () => res.destroy());
    req.pipe(upstream);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => {
    server.closeAllConnections();
    server.close();
  });
  return { host: `127.0.0.1:${(server.address() as AddressInfo).port}`, ca: readFileSync(join(dir, 'cert.pem'), 'utf8') };
}

describe('registry over https', () => {
  it('trusts a registry certificate only with its CA supplied', async (t) => {
    const registry = await requiresRegistry(t);
    if (registry === undefined) return;
    const front = await tlsFront(t, registry);
    if (front === undefined) return;
    const layout = busyboxLayout(t);
    const repository = uniqueRepository('tls');
    skopeoPush(layout, registry, repository);

    const untrusting = new RegistryClient(front.host, { sleep: async () => undefined });
    await assert.rejects(fetchManifest(untrusting, repository, 'latest'), (e: unknown) => {
      assert.ok(isTscError(e) && e.code === 'remote', String(e));
      assert.match(e.message, new RegExp(`^cannot reach registry ${front.host} at https://${front.host}: certificate not trusted \\(DEPTH_ZERO_SELF_SIGNED_CERT\\)$`));
      assert.match(e.hint ?? '', /CA certificate/);
      return true;
    });

    const client = new RegistryClient(front.host, { caCertificates: [front.ca] });
    t.after(() => client.close());
    assert.equal((await fetchManifest(client, repository, 'latest')).digest, layout.top.digest);
  });

  it('will not send credentials from an https registry to a plain-http token server', async (t) => {
    const registry = await requiresRegistry(t);
    if (registry === undefined) return;
    const front = await tlsFront(t, registry, 'Bearer realm="http://127.0.0.1:9/token",service="x"');
    if (front === undefined) return;
    const client = new RegistryClient(front.host, { caCertificates: [front.ca], credentials: () => ({ username: 'u', password: 'secret-pw' }) });
    t.after(() => client.close());
    await assert.rejects(fetchManifest(client, 'any/repo', 'latest'), (e: unknown) => {
      assert.ok(isTscError(e) && e.code === 'remote', String(e));
      assert.equal(e.message, `refusing to send credentials for ${front.host} to the plain-http token server 127.0.0.1:9`);
      return true;
    });
  });

  it('speaks https unless the registry is configured insecure', async (t) => {
    const registry = await requiresRegistry(t);
    if (registry === undefined) return;
    const client = new RegistryClient(registry, { sleep: async () => undefined });
    assert.equal(client.base.protocol, 'https:');
    await assert.rejects(client.ping(), (e: unknown) => {
      assert.ok(isTscError(e) && e.code === 'remote', String(e));
      assert.match(e.hint ?? '', /configure it as an insecure registry/);
      return true;
    });
  });

  it('refuses a CA certificate that is not one', () => {
    assert.throws(() => new RegistryClient('example.com', { caCertificates: ['-----BEGIN CERTIFICATE-----\nnope\n-----END CERTIFICATE-----\n'] }), (e: unknown) => {
      assert.ok(isTscError(e) && e.code === 'invalid-argument', String(e));
      assert.equal(e.message, 'CA certificate 1 for registry example.com is not a valid PEM certificate');
      return true;
    });
  });
});
