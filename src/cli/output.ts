/**
 * --format handling shared by every command: `json`, or a Go-style template (optionally
 * prefixed `table ` for a header row), applied to one value or to each item of a list.
 */
import { parseTemplate, render } from './template.ts';

/** Renders one value; undefined when no --format was given (the caller prints its own view). */
export function formatValue(value: unknown, format: string | undefined): string | undefined {
  if (format === undefined || format === '') return undefined;
  if (format === 'json') return `${JSON.stringify(value, null, 2)}\n`;
  const text = render(parseTemplate(format.replace(/^table\s+/, '')), value);
  return text.endsWith('\n') ? text : `${text}\n`;
}

/** Renders a list: json prints one compact object per line (like docker), a template one line per item. */
export function formatItems(items: readonly unknown[], format: string): string {
  if (format === 'json') return items.map((item) => `${JSON.stringify(item)}\n`).join('');
  const table = /^table\s+/.test(format);
  const body = format.replace(/^table\s+/, '');
  const template = parseTemplate(body);
  let out = table ? `${tableHeader(body)}\n` : '';
  for (const item of items) {
    const line = render(template, item);
    out += line.endsWith('\n') ? line : `${line}\n`;
  }
  return out;
}

/** `{{.ID}}\t{{.Names}}` -> `ID\tNAMES`: each field reference becomes its upper-cased name. */
export function tableHeader(body: string): string {
  return body
    .replaceAll('\\t', '\t')
    .replace(/\{\{-?\s*(?:[a-z]+\s+)*\.([A-Za-z0-9_.]*)[^}]*\}\}/g, (_, path: string) =>
      (path.split('.').pop() ?? '').replace(/([a-z])([A-Z])/g, '$1 $2').toUpperCase(),
    );
}
