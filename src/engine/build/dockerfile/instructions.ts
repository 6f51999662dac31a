/**
 * Typed instructions from the syntax tree. Each node is checked against what its
 * instruction accepts (flags, argument count and form) and becomes one Instruction;
 * errors name the node's line. Variables are not expanded here: see expand.ts, and
 * stages.ts for grouping into build stages (both re-exported below).
 */
import type { DockerfileAst, Node, NodeArgs } from './ast.ts';
import { atLines, LineError } from './errors.ts';
import { parseFlags } from './flags.ts';
import { durationFlag, retriesFlag } from './healthcheck.ts';
import { chompTabs, wordMarker } from './heredoc.ts';
import type {
  CommandLine,
  CopySource,
  FromInstruction,
  Instruction,
  KeyValue,
  Located,
  MountSpec,
  RunInstruction,
} from './instruction-types.ts';
import { mountNeedsExpansion, parseMount } from './mounts.ts';
import { variablesIn, type EscapeChar } from './shell.ts';

export type * from './instruction-types.ts';
export { expandInstruction } from './expand.ts';
export { stages } from './stages.ts';

const STAGE_NAME = /^[a-z][a-z0-9-_.]*$/;
const NO_ENV = (): undefined => undefined;

function located(node: Node): Located {
  return { startLine: node.startLine, endLine: node.endLine, original: node.original };
}

function commandLine(keyword: string, args: NodeArgs): CommandLine {
  if (args.form === 'exec') return { form: 'exec', args: args.values };
  if (args.form === 'shell') return { form: 'shell', command: args.text };
  throw new LineError(`${keyword} requires at least one argument`);
}

function single(keyword: string, args: NodeArgs): string {
  if (args.form !== 'string') throw new LineError(`${keyword} requires exactly one argument`);
  return args.text;
}

function list(keyword: string, args: NodeArgs): string[] {
  const values = args.form === 'exec' || args.form === 'words' ? args.values : [];
  if (values.length === 0) throw new LineError(`${keyword} requires at least one argument`);
  return values;
}

function pairs(keyword: string, args: NodeArgs): KeyValue[] {
  if (args.form !== 'pairs') throw new LineError(`${keyword} requires at least one argument`);
  for (const pair of args.pairs) {
    if (pair.key === '') throw new LineError(`${keyword} names can not be blank`);
  }
  return args.pairs.map((p) => ({ key: p.key, value: p.value }));
}

function from(node: Node): FromInstruction {
  const flags = parseFlags('FROM', node.flags);
  const args = node.args.form === 'words' ? node.args.values : [];
  let stageName: string | null = null;
  if (args.length === 3 && args[1]!.toLowerCase() === 'as') {
    stageName = args[2]!.toLowerCase();
    if (!STAGE_NAME.test(stageName)) {
      throw new LineError(`invalid name for build stage: "${args[2]}", name can't start with a number or contain symbols`);
    }
  } else if (args.length !== 1) {
    throw new LineError('FROM requires either one or three arguments');
  }
  return { kind: 'FROM', ...located(node), image: args[0]!, stageName, platform: flags.string('platform') };
}

function run(node: Node, escape: EscapeChar): RunInstruction {
  const flags = parseFlags('RUN', node.flags);
  const network = flags.string('network');
  if (network !== null && network !== 'default' && network !== 'none' && network !== 'host') {
    throw new LineError(`invalid network mode "${network}": use default, none or host`);
  }
  const security = flags.string('security');
  if (security !== null && security !== 'sandbox' && security !== 'insecure') {
    throw new LineError(`security "${security}" is not valid: use sandbox or insecure`);
  }
  const mounts: MountSpec[] = flags.strings('mount').map((spec) => ({
    spec,
    mount: mountNeedsExpansion(spec, { escape }) ? null : parseMount(spec, NO_ENV, { escape }),
  }));
  return {
    kind: 'RUN',
    ...located(node),
    command: commandLine('RUN', node.args),
    heredocs: node.heredocs.map((h) => ({ name: h.name, fd: h.fd, chomp: h.chomp, expand: h.expand, content: h.content })),
    mounts,
    network,
    security,
  };
}

/** COPY and ADD share sources, destination and the flags both accept. */
function copyLike(keyword: 'COPY' | 'ADD', node: Node, escape: EscapeChar) {
  const flags = parseFlags(keyword, node.flags);
  const args = node.args.form === 'exec' || node.args.form === 'words' ? node.args.values : [];
  if (args.length < 2) {
    const given = args.length === 0 ? 'none were' : 'only one was';
    throw new LineError(`${keyword} requires at least two arguments, but ${given} provided; the destination could not be determined`);
  }
  const isWords = node.args.form === 'words';
  let nextHeredoc = 0;
  const sources: CopySource[] = args.slice(0, -1).map((arg) => {
    if (!isWords || !wordMarker(arg, escape)) return { kind: 'path', path: arg };
    const heredoc = node.heredocs[nextHeredoc++];
    if (!heredoc) throw new LineError(`heredoc ${arg} has no body`);
    return { kind: 'heredoc', name: heredoc.name, content: heredoc.chomp ? chompTabs(heredoc.content) : heredoc.content, expand: heredoc.expand };
  });
  const dest = args.at(-1)!;
  if (isWords && wordMarker(dest, escape)) throw new LineError(`${keyword} cannot accept a heredoc as a destination`);
  return {
    ...located(node),
    sources,
    dest,
    chown: flags.string('chown'),
    chmod: flags.string('chmod'),
    link: flags.bool('link') ?? false,
    exclude: flags.strings('exclude'),
    flags,
  };
}

function copy(node: Node, escape: EscapeChar): Instruction {
  const { flags, ...common } = copyLike('COPY', node, escape);
  const source = flags.string('from');
  if (source !== null && variablesIn(source, { escape }).length > 0) {
    throw new LineError('variable expansion is not supported for --from, define a new stage with FROM using ARG from global scope as a workaround');
  }
  return { kind: 'COPY', ...common, from: source, parents: flags.bool('parents') ?? false };
}

function add(node: Node, escape: EscapeChar): Instruction {
  const { flags, ...common } = copyLike('ADD', node, escape);
  return {
    kind: 'ADD',
    ...common,
    keepGitDir: flags.bool('keep-git-dir'),
    checksum: flags.string('checksum'),
    unpack: flags.bool('unpack'),
  };
}

function healthcheck(node: Node): Instruction {
  const args = node.args;
  if (args.form !== 'healthcheck') throw new LineError('HEALTHCHECK requires at least one argument');
  const flags = parseFlags('HEALTHCHECK', node.flags);
  const type = args.type.toUpperCase();
  const base = { kind: 'HEALTHCHECK' as const, ...located(node) };
  if (type === 'NONE') {
    if (args.command !== null) throw new LineError('HEALTHCHECK NONE takes no arguments');
    if (node.flags.length > 0) throw new LineError('HEALTHCHECK NONE takes no flags');
    return { ...base, test: ['NONE'], interval: 0, timeout: 0, startPeriod: 0, startInterval: 0, retries: 0 };
  }
  if (type !== 'CMD') throw new LineError(`unknown type "${args.type}" in HEALTHCHECK (try CMD)`);
  const command = args.command;
  if (command === null || (command.form === 'exec' && command.values.length === 0)) {
    throw new LineError('missing command after HEALTHCHECK CMD');
  }
  return {
    ...base,
    test: command.form === 'exec' ? ['CMD', ...command.values] : ['CMD-SHELL', command.text],
    interval: durationFlag(flags, 'interval'),
    timeout: durationFlag(flags, 'timeout'),
    startPeriod: durationFlag(flags, 'start-period'),
    startInterval: durationFlag(flags, 'start-interval'),
    retries: retriesFlag(flags),
  };
}

function convert(node: Node, escape: EscapeChar): Instruction {
  const at = located(node);
  const { args } = node;
  switch (node.keyword) {
    case 'FROM':
      return from(node);
    case 'RUN':
      return run(node, escape);
    case 'COPY':
      return copy(node, escape);
    case 'ADD':
      return add(node, escape);
    case 'HEALTHCHECK':
      return healthcheck(node);
  }
  parseFlags(node.keyword, node.flags);
  switch (node.keyword) {
    case 'CMD':
    case 'ENTRYPOINT':
      return { kind: node.keyword, ...at, command: commandLine(node.keyword, args) };
    case 'ENV':
    case 'LABEL':
      return { kind: node.keyword, ...at, pairs: pairs(node.keyword, args) };
    case 'ARG':
      return {
        kind: 'ARG',
        ...at,
        args: list('ARG', args).map((word) => {
          const eq = word.indexOf('=');
          const key = eq === -1 ? word : word.slice(0, eq);
          if (key === '') throw new LineError('ARG names can not be blank');
          return { key, value: eq === -1 ? null : word.slice(eq + 1) };
        }),
      };
    case 'WORKDIR':
      return { kind: 'WORKDIR', ...at, path: single('WORKDIR', args) };
    case 'USER':
      return { kind: 'USER', ...at, user: single('USER', args) };
    case 'STOPSIGNAL':
      return { kind: 'STOPSIGNAL', ...at, signal: single('STOPSIGNAL', args) };
    case 'MAINTAINER':
      return { kind: 'MAINTAINER', ...at, maintainer: single('MAINTAINER', args) };
    case 'EXPOSE':
      return { kind: 'EXPOSE', ...at, ports: list('EXPOSE', args) };
    case 'VOLUME': {
      const paths = list('VOLUME', args).map((p) => p.trim());
      if (paths.includes('')) throw new LineError('VOLUME specified can not be an empty string');
      return { kind: 'VOLUME', ...at, paths };
    }
    case 'SHELL': {
      if (args.form === 'shell') throw new LineError('SHELL requires the arguments to be in JSON form, e.g. SHELL ["/bin/sh", "-c"]');
      return { kind: 'SHELL', ...at, shell: list('SHELL', args) };
    }
    case 'ONBUILD': {
      if (args.form !== 'trigger') throw new LineError('ONBUILD requires at least one argument');
      const trigger = args.node;
      const bodies = trigger.heredocs.map((h) => `\n${h.content}${h.name}`).join('');
      return { kind: 'ONBUILD', ...at, trigger: convert(trigger, escape), expression: trigger.original + bodies };
    }
  }
}

/** The typed instruction of one node; errors name `file` and the node's lines. */
export function toInstruction(node: Node, options: { file?: string; escape?: EscapeChar } = {}): Instruction {
  return atLines(options.file ?? 'Dockerfile', node, () => convert(node, options.escape ?? '\\'));
}

/** The typed instructions of a parsed Dockerfile, in order. */
export function toInstructions(ast: DockerfileAst): Instruction[] {
  return ast.nodes.map((node) => toInstruction(node, { file: ast.file, escape: ast.escape }));
}
