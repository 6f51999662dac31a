/**
 * `npm run bench`: speed and size of tsc against its peers, measured in one run on this
 * machine and reported as ratios (never asserted in tests). Installs what it compares
 * against (hyperfine, podman, skopeo) when missing, which needs root.
 *
 *   node bench/run.ts [startup] [pull] [run] [build]      (more suites join as the engine grows)
 *
 * startup: warm start-up times (hyperfine -N). pull: cold pulls of a Debian minbase image
 * from the local registry against podman and skopeo (bench/pull.ts; root only). run:
 * containers against podman and a bare runc floor: run latency, ps over 100 containers,
 * monitor memory against conmon, and where tsc's run time goes (bench/run-latency.ts;
 * root only). build: a small Dockerfile with tsc build against podman build, cold and cached
 * (bench/build.ts; root only).
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT } from '../build/common.ts';
import { builtTsc, ensureTools, table } from './common.ts';
import { pull } from './pull.ts';
import { runLatency } from './run-latency.ts';
import { buildBench } from './build.ts';

interface Measured {
  name: string;
  command: string;
  medianMs: number;
  meanMs: number;
  stddevMs: number;
}

/** Runs hyperfine over the commands (no shell, warm caches) and returns their timings. */
function hyperfine(commands: { name: string; command: string }[], runs = 40): Measured[] {
  const out = join(tmpdir(), `tsc-bench-${process.pid}.json`);
  const args = ['-N', '--warmup', '5', '--runs', String(runs), '--export-json', out, '--style', 'basic'];
  for (const c of commands) args.push('--command-name', c.name, c.command);
  execFileSync('hyperfine', args, { stdio: ['ignore', 'inherit', 'inherit'] });
  const results = (JSON.parse(readFileSync(out, 'utf8')) as { results: { command: string; median: number; mean: number; stddev: number }[] }).results;
  return results.map((r, i) => ({ name: commands[i]!.name, command: commands[i]!.command, medianMs: r.median * 1000, meanMs: r.mean * 1000, stddevMs: r.stddev * 1000 }));
}

function startup(): Record<string, unknown> {
  ensureTools({ hyperfine: 'hyperfine', podman: 'podman' });
  const tsc = builtTsc();
  const node = join(ROOT, 'node_modules', 'node', 'bin', 'node');
  const measured = hyperfine([
    { name: 'node -e 0', command: `${node} -e 0` },
    { name: 'tsc version', command: `${tsc} version` },
    { name: 'tsc --version', command: `${tsc} --version` },
    { name: 'tsc info --help', command: `${tsc} info --help` },
    { name: 'podman --version', command: 'podman --version' },
  ]);
  const by = (name: string) => measured.find((m) => m.name === name)!;
  const nodeMs = by('node -e 0').medianMs;
  const podmanMs = by('podman --version').medianMs;
  const rows = [['command', 'median ms', 'x node -e 0', 'x podman --version']];
  for (const m of measured) {
    rows.push([m.name, m.medianMs.toFixed(1), (m.medianMs / nodeMs).toFixed(2), (m.medianMs / podmanMs).toFixed(2)]);
  }
  const sizeMiB = statSync(tsc).size / 2 ** 20;
  const nodeVersion = execFileSync(node, ['--version']).toString().trim();
  process.stdout.write(`\nstart-up (hyperfine -N, warm, medians; node ${nodeVersion})\n${table(rows)}\n`);
  process.stdout.write(`\ndist/tsc: ${sizeMiB.toFixed(1)} MiB\n`);
  process.stdout.write(`ratio tsc version / node -e 0: ${(by('tsc version').medianMs / nodeMs).toFixed(2)} (target <= 2)\n`);
  return { measured, sizeMiB, nodeVersion };
}

const suites: Record<string, () => Record<string, unknown> | Promise<Record<string, unknown>>> = { startup, pull, run: runLatency, build: buildBench };
const wanted = process.argv.slice(2);
const chosen = wanted.length ? wanted : Object.keys(suites);
const report: Record<string, unknown> = { date: new Date().toISOString() };
for (const name of chosen) {
  const suite = suites[name];
  if (!suite) {
    process.stderr.write(`unknown bench suite ${name}: choose from ${Object.keys(suites).join(', ')}\n`);
    process.exit(2);
  }
  report[name] = await suite();
}
const dir = join(ROOT, 'bench', 'results');
mkdirSync(dir, { recursive: true });
const file = join(dir, `${report.date as string}.json`.replaceAll(':', '-'));
writeFileSync(file, `${JSON.stringify(report, null, 2)}\n`);
process.stdout.write(`\nresults: ${file}\n`);
