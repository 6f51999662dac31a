/**
 * Grouping instructions into build stages. Each FROM starts a stage (index from 0, name
 * from `AS name`); ARGs before the first FROM are the meta args, visible only to FROM
 * lines. Checked here: nothing but ARG before the first FROM, no duplicate stage names,
 * and COPY --from / RUN --mount from= only name stages defined before the current one.
 */
import { syntaxError } from './errors.ts';
import type { ArgInstruction, FromInstruction, Instruction } from './instruction-types.ts';
import { csvFields } from './mounts.ts';
import { variablesIn } from './shell.ts';

/** Where a stage starts from: an earlier stage, or an image (or `scratch`). */
export type StageBase = { kind: 'stage'; index: number } | { kind: 'image'; ref: string };

export interface Stage {
  index: number;
  /** lower-cased `AS` name, or null */
  name: string | null;
  from: FromInstruction;
  /**
   * Resolved from the FROM image as written; an image reference holding variables stays
   * `image` until expanded (scope.ts resolves it again then).
   */
  base: StageBase;
  /** the instructions after FROM, up to the next FROM */
  instructions: Instruction[];
}

export interface StagesResult {
  metaArgs: ArgInstruction[];
  stages: Stage[];
}

/** The base of a stage whose FROM names `image`, given the stages before it. */
export function resolveBase(image: string, earlier: ReadonlyArray<{ index: number; name: string | null }>): StageBase {
  const wanted = image.toLowerCase();
  const stage = variablesIn(image).length === 0 ? earlier.find((s) => s.name === wanted) : undefined;
  return stage ? { kind: 'stage', index: stage.index } : { kind: 'image', ref: image };
}

/** The `from=` of a RUN --mount spec, if any. */
function mountFrom(spec: string): string | null {
  for (const field of csvFields(spec)) {
    const eq = field.indexOf('=');
    if (eq !== -1 && field.slice(0, eq).toLowerCase() === 'from') return field.slice(eq + 1);
  }
  return null;
}

export function stages(instructions: readonly Instruction[], options: { file?: string } = {}): StagesResult {
  const file = options.file ?? 'Dockerfile';
  const metaArgs: ArgInstruction[] = [];
  const result: Stage[] = [];
  const froms = instructions.filter((i): i is FromInstruction => i.kind === 'FROM');

  if (froms.length === 0) {
    const first = instructions[0] ?? { startLine: 1, endLine: 1 };
    throw syntaxError('no FROM instruction: a Dockerfile needs at least one build stage', file, first);
  }

  /** Rejects a reference to the current or a later stage; other names are images. */
  const checkReference = (instr: Instruction, what: string, ref: string, current: number): void => {
    if (/^\d+$/.test(ref)) {
      const index = Number(ref);
      if (index >= froms.length) {
        throw syntaxError(`${what}=${ref}: invalid stage index ${index}, the Dockerfile has ${froms.length} stage(s)`, file, instr);
      }
      if (index >= current) {
        throw syntaxError(`${what}=${ref} refers to ${index === current ? 'the stage it is in' : 'a later stage'}; only earlier stages can be used`, file, instr);
      }
      return;
    }
    const wanted = ref.toLowerCase();
    const target = froms.findIndex((f) => f.stageName === wanted);
    if (target >= current) {
      const where = target === current ? 'the stage it is in' : `stage "${wanted}", defined later on line ${froms[target]!.startLine}`;
      throw syntaxError(`${what}=${ref} refers to ${where}; only earlier stages can be used`, file, instr);
    }
  };

  for (const instr of instructions) {
    if (instr.kind === 'FROM') {
      const duplicate = result.find((s) => s.name !== null && s.name === instr.stageName);
      if (duplicate) {
        throw syntaxError(`duplicate stage name "${instr.stageName}", first defined on line ${duplicate.from.startLine}`, file, instr, 'give every stage a unique name');
      }
      result.push({ index: result.length, name: instr.stageName, from: instr, base: resolveBase(instr.image, result), instructions: [] });
      continue;
    }
    const stage = result.at(-1);
    if (!stage) {
      if (instr.kind === 'ARG') {
        metaArgs.push(instr);
        continue;
      }
      throw syntaxError(`${instr.kind} before the first FROM: only ARG may come before FROM`, file, instr);
    }
    if (instr.kind === 'COPY' && instr.from !== null) checkReference(instr, 'COPY --from', instr.from, stage.index);
    if (instr.kind === 'RUN') {
      for (const m of instr.mounts) {
        const ref = mountFrom(m.spec);
        if (ref !== null && ref !== '') checkReference(instr, 'RUN --mount from', ref, stage.index);
      }
    }
    stage.instructions.push(instr);
  }
  return { metaArgs, stages: result };
}
