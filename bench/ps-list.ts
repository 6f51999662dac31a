/**
 * Listing many containers: `tsc ps -a` against `podman ps -a`, each over a private store
 * holding 100 created (never started) containers of the same image, as the test user.
 * The stores are made for this and removed afterwards, so other suites and the tests see
 * none of these containers.
 */
import { rmSync } from 'node:fs';
import type { TestHost } from '../test/lib/env.ts';
import { hyperfineAsUser, outputAsUser, type Timed } from './as-user.ts';

export interface PsResult {
  containers: number;
  tsc: Timed;
  podman: Timed;
  ratio: number;
  /** every timed command, for the failure report */
  timed: Timed[];
}

export interface PsSetup {
  host: TestHost;
  tsc: string;
  image: string;
  /** a directory of the user's for the private stores */
  base: string;
  runs: number;
  containers?: number;
}

export function psList(s: PsSetup): PsResult {
  const count = s.containers ?? 100;
  const tscStore = `${s.base}/tsc-ps`;
  const podmanRoot = `${s.base}/podman-ps`;
  const runroot = `/run/user/${s.host.uid}/tsc-bench-podman-ps`;
  const podman = `podman --root ${podmanRoot} --runroot ${runroot}`;
  const env = { TSC_STORAGE_ROOT: tscStore };
  const cleanup = () => {
    outputAsUser(s.host, ['sh', '-c', `${podman} rm -a -f -t 0 >/dev/null 2>&1 || true`]);
    // as root: podman's store holds files of the user's subordinate ids
    for (const dir of [tscStore, podmanRoot, runroot]) rmSync(dir, { recursive: true, force: true });
  };
  cleanup();
  try {
    process.stdout.write(`\nps: creating ${count} containers with tsc create and with podman create (private stores)\n`);
    outputAsUser(s.host, ['sh', '-c', `${s.tsc} pull -q ${s.image} >/dev/null && ${podman} pull -q --tls-verify=false ${s.image} >/dev/null`], env);
    const loop = (create: string) => `i=0; while [ $i -lt ${count} ]; do ${create} ${s.image} true >/dev/null || exit 1; i=$((i+1)); done`;
    outputAsUser(s.host, ['sh', '-c', loop(`${s.tsc} create --network none`)], env);
    outputAsUser(s.host, ['sh', '-c', loop(`${podman} create --network none`)]);
    const listed = (argv: string[]) => outputAsUser(s.host, argv, env).trim().split('\n').filter(Boolean).length;
    const tscCount = listed([s.tsc, 'ps', '-a', '-q']);
    const podmanCount = listed([...podman.split(' '), 'ps', '-a', '-q']);
    if (tscCount !== count || podmanCount !== count) throw new Error(`expected ${count} containers in each store, tsc ps lists ${tscCount}, podman ps ${podmanCount}`);
    const [tsc, pod] = hyperfineAsUser(s.host, [
      { name: `tsc ps -a (${count})`, command: `${s.tsc} ps -a` },
      { name: `podman ps -a (${count})`, command: `${podman} ps -a` },
    ], { runs: s.runs, env });
    return { containers: count, tsc: tsc!, podman: pod!, ratio: tsc!.medianMs / pod!.medianMs, timed: [tsc!, pod!] };
  } finally {
    cleanup();
  }
}
