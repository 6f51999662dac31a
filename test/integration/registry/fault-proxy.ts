/**
 * A small HTTP proxy in front of the real registry that records every request and, for
 * the requests a fault matches, misbehaves: answers with its own status, resets the
 * connection, cuts a body short, flips a byte, ignores Range, or redirects elsewhere.
 * An optional gate answers requests before they are forwarded (an auth front end).
 */
import { request as httpRequest, createServer, type IncomingHttpHeaders, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export type FaultAction =
  | { status: number; headers?: Record<string, string>; body?: string }
  | { reset: true }
  | { truncateAfter: number }
  | { corruptByte: number }
  | { stripRange: true }
  /** forward the request, then break the connection instead of answering */
  | { dropResponse: true }
  | { redirectTo: string };

export interface Fault {
  method?: string;
  path: RegExp;
  /** how many matching requests it affects (default 1) */
  times?: number;
  /** how many matching requests pass untouched first */
  skip?: number;
  action: FaultAction;
}

export interface Recorded {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  /** the fault applied, if any */
  fault?: FaultAction;
}

export type Gate = (req: IncomingMessage) => { status: number; headers?: Record<string, string>; body?: string } | undefined;

export class FaultProxy {
  readonly requests: Recorded[] = [];
  readonly #faults: Fault[] = [];
  readonly #server: Server;
  readonly #upstream: URL;
  gate: Gate | undefined;

  private constructor(upstream: string, server: Server) {
    this.#upstream = new URL(`http://${upstream}`);
    this.#server = server;
  }

  /** A proxy on 127.0.0.1 and a random port, forwarding to `upstream` (`host:port`). */
  static async start(upstream: string): Promise<FaultProxy> {
    const server = createServer();
    const proxy = new FaultProxy(upstream, server);
    server.on('request', (req: IncomingMessage, res: ServerResponse) => void proxy.#handle(req, res));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return proxy;
  }

  /** `127.0.0.1:<port>`: use it as the registry name. */
  get host(): string {
    return `127.0.0.1:${(this.#server.address() as AddressInfo).port}`;
  }

  inject(...faults: Fault[]): void {
    this.#faults.push(...faults.map((f) => ({ ...f, times: f.times ?? 1 })));
  }

  /** Requests whose path matches, in order. */
  matching(path: RegExp, method?: string): Recorded[] {
    return this.requests.filter((r) => path.test(r.url) && (method === undefined || r.method === method));
  }

  async close(): Promise<void> {
    this.#server.closeAllConnections();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  #takeFault(req: IncomingMessage): FaultAction | undefined {
    const index = this.#faults.findIndex((f) => (f.method === undefined || f.method === req.method) && f.path.test(req.url ?? ''));
    if (index === -1) return undefined;
    const fault = this.#faults[index]!;
    if ((fault.skip ?? 0) > 0) {
      fault.skip = fault.skip! - 1;
      return undefined;
    }
    fault.times = (fault.times ?? 1) - 1;
    if (fault.times <= 0) this.#faults.splice(index, 1);
    return fault.action;
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const gated = this.gate?.(req);
    const fault = gated === undefined ? this.#takeFault(req) : undefined;
    this.requests.push({ method: req.method ?? '', url: req.url ?? '', headers: { ...req.headers }, ...(fault === undefined ? {} : { fault }) });
    if (gated !== undefined) return answer(req, res, gated);
    if (fault !== undefined && 'status' in fault) return answer(req, res, fault);
    if (fault !== undefined && 'reset' in fault) {
      req.socket.destroy();
      return;
    }
    if (fault !== undefined && 'redirectTo' in fault) {
      return answer(req, res, { status: 307, headers: { location: `${fault.redirectTo}${req.url}` } });
    }
    const headers = { ...req.headers };
    delete headers.authorization;
    if (fault !== undefined && 'stripRange' in fault) delete headers.range;
    const upstream = httpRequest({ host: this.#upstream.hostname, port: this.#upstream.port, method: req.method, path: req.url, headers }, (up) => {
      const status = up.statusCode ?? 502;
      if (fault !== undefined && 'truncateAfter' in fault) {
        res.writeHead(status, up.headers);
        let sent = 0;
        if (fault.truncateAfter === 0) {
          up.destroy();
          res.flushHeaders();
          setTimeout(() => res.socket?.destroy(), 20);
          return;
        }
        up.on('data', (chunk: Buffer) => {
          if (sent >= fault.truncateAfter) return;
          const part = chunk.subarray(0, fault.truncateAfter - sent);
          sent += part.byteLength;
          res.write(part);
          if (sent >= fault.truncateAfter) {
            up.destroy();
            // let the bytes leave before the connection breaks
            setTimeout(() => res.socket?.destroy(), 20);
          }
        });
        return;
      }
      if (fault !== undefined && 'dropResponse' in fault) {
        up.resume();
        up.on('end', () => res.socket?.destroy());
        return;
      }
      if (fault !== undefined && 'corruptByte' in fault) {
        const chunks: Buffer[] = [];
        up.on('data', (chunk: Buffer) => chunks.push(chunk));
        up.on('end', () => {
          const body = Buffer.concat(chunks);
          if (body.byteLength > fault.corruptByte) body[fault.corruptByte] = body[fault.corruptByte]! ^ 0xff;
          res.writeHead(status, up.headers);
          res.end(body);
        });
        return;
      }
      res.writeHead(status, up.headers);
      up.pipe(res);
    });
    upstream.on('error', () => res.destroy());
    req.pipe(upstream);
  }
}

function answer(req: IncomingMessage, res: ServerResponse, reply: { status: number; headers?: Record<string, string>; body?: string }): void {
  req.resume();
  const body = reply.body ?? '';
  res.writeHead(reply.status, { 'content-length': String(Buffer.byteLength(body)), ...reply.headers });
  res.end(req.method === 'HEAD' ? undefined : body);
}
