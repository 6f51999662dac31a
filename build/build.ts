/**
 * `npm run build`: dist/tsc, one executable holding the bundled CLI, a Node runtime
 * (Node's single executable application support) and the native helper as an asset.
 *
 *   dist/native/tsc-helper   the static C helper
 *   dist/tsc.mjs             the ESM bundle
 *   dist/node-base           a stripped copy of the project's Node, the executable's base
 *   dist/tsc                 the result
 */
import { execFileSync } from 'node:child_process';
import { copyFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as esbuild from 'esbuild';
import { ROOT, buildHelper, bundleOptions, gitCommit, packageVersion, sha256File } from './common.ts';

const DIST = join(ROOT, 'dist');
const started = performance.now();
const version = packageVersion();
const commit = gitCommit();

const helper = join(DIST, 'native', 'tsc-helper');
buildHelper(helper, version);
const helperDigest = sha256File(helper);

const bundle = join(DIST, 'tsc.mjs');
await esbuild.build(bundleOptions(bundle, { version, commit, helperPath: '', helperDigest }));

// Node's own binary carries debug info; strip a copy (the result runs the same, ~30 MB smaller).
const base = join(DIST, 'node-base');
rmSync(base, { force: true });
copyFileSync(process.execPath, base);
execFileSync('strip', ['--strip-all', base]);

const output = join(DIST, 'tsc');
const seaConfig = join(DIST, 'sea-config.json');
writeFileSync(
  seaConfig,
  JSON.stringify(
    {
      main: bundle,
      mainFormat: 'module',
      output,
      executable: base,
      disableExperimentalSEAWarning: true,
      useCodeCache: true,
      // A user's NODE_OPTIONS must not change how tsc runs (a stray --require would load
      // code into a program that creates namespaces).
      execArgvExtension: 'none',
      assets: { 'tsc-helper': helper },
    },
    null,
    2,
  ),
);
rmSync(output, { force: true });
execFileSync(base, ['--build-sea', seaConfig], { stdio: 'inherit' });

const mib = (path: string) => (statSync(path).size / 2 ** 20).toFixed(1);
process.stdout.write(
  `built ${output}: ${mib(output)} MiB (bundle ${mib(bundle)} MiB, helper ${(statSync(helper).size / 1024).toFixed(0)} KiB) ` +
    `in ${((performance.now() - started) / 1000).toFixed(1)} s\n`,
);
