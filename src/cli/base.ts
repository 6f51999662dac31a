/** The base of every tsc command: the flags all commands share. */
import { Command, Flags } from '@oclif/core';
import { LOG_LEVELS, type LogLevel } from '../engine/index.ts';
import { setLogLevel } from './settings.ts';

export const logLevelFlag = Flags.option({
  options: LOG_LEVELS,
  description: 'log messages at or above this level to stderr',
  helpGroup: 'GLOBAL',
})();

export const formatFlag = Flags.string({
  description: "output as 'json' or a Go template, e.g. '{{.host.kernel}}'",
});

/** podman's --tls-verify: true (default) requires https; false allows plain http. */
export const tlsVerifyFlag = Flags.boolean({
  default: true,
  allowNo: true,
  description: 'require https (--tls-verify=false or --no-tls-verify: allow plain http)',
});

export abstract class TscCommand extends Command {
  static override baseFlags = { 'log-level': logLevelFlag };

  protected applyGlobalFlags(flags: { 'log-level'?: LogLevel | undefined }): void {
    if (flags['log-level']) setLogLevel(flags['log-level']);
  }

  protected print(text: string): void {
    process.stdout.write(text);
  }
}
