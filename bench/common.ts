/**
 * What the bench suites share: installing the peers they compare against, the built
 * executable, and plain-text tables.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from '../build/common.ts';

export function have(tool: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${tool}`], { stdio: 'ignore' }).status === 0;
}

/** Installs the Debian packages (tool -> package) whose tools are missing; needs root. */
export function ensureTools(packages: Record<string, string>): void {
  const missing = Object.entries(packages).filter(([tool]) => !have(tool)).map(([, pkg]) => pkg);
  if (missing.length === 0) return;
  if (process.getuid?.() !== 0) {
    throw new Error(`the bench needs ${missing.join(', ')}; run it as root once to install them`);
  }
  process.stdout.write(`installing ${missing.join(' ')}\n`);
  execFileSync('apt-get', ['update', '-qq'], { stdio: 'inherit' });
  execFileSync('apt-get', ['install', '-y', '-qq', ...missing], { stdio: 'inherit', env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
}

/** dist/tsc, built first when it is missing. */
export function builtTsc(): string {
  const tsc = join(ROOT, 'dist', 'tsc');
  if (!existsSync(tsc)) execFileSync(process.execPath, [join(ROOT, 'build', 'build.ts')], { stdio: 'inherit' });
  return tsc;
}

export function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows.map((r) => r.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!))).join('  ')).join('\n');
}
