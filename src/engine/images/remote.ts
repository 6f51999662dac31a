/**
 * A registry client for a registry host, configured for this user: credentials from the
 * auth files, plain http for loopback registries (as docker treats 127.0.0.0/8 and
 * localhost) or when TLS verification is turned off for the command.
 */
import { findCredentials } from '../auth/credentials.ts';
import type { EngineContext } from '../context.ts';
import { RegistryClient } from '../registry/client.ts';
import { VERSION } from '../build-info.ts';

export interface RemoteOptions {
  /** false: speak plain http to this registry (podman's --tls-verify=false) */
  tlsVerify?: boolean | undefined;
}

export function isLoopbackRegistry(registry: string): boolean {
  const host = registry.startsWith('[') ? registry.slice(0, registry.indexOf(']') + 1) : registry.split(':')[0]!;
  return host === 'localhost' || /^127\.\d+\.\d+\.\d+$/.test(host) || host === '[::1]';
}

export function registryClient(ctx: EngineContext, registry: string, options: RemoteOptions = {}): RegistryClient {
  return new RegistryClient(registry, {
    insecure: options.tlsVerify === false || isLoopbackRegistry(registry),
    credentials: (host) => findCredentials(ctx.authFiles.read, host),
    userAgent: `tsc/${VERSION}`,
  });
}
