/**
 * The image configuration blob (OCI image-spec config.md; Docker's image JSON is the
 * same shape): what a container runs by default and the DiffIDs of the layers. Parsed
 * strictly enough that a malformed config fails with a message naming the field, and
 * loosely enough that every real-world config (null lists, missing optional fields) loads.
 */
import { TscError } from '../errors.ts';
import { isDigest } from '../reference/digest.ts';

export interface RunConfig {
  User?: string;
  ExposedPorts?: Record<string, object>;
  Env?: string[];
  Entrypoint?: string[] | null;
  Cmd?: string[] | null;
  Volumes?: Record<string, object>;
  WorkingDir?: string;
  Labels?: Record<string, string>;
  StopSignal?: string;
  Healthcheck?: { Test?: string[]; Interval?: number; Timeout?: number; StartPeriod?: number; StartInterval?: number; Retries?: number };
  OnBuild?: string[] | null;
  Shell?: string[];
}

export interface HistoryEntry {
  created?: string;
  created_by?: string;
  author?: string;
  comment?: string;
  empty_layer?: boolean;
}

export interface ImageConfig {
  created?: string;
  author?: string;
  architecture: string;
  os: string;
  variant?: string;
  config?: RunConfig;
  rootfs: { type: 'layers'; diff_ids: string[] };
  history?: HistoryEntry[];
}

/** Parses config bytes; `where` names the image for error messages. */
export function parseImageConfig(bytes: Uint8Array, where: string): ImageConfig {
  const fail = (reason: string): never => {
    throw new TscError('invalid-content', `invalid image config of ${where}: ${reason}`);
  };
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(bytes).toString('utf8'));
  } catch (error) {
    return fail(`not JSON (${(error as Error).message})`);
  }
  if (!isObject(value)) return fail('not a JSON object');
  const architecture = value.architecture;
  const os = value.os;
  if (typeof architecture !== 'string' || architecture === '') fail('architecture is missing');
  if (typeof os !== 'string' || os === '') fail('os is missing');
  const rootfs = value.rootfs;
  if (!isObject(rootfs) || rootfs.type !== 'layers') fail('rootfs.type must be "layers"');
  const diffIds = (rootfs as Record<string, unknown>).diff_ids;
  if (!Array.isArray(diffIds)) return fail('rootfs.diff_ids is missing');
  diffIds.forEach((d, i) => {
    if (typeof d !== 'string' || !isDigest(d)) fail(`rootfs.diff_ids[${i}] is not a digest`);
  });
  if (value.config !== undefined && value.config !== null && !isObject(value.config)) fail('config must be an object');
  for (const key of ['Env', 'Entrypoint', 'Cmd'] as const) {
    const list = isObject(value.config) ? value.config[key] : undefined;
    if (list !== undefined && list !== null && !(Array.isArray(list) && list.every((s) => typeof s === 'string'))) {
      fail(`config.${key} must be a list of strings`);
    }
  }
  if (value.history !== undefined && value.history !== null && !Array.isArray(value.history)) fail('history must be a list');
  return {
    ...(value as unknown as ImageConfig),
    config: (isObject(value.config) ? value.config : {}) as RunConfig,
    history: (Array.isArray(value.history) ? value.history : []) as HistoryEntry[],
  };
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
