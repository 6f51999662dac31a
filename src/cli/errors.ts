/**
 * The one place where failures become output and exit codes, docker-style:
 *   125  tsc itself failed (bad flags, engine errors)
 *   126  a container command could not be invoked
 *   127  a container command was not found
 *   else the container's own exit code (commands return it; it is not an error here)
 */
import { Errors } from '@oclif/core';
import { isTscError } from '../engine/index.ts';

export const EXIT_ENGINE = 125;
export const EXIT_CANNOT_INVOKE = 126;
export const EXIT_NOT_FOUND = 127;

export interface ErrorReport {
  exitCode: number;
  /** what to print on stderr, already formatted; empty for silent exits */
  text: string;
}

/** Decides what a failure prints and which exit code it gets. */
export function describeError(error: unknown, options: { debug: boolean; command?: string }): ErrorReport {
  if (error instanceof Errors.ExitError) return { exitCode: error.oclif.exit ?? 0, text: '' };
  if (isTscError(error)) {
    let text = `Error: ${error.message}\n`;
    if (error.hint) text += `Hint: ${error.hint}\n`;
    if (options.debug && error.cause !== undefined) text += `Cause: ${describeCause(error.cause)}\n`;
    return { exitCode: EXIT_ENGINE, text };
  }
  if (error instanceof Errors.CLIError) {
    // oclif's parser errors (unknown flag, missing argument, unknown command)
    const message = error.message.replace(/\n?See more help with --help\s*$/, '').trim();
    const where = options.command ? `tsc ${options.command} --help` : 'tsc --help';
    return { exitCode: EXIT_ENGINE, text: `Error: ${lowerFirst(message)}\nHint: see '${where}'\n` };
  }
  const message = error instanceof Error ? error.message : String(error);
  let text = `Error: internal error: ${message}\nHint: this is a bug in tsc; run with --log-level debug and report it\n`;
  if (options.debug && error instanceof Error && error.stack) text += `${error.stack}\n`;
  return { exitCode: EXIT_ENGINE, text };
}

function describeCause(cause: unknown): string {
  if (cause instanceof Error) return `${cause.message}${'code' in cause ? ` (${String(cause.code)})` : ''}`;
  return String(cause);
}

function lowerFirst(text: string): string {
  return text.length > 1 && /^[A-Z][a-z]/.test(text) ? text[0]!.toLowerCase() + text.slice(1) : text;
}
