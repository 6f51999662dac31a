/**
 * Cutting one logical instruction line into keyword, `--flags` and arguments, in the
 * argument shape each instruction uses. Errors are thrown as plain messages (LineError)
 * for the parser to locate.
 */
import type { CommandArgs, Flag, Keyword, NodeArgs } from './ast.ts';
import { LineError } from './errors.ts';
import { findMarkers, wordsKeepingMarkers } from './heredoc.ts';
import { splitWords, type EscapeChar } from './shell.ts';

const WHITESPACE_RUN = /[\t\v\f\r\n ]+/;

/** Splits `FROM --platform=x image` into keyword `FROM`, its flags and the rest. */
export function splitCommand(line: string, escape: string): { word: string; flags: Flag[]; rest: string } {
  const trimmed = line.trim();
  const match = WHITESPACE_RUN.exec(trimmed);
  if (!match) return { word: trimmed, flags: [], rest: '' };
  const { flags, rest } = extractFlags(trimmed.slice(match.index + match[0].length), escape);
  return { word: trimmed.slice(0, match.index), flags, rest: rest.trim() };
}

/**
 * Takes the leading `--name[=value]` words off `text`. Inside a flag word, quotes are
 * removed and the escape character escapes the next character; a lone `--` ends the
 * flags and is dropped.
 */
export function extractFlags(text: string, escape: string): { flags: Flag[]; rest: string } {
  const flags: Flag[] = [];
  let i = 0;
  for (;;) {
    while (i < text.length && /\s/.test(text[i]!)) i++;
    if (text[i] !== '-' || text[i + 1] !== '-') return { flags, rest: text.slice(i) };
    let word = '';
    let quote: string | undefined;
    for (; i < text.length; i++) {
      const ch = text[i]!;
      if (quote === undefined && /\s/.test(ch)) break;
      if (quote === undefined && (ch === '"' || ch === "'")) {
        quote = ch;
      } else if (ch === quote) {
        quote = undefined;
      } else if (ch === escape) {
        if (i + 1 < text.length) word += text[++i];
      } else {
        word += ch;
      }
    }
    if (word === '--') return { flags, rest: text.slice(i) };
    const body = word.slice(2);
    const eq = body.indexOf('=');
    flags.push(eq === -1 ? { name: body, value: null } : { name: body.slice(0, eq), value: body.slice(eq + 1) });
  }
}

/**
 * `text` as a JSON array of strings, or undefined when it is not valid JSON or not an
 * array (the shell form then applies, as in docker). An array holding anything but
 * strings is an error.
 */
export function parseJsonArray(text: string): string[] | undefined {
  const trimmed = text.trimStart();
  if (!trimmed.startsWith('[')) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(trimmed);
  } catch {
    return undefined;
  }
  if (!Array.isArray(parsed)) return undefined;
  if (!parsed.every((v) => typeof v === 'string')) {
    throw new LineError('when using JSON array syntax, arrays must be comprised of strings only');
  }
  return parsed as string[];
}

function commandArgs(rest: string): CommandArgs | null {
  if (rest === '') return null;
  const values = parseJsonArray(rest);
  return values ? { form: 'exec', values } : { form: 'shell', text: rest };
}

function whitespaceWords(rest: string): NodeArgs {
  const values = rest.split(WHITESPACE_RUN).filter((w) => w !== '');
  return values.length === 0 ? { form: 'empty' } : { form: 'words', values };
}

/** ENV and LABEL: `k=v k2="v 2"`, or the legacy single `KEY some value`. */
function pairs(keyword: string, rest: string, escape: EscapeChar): NodeArgs {
  const words = splitWords(rest, { escape });
  if (words.length === 0) return { form: 'empty' };
  if (!words[0]!.includes('=')) {
    const match = WHITESPACE_RUN.exec(rest);
    if (!match) throw new LineError(`${keyword} must have two arguments`);
    return {
      form: 'pairs',
      legacy: true,
      pairs: [{ key: rest.slice(0, match.index), value: rest.slice(match.index + match[0].length) }],
    };
  }
  return {
    form: 'pairs',
    legacy: false,
    pairs: words.map((word) => {
      const eq = word.indexOf('=');
      if (eq === -1) {
        throw new LineError(`syntax error - can't find = in "${word}"; must be of the form: name=value`);
      }
      return { key: word.slice(0, eq), value: word.slice(eq + 1) };
    }),
  };
}

/** The arguments of a non-ONBUILD instruction, shaped for its keyword. */
export function parseArgs(keyword: Exclude<Keyword, 'ONBUILD'>, rest: string, escape: EscapeChar): NodeArgs {
  switch (keyword) {
    case 'RUN':
    case 'CMD':
    case 'ENTRYPOINT':
    case 'SHELL':
      return commandArgs(rest) ?? { form: 'empty' };
    case 'ADD':
    case 'COPY':
    case 'VOLUME': {
      const values = parseJsonArray(rest);
      if (values) return { form: 'exec', values };
      if (keyword === 'VOLUME') return whitespaceWords(rest);
      const words = wordsKeepingMarkers(rest, findMarkers(rest, escape));
      return words.length === 0 ? { form: 'empty' } : { form: 'words', values: words };
    }
    case 'FROM':
    case 'EXPOSE':
      return whitespaceWords(rest);
    case 'ARG': {
      const values = splitWords(rest, { escape });
      return values.length === 0 ? { form: 'empty' } : { form: 'words', values };
    }
    case 'ENV':
    case 'LABEL':
      return pairs(keyword, rest, escape);
    case 'HEALTHCHECK': {
      if (rest === '') return { form: 'empty' };
      const match = WHITESPACE_RUN.exec(rest);
      const type = match ? rest.slice(0, match.index) : rest;
      const command = match ? commandArgs(rest.slice(match.index + match[0].length)) : null;
      return { form: 'healthcheck', type, command };
    }
    case 'MAINTAINER':
    case 'STOPSIGNAL':
    case 'USER':
    case 'WORKDIR':
      return rest === '' ? { form: 'empty' } : { form: 'string', text: rest };
  }
}
