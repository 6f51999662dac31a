/**
 * Starting the CLI: global flags, then oclif with everything it needs handed over in
 * memory (package.json inlined, commands from src/commands/index.ts, no manifest, no
 * plugins, no theme file), so the same code runs from a bundle, the single executable or
 * a checkout without oclif touching the disk.
 */
import { Config, Plugin, run } from '@oclif/core';
import pjson from '../../package.json' with { type: 'json' };
import { commands } from '../commands/index.ts';
import { LOG_LEVELS, type LogLevel, TscError } from '../engine/index.ts';
import { describeError } from './errors.ts';
import { logLevel, setLogLevel } from './settings.ts';
import { versionLine } from './version-line.ts';

/** Runs tsc with `argv` (without node and script) and resolves to the exit code. */
export async function main(argv: string[]): Promise<number> {
  let rest: string[];
  try {
    rest = takeGlobalFlags(argv);
  } catch (error) {
    process.stderr.write(describeError(error, { debug: false }).text);
    return 125;
  }
  if (rest[0] === '--version' || rest[0] === '-v') {
    process.stdout.write(versionLine());
    return 0;
  }
  const commandId = rest.filter((a) => !a.startsWith('-')).slice(0, 2).join(' ');
  try {
    await run(rest, await loadConfig());
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (error) {
    const report = describeError(error, { debug: logLevel() === 'debug', command: commandId });
    process.stderr.write(report.text);
    return report.exitCode;
  }
}

/** Flags that may stand before the command, as with docker (`tsc --log-level debug ps`). */
function takeGlobalFlags(argv: string[]): string[] {
  const rest = [...argv];
  while (rest.length > 0 && rest[0]!.startsWith('--log-level')) {
    const flag = rest.shift()!;
    const value = flag.includes('=') ? flag.slice(flag.indexOf('=') + 1) : rest.shift();
    if (!value || !LOG_LEVELS.includes(value as LogLevel)) {
      throw new TscError('invalid-argument', `invalid --log-level ${JSON.stringify(value ?? '')}`, {
        hint: `use one of ${LOG_LEVELS.join(', ')}`,
      });
    }
    setLogLevel(value as LogLevel);
  }
  return rest;
}

async function loadConfig(): Promise<Config> {
  // The theme file is the one thing oclif would still read from disk.
  process.env.TSC_DISABLE_THEME ??= '1';
  const root = process.cwd();
  const plugin = new Plugin({ root, pjson: pjson as never, isRoot: true, ignoreManifest: true });
  // Hand the explicit command map over directly instead of letting oclif import it.
  (plugin as unknown as { commandCache: typeof commands }).commandCache = commands;
  await plugin.load();
  return Config.load({ root, pjson: pjson as never, plugins: new Map([[plugin.name, plugin]]), ignoreManifest: true });
}
