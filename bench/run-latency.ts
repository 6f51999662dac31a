/**
 * The `run` suite: what running containers costs with tsc against podman 4.3 (runc,
 * cgroupfs: what it needs on this host) and against a bare runtime floor, all rootless as
 * the test user with the busybox image already pulled (warm), in one run:
 *
 *  1. latency: `run --rm IMAGE true` of each engine with `--network none` and with its
 *     default network (which one that is gets probed and printed), and the floor
 *     (bench/run-floor.ts); hyperfine -N medians, ratios tsc/podman and tsc/floor;
 *  2. `ps -a` over 100 created containers in private stores (bench/ps-list.ts);
 *  3. memory of tsc's per-container monitor against conmon (bench/monitor-rss.ts);
 *  4. where tsc's run time goes (bench/run-breakdown.ts).
 *
 * TSC_BENCH_RUNS sets hyperfine's runs (default 20). Needs root (it acts as the test user).
 */
import { execFileSync } from 'node:child_process';
import { chownSync, mkdirSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { testHost, type TestHost } from '../test/lib/env.ts';
import { ROOT } from '../build/common.ts';
import { builtTsc, ensureTools, table } from './common.ts';
import { hyperfineAsUser, outputAsUser, tryAsUser, type BenchCommand, type Timed } from './as-user.ts';
import { monitorRss } from './monitor-rss.ts';
import { psList } from './ps-list.ts';
import { runBreakdown } from './run-breakdown.ts';
import { prepareFloor } from './run-floor.ts';
import { configurePodman } from './pull.ts';

export interface DefaultNetwork {
  /** what the engine says or is documented to use by default */
  mode: string;
  /** interfaces other than lo inside a default container */
  interfaces: string[];
  /** true when the default could be timed (tsc run without --network succeeded) */
  works: boolean;
  note: string;
}

export async function runLatency(): Promise<Record<string, unknown>> {
  ensureTools({ hyperfine: 'hyperfine', podman: 'podman', skopeo: 'skopeo', runc: 'runc' });
  const host = testHost;
  if (!host || process.getuid?.() !== 0) throw new Error('the run bench needs root and the test host (sudo bash scripts/setup-host.sh)');
  const runs = Number(process.env.TSC_BENCH_RUNS || 20);
  if (!Number.isInteger(runs) || runs < 3) throw new Error(`TSC_BENCH_RUNS must be an integer of at least 3, not ${process.env.TSC_BENCH_RUNS}`);
  const tsc = builtTsc();
  const image = `${host.registry}/demo/busybox:latest`;
  execFileSync(join(ROOT, 'node_modules', 'node', 'bin', 'node'), [join(ROOT, 'scripts', 'demo-image.ts'), image], { stdio: 'inherit' });
  configurePodman(host);
  const home = `/home/${host.user}`;
  const base = join(home, '.local', 'share', 'tsc-bench');
  for (const dir of [join(home, '.local'), join(home, '.local', 'share'), base]) {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    chownSync(dir, host.uid, host.uid);
  }
  const podman = `podman --root ${join(base, 'podman-run')} --runroot /run/user/${host.uid}/tsc-bench-podman-run`;
  const tscStore = join(base, 'tsc-run');
  const env = { TSC_STORAGE_ROOT: tscStore };
  outputAsUser(host, ['sh', '-c', `${tsc} pull -q ${image} >/dev/null && ${podman} pull -q --tls-verify=false ${image} >/dev/null`], env);

  const loadBefore = loadavg()[0]!;
  // 1. latency
  const networks = { tsc: tscDefaultNetwork(host, tsc, image, env), podman: podmanDefaultNetwork(host, podman, image) };
  const floor = prepareFloor(host, join(base, 'floor'), tscStore);
  const commands: BenchCommand[] = [
    { name: 'tsc run --rm --network none', command: `${tsc} run --rm --network none ${image} true` },
    ...(networks.tsc.works ? [{ name: `tsc run --rm (default: ${networks.tsc.mode})`, command: `${tsc} run --rm ${image} true` }] : []),
    { name: 'podman run --rm --network none', command: `${podman} run --rm --network none ${image} true` },
    { name: `podman run --rm (default: ${networks.podman.mode})`, command: `${podman} run --rm ${image} true` },
    floor.command,
  ];
  process.stdout.write(`\nrun latency: ${runs} runs each, warm, as ${host.user}; floor: ${floor.kind}${floor.why ? ` (${floor.why})` : ''}\n`);
  const latency = hyperfineAsUser(host, commands, { runs, env });
  const byName = (name: string) => latency.find((t) => t.name === name);
  const tscNone = byName(commands[0]!.name)!;
  const tscDefault = networks.tsc.works ? byName(commands[1]!.name) : undefined;
  const podmanNone = byName('podman run --rm --network none')!;
  const podmanDefault = byName(`podman run --rm (default: ${networks.podman.mode})`)!;
  const floorMs = byName(floor.command.name)!.medianMs;
  const ratios = {
    noneTscOverPodman: tscNone.medianMs / podmanNone.medianMs,
    noneTscOverFloor: tscNone.medianMs / floorMs,
    ...(tscDefault ? { defaultTscOverPodman: tscDefault.medianMs / podmanDefault.medianMs, defaultTscOverFloor: tscDefault.medianMs / floorMs } : {}),
  };

  // 2-4
  const ps = psList({ host, tsc, image, base, runs });
  const monitors = monitorRss({ host, tsc, tscStore, podman, image });
  const breakdown = runBreakdown({ host, tsc, tscStore, image, base, runs });
  const load = { before: loadBefore, after: loadavg()[0]! };

  const out = (text: string) => process.stdout.write(`${text}\n`);
  out(`\n== run: ${image}, rootless (${host.user}), warm, hyperfine -N medians of ${runs} runs in rounds (commands interleaved per round)`);
  out(`tsc default network: ${networks.tsc.note}`);
  out(`podman default network: ${networks.podman.note}`);
  out(`floor: ${floor.kind === 'runc' ? 'runc run of a rootless OCI bundle (runc spec --rootless + a network namespace)' : `unshare + chroot (${floor.why})`}: ${floor.command.command}`);
  out(table([['command', 'median ms', 'min ms', 'max ms', 'x podman (same net)', 'x floor'], ...latency.map((t) => {
    const peer = t.name.startsWith('tsc') ? (t === tscNone ? podmanNone : podmanDefault) : undefined;
    return [t.name, t.medianMs.toFixed(1), t.minMs.toFixed(1), t.maxMs.toFixed(1), peer ? (t.medianMs / peer.medianMs).toFixed(2) : '', (t.medianMs / floorMs).toFixed(1)];
  })]));
  reportFailures(out, [...latency, ...ps.timed, ...breakdown.timed]);
  out(`ratio tsc / podman run --rm, --network none: ${ratios.noneTscOverPodman.toFixed(2)} (target <= 0.5)`);
  if (tscDefault) out(`ratio tsc / podman run --rm, default networks (${networks.tsc.mode} vs ${networks.podman.mode}): ${(ratios.defaultTscOverPodman ?? 0).toFixed(2)} (target <= 0.5)`);
  out(`ratio tsc / floor (${floor.kind}), --network none: ${ratios.noneTscOverFloor.toFixed(1)}`);

  out(`\n== ps -a over ${ps.containers} created containers (private stores)`);
  out(table([['command', 'median ms', 'min ms', 'max ms'], ...[ps.tsc, ps.podman].map((t) => [t.name, t.medianMs.toFixed(1), t.minMs.toFixed(1), t.maxMs.toFixed(1)])]));
  out(`ratio tsc / podman ps -a: ${ps.ratio.toFixed(2)} (target <= 1)`);

  const m = monitors.medians;
  out(`\n== per-container monitor memory, ${monitors.containers} detached sleep containers each (--network none), medians`);
  out(table([
    ['process', 'RSS KiB', 'PSS KiB', 'private KiB'],
    ['tsc monitor (helper run detach)', String(m.tscRssKiB), String(m.tscPssKiB), String(m.tscPrivateKiB)],
    ['conmon', String(m.conmonRssKiB), String(m.conmonPssKiB), String(m.conmonPrivateKiB)],
    ['ratio tsc / conmon', monitors.ratios.rss.toFixed(2), monitors.ratios.pss.toFixed(2), monitors.ratios.private.toFixed(2)],
  ]));
  out('(PSS splits shared pages among the processes sharing them; private = Private_Clean + Private_Dirty)');
  if (m.tscShmemKiB > 0) out(`of a tsc monitor's PSS, ${m.tscShmemKiB} KiB is the mapped part of its own sealed memfd copy of the helper, shared with no other monitor`);

  const b = breakdown;
  const pct = (ms: number) => `${((ms / b.run.medianMs) * 100).toFixed(0)}%`;
  out(`\n== where tsc run --rm --network none goes (${b.run.medianMs.toFixed(1)} ms median, same hyperfine run)`);
  out(table([
    ['piece', 'median ms', 'min ms', 'own ms', 'share of run'],
    ['tsc run --rm --network none', b.run.medianMs.toFixed(1), b.run.minMs.toFixed(1), '', '100%'],
    ['node -e 0 (the runtime alone)', b.node.medianMs.toFixed(1), b.node.minMs.toFixed(1), '', pct(b.node.medianMs)],
    ['tsc version (Node start-up + CLI load)', b.startup.medianMs.toFixed(1), b.startup.minMs.toFixed(1), b.startup.medianMs.toFixed(1), pct(b.startup.medianMs)],
    ...b.steps.map((st) => [st.name, st.medianMs.toFixed(1), st.minMs.toFixed(1), st.ownMs.toFixed(1), pct(st.ownMs)]),
    ['  of which the helper alone (foreground)', b.helper.medianMs.toFixed(1), '', '', pct(b.helper.medianMs)],
    ['start-up + own(create, start -a, rm)', b.sumMs.toFixed(1), '', '', pct(b.sumMs)],
    ['runtime floor', floorMs.toFixed(1), '', '', pct(floorMs)],
  ]));
  out('(own ms = the command less tsc version; the helper alone is part of start -a)');

  const busy = Math.max(load.before, load.after) > 1 ? ` (other work ran on this machine, ${cpus().length} CPUs: the figures are noisy)` : '';
  out(`\nload average (1 min) before and after: ${load.before.toFixed(2)}, ${load.after.toFixed(2)}${busy}`);
  return { image, runs, load, networks, floor, latency, ratios, ps, monitors, breakdown };
}

/** Timed commands that failed in some runs (left out of their statistics), so it shows. */
function reportFailures(out: (text: string) => void, timed: Timed[]): void {
  for (const t of timed.filter((x) => x.failures > 0)) {
    out(`FAILED ${t.failures} of ${t.failures + t.runs} runs, left out of the figures: ${t.command}\n  ${t.failure ?? ''}`);
  }
}

/** Interfaces other than lo in /proc/net/dev output. */
function interfaces(netDev: string): string[] {
  return netDev.split('\n').slice(2).map((l) => l.split(':')[0]!.trim()).filter((name) => name && name !== 'lo');
}

function tscDefaultNetwork(host: TestHost, tsc: string, image: string, env: Record<string, string>): DefaultNetwork {
  const probe = tryAsUser(host, [tsc, 'run', '--rm', image, 'cat', '/proc/net/dev'], env);
  if (!probe.ok) {
    return { mode: 'fails', interfaces: [], works: false, note: `tsc run without --network fails, so only --network none is timed: ${probe.stderr.trim().split('\n')[0] ?? ''}` };
  }
  const found = interfaces(probe.stdout);
  if (found.length === 0) {
    return { mode: 'none (not pasta yet)', interfaces: [], works: true, note: 'tsc run without --network gives the container only lo: networking has not landed, the default is not pasta yet, so this row is a second --network none' };
  }
  return { mode: 'pasta', interfaces: found, works: true, note: `tsc run without --network gives the container ${found.join(', ')} (pasta)` };
}

function podmanDefaultNetwork(host: TestHost, podman: string, image: string): DefaultNetwork {
  const mode = outputAsUser(host, ['sh', '-c', `id=$(${podman} create ${image} true) && ${podman} inspect -f '{{.HostConfig.NetworkMode}}' $id && ${podman} rm $id >/dev/null`]).trim();
  const found = interfaces(outputAsUser(host, [...podman.split(' '), 'run', '--rm', image, 'cat', '/proc/net/dev']));
  return { mode, interfaces: found, works: true, note: `${mode} (the container sees ${found.join(', ') || 'only lo'})` };
}
