/**
 * Build steps shared by the release build (build.ts) and the development launcher
 * (dev.ts): compiling the native helper and bundling the TypeScript with esbuild.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type * as esbuild from 'esbuild';

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

/**
 * Packages oclif requires for features tsc does not use, each costing start-up time when
 * evaluated: replaced by stubs whose every export throws if it is ever called, so a use
 * we did not foresee fails loudly instead of misbehaving.
 *  - semver: only oclif's engine check, which needs a package.json on disk (absent here)
 *  - tinyglobby, minimatch, lilconfig, get-package-type: command discovery on disk,
 *    plugin matching and package.json lookup; tsc hands oclif its commands and pjson
 */
const UNUSED_BY_TSC = ['semver', 'tinyglobby', 'minimatch', 'lilconfig', 'get-package-type'];

const stubUnused: esbuild.Plugin = {
  name: 'stub-unused',
  setup(build) {
    const filter = new RegExp(`^(${UNUSED_BY_TSC.join('|')}|wsl-utils)$`);
    build.onResolve({ filter }, (args) => ({ path: args.path, namespace: 'tsc-stub' }));
    build.onLoad({ filter: /.*/, namespace: 'tsc-stub' }, (args) => ({
      loader: 'js',
      contents:
        args.path === 'wsl-utils'
          ? // oclif asks only whether this is WSL, to label the platform; tsc runs on Linux
            'export const isWsl = false; export function powerShellPath() { throw new Error("wsl-utils is not bundled in tsc"); }'
          : `const fail = () => { throw new Error(${JSON.stringify(`${args.path} is not bundled in tsc`)}); };
             module.exports = new Proxy({}, { get: (_, key) => (key === '__esModule' ? false : fail) });`,
    }));
  },
};

/**
 * Node built-ins as lazily required modules. In an ESM bundle esbuild keeps imports of
 * external modules as static `import` statements at the top, so every built-in any part of
 * tsc uses (crypto, sqlite, tls, zlib, child_process, ...) would be loaded at start-up.
 * Served as CommonJS from process.getBuiltinModule instead, each is loaded when the first
 * module needing it is initialised, and modules reached through the engine facade's dynamic
 * imports are initialised only when their operation runs.
 */
const lazyBuiltins: esbuild.Plugin = {
  name: 'lazy-builtins',
  setup(build) {
    build.onResolve({ filter: /^node:/ }, (args) => ({ path: args.path, namespace: 'tsc-builtin' }));
    build.onLoad({ filter: /.*/, namespace: 'tsc-builtin' }, (args) => ({
      loader: 'js',
      contents: `module.exports = process.getBuiltinModule(${JSON.stringify(args.path)});`,
    }));
  },
};

/** esbuild options for the one-file ESM bundle of the CLI. */
export function bundleOptions(outfile: string, defines: BundleDefines) {
  return {
    plugins: [stubUnused, lazyBuiltins],
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
    // oclif requires typescript only to run .ts commands in development, inside a
    // try/catch; tsc never does that, so leave it out (it would be 9 MB of the bundle).
    external: ['typescript'],
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
