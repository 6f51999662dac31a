/** Where the container lifecycle meets volumes: a removed container lets go of its volumes. */
import type { EngineContext } from '../context.ts';
import { detachVolumes } from '../volumes/attach.ts';

/** Drops the container's volume links; `removeAnonymous`: also its anonymous volumes nobody else uses. */
export async function detach(ctx: EngineContext, containerId: string, removeAnonymous: boolean): Promise<void> {
  await detachVolumes(ctx, containerId, { removeAnonymous });
}
