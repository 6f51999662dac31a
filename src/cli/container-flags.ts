/**
 * The flags `run` and `create` share (docker's spelling), turned into the engine's
 * CreateOptions, and the terminal plumbing of foreground containers (raw mode, window
 * size, detach keys, signal proxying).
 */
import { Flags } from '@oclif/core';
import { readFileSync } from 'node:fs';
import type * as engine from '../engine/index.ts';
import { TscError } from '../engine/index.ts';

export const createFlags = {
  name: Flags.string({ description: 'assign a name to the container' }),
  rm: Flags.boolean({ description: 'remove the container (and its anonymous volumes) when it exits' }),
  interactive: Flags.boolean({ char: 'i', description: 'keep stdin open' }),
  tty: Flags.boolean({ char: 't', description: 'allocate a terminal' }),
  env: Flags.string({ char: 'e', multiple: true, multipleNonGreedy: true, description: 'KEY=VALUE, or KEY to pass the host value' }),
  'env-file': Flags.string({ multiple: true, multipleNonGreedy: true, description: 'read environment variables from a file' }),
  workdir: Flags.string({ char: 'w', description: 'working directory inside the container' }),
  user: Flags.string({ char: 'u', description: 'name|uid[:group|gid]' }),
  entrypoint: Flags.string({ description: 'override the image entrypoint' }),
  hostname: Flags.string({ char: 'h', description: 'container host name' }),
  label: Flags.string({ char: 'l', multiple: true, multipleNonGreedy: true, description: 'KEY=VALUE metadata' }),
  'read-only': Flags.boolean({ description: 'mount the root filesystem read-only' }),
  tmpfs: Flags.string({ multiple: true, multipleNonGreedy: true, description: 'PATH[:OPTIONS] tmpfs mount' }),
  volume: Flags.string({ char: 'v', multiple: true, multipleNonGreedy: true, description: '[SOURCE:]DEST[:OPTIONS] bind mount or named volume' }),
  mount: Flags.string({ multiple: true, multipleNonGreedy: true, description: 'type=bind|volume|tmpfs,source=...,target=...' }),
  network: Flags.string({ description: 'none, host, pasta or slirp4netns (default: pasta if installed)' }),
  net: Flags.string({ hidden: true }),
  publish: Flags.string({ char: 'p', multiple: true, multipleNonGreedy: true, description: '[IP:][HOSTPORT:]CONTAINERPORT[/PROTO]' }),
  'publish-all': Flags.boolean({ char: 'P', description: 'publish every exposed port to a random host port' }),
  dns: Flags.string({ multiple: true, multipleNonGreedy: true, description: 'nameserver for the container' }),
  'dns-search': Flags.string({ multiple: true, multipleNonGreedy: true }),
  'dns-option': Flags.string({ multiple: true, multipleNonGreedy: true }),
  'add-host': Flags.string({ multiple: true, multipleNonGreedy: true, description: 'NAME:IP entry for /etc/hosts' }),
  pull: Flags.option({ options: ['missing', 'always', 'never'] as const, default: 'missing' })(),
  platform: Flags.string({ description: 'os/arch[/variant] of the image to pull' }),
  'stop-signal': Flags.string({ description: 'signal to stop the container' }),
  'stop-timeout': Flags.integer({ description: 'seconds to wait before killing the container on stop' }),
  restart: Flags.string({ description: 'no, always, unless-stopped or on-failure[:N]' }),
  init: Flags.boolean({ description: 'run a minimal init as pid 1 that reaps zombies and forwards signals' }),
  'log-opt': Flags.string({ multiple: true, multipleNonGreedy: true, description: 'max-size=SIZE' }),
  'cap-add': Flags.string({ multiple: true, multipleNonGreedy: true }),
  'cap-drop': Flags.string({ multiple: true, multipleNonGreedy: true }),
  privileged: Flags.boolean({ description: 'all capabilities, no seccomp, nothing masked' }),
  'security-opt': Flags.string({ multiple: true, multipleNonGreedy: true, description: 'no-new-privileges, seccomp=unconfined|FILE, ...' }),
  ulimit: Flags.string({ multiple: true, multipleNonGreedy: true, description: 'NAME=SOFT[:HARD]' }),
  sysctl: Flags.string({ multiple: true, multipleNonGreedy: true, description: 'KEY=VALUE (namespaced ones only)' }),
  'shm-size': Flags.string({ description: 'size of /dev/shm (64m)' }),
  memory: Flags.string({ char: 'm', description: 'memory limit (needs the memory controller)' }),
  cpus: Flags.string({ description: 'CPU limit (needs the cpu controller)' }),
  'pids-limit': Flags.integer({ description: 'process limit (needs the pids controller)' }),
};

type CreateFlagValues = { [K in keyof typeof createFlags]?: unknown };

export function createOptions(image: string, command: string[], flags: CreateFlagValues): engine.CreateOptions {
  const f = flags as Record<string, never>;
  for (const [flag, controller] of [['memory', 'memory'], ['cpus', 'cpu'], ['pids-limit', 'pids']] as const) {
    if (f[flag] !== undefined) {
      throw new TscError('unsupported', `--${flag} cannot be enforced: resource limits are not implemented yet (they need the ${controller} controller in a delegated cgroup v2)`, {
        hint: `leave out --${flag}; tsc info shows which controllers this host delegates`,
      });
    }
  }
  const envFiles = ((f['env-file'] ?? []) as string[]).map((name) => {
    try {
      return { name, text: readFileSync(name, 'utf8') };
    } catch (error) {
      throw new TscError('invalid-argument', `cannot read --env-file ${name}: ${(error as Error).message}`);
    }
  });
  return {
    image,
    command: command.length > 0 ? command : undefined,
    name: f.name,
    rm: f.rm,
    interactive: f.interactive,
    tty: f.tty,
    env: f.env,
    envFiles,
    workdir: f.workdir,
    user: f.user,
    entrypoint: f.entrypoint,
    hostname: f.hostname,
    labels: f.label,
    readOnly: f['read-only'],
    tmpfs: f.tmpfs,
    volumes: f.volume,
    mounts: f.mount,
    network: f.network ?? f.net,
    publish: f.publish,
    publishAll: f['publish-all'],
    dns: f.dns,
    dnsSearch: f['dns-search'],
    dnsOption: f['dns-option'],
    addHost: f['add-host'],
    pull: f.pull,
    platform: f.platform,
    stopSignal: f['stop-signal'],
    stopTimeout: f['stop-timeout'],
    restart: f.restart,
    init: f.init,
    logOpts: f['log-opt'],
    capAdd: f['cap-add'],
    capDrop: f['cap-drop'],
    privileged: f.privileged,
    securityOpt: f['security-opt'],
    ulimits: f.ulimit,
    sysctls: f.sysctl,
    shmSize: f['shm-size'],
    onNote: (message) => process.stderr.write(`note: ${message}\n`),
  };
}

/** docker's --detach-keys: "ctrl-p,ctrl-q", letters, ctrl-@ .. ctrl-_ */
export function parseDetachKeys(text: string | undefined): number[] {
  if (text === undefined) return [0x10, 0x11];
  if (text === '') return [];
  return text.split(',').map((key) => {
    const ctrl = /^ctrl-(.)$/i.exec(key);
    if (ctrl) {
      const c = ctrl[1]!.toLowerCase();
      if (c >= 'a' && c <= 'z') return c.charCodeAt(0) - 96;
      const special: Record<string, number> = { '@': 0, '[': 27, '\\': 28, ']': 29, '^': 30, _: 31 };
      if (c in special) return special[c]!;
    } else if (key.length === 1) return key.charCodeAt(0);
    throw new TscError('invalid-argument', `invalid --detach-keys "${text}": ${key} is not a key (use a letter or ctrl-<value>)`);
  });
}

export interface Terminal {
  io: engine.RunIo;
  restore(): void;
}

/**
 * The CLI's side of a foreground container: our stdio, raw mode with -t on a terminal
 * (restored on every exit path), window-size changes, and with --sig-proxy the signals
 * tsc receives forwarded to the container.
 */
export function terminalIo(options: { tty: boolean; interactive: boolean; detachKeys?: string | undefined; sigProxy: boolean }): Terminal {
  const stdin = process.stdin;
  const raw = options.tty && options.interactive && stdin.isTTY === true;
  if (raw) stdin.setRawMode(true);
  const signals: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGQUIT', 'SIGUSR1', 'SIGUSR2'];
  const numbers: Record<string, number> = { SIGINT: 2, SIGTERM: 15, SIGHUP: 1, SIGQUIT: 3, SIGUSR1: 10, SIGUSR2: 12 };
  const handlers: [NodeJS.Signals, () => void][] = [];
  const io: engine.RunIo = {
    stdin: options.interactive ? stdin : undefined,
    stdout: process.stdout,
    stderr: process.stderr,
    detachKeys: parseDetachKeys(options.detachKeys),
    ttySize: () => (process.stdout.isTTY ? { rows: process.stdout.rows, cols: process.stdout.columns } : undefined),
    onResize: (listener) => {
      const onResize = () => listener(process.stdout.rows, process.stdout.columns);
      process.stdout.on('resize', onResize);
      return () => process.stdout.off('resize', onResize);
    },
    onSession: (session) => {
      if (!options.sigProxy || raw) return;
      for (const signal of signals) {
        const handler = () => session.signal(numbers[signal]!, false);
        process.on(signal, handler);
        handlers.push([signal, handler]);
      }
    },
    onError: (message) => process.stderr.write(`Error: ${message}\n`),
  };
  return {
    io,
    restore: () => {
      if (raw) stdin.setRawMode(false);
      // stdin was read for the container: let go of it, or tsc would wait on it forever
      if (options.interactive) stdin.destroy();
      for (const [signal, handler] of handlers) process.off(signal, handler);
    },
  };
}

/** Prints a batch report docker's way: each id/name that worked on stdout, errors on stderr; exit 1 if any failed. */
export function printReports(reports: readonly engine.ContainerReport[], print: (text: string) => void): number {
  let failed = 0;
  for (const report of reports) {
    if (report.error) {
      failed++;
      process.stderr.write(`Error: ${report.error.message}\n`);
    } else print(`${report.ref}\n`);
  }
  return failed > 0 ? 1 : 0;
}
