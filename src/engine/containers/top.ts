/**
 * `tsc top`: the container's processes as the host sees them. They are found through the
 * container's cgroup when it has one (every process, however it was started), else as
 * the processes in its pid namespace. Without ps options, docker's default columns
 * (UID PID PPID C STIME TTY TIME CMD) are read from /proc; with options, the host's ps
 * prints them for exactly those pids.
 */
import { readdirSync, readFileSync, readlinkSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { EngineContext } from '../context.ts';
import { TscError } from '../errors.ts';
import { runProgram } from '../sys/exec.ts';
import { requireContainer } from './records.ts';
import { liveState } from './state.ts';

export interface TopResult {
  titles: string[];
  processes: string[][];
}

export async function topContainer(ctx: EngineContext, ref: string, psArgs: readonly string[]): Promise<TopResult> {
  const store = await ctx.store();
  const row = requireContainer(store.db, ref);
  const live = liveState(row, store.root);
  if (!live.running) throw new TscError('conflict', `container ${row.name} is not running`);
  const pids = row.config.cgroup ? cgroupPids(row.config.cgroup) : namespacePids(live.pid);
  if (psArgs.length > 0) {
    const result = await runProgram('ps', [...psArgs, '-p', pids.join(',') || '0']);
    if (result.status !== 0 && result.status !== 1) throw new TscError('invalid-argument', `ps ${psArgs.join(' ')} failed: ${result.stderr.trim()}`);
    const lines = result.stdout.trimEnd().split('\n');
    const titles = lines[0]!.trim().split(/\s+/);
    return { titles, processes: lines.slice(1).map((l) => splitRow(l, titles.length)) };
  }
  const hz = 100;
  const bootTime = Number(/^btime (\d+)$/m.exec(readFileSync('/proc/stat', 'utf8'))?.[1] ?? 0);
  const processes: string[][] = [];
  for (const pid of pids) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean).join(' ') || `[${stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'))}]`;
      const uid = statSync(`/proc/${pid}`).uid;
      const start = bootTime + Number(fields[19]) / hz;
      const cpu = (Number(fields[11]) + Number(fields[12])) / hz;
      const ttyNr = Number(fields[4]);
      processes.push([
        String(uid), String(pid), fields[1]!, '0', hhmm(start), ttyNr === 0 ? '?' : `pts/${ttyNr & 0xff}`, clock(cpu), cmdline,
      ]);
    } catch {
      // ended meanwhile
    }
  }
  return { titles: ['UID', 'PID', 'PPID', 'C', 'STIME', 'TTY', 'TIME', 'CMD'], processes };
}

function splitRow(line: string, columns: number): string[] {
  const parts = line.trim().split(/\s+/);
  return [...parts.slice(0, columns - 1), parts.slice(columns - 1).join(' ')];
}

function hhmm(seconds: number): string {
  const d = new Date(seconds * 1000);
  return `${String(d.getHours()).padStart(2, '0')}:${String(d.getMinutes()).padStart(2, '0')}`;
}

function clock(seconds: number): string {
  const s = Math.floor(seconds);
  return `${String(Math.floor(s / 3600)).padStart(2, '0')}:${String(Math.floor(s / 60) % 60).padStart(2, '0')}:${String(s % 60).padStart(2, '0')}`;
}

function cgroupPids(dir: string): number[] {
  const pids: number[] = [];
  const walk = (d: string) => {
    try {
      for (const line of readFileSync(join(d, 'cgroup.procs'), 'utf8').split('\n')) if (line) pids.push(Number(line));
      for (const entry of readdirSync(d, { withFileTypes: true })) if (entry.isDirectory()) walk(join(d, entry.name));
    } catch {
      // removed meanwhile
    }
  };
  walk(dir);
  return pids.sort((a, b) => a - b);
}

function namespacePids(pid1: number): number[] {
  const target = readlinkSync(`/proc/${pid1}/ns/pid`);
  const pids: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      if (readlinkSync(`/proc/${name}/ns/pid`) === target) pids.push(Number(name));
    } catch {
      // not ours to see, or gone
    }
  }
  return pids.sort((a, b) => a - b);
}
