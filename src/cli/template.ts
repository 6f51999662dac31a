/**
 * The subset of Go's text/template that docker and podman users type after --format:
 * fields (`{{.Name}}`, `{{.Config.Env}}`, matched case-insensitively so `{{.ID}}` finds
 * `id`), pipelines and functions (`{{json .}}`, `{{.Name | upper}}`, `{{join .Names ","}}`),
 * `if`/`else`/`range`/`end`, `{{-`/`-}}` trimming, and the literal `\t`/`\n` escapes that
 * docker expands. Parse once with `parseTemplate`, then `render` per item.
 */
import { TscError } from '../engine/index.ts';

type Operand =
  | { kind: 'field'; path: string[] }
  | { kind: 'literal'; value: unknown }
  | { kind: 'call'; name: string };

interface Command {
  operands: Operand[];
}

type Node =
  | { kind: 'text'; text: string }
  | { kind: 'value'; pipe: Command[] }
  | { kind: 'if' | 'range'; pipe: Command[]; body: Node[]; otherwise: Node[] };

export interface Template {
  source: string;
  nodes: Node[];
}

const FUNCTIONS: Record<string, (...args: unknown[]) => unknown> = {
  json: (v) => JSON.stringify(v ?? null),
  upper: (v) => String(v ?? '').toUpperCase(),
  lower: (v) => String(v ?? '').toLowerCase(),
  title: (v) => String(v ?? '').replace(/\b\w/g, (c) => c.toUpperCase()),
  len: (v) => (Array.isArray(v) || typeof v === 'string' ? v.length : v && typeof v === 'object' ? Object.keys(v).length : 0),
  join: (list, sep) => (Array.isArray(list) ? list.map(show).join(String(sep ?? '')) : show(list)),
  truncate: (v, n) => show(v).slice(0, Number(n)),
  println: (...args) => `${args.map(show).join(' ')}\n`,
  printf: (format, ...args) => printf(String(format), args),
};

export function parseTemplate(source: string): Template {
  const expanded = source.replaceAll('\\t', '\t').replaceAll('\\n', '\n');
  const tokens = lex(expanded);
  const stack: { node: Node & { kind: 'if' | 'range' } | undefined; list: Node[]; inElse: boolean }[] = [
    { node: undefined, list: [], inElse: false },
  ];
  const top = () => stack[stack.length - 1]!;
  for (const token of tokens) {
    if (token.kind === 'text') {
      if (token.text !== '') top().list.push({ kind: 'text', text: token.text });
      continue;
    }
    const words = splitWords(token.text, source);
    const head = words[0];
    if (head === undefined) throw templateError(source, 'empty action {{}}');
    if (head === 'if' || head === 'range') {
      const node: Node & { kind: 'if' | 'range' } = { kind: head, pipe: parsePipe(words.slice(1), source), body: [], otherwise: [] };
      top().list.push(node);
      stack.push({ node, list: node.body, inElse: false });
    } else if (head === 'else') {
      const frame = top();
      if (!frame.node || frame.inElse) throw templateError(source, 'unexpected {{else}}');
      frame.inElse = true;
      frame.list = frame.node.otherwise;
    } else if (head === 'end') {
      if (stack.length === 1) throw templateError(source, 'unexpected {{end}}');
      stack.pop();
    } else {
      top().list.push({ kind: 'value', pipe: parsePipe(words, source) });
    }
  }
  if (stack.length !== 1) throw templateError(source, `missing {{end}} for {{${top().node?.kind}}}`);
  return { source, nodes: stack[0]!.list };
}

export function render(template: Template, data: unknown): string {
  return renderNodes(template.nodes, data, template.source);
}

function renderNodes(nodes: readonly Node[], dot: unknown, source: string): string {
  let out = '';
  for (const node of nodes) {
    switch (node.kind) {
      case 'text':
        out += node.text;
        break;
      case 'value':
        out += show(evalPipe(node.pipe, dot, source));
        break;
      case 'if':
        out += renderNodes(truthy(evalPipe(node.pipe, dot, source)) ? node.body : node.otherwise, dot, source);
        break;
      case 'range': {
        const value = evalPipe(node.pipe, dot, source);
        const items = Array.isArray(value) ? value : value && typeof value === 'object' ? Object.values(value) : [];
        if (items.length === 0) out += renderNodes(node.otherwise, dot, source);
        for (const item of items) out += renderNodes(node.body, item, source);
        break;
      }
    }
  }
  return out;
}

type Token = { kind: 'text'; text: string } | { kind: 'action'; text: string };

function lex(source: string): Token[] {
  const tokens: Token[] = [];
  let rest = source;
  let trimNext = false;
  for (;;) {
    const open = rest.indexOf('{{');
    let text = open === -1 ? rest : rest.slice(0, open);
    if (trimNext) text = text.replace(/^\s+/, '');
    if (open === -1) {
      tokens.push({ kind: 'text', text });
      return tokens;
    }
    const close = rest.indexOf('}}', open + 2);
    if (close === -1) throw templateError(source, 'unclosed action (missing }})');
    let inner = rest.slice(open + 2, close);
    if (inner.startsWith('- ')) {
      text = text.replace(/\s+$/, '');
      inner = inner.slice(2);
    }
    trimNext = inner.endsWith(' -');
    if (trimNext) inner = inner.slice(0, -2);
    tokens.push({ kind: 'text', text }, { kind: 'action', text: inner.trim() });
    rest = rest.slice(close + 2);
  }
}

function splitWords(action: string, source: string): string[] {
  const words = action.match(/"(?:[^"\\]|\\.)*"|`[^`]*`|\||[^\s|]+/g) ?? [];
  for (const word of words) {
    if (word.startsWith('"') && !word.endsWith('"')) throw templateError(source, `unterminated string ${word}`);
  }
  return words;
}

function parsePipe(words: string[], source: string): Command[] {
  const commands: Command[] = [{ operands: [] }];
  for (const word of words) {
    if (word === '|') {
      commands.push({ operands: [] });
      continue;
    }
    commands[commands.length - 1]!.operands.push(parseOperand(word, source));
  }
  if (commands.some((c) => c.operands.length === 0)) throw templateError(source, 'empty command in pipeline');
  return commands;
}

function parseOperand(word: string, source: string): Operand {
  if (word === '.') return { kind: 'field', path: [] };
  if (word.startsWith('.')) {
    const path = word.slice(1).split('.');
    if (path.some((p) => !/^[A-Za-z_][A-Za-z0-9_]*$/.test(p))) throw templateError(source, `bad field name ${word}`);
    return { kind: 'field', path };
  }
  if (word.startsWith('"')) return { kind: 'literal', value: JSON.parse(word) as string };
  if (word.startsWith('`')) return { kind: 'literal', value: word.slice(1, -1) };
  if (/^-?\d+(\.\d+)?$/.test(word)) return { kind: 'literal', value: Number(word) };
  if (word === 'true' || word === 'false') return { kind: 'literal', value: word === 'true' };
  if (word in FUNCTIONS) return { kind: 'call', name: word };
  throw templateError(source, `function "${word}" not defined`);
}

function evalPipe(pipe: readonly Command[], dot: unknown, source: string): unknown {
  let previous: unknown;
  pipe.forEach((command, index) => {
    const [first, ...rest] = command.operands;
    const args = rest.map((o) => evalOperand(o, dot, source));
    if (index > 0) args.push(previous);
    if (first!.kind === 'call') {
      previous = FUNCTIONS[first!.name]!(...args);
    } else {
      if (args.length > 0) throw templateError(source, 'only functions take arguments');
      previous = evalOperand(first!, dot, source);
    }
  });
  return previous;
}

function evalOperand(operand: Operand, dot: unknown, source: string): unknown {
  if (operand.kind === 'literal') return operand.value;
  if (operand.kind === 'call') return FUNCTIONS[operand.name]!();
  let value = dot;
  for (const name of operand.path) value = field(value, name, source);
  return value;
}

function field(value: unknown, name: string, source: string): unknown {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw templateError(source, `can't evaluate field ${name} in ${Array.isArray(value) ? 'a list' : typeof value}`);
  }
  const record = value as Record<string, unknown>;
  if (name in record) return record[name];
  const lower = name.toLowerCase();
  const key = Object.keys(record).find((k) => k.toLowerCase() === lower);
  if (key === undefined) throw templateError(source, `can't evaluate field ${name}`);
  return record[key];
}

function truthy(value: unknown): boolean {
  if (Array.isArray(value)) return value.length > 0;
  if (value && typeof value === 'object') return Object.keys(value).length > 0;
  return Boolean(value);
}

/** How Go's templates print a value: lists as [a b], maps as map[k:v]. */
function show(value: unknown): string {
  if (value === undefined || value === null) return '<no value>';
  if (Array.isArray(value)) return `[${value.map(show).join(' ')}]`;
  if (typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>).sort(([a], [b]) => a.localeCompare(b));
    return `map[${entries.map(([k, v]) => `${k}:${show(v)}`).join(' ')}]`;
  }
  return String(value);
}

function printf(format: string, args: unknown[]): string {
  let i = 0;
  return format.replace(/%([-\d]*)([sdvq%])/g, (_, width: string, verb: string) => {
    if (verb === '%') return '%';
    const arg = args[i++];
    let text = verb === 'q' ? JSON.stringify(show(arg)) : verb === 'd' ? String(Math.trunc(Number(arg))) : show(arg);
    const pad = Number(width.replace('-', '')) || 0;
    if (text.length < pad) text = width.startsWith('-') ? text.padEnd(pad) : text.padStart(pad);
    return text;
  });
}

function templateError(source: string, message: string): TscError {
  return new TscError('invalid-argument', `invalid --format template ${JSON.stringify(source)}: ${message}`, {
    hint: 'use json, or a Go template such as {{.Name}} or {{json .}}',
  });
}
