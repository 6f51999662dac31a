/**
 * Running bench work as the rootless test user in its delegated cgroup (the way
 * scripts/as-test-user.sh does): hyperfine over a list of commands, or one program whose
 * output is wanted. Everything the container suites time runs through here, so no timed
 * command ever runs as root.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import type { TestHost } from '../test/lib/env.ts';
import { asUserArgv, userEnv } from '../test/lib/users.ts';

export interface BenchCommand {
  name: string;
  /** what hyperfine -N runs: split on blanks, no shell */
  command: string;
  /** run before each timed run, untimed (hyperfine --prepare) */
  prepare?: string;
}

export interface Timed {
  name: string;
  command: string;
  medianMs: number;
  minMs: number;
  maxMs: number;
  runs: number;
}

export interface HyperfineOptions {
  /** timed runs per command, in all */
  runs: number;
  /**
   * hyperfine times every run of one command before the next; splitting the runs into
   * rounds (command 1, 2, ..., then again) spreads a drift of the machine's load over all
   * commands instead of landing on one. Default 4 (fewer when runs is small).
   */
  rounds?: number;
  warmup?: number;
  /** added to the user's environment (e.g. TSC_STORAGE_ROOT) */
  env?: Record<string, string>;
}

/**
 * hyperfine -N over the commands as the user, in rounds; medians (over the runs of all
 * rounds) in ms, in the order given. Either every command has a prepare step or none does
 * (hyperfine pairs them by position).
 */
export function hyperfineAsUser(host: TestHost, commands: BenchCommand[], options: HyperfineOptions): Timed[] {
  const out = `/tmp/tsc-bench-hyperfine-${process.pid}.json`;
  const rounds = Math.max(1, Math.min(options.rounds ?? 4, Math.floor(options.runs / 2)));
  const times: number[][] = commands.map(() => []);
  const prepared = commands.some((c) => c.prepare !== undefined);
  try {
    for (let round = 0; round < rounds; round++) {
      const runs = Math.floor(options.runs / rounds) + (round < options.runs % rounds ? 1 : 0);
      const warmup = round === 0 ? (options.warmup ?? 3) : 1;
      const args = ['-N', '--warmup', String(warmup), '--runs', String(runs), '--export-json', out, '--style', 'basic'];
      for (const c of commands) {
        if (prepared) args.push('--prepare', c.prepare ?? 'true');
        args.push('--command-name', c.name, c.command);
      }
      outputAsUser(host, ['hyperfine', ...args], options.env, 'inherit');
      const results = (JSON.parse(readFileSync(out, 'utf8')) as { results: { times: number[] }[] }).results;
      results.forEach((r, i) => times[i]!.push(...r.times.map((t) => t * 1000)));
    }
  } finally {
    rmSync(out, { force: true });
  }
  return commands.map((c, i) => ({ name: c.name, command: c.command, medianMs: median(times[i]!), minMs: Math.min(...times[i]!), maxMs: Math.max(...times[i]!), runs: times[i]!.length }));
}

/** Runs argv as the user and returns its stdout; throws with its stderr when it fails. */
export function outputAsUser(host: TestHost, argv: string[], env: Record<string, string> = {}, stdout: 'pipe' | 'inherit' = 'pipe'): string {
  const run = spawnSync('/bin/sh', asUserArgv(argv[0]!, argv.slice(1), { uid: host.uid, cgroup: host.cgroup }), {
    env: { ...userEnv(host.uid, host.user), ...env },
    cwd: '/',
    encoding: 'utf8',
    stdio: ['ignore', stdout, stdout === 'inherit' ? 'inherit' : 'pipe'],
    maxBuffer: 64 * 1024 * 1024,
  });
  if (run.status !== 0) {
    throw new Error(`${argv.join(' ')} (as ${host.user}) failed with status ${run.status ?? run.signal}${run.stderr ? `:\n${run.stderr}` : ''}`);
  }
  return run.stdout ?? '';
}

/** Like outputAsUser, but reports failure instead of throwing. */
export function tryAsUser(host: TestHost, argv: string[], env: Record<string, string> = {}): { ok: boolean; stdout: string; stderr: string } {
  const run = spawnSync('/bin/sh', asUserArgv(argv[0]!, argv.slice(1), { uid: host.uid, cgroup: host.cgroup }), {
    env: { ...userEnv(host.uid, host.user), ...env },
    cwd: '/',
    encoding: 'utf8',
  });
  return { ok: run.status === 0, stdout: run.stdout ?? '', stderr: run.stderr ?? '' };
}

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}
