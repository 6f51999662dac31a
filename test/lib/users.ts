/**
 * Running programs as the test host's real non-root users, the way a login would place
 * them: own uid/gid and groups, HOME, XDG_RUNTIME_DIR, and (for the main test user) the
 * delegated cgroup that scripts/setup-host.sh prepared. Root moves the process into the
 * cgroup first, since a user may not move processes out of root's cgroup.
 */
import { spawn } from 'node:child_process';

export interface AsUserOptions {
  uid: number;
  /** defaults to uid (setup-host.sh makes user groups) */
  gid?: number;
  /** cgroup directory to start in */
  cgroup?: string;
  env?: Record<string, string>;
  cwd?: string;
  input?: string;
  timeoutMs?: number;
}

export interface Completed {
  status: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export function userEnv(uid: number, name: string): Record<string, string> {
  return {
    HOME: uid === 0 ? '/root' : `/home/${name}`,
    USER: name,
    LOGNAME: name,
    PATH: '/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin',
    XDG_RUNTIME_DIR: `/run/user/${uid}`,
    LANG: 'C.UTF-8',
  };
}

/** /bin/sh arguments that enter the cgroup, drop to the user and exec `file args`. */
export function asUserArgv(file: string, args: readonly string[], options: AsUserOptions): string[] {
  const gid = options.gid ?? options.uid;
  const self = process.getuid?.() === options.uid;
  const enter = options.cgroup ? `echo $$ > '${options.cgroup}/cgroup.procs' && ` : '';
  const drop = self ? '' : `setpriv --reuid=${options.uid} --regid=${gid} --init-groups -- `;
  return ['-c', `${enter}exec ${drop}"$@"`, 'sh', file, ...args];
}

/** Runs `file args` as the user (or as is, when uid is our own) and collects the result. */
export function runAs(file: string, args: readonly string[], options: AsUserOptions): Promise<Completed> {
  const argv = asUserArgv(file, args, options);
  return new Promise((resolve, reject) => {
    const child = spawn('/bin/sh', argv, {
      env: options.env ?? {},
      cwd: options.cwd ?? '/',
      stdio: ['pipe', 'pipe', 'pipe'],
      timeout: options.timeoutMs ?? 60_000,
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (b: Buffer) => (stdout += b.toString()));
    child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
    child.on('error', reject);
    child.on('close', (status, signal) => resolve({ status, signal, stdout, stderr }));
    child.stdin.on('error', () => undefined); // EPIPE when the program exits without reading
    child.stdin.end(options.input ?? '');
  });
}
