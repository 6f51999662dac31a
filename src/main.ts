/**
 * Entry point of the bundle and of the single executable. `--version` answers before
 * the CLI framework is loaded; internal operations (tsc re-executed by itself inside a
 * user namespace) never load it; everything else loads it through a dynamic import,
 * which the bundler keeps in the same file but evaluates only when reached.
 */
import { versionLine } from './cli/version-line.ts';

const INTERNAL_ARG = '__tsc-internal';
const argv = process.argv.slice(2);
if (argv.length === 1 && (argv[0] === '--version' || argv[0] === '-v')) {
  process.stdout.write(versionLine());
} else if (argv[0] === INTERNAL_ARG) {
  const { runInternal } = await import('./engine/internal/main.ts');
  process.exitCode = await runInternal(argv.slice(1));
} else {
  const { main } = await import('./cli/run.ts');
  process.exitCode = await main(argv);
}
