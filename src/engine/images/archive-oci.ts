/**
 * The OCI image layout as an archive (podman's and skopeo's `oci-archive`), and the parts
 * of it docker (25+) also writes into its docker-archive: `oci-layout`, `index.json` and
 * `blobs/<alg>/<hex>`. Pure: values in, bytes out, and back.
 *
 * Names travel as index.json annotations on the manifest descriptors, one descriptor per
 * name: `io.containerd.image.name` holds the whole reference (containerd, docker and
 * buildkit write it; podman reads it first) and `org.opencontainers.image.ref.name` holds
 * what the writer chose: docker and containerd put only the tag there, podman and skopeo
 * the whole reference.
 */
import { TscError } from '../errors.ts';
import { formatReference, parseReference } from '../reference/reference.ts';
import { IMAGE_MANIFEST_TYPES, INDEX_TYPES, OCI_INDEX } from '../registry/media-types.ts';
import { parseManifest, type Descriptor } from '../registry/manifest-parse.ts';

export const ANNOTATION_IMAGE_NAME = 'io.containerd.image.name';
export const ANNOTATION_REF_NAME = 'org.opencontainers.image.ref.name';

/** The `oci-layout` file, byte for byte as docker writes it. */
export const OCI_LAYOUT = Buffer.from('{"imageLayoutVersion": "1.0.0"}');

/** An image as an archive lists it. */
export interface ArchivedImage {
  /** the config digest */
  id: string;
  /** canonical names, `docker.io/library/busybox:latest` */
  tags: string[];
  manifest: { mediaType: string; digest: string; size: number };
  /** layer blob digests, bottom first */
  layers: string[];
  /** the config's rootfs.diff_ids */
  diffIds: string[];
}

/**
 * index.json: one descriptor per name (the same manifest repeated), and one without
 * annotations for an image that has no name. `refName` turns a canonical name into the
 * value of org.opencontainers.image.ref.name.
 */
export function indexJson(images: readonly ArchivedImage[], refName: (tag: string) => string): Buffer {
  const manifests = images.flatMap((image) => {
    const descriptor = { mediaType: image.manifest.mediaType, digest: image.manifest.digest, size: image.manifest.size };
    if (image.tags.length === 0) return [descriptor];
    return image.tags.map((tag) => ({ ...descriptor, annotations: { [ANNOTATION_IMAGE_NAME]: tag, [ANNOTATION_REF_NAME]: refName(tag) } }));
  });
  return Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: OCI_INDEX, manifests }));
}

/** podman's and skopeo's choice for oci-archive: the whole reference. */
export const wholeReference = (tag: string): string => tag;

/** docker's and containerd's choice: the tag alone. */
export const tagOnly = (tag: string): string => parseReference(tag).tag ?? 'latest';

/**
 * The name an index.json descriptor gives its image, canonical, or undefined. containerd's
 * annotation wins; the OCI ref name counts only when it is a whole reference, since a
 * bare `latest` names no repository.
 */
export function nameFromAnnotations(annotations: Readonly<Record<string, string>> | undefined, where: string): string | undefined {
  const full = annotations?.[ANNOTATION_IMAGE_NAME] || undefined;
  const ref = annotations?.[ANNOTATION_REF_NAME];
  const name = full ?? (ref && /[/:]/.test(ref) ? ref : undefined);
  if (name === undefined) return undefined;
  let parsed;
  try {
    parsed = parseReference(name);
  } catch (error) {
    throw new TscError('invalid-content', `index.json in ${where} names an image ${JSON.stringify(name)}, which is not a valid reference`, { cause: error });
  }
  // a name by digest alone cannot become a tag
  if (parsed.tag === undefined) return undefined;
  return formatReference({ registry: parsed.registry, repository: parsed.repository, tag: parsed.tag });
}

/** Checks the `oci-layout` file. */
export function checkLayout(bytes: Uint8Array, where: string): void {
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(bytes).toString('utf8'));
  } catch {
    value = undefined;
  }
  const version = (value as { imageLayoutVersion?: unknown } | undefined)?.imageLayoutVersion;
  if (typeof version !== 'string') throw new TscError('invalid-content', `oci-layout in ${where} is not valid: it has no imageLayoutVersion`);
  if (!version.startsWith('1.')) {
    throw new TscError('unsupported', `${where} is an OCI image layout of version ${version}; tsc reads version 1`);
  }
}

/** One entry of index.json that leads to images: an image manifest, or an index to choose from. */
export interface IndexEntry {
  descriptor: Descriptor;
  kind: 'manifest' | 'index';
  /** canonical name, if the entry has one */
  name: string | undefined;
}

/** The entries of index.json that are images or indexes; other artifacts are left out. */
export function parseIndexJson(bytes: Uint8Array, where: string): IndexEntry[] {
  const index = parseManifest(bytes, OCI_INDEX, `index.json in ${where}`);
  if (index.kind !== 'index') throw new TscError('invalid-content', `index.json in ${where} is an image manifest, not an index`);
  const entries: IndexEntry[] = [];
  for (const descriptor of index.manifests) {
    const kind = IMAGE_MANIFEST_TYPES.includes(descriptor.mediaType) ? 'manifest' : INDEX_TYPES.includes(descriptor.mediaType) ? 'index' : undefined;
    if (kind) entries.push({ descriptor, kind, name: nameFromAnnotations(descriptor.annotations, where) });
  }
  return entries;
}
