/**
 * Starting the CLI: global flags, then oclif with everything it needs handed over in
 * memory (package.json inlined, commands from src/commands/index.ts, no manifest, no
 * plugins, no theme file), so the same code runs from a bundle, the single executable or
 * a checkout without oclif touching the disk.
 */
import { Config, Plugin, run, type Command } from '@oclif/core';
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
  let commandId: string | undefined;
  try {
    const config = await loadConfig();
    const found = findCommand(config, rest);
    commandId = found?.id.replaceAll(':', ' ');
    await run(found ? endOfFlags(booleanValues(rest, found), found) : rest, config);
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

/** The command `argv` names: the longest run of leading words that is a command id or alias. */
function findCommand(config: Config, argv: readonly string[]): (Command.Loadable & { words: number }) | undefined {
  const words: string[] = [];
  for (const arg of argv) {
    if (arg.startsWith('-')) break;
    words.push(arg);
  }
  for (let n = words.length; n > 0; n--) {
    const command = config.findCommand(words.slice(0, n).join(':'));
    if (command) return { ...command, words: n };
  }
  return undefined;
}

/**
 * docker and podman accept `--flag=true|false` for boolean flags (`--tls-verify=false`);
 * oclif does not, so those become `--flag` / `--no-flag` before parsing.
 */
function booleanValues(argv: readonly string[], command: Command.Loadable & { words: number }): string[] {
  return argv.map((arg, i) => {
    const match = i >= command.words ? /^--([a-z0-9-]+)=(true|false)$/.exec(arg) : null;
    if (!match) return arg;
    const flag = command.flags[match[1]!];
    if (flag?.type !== 'boolean') return arg;
    if (match[2] === 'true') return `--${match[1]}`;
    return flag.allowNo ? `--no-${match[1]}` : arg;
  });
}

/** Commands whose first argument ends tsc's own flags: what follows belongs to the container. */
const STOP_AT_FIRST_ARGUMENT = new Set(['container:run', 'run', 'container:create', 'create', 'container:exec', 'exec', 'container:top', 'top']);

/** `tsc run --rm busybox ls -l`: `-l` is the container's, so `--` goes after the image. */
function endOfFlags(argv: string[], command: Command.Loadable & { words: number }): string[] {
  if (!STOP_AT_FIRST_ARGUMENT.has(command.id) && !command.aliases.some((a) => STOP_AT_FIRST_ARGUMENT.has(a))) return argv;
  for (let i = command.words; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--') return argv;
    if (!arg.startsWith('-') || arg === '-') return [...argv.slice(0, i + 1), '--', ...argv.slice(i + 1)];
    if (arg.includes('=')) continue;
    const flag = arg.startsWith('--')
      ? command.flags[arg.slice(2)]
      : Object.values(command.flags).find((f) => f.char === arg.slice(1) && arg.length === 2);
    if (flag && flag.type === 'option') i++; // its value is the next word
  }
  return argv;
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
