/**
 * Manifests as typed values: OCI image manifests and indexes, Docker v2 schema 2
 * manifests and manifest lists. Pure: bytes in, a validated manifest or a typed error out.
 *
 * The media type comes from the document's `mediaType` field, else the Content-Type,
 * else the shape. A document may not be both a manifest and an index (`manifests` next
 * to `config`/`layers`) and its field may not contradict the Content-Type: such
 * ambiguity is how one digest could be read as two different things.
 */
import { TscError } from '../errors.ts';
import { isDigest } from '../reference/reference.ts';
import {
  DOCKER_MANIFEST_LIST,
  DOCKER_SCHEMA1,
  DOCKER_SCHEMA1_SIGNED,
  IMAGE_MANIFEST_TYPES,
  MANIFEST_TYPES,
  OCI_INDEX,
  OCI_MANIFEST,
  essence,
} from './media-types.ts';

export interface Platform {
  architecture: string;
  os: string;
  'os.version'?: string;
  'os.features'?: string[];
  variant?: string;
  features?: string[];
}

export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  urls?: string[];
  annotations?: Record<string, string>;
  /** set on index entries */
  platform?: Platform;
  artifactType?: string;
  data?: string;
}

interface ManifestCommon {
  schemaVersion: 2;
  mediaType: string;
  artifactType?: string;
  subject?: Descriptor;
  annotations?: Record<string, string>;
}

export interface ImageManifest extends ManifestCommon {
  kind: 'manifest';
  config: Descriptor;
  layers: Descriptor[];
}

export interface ImageIndex extends ManifestCommon {
  kind: 'index';
  manifests: Descriptor[];
}

export type Manifest = ImageManifest | ImageIndex;

const SCHEMA1_HINT = 'push the image again with a current docker, podman or skopeo, which write schema 2 or OCI manifests';

/**
 * Parses and validates a manifest. `contentType` is the response's Content-Type, if any;
 * `subject` names the manifest in messages (`latest of 127.0.0.1:5000/app`).
 */
export function parseManifest(bytes: Uint8Array, contentType: string | undefined, subject: string): Manifest {
  const fail = (problem: string): never => {
    throw new TscError('invalid-content', `invalid manifest ${subject}: ${problem}`);
  };
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  } catch (error) {
    return fail(`not valid json (${error instanceof Error ? error.message.toLowerCase() : 'unreadable'})`);
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) return fail('not a json object');
  const doc = json as Record<string, unknown>;

  const header = essence(contentType);
  const declared = doc.mediaType;
  if (declared !== undefined && typeof declared !== 'string') return fail('mediaType is not a string');
  if (doc.schemaVersion === 1 || [declared, header].some((t) => t === DOCKER_SCHEMA1 || t === DOCKER_SCHEMA1_SIGNED)) {
    throw new TscError('unsupported', `manifest ${subject} uses docker schema 1, which tsc does not support`, { hint: SCHEMA1_HINT });
  }
  if (declared !== undefined && MANIFEST_TYPES.includes(header) && header !== declared) {
    return fail(`it declares media type ${declared} but was served as ${header}`);
  }
  const mediaType = declared ?? (MANIFEST_TYPES.includes(header) ? header : undefined) ?? shapeType(doc);
  if (mediaType === undefined) return fail('it has no media type and is neither an image manifest nor an index');
  if (!MANIFEST_TYPES.includes(mediaType)) {
    throw new TscError('unsupported', `manifest ${subject} has the unsupported media type ${mediaType}`, {
      hint: `tsc reads ${MANIFEST_TYPES.join(', ')}`,
    });
  }
  if (doc.schemaVersion !== 2) return fail(`schemaVersion is ${JSON.stringify(doc.schemaVersion)}, expected 2`);

  const common: ManifestCommon = { schemaVersion: 2, mediaType };
  if (doc.artifactType !== undefined) common.artifactType = str(doc.artifactType, 'artifactType', fail);
  if (doc.subject !== undefined) common.subject = descriptor(doc.subject, 'subject', fail);
  if (doc.annotations !== undefined) common.annotations = stringMap(doc.annotations, 'annotations', fail);

  if (IMAGE_MANIFEST_TYPES.includes(mediaType)) {
    if (doc.manifests !== undefined) fail('an image manifest must not have "manifests"');
    if (doc.config === undefined) fail('config is missing');
    if (!Array.isArray(doc.layers)) fail('layers is missing or not an array');
    return {
      ...common,
      kind: 'manifest',
      config: descriptor(doc.config, 'config', fail),
      layers: (doc.layers as unknown[]).map((layer, i) => descriptor(layer, `layers[${i}]`, fail)),
    };
  }
  if (doc.config !== undefined || doc.layers !== undefined) fail('an index must not have "config" or "layers"');
  if (!Array.isArray(doc.manifests)) fail('manifests is missing or not an array');
  const manifests = (doc.manifests as unknown[]).map((entry, i) => {
    const d = descriptor(entry, `manifests[${i}]`, fail);
    if (mediaType === DOCKER_MANIFEST_LIST && d.platform === undefined) fail(`manifests[${i}].platform is missing`);
    return d;
  });
  return { ...common, kind: 'index', manifests };
}

function shapeType(doc: Record<string, unknown>): string | undefined {
  if (doc.manifests !== undefined && doc.config === undefined && doc.layers === undefined) return OCI_INDEX;
  if (doc.config !== undefined && doc.manifests === undefined) return OCI_MANIFEST;
  return undefined;
}

type Fail = (problem: string) => never;

function descriptor(value: unknown, at: string, fail: Fail): Descriptor {
  const d = object(value, at, fail);
  const mediaType = str(d.mediaType, `${at}.mediaType`, fail);
  if (mediaType === '') fail(`${at}.mediaType is empty`);
  const digest = str(d.digest, `${at}.digest`, fail);
  if (!isDigest(digest)) fail(`${at}.digest "${digest.slice(0, 80)}" is not a valid digest`);
  if (typeof d.size !== 'number' || !Number.isSafeInteger(d.size) || d.size < 0) fail(`${at}.size is not a non-negative integer`);
  const out: Descriptor = { mediaType, digest, size: d.size as number };
  if (d.urls !== undefined) out.urls = stringArray(d.urls, `${at}.urls`, fail);
  if (d.annotations !== undefined) out.annotations = stringMap(d.annotations, `${at}.annotations`, fail);
  if (d.platform !== undefined) out.platform = platform(d.platform, `${at}.platform`, fail);
  if (d.artifactType !== undefined) out.artifactType = str(d.artifactType, `${at}.artifactType`, fail);
  if (d.data !== undefined) out.data = str(d.data, `${at}.data`, fail);
  return out;
}

function platform(value: unknown, at: string, fail: Fail): Platform {
  const p = object(value, at, fail);
  const out: Platform = { architecture: str(p.architecture, `${at}.architecture`, fail), os: str(p.os, `${at}.os`, fail) };
  if (out.architecture === '' || out.os === '') fail(`${at} needs a non-empty os and architecture`);
  if (p.variant !== undefined) out.variant = str(p.variant, `${at}.variant`, fail);
  if (p['os.version'] !== undefined) out['os.version'] = str(p['os.version'], `${at}.os.version`, fail);
  if (p['os.features'] !== undefined) out['os.features'] = stringArray(p['os.features'], `${at}.os.features`, fail);
  if (p.features !== undefined) out.features = stringArray(p.features, `${at}.features`, fail);
  return out;
}

function object(value: unknown, at: string, fail: Fail): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) fail(`${at} is not an object`);
  return value as Record<string, unknown>;
}

function str(value: unknown, at: string, fail: Fail): string {
  if (typeof value !== 'string') fail(`${at} is ${value === undefined ? 'missing' : 'not a string'}`);
  return value as string;
}

function stringArray(value: unknown, at: string, fail: Fail): string[] {
  if (!Array.isArray(value) || !value.every((v) => typeof v === 'string')) fail(`${at} is not an array of strings`);
  return value as string[];
}

function stringMap(value: unknown, at: string, fail: Fail): Record<string, string> {
  const map = object(value, at, fail);
  for (const [key, v] of Object.entries(map)) if (typeof v !== 'string') fail(`${at}["${key}"] is not a string`);
  return map as Record<string, string>;
}

/** Whether a parsed manifest is an index (a list of per-platform manifests). */
export function isIndex(manifest: Manifest): manifest is ImageIndex {
  return manifest.kind === 'index';
}
