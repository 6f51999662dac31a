/**
 * A client for one registry host (the distribution spec's /v2/ API). It owns what is
 * per host: the scheme (https, or plain http only for hosts configured insecure), extra
 * CA certificates, the auth challenge the registry announced, and bearer tokens cached
 * per scope until they expire. Requests retry and follow redirects through transport.ts.
 *
 * Lifecycle: create one per registry and operation (a pull, a push), share it between
 * parallel requests, `close()` it at the end (it may own a connection pool).
 */
import { VERSION } from '../build-info.ts';
import { TscError } from '../errors.ts';
import {
  basicAuthorization,
  mergeScopes,
  parseTokenResponse,
  parseWwwAuthenticate,
  pickChallenge,
  type Challenge,
  type Credentials,
  type Token,
} from './auth.ts';
import { readLimited, responseError } from './errors.ts';
import { caDispatcher, type CaDispatcher } from './tls.ts';
import { backoffDelay, defaultSleep, discard, send, type BodyFactory, type RetryPolicy, type Sleep } from './transport.ts';

export { CATALOG_SCOPE, repositoryScope, type Action, type Credentials } from './auth.ts';

export interface RegistryClientOptions {
  /** speak plain http to this host; without it only https is used */
  insecure?: boolean;
  /** PEM certificates trusted for this host in addition to the default CAs */
  caCertificates?: readonly string[];
  /** credentials for a registry (as named in image references), or undefined for anonymous */
  credentials?: (registry: string) => Credentials | undefined | Promise<Credentials | undefined>;
  /** tries per request, the first included (default 4) */
  maxAttempts?: number;
  /** longest Retry-After we wait for (default 60 s); a longer one fails the request */
  maxRetryAfterMs?: number;
  /** injectable for tests */
  sleep?: Sleep;
  now?: () => number;
  random?: () => number;
  userAgent?: string;
}

export interface RegistryRequest {
  method?: string;
  /** a path such as `/v2/<name>/tags/list`, or a URL the registry handed out (upload Location) */
  path: string;
  /** bearer scopes the request needs (`repositoryScope(name, 'pull')`); [] for none */
  scopes: readonly string[];
  headers?: Record<string, string>;
  body?: BodyFactory;
  /** false for requests that must not be repeated blindly (a PATCH of upload data) */
  retry?: boolean;
  signal?: AbortSignal | undefined;
}

export interface PingResult {
  /** 200 when the registry answers anonymously, 401 when it wants authentication */
  status: number;
  /** the Docker-Distribution-API-Version header, e.g. `registry/2.0` */
  apiVersion: string | undefined;
  challenge: Challenge | undefined;
}

/** Docker Hub's registry API lives on another host than its name in references. */
const ENDPOINTS: Readonly<Record<string, string>> = { 'docker.io': 'registry-1.docker.io' };
const TOKEN_BODY_LIMIT = 1024 * 1024;

export class RegistryClient {
  /** the registry as named in image references, e.g. `docker.io`, `127.0.0.1:5000` */
  readonly registry: string;
  /** `https://host[:port]` (or http:// when insecure) */
  readonly base: URL;
  readonly #options: RegistryClientOptions;
  readonly #policy: RetryPolicy;
  readonly #tls: CaDispatcher | undefined;
  #challenge: Challenge | undefined;
  readonly #tokens = new Map<string, Promise<Token>>();

  constructor(registry: string, options: RegistryClientOptions = {}) {
    this.registry = registry;
    this.#options = options;
    const scheme = options.insecure === true ? 'http' : 'https';
    this.base = new URL(`${scheme}://${ENDPOINTS[registry] ?? registry}`);
    this.#policy = {
      maxAttempts: Math.max(1, options.maxAttempts ?? 4),
      sleep: options.sleep ?? defaultSleep,
      maxRetryAfterMs: options.maxRetryAfterMs ?? 60_000,
      random: options.random ?? Math.random,
      now: options.now ?? Date.now,
    };
    const cas = options.caCertificates ?? [];
    this.#tls = cas.length > 0 && options.insecure !== true ? caDispatcher(registry, cas) : undefined;
  }

  /** `registry/repository`, for messages. */
  describe(repository: string): string {
    return `${this.registry}/${repository}`;
  }

  /**
   * GET /v2/ without credentials: tells whether this is a v2 registry and which auth it
   * wants. The challenge is remembered, so the next request authenticates up front.
   */
  async ping(signal?: AbortSignal): Promise<PingResult> {
    const response = await this.#send(new URL('/v2/', this.base), { path: '/v2/', scopes: [], signal }, undefined);
    const apiVersion = response.headers.get('docker-distribution-api-version') ?? undefined;
    if (response.status === 200) {
      await discard(response);
      return { status: 200, apiVersion, challenge: undefined };
    }
    if (response.status === 401) {
      await discard(response);
      const challenge = pickChallenge(parseWwwAuthenticate(response.headers.get('www-authenticate')));
      if (challenge !== undefined) this.#challenge = challenge;
      return { status: 401, apiVersion, challenge };
    }
    if (response.status === 404) {
      await discard(response);
      throw new TscError('unsupported', `${this.registry} does not serve the registry v2 api (/v2/ answered 404)`);
    }
    throw await responseError(response, `ping of ${this.registry}`, this.registry);
  }

  /**
   * Sends a request with authentication: credentials (Basic) or a token for
   * `scopes` (Bearer) once the registry has asked for them, then, on a 401, once more with
   * fresh ones. Returns the final response whatever its status; the caller checks it.
   */
  async request(request: RegistryRequest): Promise<Response> {
    const url = new URL(request.path, this.base);
    const sent = await this.#authorization(request.scopes, []);
    const response = await this.#send(url, request, sent);
    if (response.status !== 401) return response;
    const challenge = pickChallenge(parseWwwAuthenticate(response.headers.get('www-authenticate')));
    if (challenge === undefined) return response;
    // The registry asked again although we may have sent a token: it may have expired or
    // been revoked early, or lacked a scope the challenge now names. Start afresh, once.
    this.#challenge = challenge;
    await this.#forgetToken(request.scopes, sent);
    const extra = challenge.params.scope === undefined ? [] : challenge.params.scope.split(' ');
    const retry = await this.#authorization(request.scopes, extra);
    if (retry === undefined || (challenge.scheme === 'basic' && retry === sent)) return response;
    await discard(response);
    return this.#send(url, request, retry);
  }

  /** Waits before try `attempt + 1` of something the caller repeats itself (a resumed download). */
  backoff(attempt: number, signal?: AbortSignal): Promise<void> {
    return this.#policy.sleep(backoffDelay(attempt, this.#policy.random), signal);
  }

  /** Releases the connection pool of a client with extra CA certificates. */
  async close(): Promise<void> {
    await this.#tls?.close();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  #send(url: URL, request: RegistryRequest, authorization: string | undefined): Promise<Response> {
    const headers: Record<string, string> = { 'user-agent': this.#options.userAgent ?? `tsc/${VERSION}` };
    for (const [name, value] of Object.entries(request.headers ?? {})) headers[name.toLowerCase()] = value;
    return send(url, {
      method: request.method ?? 'GET',
      headers,
      body: request.body,
      authorization,
      authOrigin: this.base.origin,
      retry: request.retry ?? true,
      policy: this.#policy,
      dispatcher: this.#tls?.dispatcher,
      signal: request.signal,
      peer: `registry ${this.registry}`,
    });
  }

  async #authorization(scopes: readonly string[], extraScopes: readonly string[]): Promise<string | undefined> {
    const challenge = this.#challenge;
    if (challenge === undefined) return undefined;
    if (challenge.scheme === 'basic') {
      const credentials = await this.#credentials();
      return credentials === undefined ? undefined : basicAuthorization(credentials);
    }
    if (challenge.scheme !== 'bearer') return undefined;
    const key = scopeKey(scopes);
    const cached = this.#tokens.get(key);
    if (cached !== undefined) {
      const token = await cached.catch(() => undefined);
      if (token !== undefined && token.expiresAt > this.#policy.now()) return `Bearer ${token.token}`;
    }
    const pending = this.#fetchToken(challenge, mergeScopes(scopes, extraScopes));
    this.#tokens.set(key, pending);
    try {
      return `Bearer ${(await pending).token}`;
    } catch (error) {
      if (this.#tokens.get(key) === pending) this.#tokens.delete(key);
      throw error;
    }
  }

  /**
   * Drops the cached token for `scopes` if it is the one that was just refused. A request
   * that went out without one leaves the cache alone: parallel first requests then share
   * the one token fetch.
   */
  async #forgetToken(scopes: readonly string[], sent: string | undefined): Promise<void> {
    const key = scopeKey(scopes);
    const cached = this.#tokens.get(key);
    if (sent === undefined || cached === undefined) return;
    const token = await cached.catch(() => undefined);
    if (token === undefined || `Bearer ${token.token}` === sent) {
      if (this.#tokens.get(key) === cached) this.#tokens.delete(key);
    }
  }

  async #fetchToken(challenge: Challenge, scopes: readonly string[]): Promise<Token> {
    let realm: URL;
    try {
      realm = new URL(challenge.params.realm ?? '');
    } catch {
      throw new TscError('remote', `${this.registry} announced an invalid token realm`);
    }
    if (realm.protocol !== 'https:' && realm.protocol !== 'http:') {
      throw new TscError('remote', `${this.registry} announced a token realm with the unsupported scheme ${realm.protocol}`);
    }
    const credentials = await this.#credentials();
    if (credentials !== undefined && realm.protocol === 'http:' && this.#options.insecure !== true) {
      throw new TscError('remote', `refusing to send credentials for ${this.registry} to the plain-http token server ${realm.host}`, {
        hint: 'configure the registry as insecure if plain http is really intended',
      });
    }
    if (challenge.params.service !== undefined) realm.searchParams.set('service', challenge.params.service);
    for (const scope of scopes) realm.searchParams.append('scope', scope);
    const started = this.#policy.now();
    const response = await send(realm, {
      method: 'GET',
      headers: { 'user-agent': this.#options.userAgent ?? `tsc/${VERSION}`, accept: 'application/json' },
      authorization: credentials === undefined ? undefined : basicAuthorization(credentials),
      authOrigin: realm.origin,
      retry: true,
      policy: this.#policy,
      dispatcher: this.#tls?.dispatcher,
      peer: `the token server of ${this.registry}`,
    });
    if (response.status !== 200) {
      const what = credentials === undefined ? 'an anonymous token' : 'a token with the configured credentials';
      throw await responseError(response, `cannot get ${what} for ${this.registry} from ${realm.host}`, realm.host);
    }
    const body = await readLimited(response, TOKEN_BODY_LIMIT, `the token from ${realm.host}`);
    return parseTokenResponse(new TextDecoder().decode(body), started, this.registry);
  }

  async #credentials(): Promise<Credentials | undefined> {
    return this.#options.credentials?.(this.registry);
  }
}

function scopeKey(scopes: readonly string[]): string {
  return [...scopes].sort().join(' ');
}
