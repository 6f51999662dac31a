/**
 * The error every Dockerfile front-end failure becomes: a TscError with code
 * 'invalid-argument' whose message starts with `FILE:LINE:` and which carries the
 * line range of the offending instruction, so the CLI and editors can point at it.
 */
import { TscError } from '../../errors.ts';

export interface SourceLocation {
  /** the name shown in messages, `Dockerfile` unless the caller says otherwise */
  file: string;
  /** 1-based first line of the instruction (or directive) at fault */
  line: number;
  /** 1-based last line; equals `line` for single-line instructions */
  endLine: number;
}

export class DockerfileSyntaxError extends TscError {
  readonly file: string;
  readonly line: number;
  readonly endLine: number;
  /** the message without the `FILE:LINE:` prefix */
  readonly detail: string;

  constructor(detail: string, where: SourceLocation, options: { hint?: string; cause?: unknown } = {}) {
    super('invalid-argument', `${where.file}:${where.line}: ${detail}`, options);
    this.name = 'DockerfileSyntaxError';
    this.file = where.file;
    this.line = where.line;
    this.endLine = where.endLine;
    this.detail = detail;
  }
}

/**
 * A problem found by a helper that does not know where it is; whoever holds the node
 * turns it into a DockerfileSyntaxError with atLines().
 */
export class LineError extends Error {}

/** Where an instruction lives; what errors about it point at. */
export interface LineRange {
  startLine: number;
  endLine: number;
}

export function syntaxError(detail: string, file: string, range: LineRange, hint?: string): DockerfileSyntaxError {
  return new DockerfileSyntaxError(detail, { file, line: range.startLine, endLine: range.endLine }, { hint });
}

/**
 * Runs `fn` and re-throws a LineError or TscError it raises (the shell-word lexer knows
 * nothing of lines) as a DockerfileSyntaxError located at `range`.
 */
export function atLines<T>(file: string, range: LineRange, fn: () => T): T {
  try {
    return fn();
  } catch (error) {
    if (error instanceof DockerfileSyntaxError) throw error;
    if (error instanceof LineError) throw syntaxError(error.message, file, range);
    if (error instanceof TscError) {
      throw new DockerfileSyntaxError(error.message, { file, line: range.startLine, endLine: range.endLine }, {
        hint: error.hint,
        cause: error,
      });
    }
    throw error;
  }
}
