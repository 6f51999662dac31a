/**
 * `tsc volume rm [-f] NAME...`: one report per name. A volume some container uses
 * (container_volumes) is refused, naming the containers, with or without -f (as docker);
 * -f only makes a missing volume a success.
 */
import type { EngineContext } from '../context.ts';
import { TscError } from '../errors.ts';
import { transaction } from '../state/db.ts';
import { detachVolumeRecord, discardTrees, getVolume, volumeUsers, type VolumeUser } from './store.ts';

export interface VolumeRemoveReport {
  name: string;
  /** false when it did not exist (only with force) or could not be removed */
  removed: boolean;
  error?: TscError;
}

export function inUseError(name: string, users: readonly VolumeUser[]): TscError {
  const containers = [...new Map(users.map((u) => [u.containerId, u])).values()].map((u) => `${u.containerName} (${u.containerId.slice(0, 12)})`);
  return new TscError('conflict', `volume ${name} is in use by container${containers.length > 1 ? 's' : ''} ${containers.join(', ')}`, {
    hint: 'remove the container first (tsc rm), then the volume',
  });
}

export async function removeVolumes(ctx: EngineContext, names: readonly string[], options: { force?: boolean } = {}): Promise<VolumeRemoveReport[]> {
  const store = await ctx.store();
  const reports: VolumeRemoveReport[] = [];
  const trash: string[] = [];
  for (const name of names) {
    try {
      const moved = transaction(store.db, () => {
        if (!getVolume(store.db, name)) {
          if (options.force) return null;
          throw new TscError('not-found', `no such volume: ${name}`);
        }
        const users = volumeUsers(store.db, name);
        if (users.length > 0) throw inUseError(name, users);
        return detachVolumeRecord(store, name) ?? '';
      });
      if (moved) trash.push(moved);
      reports.push({ name, removed: moved !== null });
    } catch (error) {
      if (!(error instanceof TscError)) throw error;
      reports.push({ name, removed: false, error });
    }
  }
  await discardTrees(ctx, trash);
  return reports;
}
