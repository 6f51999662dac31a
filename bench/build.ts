/**
 * The `build` suite: a fixed small Dockerfile (FROM busybox, RUN, COPY) built rootless as
 * the test user with tsc and with `podman build` (runc, cgroupfs), cold (`--no-cache`) and
 * cached, the base image already pulled by both; hyperfine -N medians and the ratios the
 * builder issue targets (tsc/podman at most 0.8 cold, 0.5 cached).
 *
 * TSC_BENCH_RUNS sets hyperfine's runs (default 20). Needs root (it acts as the test user).
 */
import { execFileSync } from 'node:child_process';
import { chownSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from '../build/common.ts';
import { testHost } from '../test/lib/env.ts';
import { hyperfineAsUser, outputAsUser, type BenchCommand } from './as-user.ts';
import { builtTsc, ensureTools, table } from './common.ts';
import { configurePodman } from './pull.ts';

export async function buildBench(): Promise<Record<string, unknown>> {
  ensureTools({ hyperfine: 'hyperfine', podman: 'podman', skopeo: 'skopeo' });
  const host = testHost;
  if (!host || process.getuid?.() !== 0) throw new Error('the build bench needs root and the test host (sudo bash scripts/setup-host.sh)');
  const runs = Number(process.env.TSC_BENCH_RUNS || 20);
  if (!Number.isInteger(runs) || runs < 3) throw new Error(`TSC_BENCH_RUNS must be an integer of at least 3, not ${process.env.TSC_BENCH_RUNS}`);
  const tsc = builtTsc();
  const image = `${host.registry}/demo/busybox:latest`;
  execFileSync(join(ROOT, 'node_modules', 'node', 'bin', 'node'), [join(ROOT, 'scripts', 'demo-image.ts'), image], { stdio: 'inherit' });
  configurePodman(host);
  const home = `/home/${host.user}`;
  const base = join(home, '.local', 'share', 'tsc-bench');
  const context = join(base, 'build-context');
  rmSync(context, { recursive: true, force: true });
  for (const dir of [join(home, '.local'), join(home, '.local', 'share'), base, context]) {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    chownSync(dir, host.uid, host.uid);
  }
  for (const [name, text] of [['Dockerfile', `FROM ${image}\nRUN echo built > /built.txt && ls /bin | wc -l > /applets.txt\nCOPY app.txt /app/app.txt\nCMD ["cat", "/app/app.txt"]\n`], ['app.txt', 'hello\n']] as const) {
    writeFileSync(join(context, name), text);
    chownSync(join(context, name), host.uid, host.uid);
  }
  const podman = `podman --root ${join(base, 'podman-build')} --runroot /run/user/${host.uid}/tsc-bench-podman-build`;
  const env = { TSC_STORAGE_ROOT: join(base, 'tsc-build') };
  outputAsUser(host, ['sh', '-c', `${tsc} pull -q ${image} >/dev/null && ${podman} pull -q --tls-verify=false ${image} >/dev/null`], env);
  // one build each first, so "cached" has a cache
  outputAsUser(host, ['sh', '-c', `${tsc} build -q -t bench-build ${context} >/dev/null && ${podman} build -q -t bench-build ${context} >/dev/null`], env);
  const commands: BenchCommand[] = [
    { name: 'tsc build --no-cache', command: `${tsc} build --no-cache -q -t bench-build ${context}` },
    { name: 'podman build --no-cache', command: `${podman} build --no-cache -q -t bench-build ${context}` },
    { name: 'tsc build (cached)', command: `${tsc} build -q -t bench-build ${context}` },
    { name: 'podman build (cached)', command: `${podman} build -q -t bench-build ${context}` },
  ];
  const timed = hyperfineAsUser(host, commands, { runs, env });
  const by = (name: string) => timed.find((t) => t.name === name)!;
  const cold = by('tsc build --no-cache').medianMs / by('podman build --no-cache').medianMs;
  const cached = by('tsc build (cached)').medianMs / by('podman build (cached)').medianMs;
  const out = (text: string) => process.stdout.write(`${text}\n`);
  out(`\n== build: FROM busybox, RUN, COPY; rootless (${host.user}), hyperfine -N medians of ${runs} runs`);
  out(table([['command', 'median ms', 'min ms', 'max ms'], ...timed.map((t) => [t.name, t.medianMs.toFixed(1), t.minMs.toFixed(1), t.maxMs.toFixed(1)])]));
  out(`ratio tsc / podman build, cold: ${cold.toFixed(2)} (target <= 0.8)`);
  out(`ratio tsc / podman build, cached: ${cached.toFixed(2)} (target <= 0.5)`);
  outputAsUser(host, ['sh', '-c', `${podman} system reset --force >/dev/null 2>&1; true`], env);
  return { timed, ratios: { cold, cached } };
}
