/**
 * `--change` for `tsc import` (and later `tsc commit`): Dockerfile instructions applied to
 * an image's run configuration, with docker's semantics. Each change is parsed by the
 * Dockerfile front end (so quoting, JSON and shell forms, `key=value` pairs and variable
 * expansion are exactly as in a Dockerfile), then applied in order: a later ENV sees an
 * earlier one, a relative WORKDIR builds on the previous, and ENTRYPOINT clears a CMD that
 * no earlier change set. Pure.
 */
import { posix } from 'node:path';
import { TscError } from '../errors.ts';
import { DockerfileSyntaxError } from '../build/dockerfile/errors.ts';
import { expandInstruction, toInstruction, type CommandLine, type Instruction } from '../build/dockerfile/instructions.ts';
import { parseDockerfile } from '../build/dockerfile/parser.ts';
import type { RunConfig } from './config.ts';

/** What docker allows in --change (its list for commit and import). */
export const CHANGE_KEYWORDS = ['CMD', 'ENTRYPOINT', 'ENV', 'EXPOSE', 'HEALTHCHECK', 'LABEL', 'ONBUILD', 'STOPSIGNAL', 'USER', 'VOLUME', 'WORKDIR'] as const;

const DEFAULT_SHELL = ['/bin/sh', '-c'];
const PROTOCOLS = new Set(['tcp', 'udp', 'sctp']);

function invalid(change: string, detail: string, hint?: string): TscError {
  return new TscError('invalid-argument', `invalid --change ${JSON.stringify(change)}: ${detail}`, { hint });
}

/** The one instruction a --change holds, typed. */
export function parseChange(change: string): Instruction {
  let nodes;
  try {
    nodes = parseDockerfile(change, { file: '--change' }).nodes;
  } catch (error) {
    if (error instanceof DockerfileSyntaxError) {
      throw invalid(change, error.detail === 'file with no instructions' ? 'it is empty' : error.detail, `a --change is one Dockerfile instruction: ${CHANGE_KEYWORDS.join(', ')}`);
    }
    throw error;
  }
  if (nodes.length !== 1) throw invalid(change, `it holds ${nodes.length} instructions, not one`, 'give each instruction its own --change');
  const node = nodes[0]!;
  if (!(CHANGE_KEYWORDS as readonly string[]).includes(node.keyword)) {
    throw invalid(change, `${node.keyword} cannot be applied to an image`, `use one of ${CHANGE_KEYWORDS.join(', ')}`);
  }
  try {
    return toInstruction(node, { file: '--change' });
  } catch (error) {
    if (error instanceof DockerfileSyntaxError) throw invalid(change, error.detail);
    throw error;
  }
}

/** `base` with the changes applied in order; `base` is not modified. */
export function applyChanges(base: RunConfig, changes: readonly string[]): RunConfig {
  const config: RunConfig = structuredClone(base);
  let cmdSet = false;
  for (const change of changes) {
    const env = new Map((config.Env ?? []).map((e): [string, string] => (e.includes('=') ? [e.slice(0, e.indexOf('=')), e.slice(e.indexOf('=') + 1)] : [e, ''])));
    let instruction: Instruction;
    try {
      instruction = expandInstruction(parseChange(change), env, { file: '--change' });
    } catch (error) {
      if (error instanceof DockerfileSyntaxError) throw invalid(change, error.detail);
      throw error;
    }
    cmdSet = applyInstruction(config, instruction, change, cmdSet);
  }
  return config;
}

/**
 * Applies one expanded instruction to `config` (modified in place), with docker's
 * semantics; `cmdSet` says whether a CMD was set since the base, and the new value is
 * returned. `change` names the instruction in errors.
 */
export function applyInstruction(config: RunConfig, instruction: Instruction, change: string, cmdSet: boolean): boolean {
  switch (instruction.kind) {
    case 'CMD':
      config.Cmd = commandOf(instruction.command, config);
      cmdSet = true;
      break;
    case 'ENTRYPOINT':
      config.Entrypoint = commandOf(instruction.command, config);
      if (!cmdSet) delete config.Cmd;
      break;
    case 'ENV':
      for (const { key, value } of instruction.pairs) {
        const list = (config.Env ?? []).filter((e) => !e.startsWith(`${key}=`) && e !== key);
        config.Env = [...list, `${key}=${value}`];
      }
      break;
    case 'LABEL':
      config.Labels = { ...config.Labels, ...Object.fromEntries(instruction.pairs.map((p) => [p.key, p.value])) };
      break;
    case 'EXPOSE':
      config.ExposedPorts = { ...config.ExposedPorts };
      for (const spec of instruction.ports) for (const port of exposedPorts(spec, change)) config.ExposedPorts[port] = {};
      break;
    case 'VOLUME':
      config.Volumes = { ...config.Volumes };
      for (const path of instruction.paths) config.Volumes[path] = {};
      break;
    case 'WORKDIR':
      config.WorkingDir = posix.resolve('/', config.WorkingDir || '/', instruction.path);
      break;
    case 'USER':
      config.User = instruction.user;
      break;
    case 'STOPSIGNAL':
      if (!/^(SIG)?[A-Z][A-Z0-9+-]*$|^[0-9]+$/.test(instruction.signal)) throw invalid(change, `${JSON.stringify(instruction.signal)} is not a signal`, 'use a name like SIGTERM or a number');
      config.StopSignal = instruction.signal;
      break;
    case 'ONBUILD':
      config.OnBuild = [...(config.OnBuild ?? []), instruction.expression];
      break;
    case 'HEALTHCHECK': {
      const check: NonNullable<RunConfig['Healthcheck']> = { Test: instruction.test };
      if (instruction.interval) check.Interval = instruction.interval;
      if (instruction.timeout) check.Timeout = instruction.timeout;
      if (instruction.startPeriod) check.StartPeriod = instruction.startPeriod;
      if (instruction.startInterval) check.StartInterval = instruction.startInterval;
      if (instruction.retries) check.Retries = instruction.retries;
      config.Healthcheck = check;
      break;
    }
    default:
      throw invalid(change, `${instruction.kind} cannot be applied to an image`);
  }
  return cmdSet;
}

function commandOf(command: CommandLine, config: RunConfig): string[] {
  return command.form === 'exec' ? command.args : [...(config.Shell ?? DEFAULT_SHELL), command.command];
}

/** `80`, `80/udp`, `8000-8002/tcp` as image config keys (`80/tcp`, ...), as docker's EXPOSE reads them. */
export function exposedPorts(spec: string, change = `EXPOSE ${spec}`): string[] {
  const match = /^(\d+)(?:-(\d+))?(?:\/([a-zA-Z]+))?$/.exec(spec);
  const protocol = (match?.[3] ?? 'tcp').toLowerCase();
  const first = Number(match?.[1]);
  const last = match?.[2] === undefined ? first : Number(match[2]);
  if (!match || !PROTOCOLS.has(protocol) || first < 1 || last > 65535 || last < first) {
    throw invalid(change, `invalid port ${JSON.stringify(spec)}`, 'a port looks like 80, 80/tcp, 53/udp or 8000-8010');
  }
  return Array.from({ length: last - first + 1 }, (_, i) => `${first + i}/${protocol}`);
}
