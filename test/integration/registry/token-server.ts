/**
 * A token server in the style of Docker's (GET realm?service=&scope=...), and a gate for
 * FaultProxy that makes the registry behind it demand `Authorization: Bearer` with the
 * right scope, the way token-authenticated registries do.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Gate } from './fault-proxy.ts';

export interface TokenServerOptions {
  /** when set, Basic credentials are checked and required for push */
  user?: { username: string; password: string };
  /** which field carries the token (default `token`) */
  field?: 'token' | 'access_token';
  expiresIn?: number;
}

export interface TokenRequest {
  service: string | null;
  scopes: string[];
  authorization: string | undefined;
}

export const SERVICE = 'tsc-test-registry';

export class TokenServer {
  readonly requests: TokenRequest[] = [];
  readonly #granted = new Map<string, Set<string>>();
  readonly #server: Server;
  readonly #options: TokenServerOptions;
  #issued = 0;

  private constructor(server: Server, options: TokenServerOptions) {
    this.#server = server;
    this.#options = options;
  }

  static async start(options: TokenServerOptions = {}): Promise<TokenServer> {
    const server = createServer();
    const tokens = new TokenServer(server, options);
    server.on('request', (req: IncomingMessage, res: ServerResponse) => {
      const { status, body } = tokens.#issue(req);
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return tokens;
  }

  get realm(): string {
    return `http://127.0.0.1:${(this.#server.address() as AddressInfo).port}/token`;
  }

  /** Forgets every token issued, as if they had been revoked. */
  revokeAll(): void {
    this.#granted.clear();
  }

  /** The gate for a FaultProxy: lets a request through only with a token for its scope. */
  gate(): Gate {
    return (req) => {
      const need = requiredGrant(req);
      const header = req.headers.authorization ?? '';
      const granted = header.startsWith('Bearer ') ? this.#granted.get(header.slice('Bearer '.length)) : undefined;
      if (granted !== undefined && (need === undefined || granted.has(need.grant))) return undefined;
      const scope = need === undefined ? '' : `,scope="${need.scope}"`;
      const error = granted === undefined ? '' : ',error="insufficient_scope"';
      return {
        status: 401,
        headers: { 'www-authenticate': `Bearer realm="${this.realm}",service="${SERVICE}"${scope}${error}`, 'content-type': 'application/json' },
        body: JSON.stringify({ errors: [{ code: 'UNAUTHORIZED', message: 'authentication required' }] }),
      };
    };
  }

  async close(): Promise<void> {
    this.#server.closeAllConnections();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  #issue(req: IncomingMessage): { status: number; body: unknown } {
    const url = new URL(req.url ?? '/', 'http://token');
    const authorization = req.headers.authorization;
    this.requests.push({ service: url.searchParams.get('service'), scopes: url.searchParams.getAll('scope'), authorization });
    const user = this.#options.user;
    let authenticated = false;
    if (authorization !== undefined) {
      const expected = user === undefined ? undefined : `Basic ${Buffer.from(`${user.username}:${user.password}`).toString('base64')}`;
      if (authorization !== expected) return { status: 401, body: { details: 'incorrect username or password' } };
      authenticated = true;
    }
    const grants = new Set<string>();
    for (const scope of url.searchParams.getAll('scope')) {
      const [type, name, actions] = scope.split(':');
      if (type === 'registry') grants.add(scope);
      for (const action of (actions ?? '').split(',')) {
        // anonymous users may only pull, as on public registries
        if (type === 'repository' && (action === 'pull' || authenticated || user === undefined)) grants.add(`${name}:${action}`);
      }
    }
    const token = `tok-${++this.#issued}`;
    this.#granted.set(token, grants);
    return { status: 200, body: { [this.#options.field ?? 'token']: token, expires_in: this.#options.expiresIn ?? 300 } };
  }
}

/** What a request needs, from its path and method: `<name>:pull`, `<name>:push`, the catalog, or nothing (/v2/). */
function requiredGrant(req: IncomingMessage): { grant: string; scope: string } | undefined {
  const path = new URL(req.url ?? '/', 'http://registry').pathname;
  if (path === '/v2/_catalog') return { grant: 'registry:catalog:*', scope: 'registry:catalog:*' };
  const match = /^\/v2\/(.+?)\/(?:manifests|blobs|tags)\//.exec(path);
  if (match === null) return undefined;
  const action = req.method === 'GET' || req.method === 'HEAD' ? 'pull' : 'push';
  return { grant: `${match[1]}:${action}`, scope: `repository:${match[1]}:${action === 'push' ? 'pull,push' : 'pull'}` };
}
