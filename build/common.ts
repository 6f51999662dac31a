/**
 * Build steps shared by the release build (build.ts) and the development launcher
 * (dev.ts): compiling the native helper and bundling the TypeScript with esbuild.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
export const NATIVE_DIR = join(ROOT, 'src', 'native');

export function packageVersion(): string {
  return (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;
}

export function gitCommit(): string {
  try {
    return execFileSync('git', ['rev-parse', '--short=12', 'HEAD'], { cwd: ROOT, stdio: ['ignore', 'pipe', 'ignore'] })
      .toString()
      .trim();
  } catch {
    return 'unknown';
  }
}

/** Compiles the C helper, statically linked, to `output`. */
export function buildHelper(output: string, version: string): void {
  mkdirSync(dirname(output), { recursive: true });
  const sources = readdirSync(NATIVE_DIR)
    .filter((f) => f.endsWith('.c'))
    .sort()
    .map((f) => join(NATIVE_DIR, f));
  const cc = process.env.CC ?? 'gcc';
  execFileSync(
    cc,
    ['-static', '-Os', '-std=gnu11', '-D_GNU_SOURCE', `-DTSC_HELPER_VERSION="${version}"`, '-Wall', '-Wextra', '-Werror',
      '-s', '-o', output, ...sources],
    { stdio: 'inherit' },
  );
}

export function sha256File(path: string): string {
  return createHash('sha256').update(readFileSync(path)).digest('hex');
}

/** Newest modification time among files below `dir` (recursively). */
export function newestMtime(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestMtime(path) : statSync(path).mtimeMs);
  }
  return newest;
}

export interface BundleDefines {
  version: string;
  commit: string;
  helperPath: string;
  helperDigest: string;
}

/** esbuild options for the one-file ESM bundle of the CLI. */
export function bundleOptions(outfile: string, defines: BundleDefines) {
  return {
    entryPoints: [join(ROOT, 'src', 'main.ts')],
    outfile,
    bundle: true,
    format: 'esm' as const,
    platform: 'node' as const,
    target: 'node26',
    jsx: 'automatic' as const,
    minifySyntax: true,
    minifyWhitespace: true,
    legalComments: 'none' as const,
    logLevel: 'warning' as const,
    define: {
      'process.env.NODE_ENV': '"production"',
      __TSC_VERSION__: JSON.stringify(defines.version),
      __TSC_COMMIT__: JSON.stringify(defines.commit),
      __TSC_HELPER_PATH__: JSON.stringify(defines.helperPath),
      __TSC_HELPER_DIGEST__: JSON.stringify(defines.helperDigest),
    },
    // Bundled CommonJS code calls require() for Node built-ins only; give it one that never
    // looks at node_modules on disk (there is none next to the single executable).
    banner: {
      js: "const require = (id) => { const m = process.getBuiltinModule(id); if (!m) throw new Error(`cannot load ${id}: not bundled`); return m; };",
    },
  };
}
