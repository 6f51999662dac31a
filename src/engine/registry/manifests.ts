/**
 * Fetching manifests: by tag or digest, with every manifest media type we read in
 * Accept, verified against the digest asked for (or the registry's Docker-Content-Digest
 * when asked by tag) and the expected size, then parsed; and resolving a reference to
 * the image manifest for one platform when the registry answers with an index.
 */
import { TscError } from '../errors.ts';
import { formatReference, isDigest, manifestReference, type ImageReference } from '../reference/reference.ts';
import { repositoryScope, type Action, type RegistryClient } from './client.ts';
import { readLimited, responseError } from './errors.ts';
import { digestOf, hasherFor } from './hashing.ts';
import { parseManifest, type ImageIndex, type ImageManifest, type Manifest } from './manifest-parse.ts';
import { MANIFEST_ACCEPT, essence } from './media-types.ts';
import { availablePlatforms, formatPlatform, hostPlatform, parsePlatform, selectManifest, type PlatformSpec } from './platform.ts';
import { discard } from './transport.ts';

/** Larger manifests are refused (containerd uses the same limit). */
export const MANIFEST_LIMIT = 4 * 1024 * 1024;

export interface FetchedManifest<M extends Manifest = Manifest> {
  manifest: M;
  mediaType: string;
  digest: string;
  size: number;
  /** the bytes exactly as served: what the digest covers, what a push must send back */
  bytes: Uint8Array;
}

export interface FetchManifestOptions {
  /** the size from the descriptor that pointed here, checked against the bytes */
  size?: number | undefined;
  /** the scope to ask for (default pull) */
  action?: Action;
  signal?: AbortSignal | undefined;
}

/** GETs, verifies and parses the manifest `reference` (a tag or a digest) of `repository`. */
export async function fetchManifest(
  client: RegistryClient,
  repository: string,
  reference: string,
  options: FetchManifestOptions = {},
): Promise<FetchedManifest> {
  const where = client.describe(repository);
  const subject = `${reference} of ${where}`;
  const byDigest = isDigest(reference);
  if (byDigest) hasherFor(reference, `manifest ${subject}`);
  const response = await client.request({
    path: `/v2/${repository}/manifests/${reference}`,
    scopes: [repositoryScope(repository, options.action ?? 'pull')],
    headers: { accept: MANIFEST_ACCEPT },
    signal: options.signal,
  });
  if (response.status !== 200) throw await responseError(response, `manifest ${subject}`, client.registry);
  const bytes = await readLimited(response, MANIFEST_LIMIT, `manifest ${subject}`);

  const announced = response.headers.get('docker-content-digest');
  let expected = byDigest ? reference : undefined;
  if (!byDigest && announced !== null && isDigest(announced)) expected = announced;
  let digest: string;
  if (expected === undefined) {
    digest = digestOf(bytes);
  } else {
    const actual = digestOf(bytes, hasherFor(expected, `manifest ${subject}`).algorithm);
    if (actual !== expected) {
      throw new TscError('invalid-content', `digest mismatch for manifest ${expected} from ${where}: got ${actual}`, {
        hint: 'the registry or something between it and tsc altered the manifest; try again or use another mirror',
      });
    }
    digest = expected;
  }
  if (options.size !== undefined && bytes.byteLength !== options.size) {
    throw new TscError('invalid-content', `size mismatch for manifest ${digest} from ${where}: expected ${options.size} bytes, got ${bytes.byteLength}`);
  }
  const manifest = parseManifest(bytes, response.headers.get('content-type') ?? undefined, subject);
  return { manifest, mediaType: manifest.mediaType, digest, size: bytes.byteLength, bytes };
}

export interface ManifestHead {
  /** from Docker-Content-Digest; some registries leave it out */
  digest: string | undefined;
  mediaType: string;
  size: number | undefined;
}

/** HEADs a manifest: its digest without downloading it, or undefined when it does not exist. */
export async function headManifest(
  client: RegistryClient,
  repository: string,
  reference: string,
  options: { signal?: AbortSignal | undefined } = {},
): Promise<ManifestHead | undefined> {
  const response = await client.request({
    method: 'HEAD',
    path: `/v2/${repository}/manifests/${reference}`,
    scopes: [repositoryScope(repository, 'pull')],
    headers: { accept: MANIFEST_ACCEPT },
    signal: options.signal,
  });
  await discard(response);
  if (response.status === 404) return undefined;
  if (response.status !== 200) throw await responseError(response, `manifest ${reference} of ${client.describe(repository)}`, client.registry);
  const digest = response.headers.get('docker-content-digest');
  const length = response.headers.get('content-length');
  return {
    digest: digest !== null && isDigest(digest) ? digest : undefined,
    mediaType: essence(response.headers.get('content-type')),
    size: length === null ? undefined : Number(length),
  };
}

export interface ResolvedImage {
  /** what the reference resolved to: the index's digest when there is one */
  digest: string;
  index?: FetchedManifest<ImageIndex>;
  manifest: FetchedManifest<ImageManifest>;
  /** the platform chosen from the index */
  platform?: PlatformSpec;
}

export interface ResolveOptions {
  /** `os/arch[/variant]` or a parsed platform; the host's when unset */
  platform?: string | PlatformSpec | undefined;
  signal?: AbortSignal | undefined;
}

/**
 * The image manifest `ref` names. When the registry answers with an index, the entry for
 * the requested (or this host's) platform is chosen and fetched. A single manifest is
 * returned as is: its platform is in the image config, which the caller reads anyway.
 */
export async function resolveImage(client: RegistryClient, ref: ImageReference, options: ResolveOptions = {}): Promise<ResolvedImage> {
  if (ref.registry !== client.registry) {
    throw new TscError('internal', `registry client for ${client.registry} asked to resolve ${formatReference(ref)}`);
  }
  const top = await fetchManifest(client, ref.repository, manifestReference(ref), { signal: options.signal });
  if (top.manifest.kind === 'manifest') return { digest: top.digest, manifest: top as FetchedManifest<ImageManifest> };

  const index = top as FetchedManifest<ImageIndex>;
  const want = options.platform === undefined ? hostPlatform() : typeof options.platform === 'string' ? parsePlatform(options.platform) : options.platform;
  const chosen = selectManifest(index.manifest, want);
  if (chosen === undefined) {
    const offered = availablePlatforms(index.manifest);
    throw new TscError('not-found', `${formatReference(ref)} has no image for ${formatPlatform(want)}; it offers ${offered.length > 0 ? offered.join(', ') : 'no platforms'}`, {
      hint: 'choose one of the offered platforms with --platform',
    });
  }
  const child = await fetchManifest(client, ref.repository, chosen.digest, { size: chosen.size, signal: options.signal });
  if (child.manifest.kind !== 'manifest') {
    throw new TscError('unsupported', `${formatReference(ref)} nests an index (${chosen.digest}) inside an index, which tsc does not follow`);
  }
  return { digest: index.digest, index, manifest: child as FetchedManifest<ImageManifest>, platform: want };
}
