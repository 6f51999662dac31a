/**
 * `tsc volume create [NAME]`: the local driver only. Options (-o) of docker's local driver
 * (type, device, o, size) mean mounting a file system, which tsc cannot do for a rootless
 * user yet: they are refused rather than ignored.
 */
import type { EngineContext } from '../context.ts';
import { TscError } from '../errors.ts';
import { transaction } from '../state/db.ts';
import { checkVolumeName, randomVolumeName } from './names.ts';
import { insertVolume, toInspect, type VolumeInspect } from './store.ts';

export interface CreateVolumeOptions {
  /** a random 64-hex name when absent */
  name?: string | undefined;
  driver?: string | undefined;
  labels?: Readonly<Record<string, string>> | undefined;
  /** driver options (-o key=value) */
  options?: Readonly<Record<string, string>> | undefined;
}

const LOCAL_OPTIONS = new Set(['type', 'device', 'o', 'size']);

export function checkCreateOptions(options: CreateVolumeOptions): void {
  const driver = options.driver ?? 'local';
  if (driver !== 'local') {
    throw new TscError('unsupported', `volume driver "${driver}" is not supported`, { hint: 'tsc has the local driver only: drop -d' });
  }
  for (const key of Object.keys(options.options ?? {})) {
    if (!LOCAL_OPTIONS.has(key)) {
      throw new TscError('invalid-argument', `invalid option key "${key}" for the local volume driver`, { hint: 'the local driver knows type, device, o and size' });
    }
    throw new TscError('unsupported', `the local driver's option "${key}" (mounting a file system as the volume) is not supported yet`, {
      hint: 'create the volume without -o; its files live in a directory under the storage root',
    });
  }
}

export async function createVolume(ctx: EngineContext, options: CreateVolumeOptions = {}): Promise<VolumeInspect> {
  checkCreateOptions(options);
  const name = options.name === undefined ? randomVolumeName() : checkVolumeName(options.name);
  const store = await ctx.store();
  const { row } = transaction(store.db, () =>
    insertVolume(store, { name, labels: { ...options.labels }, options: { ...options.options }, anonymous: false }),
  );
  return toInspect(store.root, row);
}
