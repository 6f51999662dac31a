/**
 * The engine facade: the only engine module that commands, the dashboard and the API
 * server import. Functions take typed options and return data; they never print or exit.
 *
 * Each operation loads its implementation with a dynamic import: the bundler keeps it in
 * the same file but evaluates it (and the Node built-ins it needs) only when called, so
 * start-up stays flat however large the engine grows.
 */
import { COMMIT, VERSION } from './build-info.ts';
import type { EngineContext } from './context.ts';
import type { HistoryRow, InspectReport } from './images/inspect.ts';
import type { ListOptions } from './images/list.ts';
import type { ImageSummary } from './images/present.ts';
import type { PullOptions, PullResult } from './images/pull.ts';
import type { PushOptions, PushResult } from './images/push.ts';
import type { PruneResult } from './images/prune.ts';
import type { SearchOptions, SearchResult } from './images/search.ts';
import type { CheckOptions, CheckReport } from './images/check.ts';
import type { LoginOptions } from './auth/login.ts';
import type { RunOptions, RunResult, RunIo, StartRequest } from './containers/run.ts';
import type { ContainerLogFiles } from './containers/logs.ts';
import type { CreateOptions, CreateResult } from './containers/create.ts';
import type { ContainerSummary, PsOptions } from './containers/list.ts';
import type { ContainerReport, StopOptions, RemoveOptions, PruneResult as ContainerPruneResult } from './containers/lifecycle.ts';
import type { InspectResult as ContainerInspectResult } from './containers/inspect.ts';
import type { ExecOptions } from './containers/exec.ts';
import type { TopResult } from './containers/top.ts';
import type { PortBinding } from './containers/records.ts';
import type { LogRequest } from './containers/log-options.ts';
import type { LogOutput, LogReadReport } from './containers/logs.ts';
import { log } from './log.ts';
import type { RemoveReport } from './images/remove.ts';
import type { SaveOptions, SaveResult } from './images/save.ts';
import type { LoadOptions, LoadResult } from './images/load.ts';
import type { ImportOptions, ImportResult } from './images/import.ts';
import type { CommitOptions, CommitResult } from './containers/commit.ts';
import type { Change } from './containers/changes.ts';
import type { BuildOptions, BuildResult } from './build/build.ts';
import type { CollectOptions } from './info/collect.ts';
import type { HostInfo } from './info/types.ts';
import type { CreateVolumeOptions, VolumeInspect, VolumeInspectReport, VolumeListOptions, VolumePruneOptions, VolumePruneResult, VolumeRemoveReport, VolumeSummary } from './volumes/index.ts';

export { errnoCode, isTscError, TscError, type ErrorCode } from './errors.ts';
export { LOG_LEVELS, setLogSink, type LogLevel, type LogSink } from './log.ts';
export type { Finding, HostInfo, Severity } from './info/types.ts';

export interface VersionInfo {
  version: string;
  commit: string;
  node: string;
  os: string;
  arch: string;
}

export function version(): VersionInfo {
  return { version: VERSION, commit: COMMIT, node: process.version, os: process.platform, arch: process.arch };
}

export type InfoOptions = CollectOptions;

/** What this host offers containers, for the current user, with the fix for each problem. */
export async function info(options: InfoOptions = {}): Promise<HostInfo> {
  const [{ collectInfo }, { currentIdentity }] = await Promise.all([import('./info/collect.ts'), import('./sys/identity.ts')]);
  return collectInfo(currentIdentity(), options);
}

// ---- images ---------------------------------------------------------------------------

export type { PullEvent, PullOptions, PullResult } from './images/pull.ts';
export type { ImageSummary } from './images/present.ts';
export type { RemoveReport } from './images/remove.ts';
export type { ImageInspect, InspectReport, HistoryRow } from './images/inspect.ts';
export type { ListOptions as ImageListOptions } from './images/list.ts';

async function withContext<T>(work: (ctx: EngineContext) => Promise<T>): Promise<T> {
  const { openContext } = await import('./context.ts');
  const ctx = openContext();
  try {
    return await work(ctx);
  } finally {
    await ctx.close();
  }
}

/** Pulls an image from its registry into the local store. */
export async function pull(options: PullOptions): Promise<PullResult> {
  const { pullImage } = await import('./images/pull.ts');
  return withContext((ctx) => pullImage(ctx, options));
}

export async function listImages(options: ListOptions = {}): Promise<ImageSummary[]> {
  const { imageSummaries } = await import('./images/list.ts');
  return withContext((ctx) => imageSummaries(ctx, options));
}

export async function tagImage(source: string, target: string): Promise<void> {
  const { tag } = await import('./images/list.ts');
  return withContext((ctx) => tag(ctx, source, target));
}

/** Removes images; one report per reference, errors included (the caller picks the exit code). */
export async function removeImages(references: readonly string[], options: { force?: boolean } = {}): Promise<RemoveReport[]> {
  const { removeImages: remove } = await import('./images/remove.ts');
  return withContext((ctx) => remove(ctx, references, options.force ?? false));
}

export async function inspectImages(references: readonly string[]): Promise<InspectReport[]> {
  const { inspectImages: inspect } = await import('./images/inspect.ts');
  return withContext((ctx) => inspect(ctx, references));
}

export async function imageHistory(reference: string): Promise<HistoryRow[]> {
  const { imageHistory: history } = await import('./images/inspect.ts');
  return withContext((ctx) => history(ctx, reference));
}

export type { PushEvent, PushOptions, PushResult } from './images/push.ts';
export type { PruneResult } from './images/prune.ts';
export type { SearchResult } from './images/search.ts';
export type { CheckProblem, CheckReport } from './images/check.ts';

/** Pushes a local image to a registry. */
export async function push(options: PushOptions): Promise<PushResult> {
  const { pushImage } = await import('./images/push.ts');
  return withContext((ctx) => pushImage(ctx, options));
}

export async function pruneImages(options: { all: boolean }): Promise<PruneResult> {
  const { pruneImages: prune } = await import('./images/prune.ts');
  return withContext((ctx) => prune(ctx, options));
}

export async function search(options: SearchOptions): Promise<SearchResult[]> {
  const { searchRegistry } = await import('./images/search.ts');
  return withContext((ctx) => searchRegistry(ctx, options));
}

/** Verifies the store, and with `repair` fixes what killed processes or a bad disk left. */
export async function checkSystem(options: CheckOptions): Promise<CheckReport> {
  const { checkStore } = await import('./images/check.ts');
  return withContext((ctx) => checkStore(ctx, options));
}

/** Checks the credentials with the registry, then stores them where podman and docker find them. */
export async function login(options: LoginOptions): Promise<{ registry: string; file: string }> {
  const { login: doLogin } = await import('./auth/login.ts');
  return withContext((ctx) => doLogin(ctx, options));
}

export async function logout(registry: string | undefined): Promise<{ registry: string; removed: boolean }> {
  const { logout: doLogout } = await import('./auth/login.ts');
  return withContext((ctx) => doLogout(ctx, registry));
}

export type { ArchiveFormat, SaveOptions, SaveResult } from './images/save.ts';
export type { LoadEvent, LoadOptions, LoadResult, LoadedImage } from './images/load.ts';
export type { ImportOptions, ImportResult } from './images/import.ts';

/** Writes images to a docker-archive or oci-archive (a file, or a stream such as stdout). */
export async function saveImages(options: SaveOptions): Promise<SaveResult> {
  const { saveImages: save } = await import('./images/save.ts');
  return withContext((ctx) => save(ctx, options));
}

/** Loads the images of an archive that docker save, podman save or tsc save wrote. */
export async function loadImages(options: LoadOptions): Promise<LoadResult> {
  const { loadImages: load } = await import('./images/load.ts');
  return withContext((ctx) => load(ctx, options));
}

/** Makes a one-layer image of a root filesystem tarball. */
export async function importImage(options: ImportOptions): Promise<ImportResult> {
  const { importImage: doImport } = await import('./images/import.ts');
  return withContext((ctx) => doImport(ctx, options));
}

/** Makes an image of a container's changes on top of its image. */
export async function commitContainer(options: CommitOptions): Promise<CommitResult> {
  const { commitContainer: commit } = await import('./containers/commit.ts');
  return withContext((ctx) => commit(ctx, options));
}

/** The paths a container added, changed and deleted. */
export async function containerChanges(ref: string): Promise<Change[]> {
  const { containerChanges: changes } = await import('./containers/changes.ts');
  return withContext((ctx) => changes(ctx, ref));
}

/** Streams a container's merged file system as a tar to `output`. */
export async function exportContainer(ref: string, output: string | NodeJS.WritableStream): Promise<void> {
  const [{ exportContainer: doExport }, { pipeline }, { createWriteStream }] = await Promise.all([
    import('./containers/changes.ts'), import('node:stream/promises'), import('node:fs'),
  ]);
  return withContext((ctx) => doExport(ctx, ref, async (tar) => {
    if (typeof output === 'string') await pipeline(tar, createWriteStream(output));
    else await pipeline(tar, output, { end: false });
  }));
}

/** Builds an image from a Dockerfile. */
export async function build(options: BuildOptions): Promise<BuildResult> {
  const { buildImage } = await import('./build/build.ts');
  return withContext((ctx) => buildImage(ctx, options));
}

export type { CommitOptions, CommitResult } from './containers/commit.ts';
export type { Change } from './containers/changes.ts';
export type { BuildOptions, BuildResult, BuildEvent } from './build/build.ts';

// ---- containers -----------------------------------------------------------------------

export type { RunOptions, RunResult, RunIo } from './containers/run.ts';
export type { CreateOptions, CreateResult } from './containers/create.ts';
export type { ContainerSummary, PsOptions } from './containers/list.ts';
export type { ContainerReport, StopOptions, RemoveOptions, PruneResult as ContainerPruneResult } from './containers/lifecycle.ts';
export type { ContainerInspect, InspectResult as ContainerInspectResult } from './containers/inspect.ts';
export type { AttachSession, ExitInfo } from './containers/attach.ts';
export type { LiveState } from './containers/state.ts';

/** Creates and starts a container; unless detached, relays its stdio until it ends (docker's exit codes). */
export async function runContainer(options: RunOptions): Promise<RunResult> {
  const { runContainer: run } = await import('./containers/run.ts');
  return withContext((ctx) => run(ctx, options));
}

export async function createContainer(options: CreateOptions): Promise<CreateResult> {
  const { createContainer: create } = await import('./containers/create.ts');
  return withContext((ctx) => create(ctx, options));
}

export type { StartRequest } from './containers/run.ts';

/** docker start: per-container reports; with io, the exit code of the attached container. */
export async function startContainers(request: StartRequest): Promise<{ reports: ContainerReport[]; exitCode?: number | undefined }> {
  const { startContainers: start } = await import('./containers/run.ts');
  return withContext((ctx) => start(ctx, request));
}

export async function stopContainers(refs: readonly string[], options: StopOptions = {}): Promise<ContainerReport[]> {
  const { stopContainers: stop } = await import('./containers/lifecycle.ts');
  return withContext((ctx) => stop(ctx, refs, options));
}

export async function killContainers(refs: readonly string[], signal?: string): Promise<ContainerReport[]> {
  const { killContainers: kill } = await import('./containers/lifecycle.ts');
  return withContext((ctx) => kill(ctx, refs, signal));
}

/** docker restart: stop (with the timeout) then start, per container. */
export async function restartContainers(refs: readonly string[], options: StopOptions = {}): Promise<ContainerReport[]> {
  const stopped = await stopContainers(refs, options);
  const failed = stopped.filter((r) => r.error);
  const { reports } = await startContainers({ refs: stopped.filter((r) => !r.error).map((r) => r.ref) });
  return [...failed, ...reports];
}

export async function pauseContainers(refs: readonly string[], paused: boolean): Promise<ContainerReport[]> {
  const { pauseContainers: pause } = await import('./containers/lifecycle.ts');
  return withContext((ctx) => pause(ctx, refs, paused));
}

export async function removeContainers(refs: readonly string[], options: RemoveOptions = {}): Promise<ContainerReport[]> {
  const { removeContainers: remove } = await import('./containers/lifecycle.ts');
  return withContext((ctx) => remove(ctx, refs, options));
}

export async function renameContainer(ref: string, name: string): Promise<void> {
  const { renameOne } = await import('./containers/lifecycle.ts');
  return withContext((ctx) => renameOne(ctx, ref, name));
}

export async function pruneContainers(labelFilters: readonly string[] = []): Promise<ContainerPruneResult> {
  const { pruneContainers: prune } = await import('./containers/lifecycle.ts');
  const wanted = labelFilters.map((f) => {
    const [key, value] = f.includes('=') ? [f.slice(0, f.indexOf('=')), f.slice(f.indexOf('=') + 1)] : [f, undefined];
    return { key, value };
  });
  return withContext((ctx) =>
    prune(ctx, (row) => wanted.every((w) => w.key in row.config.labels && (w.value === undefined || row.config.labels[w.key] === w.value))),
  );
}

export async function listContainers(options: PsOptions = {}): Promise<ContainerSummary[]> {
  const { listContainers: list } = await import('./containers/list.ts');
  return withContext((ctx) => list(ctx, options));
}

export async function inspectContainers(refs: readonly string[]): Promise<ContainerInspectResult> {
  const { inspectContainers: inspect } = await import('./containers/inspect.ts');
  return withContext((ctx) => inspect(ctx, refs));
}

/** docker wait: blocks until each container ends; its exit code, or an error. */
export async function waitContainers(refs: readonly string[]): Promise<(ContainerReport & { exitCode?: number })[]> {
  const { waitContainers: wait } = await import('./containers/control.ts');
  return withContext((ctx) => wait(ctx, refs));
}

/** docker attach: relays stdio to a running container until it ends or the user detaches. */
export async function attachContainer(ref: string, io: RunIo, options: { noStdin?: boolean } = {}): Promise<number | undefined> {
  const { attachContainer: attach } = await import('./containers/run.ts');
  return withContext((ctx) => attach(ctx, ref, io, options));
}

export type { ExecOptions } from './containers/exec.ts';
export type { TopResult } from './containers/top.ts';
export type { PortBinding } from './containers/records.ts';

/** docker exec: runs a command in a running container; its exit code (126/127 when it cannot start). */
export async function execContainer(options: ExecOptions): Promise<number> {
  const { execInContainer } = await import('./containers/exec.ts');
  return withContext((ctx) => execInContainer(ctx, options));
}

export async function topContainer(ref: string, psArgs: readonly string[] = []): Promise<TopResult> {
  const { topContainer: top } = await import('./containers/top.ts');
  return withContext((ctx) => top(ctx, ref, psArgs));
}

/** The published ports of a container. */
export async function containerPorts(ref: string): Promise<PortBinding[]> {
  const { requireContainer } = await import('./containers/records.ts');
  return withContext(async (ctx) => requireContainer((await ctx.store()).db, ref).config.ports);
}

// ---- volumes --------------------------------------------------------------------------

export type { CreateVolumeOptions, VolumeInspect, VolumeInspectReport, VolumeListOptions, VolumePruneOptions, VolumePruneResult, VolumeRemoveReport, VolumeSummary } from './volumes/index.ts';

/** Creates a volume (a random name when none); an existing name is returned as it is. */
export async function createVolume(options: CreateVolumeOptions = {}): Promise<VolumeInspect> {
  const { createVolume: create } = await import('./volumes/create.ts');
  return withContext((ctx) => create(ctx, options));
}

export async function listVolumes(options: VolumeListOptions = {}): Promise<VolumeSummary[]> {
  const { listVolumes: list } = await import('./volumes/list.ts');
  return withContext((ctx) => list(ctx, options));
}

export async function inspectVolumes(names: readonly string[]): Promise<VolumeInspectReport[]> {
  const { inspectVolumes: inspect } = await import('./volumes/inspect.ts');
  return withContext((ctx) => inspect(ctx, names));
}

/** Removes volumes; one report per name (a volume a container uses is refused). */
export async function removeVolumes(names: readonly string[], options: { force?: boolean } = {}): Promise<VolumeRemoveReport[]> {
  const { removeVolumes: remove } = await import('./volumes/remove.ts');
  return withContext((ctx) => remove(ctx, names, options));
}

/** Removes unused anonymous volumes (`all`: every unused volume). */
export async function pruneVolumes(options: VolumePruneOptions = {}): Promise<VolumePruneResult> {
  const { pruneVolumes: prune } = await import('./volumes/prune.ts');
  return withContext((ctx) => prune(ctx, options));
}

export type { LogRequest } from './containers/log-options.ts';
export type { LogFiles, LogFollow, LogOptions, LogOutput, LogReadReport } from './containers/logs.ts';

export type { ContainerLogFiles } from './containers/logs.ts';

/** Resolves a container name or id to its log files. */
export async function containerLogFiles(ref: string): Promise<ContainerLogFiles> {
  const { containerLogFiles: files } = await import('./containers/logs.ts');
  return withContext((ctx) => files(ctx, ref));
}

/**
 * `docker logs`: writes the container's output to `out` (its stdout lines to out.stdout,
 * its stderr lines to out.stderr); with `follow`, until the container stops or `signal` aborts.
 * The flag values are checked before the container is looked up.
 */
export async function readContainerLogs(ref: string, request: LogRequest, out: LogOutput, signal?: AbortSignal): Promise<LogReadReport> {
  const [{ parseLogRequest }, { readLogs }] = await Promise.all([import('./containers/log-options.ts'), import('./containers/logs.ts')]);
  const options = parseLogRequest(request);
  const files = await containerLogFiles(ref);
  const report = await readLogs(files, options, out, { isRunning: files.isRunning, signal });
  if (report.malformed > 0) log.warn(`skipped ${report.malformed} malformed line(s) in the log of ${ref} (${files.current})`);
  return report;
}
