/**
 * `tsc login` / `tsc logout`: check the credentials against the registry (an
 * authenticated request to /v2/, through a token service when the registry uses one),
 * and only then store them; logout removes them from tsc's auth file.
 */
import type { EngineContext } from '../context.ts';
import { TscError } from '../errors.ts';
import { openRegistryClient, type RemoteOptions } from '../images/remote.ts';
import { parseReference } from '../reference/reference.ts';
import { storeCredentials, type Credentials } from './credentials.ts';

export interface LoginOptions extends RemoteOptions {
  registry: string;
  username: string;
  password: string;
}

/** The registry host a login argument names (`docker.io` when empty, as docker does). */
export function registryHost(text: string | undefined): string {
  if (!text) return 'docker.io';
  const stripped = text.replace(/^https?:\/\//, '').replace(/\/+$/, '');
  if (stripped === 'index.docker.io' || stripped === 'registry-1.docker.io') return 'docker.io';
  return parseReference(`${stripped}/x`).registry;
}

export async function login(ctx: EngineContext, options: LoginOptions): Promise<{ registry: string; file: string }> {
  const registry = registryHost(options.registry);
  if (options.username === '') throw new TscError('invalid-argument', 'the username is empty');
  const credentials: Credentials = { username: options.username, password: options.password };
  // check these credentials, not whatever the auth files hold
  const checking = await openRegistryClient(ctx, registry, { ...options, credentials: () => credentials });
  try {
    const response = await checking.request({ method: 'GET', path: '/v2/', scopes: [] });
    await response.body?.cancel();
    if (response.status === 401 || response.status === 403) {
      throw new TscError('remote', `login to ${registry} failed: the registry refused the credentials of ${options.username}`, {
        hint: 'check the username and password',
      });
    }
    if (!response.ok) throw new TscError('remote', `login to ${registry} failed: /v2/ answered ${response.status}`);
  } finally {
    await checking.close();
  }
  await storeCredentials(ctx.authFiles.write, registry, credentials);
  return { registry, file: ctx.authFiles.write };
}

export async function logout(ctx: EngineContext, registryText: string | undefined): Promise<{ registry: string; removed: boolean }> {
  const registry = registryHost(registryText);
  const removed = await storeCredentials(ctx.authFiles.write, registry, undefined);
  return { registry, removed };
}
