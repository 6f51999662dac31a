/**
 * Entry point of the bundle and of the single executable. `--version` answers before
 * the CLI framework is loaded; everything else loads it through a dynamic import, which
 * the bundler keeps in the same file but evaluates only when reached.
 */
import { versionLine } from './cli/version-line.ts';

const argv = process.argv.slice(2);
if (argv.length === 1 && (argv[0] === '--version' || argv[0] === '-v')) {
  process.stdout.write(versionLine());
} else {
  const { main } = await import('./cli/run.ts');
  process.exitCode = await main(argv);
}
