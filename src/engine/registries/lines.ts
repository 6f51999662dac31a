/**
 * Line numbers for TOML values, for error messages. The TOML parser gives back plain
 * values without positions, so this scans the text once for table headers and `key =`
 * lines and names each table the way parse.ts walks the values: `registry[0]`,
 * `registry[0].mirror[1]`, `aliases`, '' for the top level.
 *
 * It reads the common layout of registries.conf files (one header or key per line); for
 * what it does not follow (inline tables, dotted keys, multi-line strings) it answers
 * undefined, and the message names only the file.
 */

export interface LineLocator {
  /** the line of `key` in `table`, or of the table's header when `key` is omitted */
  line(table: string, key?: string): number | undefined;
}

const HEADER = /^\s*(\[\[?)\s*([^\]]+?)\s*\]\]?\s*(?:#.*)?$/;
const KEY = /^\s*("(?:[^"\\]|\\.)*"|'[^']*'|[A-Za-z0-9_.-]+)\s*=/;

export function lineLocator(text: string): LineLocator {
  const headers = new Map<string, number>();
  const keys = new Map<string, number>();
  const arrayCounts = new Map<string, number>();
  let table = '';

  const tableName = (segments: string[], isArray: boolean): string => {
    let name = '';
    segments.forEach((segment, i) => {
      const path = name === '' ? segment : `${name}.${segment}`;
      if (isArray && i === segments.length - 1) {
        const index = (arrayCounts.get(path) ?? -1) + 1;
        arrayCounts.set(path, index);
        name = `${path}[${index}]`;
      } else {
        const index = arrayCounts.get(path);
        name = index === undefined ? path : `${path}[${index}]`;
      }
    });
    return name;
  };

  text.split('\n').forEach((raw, i) => {
    const lineNo = i + 1;
    const header = HEADER.exec(raw);
    if (header !== null && !raw.trimStart().startsWith('#')) {
      table = tableName(header[2]!.split('.').map(unquote), header[1] === '[[');
      if (!headers.has(table)) headers.set(table, lineNo);
      return;
    }
    const key = KEY.exec(raw);
    if (key !== null) {
      const id = `${table}\0${unquote(key[1]!)}`;
      if (!keys.has(id)) keys.set(id, lineNo);
    }
  });

  return {
    line: (name, key) => (key === undefined ? headers.get(name) : keys.get(`${name}\0${key}`)),
  };
}

function unquote(segment: string): string {
  const s = segment.trim();
  if (s.length >= 2 && ((s.startsWith('"') && s.endsWith('"')) || (s.startsWith("'") && s.endsWith("'")))) return s.slice(1, -1);
  return s;
}
