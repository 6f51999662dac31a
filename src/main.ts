/** Entry point of the bundle and of the single executable. */
import { main } from './cli/run.ts';

process.exitCode = await main(process.argv.slice(2));
