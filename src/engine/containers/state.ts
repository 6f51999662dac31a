/**
 * A container's live state. The database row says what tsc decided (created, started,
 * removing); once started, the container's monitor (the helper in `run` mode with
 * `detach`) owns the truth and rewrites state.json atomically at every transition. A
 * monitor that is gone (killed, or the machine rebooted) is detected by its pid, the
 * start time of that pid and the boot id, so a recycled pid is never taken for it.
 */
import { readFileSync } from 'node:fs';
import { rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { ContainerRow } from './records.ts';

/** state.json as the monitor writes it (docs/helper-protocol.md, "State file"). */
export interface MonitorState {
  status: 'starting' | 'running' | 'restarting' | 'exited' | 'failed';
  pid: number;
  pidStart: number;
  monitorPid: number;
  monitorStart: number;
  bootId: string;
  startedAt: string;
  finishedAt: string;
  exitCode: number;
  signal: number;
  restartCount: number;
  stopRequested: boolean;
  error: string;
}

export type ContainerStatus = 'created' | 'running' | 'paused' | 'restarting' | 'exited' | 'removing' | 'dead';

export interface LiveState {
  status: ContainerStatus;
  running: boolean;
  paused: boolean;
  /** host pid of the container's pid 1 while it runs, else 0 */
  pid: number;
  pidStart: number;
  monitorPid: number;
  exitCode: number;
  startedAt: string;
  finishedAt: string;
  restartCount: number;
  error: string;
}

const NEVER = '0001-01-01T00:00:00Z';

export function containerDir(storageRoot: string, id: string): string {
  return join(storageRoot, 'containers', id);
}

/**
 * Where the monitor's attach socket lives. A socket's path has at most 107 bytes, so the
 * directory is named by the first 16 hex digits of the id (64 random bits: two containers
 * sharing them is not a practical concern).
 */
export function attachSocketPath(runtimeDir: string, id: string): string {
  return join(runtimeDir, 'ctr', id.slice(0, 16), 'attach');
}

export function readMonitorState(dir: string): MonitorState | undefined {
  try {
    return JSON.parse(readFileSync(join(dir, 'state.json'), 'utf8')) as MonitorState;
  } catch {
    return undefined;
  }
}

/**
 * tsc's own record of an end its monitor could not write: the start failed (the monitor is
 * gone with it) or the monitor died. The same temp-file-and-rename as the monitor's; with
 * `onlyIfAbsent` a state file that appeared meanwhile (a monitor starting late) is kept.
 */
export async function writeEndState(dir: string, end: Pick<MonitorState, 'status' | 'exitCode' | 'error'> & Partial<MonitorState>, onlyIfAbsent = false): Promise<void> {
  const now = new Date().toISOString();
  const state: MonitorState = {
    pid: 0, pidStart: 0, monitorPid: 0, monitorStart: 0, bootId: '', startedAt: now, finishedAt: now,
    signal: 0, restartCount: 0, stopRequested: false, ...end,
  };
  const file = join(dir, 'state.json');
  if (onlyIfAbsent) {
    await writeFile(file, JSON.stringify(state), { flag: 'wx' }).catch((error: unknown) => {
      const code = (error as NodeJS.ErrnoException).code;
      if (code !== 'EEXIST' && code !== 'ENOENT') throw error;
    });
    return;
  }
  try {
    await writeFile(`${file}.tsc-tmp`, JSON.stringify(state));
    await rename(`${file}.tsc-tmp`, file);
  } catch (error) {
    // the container was removed meanwhile (a racing `rm -f`): nothing is left to record in
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
}

let bootId: string | undefined;
export function currentBootId(): string {
  return (bootId ??= readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim());
}

/**
 * Field 22 of /proc/PID/stat (start time in clock ticks), or undefined if there is no such
 * process, or only its zombie is left (a killed monitor stays one until it is reaped).
 */
export function processStartTime(pid: number): number | undefined {
  if (!(pid > 0)) return undefined;
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // the command name may contain spaces and parentheses: fields start after the last ')'
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  if (fields[0] === 'Z' || fields[0] === 'X') return undefined;
  return Number(fields[19]);
}

export function isAlive(pid: number, start: number, boot: string): boolean {
  return boot === currentBootId() && processStartTime(pid) === start;
}

function frozen(cgroup: string | undefined): boolean {
  if (!cgroup) return false;
  try {
    return /^frozen 1$/m.test(readFileSync(join(cgroup, 'cgroup.events'), 'utf8'));
  } catch {
    return false;
  }
}

export function liveState(row: ContainerRow, storageRoot: string): LiveState {
  const base: LiveState = {
    status: 'created', running: false, paused: false, pid: 0, pidStart: 0, monitorPid: 0, exitCode: 0,
    startedAt: NEVER, finishedAt: NEVER, restartCount: 0, error: '',
  };
  if (row.state === 'creating' || row.state === 'created') return base;
  if (row.state === 'removing') return { ...base, status: 'removing' };
  const m = readMonitorState(containerDir(storageRoot, row.id));
  if (!m) return { ...base, status: 'exited', exitCode: -1, error: 'the container has no state file (its monitor never wrote one)' };
  const common = {
    ...base, monitorPid: m.monitorPid, exitCode: m.exitCode, startedAt: m.startedAt || NEVER,
    finishedAt: m.finishedAt || NEVER, restartCount: m.restartCount, error: m.error,
  };
  if (m.status === 'exited' || m.status === 'failed') return { ...common, status: 'exited' };
  if (!isAlive(m.monitorPid, m.monitorStart, m.bootId)) {
    // the monitor died without recording an exit: the container died with it
    return { ...common, status: 'exited', exitCode: -1, error: m.error || 'the container\'s monitor is gone (killed, or the machine restarted)' };
  }
  if (m.status === 'restarting') return { ...common, status: 'restarting' };
  if (m.status === 'starting') return { ...common, status: 'running', running: true };
  const paused = frozen(row.config.cgroup);
  return { ...common, status: paused ? 'paused' : 'running', running: true, paused, pid: m.pid, pidStart: m.pidStart };
}

/** docker's human durations: "Less than a second", "5 seconds", "About a minute", "3 hours". */
export function humanDuration(ms: number): string {
  const s = Math.round(ms / 1000);
  if (s < 1) return 'Less than a second';
  if (s === 1) return '1 second';
  if (s < 60) return `${s} seconds`;
  const m = Math.round(s / 60);
  if (m === 1) return 'About a minute';
  if (m < 60) return `${m} minutes`;
  const h = Math.round(s / 3600);
  if (h === 1) return 'About an hour';
  if (h < 48) return `${h} hours`;
  const d = Math.floor(h / 24);
  if (d < 14) return `${d} days`;
  if (d < 60) return `${Math.floor(d / 7)} weeks`;
  if (d < 730) return `${Math.floor(d / 30)} months`;
  return `${Math.floor(d / 365)} years`;
}

/** The STATUS column of `ps`: "Up 5 seconds (Paused)", "Exited (0) 3 minutes ago", "Created". */
export function statusText(state: LiveState, now: number): string {
  switch (state.status) {
    case 'created':
      return 'Created';
    case 'removing':
      return 'Removal In Progress';
    case 'restarting':
      return `Restarting (${state.exitCode}) ${humanDuration(now - Date.parse(state.finishedAt))} ago`;
    case 'running':
    case 'paused':
      return `Up ${humanDuration(now - Date.parse(state.startedAt))}${state.paused ? ' (Paused)' : ''}`;
    case 'dead':
      return 'Dead';
    case 'exited':
      return state.finishedAt === NEVER ? `Exited (${state.exitCode})` : `Exited (${state.exitCode}) ${humanDuration(now - Date.parse(state.finishedAt))} ago`;
  }
}
