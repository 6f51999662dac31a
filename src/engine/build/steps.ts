/**
 * The build executor's helpers that need no build state: which stages a target needs,
 * base images, layer directories, id maps, RUN's argv, --chown/--chmod, .dockerignore,
 * the flags not supported yet, and what a cache key takes of an instruction.
 */
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { EngineContext } from '../context.ts';
import { TscError } from '../errors.ts';
import { chainIds } from '../images/chain.ts';
import { parseImageConfig, type ImageConfig } from '../images/config.ts';
import type { LayerPlan } from '../images/install.ts';
import { imageLayers } from '../images/records.ts';
import { findImage } from '../images/resolve.ts';
import { ensureLayer, type UnpackContext } from '../images/unpack.ts';
import type { TarWriteEntry } from '../layers/tar-write.ts';
import type { BuildEvent } from './build.ts';
import { lookup } from './copy.ts';
import type { Instruction, RunInstruction } from './dockerfile/instructions.ts';
import type { ExpandedStage } from './dockerfile/scope.ts';
import { parseIgnore, type IgnorePattern } from './ignore.ts';

/** A build error the Dockerfile (or the flags) caused: named step, exit code 125. */
export class BuildFailure extends TscError {}

export function fail(message: string, hint?: string): never {
  throw new BuildFailure('invalid-argument', message, { hint });
}

export function envMap(env: readonly string[] | undefined): Map<string, string> {
  return new Map((env ?? []).map((e): [string, string] => [e.slice(0, Math.max(0, e.indexOf('=')) || e.length), e.includes('=') ? e.slice(e.indexOf('=') + 1) : '']));
}

/** Flags tsc does not implement yet fail the build rather than being ignored. */

export function refuseUnsupported(instr: Instruction, where: string): void {
  const refuse = (what: string, hint?: string) => fail(`${where}: ${what} is not supported yet`, hint);
  if (instr.kind === 'RUN' && instr.security === 'insecure') refuse('RUN --security=insecure');
  if ((instr.kind === 'COPY' || instr.kind === 'ADD') && instr.exclude.length > 0) refuse(`${instr.kind} --exclude`, 'use .dockerignore');
  if (instr.kind === 'COPY' && instr.parents) refuse('COPY --parents');
}

/** An expanded instruction without where it was written: what a cache key takes of it. */

export function canonical(instr: Instruction): unknown {
  return { ...instr, startLine: undefined, endLine: undefined, original: undefined };
}

/** The earlier stages a stage uses: its base, its COPY --from stages and its RUN --mount from= stages. */
export function stageDependencies(stages: readonly ExpandedStage[], index: number): number[] {
  const stage = stages[index]!;
  const deps = new Set<number>();
  if (stage.base.kind === 'stage') deps.add(stage.base.index);
  const use = (from: string) => {
    const ref = from.toLowerCase();
    const found = stages.find((s) => s.index < index && (s.name === ref || String(s.index) === ref));
    if (found) deps.add(found.index);
  };
  for (const instr of stage.instructions) {
    if (instr.kind === 'COPY' && instr.from !== null) use(instr.from);
    // RUN --mount=type=bind,from=STAGE reads the stage's files as COPY --from does
    if (instr.kind === 'RUN') for (const { mount } of instr.mounts) if (mount?.type === 'bind' && mount.from) use(mount.from);
  }
  return [...deps];
}

/** The stages the target needs, in Dockerfile order: the target and what it uses, transitively. */
export function neededStages(stages: readonly ExpandedStage[], target: number): number[] {
  const needed = new Set<number>();
  const visit = (index: number) => {
    if (needed.has(index)) return;
    needed.add(index);
    for (const dep of stageDependencies(stages, index)) visit(dep);
  };
  visit(target);
  return [...needed].sort((a, b) => a - b);
}

/** The image a FROM or COPY --from names: found in the store (pulled if missing, or always with --pull), its layers unpacked. */
export async function resolveImage(ctx: EngineContext, unpack: UnpackContext, ref: string, pull: boolean, emit: (e: BuildEvent) => void): Promise<{ id: string; config: ImageConfig }> {
  const { store } = unpack;
  let found = pull ? undefined : findImage(store.db, ref);
  if (!found) {
    emit({ kind: 'note', message: `pulling ${ref}` });
    const { pullImage } = await import('../images/pull.ts');
    await pullImage(ctx, { reference: ref });
    found = findImage(store.db, ref);
    if (!found) throw new TscError('internal', `${ref} was pulled but cannot be found`);
  }
  for (const layer of imageLayers(store.db, found.image.id)) await ensureLayer(unpack, layer);
  return { id: found.image.id, config: parseImageConfig(await store.content.read(found.image.id), ref) };
}

/** Layer directories of `layers`, topmost first; an empty directory when there are none (overlay needs a lower). */

export function lowers(store: { layerPath(chain: string): string }, layers: readonly LayerPlan[], work: string): string[] {
  const dirs = chainIds(layers.map((l) => l.diffId)).map((c) => store.layerPath(c)).reverse();
  return dirs.length > 0 ? dirs : [join(work, 'empty')];
}

/** How host ids of files in the layers map back to the ids the container sees. */

export function containerIds(unpack: UnpackContext): { containerUid: (id: number) => number; containerGid: (id: number) => number } {
  const maps = unpack.maps;
  const back = (list: readonly { inside: number; outside: number; count: number }[] | undefined) => (id: number) => {
    if (!list) return id;
    const range = list.find((m) => id >= m.outside && id < m.outside + m.count);
    return range ? range.inside + (id - range.outside) : 65534;
  };
  return { containerUid: back(maps?.uidMap), containerGid: back(maps?.gidMap) };
}

export async function* workdirEntries(rel: string, target: readonly string[], ids: ReturnType<typeof containerIds>): AsyncGenerator<TarWriteEntry> {
  const parts = rel.split('/');
  for (let i = 1; i <= parts.length; i++) {
    const path = parts.slice(0, i).join('/');
    const existing = lookup(target, path);
    if (existing?.stat.isDirectory()) {
      const s = existing.stat;
      yield { path: `${path}/`, type: 'directory', mode: s.mode & 0o7777, uid: ids.containerUid(s.uid), gid: ids.containerGid(s.gid), mtime: Math.floor(s.mtimeMs / 1000) };
    } else {
      yield { path: `${path}/`, type: 'directory', mode: 0o755, uid: 0, gid: 0, mtime: Math.floor(Date.now() / 1000) };
    }
  }
}

/** The argv of a RUN: exec form as written; shell form through the shell, heredocs as the shell reads them. */

export function runArgv(instr: RunInstruction, shell: readonly string[]): string[] {
  if (instr.command.form === 'exec') return instr.command.args;
  const command = instr.command.command;
  if (instr.heredocs.length === 0) return [...shell, command];
  const only = instr.heredocs.length === 1 && /^<<-?["']?\w+["']?\s*$/.test(command.trim()) ? instr.heredocs[0]! : undefined;
  if (only && !only.content.startsWith('#!')) return [...shell, only.content];
  if (only) {
    // a script with its own interpreter: written to the container's /dev/shm (not part of the layer) and run
    const script = `f=/dev/shm/tsc-heredoc-$$; cat > "$f" <<'TSC_HEREDOC_EOF'\n${only.content}${only.content.endsWith('\n') ? '' : '\n'}TSC_HEREDOC_EOF\nchmod +x "$f"; "$f"; s=$?; rm -f "$f"; exit $s`;
    return [...shell, script];
  }
  let script = command;
  for (const heredoc of instr.heredocs) script += `\n${heredoc.content}${heredoc.content.endsWith('\n') || heredoc.content === '' ? '' : '\n'}${heredoc.name}`;
  return [...shell, script];
}

/** A regular file of the layers' merged view as text ('' when there is none). */
function layerFile(layersTopFirst: readonly string[], rel: string): string {
  const found = lookup(layersTopFirst, rel);
  return found?.stat.isFile() ? readFileSync(found.host, 'utf8') : '';
}

/** `--chown=user[:group]`: names looked up in the image's /etc/passwd and /etc/group. */

export function resolveChown(spec: string, target: readonly string[], where: string): { uid: number; gid: number } {
  const [user, group] = spec.split(':', 2) as [string, string | undefined];
  const passwd = layerFile(target, 'etc/passwd');
  const groups = layerFile(target, 'etc/group');
  const find = (text: string, name: string) => text.split('\n').map((l) => l.split(':')).find((f) => f[0] === name);
  let uid: number;
  let primary: number | undefined;
  if (/^\d+$/.test(user)) {
    uid = Number(user);
  } else {
    const entry = find(passwd, user);
    if (!entry) fail(`${where}: --chown: no user ${JSON.stringify(user)} in the image's /etc/passwd`);
    uid = Number(entry[2]);
    primary = Number(entry[3]);
  }
  let gid: number;
  if (group === undefined || group === '') gid = primary ?? uid;
  else if (/^\d+$/.test(group)) gid = Number(group);
  else {
    const entry = find(groups, group);
    if (!entry) fail(`${where}: --chown: no group ${JSON.stringify(group)} in the image's /etc/group`);
    gid = Number(entry[2]);
  }
  return { uid, gid };
}

export function parseChmod(spec: string, where: string): number {
  if (!/^[0-7]{3,4}$/.test(spec)) fail(`${where}: --chmod=${spec}: only octal modes are supported`, 'e.g. --chmod=0755');
  return parseInt(spec, 8);
}

/** The context's ignore patterns: `<Dockerfile>.dockerignore` beside the Dockerfile first, else CONTEXT/.dockerignore. */

export async function readIgnore(context: string, dockerfile: string | undefined): Promise<IgnorePattern[]> {
  for (const candidate of [dockerfile ? `${dockerfile}.dockerignore` : undefined, join(context, '.dockerignore')]) {
    if (!candidate) continue;
    try {
      return parseIgnore(await readFile(candidate, 'utf8'));
    } catch {
      continue;
    }
  }
  return [];
}
