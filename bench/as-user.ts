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
  /** timed runs that succeeded (the statistics cover these only) */
  runs: number;
  /** runs that exited nonzero, with the first one's stderr when a rerun reproduced it */
  failures: number;
  failure?: string;
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
  const failures = commands.map(() => 0);
  const prepared = commands.some((c) => c.prepare !== undefined);
  try {
    for (let round = 0; round < rounds; round++) {
      const runs = Math.floor(options.runs / rounds) + (round < options.runs % rounds ? 1 : 0);
      const warmup = round === 0 ? (options.warmup ?? 3) : 1;
      // -i: a failing run is counted and left out, instead of ending the whole suite
      const args = ['-N', '-i', '--warmup', String(warmup), '--runs', String(runs), '--export-json', out, '--style', 'basic'];
      for (const c of commands) {
        if (prepared) args.push('--prepare', c.prepare ?? 'true');
        args.push('--command-name', c.name, c.command);
      }
      outputAsUser(host, ['hyperfine', ...args], options.env, 'inherit');
      const results = (JSON.parse(readFileSync(out, 'utf8')) as { results: { times: number[]; exit_codes: (number | null)[] }[] }).results;
      results.forEach((r, i) => {
        r.times.forEach((t, run) => {
          if (r.exit_codes[run] === 0) times[i]!.push(t * 1000);
          else failures[i]!++;
        });
      });
    }
  } finally {
    rmSync(out, { force: true });
  }
  return commands.map((c, i) => {
    if (times[i]!.length === 0) throw new Error(`every timed run of ${c.command} failed (as ${host.user}): ${rerun(host, c, options.env)}`);
    const timed: Timed = { name: c.name, command: c.command, medianMs: median(times[i]!), minMs: Math.min(...times[i]!), maxMs: Math.max(...times[i]!), runs: times[i]!.length, failures: failures[i]! };
    if (failures[i]! > 0) timed.failure = rerun(host, c, options.env);
    return timed;
  });
}

/** Runs a command that failed under hyperfine once more, for its error message. */
function rerun(host: TestHost, c: BenchCommand, env: Record<string, string> = {}): string {
  if (c.prepare) tryAsUser(host, c.prepare.split(' '), env);
  const again = tryAsUser(host, c.command.split(' '), env);
  return again.ok ? 'a rerun succeeded (intermittent failure)' : again.stderr.trim() || 'a rerun failed without a message';
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
