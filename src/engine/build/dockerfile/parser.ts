/**
 * The Dockerfile parser: bytes or text in, syntax tree with line ranges out. Pure.
 *
 * It follows the Dockerfile reference: parser directives (`syntax`, `escape`, `check`)
 * only at the very top; `#` comment lines and blank lines skipped, also in the middle of
 * a continued instruction; the escape character at the end of a line (trailing blanks
 * allowed) continues the instruction; heredoc bodies follow the line that opens them on
 * RUN, COPY and ADD (also under ONBUILD); keywords are case-insensitive. Every error is a
 * DockerfileSyntaxError naming the line.
 */
import { isKeyword, KEYWORDS, type Directive, type DockerfileAst, type Heredoc, type Keyword, type Node } from './ast.ts';
import { DockerfileSyntaxError, LineError } from './errors.ts';
import { findMarkers, type HeredocMarker } from './heredoc.ts';
import { parseArgs, splitCommand } from './line-parsers.ts';
import type { EscapeChar } from './shell.ts';
import { withSuggestion } from './suggest.ts';

export interface ParseOptions {
  /** the name error messages use; `Dockerfile` by default */
  file?: string;
}

const DIRECTIVE = /^#\s*([a-zA-Z][a-zA-Z0-9]*)\s*=\s*(.+?)\s*$/;
const KNOWN_DIRECTIVES = new Set(['syntax', 'escape', 'check']);
const HEREDOC_KEYWORDS = new Set<Keyword>(['RUN', 'COPY', 'ADD']);

/** Physical lines with their endings, numbered from 1. */
class Lines {
  private readonly lines: string[];
  /** number of the line last returned by next() */
  line = 0;

  constructor(text: string) {
    this.lines = text === '' ? [] : text.split(/(?<=\n)/);
  }

  next(): string | undefined {
    const raw = this.lines[this.line];
    if (raw !== undefined) this.line++;
    return raw;
  }

  get count(): number {
    return this.lines.length;
  }
}

function stripEol(raw: string): string {
  return raw.replace(/[\r\n]+$/, '');
}

function isComment(text: string): boolean {
  return text.trimStart().startsWith('#');
}

/**
 * `text` without a trailing line-continuation escape, and whether there was one. An
 * escape character continues the line when it is last (blanks may follow) and not itself
 * escaped: an odd run of escape characters continues, an even run is literal.
 */
function trimContinuation(text: string, escape: string): { text: string; continues: boolean } {
  const body = text.replace(/[ \t]+$/, '');
  let run = 0;
  while (run < body.length && body[body.length - 1 - run] === escape) run++;
  if (run % 2 === 1) return { text: body.slice(0, -1), continues: true };
  return { text, continues: false };
}

class Parser {
  private readonly file: string;
  private readonly lines: Lines;
  private escape: EscapeChar = '\\';
  private readonly directives: Directive[] = [];
  private directivesDone = false;

  constructor(text: string, file: string) {
    this.file = file;
    this.lines = new Lines(text.startsWith('\uFEFF') ? text.slice(1) : text);
  }

  private error(detail: string, line: number, endLine = line, hint?: string): DockerfileSyntaxError {
    return new DockerfileSyntaxError(detail, { file: this.file, line, endLine }, { hint });
  }

  /** Records `text` (left-trimmed) as a directive if it is one; ends the directive block otherwise. */
  private directive(text: string, line: number): boolean {
    if (this.directivesDone) return false;
    const match = DIRECTIVE.exec(text);
    const name = match?.[1]!.toLowerCase();
    if (!match || name === undefined || !KNOWN_DIRECTIVES.has(name)) {
      this.directivesDone = true;
      return false;
    }
    if (this.directives.some((d) => d.name === name)) {
      throw this.error(`only one ${name} parser directive can be used`, line);
    }
    const value = match[2]!;
    if (name === 'escape') {
      if (value !== '\\' && value !== '`') {
        throw this.error(`invalid escape token '${value}' does not match \` or \\`, line);
      }
      this.escape = value;
    }
    this.directives.push({ name, value, line });
    return true;
  }

  parse(): DockerfileAst {
    const nodes: Node[] = [];
    for (let raw = this.lines.next(); raw !== undefined; raw = this.lines.next()) {
      const startLine = this.lines.line;
      const first = stripEol(raw).trimStart();
      if (this.directive(first, startLine)) continue;
      if (first === '' || isComment(first)) continue;
      let { text: logical, continues } = trimContinuation(first, this.escape);
      while (continues) {
        const more = this.lines.next();
        if (more === undefined) break;
        const text = stripEol(more);
        // Comments and blank lines inside a continued instruction are dropped.
        if (isComment(text) || text.trim() === '') continue;
        const part = trimContinuation(text, this.escape);
        logical += part.text;
        continues = part.continues;
      }
      const endLine = this.lines.line;
      let node: Node;
      try {
        node = this.node(logical, startLine, endLine);
      } catch (error) {
        if (error instanceof LineError) throw this.error(error.message, startLine, endLine);
        throw error;
      }
      this.readHeredocs(node, startLine);
      nodes.push(node);
    }
    if (nodes.length === 0) {
      throw this.error('file with no instructions', Math.max(this.lines.count, 1), Math.max(this.lines.count, 1), 'a Dockerfile needs at least a FROM instruction');
    }
    return { file: this.file, escape: this.escape, directives: this.directives, nodes };
  }

  private node(line: string, startLine: number, endLine: number): Node {
    const { word, flags, rest } = splitCommand(line, this.escape);
    const keyword = word.toUpperCase();
    if (!isKeyword(keyword)) {
      throw this.error(withSuggestion(`unknown instruction: ${word}`, keyword, KEYWORDS), startLine, endLine);
    }
    const original = line.trim();
    if (keyword !== 'ONBUILD') {
      return { keyword, startLine, endLine, original, flags, args: parseArgs(keyword, rest, this.escape), heredocs: [] };
    }
    if (rest === '') throw new LineError('ONBUILD requires at least one argument');
    const trigger = this.node(rest, startLine, endLine);
    if (trigger.keyword === 'ONBUILD') throw new LineError("chaining ONBUILD via 'ONBUILD ONBUILD' isn't allowed");
    if (trigger.keyword === 'FROM' || trigger.keyword === 'MAINTAINER') {
      throw new LineError(`${trigger.keyword} isn't allowed as an ONBUILD trigger`);
    }
    return { keyword, startLine, endLine, original, flags, args: { form: 'trigger', node: trigger }, heredocs: [] };
  }

  /** The heredoc operators on `node` (or the instruction it wraps), in order. */
  private markers(node: Node): { target: Node; markers: HeredocMarker[] } | undefined {
    const target = node.args.form === 'trigger' ? node.args.node : node;
    if (!HEREDOC_KEYWORDS.has(target.keyword) || target.args.form === 'exec') return undefined;
    const rest = splitCommand(target.original, this.escape).rest;
    let markers = findMarkers(rest, this.escape);
    // A COPY/ADD source is a heredoc only when the whole word is the operator.
    if (target.keyword !== 'RUN') markers = markers.filter((m) => m.end === rest.length || /\s/.test(rest[m.end]!));
    return markers.length === 0 ? undefined : { target, markers };
  }

  /** Reads the bodies of the node's heredocs, which follow its line in order. */
  private readHeredocs(node: Node, startLine: number): void {
    const found = this.markers(node);
    if (!found) return;
    const heredocs: Heredoc[] = [];
    for (const marker of found.markers) {
      let content = '';
      let terminated = false;
      for (let raw = this.lines.next(); raw !== undefined; raw = this.lines.next()) {
        let candidate = stripEol(raw);
        if (marker.chomp) candidate = candidate.replace(/^\t+/, '');
        if (candidate === marker.name) {
          terminated = true;
          break;
        }
        content += raw;
      }
      if (!terminated) {
        throw this.error(`unterminated heredoc: no line '${marker.name}' ends it`, startLine, this.lines.line);
      }
      heredocs.push({ name: marker.name, fd: marker.fd, chomp: marker.chomp, expand: marker.expand, content });
    }
    found.target.heredocs = heredocs;
    node.endLine = this.lines.line;
    if (found.target !== node) found.target.endLine = node.endLine;
  }
}

/**
 * Parses a Dockerfile. `input` may be raw bytes (decoded as UTF-8, a byte-order mark is
 * dropped) or text.
 */
export function parseDockerfile(input: string | Uint8Array, options: ParseOptions = {}): DockerfileAst {
  const text = typeof input === 'string' ? input : new TextDecoder('utf-8').decode(input);
  return new Parser(text, options.file ?? 'Dockerfile').parse();
}
