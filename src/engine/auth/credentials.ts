/**
 * Registry credentials, kept the way the containers tools and docker keep them, so a
 * login with podman, skopeo or docker works for tsc and a `tsc login` works for them:
 *
 *  - written by `tsc login` to $REGISTRY_AUTH_FILE, else $XDG_RUNTIME_DIR/containers/auth.json
 *    (podman's default; root: /run/containers/0/auth.json), mode 0600, atomically;
 *  - read from that file, then ~/.config/containers/auth.json, then ~/.docker/config.json
 *    ($DOCKER_CONFIG/config.json), first match wins.
 *
 * The format is `{"auths": {"<host>[/<path>]": {"auth": base64("user:password")}}}`. A key
 * may name a host or a host plus repository path; the longest key that prefixes the
 * repository wins, as in containers-auth.json(5). Credential helpers (credsStore) are not
 * supported: a file that only names one gets a clear error.
 */
import { randomUUID } from 'node:crypto';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { errnoCode, TscError } from '../errors.ts';
import type { Identity } from '../sys/identity.ts';

export interface Credentials {
  username: string;
  password: string;
}

interface AuthFile {
  auths?: Record<string, { auth?: string; username?: string; password?: string; identitytoken?: string }>;
  credsStore?: string;
  credHelpers?: Record<string, string>;
  [other: string]: unknown;
}

/** The file `tsc login` writes, and the files read, in order. */
export function authFiles(who: Identity): { write: string; read: string[] } {
  const env = who.env;
  const write =
    env.REGISTRY_AUTH_FILE ||
    (who.uid === 0 ? '/run/containers/0/auth.json' : join(env.XDG_RUNTIME_DIR || `/tmp/tsc-run-${who.uid}`, 'containers', 'auth.json'));
  const read = [
    write,
    join(env.XDG_CONFIG_HOME || join(who.home, '.config'), 'containers', 'auth.json'),
    join(env.DOCKER_CONFIG || join(who.home, '.docker'), 'config.json'),
  ];
  return { write, read: [...new Set(read)] };
}

/** Docker Hub's legacy key in docker's config.json. */
const DOCKER_HUB_KEYS = ['docker.io', 'https://index.docker.io/v1/', 'index.docker.io', 'registry-1.docker.io'];

/**
 * The credentials for `registry` (and optionally `repository` within it) from the first
 * file that has any, or undefined.
 */
export async function findCredentials(files: readonly string[], registry: string, repository?: string): Promise<Credentials | undefined> {
  for (const file of files) {
    const auth = await readAuthFile(file);
    if (!auth) continue;
    const found = lookup(auth, registry, repository, file);
    if (found) return found;
  }
  return undefined;
}

export function lookup(auth: AuthFile, registry: string, repository: string | undefined, file: string): Credentials | undefined {
  const entries = Object.entries(auth.auths ?? {}).map(([key, value]) => [normaliseKey(key), value] as const);
  const wanted = repository ? `${registry}/${repository}` : registry;
  const hubAliases = registry === 'docker.io' ? DOCKER_HUB_KEYS.map(normaliseKey) : [];
  let best: { key: string; value: (typeof entries)[number][1] } | undefined;
  for (const [key, value] of entries) {
    const matches = key === registry || wanted === key || wanted.startsWith(`${key}/`) || hubAliases.includes(key);
    if (matches && (!best || key.length > best.key.length)) best = { key, value };
  }
  if (!best) {
    if (auth.credsStore || auth.credHelpers?.[registry]) {
      throw new TscError('unsupported', `${file} keeps the credentials for ${registry} in a credential helper, which tsc does not support yet`, {
        hint: `log in with tsc login ${registry}`,
      });
    }
    return undefined;
  }
  const { value } = best;
  if (value.username !== undefined && value.password !== undefined) return { username: value.username, password: value.password };
  if (!value.auth) return undefined;
  const decoded = Buffer.from(value.auth, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) throw new TscError('invalid-content', `the credentials for ${best.key} in ${file} are malformed (no ':' in auth)`);
  return { username: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}

/** `https://host/v1/` and `host` name the same registry. */
function normaliseKey(key: string): string {
  return key.replace(/^https?:\/\//, '').replace(/\/v[12]\/?$/, '').replace(/\/$/, '');
}

async function readAuthFile(file: string): Promise<AuthFile | undefined> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    const code = errnoCode(error);
    if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
    throw new TscError('system', `cannot read ${file}`, { cause: error });
  }
  try {
    const value = JSON.parse(text) as unknown;
    if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new Error('not an object');
    return value as AuthFile;
  } catch (error) {
    throw new TscError('invalid-content', `${file} is not valid JSON: ${(error as Error).message}`, { hint: 'fix or remove the file' });
  }
}

/** Stores (or with `credentials` undefined, removes) the entry for `key`. Returns whether one existed. */
export async function storeCredentials(file: string, key: string, credentials: Credentials | undefined): Promise<boolean> {
  const auth = (await readAuthFile(file)) ?? {};
  const auths = { ...(auth.auths ?? {}) };
  const existed = key in auths;
  if (credentials) auths[key] = { auth: Buffer.from(`${credentials.username}:${credentials.password}`).toString('base64') };
  else delete auths[key];
  await mkdir(dirname(file), { recursive: true, mode: 0o700 });
  const temp = `${file}.${randomUUID()}.tmp`;
  try {
    await writeFile(temp, `${JSON.stringify({ ...auth, auths }, null, '\t')}\n`, { mode: 0o600, flush: true });
    await rename(temp, file);
  } catch (error) {
    await rm(temp, { force: true });
    throw new TscError('system', `cannot write ${file}`, { cause: error });
  }
  return existed;
}
