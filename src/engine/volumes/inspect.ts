/** `tsc volume inspect NAME...`: docker's JSON, one report per name. */
import type { EngineContext } from '../context.ts';
import { TscError } from '../errors.ts';
import { getVolume, toInspect, type VolumeInspect } from './store.ts';

export interface VolumeInspectReport {
  name: string;
  volume?: VolumeInspect;
  error?: TscError;
}

export async function inspectVolumes(ctx: EngineContext, names: readonly string[]): Promise<VolumeInspectReport[]> {
  const store = await ctx.store();
  return names.map((name) => {
    const row = getVolume(store.db, name);
    return row ? { name, volume: toInspect(store.root, row) } : { name, error: new TscError('not-found', `no such volume: ${name}`) };
  });
}
