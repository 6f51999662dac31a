/**
 * Volumes on the container's path (called by the container lifecycle, not by commands):
 * `attachVolumes` before the spec is built, `detachVolumes` when the container goes.
 *
 * attach, in one transaction: named volumes that do not exist are created, every
 * anonymous mount (-v /path, an image VOLUME) gets a new anonymous volume (random name,
 * anonymous=1 and docker's `com.docker.volume.anonymous` label), and a container_volumes
 * row links each to the container (whose row must exist). Then, docker's rule: unless
 * nocopy, a volume that is empty is filled from the image's content at the destination.
 */
import type { EngineContext } from '../context.ts';
import { TscError } from '../errors.ts';
import type { MountRequest } from '../runtime/spec/mounts.ts';
import { transaction } from '../state/db.ts';
import { ANONYMOUS_LABEL, checkVolumeName, randomVolumeName } from './names.ts';
import { populateVolume, type PopulateReport } from './populate.ts';
import { detachVolumeRecord, discardTrees, getVolume, insertVolume, unpackContext, volumeData, volumeDir } from './store.ts';

export interface AttachVolumesOptions {
  containerId: string;
  /** the container's mount requests; only kind 'volume' ones are used */
  requests: readonly MountRequest[];
  /** host directories of the image's layers (overlay format), topmost first */
  imageLayersTopFirst: readonly string[];
  /** told what each fill did (entries copied, what could not be copied) */
  onPopulated?: ((volume: string, destination: string, report: PopulateReport) => void) | undefined;
}

/**
 * Returns buildSpec's `volumeSources`: the host directory of each named volume by name
 * and of each anonymous volume by its container path.
 */
export async function attachVolumes(ctx: EngineContext, options: AttachVolumesOptions): Promise<Record<string, string>> {
  const requests = options.requests.filter((r) => r.kind === 'volume');
  const store = await ctx.store();
  const attached = transaction(store.db, () => {
    if (!store.db.prepare('SELECT 1 FROM containers WHERE id = ?').get(options.containerId)) {
      throw new TscError('internal', `attaching volumes to container ${options.containerId}, which has no record`);
    }
    const link = store.db.prepare('INSERT INTO container_volumes (container_id, volume, destination) VALUES (?, ?, ?)');
    return requests.map((r) => {
      const anonymous = r.source === undefined;
      const name = anonymous ? randomVolumeName() : checkVolumeName(r.source!);
      insertVolume(store, { name, labels: anonymous ? { [ANONYMOUS_LABEL]: '' } : {}, options: {}, anonymous });
      link.run(options.containerId, name, r.destination);
      return { request: r, name };
    });
  });
  const sources: Record<string, string> = {};
  let unpack;
  for (const { request, name } of attached) {
    sources[request.source ?? request.destination] = volumeData(store.root, name);
    if (request.nocopy) continue;
    unpack ??= await unpackContext(ctx);
    const report = await populateVolume(unpack, { layersTopFirst: options.imageLayersTopFirst, destination: request.destination, volumeDir: volumeDir(store.root, name) });
    options.onPopulated?.(name, request.destination, report);
  }
  return sources;
}

export interface DetachVolumesOptions {
  /** also remove the container's anonymous volumes no other container uses (rm -v, --rm) */
  removeAnonymous: boolean;
}

/**
 * Unlinks the container from its volumes; with removeAnonymous its anonymous volumes go
 * too (docker's `rm -v` and `--rm`); named volumes always stay. Returns the volumes removed.
 */
export async function detachVolumes(ctx: EngineContext, containerId: string, options: DetachVolumesOptions): Promise<string[]> {
  const store = await ctx.store();
  const { removed, trash } = transaction(store.db, () => {
    const names = (store.db.prepare('SELECT DISTINCT volume FROM container_volumes WHERE container_id = ?').all(containerId) as { volume: string }[]).map((r) => r.volume);
    store.db.prepare('DELETE FROM container_volumes WHERE container_id = ?').run(containerId);
    const removed: string[] = [];
    const trash: string[] = [];
    if (!options.removeAnonymous) return { removed, trash };
    for (const name of names) {
      if (!getVolume(store.db, name)?.anonymous) continue;
      if (store.db.prepare('SELECT 1 FROM container_volumes WHERE volume = ?').get(name)) continue;
      const moved = detachVolumeRecord(store, name);
      if (moved) trash.push(moved);
      removed.push(name);
    }
    return { removed, trash };
  });
  await discardTrees(ctx, trash);
  return removed;
}

/** A volume a container uses, for `inspect`'s Mounts and for `rm -v` reports. */
export interface ContainerVolume {
  name: string;
  destination: string;
  /** the host directory (`_data`) */
  source: string;
  anonymous: boolean;
}

export async function containerVolumes(ctx: EngineContext, containerId: string): Promise<ContainerVolume[]> {
  const store = await ctx.store();
  const rows = store.db
    .prepare('SELECT cv.volume AS name, cv.destination AS destination, v.anonymous AS anonymous FROM container_volumes cv JOIN volumes v ON v.name = cv.volume WHERE cv.container_id = ? ORDER BY cv.destination')
    .all(containerId) as { name: string; destination: string; anonymous: number }[];
  return rows.map((r) => ({ name: r.name, destination: r.destination, source: volumeData(store.root, r.name), anonymous: r.anonymous === 1 }));
}
