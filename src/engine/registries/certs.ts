/**
 * TLS material for one registry from a certs.d directory (containers-certs.d(5)):
 * `<root>/<host[:port]>/*.crt` are CA certificates; `*.cert` with a matching `*.key` are
 * a client certificate. Of the roots (locations.ts) the first that has a directory for the
 * host is used, as containers/image does; unreadable directories are passed over.
 *
 * Client certificates are found and reported, but tsc's registry client cannot present
 * them yet (remote.ts refuses to go on without them rather than fail the handshake
 * obscurely).
 */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { errnoCode, TscError } from '../errors.ts';

export interface RegistryCertificates {
  /** the directory used, or undefined when no root has one for the host */
  dir: string | undefined;
  /** PEM certificates, one per entry (bundles are split) */
  cas: string[];
  /** client certificate files (`*.cert`), each with its `*.key` */
  clientCertificates: string[];
}

const PEM_CERTIFICATE = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;

/** The certificates for `host` (as named in references: `docker.io`, `127.0.0.1:5443`). */
export async function findCertificates(roots: readonly string[], host: string): Promise<RegistryCertificates> {
  for (const root of roots) {
    const dir = join(root, host);
    const names = await listDir(dir);
    if (names !== undefined) return readCertificates(dir, names);
  }
  return { dir: undefined, cas: [], clientCertificates: [] };
}

/**
 * Reads a directory of certificates: a certs.d host directory (with its listing), or a
 * directory named by the user (podman's --cert-dir), which must exist.
 */
export async function readCertificates(dir: string, names?: readonly string[]): Promise<RegistryCertificates> {
  const listed = names ?? (await listDir(dir));
  if (listed === undefined) throw new TscError('not-found', `the certificates directory ${dir} does not exist or cannot be read`);
  const entries = [...listed].sort();
  const cas: string[] = [];
  const clientCertificates: string[] = [];
  for (const name of entries) {
    const path = join(dir, name);
    if (name.endsWith('.crt')) {
      const text = await readText(path);
      if (text === undefined) continue;
      const pems = text.match(PEM_CERTIFICATE);
      if (pems === null) {
        throw new TscError('invalid-content', `${path} holds no PEM certificate`, {
          hint: 'CA certificates in certs.d must be PEM files (-----BEGIN CERTIFICATE-----)',
        });
      }
      cas.push(...pems.map((pem) => `${pem}\n`));
    } else if (name.endsWith('.cert')) {
      const key = `${name.slice(0, -'.cert'.length)}.key`;
      if (!entries.includes(key)) {
        throw new TscError('invalid-content', `missing key ${key} for the client certificate ${path}`, {
          hint: 'CA certificates must end in .crt; a client certificate needs its .key beside it',
        });
      }
      clientCertificates.push(path);
    } else if (name.endsWith('.key')) {
      const cert = `${name.slice(0, -'.key'.length)}.cert`;
      if (!entries.includes(cert)) throw new TscError('invalid-content', `missing client certificate ${cert} for the key ${path}`);
    }
  }
  return { dir, cas, clientCertificates };
}

async function listDir(dir: string): Promise<string[] | undefined> {
  try {
    return await readdir(dir);
  } catch (error) {
    const code = errnoCode(error);
    if (code === 'ENOENT' || code === 'ENOTDIR' || code === 'EACCES' || code === 'EPERM') return undefined;
    throw new TscError('system', `cannot read the certificates directory ${dir}`, { cause: error });
  }
}

async function readText(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8');
  } catch (error) {
    const code = errnoCode(error);
    if (code === 'ENOENT') return undefined;
    throw new TscError('system', `cannot read the certificate ${path}`, { cause: error });
  }
}
