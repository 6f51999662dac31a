/** `tsc image inspect` (docker-shaped) and `tsc history`, read from the stored config. */
import type { EngineContext } from '../context.ts';
import { TscError } from '../errors.ts';
import { familiarName, parseReference } from '../reference/reference.ts';
import { parseImageConfig, type ImageConfig } from './config.ts';
import { humanSize, since } from './present.ts';
import { imageLayers, type ImageRecord } from './records.ts';
import { requireImage } from './resolve.ts';
import type { ImageStore } from './store.ts';

export interface ImageInspect {
  Id: string;
  RepoTags: string[];
  RepoDigests: string[];
  Created: string;
  Author: string;
  Config: ImageConfig['config'];
  Architecture: string;
  Os: string;
  Variant?: string;
  Size: number;
  RootFS: { Type: string; Layers: string[] };
  Metadata: { LastTagTime: string };
}

export interface InspectReport {
  reference: string;
  image?: ImageInspect;
  error?: { code: string; message: string; hint?: string | undefined };
}

export async function inspectImages(ctx: EngineContext, references: readonly string[]): Promise<InspectReport[]> {
  const store = await ctx.store();
  const reports: InspectReport[] = [];
  for (const reference of references) {
    try {
      const { image } = requireImage(store.db, reference);
      const config = await loadConfig(store, image);
      reports.push({
        reference,
        image: {
          Id: image.id,
          RepoTags: image.tags.map(displayTag),
          RepoDigests: image.repoDigests.map(displayDigest),
          Created: config.created ?? '',
          Author: config.author ?? '',
          Config: config.config ?? {},
          Architecture: config.architecture,
          Os: config.os,
          ...(config.variant ? { Variant: config.variant } : {}),
          Size: image.size,
          RootFS: { Type: 'layers', Layers: config.rootfs.diff_ids },
          Metadata: { LastTagTime: image.addedAt },
        },
      });
    } catch (error) {
      if (!(error instanceof TscError)) throw error;
      reports.push({ reference, error: { code: error.code, message: error.message, hint: error.hint } });
    }
  }
  return reports;
}

export interface HistoryRow {
  ID: string;
  CreatedAt: string;
  CreatedSince: string;
  CreatedBy: string;
  Size: string;
  Comment: string;
}

/** Newest first, as docker prints it; entries without a layer show size 0B. */
export async function imageHistory(ctx: EngineContext, reference: string, now = Date.now()): Promise<HistoryRow[]> {
  const store = await ctx.store();
  const { image } = requireImage(store.db, reference);
  const config = await loadConfig(store, image);
  const layers = imageLayers(store.db, image.id);
  let layer = 0;
  const rows: HistoryRow[] = (config.history ?? []).map((h) => {
    const size = h.empty_layer ? 0 : (layers[layer++]?.size ?? 0);
    return {
      ID: '<missing>',
      CreatedAt: h.created ?? '',
      CreatedSince: h.created ? since(Date.parse(h.created), now) : 'N/A',
      CreatedBy: h.created_by ?? '',
      Size: humanSize(size),
      Comment: h.comment ?? '',
    };
  });
  if (rows.length === 0) {
    rows.push(...layers.map(() => ({ ID: '<missing>', CreatedAt: '', CreatedSince: 'N/A', CreatedBy: '', Size: '0B', Comment: '' })));
  }
  rows.reverse();
  if (rows[0]) rows[0].ID = image.id;
  return rows;
}

async function loadConfig(store: ImageStore, image: ImageRecord): Promise<ImageConfig> {
  return parseImageConfig(await store.content.read(image.id), image.tags[0] ?? image.id);
}

function displayTag(name: string): string {
  const ref = parseReference(name);
  return `${familiarName({ registry: ref.registry, repository: ref.repository })}:${ref.tag}`;
}

function displayDigest(repoDigest: string): string {
  const [name, digest] = repoDigest.split('@') as [string, string];
  const ref = parseReference(name);
  return `${familiarName({ registry: ref.registry, repository: ref.repository })}@${digest}`;
}
