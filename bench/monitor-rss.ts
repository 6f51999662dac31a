/**
 * What each running container costs in memory outside itself: tsc's per-container monitor
 * (the helper in `run` mode with `detach`, docs/helper-protocol.md) against podman's
 * conmon. N detached `sleep 600` containers per engine (--network none, so no pasta or
 * slirp4netns process joins either side), then RSS (VmRSS of /proc/PID/status) and PSS
 * (/proc/PID/smaps_rollup, which shares pages among the N copies) of every monitor and
 * every conmon, read as root. The tsc monitor is the parent of the container's pid 1 and
 * runs from a sealed memfd (/proc/PID/exe is `/memfd:tsc-helper…`); conmon is
 * `.State.ConmonPid` of podman inspect.
 */
import { readFileSync, readlinkSync } from 'node:fs';
import type { TestHost } from '../test/lib/env.ts';
import { median, outputAsUser } from './as-user.ts';

export interface ProcessMemory {
  pid: number;
  exe: string;
  rssKiB: number;
  pssKiB: number;
  /** Private_Clean + Private_Dirty: what this process alone holds */
  privateKiB: number;
  /** Pss_Shmem: for a tsc monitor, the mapped part of its own sealed memfd copy of the helper */
  shmemKiB: number;
}

export interface MonitorResult {
  containers: number;
  tsc: ProcessMemory[];
  conmon: ProcessMemory[];
  medians: { tscRssKiB: number; tscPssKiB: number; tscPrivateKiB: number; tscShmemKiB: number; conmonRssKiB: number; conmonPssKiB: number; conmonPrivateKiB: number };
  ratios: { rss: number; pss: number; private: number };
}

export interface MonitorSetup {
  host: TestHost;
  tsc: string;
  tscStore: string;
  podman: string;
  image: string;
  containers?: number;
}

export function monitorRss(s: MonitorSetup): MonitorResult {
  const n = s.containers ?? 10;
  const env = { TSC_STORAGE_ROOT: s.tscStore };
  const label = 'tsc-bench=monitor';
  const podman = s.podman.split(' ');
  const cleanup = () => {
    outputAsUser(s.host, ['sh', '-c', `ids=$(${s.tsc} ps -a -q --filter label=${label}); [ -z "$ids" ] || ${s.tsc} rm -f $ids >/dev/null`], env);
    outputAsUser(s.host, ['sh', '-c', `ids=$(${s.podman} ps -a -q --filter label=${label}); [ -z "$ids" ] || ${s.podman} rm -f -t 0 $ids >/dev/null`]);
  };
  cleanup();
  try {
    process.stdout.write(`\nmonitor memory: starting ${n} detached sleeping containers with each engine\n`);
    const start = (engine: string) => `i=0; while [ $i -lt ${n} ]; do ${engine} run -d --network none --label ${label} ${s.image} sleep 600 >/dev/null || exit 1; i=$((i+1)); done`;
    outputAsUser(s.host, ['sh', '-c', start(s.tsc)], env);
    outputAsUser(s.host, ['sh', '-c', start(s.podman)]);
    const tscPids = outputAsUser(s.host, [s.tsc, 'ps', '--filter', `label=${label}`, '--format', '{{.Pid}}'], env).trim().split('\n').map(Number);
    const tsc = tscPids.map((pid) => memory(parentOf(pid)));
    for (const m of tsc) if (!m.exe.startsWith('/memfd:tsc-helper')) throw new Error(`the parent of a tsc container's pid 1 is ${m.exe}, not the monitor (/memfd:tsc-helper)`);
    const ids = outputAsUser(s.host, [...podman, 'ps', '-q', '--filter', `label=${label}`]).trim().split('\n');
    const conmonPids = outputAsUser(s.host, [...podman, 'inspect', '-f', '{{.State.ConmonPid}}', ...ids]).trim().split('\n').map(Number);
    const conmon = conmonPids.map(memory);
    if (tsc.length !== n || conmon.length !== n) throw new Error(`expected ${n} monitors and ${n} conmons, found ${tsc.length} and ${conmon.length}`);
    const medians = {
      tscRssKiB: median(tsc.map((m) => m.rssKiB)),
      tscPssKiB: median(tsc.map((m) => m.pssKiB)),
      tscPrivateKiB: median(tsc.map((m) => m.privateKiB)),
      tscShmemKiB: median(tsc.map((m) => m.shmemKiB)),
      conmonRssKiB: median(conmon.map((m) => m.rssKiB)),
      conmonPssKiB: median(conmon.map((m) => m.pssKiB)),
      conmonPrivateKiB: median(conmon.map((m) => m.privateKiB)),
    };
    return { containers: n, tsc, conmon, medians, ratios: {
      rss: medians.tscRssKiB / medians.conmonRssKiB,
      pss: medians.tscPssKiB / medians.conmonPssKiB,
      private: medians.tscPrivateKiB / medians.conmonPrivateKiB,
    } };
  } finally {
    cleanup();
  }
}

function parentOf(pid: number): number {
  const ppid = /^PPid:\s+(\d+)$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
  if (!ppid) throw new Error(`no PPid in /proc/${pid}/status`);
  return Number(ppid);
}

function memory(pid: number): ProcessMemory {
  const kib = (text: string, field: string) => {
    const value = new RegExp(`^${field}:\\s+(\\d+) kB$`, 'm').exec(text)?.[1];
    if (value === undefined) throw new Error(`no ${field} for pid ${pid}`);
    return Number(value);
  };
  const rollup = readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8');
  return {
    pid,
    exe: readlinkSync(`/proc/${pid}/exe`),
    rssKiB: kib(readFileSync(`/proc/${pid}/status`, 'utf8'), 'VmRSS'),
    pssKiB: kib(rollup, 'Pss'),
    privateKiB: kib(rollup, 'Private_Clean') + kib(rollup, 'Private_Dirty'),
    shmemKiB: /^Pss_Shmem:/m.test(rollup) ? kib(rollup, 'Pss_Shmem') : 0,
  };
}
