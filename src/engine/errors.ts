/**
 * The engine's typed errors. Every failure that reaches a user is a TscError with a
 * stable `code`; src/cli/errors.ts is the one place that turns them into output and
 * exit codes. Messages are lower-case, name the thing, and never contain credentials.
 */

export type ErrorCode =
  /** bad input from the user: a malformed reference, flag value, Dockerfile, ... */
  | 'invalid-argument'
  /** a named thing (image, container, volume, file) does not exist */
  | 'not-found'
  /** the operation conflicts with current state (name in use, container running) */
  | 'conflict'
  /** this host cannot do what was asked (missing kernel feature, tool, permission) */
  | 'unsupported'
  /** the operating system refused something (EACCES, EPERM, ENOSPC, ...) */
  | 'system'
  /** the native helper failed; `cause` carries its structured error record */
  | 'helper'
  /** content did not verify: digest or size mismatch, malformed manifest */
  | 'invalid-content'
  /** a remote (registry) failed or refused */
  | 'remote'
  /** a bug in tsc itself */
  | 'internal';

export interface TscErrorOptions {
  /** one line telling the user what to do next */
  hint?: string | undefined;
  cause?: unknown;
}

export class TscError extends Error {
  readonly code: ErrorCode;
  readonly hint: string | undefined;

  constructor(code: ErrorCode, message: string, options: TscErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'TscError';
    this.code = code;
    this.hint = options.hint;
  }
}

export function isTscError(error: unknown): error is TscError {
  return error instanceof TscError;
}

/** The errno code of a Node system error (`ENOENT`, ...), or undefined. */
export function errnoCode(error: unknown): string | undefined {
  if (typeof error === 'object' && error !== null && 'code' in error) {
    const code = (error as { code: unknown }).code;
    return typeof code === 'string' ? code : undefined;
  }
  return undefined;
}
