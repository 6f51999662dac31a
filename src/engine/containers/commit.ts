/**
 * `tsc commit`: a container's changes (its overlay upper dir) as a new layer on top of its
 * image's, recorded as a new image, as docker commit makes it: the image's run
 * configuration with `--change` instructions applied, a history entry naming the
 * container's command, the author and the message. The container is not paused: a
 * container that is still writing may be caught half-way (docker pauses by default).
 */
import type { EngineContext } from '../context.ts';
import { shortName } from '../images/archive-docker.ts';
import { applyChanges } from '../images/changes.ts';
import { parseImageConfig, type ImageConfig } from '../images/config.ts';
import { tagOf } from '../images/import.ts';
import { installImage, ociManifest } from '../images/install.ts';
import { configBlob, imageLayerPlans, layerFromDirectory } from '../images/layer-ops.ts';
import { requireContainer } from './records.ts';

export interface CommitOptions {
  container: string;
  /** REPOSITORY[:TAG] */
  reference?: string | undefined;
  message?: string | undefined;
  author?: string | undefined;
  /** Dockerfile instructions for the run configuration */
  changes?: readonly string[] | undefined;
  now?: Date | undefined;
}

export interface CommitResult {
  id: string;
  tags: string[];
}

export async function commitContainer(ctx: EngineContext, options: CommitOptions): Promise<CommitResult> {
  const tags = options.reference ? [tagOf(options.reference)] : [];
  const store = await ctx.store();
  const row = requireContainer(store.db, options.container);
  const parent = parseImageConfig(await store.content.read(row.imageId), row.imageName);
  const runConfig = applyChanges(parent.config ?? {}, options.changes ?? []);
  const unpack = { store, helper: await ctx.helper(), maps: await ctx.maps() };
  const layer = await layerFromDirectory(unpack, row.config.rootfs.upper);
  const layers = [...imageLayerPlans(store, row.imageId), layer];
  const created = (options.now ?? new Date()).toISOString();
  const config: ImageConfig = {
    ...parent,
    created,
    ...(options.author ? { author: options.author } : {}),
    config: runConfig,
    rootfs: { type: 'layers', diff_ids: layers.map((l) => l.diffId) },
    history: [
      ...(parent.history ?? []),
      {
        created,
        created_by: [row.config.path, ...row.config.args].join(' '),
        ...(options.author ? { author: options.author } : {}),
        ...(options.message ? { comment: options.message } : {}),
      },
    ],
  };
  const blob = configBlob(config);
  const installed = await installImage(ctx, { id: blob.digest, config, configBlob: blob, manifest: ociManifest(blob, layers), layers, tags }, async () => undefined);
  return { id: installed.id, tags: installed.tags.map(shortName) };
}
