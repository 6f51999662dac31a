/**
 * `npm test` and its tiers. `all` is what CI runs: typecheck, lint, unit tests, the
 * release build, then the integration and e2e tiers against what was built.
 *
 *   node build/test.ts unit|integration|e2e|all
 *
 * Run as root (sudo) on a host prepared by scripts/setup-host.sh, the integration and
 * e2e tiers act as the real non-root test users; without that they skip with the reason
 * printed, except under CI=true, where a missing requirement fails.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from './common.ts';

const tier = process.argv[2] ?? 'all';
const tiers: Record<string, string[]> = {
  unit: ['test/unit/**/*.test.ts'],
  integration: ['test/integration/**/*.test.ts'],
  e2e: ['test/e2e/**/*.test.ts'],
};

function step(name: string, file: string, args: string[]): void {
  process.stdout.write(`\n== ${name}\n`);
  const result = spawnSync(file, args, { cwd: ROOT, stdio: 'inherit' });
  if (result.status !== 0) {
    process.stderr.write(`\n${name} failed (${result.signal ?? `exit ${result.status}`})\n`);
    process.exit(result.status ?? 1);
  }
}

const bin = (name: string) => join(ROOT, 'node_modules', '.bin', name);
const runTests = (globs: string[]) =>
  step(`tests: ${globs.join(' ')}`, process.execPath, ['--test', '--test-concurrency=2', '--test-reporter=spec', ...globs]);

switch (tier) {
  case 'unit':
    runTests(tiers.unit!);
    break;
  case 'integration':
  case 'e2e':
    if (!existsSync(join(ROOT, 'dist', 'tsc'))) step('build', process.execPath, ['build/build.ts']);
    runTests(tiers[tier]!);
    break;
  case 'all':
    step('typecheck', bin('tsc'), ['-p', 'tsconfig.json']);
    step('lint', bin('eslint'), ['.']);
    step('build', process.execPath, ['build/build.ts']);
    runTests([...tiers.unit!, ...tiers.integration!, ...tiers.e2e!]);
    break;
  default:
    process.stderr.write(`unknown test tier ${tier}: use unit, integration, e2e or all\n`);
    process.exit(2);
}
