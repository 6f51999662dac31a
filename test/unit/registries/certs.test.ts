import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { isTscError } from '../../../src/engine/errors.ts';
import { findCertificates, readCertificates } from '../../../src/engine/registries/certs.ts';

const CA = readFileSync(new URL('fixtures/ca.crt', import.meta.url), 'utf8');
const root = mkdtempSync(join(tmpdir(), 'tsc-certs-'));
after(() => rmSync(root, { recursive: true, force: true }));

function files(dir: string, contents: Record<string, string>): string {
  mkdirSync(dir, { recursive: true });
  for (const [name, text] of Object.entries(contents)) writeFileSync(join(dir, name), text);
  return dir;
}

describe('certs.d', () => {
  const user = join(root, 'user');
  const etc = join(root, 'etc');
  const docker = join(root, 'docker');
  files(join(user, 'a.io:5000'), { 'ca.crt': CA, 'notes.txt': 'ignored' });
  files(join(etc, 'a.io:5000'), { 'other.crt': CA });
  files(join(etc, 'b.io'), { 'bundle.crt': `${CA}${CA}`, 'client.cert': 'c', 'client.key': 'k' });
  files(join(docker, 'c.io'), { 'ca.crt': CA });
  const roots = [user, etc, docker];

  it('uses the first root with a directory for the host, not a merge', async () => {
    const certs = await findCertificates(roots, 'a.io:5000');
    assert.equal(certs.dir, join(user, 'a.io:5000'));
    assert.deepEqual(certs.cas, [CA]);
    assert.deepEqual(certs.clientCertificates, []);
  });

  it('splits bundles and finds client certificate pairs', async () => {
    const certs = await findCertificates(roots, 'b.io');
    assert.equal(certs.cas.length, 2);
    assert.deepEqual(certs.clientCertificates, [join(etc, 'b.io', 'client.cert')]);
  });

  it('falls through to /etc/docker/certs.d', async () => {
    assert.equal((await findCertificates(roots, 'c.io')).dir, join(docker, 'c.io'));
  });

  it('host and port are part of the name', async () => {
    assert.deepEqual(await findCertificates(roots, 'a.io'), { dir: undefined, cas: [], clientCertificates: [] });
  });

  it('a client certificate needs its key and a key its certificate', async () => {
    const dir = files(join(root, 'pairs', 'x.io'), { 'client.cert': 'c' });
    await assert.rejects(findCertificates([join(root, 'pairs')], 'x.io'), (e: unknown) =>
      isTscError(e) && e.message === `missing key client.key for the client certificate ${join(dir, 'client.cert')}`);
    const lonely = files(join(root, 'keys', 'x.io'), { 'client.key': 'k' });
    await assert.rejects(findCertificates([join(root, 'keys')], 'x.io'), (e: unknown) =>
      isTscError(e) && e.message === `missing client certificate client.cert for the key ${join(lonely, 'client.key')}`);
  });

  it('a .crt without a PEM certificate is an error naming it', async () => {
    const dir = files(join(root, 'der', 'x.io'), { 'ca.crt': 'binary junk' });
    await assert.rejects(findCertificates([join(root, 'der')], 'x.io'), (e: unknown) =>
      isTscError(e) && e.code === 'invalid-content' && e.message === `${join(dir, 'ca.crt')} holds no PEM certificate`);
  });

  it('a certificate directory named by the user must exist', async () => {
    await assert.rejects(readCertificates(join(root, 'nope')), (e: unknown) => isTscError(e) && e.code === 'not-found');
    assert.deepEqual((await readCertificates(join(user, 'a.io:5000'))).cas, [CA]);
  });
});
