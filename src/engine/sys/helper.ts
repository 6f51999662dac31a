/**
 * Starting the native helper (src/native) and speaking its protocol
 * (docs/helper-protocol.md): configuration lines in on fd 3, JSON-line messages out.
 *
 * Where the helper binary comes from:
 *  - single executable: the embedded asset, copied once per build into the user's private
 *    runtime dir (temp file + rename, so concurrent tsc processes never see half a file);
 *  - development bundle: the path the bundler recorded (HELPER_PATH);
 *  - TSC_HELPER: an explicit path, for tests of the helper itself.
 * The helper re-executes itself from a sealed memfd on start, so the file on disk is
 * never what a container could reach.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { rename, stat, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type * as SeaModule from 'node:sea';
import { Duplex, PassThrough, type Readable, type Writable } from 'node:stream';
import { HELPER_DIGEST, HELPER_PATH } from '../build-info.ts';
import { errnoCode, TscError } from '../errors.ts';
import { ensurePrivateDir } from './files.ts';

export interface HelperErrorRecord {
  op: string;
  path: string;
  errno: number;
  errname: string;
  message: string;
}

export interface HelperEvent {
  type: 'event';
  name: string;
  [field: string]: unknown;
}

export type HelperMessage = HelperEvent | ({ type: 'error' } & HelperErrorRecord) | { type: 'done' };

/** One configuration line. Keys are lower-case words; values are one line of text. */
export type ConfigEntry = readonly [key: string, value: string];

export function encodeConfig(entries: readonly ConfigEntry[]): string {
  let text = '';
  for (const [key, value] of entries) {
    if (!/^[a-z][a-z0-9-]*$/.test(key)) throw new TscError('internal', `invalid helper config key ${JSON.stringify(key)}`);
    if (/[\n\0]/.test(value)) {
      throw new TscError('invalid-argument', `${key} ${JSON.stringify(value)} contains a newline or NUL byte`);
    }
    text += `${key} ${value}\n`;
  }
  return text;
}

/**
 * An argument vector as one configuration value (`hook`, `exit-cmd`): arguments joined by
 * single spaces, a space inside one written `\s` and a backslash `\\`.
 */
export function encodeArgv(argv: readonly string[]): string {
  if (argv.length === 0 || argv.some((a) => a === '')) throw new TscError('internal', 'an argument vector for the helper has an empty argument');
  return argv.map((a) => a.replaceAll('\\', '\\\\').replaceAll(' ', '\\s')).join(' ');
}

/** Turns one line of helper output into a message; throws on anything malformed. */
export function decodeMessage(line: string): HelperMessage {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    throw new TscError('helper', `the helper sent a malformed message: ${line.slice(0, 200)}`);
  }
  if (typeof value !== 'object' || value === null || !('type' in value)) {
    throw new TscError('helper', `the helper sent a message without a type: ${line.slice(0, 200)}`);
  }
  const type = (value as { type: unknown }).type;
  if (type === 'event' || type === 'error' || type === 'done') return value as HelperMessage;
  throw new TscError('helper', `the helper sent a message of unknown type ${JSON.stringify(type)}`);
}

export class HelperFailure extends TscError {
  readonly record: HelperErrorRecord;
  constructor(mode: string, record: HelperErrorRecord) {
    const where = record.path ? ` ${record.path}` : '';
    super('helper', `${mode}: ${record.op}${where}: ${record.message}`);
    this.record = record;
  }
}

/** Finds (and if needed materialises) the helper binary for this build. */
export async function helperBinary(runtimeDir: string, uid: number): Promise<string> {
  const explicit = process.env.TSC_HELPER;
  if (explicit) return explicit;
  const sea = process.getBuiltinModule('node:sea');
  if (sea?.isSea()) return materialiseAsset(sea, runtimeDir, uid);
  if (HELPER_PATH) return HELPER_PATH;
  throw new TscError('internal', 'no native helper in this build', {
    hint: 'run tsc through bin/tsc or build it with npm run build',
  });
}

async function materialiseAsset(sea: typeof SeaModule, runtimeDir: string, uid: number): Promise<string> {
  if (!HELPER_DIGEST) throw new TscError('internal', 'this executable records no digest for its helper');
  const asset = sea.getRawAsset('tsc-helper');
  const dir = join(runtimeDir, 'bin');
  const target = join(dir, `tsc-helper-${HELPER_DIGEST.slice(0, 16)}`);
  try {
    if ((await stat(target)).size === asset.byteLength) return target;
  } catch (error) {
    if (errnoCode(error) !== 'ENOENT') throw error;
  }
  await ensurePrivateDir(dir, uid);
  const temp = `${target}.tmp-${process.pid}`;
  try {
    await writeFile(temp, new Uint8Array(asset), { mode: 0o500, flush: true });
    await rename(temp, target);
  } catch (error) {
    await unlink(temp).catch(() => undefined);
    throw new TscError('system', `cannot install the native helper in ${dir}`, { cause: error });
  }
  return target;
}

export interface HelperRun {
  messages: HelperMessage[];
  events: HelperEvent[];
}

export interface HelperStdio {
  /** what the helper (and the program it runs) reads: ignored, a pipe to write to, or ours */
  stdin?: 'ignore' | 'pipe' | 'inherit';
  /** where its stdout goes: ignored, a pipe to read from, or ours */
  stdout?: 'ignore' | 'pipe' | 'inherit';
  /** 'pipe' (default): kept (the first 4 KiB) to explain a crash; 'inherit': a container's stderr is ours */
  stderr?: 'pipe' | 'inherit';
}

export interface HelperProcess {
  child: ChildProcess;
  stdin: Writable | null;
  stdout: Readable | null;
  /** our end of fd 4, with attachChannel */
  attach: Duplex | undefined;
  /** settles when the helper has exited; see runHelper for what rejects */
  result: Promise<HelperRun>;
}

export interface HelperOptions extends HelperStdio {
  timeoutMs?: number;
  /** also give the helper a socket on fd 4 (a container's first attach connection) */
  attachChannel?: boolean;
}

/**
 * Starts the helper in `mode` with `config`. The result resolves once the helper exited
 * after `done`. A structured error record rejects with HelperFailure; a crash (no `done`,
 * no record) rejects with the exit status and the first 4 KiB it wrote to stderr.
 */
export function startHelper(binary: string, mode: string, config: readonly ConfigEntry[], options: HelperOptions = {}): HelperProcess {
  const text = encodeConfig(config);
  const child = spawn(binary, [mode], {
    stdio: [options.stdin ?? 'ignore', options.stdout ?? 'ignore', options.stderr ?? 'pipe', 'pipe', ...(options.attachChannel ? ['pipe' as const] : [])],
    timeout: options.timeoutMs ?? 30_000,
    env: { PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin' },
  });
  const result = new Promise<HelperRun>((resolve, reject) => {
    const channel = child.stdio[3] as Readable & Writable;
    const messages: HelperMessage[] = [];
    let failure: Error | undefined;
    let stderr = '';
    child.stderr?.on('data', (b: Buffer) => {
      if (stderr.length < 4096) stderr += b.toString('utf8');
    });
    createInterface({ input: channel, crlfDelay: Infinity })
      .on('line', (line) => {
        if (failure) return;
        try {
          messages.push(decodeMessage(line));
        } catch (error) {
          failure = error as Error;
        }
      })
      .on('error', () => undefined); // reported through the channel's own error below
    channel.on('error', (error) => {
      // EPIPE/ECONNRESET when the helper quits before reading its config: its exit explains why
      const code = errnoCode(error);
      if (code !== 'EPIPE' && code !== 'ECONNRESET') failure ??= error;
    });
    channel.end(text);
    child.on('error', (error) => reject(new TscError('system', `cannot start the native helper ${binary}`, { cause: error })));
    const settle = (status: number | null, signal: NodeJS.Signals | null) => {
      if (failure) return reject(failure);
      const record = messages.find((m) => m.type === 'error');
      if (record) return reject(new HelperFailure(mode, record as HelperErrorRecord));
      const done = messages.some((m) => m.type === 'done');
      if (!done || status !== 0) {
        const how = signal ? `was killed by ${signal}` : `exited with status ${status}`;
        return reject(new TscError('helper', `the native helper (${mode}) ${how}${stderr ? `: ${stderr.trim()}` : ''}`));
      }
      resolve({ messages, events: messages.filter((m): m is HelperEvent => m.type === 'event') });
    };
    if (!options.attachChannel) {
      child.on('close', settle);
      return;
    }
    // a detached monitor keeps fd 4 (and stays alive): settle once the helper we started
    // has exited and its message channel has ended, without waiting for fd 4 to close
    let exit: [number | null, NodeJS.Signals | null] | undefined;
    let channelEnded = false;
    child.on('exit', (status, signal) => {
      exit = [status, signal];
      if (channelEnded) settle(status, signal);
    });
    channel.on('close', () => {
      channelEnded = true;
      if (exit) settle(...exit);
    });
  });
  // Node resumes (and so discards) a child's unconsumed stdio streams when the child exits,
  // which the helper does right after the monitor took over: read fd 4 into a buffer at once
  let attach: Duplex | undefined;
  if (options.attachChannel) {
    const socket = child.stdio[4] as Duplex;
    const buffered = new PassThrough();
    socket.pipe(buffered);
    // (Duplex.from takes a pair of Node streams; @types/node declares only web streams)
    attach = Duplex.from({ readable: buffered, writable: socket } as unknown as Parameters<typeof Duplex.from>[0]);
    attach.on('close', () => socket.destroy());
  }
  return { child, stdin: child.stdin, stdout: child.stdout, attach, result };
}

/** Runs the helper to completion with no stdio; see startHelper. */
export function runHelper(binary: string, mode: string, config: readonly ConfigEntry[], timeoutMs = 30_000): Promise<HelperRun> {
  return startHelper(binary, mode, config, { timeoutMs }).result;
}
