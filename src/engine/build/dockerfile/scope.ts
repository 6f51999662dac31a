/**
 * Which variables an instruction sees, per the Dockerfile reference:
 * - ARGs before the first FROM (meta args) form the global scope, and only FROM lines
 *   (image and --platform) see it;
 * - inside a stage, an ARG declares a variable from that line on: its value is the
 *   build-arg if one was given, else its default, else (for `ARG NAME` without one) the
 *   meta arg's value;
 * - ENV sets a variable for the rest of the stage and wins over an ARG of the same name;
 * - a stage built FROM an earlier stage inherits that stage's ENV, never its ARGs.
 */
import { atLines } from './errors.ts';
import { expandInstruction } from './expand.ts';
import type { ArgInstruction, FromInstruction, Instruction } from './instruction-types.ts';
import { expandWord, type EnvSource, type EscapeChar } from './shell.ts';
import { resolveBase, type StageBase, type StagesResult } from './stages.ts';

export interface ScopeOptions {
  /** `--build-arg` values; a name that is absent (or maps to undefined) was not given */
  buildArgs?: EnvSource;
  escape?: EscapeChar;
  file?: string;
  /**
   * Args already in the global scope without an ARG line: the automatic platform args
   * (BUILDPLATFORM, TARGETPLATFORM, TARGETARCH, ...). A stage still needs `ARG NAME`.
   */
  predefined?: ReadonlyMap<string, string>;
  /** the ENV of a base image, when the caller knows it; empty otherwise */
  imageEnv?: (ref: string) => ReadonlyMap<string, string>;
}

/** The variables of one point in a stage: ENV values and declared ARGs (undefined: no value). */
export interface Scope {
  env: Map<string, string>;
  args: Map<string, string | undefined>;
}

/** A lookup in `scope`, ENV before ARG. */
export function scopeLookup(scope: Scope): (name: string) => string | undefined {
  return (name) => (scope.env.has(name) ? scope.env.get(name) : scope.args.get(name));
}

function buildArgLookup(buildArgs: EnvSource | undefined): (name: string) => string | undefined {
  if (buildArgs === undefined) return () => undefined;
  return typeof buildArgs === 'function' ? buildArgs : (name) => buildArgs.get(name);
}

/**
 * Declares the ARG's names in `args`, in order (so `ARG A=1 B=$A` works), and returns
 * the instruction with its defaults expanded. `fallback` gives the value of an ARG
 * declared without a default.
 */
function declare(
  instr: ArgInstruction,
  lookup: (name: string) => string | undefined,
  args: Map<string, string | undefined>,
  fallback: (name: string) => string | undefined,
  options: ScopeOptions,
): ArgInstruction {
  const given = buildArgLookup(options.buildArgs);
  return atLines(options.file ?? 'Dockerfile', instr, () => ({
    ...instr,
    args: instr.args.map((arg) => {
      const value = arg.value === null ? null : expandWord(arg.value, lookup, { escape: options.escape ?? '\\' });
      const next = given(arg.key) ?? value ?? fallback(arg.key);
      // Re-declaring without any value keeps the one the name already has.
      if (next !== undefined || !args.has(arg.key)) args.set(arg.key, next);
      return { key: arg.key, value };
    }),
  }));
}

/** The global scope the meta args make: what FROM lines can use. */
export function globalScope(metaArgs: readonly ArgInstruction[], options: ScopeOptions = {}): Map<string, string | undefined> {
  const globals = new Map<string, string | undefined>(options.predefined ?? []);
  const lookup = (name: string): string | undefined => globals.get(name);
  for (const arg of metaArgs) declare(arg, lookup, globals, () => undefined, options);
  return globals;
}

export interface ExpandedStage {
  index: number;
  name: string | null;
  from: FromInstruction;
  base: StageBase;
  instructions: Instruction[];
  /** the ENV at the end of the stage */
  env: Record<string, string>;
  /** the ARGs declared in the stage that have a value at its end (RUN sees these too) */
  args: Record<string, string>;
}

export interface ExpandedDockerfile {
  /** the meta args' values (declared without a value and not given: absent) */
  globals: Record<string, string>;
  stages: ExpandedStage[];
}

function definedEntries(map: ReadonlyMap<string, string | undefined>): Record<string, string> {
  return Object.fromEntries([...map].filter((e): e is [string, string] => e[1] !== undefined));
}

/** Expands every stage's instructions with the variables each one sees. */
export function expandStages(result: StagesResult, options: ScopeOptions = {}): ExpandedDockerfile {
  const globals = globalScope(result.metaArgs, options);
  const globalLookup = (name: string): string | undefined => globals.get(name);
  const expandOptions = { escape: options.escape, file: options.file };
  const done: ExpandedStage[] = [];
  for (const stage of result.stages) {
    const from = expandInstruction(stage.from, globalLookup, expandOptions);
    const base = resolveBase(from.image, done);
    const baseEnv = base.kind === 'stage' ? new Map(Object.entries(done[base.index]!.env)) : new Map(options.imageEnv?.(base.ref) ?? []);
    const scope: Scope = { env: baseEnv, args: new Map() };
    const lookup = scopeLookup(scope);
    const instructions = stage.instructions.map((instr): Instruction => {
      if (instr.kind === 'ARG') return declare(instr, lookup, scope.args, globalLookup, options);
      const expanded = expandInstruction(instr, lookup, expandOptions);
      if (expanded.kind === 'ENV') for (const pair of expanded.pairs) scope.env.set(pair.key, pair.value);
      return expanded;
    });
    done.push({
      index: stage.index,
      name: stage.name,
      from,
      base,
      instructions,
      env: Object.fromEntries(scope.env),
      args: definedEntries(scope.args),
    });
  }
  return { globals: definedEntries(globals), stages: done };
}
