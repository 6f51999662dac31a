/**
 * The client side of the monitor's attach protocol (docs/helper-protocol.md, "Attach
 * protocol"): frames of 1 type byte, a 4-byte big-endian length and the payload, both
 * ways, on the monitor's socket or on the descriptor a foreground `run` hands it.
 */
import { connect } from 'node:net';
import type { Duplex, Writable } from 'node:stream';
import { errnoCode, TscError } from '../errors.ts';

export const FRAME = {
  stdin: 0,
  stdout: 1,
  stderr: 2,
  exit: 3,
  stdinClose: 4,
  resize: 5,
  signal: 6,
} as const;

export interface Frame {
  type: number;
  payload: Buffer;
}

export function encodeFrame(type: number, payload: Uint8Array = new Uint8Array(0)): Buffer {
  const frame = Buffer.allocUnsafe(5 + payload.length);
  frame[0] = type;
  frame.writeUInt32BE(payload.length, 1);
  frame.set(payload, 5);
  return frame;
}

const MAX_FRAME = 1 << 20;

/** Splits a byte stream into frames; throws on a frame the protocol cannot have. */
export class FrameDecoder {
  private pending: Buffer = Buffer.alloc(0);

  push(chunk: Buffer): Frame[] {
    this.pending = this.pending.length === 0 ? chunk : Buffer.concat([this.pending, chunk]);
    const frames: Frame[] = [];
    while (this.pending.length >= 5) {
      const length = this.pending.readUInt32BE(1);
      if (length > MAX_FRAME) throw new TscError('helper', `the container's monitor sent a frame of ${length} bytes`);
      if (this.pending.length < 5 + length) break;
      frames.push({ type: this.pending[0]!, payload: this.pending.subarray(5, 5 + length) });
      this.pending = this.pending.subarray(5 + length);
    }
    return frames;
  }
}

export interface ExitInfo {
  exitCode: number;
  signal: number;
  restarting: boolean;
}

export interface AttachOutput {
  stdout?: Writable | undefined;
  stderr?: Writable | undefined;
  /** every exit, including those followed by a restart */
  onExit?: ((exit: ExitInfo) => void) | undefined;
}

export interface AttachSession {
  /** resolves with the final exit (no restart follows), or undefined if the monitor went away without one */
  ended: Promise<ExitInfo | undefined>;
  write(data: Uint8Array): void;
  closeStdin(): void;
  resize(rows: number, cols: number): void;
  /** sends a signal to the container's pid 1; `stop` also tells the monitor not to restart it */
  signal(signal: number, stop: boolean): void;
  /** leaves the container running */
  detach(): void;
}

/** Speaks the attach protocol on a connected stream. */
export function attachSession(socket: Duplex, output: AttachOutput): AttachSession {
  const decoder = new FrameDecoder();
  let last: ExitInfo | undefined;
  let closed = false;
  const ended = new Promise<ExitInfo | undefined>((resolve, reject) => {
    socket.on('data', (chunk: Buffer) => {
      let frames: Frame[];
      try {
        frames = decoder.push(chunk);
      } catch (error) {
        socket.destroy();
        reject(error as Error);
        return;
      }
      for (const frame of frames) {
        if (frame.type === FRAME.stdout) output.stdout?.write(frame.payload);
        else if (frame.type === FRAME.stderr) output.stderr?.write(frame.payload);
        else if (frame.type === FRAME.exit) {
          const info = JSON.parse(frame.payload.toString('utf8')) as ExitInfo;
          output.onExit?.(info);
          last = info;
          if (!info.restarting) {
            resolve(info);
          }
        }
      }
    });
    socket.on('error', (error) => {
      const code = errnoCode(error);
      // a reset by the monitor, or our own detach (destroying the stream aborts it)
      if (code === 'ECONNRESET' || code === 'EPIPE' || closed) return;
      reject(error);
    });
    socket.on('close', () => {
      closed = true;
      resolve(last && !last.restarting ? last : undefined);
    });
  });
  const send = (frame: Buffer) => {
    if (!closed && !socket.destroyed) socket.write(frame);
  };
  return {
    ended,
    write: (data) => send(encodeFrame(FRAME.stdin, data)),
    closeStdin: () => send(encodeFrame(FRAME.stdinClose)),
    resize: (rows, cols) => {
      const payload = Buffer.alloc(4);
      payload.writeUInt16BE(Math.max(0, Math.min(rows, 65535)), 0);
      payload.writeUInt16BE(Math.max(0, Math.min(cols, 65535)), 2);
      send(encodeFrame(FRAME.resize, payload));
    },
    signal: (signal, stop) => send(encodeFrame(FRAME.signal, Uint8Array.of(signal, stop ? 1 : 0))),
    detach: () => {
      closed = true;
      socket.destroy();
    },
  };
}

/**
 * Connects to a running container's monitor; undefined when no monitor listens. A full
 * listen backlog (EAGAIN: the monitor is busy, e.g. on a loaded machine) is retried for a
 * while before it counts as a failure.
 */
export async function connectMonitor(path: string): Promise<Duplex | undefined> {
  for (let attempt = 0; ; attempt++) {
    const outcome = await new Promise<Duplex | undefined | 'busy'>((resolve, reject) => {
      const socket = connect(path);
      socket.once('connect', () => resolve(socket));
      socket.once('error', (error) => {
        const code = errnoCode(error);
        if (code === 'ENOENT' || code === 'ECONNREFUSED') resolve(undefined);
        else if (code === 'EAGAIN' && attempt < 50) resolve('busy');
        else reject(new TscError('system', `cannot reach the container's monitor at ${path} (${code ?? String(error)})`, { cause: error }));
      });
    });
    if (outcome !== 'busy') return outcome;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
