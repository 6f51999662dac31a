/**
 * The development launcher behind bin/tsc: rebuilds the bundle and the helper when a
 * source file is newer (a few hundred ms), then runs the CLI from the bundle, so what
 * developers run is what the single executable runs.
 */
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import * as esbuild from 'esbuild';
import { NATIVE_DIR, ROOT, buildHelper, bundleOptions, gitCommit, newestMtime, packageVersion } from './common.ts';

const DEV = join(ROOT, '.cache', 'dev');
const bundle = join(DEV, 'tsc.mjs');
const helper = join(DEV, 'tsc-helper');
const mtime = (path: string) => (existsSync(path) ? statSync(path).mtimeMs : 0);

if (mtime(helper) < newestMtime(NATIVE_DIR)) buildHelper(helper, `${packageVersion()}-dev`);
const sourcesChanged = Math.max(newestMtime(join(ROOT, 'src')), mtime(join(ROOT, 'package.json')));
if (mtime(bundle) < sourcesChanged) {
  await esbuild.build(
    bundleOptions(bundle, { version: `${packageVersion()}-dev`, commit: gitCommit(), helperPath: helper, helperDigest: '' }),
  );
}
await import(pathToFileURL(bundle).href);
