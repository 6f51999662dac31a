/**
 * docker-archive: what `docker save` writes and `docker load` reads. Pure: values in,
 * bytes out, and back.
 *
 * The entry point is `manifest.json`, a list of images, each with the path of its config,
 * the paths of its layers (bottom first) and its names (`RepoTags`, docker's short form).
 * Paths are whatever the writer chose: docker before 25 wrote `<id>.json` and
 * `<v1-id>/layer.tar`, podman writes `<hex>.json` and `<hex>.tar`, docker 25+ writes an
 * OCI image layout (`blobs/sha256/<hex>`, `index.json`, `oci-layout`) around the same
 * manifest.json, plus the legacy `repositories` file. tsc writes what docker 25+ writes.
 */
import { TscError } from '../errors.ts';
import { familiarName, parseReference } from '../reference/reference.ts';
import { blobPath } from './archive-read.ts';
import type { ArchivedImage } from './archive-oci.ts';

export interface DockerManifestItem {
  config: string;
  /** as written: docker's short names (`busybox:latest`) */
  repoTags: string[];
  layers: string[];
}

/** Parses manifest.json; errors name the archive and the item. */
export function parseDockerManifest(bytes: Uint8Array, where: string): DockerManifestItem[] {
  const fail = (problem: string): never => {
    throw new TscError('invalid-content', `manifest.json in ${where} is not valid: ${problem}`);
  };
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(bytes).toString('utf8'));
  } catch (error) {
    return fail(`not JSON (${(error as Error).message})`);
  }
  if (!Array.isArray(value)) return fail('it is not a list');
  if (value.length === 0) return fail('it lists no images');
  return value.map((item: unknown, i) => {
    const at = `image ${i + 1}`;
    if (typeof item !== 'object' || item === null || Array.isArray(item)) return fail(`${at} is not an object`);
    const { Config: config, RepoTags: repoTags, Layers: layers } = item as Record<string, unknown>;
    if (typeof config !== 'string' || config === '') return fail(`${at} has no Config`);
    if (!Array.isArray(layers) || !layers.every((l) => typeof l === 'string' && l !== '')) return fail(`${at} has no list of Layers`);
    if (repoTags !== undefined && repoTags !== null && !(Array.isArray(repoTags) && repoTags.every((t) => typeof t === 'string'))) {
      return fail(`${at} has RepoTags that are not a list of names`);
    }
    return { config, repoTags: (repoTags as string[] | null | undefined) ?? [], layers: layers as string[] };
  });
}

/** `busybox:latest` for `docker.io/library/busybox:latest`. */
export function shortName(tag: string): string {
  const ref = parseReference(tag);
  return familiarName({ registry: ref.registry, repository: ref.repository, tag: ref.tag ?? 'latest' });
}

/** manifest.json as docker writes it: blob paths, short names, `null` for no names. */
export function dockerManifestJson(images: readonly ArchivedImage[]): Buffer {
  const items = images.map((image) => ({
    Config: blobPath(image.id),
    RepoTags: image.tags.length > 0 ? image.tags.map(shortName) : null,
    Layers: image.layers.map(blobPath),
  }));
  return Buffer.from(`${JSON.stringify(items)}\n`);
}

/**
 * The legacy `repositories` file (repository -> tag -> top layer), which docker still
 * writes; undefined when no image has a name.
 */
export function repositoriesJson(images: readonly ArchivedImage[]): Buffer | undefined {
  const repositories: Record<string, Record<string, string>> = {};
  for (const image of images) {
    const top = image.diffIds.at(-1);
    if (top === undefined) continue;
    for (const tag of image.tags) {
      const ref = parseReference(tag);
      const repository = familiarName({ registry: ref.registry, repository: ref.repository });
      (repositories[repository] ??= {})[ref.tag ?? 'latest'] = top.slice(top.indexOf(':') + 1);
    }
  }
  return Object.keys(repositories).length > 0 ? Buffer.from(`${JSON.stringify(repositories)}\n`) : undefined;
}
