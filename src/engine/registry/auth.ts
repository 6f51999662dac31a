/**
 * Registry authentication, the pure parts: WWW-Authenticate challenges (RFC 7235, with
 * quoted strings that may contain commas and escapes), bearer scopes and token responses
 * (the Docker token protocol, which OCI registries share).
 */
import { TscError } from '../errors.ts';

export interface Challenge {
  /** lower-case auth scheme: `bearer`, `basic`, ... */
  scheme: string;
  /** lower-case parameter names: realm, service, scope, error, ... */
  params: Record<string, string>;
}

export type Action = 'pull' | 'push';

export interface Credentials {
  username: string;
  password: string;
}

export interface Token {
  token: string;
  /** epoch milliseconds after which the token must not be reused */
  expiresAt: number;
}

/** Docker's token spec: tokens live 60 s when `expires_in` is absent, and never less. */
const MIN_TOKEN_LIFETIME_S = 60;
/** Renew this long before expiry, so a token does not run out on the way to the registry. */
const EXPIRY_MARGIN_MS = 5_000;

/**
 * Parses every challenge in a WWW-Authenticate value (several headers arrive joined with
 * ", "). Unknown or malformed parts are skipped rather than fatal: the caller picks the
 * scheme it supports and reports when there is none.
 */
export function parseWwwAuthenticate(value: string | null | undefined): Challenge[] {
  const challenges: Challenge[] = [];
  if (value === null || value === undefined) return challenges;
  const text = value;
  let i = 0;
  let current: Challenge | undefined;
  const isSpace = (c: string | undefined) => c === ' ' || c === '\t';
  const skipSpace = () => {
    while (isSpace(text[i])) i++;
  };
  const readToken = () => {
    const start = i;
    while (i < text.length && !isSpace(text[i]) && text[i] !== ',' && text[i] !== '=' && text[i] !== '"') i++;
    return text.slice(start, i);
  };

  while (i < text.length) {
    while (isSpace(text[i]) || text[i] === ',') i++;
    if (i >= text.length) break;
    const token = readToken();
    if (token === '') {
      i++; // a stray '=' or '"': skip it
      continue;
    }
    skipSpace();
    if (text[i] === '=' && current !== undefined && !isToken68End(text, i)) {
      i++;
      skipSpace();
      const value = text[i] === '"' ? readQuoted() : readToken();
      current.params[token.toLowerCase()] = value;
      continue;
    }
    if (text[i] === '=' && current !== undefined) {
      // token68 (`Zm9v==`): a credential blob, not a parameter; nothing we need
      while (text[i] === '=') i++;
      continue;
    }
    current = { scheme: token.toLowerCase(), params: {} };
    challenges.push(current);
  }
  return challenges;

  function readQuoted(): string {
    i++; // opening quote
    let out = '';
    while (i < text.length && text[i] !== '"') {
      if (text[i] === '\\' && i + 1 < text.length) i++;
      out += text[i];
      i++;
    }
    i++; // closing quote (or end)
    return out;
  }
}

/** Whether the '=' at `at` ends a token68 (only '=' then a separator or the end follow). */
function isToken68End(text: string, at: number): boolean {
  let j = at;
  while (text[j] === '=') j++;
  if (j - at === 1 && j < text.length && text[j] !== ',') return false;
  while (text[j] === ' ' || text[j] === '\t') j++;
  return j >= text.length || text[j] === ',';
}

/** The challenge we can answer, bearer preferred over basic, or undefined. */
export function pickChallenge(challenges: Challenge[]): Challenge | undefined {
  return challenges.find((c) => c.scheme === 'bearer' && c.params.realm !== undefined) ?? challenges.find((c) => c.scheme === 'basic');
}

/** `repository:<name>:pull` or `repository:<name>:pull,push` (push always needs pull too). */
export function repositoryScope(repository: string, action: Action): string {
  return `repository:${repository}:${action === 'push' ? 'pull,push' : 'pull'}`;
}

export const CATALOG_SCOPE = 'registry:catalog:*';

/**
 * The scopes to ask a token for: the request's own plus those a challenge announced that
 * they do not already cover (`repository:a:pull,push` covers `repository:a:pull`).
 */
export function mergeScopes(requested: readonly string[], announced: readonly string[]): string[] {
  const parse = (scope: string) => {
    const first = scope.indexOf(':');
    const last = scope.lastIndexOf(':');
    if (first === -1 || last === first) return undefined;
    return { resource: scope.slice(0, last), actions: scope.slice(last + 1).split(',') };
  };
  const covered = (scope: string) => {
    const want = parse(scope);
    return requested.some((have) => {
      if (have === scope) return true;
      const got = parse(have);
      if (got === undefined || want === undefined || got.resource !== want.resource) return false;
      return got.actions.includes('*') || want.actions.every((a) => got.actions.includes(a));
    });
  };
  const merged = [...requested];
  for (const scope of announced) if (scope !== '' && !covered(scope) && !merged.includes(scope)) merged.push(scope);
  return merged;
}

export function basicAuthorization(credentials: Credentials): string {
  return `Basic ${Buffer.from(`${credentials.username}:${credentials.password}`, 'utf8').toString('base64')}`;
}

/**
 * Reads a token server's JSON answer. Both `token` and `access_token` are accepted (Docker
 * Hub sends both, some servers only one); `now` is when the request was sent.
 */
export function parseTokenResponse(body: string, now: number, registry: string): Token {
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch {
    throw new TscError('remote', `the token server of ${registry} answered with invalid json`);
  }
  const record = typeof json === 'object' && json !== null ? (json as Record<string, unknown>) : {};
  const token = nonEmptyString(record.token) ?? nonEmptyString(record.access_token);
  if (token === undefined) throw new TscError('remote', `the token server of ${registry} answered without a token`);
  const expiresIn = typeof record.expires_in === 'number' && Number.isFinite(record.expires_in) ? record.expires_in : 0;
  const lifetime = Math.max(expiresIn, MIN_TOKEN_LIFETIME_S) * 1000;
  return { token, expiresAt: now + lifetime - Math.min(EXPIRY_MARGIN_MS, lifetime / 10) };
}

function nonEmptyString(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined;
}
