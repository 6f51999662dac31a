/**
 * `.dockerignore`, as docker reads it (moby/patternmatcher): one pattern a line, `#`
 * comments, blank lines skipped; each pattern is trimmed, path-cleaned (`./a/../b` is `b`,
 * a leading `/` dropped); `!` makes an exception; `*` and `?` match within one path
 * component, `[...]` a character class, `**` any number of components, `\` escapes. A
 * pattern matches a path or any directory above it, and the last pattern that matches a
 * path decides. Pure.
 */
import { posix } from 'node:path';

export interface IgnorePattern {
  /** the cleaned pattern text */
  text: string;
  exclusion: boolean;
  regex: RegExp;
}

/** The patterns of a .dockerignore file's text. */
export function parseIgnore(text: string): IgnorePattern[] {
  const patterns: IgnorePattern[] = [];
  for (const raw of text.split(/\r?\n/)) {
    let line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    let exclusion = false;
    if (line.startsWith('!')) {
      exclusion = true;
      line = line.slice(1).trim();
    }
    let cleaned = posix.normalize(line);
    cleaned = cleaned.replace(/^\/+/, '').replace(/\/+$/, '');
    if (cleaned === '.' || cleaned === '') continue;
    // `..` above the context root cannot match anything in it
    if (cleaned === '..' || cleaned.startsWith('../')) continue;
    patterns.push({ text: cleaned, exclusion, regex: compilePattern(cleaned) });
  }
  return patterns;
}

/** A pattern as an anchored regular expression over `/`-separated relative paths. */
export function compilePattern(pattern: string): RegExp {
  let out = '';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!;
    if (c === '*') {
      if (pattern[i + 1] === '*') {
        i++;
        if (pattern[i + 1] === '/') {
          i++;
          out += '(?:.*/)?';
        } else {
          out += '.*';
        }
      } else {
        out += '[^/]*';
      }
    } else if (c === '?') {
      out += '[^/]';
    } else if (c === '\\' && i + 1 < pattern.length) {
      out += escapeRegex(pattern[++i]!);
    } else if (c === '[') {
      const end = pattern.indexOf(']', i + 2);
      if (end < 0) {
        out += '\\[';
        continue;
      }
      let body = pattern.slice(i + 1, end);
      if (body.startsWith('!') || body.startsWith('^')) body = `^${body.slice(1)}`;
      out += `[${body.replaceAll('\\', '\\\\')}]`;
      i = end;
    } else {
      out += escapeRegex(c);
    }
  }
  return new RegExp(`^${out}$`);
}

function escapeRegex(c: string): string {
  return /[.*+?^${}()|[\]\\/]/.test(c) ? `\\${c}` : c;
}

function matchesOrParent(pattern: IgnorePattern, path: string): boolean {
  if (pattern.regex.test(path)) return true;
  for (let slash = path.lastIndexOf('/'); slash > 0; slash = path.lastIndexOf('/', slash - 1)) {
    if (pattern.regex.test(path.slice(0, slash))) return true;
  }
  return false;
}

/** Whether `path` (relative to the context root, `/`-separated) is excluded. */
export function isIgnored(patterns: readonly IgnorePattern[], path: string): boolean {
  let ignored = false;
  for (const pattern of patterns) {
    if (pattern.exclusion === !ignored) continue; // cannot change the outcome
    if (matchesOrParent(pattern, path)) ignored = !pattern.exclusion;
  }
  return ignored;
}

/**
 * Whether an excluded directory must still be walked: an exception could re-include
 * something below it (docker walks such directories too).
 */
export function mayHaveExceptionsBelow(patterns: readonly IgnorePattern[], dir: string): boolean {
  return patterns.some((p) => p.exclusion && (p.text.startsWith(`${dir}/`) || p.text.startsWith('*') || p.text.includes('**') || !p.text.includes('/')));
}
