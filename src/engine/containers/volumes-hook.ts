/** Where the container lifecycle meets volumes (src/engine/volumes, once it lands). */
import type { EngineContext } from '../context.ts';

export async function detach(ctx: EngineContext, containerId: string, removeAnonymous: boolean): Promise<void> {
  void ctx;
  void containerId;
  void removeAnonymous;
}
