/**
 * `docker logs` over the monitor's log files: LOG.1 (the rotated file, if any) then LOG,
 * reassembled into lines (log-format.ts), filtered and written to two streams.
 *
 * Order of operations as docker: --tail picks the last N lines of everything on disk,
 * then --since/--until filter them (both inclusive, on the time of a line's first piece).
 *
 * Following (-f) polls: read to the end of LOG, then compare LOG's inode with the open
 * file's. Rotation is a rename of LOG to LOG.1 followed by a new LOG, so after a rotation
 * the old descriptor is read to its end (the writer no longer appends to it) before the
 * new file is opened; a file that came and went between two polls (two rotations) is
 * found at LOG.1 and read whole. The last file read completely stays open, so its inode
 * cannot be reused by a newer one and mistaken for it. Bytes after the last newline are
 * held until the writer completes the line; P pieces are held until their F.
 */
import { once } from 'node:events';
import { open, stat, type FileHandle } from 'node:fs/promises';
import type { Writable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { errnoCode, TscError } from '../errors.ts';
import { dateToTime, LineSplitter, parseLogLine, Reassembler, renderLine, type LogLine, type LogStream } from './log-format.ts';
import type { LogOptions } from './log-options.ts';
import { join } from 'node:path';
import type { EngineContext } from '../context.ts';
import { requireContainer } from './records.ts';
import { containerDir, liveState } from './state.ts';

export type { LogOptions } from './log-options.ts';

export interface LogFiles {
  /** the file the monitor appends to (LOG) */
  current: string;
  /** where rotation moved the previous one (LOG.1) */
  rotated: string;
}

export interface LogOutput {
  stdout: Writable;
  stderr: Writable;
}

export interface LogFollow {
  /** polled; once false (and everything written so far is read) following ends */
  isRunning: () => boolean | Promise<boolean>;
  /** ends following at once (what is held is not printed) */
  signal?: AbortSignal | undefined;
  /** poll interval, default 200 ms */
  intervalMs?: number;
}

export interface LogReadReport {
  /** lines written to the outputs */
  lines: number;
  /** file lines that were not valid entries (skipped) */
  malformed: number;
}

const CHUNK = 64 * 1024;

interface FileId {
  dev: number;
  ino: number;
}

interface OpenLog extends FileId {
  handle: FileHandle;
  position: number;
  splitter: LineSplitter;
}

/**
 * Writes the container's output as `docker logs` would. Without `follow` (or without
 * `options.follow`) it reads what is on disk and returns; with both, it keeps reading
 * until `follow.isRunning()` is false and all data is read, or until the signal aborts.
 */
export async function readLogs(files: LogFiles, options: LogOptions, out: LogOutput, follow?: LogFollow): Promise<LogReadReport> {
  const reader = new LogReader(files, options, out);
  try {
    return await reader.run(options.follow ? follow : undefined);
  } finally {
    await reader.close();
  }
}

class LogReader {
  private readonly reassembler = new Reassembler();
  private readonly since: bigint | undefined;
  private readonly until: bigint | undefined;
  private current: OpenLog | undefined;
  /** the last file read to its end; held open (see the file comment) */
  private done: OpenLog | undefined;
  /** with --tail: the last lines of the initial read, a ring */
  private ring: LogLine[] | undefined;
  private ringNext = 0;
  private ringSize = 0;
  private queue: { stream: LogStream; data: Buffer[] }[] = [];
  private outputError: unknown;
  private readonly onOutputError = (error: unknown) => {
    this.outputError ??= error;
  };
  private pastUntil = false;
  private readonly report: LogReadReport = { lines: 0, malformed: 0 };

  private readonly files: LogFiles;
  private readonly options: LogOptions;
  private readonly out: LogOutput;

  constructor(files: LogFiles, options: LogOptions, out: LogOutput) {
    this.files = files;
    this.options = options;
    this.out = out;
    this.since = options.since ? dateToTime(options.since) : undefined;
    this.until = options.until ? dateToTime(options.until) : undefined;
    const tail = options.tail ?? 'all';
    if (tail !== 'all') this.ring = new Array<LogLine>(Math.max(0, tail));
    out.stdout.on('error', this.onOutputError);
    out.stderr.on('error', this.onOutputError);
  }

  async run(follow: LogFollow | undefined): Promise<LogReadReport> {
    await this.advance();
    await this.drainCurrent();
    if (!follow) {
      for (const line of this.reassembler.flush()) this.accept(line);
      this.endTail();
      await this.writeOut();
      return this.report;
    }
    this.endTail();
    await this.writeOut();
    const interval = follow.intervalMs ?? 200;
    while (!follow.signal?.aborted) {
      const running = await follow.isRunning();
      await this.drainFollowing();
      const untilPassed = this.until !== undefined && dateToTime(new Date()) > this.until;
      if (!running || this.pastUntil || untilPassed) {
        for (const line of this.reassembler.flush()) this.accept(line);
        await this.writeOut();
        break;
      }
      try {
        await sleep(interval, undefined, follow.signal ? { signal: follow.signal } : {});
      } catch (error) {
        if (follow.signal?.aborted) break;
        throw error;
      }
    }
    return this.report;
  }

  async close(): Promise<void> {
    this.out.stdout.off('error', this.onOutputError);
    this.out.stderr.off('error', this.onOutputError);
    await Promise.all([this.current?.handle.close(), this.done?.handle.close()]);
    this.current = this.done = undefined;
  }

  /**
   * Moves to the file after `done`: reads LOG.1 whole if it is a file not read yet (at the
   * start, or after two rotations between polls), then opens LOG as `current`.
   */
  private async advance(): Promise<void> {
    const { rotated, current } = await this.openPair();
    if (rotated) {
      if (this.done && sameFile(rotated, this.done)) {
        await rotated.handle.close();
      } else {
        await this.drain(rotated);
        this.finish(rotated);
      }
    }
    this.current = current;
  }

  /** Follows: drains LOG, and on rotation drains the old file to its end and moves on. */
  private async drainFollowing(): Promise<void> {
    for (;;) {
      if (!this.current) {
        await this.advance();
        if (!this.current) return;
      }
      // LOG is looked at before the read: if it was renamed by then, the writer had
      // finished with the old file, so this one read reaches its true end
      const now = await statId(this.files.current);
      await this.drainCurrent();
      // missing: renamed, and the writer has not created the new file yet
      if (!now || sameFile(now, this.current)) return;
      this.finish(this.current);
      this.current = undefined;
    }
  }

  private async drainCurrent(): Promise<void> {
    if (this.current) await this.drain(this.current);
  }

  /** Marks a file as read to its end: the new `done`; an unfinished line in it is malformed. */
  private finish(file: OpenLog): void {
    if (file.splitter.pending > 0) this.report.malformed++;
    const old = this.done;
    this.done = file;
    if (old) old.handle.close().catch(() => undefined);
  }

  /**
   * Opens LOG.1 and LOG as one consistent pair: LOG.1 is opened first, and if it changed
   * (a rotation) by the time LOG is open, both are opened again.
   */
  private async openPair(): Promise<{ rotated: OpenLog | undefined; current: OpenLog | undefined }> {
    for (let attempt = 0; ; attempt++) {
      const rotated = await openLog(this.files.rotated);
      const current = await openLog(this.files.current);
      const check = await statId(this.files.rotated);
      const stable = rotated ? check !== undefined && sameFile(check, rotated) : check === undefined;
      if (stable || attempt >= 20) return { rotated, current };
      await Promise.all([rotated?.handle.close(), current?.handle.close()]);
    }
  }

  private async drain(file: OpenLog): Promise<void> {
    const buffer = Buffer.allocUnsafe(CHUNK);
    for (;;) {
      this.throwOutputError();
      const { bytesRead } = await file.handle.read(buffer, 0, CHUNK, file.position);
      if (bytesRead === 0) return;
      file.position += bytesRead;
      for (const raw of file.splitter.push(buffer.subarray(0, bytesRead))) {
        const entry = parseLogLine(raw);
        if (!entry) {
          this.report.malformed++;
          continue;
        }
        const line = this.reassembler.push(entry);
        if (line) this.accept(line);
      }
      await this.writeOut();
    }
  }

  /** A reassembled line: kept for --tail during the initial read, else filtered and queued. */
  private accept(line: LogLine): void {
    if (this.ring) {
      if (this.ring.length === 0) return;
      this.ring[this.ringNext] = line;
      this.ringNext = (this.ringNext + 1) % this.ring.length;
      this.ringSize = Math.min(this.ringSize + 1, this.ring.length);
      return;
    }
    this.emit(line);
  }

  /** Ends the initial read: the lines --tail kept are emitted, later lines go straight out. */
  private endTail(): void {
    const ring = this.ring;
    if (!ring) return;
    this.ring = undefined;
    const start = this.ringSize < ring.length ? 0 : this.ringNext;
    for (let i = 0; i < this.ringSize; i++) this.emit(ring[(start + i) % ring.length]!);
  }

  private emit(line: LogLine): void {
    if (this.since !== undefined && line.time < this.since) return;
    if (this.until !== undefined && line.time > this.until) {
      this.pastUntil = true;
      return;
    }
    const data = renderLine(line, this.options.timestamps ?? false);
    const last = this.queue.at(-1);
    if (last && last.stream === line.stream) last.data.push(data);
    else this.queue.push({ stream: line.stream, data: [data] });
    this.report.lines++;
  }

  /** Writes what is queued, in order across the two streams, waiting when a stream is full. */
  private async writeOut(): Promise<void> {
    const queue = this.queue;
    this.queue = [];
    for (const { stream, data } of queue) {
      this.throwOutputError();
      const target = this.out[stream];
      if (!target.write(data.length === 1 ? data[0] : Buffer.concat(data))) await drained(target);
    }
    this.throwOutputError();
  }

  private throwOutputError(): void {
    if (this.outputError !== undefined) throw this.outputError;
  }
}

async function drained(stream: Writable): Promise<void> {
  if (stream.destroyed) throw new TscError('system', 'the output was closed');
  const done = new AbortController();
  try {
    const event = await Promise.race([
      once(stream, 'drain', { signal: done.signal }).then(() => 'drain'),
      once(stream, 'close', { signal: done.signal }).then(() => 'close'),
    ]);
    if (event === 'close') throw new TscError('system', 'the output was closed');
  } finally {
    done.abort();
  }
}

function sameFile(a: FileId, b: FileId): boolean {
  return a.dev === b.dev && a.ino === b.ino;
}

async function statId(path: string): Promise<FileId | undefined> {
  try {
    const s = await stat(path);
    return { dev: s.dev, ino: s.ino };
  } catch (error) {
    if (errnoCode(error) === 'ENOENT') return undefined;
    throw new TscError('system', `cannot read the log file ${path}: ${(error as Error).message}`, { cause: error });
  }
}

async function openLog(path: string): Promise<OpenLog | undefined> {
  let handle: FileHandle;
  try {
    handle = await open(path, 'r');
  } catch (error) {
    if (errnoCode(error) === 'ENOENT') return undefined;
    throw new TscError('system', `cannot open the log file ${path}: ${(error as Error).message}`, { cause: error });
  }
  const s = await handle.stat();
  return { handle, dev: s.dev, ino: s.ino, position: 0, splitter: new LineSplitter() };
}

/** Where a container's log is, and whether it may still grow. */
export interface ContainerLogFiles {
  /** the file the monitor appends to (LOG) */
  current: string;
  /** the previous file, after rotation (LOG.1) */
  rotated: string;
  /** true while the container (or its monitor) may still write to the log */
  isRunning: () => boolean;
}

/** Resolves a container name or id to its log files. */
export async function containerLogFiles(ctx: EngineContext, ref: string): Promise<ContainerLogFiles> {
  const store = await ctx.store();
  const row = requireContainer(store.db, ref);
  const dir = containerDir(store.root, row.id);
  return {
    current: join(dir, 'ctr.log'),
    rotated: join(dir, 'ctr.log.1'),
    // the monitor's state file alone tells (it writes its last log bytes before the exit)
    isRunning: () => {
      const live = liveState({ ...row, state: 'started' }, store.root);
      return live.running || live.status === 'restarting';
    },
  };
}
