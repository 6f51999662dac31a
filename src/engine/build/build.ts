/**
 * `tsc build`: the Dockerfile executor. The front end (./dockerfile) parses, groups stages
 * and expands variables; here the stages the target needs are run in order, each from
 * its base (an image, pulled if missing; `scratch`; or an earlier stage's result). Every
 * instruction updates the stage's image config; RUN, COPY, ADD and a WORKDIR that must be
 * created each add one layer (layers/diff.ts, build/copy.ts), which is recorded with the
 * step's cache key (build/cache.ts), so a repeated build reuses what did not change.
 *
 * Nothing half-made is left behind: a step's temporary container and scratch files are
 * removed in `finally` (also when the build is aborted); the image is recorded and tagged
 * only once every step succeeded. The cached intermediate images stay, as docker's do.
 */
import { randomUUID } from 'node:crypto';
import { createReadStream, existsSync } from 'node:fs';
import { mkdir, readFile, rm } from 'node:fs/promises';
import { isAbsolute, join, posix, resolve } from 'node:path';
import type { EngineContext } from '../context.ts';
import { errnoCode, TscError } from '../errors.ts';
import { shortName } from '../images/archive-docker.ts';
import { chainIds } from '../images/chain.ts';
import { applyInstruction } from '../images/changes.ts';
import type { ImageConfig, RunConfig } from '../images/config.ts';
import { tagOf } from '../images/import.ts';
import { installImage, ociManifest, type LayerPlan } from '../images/install.ts';
import { configBlob, imageLayerPlans, layerFromDirectory, squashLayers } from '../images/layer-ops.ts';
import { removeTrees, type UnpackContext } from '../images/unpack.ts';
import { writeLayerFile } from '../layers/diff.ts';
import { decompressed } from '../layers/decompress.ts';
import { extractLayer } from '../layers/extract.ts';
import type { TarWriteEntry } from '../layers/tar-write.ts';
import { formatPlatform, hostPlatform } from '../registry/platform.ts';
import { OCI_LAYER_GZIP } from '../registry/media-types.ts';
import { baseKey, contentHashed, lookupStep, recordStep, stepKey } from './cache.ts';
import { copyEntries, lookup, type SourceTree } from './copy.ts';
import { expandInstruction, toInstruction, toInstructions, type Instruction, type RunInstruction } from './dockerfile/instructions.ts';
import { parseDockerfile } from './dockerfile/parser.ts';
import { expandStages } from './dockerfile/scope.ts';
import { stages as groupStages } from './dockerfile/stages.ts';
import { planRunMounts } from './run-mounts.ts';
import type { BuildNetwork } from './run-step.ts';
import {
  BuildFailure, canonical, containerIds, envMap, fail, lowers, neededStages, parseChmod, stageDependencies, readIgnore, refuseUnsupported, resolveChown, resolveImage, runArgv, workdirEntries,
} from './steps.ts';

export interface BuildOptions {
  /** the context directory; undefined when the Dockerfile comes on stdin with no context */
  context?: string | undefined;
  /** the context as a tar archive (plain, gzip or zstd; `tsc build -` given a tar): unpacked to scratch space first */
  contextTar?: AsyncIterable<Uint8Array> | Uint8Array | undefined;
  /** the Dockerfile's path (default CONTEXT/Dockerfile) */
  dockerfile?: string | undefined;
  /** the Dockerfile's text (stdin) instead of a file */
  dockerfileText?: string | undefined;
  tags?: readonly string[] | undefined;
  /** KEY=VALUE, or KEY to take the value from the environment */
  buildArgs?: readonly string[] | undefined;
  target?: string | undefined;
  noCache?: boolean | undefined;
  /** false (`--layers=false`): the build cache is neither used nor recorded (default true) */
  layers?: boolean | undefined;
  /** KEY=VALUE labels for the image */
  labels?: readonly string[] | undefined;
  /** pull base images even when present */
  pull?: boolean | undefined;
  /** the layers the build adds become one (the base image's stay as they are) */
  squash?: boolean | undefined;
  /** network of RUN steps: none (default), host, pasta or slirp4netns */
  network?: BuildNetwork | undefined;
  onEvent?: ((event: BuildEvent) => void) | undefined;
  signal?: AbortSignal | undefined;
}

export type BuildEvent =
  | { kind: 'step'; index: number; count: number; text: string }
  | { kind: 'output'; chunk: Buffer }
  /** `layer`: the step made a layer; `cached`: it reused one; `config`: it changed only the image config */
  | { kind: 'step-done'; index: number; ms: number; outcome: 'layer' | 'cached' | 'config' }
  | { kind: 'note'; message: string };

export interface BuildResult {
  id: string;
  tags: string[];
}

/** Where a stage is while it builds: its config (with rootfs and history) and layers. */
interface StageState {
  config: ImageConfig;
  layers: LayerPlan[];
  key: string;
  /** a CMD was set in this stage (ENTRYPOINT then keeps it) */
  cmdSet: boolean;
  /** the ARGs declared so far, with values (RUN sees them) */
  args: Map<string, string>;
  /**
   * when the newest layer was made: the time of every history entry after it and of the
   * image, so a build that only reuses cached steps makes the same image (the same id)
   */
  created: string;
  /** how many of the layers are the base image's (the rest the build made) */
  baseLayers: number;
}

function parseKeyValues(list: readonly string[] | undefined, what: string, fromEnv: boolean): Map<string, string> {
  const map = new Map<string, string>();
  for (const item of list ?? []) {
    const eq = item.indexOf('=');
    if (eq === 0) fail(`invalid ${what} ${JSON.stringify(item)}`, `use ${what} KEY=VALUE`);
    if (eq < 0) {
      if (fromEnv && process.env[item] !== undefined) map.set(item, process.env[item]);
      else if (!fromEnv) map.set(item, '');
      continue;
    }
    map.set(item.slice(0, eq), item.slice(eq + 1));
  }
  return map;
}

export async function buildImage(ctx: EngineContext, options: BuildOptions): Promise<BuildResult> {
  if (options.contextTar === undefined) return build(ctx, options);
  const store = await ctx.store();
  const dir = join(store.tmpDir, `build-context-${randomUUID()}`);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  try {
    const source = options.contextTar;
    // the files become ours (ownership is not part of a context); names that escape are refused by the extractor
    await extractLayer(decompressed(source instanceof Uint8Array ? [source] : source), dir, { format: 'apply', ownership: 'ignore', freshTarget: true });
    return await build(ctx, { ...options, context: dir, contextTar: undefined });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

async function build(ctx: EngineContext, options: BuildOptions): Promise<BuildResult> {
  const emit = options.onEvent ?? (() => undefined);
  // aborted by the caller (ctrl-c) or when one stage fails while others run
  const stop = new AbortController();
  const signal = options.signal ? AbortSignal.any([options.signal, stop.signal]) : stop.signal;
  const tags = (options.tags ?? []).map(tagOf);
  const labels = parseKeyValues(options.labels, '--label', false);
  const buildArgs = parseKeyValues(options.buildArgs, '--build-arg', true);
  const context = options.context === undefined ? undefined : resolve(options.context);
  if (context !== undefined && !existsSync(context)) throw new TscError('not-found', `build context ${context} does not exist`);
  const dockerfilePath = options.dockerfileText === undefined
    ? (options.dockerfile ? (isAbsolute(options.dockerfile) || !context ? resolve(options.dockerfile) : resolve(context, options.dockerfile)) : join(context ?? '.', 'Dockerfile'))
    : undefined;
  let text = options.dockerfileText;
  if (text === undefined) {
    try {
      text = await readFile(dockerfilePath!, 'utf8');
    } catch {
      throw new TscError('not-found', `cannot read the Dockerfile ${dockerfilePath}`, { hint: 'give its path with -f, or put a Dockerfile in the context' });
    }
  }
  const file = dockerfilePath ? posix.basename(dockerfilePath) : 'Dockerfile';
  const ast = parseDockerfile(text, { file });
  const grouped = groupStages(toInstructions(ast), { file });
  const platform = hostPlatform();
  const predefined = new Map([
    ['BUILDPLATFORM', formatPlatform(platform)], ['TARGETPLATFORM', formatPlatform(platform)],
    ['BUILDOS', platform.os], ['BUILDARCH', platform.architecture], ['TARGETOS', platform.os], ['TARGETARCH', platform.architecture],
    ['TARGETVARIANT', platform.variant ?? ''], ['BUILDVARIANT', platform.variant ?? ''],
  ]);
  const scopeOptions = { buildArgs, escape: ast.escape, file, predefined };
  const first = expandStages(grouped, scopeOptions);

  const targetIndex = options.target === undefined
    ? first.stages.length - 1
    : first.stages.findIndex((s) => s.name === options.target!.toLowerCase() || String(s.index) === options.target);
  if (targetIndex < 0) fail(`target stage ${JSON.stringify(options.target)} is not in ${file}`, `stages: ${first.stages.map((s) => s.name ?? String(s.index)).join(', ')}`);
  const needed = neededStages(first.stages, targetIndex);

  const store = await ctx.store();
  const unpack: UnpackContext = { store, helper: await ctx.helper(), maps: await ctx.maps() };
  const work = join(store.tmpDir, `build-${randomUUID()}`);
  await mkdir(join(work, 'empty'), { recursive: true, mode: 0o700 });
  // scratch space: ours (plain removal), and RUN containers' dirs, whose files may belong to
  // subordinate ids (removed in the user namespace; a cached build has none and spawns nothing)
  const containers: string[] = [];

  try {
    // base images first: their ENV is part of what the stages' instructions see
    // each image resolved (and pulled) once, also when stages running side by side ask at once
    const images = new Map<string, Promise<{ id: string; config: ImageConfig }>>();
    const resolved = new Map<string, { id: string; config: ImageConfig }>();
    const image = async (ref: string) => {
      let found = images.get(ref);
      if (!found) {
        found = resolveImage(ctx, unpack, ref, options.pull === true, emit);
        images.set(ref, found);
      }
      const value = await found;
      resolved.set(ref, value);
      return value;
    };
    for (const index of needed) {
      const base = first.stages[index]!.base;
      if (base.kind === 'image' && base.ref !== 'scratch') await image(base.ref);
    }
    const expanded = expandStages(grouped, {
      ...scopeOptions,
      imageEnv: (ref) => new Map((resolved.get(ref)?.config.config?.Env ?? []).map((e) => [e.slice(0, e.indexOf('=')), e.slice(e.indexOf('=') + 1)])),
    }).stages;

    const results = new Map<number, StageState>();
    const ignore = context ? await readIgnore(context, dockerfilePath) : [];
    const contextTree: SourceTree | undefined = context ? { layers: [context], ignore, name: 'build context' } : undefined;

    /** the files of an earlier stage (done by now: see stageDependencies) or else of an image (COPY --from, RUN --mount from=) */
    const fromTree = async (from: string): Promise<SourceTree> => {
      const ref = from.toLowerCase();
      const stageRef = expanded.find((s) => s.name === ref || String(s.index) === ref);
      if (stageRef && results.has(stageRef.index)) return { layers: lowers(store, results.get(stageRef.index)!.layers, work), name: `stage ${from}` };
      const found = await image(from);
      return { layers: lowers(store, imageLayerPlans(store, found.id), work), name: `image ${from}` };
    };

    // a stage runs once the stages it uses are done: independent stages run at the same time
    const firstStep = new Map<number, number>();
    let count = 0;
    for (const index of needed) {
      firstStep.set(index, count);
      count += 1 + expanded[index]!.instructions.length;
    }
    const runStage = async (index: number): Promise<void> => {
      let step = firstStep.get(index)!;
      const stage = expanded[index]!;
      emit({ kind: 'step', index: ++step, count, text: stage.from.original });
      if (stage.from.platform !== null && stage.from.platform !== formatPlatform(platform) && stage.from.platform !== platform.os + '/' + platform.architecture) {
        fail(`${file}:${stage.from.startLine} ${stage.from.original}: --platform=${stage.from.platform} is not supported yet; this host builds ${formatPlatform(platform)}`);
      }
      const started = Date.now();
      let state: StageState;
      if (stage.base.kind === 'stage') {
        state = structuredClone(results.get(stage.base.index)!);
        state.args = new Map();
        state.cmdSet = false;
      } else if (stage.base.ref === 'scratch') {
        state = {
          config: { architecture: platform.architecture, os: platform.os, ...(platform.variant ? { variant: platform.variant } : {}), config: {}, rootfs: { type: 'layers', diff_ids: [] }, history: [] },
          layers: [], key: baseKey({ scratch: formatPlatform(platform) }), cmdSet: false, args: new Map(), created: EPOCH, baseLayers: 0,
        };
      } else {
        const found = await image(stage.base.ref);
        const layers = imageLayerPlans(store, found.id);
        state = { config: structuredClone(found.config), layers, key: baseKey({ image: found.id }), cmdSet: false, args: new Map(), created: found.config.created ?? EPOCH, baseLayers: layers.length };
        state.config.config ??= {};
      }
      const triggers = state.config.config?.OnBuild ?? [];
      if (state.config.config) delete state.config.config.OnBuild;
      emit({ kind: 'step-done', index: step, ms: Date.now() - started, outcome: 'config' });

      let outcome: 'layer' | 'cached' | 'config' = 'config';
      const runInstruction = async (instr: Instruction, text: string) => {
        if (signal.aborted) throw new TscError('system', 'the build was interrupted');
        const t0 = Date.now();
        const index = step;
        outcome = 'config';
        await executeInstruction(instr, text);
        emit({ kind: 'step-done', index, ms: Date.now() - t0, outcome });
      };
      const executeInstruction = async (instr: Instruction, text: string) => {
        const where = `${file}:${instr.startLine} ${text}`;
        const run = state.config.config!;
        refuseUnsupported(instr, where);
        switch (instr.kind) {
          case 'ARG':
            for (const arg of instr.args) {
              const value = buildArgs.get(arg.key) ?? arg.value ?? first.globals[arg.key] ?? predefined.get(arg.key);
              if (value !== undefined) state.args.set(arg.key, value);
            }
            state.key = stepKey(state.key, 'ARG', [...state.args]);
            return;
          case 'SHELL':
            run.Shell = instr.shell;
            break;
          case 'MAINTAINER':
            state.config.author = instr.maintainer;
            break;
          case 'WORKDIR': {
            applyInstruction(run, instr, text, state.cmdSet);
            const rel = run.WorkingDir!.slice(1);
            state.key = stepKey(state.key, 'WORKDIR', run.WorkingDir);
            if (rel !== '' && !lookup(lowers(store, state.layers, work), rel)?.stat.isDirectory()) {
              await fileStep(state, text, `WORKDIR ${run.WorkingDir}`, () => workdirEntries(rel, lowers(store, state.layers, work), containerIds(unpack)), undefined);
            }
            if (outcome === 'config') history(state, text, true); // else the layer's entry is the step's
            return;
          }
          case 'RUN':
            await runInstructionStep(instr, where, text);
            return;
          case 'COPY':
          case 'ADD': {
            let source = contextTree;
            if (instr.kind === 'COPY' && instr.from !== null) source = await fromTree(instr.from);
            const local = instr.sources.some((src) => src.kind === 'path' && !/^[a-z][a-z0-9+.-]*:\/\//i.test(src.path));
            if (!source && local) fail(`${where}: ${instr.kind} needs a build context, and the Dockerfile came on stdin without one`, 'give a context directory');
            source ??= { layers: [join(work, 'empty')], name: 'build context' }; // URLs and heredocs need none
            const target = lowers(store, state.layers, work);
            const ids = containerIds(unpack);
            const chown = instr.chown ? resolveChown(instr.chown, target, where) : undefined;
            const chmod = instr.chmod ? parseChmod(instr.chmod, where) : undefined;
            const plan = { instruction: instr, source, workdir: run.WorkingDir ?? '/', chown, chmod, target, ...ids, now: Math.floor(Date.now() / 1000) };
            await fileStep(state, text, canonical(instr), () => copyEntries(plan), where);
            return;
          }
          default:
            applyInstructionChecked(run, instr, text, where, state);
        }
        state.key = stepKey(state.key, canonical(instr));
        history(state, text, true);
      };

      /** A COPY, ADD or WORKDIR: its entries become a layer unless the cache has it already. */
      const fileStep = async (s: StageState, text: string, keyPart: unknown, entries: () => AsyncIterable<TarWriteEntry>, where: string | undefined) => {
        const scratch = join(work, `layer-${randomUUID()}.tar.gz`);
        const hashed = contentHashed(entries());
        let written;
        try {
          written = await writeLayerFile(hashed.entries, scratch);
        } catch (error) {
          if (error instanceof TscError && where) throw new BuildFailure(error.code, `${where}: ${error.message}`, { hint: error.hint });
          const code = errnoCode(error);
          if (code && where) {
            const path = (error as { path?: string }).path ?? '';
            throw new BuildFailure('system', `${where}: cannot read ${path || 'a source'} (${code})`, { hint: code === 'EACCES' ? 'make the file readable by you, or exclude it in .dockerignore' : undefined, cause: error });
          }
          throw error;
        }
        const key = stepKey(s.key, keyPart, hashed.digest());
        if (await reuse(s, key, text)) return;
        await store.content.put(createReadStream(scratch), { digest: written.digest, size: written.size });
        await rm(scratch, { force: true });
        await addLayer(s, key, { digest: written.digest, size: written.size, mediaType: OCI_LAYER_GZIP, diffId: written.diffId }, text);
      };

      const reuse = async (s: StageState, key: string, text: string): Promise<boolean> => {
        if (options.noCache || options.layers === false) return false;
        const cached = lookupStep(store.db, key, (layer) => chainIds([...s.layers, layer].map((l) => l.diffId)).at(-1)!);
        if (!cached) return false;
        outcome = 'cached';
        s.created = cached.created;
        s.layers.push(cached.layer);
        s.config.rootfs.diff_ids.push(cached.layer.diffId);
        history(s, text, false);
        s.key = key;
        return true;
      };

      const addLayer = async (s: StageState, key: string, layer: LayerPlan, text: string, dir?: string) => {
        outcome = 'layer';
        s.created = new Date().toISOString();
        s.layers.push(layer);
        s.config.rootfs.diff_ids.push(layer.diffId);
        history(s, text, false);
        s.key = key;
        // an untagged image holds the layers as the step's cache entry
        const config = { ...s.config, created: s.created };
        const blob = configBlob(config);
        const prepared = new Map(dir ? [[chainIds(s.layers.map((l) => l.diffId)).at(-1)!, dir]] : []);
        await installImage(ctx, { id: blob.digest, config, configBlob: blob, manifest: ociManifest(blob, s.layers), layers: [...s.layers], tags: [] }, async () => undefined, undefined, prepared);
        if (options.layers !== false) recordStep(store.db, key, { imageId: blob.digest, layer, created: s.created });
      };

      const runInstructionStep = async (instr: RunInstruction, where: string, text: string) => {
        const run = state.config.config!;
        const argv = runArgv(instr, run.Shell ?? ['/bin/sh', '-c']);
        const env = [...(run.Env ?? [])];
        for (const [k, v] of state.args) if (!env.some((e) => e.startsWith(`${k}=`))) env.push(`${k}=${v}`);
        const network: BuildNetwork = instr.network === 'host' ? 'host' : instr.network === 'none' ? 'none' : options.network ?? 'none';
        const stepLowers = lowers(store, state.layers, work);
        const mounts = await planRunMounts(instr, where, { workdir: run.WorkingDir ?? '/', lowers: stepLowers, context: contextTree, cacheRoot: join(store.root, 'build-mounts'),
          fromTree, scratch: join(work, 'mounts'),
        });
        const key = stepKey(state.key, 'RUN', argv, env, run.User ?? '', run.WorkingDir ?? '/', network, mounts.key);
        if (await reuse(state, key, text)) return;
        // the runtime's modules only when a step runs (a cached build loads none of them)
        const { runStep } = await import('./run-step.ts');
        const outcome = await runStep(ctx, {
          lowers: stepLowers, argv, env, user: run.User ?? '', workdir: run.WorkingDir ?? '/', network, mounts: mounts.mounts,
          onOutput: (chunk) => emit({ kind: 'output', chunk }), signal,
        });
        containers.push(outcome.dir);
        if (signal.aborted) throw new TscError('system', 'the build was interrupted');
        if (outcome.exitCode !== 0) {
          throw new BuildFailure('invalid-argument', `${where}: the command exited with code ${outcome.exitCode}${outcome.tail.trim() ? `; its output ended with:\n${outcome.tail.trimEnd().split('\n').slice(-10).join('\n')}` : ''}`);
        }
        const layer = await layerFromDirectory(unpack, outcome.upper, mounts.prune);
        // the upper dir holds exactly what the layer's blob was written from: it becomes the layer's directory
        await addLayer(state, key, layer, text, outcome.upper);
        await removeTrees(unpack, [outcome.dir]);
        containers.splice(containers.indexOf(outcome.dir), 1);
      };

      for (const trigger of triggers) {
        const env = envMap(state.config.config?.Env);
        const instr = expandInstruction(toInstruction(parseDockerfile(trigger, { file: 'ONBUILD' }).nodes[0]!, { file: 'ONBUILD' }), (n) => env.get(n) ?? state.args.get(n), { file: 'ONBUILD' });
        emit({ kind: 'note', message: `ONBUILD ${trigger}` });
        await runInstruction(instr, trigger);
      }
      for (const instr of stage.instructions) {
        emit({ kind: 'step', index: ++step, count, text: instr.original });
        await runInstruction(instr, instr.original);
      }
      results.set(index, state);
    };
    const stages = new Map<number, Promise<void>>();
    const schedule = (index: number): Promise<void> => {
      let running = stages.get(index);
      if (!running) {
        running = (async () => {
          await Promise.all(stageDependencies(expanded, index).map(schedule));
          await runStage(index);
        })();
        stages.set(index, running);
      }
      return running;
    };
    try {
      await schedule(targetIndex);
    } catch (error) {
      // the first failure stops the other stages; nothing is cleaned up under them
      stop.abort();
      await Promise.allSettled(stages.values());
      throw error;
    }

    if (signal.aborted) throw new TscError('system', 'the build was interrupted');
    const final = structuredClone(results.get(targetIndex)!);
    if (labels.size > 0) final.config.config = { ...final.config.config, Labels: { ...final.config.config?.Labels, ...Object.fromEntries(labels) } };
    final.config.created = final.created;
    if (options.squash && final.layers.length - final.baseLayers > 1) await squash(unpack, final, work);
    const blob = configBlob(final.config);
    const installed = await installImage(ctx, { id: blob.digest, config: final.config, configBlob: blob, manifest: ociManifest(blob, final.layers), layers: final.layers, tags }, async () => undefined);
    return { id: installed.id, tags: installed.tags.map(shortName) };
  } finally {
    if (containers.length > 0) await removeTrees(unpack, containers).catch(() => undefined);
    await rm(work, { recursive: true, force: true }).catch(() => undefined);
  }
}

function applyInstructionChecked(run: RunConfig, instr: Instruction, text: string, where: string, state: StageState): void {
  try {
    state.cmdSet = applyInstruction(run, instr, text, state.cmdSet);
  } catch (error) {
    if (error instanceof TscError) throw new BuildFailure(error.code, `${where}: ${error.message.replace(/^invalid --change "[^"]*": /, '')}`, { hint: error.hint });
    throw error;
  }
}

const EPOCH = '1970-01-01T00:00:00Z';

/** --squash: the build's layers of `state` become one; their history entries stay, as empty ones, before the squashed layer's. */
async function squash(unpack: UnpackContext, state: StageState, work: string): Promise<void> {
  const added = state.layers.length - state.baseLayers;
  const dirs = lowers(unpack.store, state.layers, work).slice(0, added);
  const layer = await squashLayers(unpack, dirs);
  state.layers = [...state.layers.slice(0, state.baseLayers), layer];
  state.config.rootfs.diff_ids = state.layers.map((l) => l.diffId);
  let own = 0;
  const history = state.config.history ?? [];
  const firstAdded = history.findIndex((entry, i) => !entry.empty_layer && history.slice(0, i + 1).filter((e) => !e.empty_layer).length > state.baseLayers);
  state.config.history = [
    ...history.map((entry, i) => (firstAdded >= 0 && i >= firstAdded && !entry.empty_layer ? (own++, { ...entry, empty_layer: true }) : entry)),
    { created: state.created, created_by: 'tsc build --squash', comment: `${own} layers squashed into one` },
  ];
}

function history(state: StageState, text: string, empty: boolean): void {
  state.config.history = [...(state.config.history ?? []), { created: state.created, created_by: text, ...(empty ? { empty_layer: true } : {}) }];
}
