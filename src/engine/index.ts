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
import type { RunOptions } from './containers/run.ts';
import type { LogRequest } from './containers/log-options.ts';
import type { LogOutput, LogReadReport } from './containers/logs.ts';
import { TscError } from './errors.ts';
import { log } from './log.ts';
import type { RemoveReport } from './images/remove.ts';
import type { SaveOptions, SaveResult } from './images/save.ts';
import type { LoadOptions, LoadResult } from './images/load.ts';
import type { ImportOptions, ImportResult } from './images/import.ts';
import type { CollectOptions } from './info/collect.ts';
import type { HostInfo } from './info/types.ts';

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

// ---- containers -----------------------------------------------------------------------

export type { RunOptions } from './containers/run.ts';

/** Runs a container in the foreground; resolves to its exit code (docker's conventions). */
export async function runContainer(options: RunOptions): Promise<number> {
  const { runContainer: run } = await import('./containers/run.ts');
  return withContext((ctx) => run(ctx, options));
}

export type { LogRequest } from './containers/log-options.ts';
export type { LogFiles, LogFollow, LogOptions, LogOutput, LogReadReport } from './containers/logs.ts';

/** Where a container's log is, and whether it may still grow. */
export interface ContainerLogFiles {
  /** the file the monitor appends to (LOG) */
  current: string;
  /** the previous file, after rotation (LOG.1) */
  rotated: string;
  /** true while the container (or its monitor) may still write to the log */
  isRunning: () => boolean;
}

/** Resolves a container name or id to its log files. */
export async function containerLogFiles(_ref: string): Promise<ContainerLogFiles> {
  throw new TscError('unsupported', 'containers are not available yet');
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
