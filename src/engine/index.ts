/**
 * The engine facade: the only engine module that commands, the dashboard and the API
 * server import. Functions take typed options and return data; they never print or exit.
 */
import { COMMIT, VERSION } from './build-info.ts';
import { collectInfo, type CollectOptions } from './info/collect.ts';
import type { HostInfo } from './info/types.ts';
import { currentIdentity } from './sys/identity.ts';

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
export function info(options: InfoOptions = {}): Promise<HostInfo> {
  return collectInfo(currentIdentity(), options);
}
