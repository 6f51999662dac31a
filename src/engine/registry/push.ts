/**
 * Pushing: blob existence checks, cross-repository mounts, monolithic and chunked blob
 * uploads (following the Location the registry hands out after every step, and picking
 * up where the registry says it is when a chunk fails), and manifests.
 */
import { createReadStream } from 'node:fs';
import { TscError } from '../errors.ts';
import { isDigest } from '../reference/reference.ts';
import { log } from '../log.ts';
import { repositoryScope, type RegistryClient } from './client.ts';
import { responseError } from './errors.ts';
import { digestOf, hasherFor } from './hashing.ts';
import { discard, isRetryableStatus } from './transport.ts';

/** A blob to upload; `open` is called again for every try, so it must be repeatable. */
export interface BlobSource {
  digest: string;
  size: number;
  /** the bytes from `start` (inclusive) to `end` (exclusive) */
  open(start: number, end: number): Uint8Array | AsyncIterable<Uint8Array>;
}

export function bytesSource(bytes: Uint8Array): BlobSource {
  return { digest: digestOf(bytes), size: bytes.byteLength, open: (start, end) => bytes.subarray(start, end) };
}

/** A file whose digest and size the caller already knows (a layer in the content store). */
export function fileSource(path: string, digest: string, size: number): BlobSource {
  return { digest, size, open: (start, end) => (end > start ? createReadStream(path, { start, end: end - 1 }) : new Uint8Array()) };
}

export interface BlobOptions {
  signal?: AbortSignal | undefined;
}

/** Whether `repository` has blob `digest` (HEAD); asks for push scope when `forPush`. */
export async function hasBlob(client: RegistryClient, repository: string, digest: string, options: BlobOptions & { forPush?: boolean } = {}): Promise<boolean> {
  const response = await client.request({
    method: 'HEAD',
    path: `/v2/${repository}/blobs/${digest}`,
    scopes: [repositoryScope(repository, options.forPush === true ? 'push' : 'pull')],
    signal: options.signal,
  });
  await discard(response);
  if (response.status === 200) return true;
  if (response.status === 404) return false;
  throw await responseError(response, `blob ${digest} of ${client.describe(repository)}`, client.registry);
}

export interface PushBlobOptions extends BlobOptions {
  /** a repository on the same registry that has the blob: mount it from there */
  mountFrom?: string | undefined;
  /** upload in PATCH chunks of this many bytes; monolithic when unset or the blob is smaller */
  chunkSize?: number | undefined;
}

export interface PushBlobResult {
  digest: string;
  size: number;
  outcome: 'exists' | 'mounted' | 'uploaded';
}

/** Makes sure `repository` has the blob: already there, mounted, or uploaded. */
export async function pushBlob(client: RegistryClient, repository: string, source: BlobSource, options: PushBlobOptions = {}): Promise<PushBlobResult> {
  const { digest, size } = source;
  const result = (outcome: PushBlobResult['outcome']): PushBlobResult => ({ digest, size, outcome });
  if (await hasBlob(client, repository, digest, { forPush: true, signal: options.signal })) return result('exists');

  let location: string;
  if (options.mountFrom !== undefined && options.mountFrom !== repository) {
    const mount = await mountBlob(client, repository, digest, options.mountFrom, options);
    if (mount.mounted) return result('mounted');
    location = mount.location;
  } else {
    location = await startUpload(client, repository, options);
  }
  if (options.chunkSize !== undefined && options.chunkSize > 0 && size > options.chunkSize) {
    await chunkedUpload(client, repository, source, location, options.chunkSize, options);
  } else {
    await finishUpload(client, repository, source, location, true, options);
  }
  return result('uploaded');
}

/**
 * Asks the registry to link blob `digest` from `from` into `repository`. Registries that
 * cannot (the blob is not there, the user may not read `from`, mounting is off) start a
 * normal upload instead and answer 202 with its location.
 */
export async function mountBlob(
  client: RegistryClient,
  repository: string,
  digest: string,
  from: string,
  options: BlobOptions = {},
): Promise<{ mounted: true } | { mounted: false; location: string }> {
  const query = new URLSearchParams({ mount: digest, from });
  const response = await client.request({
    method: 'POST',
    path: `/v2/${repository}/blobs/uploads/?${query.toString()}`,
    scopes: [repositoryScope(repository, 'push'), repositoryScope(from, 'pull')],
    headers: { 'content-length': '0' },
    signal: options.signal,
  });
  if (response.status !== 201 && response.status !== 202) {
    throw await responseError(response, `mount of blob ${digest} from ${from} into ${client.describe(repository)}`, client.registry);
  }
  await discard(response);
  return response.status === 201 ? { mounted: true } : { mounted: false, location: uploadLocation(response, client, repository) };
}

async function startUpload(client: RegistryClient, repository: string, options: BlobOptions): Promise<string> {
  const response = await client.request({
    method: 'POST',
    path: `/v2/${repository}/blobs/uploads/`,
    scopes: [repositoryScope(repository, 'push')],
    headers: { 'content-length': '0' },
    signal: options.signal,
  });
  if (response.status !== 202) throw await responseError(response, `upload to ${client.describe(repository)}`, client.registry);
  await discard(response);
  return uploadLocation(response, client, repository);
}

/** The final PUT with `?digest=`, carrying all the data (monolithic) or none (after chunks). */
async function finishUpload(
  client: RegistryClient,
  repository: string,
  source: BlobSource,
  location: string,
  withData: boolean,
  options: BlobOptions,
): Promise<void> {
  const url = new URL(location, client.base);
  url.searchParams.set('digest', source.digest);
  const length = withData ? source.size : 0;
  let response: Response;
  try {
    response = await client.request({
      method: 'PUT',
      path: url.href,
      scopes: [repositoryScope(repository, 'push')],
      headers: { 'content-type': 'application/octet-stream', 'content-length': String(length) },
      body: withData ? () => source.open(0, source.size) : undefined,
      signal: options.signal,
    });
  } catch (error) {
    if (error instanceof TscError && error.code === 'remote' && (await hasBlob(client, repository, source.digest, options))) return;
    throw error;
  }
  if (response.status !== 201) {
    const failure = await responseError(response, `upload of blob ${source.digest} to ${client.describe(repository)}`, client.registry);
    // a retried PUT whose first answer was lost finds the upload already committed
    if (await hasBlob(client, repository, source.digest, options)) return;
    throw failure;
  }
  await discard(response);
  const stored = response.headers.get('docker-content-digest');
  if (stored !== null && stored !== source.digest) {
    throw new TscError('invalid-content', `digest mismatch for uploaded blob ${source.digest} in ${client.describe(repository)}: the registry stored ${stored}`);
  }
}

const MAX_CHUNK_FAILURES = 4;

async function chunkedUpload(
  client: RegistryClient,
  repository: string,
  source: BlobSource,
  start: string,
  chunkSize: number,
  options: BlobOptions,
): Promise<void> {
  let location = start;
  let offset = 0;
  let failures = 0;
  while (offset < source.size) {
    const end = Math.min(offset + chunkSize, source.size);
    const sent = await sendChunk(client, repository, source, location, offset, end, options);
    if ('location' in sent) {
      location = sent.location;
      offset = end;
      failures = 0;
      continue;
    }
    if (++failures >= MAX_CHUNK_FAILURES) throw sent.failure;
    await client.backoff(failures, options.signal);
    // Where does the registry stand? Its answer is trusted only when it is consistent with
    // what it acknowledged. Docker's registry appends whatever reaches it (it ignores
    // Content-Range) and refuses a Location whose signed state is stale, as it is after a
    // lost answer; then a fresh upload is the only safe way on.
    const status = await uploadStatus(client, repository, location, options);
    if (status !== undefined && status.offset >= offset && status.offset <= end && (status.offset > 0 || offset === 0)) {
      location = status.location;
      offset = status.offset;
    } else {
      log.debug(`upload of ${source.digest} to ${client.describe(repository)}: chunk at ${offset} failed; starting a new upload`);
      location = await startUpload(client, repository, options);
      offset = 0;
    }
  }
  await finishUpload(client, repository, source, location, false, options);
}

/** One PATCH: the next location, or the failure when trying again may help. */
async function sendChunk(
  client: RegistryClient,
  repository: string,
  source: BlobSource,
  location: string,
  from: number,
  end: number,
  options: BlobOptions,
): Promise<{ location: string } | { failure: TscError }> {
  const subject = `upload of blob ${source.digest} to ${client.describe(repository)}`;
  let response: Response;
  try {
    response = await client.request({
      method: 'PATCH',
      path: location,
      scopes: [repositoryScope(repository, 'push')],
      headers: { 'content-type': 'application/octet-stream', 'content-length': String(end - from), 'content-range': `${from}-${end - 1}` },
      body: () => source.open(from, end),
      retry: false,
      signal: options.signal,
    });
  } catch (error) {
    if (error instanceof TscError && error.code === 'remote' && options.signal?.aborted !== true) return { failure: error };
    throw error;
  }
  if (response.status === 202) {
    await discard(response);
    const held = uploadedBytes(response.headers.get('range'));
    if (held !== undefined && held !== end && end > 1) {
      return { failure: new TscError('remote', `${subject}: the registry holds ${held} bytes after a chunk ending at ${end}`) };
    }
    return { location: uploadLocation(response, client, repository) };
  }
  const failure = await responseError(response, subject, client.registry);
  if (isRetryableStatus(response.status) || response.status === 416) return { failure };
  throw failure;
}

/** The upload's location and offset as the registry reports them, or undefined when it cannot say. */
async function uploadStatus(client: RegistryClient, repository: string, location: string, options: BlobOptions): Promise<{ location: string; offset: number } | undefined> {
  let response: Response;
  try {
    response = await client.request({ path: location, scopes: [repositoryScope(repository, 'push')], signal: options.signal });
  } catch (error) {
    if (error instanceof TscError && error.code === 'remote') return undefined;
    throw error;
  }
  await discard(response);
  if (response.status !== 204) return undefined;
  return { location: uploadLocation(response, client, repository, location), offset: uploadedBytes(response.headers.get('range')) ?? 0 };
}

/**
 * Bytes the registry holds, from a `Range: 0-<last>` header. Docker's registry says
 * `0-0` both for nothing and for one byte; we read it as nothing, which at worst resends
 * one byte that the final digest check would catch.
 */
export function uploadedBytes(range: string | null): number | undefined {
  const match = /^(?:bytes=)?0-(\d+)$/.exec(range?.trim() ?? '');
  if (match === null) return undefined;
  const last = Number(match[1]);
  return last === 0 ? 0 : last + 1;
}

function uploadLocation(response: Response, client: RegistryClient, repository: string, fallback?: string): string {
  const location = response.headers.get('location') ?? fallback;
  if (location === undefined || location === '') {
    throw new TscError('remote', `${client.registry} started an upload to ${repository} without saying where (no Location header)`);
  }
  return new URL(location, new URL(response.url || client.base.href)).href;
}

/**
 * PUTs a manifest under `reference` (a tag or its digest) with its media type as the
 * Content-Type, and returns its digest, checked against what the registry reports.
 */
export async function putManifest(
  client: RegistryClient,
  repository: string,
  reference: string,
  bytes: Uint8Array,
  mediaType: string,
  options: BlobOptions = {},
): Promise<string> {
  let digest = digestOf(bytes);
  if (isDigest(reference)) {
    digest = digestOf(bytes, hasherFor(reference, `manifest ${reference}`).algorithm);
    if (digest !== reference) throw new TscError('invalid-argument', `manifest bytes for ${client.describe(repository)}@${reference} have the digest ${digest}`);
  }
  const response = await client.request({
    method: 'PUT',
    path: `/v2/${repository}/manifests/${reference}`,
    scopes: [repositoryScope(repository, 'push')],
    headers: { 'content-type': mediaType, 'content-length': String(bytes.byteLength) },
    body: () => bytes,
    signal: options.signal,
  });
  if (response.status !== 201) throw await responseError(response, `push of manifest ${reference} to ${client.describe(repository)}`, client.registry);
  await discard(response);
  const stored = response.headers.get('docker-content-digest');
  if (stored !== null && isDigest(stored) && stored.startsWith(`${digest.split(':')[0]}:`) && stored !== digest) {
    throw new TscError('invalid-content', `digest mismatch for pushed manifest ${reference} in ${client.describe(repository)}: sent ${digest}, the registry stored ${stored}`);
  }
  return digest;
}
