/**
 * The file system calls Node has no API for (lsetxattr, lgetxattr, llistxattr, mknod),
 * made by the native helper's `fsops` mode (docs/helper-protocol.md, "fsops"): one
 * long-running helper, requests pipelined over its fd-3 socket, replies matched in order.
 *
 * The process that needs them (the layer extractor, root in the container's user
 * namespace) starts the helper as its own child, so the calls run with its credentials.
 *
 * A failed call rejects the way Node's own fs calls do: with an FsOpsError carrying `code`
 * ('EPERM', ...), `errno`, `syscall` and `path`. That is what the extractor's hooks take
 * (layers/extract-types.ts): it skips a device node whose mknod fails with EPERM because
 * it looks at `code`. What the protocol cannot carry (a newline in a path, a space in an
 * xattr name) rejects with TscError 'unsupported', which the extractor also skips; a
 * helper that fails or goes away rejects everything with TscError 'helper'.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import type { Readable, Writable } from 'node:stream';
import { getSystemErrorMessage } from 'node:util';
import { errnoCode, TscError } from '../errors.ts';
import { decodeMessage, HelperFailure, type HelperErrorRecord, type HelperMessage } from './helper.ts';

/** The same as layers' DeviceKind. */
export type NodeKind = 'char' | 'block' | 'fifo';

/** Bound functions: pass `setXattr` and `mknod` to the extractor as they are. */
export interface FsOps {
  /** lsetxattr(2): sets (creates or replaces) an xattr of `path` itself, never a symlink's target */
  readonly setXattr: (path: string, name: string, value: Uint8Array) => Promise<void>;
  /** mknod(2): fails with EEXIST if anything is at `path`; `major`/`minor` are ignored for a fifo */
  readonly mknod: (path: string, kind: NodeKind, mode: number, major: number, minor: number) => Promise<void>;
  /** lgetxattr(2); ENODATA when `path` has no such xattr */
  readonly getXattr: (path: string, name: string) => Promise<Buffer>;
  /** llistxattr(2) */
  readonly listXattrs: (path: string) => Promise<string[]>;
  /** Lets the helper answer what was sent, then ends it; rejects unless it exited cleanly. */
  readonly close: () => Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

/** A failed call, shaped like Node's fs errors (`errno` negative, as there). */
export class FsOpsError extends Error {
  readonly code: string;
  readonly errno: number;
  readonly syscall: string;
  readonly path: string;

  constructor(syscall: string, what: string, path: string, reply: FailedReply) {
    // a malformed request (EINVAL) is best explained by the helper itself
    const reason = reply.errname === 'EINVAL' ? reply.message : systemMessage(reply.errno);
    super(`${reply.errname}: ${reason}, ${syscall} ${what}'${path}'`);
    this.name = 'FsOpsError';
    this.code = reply.errname;
    this.errno = -reply.errno;
    this.syscall = syscall;
    this.path = path;
  }
}

interface FailedReply {
  ok: false;
  errno: number;
  errname: string;
  message: string;
}

type Reply = { ok: true; value?: string; names?: string[] } | FailedReply;

interface Pending {
  resolve(reply: Reply): void;
  reject(error: Error): void;
}

const DEVICE_TYPE: Record<NodeKind, string> = { char: 'c', block: 'b', fifo: 'p' };

function systemMessage(errno: number): string {
  try {
    return getSystemErrorMessage(-errno);
  } catch {
    return `errno ${errno}`;
  }
}

/** Starts `binary fsops` as a child of this process and waits until it is ready. */
export function openFsOps(binary: string): Promise<FsOps> {
  const child = spawn(binary, ['fsops'], {
    stdio: ['ignore', 'ignore', 'pipe', 'pipe'],
    env: { PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin' },
  });
  return attachFsOps(child, child.stdio[3] as Readable & Writable, binary);
}

/**
 * Speaks the protocol with an `fsops` helper started by someone else (tests start it as
 * other users); `channel` is its fd 3. Resolves at its `ready` event.
 */
export function attachFsOps(child: ChildProcess, channel: Readable & Writable, binary = 'tsc-helper'): Promise<FsOps> {
  return new FsOpsClient(child, channel, binary).ready;
}

class FsOpsClient implements FsOps {
  readonly ready: Promise<FsOps>;
  readonly #channel: Readable & Writable;
  readonly #exited: Promise<void>;
  /** a FIFO: the replies come in the order of the requests */
  #pending: (Pending | undefined)[] = [];
  #head = 0;
  #failure: Error | undefined;
  #closing = false;

  constructor(child: ChildProcess, channel: Readable & Writable, binary: string) {
    this.#channel = channel;
    let stderr = '';
    let record: HelperErrorRecord | undefined;
    let done = false;
    let onReady: (ops: FsOps) => void = () => undefined;
    let onStartFailure: (error: Error) => void = () => undefined;
    this.ready = new Promise((resolve, reject) => {
      onReady = resolve;
      onStartFailure = reject;
    });
    child.stderr?.on('data', (b: Buffer) => {
      if (stderr.length < 4096) stderr += b.toString('utf8');
    });
    createInterface({ input: channel, crlfDelay: Infinity })
      .on('line', (line) => {
        try {
          const message = parseLine(line);
          if (message.type === 'reply') this.#settle(message);
          else if (message.type === 'event' && message.name === 'ready') onReady(this);
          else if (message.type === 'error') record = message;
          else if (message.type === 'done') done = true;
          else throw new TscError('helper', `fsops sent an unexpected message: ${line.slice(0, 200)}`);
        } catch (error) {
          this.#fail(error as Error);
          child.kill('SIGKILL');
        }
      })
      .on('error', () => undefined); // the exit explains it
    channel.on('error', (error) => {
      const code = errnoCode(error);
      if (code !== 'EPIPE' && code !== 'ECONNRESET') this.#fail(error);
    });
    this.#exited = new Promise((resolve, reject) => {
      child.on('error', (error) => {
        const failure = new TscError('system', `cannot start the native helper ${binary}`, { cause: error });
        this.#fail(failure);
        onStartFailure(failure);
        reject(failure);
      });
      child.on('close', (status, signal) => {
        let failure = this.#failure;
        if (!failure && record) failure = new HelperFailure('fsops', record);
        if (!failure && (!done || status !== 0)) {
          const how = signal ? `was killed by ${signal}` : `exited with status ${status}`;
          failure = new TscError('helper', `the native helper (fsops) ${how}${stderr ? `: ${stderr.trim()}` : ''}`);
        }
        this.#fail(failure ?? new TscError('helper', 'the native helper (fsops) has exited'));
        onStartFailure(failure ?? new TscError('helper', 'the native helper (fsops) exited before it was ready')); // no-op once ready
        if (failure) reject(failure);
        else resolve();
      });
    });
    this.#exited.catch(() => undefined); // reported by ready, by the requests, or by close()
  }

  readonly setXattr = async (path: string, name: string, value: Uint8Array): Promise<void> => {
    const hex = Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('hex') || '-';
    await this.#call('lsetxattr', `${name} `, path, `${checkName(name, path)} ${hex}`);
  };

  readonly mknod = async (path: string, kind: NodeKind, mode: number, major: number, minor: number): Promise<void> => {
    const type = DEVICE_TYPE[kind];
    if (!type) throw new TscError('internal', `mknod of an unknown kind ${String(kind)}`);
    for (const n of [mode, major, minor]) {
      if (!Number.isSafeInteger(n) || n < 0) throw new TscError('internal', `mknod ${path}: ${n} is not a valid mode or device number`);
    }
    const what = kind === 'fifo' ? 'fifo ' : `${type} ${major}:${minor} `;
    await this.#call('mknod', what, path, `${type} ${mode.toString(8)} ${major} ${minor}`);
  };

  readonly getXattr = async (path: string, name: string): Promise<Buffer> => {
    const reply = await this.#call('lgetxattr', `${name} `, path, checkName(name, path));
    return Buffer.from(reply.value ?? '', 'hex');
  };

  readonly listXattrs = async (path: string): Promise<string[]> => {
    const reply = await this.#call('llistxattr', '', path, '');
    return reply.names ?? [];
  };

  readonly close = async (): Promise<void> => {
    if (!this.#closing) {
      this.#closing = true;
      this.#channel.end();
    }
    await this.#exited;
  };

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  /** Sends `OP FIELDS PATH` and waits for its reply; `what` names the xattr or node in errors. */
  async #call(op: string, what: string, path: string, fields: string): Promise<Extract<Reply, { ok: true }>> {
    if (!path.startsWith('/')) throw new TscError('internal', `${op}: ${JSON.stringify(path)} is not an absolute path`);
    if (/[\n\0]/.test(path)) {
      throw new TscError('unsupported', `${op} ${what}${JSON.stringify(path)}: the helper cannot take a path with a newline or NUL byte`);
    }
    if (this.#failure) throw this.#failure;
    if (this.#closing) throw new TscError('internal', `${op} ${path}: fsops is closed`);
    const reply = await new Promise<Reply>((resolve, reject) => {
      this.#pending.push({ resolve, reject });
      this.#channel.write(`${op} ${fields ? `${fields} ` : ''}${path}\n`);
    });
    if (!reply.ok) throw new FsOpsError(op, what, path, reply);
    return reply;
  }

  #settle(reply: Reply): void {
    const next = this.#pending[this.#head];
    if (!next) throw new TscError('helper', 'fsops sent a reply to no request');
    this.#pending[this.#head++] = undefined;
    if (this.#head > 1024 && this.#head * 2 > this.#pending.length) {
      this.#pending = this.#pending.slice(this.#head);
      this.#head = 0;
    }
    next.resolve(reply);
  }

  /** Rejects every request still waiting, and every later one. */
  #fail(error: Error): void {
    this.#failure ??= error;
    const waiting = this.#pending.slice(this.#head);
    this.#pending = [];
    this.#head = 0;
    for (const p of waiting) p?.reject(this.#failure);
  }
}

function checkName(name: string, path: string): string {
  if (name === '' || /[ \n\0]/.test(name)) {
    throw new TscError('unsupported', `xattr ${JSON.stringify(name)} of ${path}: the helper cannot take an empty name or one with a space, newline or NUL byte`);
  }
  return name;
}

function parseLine(line: string): ({ type: 'reply' } & Reply) | HelperMessage {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    return decodeMessage(line); // throws the helper's usual "malformed message" error
  }
  if (typeof value === 'object' && value !== null && (value as { type?: unknown }).type === 'reply') {
    const reply = value as { type: 'reply' } & Reply;
    if (reply.ok === true || (reply.ok === false && typeof reply.errno === 'number' && typeof reply.errname === 'string')) return reply;
    throw new TscError('helper', `fsops sent a malformed reply: ${line.slice(0, 200)}`);
  }
  return decodeMessage(line);
}
