/**
 * The shell-word lexer and expander of the Dockerfile reference ("Environment
 * replacement"). It stands alone: it knows nothing of instructions or lines, takes text
 * and an environment, and throws TscError('invalid-argument') on malformed input.
 *
 * Supported: `$VAR`, `${VAR}`, `${VAR:-w}`, `${VAR-w}`, `${VAR:+w}`, `${VAR+w}`,
 * `${VAR:?msg}`, `${VAR?msg}`, `${VAR#p}`, `${VAR##p}`, `${VAR%p}`, `${VAR%%p}`,
 * `${VAR/p/r}`, `${VAR//p/r}`; single quotes (literal), double quotes (only `$` and the
 * escape character are special), and the configured escape character. Unset variables
 * expand to nothing. Positional (`$1`) and special (`$@`, `$#`...) parameters are read
 * but never set, as the reference says. There is no command substitution, arithmetic or
 * tilde expansion: `$(` is a literal `$` followed by `(`.
 */
import { TscError } from '../../errors.ts';
import { compileGlob, replaceMatches, trimPrefix, trimSuffix, type PatternChar } from './glob.ts';

export type EscapeChar = '\\' | '`';

/** Variables to expand: a map, or a function returning undefined for unset names. */
export type EnvSource = ReadonlyMap<string, string> | ((name: string) => string | undefined);

export interface ShellOptions {
  /** the Dockerfile's escape character (`# escape=`), backslash by default */
  escape?: EscapeChar;
}

/** A run of result text; quoted text is neither word-split nor a glob. */
interface Segment {
  text: string;
  quoted: boolean;
}

const SPECIAL_PARAMS = new Set(['@', '*', '#', '?', '-', '$', '!']);
const NAME_CHAR = /^[\p{L}\p{Nd}_]$/u;
const WHITESPACE = /^[ \t\n\r\f\v]$/;

function lookupIn(env: EnvSource): (name: string) => string | undefined {
  return typeof env === 'function' ? env : (name) => env.get(name);
}

class Lexer {
  private pos = 0;
  private readonly text: string;
  private readonly escape: string;
  private readonly lookup: (name: string) => string | undefined;

  constructor(text: string, env: EnvSource, escape: string) {
    this.text = text;
    this.escape = escape;
    this.lookup = lookupIn(env);
  }

  private fail(detail: string): never {
    throw new TscError('invalid-argument', `failed to process "${this.text}": ${detail}`);
  }

  private peek(): string | undefined {
    const cp = this.text.codePointAt(this.pos);
    return cp === undefined ? undefined : String.fromCodePoint(cp);
  }

  private next(): string | undefined {
    const ch = this.peek();
    if (ch !== undefined) this.pos += ch.length;
    return ch;
  }

  /** Shell-word mode: quotes, escapes and expansions, up to a stop character (consumed). */
  word(stops: string = ''): { segments: Segment[]; stoppedAt: string | undefined } {
    const segments: Segment[] = [];
    for (;;) {
      const ch = this.peek();
      if (ch === undefined) return { segments, stoppedAt: undefined };
      if (stops.includes(ch)) {
        this.next();
        return { segments, stoppedAt: ch };
      }
      if (ch === "'") {
        segments.push({ text: this.singleQuoted(), quoted: true });
      } else if (ch === '"') {
        segments.push({ text: this.doubleQuoted(), quoted: true });
      } else if (ch === '$') {
        segments.push(...this.dollar());
      } else if (ch === this.escape) {
        this.next();
        const escaped = this.next();
        // An escape character at the very end is dropped.
        if (escaped !== undefined) segments.push({ text: escaped, quoted: true });
      } else {
        this.next();
        segments.push({ text: ch, quoted: false });
      }
    }
  }

  /** Here-document body mode: quotes are literal; the escape is always backslash. */
  heredoc(): string {
    let out = '';
    for (;;) {
      const ch = this.peek();
      if (ch === undefined) return out;
      if (ch === '$') {
        out += this.dollar().map((s) => s.text).join('');
      } else if (ch === '\\') {
        this.next();
        const escaped = this.peek();
        if (escaped === '$' || escaped === '`' || escaped === '\\') {
          out += escaped;
          this.next();
        } else if (escaped === '\n') {
          this.next();
        } else {
          out += '\\';
        }
      } else {
        out += ch;
        this.next();
      }
    }
  }

  private singleQuoted(): string {
    this.next();
    let out = '';
    for (;;) {
      const ch = this.next();
      if (ch === undefined) this.fail('unexpected end of statement while looking for matching single-quote');
      if (ch === "'") return out;
      out += ch;
    }
  }

  private doubleQuoted(): string {
    this.next();
    let out = '';
    for (;;) {
      const ch = this.peek();
      if (ch === undefined) this.fail('unexpected end of statement while looking for matching double-quote');
      if (ch === '"') {
        this.next();
        return out;
      }
      if (ch === '$') {
        out += this.dollar().map((s) => s.text).join('');
        continue;
      }
      this.next();
      if (ch === this.escape) {
        const escaped = this.peek();
        if (escaped === '"' || escaped === '$' || escaped === this.escape) {
          out += escaped;
          this.next();
          continue;
        }
      }
      out += ch;
    }
  }

  /** A parameter name: digits (positional), one special character, or letters/digits/_. */
  private name(): string {
    const first = this.peek();
    if (first === undefined) return '';
    if (/^[0-9]$/.test(first)) {
      let digits = '';
      while (/^[0-9]$/.test(this.peek() ?? '')) digits += this.next();
      return digits;
    }
    if (SPECIAL_PARAMS.has(first)) {
      this.next();
      return first;
    }
    let name = '';
    while (NAME_CHAR.test(this.peek() ?? '')) name += this.next();
    return name;
  }

  /** Expands the `$...` at the current position. */
  private dollar(): Segment[] {
    this.next();
    if (this.peek() !== '{') {
      const name = this.name();
      if (name === '') return [{ text: '$', quoted: false }];
      return [{ text: this.lookup(name) ?? '', quoted: false }];
    }
    this.next();
    const first = this.peek();
    if (first === undefined) this.fail("syntax error: missing '}'");
    if (first === '{' || first === '}' || first === ':') this.fail('syntax error: bad substitution');
    const name = this.name();
    const op = this.next();
    if (op === undefined) this.fail("syntax error: missing '}'");
    const value = this.lookup(name);
    switch (op) {
      case '}':
        return [{ text: value ?? '', quoted: false }];
      case ':': {
        const sub = this.next();
        if (sub !== '-' && sub !== '+' && sub !== '?') this.fail(`unsupported modifier (:${sub ?? ''}) in substitution`);
        return this.conditional(name, value, sub, true);
      }
      case '-':
      case '+':
      case '?':
        return this.conditional(name, value, op, false);
      case '#':
      case '%': {
        const longest = this.peek() === op;
        if (longest) this.next();
        const pattern = compileGlob(this.patternChars(this.untilClose()));
        const text = value ?? '';
        return [{ text: op === '#' ? trimPrefix(text, pattern, longest) : trimSuffix(text, pattern, longest), quoted: false }];
      }
      case '/': {
        const all = this.peek() === '/';
        if (all) this.next();
        const pat = this.word('/}');
        if (pat.stoppedAt === undefined) this.fail("syntax error: missing '}'");
        const replacement = pat.stoppedAt === '/' ? this.untilClose() : [];
        const pattern = this.patternChars(pat.segments);
        if (pattern.length === 0) return [{ text: value ?? '', quoted: false }];
        const repl = replacement.map((s) => s.text).join('');
        return [{ text: replaceMatches(value ?? '', compileGlob(pattern), repl, all), quoted: false }];
      }
      default:
        this.fail(`unsupported modifier (${op}) in substitution`);
    }
  }

  private untilClose(): Segment[] {
    const { segments, stoppedAt } = this.word('}');
    if (stoppedAt === undefined) this.fail("syntax error: missing '}'");
    return segments;
  }

  private patternChars(segments: readonly Segment[]): PatternChar[] {
    return segments.flatMap((s) => [...s.text].map((ch) => ({ ch, quoted: s.quoted })));
  }

  /** The `-`, `+` and `?` forms; `colon` makes an empty value count as unset. */
  private conditional(name: string, value: string | undefined, op: string, colon: boolean): Segment[] {
    const word = this.untilClose();
    const missing = value === undefined || (colon && value === '');
    if (op === '-') return missing ? word : [{ text: value!, quoted: false }];
    if (op === '+') return missing ? [] : word;
    if (missing) {
      const message = word.map((s) => s.text).join('');
      const fallback = value === undefined ? 'is not allowed to be unset' : 'is not allowed to be empty';
      this.fail(`${name}: ${message === '' ? fallback : message}`);
    }
    return [{ text: value!, quoted: false }];
  }
}

function joinSegments(segments: readonly Segment[]): string {
  return segments.map((s) => s.text).join('');
}

/** Splits on unquoted whitespace; empty words are dropped, as buildkit does. */
function splitSegments(segments: readonly Segment[]): string[] {
  const words: string[] = [];
  let current = '';
  for (const segment of segments) {
    if (segment.quoted) {
      current += segment.text;
      continue;
    }
    for (const ch of segment.text) {
      if (WHITESPACE.test(ch)) {
        if (current !== '') words.push(current);
        current = '';
      } else {
        current += ch;
      }
    }
  }
  if (current !== '') words.push(current);
  return words;
}

/** Expands `text` as one word: quotes removed, nothing split. */
export function expandWord(text: string, env: EnvSource, options: ShellOptions = {}): string {
  return joinSegments(new Lexer(text, env, options.escape ?? '\\').word().segments);
}

/**
 * Expands `text` and splits the result into words on unquoted whitespace, including
 * whitespace that came out of an unquoted variable.
 */
export function expandWords(text: string, env: EnvSource, options: ShellOptions = {}): string[] {
  return splitSegments(new Lexer(text, env, options.escape ?? '\\').word().segments);
}

/**
 * Expands a here-document body as POSIX does for an unquoted delimiter: `$` expansions
 * happen, quotes stay literal, and backslash escapes only `$`, `` ` ``, `\` and newline.
 */
export function expandHeredoc(text: string, env: EnvSource): string {
  return new Lexer(text, env, '\\').heredoc();
}

/** The names of the variables `text` reads, in order of first use. */
export function variablesIn(text: string, options: ShellOptions = {}): string[] {
  const names: string[] = [];
  const record = (name: string): undefined => {
    if (!names.includes(name)) names.push(name);
    return undefined;
  };
  // `${X:?}` fails on unset variables; that says nothing about which names are read.
  try {
    new Lexer(text, record, options.escape ?? '\\').word();
  } catch (error) {
    if (!(error instanceof TscError)) throw error;
  }
  return names;
}

/**
 * Splits `text` into words on unquoted whitespace without expanding anything: quotes
 * and escape characters are kept in the words for a later expansion to interpret. An
 * escape character at the very end is dropped; an unclosed quote runs to the end.
 * This is how ENV, LABEL and ARG arguments are cut into `key=value` words.
 */
export function splitWords(text: string, options: ShellOptions = {}): string[] {
  const escape = options.escape ?? '\\';
  const words: string[] = [];
  let current = '';
  let inWord = false;
  let quote: string | undefined;
  const chars = [...text];
  for (let i = 0; i < chars.length; i++) {
    const ch = chars[i]!;
    if (quote === undefined && WHITESPACE.test(ch)) {
      if (inWord) words.push(current);
      current = '';
      inWord = false;
      continue;
    }
    inWord = true;
    if (ch === escape && quote !== "'") {
      if (i + 1 === chars.length) break;
      current += ch + chars[++i]!;
      continue;
    }
    if (quote === undefined && (ch === '"' || ch === "'")) quote = ch;
    else if (ch === quote) quote = undefined;
    current += ch;
  }
  if (inWord) words.push(current);
  return words;
}
