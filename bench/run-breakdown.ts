/**
 * Where `tsc run --rm IMAGE true` spends its time, as separately timed pieces (no tracing
 * inside tsc): `node -e 0` (the runtime alone), `tsc version` (Node start-up and loading the CLI, paid by every command),
 * `tsc create`, `tsc start -a` of a created `true` container, `tsc rm` of a created one,
 * and the native helper alone (bench/helper-alone.ts: the configuration `tsc start`
 * sends, captured through TSC_HELPER, without the monitor keys, run in the foreground).
 * Each piece minus `tsc version` is that command's own work; together they should come
 * close to one `tsc run --rm`, timed in the same hyperfine run (all six interleaved).
 */
import { chmodSync, chownSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from '../build/common.ts';
import type { TestHost } from '../test/lib/env.ts';
import { hyperfineAsUser, median, outputAsUser, type Timed } from './as-user.ts';

export interface BreakdownSetup {
  host: TestHost;
  tsc: string;
  tscStore: string;
  image: string;
  /** a directory of the user's for the capture */
  base: string;
  runs: number;
}

export interface Step {
  name: string;
  command: string;
  medianMs: number;
  minMs: number;
  /** medianMs less the start-up every tsc command pays (tsc version) */
  ownMs: number;
}

export interface Breakdown {
  /** every timed command, for the failure report */
  timed: Timed[];
  run: Timed;
  /** the bare Node runtime tsc is built on (its single executable adds the CLI) */
  node: Timed;
  startup: Timed;
  steps: Step[];
  helper: { medianMs: number; /** the configuration timed */ config: string; note: string };
  /** start-up once plus the own work of create, start and rm: what run --rm should cost */
  sumMs: number;
}

/** Keys of the helper's `run` configuration that make it a monitor (monitor-contract.md). */
const MONITOR_KEYS = new Set(['detach', 'state', 'log', 'attach', 'attach-fd', 'exit-cmd', 'restart', 'log-max-size']);
const LABEL = 'tsc-bench=breakdown';

export function runBreakdown(s: BreakdownSetup): Breakdown {
  const env = { TSC_STORAGE_ROOT: s.tscStore };
  const create = `${s.tsc} create --network none --label ${LABEL}`;
  const cleanup = () => outputAsUser(s.host, ['sh', '-c', `ids=$(${s.tsc} ps -a -q --filter label=${LABEL}); [ -z "$ids" ] || ${s.tsc} rm -f $ids >/dev/null`], env);
  cleanup();
  try {
    outputAsUser(s.host, ['sh', '-c', `${create} --name tsc-bench-start ${s.image} true >/dev/null`], env);
    const node = join(ROOT, 'node_modules', 'node', 'bin', 'node');
    // one hyperfine run for all, so the rounds interleave them under the same load; only
    // rm needs its prepare step (a container to remove), the others get a no-op one
    const timed = hyperfineAsUser(s.host, [
      { name: 'node -e 0', command: `${node} -e 0` },
      { name: 'tsc version', command: `${s.tsc} version` },
      { name: 'tsc create', command: `${create} ${s.image} true` },
      { name: 'tsc start -a', command: `${s.tsc} start -a tsc-bench-start` },
      { name: 'tsc rm', command: `${s.tsc} rm tsc-bench-rm`, prepare: `${create} --name tsc-bench-rm ${s.image} true` },
      { name: 'tsc run --rm', command: `${s.tsc} run --rm --network none ${s.image} true` },
    ], { runs: s.runs, env });
    const by = (name: string) => timed.find((t) => t.name === name)!;
    const startup = by('tsc version');
    const steps: Step[] = [by('tsc create'), by('tsc start -a'), by('tsc rm')].map((t) => ({ name: t.name, command: t.command, medianMs: t.medianMs, minMs: t.minMs, ownMs: t.medianMs - startup.medianMs }));
    const helper = helperAlone(s, env);
    return { timed, run: by('tsc run --rm'), node: by('node -e 0'), startup, steps, helper, sumMs: startup.medianMs + steps.reduce((sum, step) => sum + step.ownMs, 0) };
  } finally {
    cleanup();
  }
}

/** Captures what `tsc start` hands the helper, drops the monitor keys and times the rest. */
function helperAlone(s: BreakdownSetup, env: Record<string, string>): Breakdown['helper'] {
  const capture = join(s.base, 'helper-capture');
  const wrapper = join(s.base, 'helper-wrapper.sh');
  const helper = join(ROOT, 'dist', 'native', 'tsc-helper');
  outputAsUser(s.host, ['sh', '-c', `rm -rf ${capture} && mkdir -p ${capture}`]);
  // the configuration arrives on fd 3: keep a copy of the `run` one and fail that start
  // (every other mode goes to the real helper)
  writeFileSync(wrapper, ['#!/bin/sh', `[ "$1" = run ] || exec ${helper} "$@"`, `cat <&3 >${capture}/run-$$`, 'exit 1', ''].join('\n'));
  chownSync(wrapper, s.host.uid, s.host.uid);
  chmodSync(wrapper, 0o700);
  outputAsUser(s.host, ['sh', '-c', `${s.tsc} create --network none --label ${LABEL} --name tsc-bench-helper ${s.image} true >/dev/null`], env);
  outputAsUser(s.host, ['sh', '-c', `${s.tsc} start -a tsc-bench-helper >/dev/null 2>&1 || true`], { ...env, TSC_HELPER: wrapper });
  const captured = readdirSync(capture).filter((f) => f.startsWith('run-'));
  if (captured.length !== 1) throw new Error(`expected one captured helper run configuration in ${capture}, found ${captured.length}`);
  const lines = readFileSync(join(capture, captured[0]!), 'utf8').split('\n').filter((l) => l && !MONITOR_KEYS.has(l.slice(0, l.indexOf(' '))));
  const config = join(s.base, 'helper-run.conf');
  writeFileSync(config, `${lines.join('\n')}\n`);
  chownSync(config, s.host.uid, s.host.uid);
  const node = join(ROOT, 'node_modules', 'node', 'bin', 'node');
  let times: number[];
  try {
    times = JSON.parse(outputAsUser(s.host, [node, join(ROOT, 'bench', 'helper-alone.ts'), helper, config, String(s.runs)])) as number[];
  } finally {
    for (const path of [capture, wrapper, config]) rmSync(path, { recursive: true, force: true });
  }
  return {
    medianMs: median(times),
    config: lines.join('\n'),
    note: 'foreground helper run (no detach/monitor, no log, no attach socket), spawned from Node; includes fork+exec of the helper and its memfd re-exec',
  };
}
