/**
 * The built artefacts, copied where the non-root test users can run them: the checkout
 * may live in a directory they cannot enter (/root in CI). One copy per build, shared by
 * all test processes (written to a temp name and renamed).
 */
import { chmodSync, copyFileSync, existsSync, mkdirSync, renameSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const DIST_TSC = join(ROOT, 'dist', 'tsc');
export const DIST_HELPER = join(ROOT, 'dist', 'native', 'tsc-helper');

/** Path of a world-executable copy of `file`, or undefined if it was not built. */
export function staged(file: string): string | undefined {
  if (!existsSync(file)) return undefined;
  const s = statSync(file);
  const dir = join('/tmp', 'tsc-test-stage', `${s.size}-${Math.trunc(s.mtimeMs)}`);
  const target = join(dir, file.split('/').pop()!);
  if (existsSync(target)) return target;
  mkdirSync(dir, { recursive: true, mode: 0o755 });
  chmodSync(join('/tmp', 'tsc-test-stage'), 0o755);
  chmodSync(dir, 0o755);
  const temp = `${target}.${process.pid}`;
  copyFileSync(file, temp);
  chmodSync(temp, 0o755);
  renameSync(temp, target);
  return target;
}
