/**
 * Running host programs (newuidmap, pasta, ...) and finding them on PATH. Part of
 * src/engine/sys, the only engine code that spawns processes.
 */
import { spawn } from 'node:child_process';
import { delimiter, join } from 'node:path';
import { canAccess } from './files.ts';

export interface RunResult {
  /** exit status, or null when killed by a signal */
  status: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  timeoutMs?: number;
  env?: NodeJS.ProcessEnv;
  /** stop collecting output past this many bytes per stream */
  maxOutput?: number;
}

/** Runs a program to completion and collects its output. Rejects only if it cannot start. */
export function runProgram(file: string, args: readonly string[], options: RunOptions = {}): Promise<RunResult> {
  const maxOutput = options.maxOutput ?? 64 * 1024;
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: options.env ?? process.env,
      timeout: options.timeoutMs ?? 10_000,
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let outLen = 0;
    let errLen = 0;
    child.stdout.on('data', (b: Buffer) => {
      if (outLen < maxOutput) out.push(b);
      outLen += b.length;
    });
    child.stderr.on('data', (b: Buffer) => {
      if (errLen < maxOutput) err.push(b);
      errLen += b.length;
    });
    child.on('error', reject);
    child.on('close', (status, signal) => {
      resolve({
        status,
        signal,
        stdout: Buffer.concat(out).toString('utf8'),
        stderr: Buffer.concat(err).toString('utf8'),
      });
    });
  });
}

/** Where `name` is found on PATH (or the standard sbin/bin dirs), or undefined. */
export async function findProgram(name: string, path = process.env.PATH ?? ''): Promise<string | undefined> {
  const dirs = [...path.split(delimiter), '/usr/local/sbin', '/usr/local/bin', '/usr/sbin', '/usr/bin', '/sbin', '/bin'];
  const seen = new Set<string>();
  for (const dir of dirs) {
    if (dir === '' || seen.has(dir)) continue;
    seen.add(dir);
    const candidate = join(dir, name);
    if (await canAccess(candidate, 'x')) return candidate;
  }
  return undefined;
}
