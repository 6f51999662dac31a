/**
 * Shell glob patterns for the `${VAR#pat}`, `${VAR%pat}` and `${VAR/pat/repl}` forms:
 * `*` any run of characters, `?` one character, `[...]` a bracket expression (`!` or `^`
 * negates, ranges, POSIX classes such as `[:digit:]`), `\x` a literal x. Characters the
 * lexer saw quoted or escaped are literal. Matching works on code points, not UTF-16 units.
 */

/** One code point of a pattern, and whether it was quoted (hence literal). */
export interface PatternChar {
  ch: string;
  quoted: boolean;
}

const POSIX_CLASSES: Record<string, string> = {
  alpha: 'a-zA-Z',
  digit: '0-9',
  alnum: 'a-zA-Z0-9',
  upper: 'A-Z',
  lower: 'a-z',
  space: ' \\t\\n\\r\\f\\v',
  blank: ' \\t',
  xdigit: '0-9A-Fa-f',
  word: 'a-zA-Z0-9_',
  punct: '!-\\/:-@\\[-`{-~',
};

function literal(ch: string): string {
  return /^[A-Za-z0-9]$/.test(ch) ? ch : `\\u{${ch.codePointAt(0)!.toString(16)}}`;
}

/**
 * The bracket expression starting at `chars[start]` (an unquoted `[`) as a regex class,
 * and the index after it; undefined when it is not closed, so `[` is then literal.
 */
function bracket(chars: readonly PatternChar[], start: number): { source: string; next: number } | undefined {
  let i = start + 1;
  let negate = false;
  const first = chars[i];
  if (first && !first.quoted && (first.ch === '!' || first.ch === '^')) {
    negate = true;
    i++;
  }
  const items: string[] = [];
  let firstItem = true;
  while (i < chars.length) {
    const c = chars[i]!;
    if (!c.quoted && c.ch === ']' && !firstItem) {
      const body = items.join('');
      // An empty positive class matches nothing; an empty negated one matches anything.
      const source = body === '' ? (negate ? '[\\s\\S]' : '[^\\s\\S]') : `[${negate ? '^' : ''}${body}]`;
      return { source, next: i + 1 };
    }
    firstItem = false;
    if (!c.quoted && c.ch === '[' && chars[i + 1]?.ch === ':') {
      let j = i + 2;
      let name = '';
      while (j < chars.length && chars[j]!.ch !== ':') name += chars[j++]!.ch;
      if (chars[j]?.ch === ':' && chars[j + 1]?.ch === ']') {
        // Unknown class names match nothing, as in bash.
        items.push(POSIX_CLASSES[name] ?? '');
        i = j + 2;
        continue;
      }
    }
    const dash = chars[i + 1];
    const high = chars[i + 2];
    if (dash && high && !dash.quoted && dash.ch === '-' && !(high.ch === ']' && !high.quoted)) {
      const lo = c.ch.codePointAt(0)!;
      const hi = high.ch.codePointAt(0)!;
      if (lo <= hi) items.push(`${literal(c.ch)}-${literal(high.ch)}`);
      i += 3;
      continue;
    }
    items.push(literal(c.ch));
    i++;
  }
  return undefined;
}

/** A RegExp that matches exactly the whole strings the pattern matches. */
export function compileGlob(chars: readonly PatternChar[]): RegExp {
  let source = '';
  for (let i = 0; i < chars.length; ) {
    const c = chars[i]!;
    if (!c.quoted && c.ch === '\\' && i + 1 < chars.length) {
      // A backslash that reached the pattern unquoted (from a variable's value) escapes.
      source += literal(chars[i + 1]!.ch);
      i += 2;
    } else if (!c.quoted && c.ch === '*') {
      source += '[\\s\\S]*';
      i++;
    } else if (!c.quoted && c.ch === '?') {
      source += '[\\s\\S]';
      i++;
    } else if (!c.quoted && c.ch === '[') {
      const b = bracket(chars, i);
      if (b) {
        source += b.source;
        i = b.next;
      } else {
        source += literal('[');
        i++;
      }
    } else {
      source += literal(c.ch);
      i++;
    }
  }
  return new RegExp(`^(?:${source})$`, 'u');
}

/** `${VAR#pat}` (shortest) and `${VAR##pat}` (longest): drop a matching prefix. */
export function trimPrefix(value: string, pattern: RegExp, longest: boolean): string {
  const cps = [...value];
  for (let k = 0; k <= cps.length; k++) {
    const end = longest ? cps.length - k : k;
    if (pattern.test(cps.slice(0, end).join(''))) return cps.slice(end).join('');
  }
  return value;
}

/** `${VAR%pat}` (shortest) and `${VAR%%pat}` (longest): drop a matching suffix. */
export function trimSuffix(value: string, pattern: RegExp, longest: boolean): string {
  const cps = [...value];
  for (let k = 0; k <= cps.length; k++) {
    const start = longest ? k : cps.length - k;
    if (pattern.test(cps.slice(start).join(''))) return cps.slice(0, start).join('');
  }
  return value;
}

/**
 * `${VAR/pat/repl}` and `${VAR//pat/repl}`: the longest match at the leftmost position
 * is replaced (every non-overlapping one when `all`). An empty match only counts when
 * the value itself is empty, so an empty value with pattern `*` gives the replacement as in bash, and `*` never loops.
 */
export function replaceMatches(value: string, pattern: RegExp, replacement: string, all: boolean): string {
  const cps = [...value];
  if (cps.length === 0) return pattern.test('') ? replacement : value;
  let out = '';
  let i = 0;
  let replaced = false;
  while (i < cps.length) {
    let matchEnd = -1;
    if (!replaced || all) {
      for (let end = cps.length; end > i; end--) {
        if (pattern.test(cps.slice(i, end).join(''))) {
          matchEnd = end;
          break;
        }
      }
    }
    if (matchEnd === -1) {
      out += cps[i];
      i++;
    } else {
      out += replacement;
      i = matchEnd;
      replaced = true;
    }
  }
  return out;
}
