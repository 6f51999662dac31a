/**
 * The docker run flags that shape a container's runtime config, as the CLI (or the API
 * server) collects them, and the pure parsers for their values. Flag values stay text
 * here so that every error can name the flag and the value the user typed.
 */
import { TscError } from '../../errors.ts';
import type { Rlimit } from './types.ts';
import { RLIM_INFINITY } from './types.ts';

/** How the container reaches the network; pasta and slirp4netns get a new net namespace. */
export type NetworkMode = 'none' | 'host' | 'pasta' | 'slirp4netns';

export const NETWORK_MODES: readonly NetworkMode[] = ['none', 'host', 'pasta', 'slirp4netns'];

export interface EnvFile {
  /** the file's name as the user gave it, for error messages */
  name: string;
  text: string;
}

export interface RunSpecOptions {
  /** the words after the image name; they replace the image's Cmd */
  command?: string[];
  /** --entrypoint: one executable (not split); '' clears the image's Entrypoint and Cmd */
  entrypoint?: string;
  /** -e/--env: KEY=VALUE, or a bare KEY taken from the host environment */
  env?: string[];
  /** --env-file, already read; applied before -e, in order */
  envFiles?: EnvFile[];
  /** -w/--workdir */
  workdir?: string;
  /** -u/--user: name|uid[:group|gid] */
  user?: string;
  hostname?: string;
  /** --read-only */
  readOnly?: boolean;
  /** --tmpfs PATH[:OPTIONS] */
  tmpfs?: string[];
  /** -v/--volume [SOURCE:]DEST[:OPTIONS] */
  volumes?: string[];
  /** --mount type=bind|volume|tmpfs,... */
  mounts?: string[];
  capAdd?: string[];
  capDrop?: string[];
  privileged?: boolean;
  securityOpt?: string[];
  /** --init: run the caller's init binary as PID 1 */
  init?: boolean;
  /** -t */
  tty?: boolean;
  /** --ulimit NAME=SOFT[:HARD] */
  ulimits?: string[];
  /** --sysctl KEY=VALUE */
  sysctls?: string[];
  /** --network; pasta when unset */
  network?: string;
  /** --shm-size, docker's byte syntax (64m, 1g, 1048576) */
  shmSize?: string;
  /** --pid, --ipc, --uts, --cgroupns: tsc creates private namespaces only */
  pid?: string;
  ipc?: string;
  uts?: string;
  cgroupns?: string;
  /** --stop-signal */
  stopSignal?: string;
  /** --label KEY=VALUE or KEY */
  labels?: string[];
  /** --oom-score-adj */
  oomScoreAdj?: number;
}

export function invalid(flag: string, value: string, reason: string, hint?: string): TscError {
  return new TscError('invalid-argument', `invalid ${flag} "${value}": ${reason}`, { hint });
}

// ---------------------------------------------------------------- environment

const WHITESPACE = /[ \t\n\v\f\r]/;

/**
 * -e/--env entries as docker reads them: KEY=VALUE is kept; a bare KEY takes the host's
 * value, and when the host has none it stays bare, which tells mergeEnv to unset KEY.
 */
export function resolveEnvFlag(entry: string, hostEnv: Readonly<Record<string, string | undefined>>): string {
  const eq = entry.indexOf('=');
  const key = eq < 0 ? entry : entry.slice(0, eq);
  if (key === '') throw invalid('--env', entry, 'the variable name is empty');
  if (eq >= 0) return entry;
  const value = hostEnv[key];
  return value === undefined ? key : `${key}=${value}`;
}

/**
 * An --env-file as docker parses it: one variable per line; leading whitespace and a
 * UTF-8 BOM are dropped; blank lines and lines starting with # are skipped; KEY=VALUE
 * keeps VALUE verbatim (no quotes, no expansion); a bare KEY takes the host's value or
 * is left out. Errors name the file and the line.
 */
export function parseEnvFile(file: EnvFile, hostEnv: Readonly<Record<string, string | undefined>>): string[] {
  const out: string[] = [];
  const lines = file.text.replace(/^\uFEFF/, '').split('\n');
  lines.forEach((raw, index) => {
    const line = raw.replace(/\r$/, '').replace(/^\s+/, '');
    if (line === '' || line.startsWith('#')) return;
    const eq = line.indexOf('=');
    const key = eq < 0 ? line : line.slice(0, eq);
    const where = `--env-file ${file.name}, line ${index + 1}`;
    if (key === '') throw new TscError('invalid-argument', `invalid ${where}: no variable name in "${line}"`);
    if (eq >= 0) {
      if (WHITESPACE.test(key)) throw new TscError('invalid-argument', `invalid ${where}: variable "${key}" contains whitespace`);
      out.push(line);
      return;
    }
    const name = key.trimEnd();
    if (WHITESPACE.test(name)) throw new TscError('invalid-argument', `invalid ${where}: variable "${name}" contains whitespace`);
    const value = hostEnv[name];
    if (value !== undefined) out.push(`${name}=${value}`);
  });
  return out;
}

// ---------------------------------------------------------------- ulimits

const ULIMIT_NAMES = new Set([
  'as', 'core', 'cpu', 'data', 'fsize', 'locks', 'memlock', 'msgqueue', 'nice',
  'nofile', 'nproc', 'rss', 'rtprio', 'rttime', 'sigpending', 'stack',
]);

/** --ulimit NAME=SOFT[:HARD]; -1 means unlimited; HARD defaults to SOFT. */
export function parseUlimit(text: string): Rlimit {
  const eq = text.indexOf('=');
  if (eq < 0) throw invalid('--ulimit', text, 'expected NAME=SOFT[:HARD]');
  const name = text.slice(0, eq);
  if (!ULIMIT_NAMES.has(name)) {
    throw invalid('--ulimit', text, `unknown limit "${name}"`, `limits are ${[...ULIMIT_NAMES].join(', ')}`);
  }
  const values = text.slice(eq + 1).split(':');
  if (values.length > 2) throw invalid('--ulimit', text, 'expected at most two values, SOFT[:HARD]');
  const limit = (word: string): number => {
    if (word === '-1') return RLIM_INFINITY;
    if (!/^\d+$/.test(word)) throw invalid('--ulimit', text, `"${word}" is not a number (use -1 for unlimited)`);
    return Number(word);
  };
  const soft = limit(values[0] as string);
  const hard = values.length === 2 ? limit(values[1] as string) : soft;
  if (soft > hard) throw invalid('--ulimit', text, 'the soft limit must not exceed the hard limit');
  return { type: `RLIMIT_${name.toUpperCase()}`, soft, hard };
}

// ---------------------------------------------------------------- sysctls

const IPC_SYSCTLS = new Set([
  'kernel.msgmax', 'kernel.msgmnb', 'kernel.msgmni', 'kernel.sem',
  'kernel.shmall', 'kernel.shmmax', 'kernel.shmmni', 'kernel.shm_rmid_forced',
]);

/**
 * --sysctl KEY=VALUE, allowed only where the value stays inside the container's own
 * namespaces, as docker allows: the IPC ones (kernel.msg*, kernel.sem, kernel.shm*,
 * fs.mqueue.*) and net.* when the container has its own network namespace.
 */
export function parseSysctl(text: string, newNetwork: boolean): [string, string] {
  const eq = text.indexOf('=');
  if (eq <= 0) throw invalid('--sysctl', text, 'expected KEY=VALUE');
  const key = text.slice(0, eq);
  const value = text.slice(eq + 1);
  if (key.startsWith('net.')) {
    if (!newNetwork) {
      throw invalid('--sysctl', text, `${key} would change the host's network namespace`, 'net.* sysctls need a network namespace of the container\'s own (not --network host)');
    }
    return [key, value];
  }
  if (IPC_SYSCTLS.has(key) || key.startsWith('fs.mqueue.')) return [key, value];
  throw invalid('--sysctl', text, `${key} is not namespaced, so it would change the host`, 'allowed: net.*, kernel.msgmax, kernel.msgmnb, kernel.msgmni, kernel.sem, kernel.shmall, kernel.shmmax, kernel.shmmni, kernel.shm_rmid_forced, fs.mqueue.*');
}

// ---------------------------------------------------------------- sizes, signals, labels

const UNITS: Record<string, number> = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4, p: 1024 ** 5 };

/** docker's RAMInBytes: 1024-based units, optional i and b (64m, 1.5g, 512MiB, 1024). */
export function parseBytes(flag: string, text: string): number {
  const match = /^(\d+(?:\.\d+)?) ?([kmgtp]?)i?b?$/i.exec(text);
  if (match === null) throw invalid(flag, text, 'expected a size such as 64m, 1g or a number of bytes');
  const bytes = Math.floor(Number(match[1]) * (UNITS[(match[2] as string).toLowerCase()] as number));
  if (!Number.isSafeInteger(bytes)) throw invalid(flag, text, 'the size is too large');
  return bytes;
}

const SIGNALS = [
  'HUP', 'INT', 'QUIT', 'ILL', 'TRAP', 'ABRT', 'BUS', 'FPE', 'KILL', 'USR1', 'SEGV', 'USR2', 'PIPE', 'ALRM', 'TERM',
  'STKFLT', 'CHLD', 'CONT', 'STOP', 'TSTP', 'TTIN', 'TTOU', 'URG', 'XCPU', 'XFSZ', 'VTALRM', 'PROF', 'WINCH', 'IO', 'PWR', 'SYS',
];
const SIGNAL_ALIASES: Record<string, string> = { IOT: 'ABRT', CLD: 'CHLD', POLL: 'IO' };
const SIGRTMIN = 34;
const SIGRTMAX = 64;

/**
 * A signal by name (TERM, SIGTERM, sigterm, RTMIN+3) or number (1-64), normalised to
 * SIGNAME or, for real-time signals given by number, the number.
 */
export function parseSignal(flag: string, text: string): string {
  if (/^\d+$/.test(text)) {
    const n = Number(text);
    if (n < 1 || n > SIGRTMAX) throw invalid(flag, text, `signal numbers are 1-${SIGRTMAX}`);
    return n <= SIGNALS.length ? `SIG${SIGNALS[n - 1] as string}` : String(n);
  }
  const upper = text.toUpperCase();
  const name = upper.startsWith('SIG') ? upper.slice(3) : upper;
  const canonical = SIGNAL_ALIASES[name] ?? name;
  if (SIGNALS.includes(canonical)) return `SIG${canonical}`;
  const rt = /^RTMIN(?:\+(\d+))?$|^RTMAX(?:-(\d+))?$/.exec(canonical);
  if (rt !== null) {
    const n = rt[0].startsWith('RTMIN') ? SIGRTMIN + Number(rt[1] ?? 0) : SIGRTMAX - Number(rt[2] ?? 0);
    if (n >= SIGRTMIN && n <= SIGRTMAX) return `SIG${canonical}`;
  }
  throw invalid(flag, text, 'unknown signal', 'use a name such as SIGTERM or a number');
}

/** --label KEY=VALUE or KEY (empty value). */
export function parseLabels(labels: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const label of labels) {
    const eq = label.indexOf('=');
    const key = eq < 0 ? label : label.slice(0, eq);
    if (key === '') throw invalid('--label', label, 'the label name is empty');
    out[key] = eq < 0 ? '' : label.slice(eq + 1);
  }
  return out;
}

// ---------------------------------------------------------------- namespaces, network

/**
 * --pid/--ipc/--uts/--cgroupns: tsc always creates the container's own namespaces
 * (joining the host's or another container's is not implemented). --ipc none is
 * accepted: a private IPC namespace without /dev/shm, as docker does.
 */
export function checkNamespaceModes(options: RunSpecOptions): { ipcNone: boolean } {
  const check = (flag: string, value: string | undefined, accepted: readonly string[]): void => {
    if (value === undefined || accepted.includes(value)) return;
    throw new TscError('unsupported', `${flag} ${value} is not supported: tsc gives every container its own namespace`, {
      hint: `leave out ${flag} (or use ${flag} ${accepted[0] as string})`,
    });
  };
  check('--pid', options.pid, ['private']);
  check('--ipc', options.ipc, ['private', 'shareable', 'none']);
  check('--uts', options.uts, ['private']);
  check('--cgroupns', options.cgroupns, ['private']);
  return { ipcNone: options.ipc === 'none' };
}

export function parseNetworkMode(value: string | undefined): NetworkMode {
  if (value === undefined) return 'pasta';
  if ((NETWORK_MODES as readonly string[]).includes(value)) return value as NetworkMode;
  throw new TscError('unsupported', `--network ${value} is not supported`, { hint: `use one of ${NETWORK_MODES.join(', ')}` });
}
