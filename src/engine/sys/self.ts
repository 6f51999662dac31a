/**
 * How to start tsc itself again (for work that must run inside a user namespace, e.g.
 * unpacking layers): the single executable is one file; a development bundle is the
 * Node runtime plus the bundle. Only meaningful in a built tsc, not in source run by tests.
 */
import { fileURLToPath } from 'node:url';
import { TscError } from '../errors.ts';

export function selfArgv(): string[] {
  const sea = process.getBuiltinModule('node:sea');
  if (sea?.isSea()) return [process.execPath];
  const bundle = fileURLToPath(import.meta.url);
  if (!bundle.endsWith('.mjs')) {
    throw new TscError('internal', 'tsc cannot re-execute itself when run from source', { hint: 'use bin/tsc or dist/tsc' });
  }
  return [process.execPath, bundle];
}

/** The argument that tells main.ts to run an internal operation instead of the CLI. */
export const INTERNAL_ARG = '__tsc-internal';
