/**
 * Drives the native helper directly, as any test user, over its fd-3 protocol, using the
 * engine's own codec (encodeConfig/decodeMessage). For the helper's integration tests.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import type { Readable, Writable } from 'node:stream';
import { decodeMessage, encodeConfig, type ConfigEntry, type HelperMessage } from '../../src/engine/sys/helper.ts';
import { asUserArgv, userEnv, type AsUserOptions } from './users.ts';
import type { TestHost } from './env.ts';

export interface HelperResult {
  status: number | null;
  signal: NodeJS.Signals | null;
  messages: HelperMessage[];
  /** what the helper's program (userns-exec) wrote; the helper itself writes nothing */
  stdout: string;
  stderr: string;
}

export interface StartedHelper {
  child: ChildProcess;
  channel: Readable & Writable;
}

/** Starts the helper without sending its configuration yet; stdin is a pipe when `who.input` is set. */
export function startHelper(helper: string, mode: string, who: AsUserOptions & { name: string }): StartedHelper {
  const child = spawn('/bin/sh', asUserArgv(helper, [mode], who), {
    env: who.env ?? userEnv(who.uid, who.name),
    cwd: '/',
    stdio: [who.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe', 'pipe'],
  });
  return { child, channel: child.stdio[3] as Readable & Writable };
}

export function runHelperAs(
  helper: string,
  mode: string,
  config: readonly ConfigEntry[] | string,
  who: AsUserOptions & { name: string },
): Promise<HelperResult> {
  // encode before starting: a config that cannot be encoded must not leave a helper waiting for one
  const text = typeof config === 'string' ? config : encodeConfig(config);
  const { child, channel } = startHelper(helper, mode, who);
  const messages: HelperMessage[] = [];
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (b: Buffer) => (stdout += b.toString()));
  child.stderr!.on('data', (b: Buffer) => (stderr += b.toString()));
  if (who.input !== undefined) {
    child.stdin!.on('error', () => undefined); // EPIPE when the program does not read it
    child.stdin!.end(who.input);
  }
  createInterface({ input: channel })
    .on('line', (line) => messages.push(decodeMessage(line)))
    // a helper that quits before reading its configuration resets the socket; its exit status tells why
    .on('error', () => undefined);
  channel.on('error', () => undefined);
  channel.end(text);
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (status, signal) => resolve({ status, signal, messages, stdout, stderr }));
  });
}

export function eventNamed(result: HelperResult, name: string): Record<string, unknown> | undefined {
  return result.messages.find((m) => m.type === 'event' && m.name === name) as Record<string, unknown> | undefined;
}

/**
 * The configuration every test container of the helper's `run` mode starts from: the test
 * user's id maps through newuidmap/newgidmap, a prepared root directory, /proc, a small
 * /dev with the given device nodes bound in (default null and zero), and PATH=/bin.
 */
export function testContainerBase(host: TestHost, rootfs: string, devices: readonly string[] = ['/dev/null', '/dev/zero']): ConfigEntry[] {
  const config: ConfigEntry[] = [];
  for (const key of ['uidmap', 'gidmap'] as const) config.push([key, `0 ${host.uid} 1`], [key, `1 ${host.subidStart} ${host.subidCount}`]);
  config.push(
    ['newuidmap', '/usr/bin/newuidmap'],
    ['newgidmap', '/usr/bin/newgidmap'],
    ['rootfs', rootfs],
    ['mount', '/proc proc proc nosuid,nodev,noexec'],
    ['mount', '/dev tmpfs tmpfs nosuid,mode=755,size=65536k'],
    ...devices.map((d): ConfigEntry => ['device', d]),
    ['env', 'PATH=/bin'],
  );
  return config;
}
