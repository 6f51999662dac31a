/**
 * The `run` suite: `tsc run --rm IMAGE true` against `podman run --rm IMAGE true` (runc,
 * cgroupfs: what podman 4.3 needs on this host), the same busybox image for both, warm
 * (images already pulled), as the rootless test user; hyperfine -N, interleaved by
 * hyperfine's own order, medians and the ratio. Needs root (it acts as the test user).
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { testHost } from '../test/lib/env.ts';
import { asUserArgv, userEnv } from '../test/lib/users.ts';
import { ROOT } from '../build/common.ts';
import { builtTsc, ensureTools, table } from './common.ts';
import { asUser, configurePodman } from './pull.ts';

export async function runLatency(): Promise<Record<string, unknown>> {
  ensureTools({ hyperfine: 'hyperfine', podman: 'podman', skopeo: 'skopeo' });
  const host = testHost;
  if (!host || process.getuid?.() !== 0) throw new Error('the run bench needs root and the test host (sudo bash scripts/setup-host.sh)');
  const tsc = builtTsc();
  const image = `${host.registry}/demo/busybox:latest`;
  execFileSync(join(ROOT, 'node_modules', 'node', 'bin', 'node'), [join(ROOT, 'scripts', 'demo-image.ts'), image], { stdio: 'inherit' });
  configurePodman(host);
  const home = `/home/${host.user}`;
  const podmanRoot = join(home, '.local', 'share', 'tsc-bench', 'podman-run');
  const podman = `podman --root ${podmanRoot} --runroot /run/user/${host.uid}/tsc-bench-podman-run`;
  const tscStore = join(home, '.local', 'share', 'tsc-bench', 'tsc-run');
  asUser(host, ['sh', '-c', `TSC_STORAGE_ROOT=${tscStore} ${tsc} pull -q ${image} >/dev/null`]);
  asUser(host, ['sh', '-c', `${podman} pull -q --tls-verify=false ${image} >/dev/null`]);
  const out = `/tmp/tsc-bench-run-${process.pid}.json`;
  const commands = [
    ['tsc run --rm', `env TSC_STORAGE_ROOT=${tscStore} ${tsc} run --rm ${image} true`],
    ['podman run --rm', `${podman} run --rm --network none ${image} true`],
  ];
  const hyperfine = ['hyperfine', '-N', '--warmup', '3', '--runs', process.env.TSC_BENCH_RUNS ?? '20', '--export-json', out, '--style', 'basic'];
  for (const [name, command] of commands) hyperfine.push('--command-name', name!, command!);
  const argv = asUserArgv(hyperfine[0]!, hyperfine.slice(1), { uid: host.uid, cgroup: host.cgroup });
  execFileSync('/bin/sh', argv, { stdio: 'inherit', env: userEnv(host.uid, host.user) });
  const results = (JSON.parse(readFileSync(out, 'utf8')) as { results: { median: number }[] }).results.map((r, i) => ({ name: commands[i]![0]!, medianMs: r.median * 1000 }));
  rmSync(out, { force: true });
  const podmanMs = results[1]!.medianMs;
  process.stdout.write(`\nrun latency (warm, rootless, hyperfine -N medians; image ${image})\n`);
  process.stdout.write(`${table([['command', 'median ms', 'x podman'], ...results.map((r) => [r.name, r.medianMs.toFixed(1), (r.medianMs / podmanMs).toFixed(2)])])}\n`);
  return { image, results };
}
