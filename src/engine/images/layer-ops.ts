/**
 * Running a layer operation of internal/layer-ops.ts where it can read the container's
 * files: rootless, in tsc re-executed as root of the user namespace (the helper's
 * `userns-exec`); as root, in this process.
 */
import { TscError } from '../errors.ts';
import { INTERNAL_ARG, selfArgv } from '../sys/self.ts';
import { programExit, startInUserns } from '../sys/userns.ts';
import type { UnpackContext } from './unpack.ts';

/** `args` as the op takes them (internal/main.ts lists them); `cwd` is a scratch directory. */
export async function runLayerOp<T>(ctx: UnpackContext, op: 'diff-layer' | 'changes' | 'export-rootfs', args: readonly string[], cwd: string): Promise<T> {
  if (!ctx.maps) {
    const { layerOp } = await import('../internal/layer-ops.ts');
    return (await layerOp(op, args)) as T;
  }
  const proc = startInUserns(ctx.helper, ctx.maps, {
    argv: [...selfArgv(), INTERNAL_ARG, op, ...args],
    env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin', HOME: cwd, LANG: 'C.UTF-8' },
    cwd,
    stdout: 'pipe',
  });
  let output = '';
  proc.stdout!.on('data', (b: Buffer) => (output += b.toString('utf8')));
  const exit = programExit(await proc.result);
  const line = output.trim().split('\n').pop() ?? '';
  let report: unknown;
  try {
    report = JSON.parse(line);
  } catch {
    throw new TscError('internal', `the ${op} operation printed no report (${exit.signal ? `signal ${exit.signal}` : `status ${exit.status}`})${output ? `: ${output.slice(0, 300)}` : ''}`);
  }
  if (typeof report === 'object' && report !== null && 'error' in report) {
    const error = (report as { error: { code: string; message: string } }).error;
    throw new TscError('system', `${op}: ${error.message}`);
  }
  if (exit.status !== 0) throw new TscError('system', `${op} failed (${exit.signal ? `signal ${exit.signal}` : `status ${exit.status}`})`);
  return report as T;
}
