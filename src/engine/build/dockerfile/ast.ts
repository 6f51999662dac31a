/**
 * The syntax tree the Dockerfile parser produces: one node per instruction, with its
 * line range, its `--flags` and its arguments in the shape that instruction is written
 * in. Nothing here is expanded; values are as written (after line joining), and quotes
 * inside shell-form text are still there for the shell-word lexer to interpret.
 */
import type { EscapeChar } from './shell.ts';

export const KEYWORDS = [
  'ADD',
  'ARG',
  'CMD',
  'COPY',
  'ENTRYPOINT',
  'ENV',
  'EXPOSE',
  'FROM',
  'HEALTHCHECK',
  'LABEL',
  'MAINTAINER',
  'ONBUILD',
  'RUN',
  'SHELL',
  'STOPSIGNAL',
  'USER',
  'VOLUME',
  'WORKDIR',
] as const;

export type Keyword = (typeof KEYWORDS)[number];

export function isKeyword(word: string): word is Keyword {
  return (KEYWORDS as readonly string[]).includes(word);
}

/** A parser directive from the top of the file (`# syntax=...`, `# escape=`, `# check=`). */
export interface Directive {
  /** lower-case: `syntax`, `escape` or `check` */
  name: string;
  value: string;
  line: number;
}

/** A `--name=value` (value is a string) or bare `--name` (value is null) flag. */
export interface Flag {
  name: string;
  value: string | null;
}

/** A here-document attached to a RUN, COPY or ADD line. */
export interface Heredoc {
  /** the delimiter with quotes removed */
  name: string;
  /** the file descriptor written before `<<` (`3<<EOF`), or null */
  fd: number | null;
  /** `<<-`: leading tabs are stripped from the body and the delimiter line */
  chomp: boolean;
  /** false when any part of the delimiter was quoted or escaped: no expansion */
  expand: boolean;
  /** the body exactly as in the file, each line with its line ending, tabs not yet stripped */
  content: string;
}

/**
 * The arguments of an instruction, by the form they were written in:
 * - `exec`: a JSON array of strings (`RUN ["a", "b"]`)
 * - `shell`: the rest of the line, verbatim, for a shell (RUN, CMD, ENTRYPOINT, SHELL)
 * - `string`: the rest of the line as one value (MAINTAINER, STOPSIGNAL, USER, WORKDIR)
 * - `words`: whitespace-separated words, quotes kept (FROM, EXPOSE, ADD, COPY, VOLUME, ARG)
 * - `pairs`: `key=value` pairs, or the legacy `KEY value` form (ENV, LABEL)
 * - `healthcheck`: the HEALTHCHECK type word and its command
 * - `trigger`: the instruction an ONBUILD wraps
 * - `empty`: nothing after the keyword and flags
 */
export type NodeArgs =
  | { form: 'exec'; values: string[] }
  | { form: 'shell'; text: string }
  | { form: 'string'; text: string }
  | { form: 'words'; values: string[] }
  | { form: 'pairs'; legacy: boolean; pairs: Array<{ key: string; value: string }> }
  | { form: 'healthcheck'; type: string; command: CommandArgs | null }
  | { form: 'trigger'; node: Node }
  | { form: 'empty' };

export type CommandArgs = { form: 'exec'; values: string[] } | { form: 'shell'; text: string };

export interface Node {
  /** upper-case, whatever the case it was written in */
  keyword: Keyword;
  startLine: number;
  endLine: number;
  /** the logical line (continuations joined, comments dropped), trimmed */
  original: string;
  flags: Flag[];
  args: NodeArgs;
  heredocs: Heredoc[];
}

export interface DockerfileAst {
  /** the name used in error messages */
  file: string;
  escape: EscapeChar;
  directives: Directive[];
  nodes: Node[];
}
