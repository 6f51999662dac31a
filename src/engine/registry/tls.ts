/**
 * Extra CA certificates for one registry, without a dependency on the undici package.
 *
 * Node's fetch takes an undici `dispatcher` per request, but Node does not export undici's
 * Agent class. undici publishes its global dispatcher on a well-known symbol (its contract
 * for sharing one dispatcher between copies of the library); in Node 26 the default one
 * there is a plain Agent, so its constructor is the Agent class fetch itself uses. If a
 * future Node changes that, we fail with 'unsupported' and point at NODE_EXTRA_CA_CERTS;
 * the lasting fix would be depending on the `undici` package for `Agent`.
 */
import { X509Certificate } from 'node:crypto';
import { getCACertificates } from 'node:tls';
import { TscError } from '../errors.ts';
import type { Dispatcher } from './transport.ts';

interface AgentLike {
  dispatch: unknown;
  close(): Promise<void>;
}
type AgentClass = new (options: { connect: { ca: string[] } }) => AgentLike;

const GLOBAL_DISPATCHER_SYMBOLS = [Symbol.for('undici.globalDispatcher.2'), Symbol.for('undici.globalDispatcher.1')];

export interface CaDispatcher {
  dispatcher: Dispatcher;
  close(): Promise<void>;
}

/**
 * A dispatcher that trusts the default CAs plus `pems`. Throws invalid-argument for a
 * certificate that does not parse, unsupported when the Agent class is out of reach.
 */
export function caDispatcher(registry: string, pems: readonly string[]): CaDispatcher {
  pems.forEach((pem, i) => {
    try {
      new X509Certificate(pem);
    } catch (error) {
      throw new TscError('invalid-argument', `CA certificate ${i + 1} for registry ${registry} is not a valid PEM certificate`, { cause: error });
    }
  });
  const Agent = undiciAgentClass();
  if (Agent === undefined) {
    throw new TscError('unsupported', `extra CA certificates for registry ${registry} are not supported by this node runtime`, {
      hint: 'set NODE_EXTRA_CA_CERTS to a file with the certificates instead',
    });
  }
  const agent = new Agent({ connect: { ca: [...getCACertificates('default'), ...pems] } });
  return { dispatcher: agent as unknown as Dispatcher, close: () => agent.close() };
}

function undiciAgentClass(): AgentClass | undefined {
  const global = globalThis as unknown as Record<symbol, unknown>;
  // fetch's undici loads lazily; touching one of its globals loads it and installs the default Agent
  if (GLOBAL_DISPATCHER_SYMBOLS.every((symbol) => global[symbol] === undefined)) new Headers();
  for (const symbol of GLOBAL_DISPATCHER_SYMBOLS) {
    const ctor = (global[symbol] as { constructor?: unknown } | undefined)?.constructor;
    if (typeof ctor === 'function' && ctor.name === 'Agent' && typeof (ctor.prototype as AgentLike).dispatch === 'function') {
      return ctor as AgentClass;
    }
  }
  return undefined;
}
