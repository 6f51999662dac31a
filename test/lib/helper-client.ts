/**
 * Drives the native helper directly, as any test user, over its fd-3 protocol, using the
 * engine's own codec (encodeConfig/decodeMessage). For the helper's integration tests.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import type { Readable, Writable } from 'node:stream';
import { decodeMessage, encodeConfig, type ConfigEntry, type HelperMessage } from '../../src/engine/sys/helper.ts';
import { asUserArgv, userEnv, type AsUserOptions } from './users.ts';

export interface HelperResult {
  status: number | null;
  signal: NodeJS.Signals | null;
  messages: HelperMessage[];
  stderr: string;
}

export interface StartedHelper {
  child: ChildProcess;
  channel: Readable & Writable;
}

/** Starts the helper without sending its configuration yet. */
export function startHelper(helper: string, mode: string, who: AsUserOptions & { name: string }): StartedHelper {
  const child = spawn('/bin/sh', asUserArgv(helper, [mode], who), {
    env: who.env ?? userEnv(who.uid, who.name),
    cwd: '/',
    stdio: ['ignore', 'pipe', 'pipe', 'pipe'],
  });
  return { child, channel: child.stdio[3] as Readable & Writable };
}

export function runHelperAs(
  helper: string,
  mode: string,
  config: readonly ConfigEntry[] | string,
  who: AsUserOptions & { name: string },
): Promise<HelperResult> {
  const { child, channel } = startHelper(helper, mode, who);
  const messages: HelperMessage[] = [];
  let stderr = '';
  child.stderr!.on('data', (b: Buffer) => (stderr += b.toString()));
  createInterface({ input: channel }).on('line', (line) => messages.push(decodeMessage(line)));
  channel.on('error', () => undefined);
  channel.end(typeof config === 'string' ? config : encodeConfig(config));
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (status, signal) => resolve({ status, signal, messages, stderr }));
  });
}

export function eventNamed(result: HelperResult, name: string): Record<string, unknown> | undefined {
  return result.messages.find((m) => m.type === 'event' && m.name === name) as Record<string, unknown> | undefined;
}
