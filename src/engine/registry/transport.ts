/**
 * One HTTP exchange with a registry, made robust: bounded retries with exponential
 * backoff and jitter on 5xx, 429 (honouring Retry-After) and transient network errors,
 * and redirects followed by hand so that the Authorization header only ever goes to the
 * origin it was issued for (blob downloads usually redirect to a storage host).
 */
import { setTimeout as delay } from 'node:timers/promises';
import { TscError } from '../errors.ts';
import { log } from '../log.ts';

export type Sleep = (ms: number, signal?: AbortSignal) => Promise<void>;
export type Dispatcher = RequestInit['dispatcher'];
/** A request body that can be produced again for a retry or a redirect. */
export type BodyFactory = () => Uint8Array | string | AsyncIterable<Uint8Array>;

export interface RetryPolicy {
  /** total tries, the first included */
  maxAttempts: number;
  sleep: Sleep;
  /** a Retry-After longer than this is not waited for: the response is returned as is */
  maxRetryAfterMs: number;
  random: () => number;
  now: () => number;
}

export interface SendOptions {
  method: string;
  /** lower-case names */
  headers: Record<string, string>;
  body?: BodyFactory | undefined;
  /** sent only to `authOrigin`, never to a host a redirect leads to */
  authorization?: string | undefined;
  authOrigin: string;
  retry: boolean;
  policy: RetryPolicy;
  dispatcher?: Dispatcher;
  signal?: AbortSignal | undefined;
  /** who we are talking to, for messages: `registry 127.0.0.1:5000` */
  peer: string;
}

export const defaultSleep: Sleep = (ms, signal) => delay(ms, undefined, signal === undefined ? undefined : { signal });

const MAX_REDIRECTS = 10;
const BACKOFF_BASE_MS = 500;
const BACKOFF_CAP_MS = 15_000;
const REDIRECTS = new Set([301, 302, 303, 307, 308]);
/** Errors where the connection broke or timed out and trying again may well succeed. */
const TRANSIENT_CODES = new Set([
  'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'ECONNABORTED', 'EAI_AGAIN', 'ENETUNREACH', 'EHOSTUNREACH', 'ENETDOWN',
  'UND_ERR_SOCKET', 'UND_ERR_CLOSED', 'UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT',
]);

/** Sends one request: follows redirects, retries what is worth retrying, returns the final response. */
export async function send(url: URL, options: SendOptions): Promise<Response> {
  const { policy } = options;
  for (let attempt = 1; ; attempt++) {
    const last = !options.retry || attempt >= policy.maxAttempts;
    let response: Response;
    try {
      response = await followRedirects(url, options);
    } catch (error) {
      if (options.signal?.aborted === true) throw error;
      if (last || !isTransientNetworkError(error)) throw networkError(error, options.peer, url, attempt);
      const wait = backoffDelay(attempt, policy.random);
      log.debug(`retrying ${options.method} ${url.host}${url.pathname} after ${networkCode(error) ?? 'a network error'} (attempt ${attempt + 1} of ${policy.maxAttempts}, in ${wait} ms)`);
      await policy.sleep(wait, options.signal);
      continue;
    }
    if (last || !isRetryableStatus(response.status)) return response;
    let wait = backoffDelay(attempt, policy.random);
    const retryAfter = parseRetryAfter(response.headers.get('retry-after'), policy.now());
    if (retryAfter !== undefined) {
      if (retryAfter > policy.maxRetryAfterMs) return response;
      wait = Math.max(retryAfter, 0);
    }
    await discard(response);
    log.debug(`retrying ${options.method} ${url.host}${url.pathname} after ${response.status} (attempt ${attempt + 1} of ${policy.maxAttempts}, in ${wait} ms)`);
    await policy.sleep(wait, options.signal);
  }
}

async function followRedirects(start: URL, options: SendOptions): Promise<Response> {
  let url = start;
  let method = options.method;
  let body = options.body;
  const baseHeaders: Record<string, string> = { ...options.headers };
  for (let hop = 0; ; hop++) {
    const headers: Record<string, string> = { ...baseHeaders };
    if (options.authorization !== undefined && url.origin === options.authOrigin) headers.authorization = options.authorization;
    const payload = body?.();
    const init: RequestInit = { method, headers, redirect: 'manual', signal: options.signal ?? null };
    if (payload !== undefined) {
      init.body = payload as RequestInit['body'];
      if (typeof payload === 'object' && Symbol.asyncIterator in payload) init.duplex = 'half';
    }
    if (options.dispatcher !== undefined) init.dispatcher = options.dispatcher;
    const response = await fetch(url, init);
    const location = response.headers.get('location');
    if (!REDIRECTS.has(response.status) || location === null) return response;
    await discard(response);
    if (hop >= MAX_REDIRECTS) {
      throw new TscError('remote', `too many redirects from ${options.peer} for ${start.pathname}`);
    }
    url = new URL(location, url);
    if (url.protocol !== 'https:' && url.protocol !== 'http:') {
      throw new TscError('remote', `${options.peer} redirected ${start.pathname} to an unsupported ${url.protocol} url`);
    }
    if (response.status === 303 || ((response.status === 301 || response.status === 302) && method === 'POST')) {
      method = method === 'HEAD' ? 'HEAD' : 'GET';
      body = undefined;
      delete baseHeaders['content-type'];
      delete baseHeaders['content-length'];
    }
  }
}

/** 5xx except 501 (not implemented will not change), 429, and 408 request timeout. */
export function isRetryableStatus(status: number): boolean {
  return (status >= 500 && status !== 501 && status !== 505) || status === 429 || status === 408;
}

/**
 * Milliseconds to wait before try number `attempt + 1`: exponential from 500 ms, capped,
 * with "equal jitter" (half fixed, half random) so that parallel downloads spread out.
 */
export function backoffDelay(attempt: number, random: () => number = Math.random): number {
  const ceiling = Math.min(BACKOFF_CAP_MS, BACKOFF_BASE_MS * 2 ** Math.max(0, attempt - 1));
  return Math.round(ceiling / 2 + (ceiling / 2) * random());
}

/**
 * Retry-After as milliseconds from `now`: delta seconds or an HTTP date. Undefined when
 * absent or unreadable; a date in the past gives 0.
 */
export function parseRetryAfter(value: string | null | undefined, now: number): number | undefined {
  if (value === null || value === undefined) return undefined;
  const text = value.trim();
  if (/^\d+$/.test(text)) return Number(text) * 1000;
  if (!/[a-z]/i.test(text)) return undefined;
  const when = Date.parse(text);
  return Number.isNaN(when) ? undefined : Math.max(0, when - now);
}

/** The first errno-like code in an error's cause chain (fetch wraps them in TypeError). */
export function networkCode(error: unknown): string | undefined {
  const seen = new Set<unknown>();
  const queue: unknown[] = [error];
  while (queue.length > 0) {
    const item = queue.shift();
    if (typeof item !== 'object' || item === null || seen.has(item)) continue;
    seen.add(item);
    const { code, cause, errors } = item as { code?: unknown; cause?: unknown; errors?: unknown };
    if (typeof code === 'string') return code;
    queue.push(cause);
    if (Array.isArray(errors)) queue.push(...(errors as unknown[]));
  }
  return undefined;
}

export function isTransientNetworkError(error: unknown): boolean {
  if (error instanceof TscError) return false;
  const code = networkCode(error);
  if (code !== undefined) return TRANSIENT_CODES.has(code);
  return error instanceof TypeError && error.message === 'terminated';
}

function networkError(error: unknown, peer: string, url: URL, attempts: number): Error {
  if (error instanceof TscError) return error;
  const code = networkCode(error);
  const detail = code === undefined
    ? (error instanceof Error ? (error.cause instanceof Error ? error.cause.message : error.message) : String(error)).toLowerCase()
    : describeCode(code);
  const tries = attempts > 1 ? ` after ${attempts} attempts` : '';
  let hint = `check that ${url.host} is reachable`;
  if (code === 'ECONNREFUSED') hint = `is a registry listening on ${url.host}?`;
  else if (code !== undefined && (code.startsWith('ERR_SSL') || code === 'EPROTO')) {
    hint = `if ${url.host} serves plain http, configure it as an insecure registry`;
  } else if (code !== undefined && (code.includes('CERT') || code.includes('SELF_SIGNED'))) {
    hint = `add the registry's CA certificate for ${url.host}`;
  } else if (detail === 'bad port') hint = `fetch refuses port ${url.port}; run the registry on another port`;
  return new TscError('remote', `cannot reach ${peer} at ${url.protocol}//${url.host}: ${detail}${tries}`, { hint, cause: error });
}

/** `connection refused (ECONNREFUSED)` for codes worth putting in words, else the code. */
function describeCode(code: string): string {
  const words: Record<string, string> = {
    ECONNREFUSED: 'connection refused',
    ECONNRESET: 'connection reset',
    ETIMEDOUT: 'timed out',
    ENOTFOUND: 'host not found',
    EAI_AGAIN: 'name lookup failed',
    UND_ERR_SOCKET: 'connection closed',
    UND_ERR_CONNECT_TIMEOUT: 'connect timed out',
    UND_ERR_HEADERS_TIMEOUT: 'no answer in time',
  };
  let phrase = words[code];
  if (code.startsWith('ERR_SSL') || code === 'EPROTO') phrase = 'tls handshake failed';
  else if (code.includes('CERT') || code.includes('SELF_SIGNED')) phrase = 'certificate not trusted';
  return phrase === undefined ? code : `${phrase} (${code})`;
}

/** Drops a response body we do not read, so its connection can be reused. */
export async function discard(response: Response): Promise<void> {
  try {
    await response.body?.cancel();
  } catch {
    // the connection is gone anyway
  }
}
