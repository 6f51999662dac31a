/**
 * The `pull` suite: cold pulls of a ~50 MB gzip Debian minbase image (bench/debian-image.ts)
 * from the local registry by tsc, `podman pull` and `skopeo copy` to an OCI directory (a
 * download without unpacking: the floor for the transfer), all as the rootless test user
 * in its delegated cgroup, as scripts/as-test-user.sh runs things.
 *
 * Cold means: the tool's store holds nothing of the image and the page cache is dropped
 * (`sync; echo 3 > /proc/sys/vm/drop_caches`), so the registry's blobs, the tools' own
 * executables and the store are all read from disk. The stores stay on the disk file
 * system (not tmpfs), in bench-only directories, so the test suite's stores are left alone.
 * Runs are interleaved (tsc, podman, skopeo, tsc, ...) and timed here rather than by
 * hyperfine, which runs every run of one command before the next: this disk slows down
 * after repeated extract-and-delete, and that drift must not land on one tool. Each tool
 * pulls once untimed first, so every timed run starts from an initialised, empty store.
 * Needs root: it drops caches and acts as the test user.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, chownSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { basename, join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { testHost, type TestHost } from '../test/lib/env.ts';
import { asUserArgv, userEnv } from '../test/lib/users.ts';
import { builtTsc, ensureTools, table } from './common.ts';
import { ensureDebianImage, type BenchImage } from './debian-image.ts';

interface Tool {
  name: string;
  /** what is timed, as the user */
  argv: string[];
  /** empties the tool's store of the image (untimed) */
  clean: () => void;
}

interface ToolResult {
  name: string;
  command: string;
  version: string;
  seconds: number[];
  medianS: number;
  minS: number;
  maxS: number;
}

const PODMAN_CONFIG: Record<string, [string, string, string][]> = {
  'containers.conf': [['engine', 'runtime', 'runc'], ['engine', 'cgroup_manager', 'cgroupfs'], ['engine', 'events_logger', 'file']],
  'storage.conf': [['storage', 'driver', 'overlay']],
};
const WRITTEN_BY = '# written by tsc bench/pull.ts: what podman 4.3 needs on this host\n';

export async function pull(): Promise<Record<string, unknown>> {
  if (process.getuid?.() !== 0) throw new Error('the pull suite drops the page cache and acts as the test user: run it as root (sudo npm run bench pull)');
  const host = testHost;
  if (!host) throw new Error('the test host is not set up (run: sudo bash scripts/setup-host.sh)');
  const runs = Number(process.env.TSC_BENCH_RUNS || 5);
  if (!Number.isInteger(runs) || runs < 1) throw new Error(`TSC_BENCH_RUNS must be a positive integer, not ${process.env.TSC_BENCH_RUNS}`);
  ensureTools({ podman: 'podman', skopeo: 'skopeo' });
  const tsc = builtTsc();
  const image = await ensureDebianImage(host.registry);
  configurePodman(host);

  const home = `/home/${host.user}`;
  const base = join(home, '.local', 'share', 'tsc-bench');
  const podmanRun = `/run/user/${host.uid}/tsc-bench-podman`;
  for (const dir of [base, podmanRun]) rmSync(dir, { recursive: true, force: true });
  for (const dir of [join(home, '.local'), join(home, '.local', 'share'), base, join(base, 'skopeo'), podmanRun]) {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    chownSync(dir, host.uid, host.uid);
  }
  const as = (argv: string[]) => asUser(host, argv);
  const tscStore = join(base, 'tsc');
  const podman = ['podman', '--root', join(base, 'podman'), '--runroot', podmanRun];
  const oci = join(base, 'skopeo', 'oci');
  const tools: Tool[] = [
    {
      name: 'tsc',
      argv: ['env', `TSC_STORAGE_ROOT=${tscStore}`, tsc, 'pull', image.reference],
      clean: () => {
        as(['env', `TSC_STORAGE_ROOT=${tscStore}`, tsc, 'rmi', image.reference]);
        const left = ['layers', 'oci/blobs/sha256', 'oci/ingest', 'tmp'].flatMap((d) => entries(join(tscStore, d)).map((e) => `${d}/${e}`));
        if (left.length > 0) throw new Error(`tsc rmi left ${left.join(', ')} in ${tscStore}`);
      },
    },
    {
      name: 'podman',
      argv: [...podman, 'pull', '--quiet', '--tls-verify=false', image.reference],
      clean: () => {
        as([...podman, 'rmi', '--all', '--force']);
        const left = entries(join(base, 'podman', 'overlay')).filter((e) => e !== 'l' && !e.startsWith('.'));
        if (left.length > 0) throw new Error(`podman rmi left layers ${left.join(', ')} in ${join(base, 'podman')}`);
      },
    },
    {
      name: 'skopeo',
      argv: ['skopeo', 'copy', '--quiet', '--src-tls-verify=false', `docker://${image.reference}`, `oci:${oci}:minbase`],
      clean: () => rmSync(oci, { recursive: true, force: true }),
    },
  ];

  const storage = describeStorage(base);
  process.stdout.write(`\npull: cold pulls of ${image.reference} (${describeImage(image)}) as ${host.user} (rootless), ${runs} runs each, interleaved\n`);
  process.stdout.write(`cold: the tool's store emptied and the page cache dropped (sync; echo 3 > /proc/sys/vm/drop_caches) before every run; stores on ${storage}, not tmpfs\n`);
  for (const tool of tools) as(tool.argv); // untimed: initialises each store
  const loadBefore = loadavg()[0]!;
  const seconds = new Map(tools.map((t) => [t.name, [] as number[]]));
  for (let i = 0; i < runs; i++) {
    for (const tool of tools) {
      tool.clean();
      dropCaches();
      seconds.get(tool.name)!.push(as(tool.argv));
    }
  }
  for (const tool of tools) tool.clean();
  const load = { before: loadBefore, after: loadavg()[0]! };

  const versions: Record<string, string> = {
    tsc: execFileSync(tsc, ['--version']).toString().trim(),
    podman: execFileSync('podman', ['--version']).toString().trim(),
    skopeo: execFileSync('skopeo', ['--version']).toString().trim(),
  };
  const results: ToolResult[] = tools.map((t) => {
    const s = seconds.get(t.name)!;
    return { name: t.name, command: t.argv.join(' '), version: versions[t.name]!, seconds: s, medianS: median(s), minS: Math.min(...s), maxS: Math.max(...s) };
  });
  const by = (name: string) => results.find((r) => r.name === name)!;
  const mb = image.compressedBytes / 1e6;
  const rows = [['tool', 'median s', 'min s', 'max s', 'MB/s (gzip)', 'x podman']];
  for (const r of results) {
    rows.push([r.name, r.medianS.toFixed(2), r.minS.toFixed(2), r.maxS.toFixed(2), (mb / r.medianS).toFixed(1), (r.medianS / by('podman').medianS).toFixed(2)]);
  }
  process.stdout.write(`${table(rows)}\n`);
  process.stdout.write('(skopeo copy to an oci: directory only downloads; tsc and podman also unpack the layer)\n');
  for (const r of results) process.stdout.write(`  ${r.name}: ${r.command}\n`);
  const ratios = { tscOverPodman: by('tsc').medianS / by('podman').medianS, tscOverSkopeo: by('tsc').medianS / by('skopeo').medianS };
  process.stdout.write(`ratio tsc / podman pull: ${ratios.tscOverPodman.toFixed(2)} (target <= 0.6)\n`);
  process.stdout.write(`ratio tsc / skopeo copy: ${ratios.tscOverSkopeo.toFixed(2)}\n`);
  const busy = Math.max(load.before, load.after) > 1 ? ' (other work ran on this machine: the figures are noisy)' : '';
  process.stdout.write(`load average (1 min) before and after the timed runs: ${load.before.toFixed(2)}, ${load.after.toFixed(2)}${busy}\n`);
  return { image, runs, cold: 'store emptied and page cache dropped before every run', storage, load, results, ratios };
}

/** Runs argv as the test user in its delegated cgroup; returns the wall time in seconds. */
export function asUser(host: TestHost, argv: string[]): number {
  const started = performance.now();
  const run = spawnSync('/bin/sh', asUserArgv(argv[0]!, argv.slice(1), { uid: host.uid, cgroup: host.cgroup }), {
    env: userEnv(host.uid, host.user),
    cwd: '/',
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
  });
  const elapsed = (performance.now() - started) / 1000;
  if (run.status !== 0) throw new Error(`${argv.join(' ')} (as ${host.user}) failed with status ${run.status ?? run.signal}:\n${run.stderr}`);
  return elapsed;
}

function dropCaches(): void {
  execFileSync('sync');
  writeFileSync('/proc/sys/vm/drop_caches', '3\n');
}

function entries(dir: string): string[] {
  return existsSync(dir) ? readdirSync(dir) : [];
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

function describeImage(image: BenchImage): string {
  const mib = (bytes: number) => `${(bytes / 2 ** 20).toFixed(1)} MiB`;
  const unpacked = image.uncompressedBytes ? `, ${mib(image.uncompressedBytes)} as tar` : '';
  return `${image.layers} layer${image.layers === 1 ? '' : 's'}, ${mib(image.compressedBytes)} gzip${unpacked}`;
}

/** The file system holding dir, e.g. "ext4 without a journal (/dev/vda)". */
function describeStorage(dir: string): string {
  const [fstype = '?', source = '?'] = execFileSync('findmnt', ['-n', '-o', 'FSTYPE,SOURCE', '-T', dir]).toString().trim().split(/\s+/);
  if (fstype !== 'ext4') return `${fstype} (${source})`;
  // a journalled ext4 has a jbd2 entry named after its device, e.g. /proc/fs/jbd2/vda-8
  const journalled = entries('/proc/fs/jbd2').some((e) => e.startsWith(`${basename(source)}-`));
  return `ext4 ${journalled ? 'with' : 'without'} a journal (${source})`;
}

/**
 * Podman 4.3 here needs runc, cgroupfs and a file events log (there is no systemd), and
 * the overlay driver; the settings go into the user's config unless it has them already.
 * A config file the bench did not write and that lacks them is left alone, with an error.
 */
export function configurePodman(host: TestHost): void {
  const dir = join(`/home/${host.user}`, '.config', 'containers');
  for (const d of [join(`/home/${host.user}`, '.config'), dir]) {
    if (!existsSync(d)) {
      mkdirSync(d, { mode: 0o755 });
      chownSync(d, host.uid, host.uid);
    }
  }
  for (const [file, settings] of Object.entries(PODMAN_CONFIG)) {
    const path = join(dir, file);
    const current = existsSync(path) ? readFileSync(path, 'utf8') : undefined;
    if (current !== undefined && settings.every(([, key, value]) => new RegExp(`^\\s*${key}\\s*=\\s*"${value}"`, 'm').test(current))) continue;
    if (current !== undefined && !current.startsWith(WRITTEN_BY)) {
      throw new Error(`${path} lacks settings podman needs here (${settings.map(([s, k, v]) => `[${s}] ${k} = "${v}"`).join(', ')}); add them or remove the file`);
    }
    const sections = [...new Set(settings.map(([section]) => section))];
    const text = sections.map((s) => `[${s}]\n${settings.filter(([x]) => x === s).map(([, k, v]) => `${k} = "${v}"\n`).join('')}`).join('\n');
    writeFileSync(path, WRITTEN_BY + text);
    chownSync(path, host.uid, host.uid);
  }
}
