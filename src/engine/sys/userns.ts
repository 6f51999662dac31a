/**
 * Running a program as root inside a user namespace with the rootless id map, through
 * the helper's `userns-exec` mode: for work that must create files owned by other ids
 * (unpacking layers, COPY --chown, commit).
 */
import { TscError } from '../errors.ts';
import { startHelper, type HelperProcess, type HelperRun } from './helper.ts';
import { idMapConfig, type RootlessMaps } from './idmaps.ts';

export interface UsernsCommand {
  /** program path first (no PATH search), then its arguments */
  argv: readonly string[];
  /** the program's whole environment */
  env: Readonly<Record<string, string>>;
  cwd: string;
  /** also give it a mount namespace of its own */
  mountns?: boolean;
  stdin?: 'ignore' | 'pipe';
  stdout?: 'ignore' | 'pipe';
  timeoutMs?: number;
}

export function startInUserns(binary: string, maps: RootlessMaps, command: UsernsCommand): HelperProcess {
  if (command.argv.length === 0) throw new TscError('internal', 'userns-exec needs a program');
  const config = [
    ...idMapConfig(maps),
    ['mountns', command.mountns ? '1' : '0'] as const,
    ['cwd', command.cwd] as const,
    ...command.argv.map((a) => ['arg', a] as const),
    ...Object.entries(command.env).map(([k, v]) => ['env', `${k}=${v}`] as const),
  ];
  return startHelper(binary, 'userns-exec', config, {
    stdin: command.stdin ?? 'ignore',
    stdout: command.stdout ?? 'ignore',
    timeoutMs: command.timeoutMs ?? 0,
  });
}

export interface ProgramExit {
  status: number | undefined;
  signal: number | undefined;
}

/** How the program ended, from the helper's `exited` event. */
export function programExit(run: HelperRun): ProgramExit {
  const exited = run.events.find((e) => e.name === 'exited');
  if (!exited) throw new TscError('helper', 'the helper finished without reporting how the program exited');
  return {
    status: typeof exited.status === 'number' ? exited.status : undefined,
    signal: typeof exited.signal === 'number' ? exited.signal : undefined,
  };
}
