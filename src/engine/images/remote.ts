/**
 * Registry clients configured for this user: credentials from the auth files, the
 * registries configuration (registries.conf: search registries, aliases, locations,
 * mirrors, insecure, blocked) and TLS trust from certs.d — see src/engine/registries.
 *
 * http or https, per endpoint:
 *  - `tlsVerify: false` (podman's --tls-verify=false): plain http, always;
 *  - else what registries.conf says (`insecure = true` -> plain http, `false` -> https);
 *  - else loopback registries (127.0.0.0/8, localhost, [::1]) get plain http, as docker
 *    does, unless certs.d (or certDir) has certificates for them: then https;
 *  - everything else https, trusting the default CAs plus the certs.d CAs of the host.
 * Note that podman's `insecure` also allows https with an unverified certificate; tsc
 * speaks plain http instead.
 */
import { findCredentials } from '../auth/credentials.ts';
import type { EngineContext } from '../context.ts';
import { isTscError, TscError } from '../errors.ts';
import { log } from '../log.ts';
import { formatReference, type ImageReference } from '../reference/reference.ts';
import { RegistryClient, type Credentials } from '../registry/client.ts';
import { VERSION } from '../build-info.ts';
import { findCertificates, readCertificates, type RegistryCertificates } from '../registries/certs.ts';
import { loadRegistriesConfig } from '../registries/load.ts';
import { certsRoots, registriesLocations } from '../registries/locations.ts';
import { findRegistry } from '../registries/match.ts';
import { isLoopbackRegistry } from '../registries/names.ts';
import { resolvePull, type PullCandidate, type PullPlan } from '../registries/resolve.ts';
import type { RegistriesConfig } from '../registries/types.ts';

export { isLoopbackRegistry } from '../registries/names.ts';
export type { PullCandidate, PullPlan } from '../registries/resolve.ts';

export interface RemoteOptions {
  /** false: speak plain http to every registry contacted (podman's --tls-verify=false) */
  tlsVerify?: boolean | undefined;
  /** podman's --cert-dir: a directory of *.crt (and *.cert/*.key) used for every registry instead of certs.d */
  certDir?: string | undefined;
}

export interface ClientOptions extends RemoteOptions {
  /** credentials to send instead of those in the auth files (tsc login checks new ones) */
  credentials?: ((registry: string) => Credentials | undefined | Promise<Credentials | undefined>) | undefined;
}

/**
 * A client for `registry` by the built-in rules only (tlsVerify, loopback), without
 * reading registries.conf or certs.d. Prefer openRegistryClient.
 */
export function registryClient(ctx: EngineContext, registry: string, options: ClientOptions = {}): RegistryClient {
  return new RegistryClient(registry, {
    insecure: options.tlsVerify === false || isLoopbackRegistry(registry),
    credentials: options.credentials ?? ((host) => findCredentials(ctx.authFiles.read, host)),
    userAgent: `tsc/${VERSION}`,
  });
}

/** This user's registries configuration (all files merged). */
export function loadRegistries(ctx: EngineContext): Promise<RegistriesConfig> {
  return loadRegistriesConfig(registriesLocations(ctx.who));
}

/**
 * A client for one registry, or one repository in it (push, login, search): its
 * registries.conf table decides insecure and blocked (mirrors and locations apply only to
 * pulls, as in podman), certs.d adds CAs. `target` is `host[:port]` or a reference.
 */
export async function openRegistryClient(ctx: EngineContext, target: string | ImageReference, options: ClientOptions = {}): Promise<RegistryClient> {
  const ref = typeof target === 'string' ? undefined : target;
  const registry = ref?.registry ?? (target as string);
  const name = ref === undefined ? registry : `${ref.registry}/${ref.repository}`;
  const entry = findRegistry(await loadRegistries(ctx), name);
  if (entry?.blocked) {
    const where = entry.origin.line === undefined ? entry.origin.file : `${entry.origin.file}:${entry.origin.line}`;
    throw new TscError('invalid-argument', `${name} is blocked by the registry "${entry.prefix}" in ${where}`, {
      hint: 'remove "blocked = true" from that [[registry]] table if the registry is allowed',
    });
  }
  const insecureFrom = entry?.insecure !== undefined ? 'registries.conf' : isLoopbackRegistry(registry) ? 'loopback' : 'default';
  const insecure = entry?.insecure ?? isLoopbackRegistry(registry);
  return endpointClient(ctx, { endpoint: registry, insecure, insecureFrom, repository: ref?.repository }, options);
}

/** Resolves `text` against the registries configuration (see registries/resolve.ts). */
export async function pullPlan(ctx: EngineContext, text: string): Promise<PullPlan> {
  return resolvePull(text, await loadRegistries(ctx));
}

export interface PullSource<T> {
  /** what `attempt` returned for the first candidate that worked */
  value: T;
  /** its client, open: the caller closes it */
  client: RegistryClient;
  candidate: PullCandidate;
  plan: PullPlan;
}

/**
 * Tries the candidates for `text` in order (mirrors, then locations; each search registry
 * in turn) until `attempt` succeeds on one. A candidate that does not have the image or
 * cannot be reached (errors 'not-found' and 'remote') passes to the next; any other error
 * stops. When all fail, the error names each one tried.
 */
export async function openPullSource<T>(
  ctx: EngineContext,
  text: string,
  options: RemoteOptions,
  attempt: (client: RegistryClient, reference: ImageReference) => Promise<T>,
): Promise<PullSource<T>> {
  const plan = await pullPlan(ctx, text);
  if (plan.resolvedBy === 'alias') log.info(`resolved "${text}" as an alias (${plan.origin?.file ?? ''})`);
  if (plan.resolvedBy === 'search') log.info(`resolving "${text}" using unqualified-search registries (${plan.origin?.file ?? ''})`);
  const failures: { candidate: PullCandidate; error: TscError }[] = [];
  for (const candidate of plan.candidates) {
    const shown = `${formatReference(candidate.reference)}${candidate.mirror ? ' (mirror)' : ''}`;
    log.info(`trying to pull ${shown}`);
    let client: RegistryClient | undefined;
    try {
      client = await endpointClient(ctx, { ...candidate, repository: candidate.reference.repository }, options);
      const value = await attempt(client, candidate.reference);
      return { value, client, candidate, plan };
    } catch (error) {
      await client?.close();
      const explained = explainTls(ctx, candidate.endpoint, options, error);
      if (!isTscError(explained) || (explained.code !== 'not-found' && explained.code !== 'remote')) throw explained;
      log.info(`pulling ${shown} failed: ${explained.message}`);
      failures.push({ candidate, error: explained });
    }
  }
  if (failures.length === 1) throw failures[0]!.error;
  const last = failures[failures.length - 1]!.error;
  const each = failures.map((f) => `${formatReference(f.candidate.reference)}${f.candidate.mirror ? ' (mirror)' : ''}: ${f.error.message}`);
  const code = failures.every((f) => f.error.code === 'not-found') ? 'not-found' : 'remote';
  throw new TscError(code, `cannot pull ${text} from any of ${failures.length} sources: ${each.join('; ')}`, { hint: last.hint, cause: last });
}

interface Endpoint {
  endpoint: string;
  insecure: boolean;
  insecureFrom: PullCandidate['insecureFrom'];
  /** for the credentials lookup (auth.json keys may name a repository) */
  repository?: string | undefined;
}

async function endpointClient(ctx: EngineContext, target: Endpoint, options: ClientOptions): Promise<RegistryClient> {
  let insecure = options.tlsVerify === false || target.insecure;
  let cas: string[] = [];
  if (options.tlsVerify !== false && (!insecure || target.insecureFrom === 'loopback')) {
    const certs = await certificates(ctx, target.endpoint, options);
    const has = certs.cas.length + certs.clientCertificates.length > 0;
    if (target.insecureFrom === 'loopback' && has) insecure = false;
    if (!insecure) {
      if (certs.clientCertificates.length > 0) {
        throw new TscError('unsupported', `client certificates are not supported yet: ${certs.clientCertificates.join(', ')} (for ${target.endpoint})`, {
          hint: `remove the .cert/.key pair from ${certs.dir} if the registry does not require it`,
        });
      }
      cas = certs.cas;
    }
  }
  const repository = target.repository;
  return new RegistryClient(target.endpoint, {
    insecure,
    caCertificates: cas,
    credentials: options.credentials ?? ((host) => findCredentials(ctx.authFiles.read, host, repository)),
    userAgent: `tsc/${VERSION}`,
  });
}

function certificates(ctx: EngineContext, endpoint: string, options: RemoteOptions): Promise<RegistryCertificates> {
  if (options.certDir !== undefined && options.certDir !== '') return readCertificates(options.certDir);
  return findCertificates(certsRoots(ctx.who), endpoint);
}

/** A certificate failure gets a hint naming the certs.d directory to put the CA in. */
function explainTls(ctx: EngineContext, endpoint: string, options: RemoteOptions, error: unknown): unknown {
  if (!isTscError(error) || error.code !== 'remote' || !error.message.includes('certificate not trusted')) return error;
  const roots = certsRoots(ctx.who);
  const dir = options.certDir || `${(ctx.who.uid === 0 && roots.length > 1 ? roots[1] : roots[0])!}/${endpoint}`;
  return new TscError('remote', error.message, {
    hint: `put the CA certificate of ${endpoint} in ${dir}/ca.crt (see containers-certs.d(5))`,
    cause: error,
  });
}

