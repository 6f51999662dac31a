/**
 * The engine facade: the only engine module that commands, the dashboard and the API
 * server import. Functions take typed options and return data; they never print or exit.
 *
 * Each operation loads its implementation with a dynamic import: the bundler keeps it in
 * the same file but evaluates it (and the Node built-ins it needs) only when called, so
 * start-up stays flat however large the engine grows.
 */
import { COMMIT, VERSION } from './build-info.ts';
import type { CollectOptions } from './info/collect.ts';
import type { HostInfo } from './info/types.ts';

export { errnoCode, isTscError, TscError, type ErrorCode } from './errors.ts';
export { LOG_LEVELS, setLogSink, type LogLevel, type LogSink } from './log.ts';
export type { Finding, HostInfo, Severity } from './info/types.ts';

export interface VersionInfo {
  version: string;
  commit: string;
  node: string;
  os: string;
  arch: string;
}

export function version(): VersionInfo {
  return { version: VERSION, commit: COMMIT, node: process.version, os: process.platform, arch: process.arch };
}

export type InfoOptions = CollectOptions;

/** What this host offers containers, for the current user, with the fix for each problem. */
export async function info(options: InfoOptions = {}): Promise<HostInfo> {
  const [{ collectInfo }, { currentIdentity }] = await Promise.all([import('./info/collect.ts'), import('./sys/identity.ts')]);
  return collectInfo(currentIdentity(), options);
}
