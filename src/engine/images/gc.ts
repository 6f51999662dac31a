/**
 * Removing an image for good: the database transaction decides what nobody needs any
 * more (records.ts removeImage), then those blobs and unpacked layers are deleted.
 */
import { removeImage, type Removal } from './records.ts';
import { removeTrees, type UnpackContext } from './unpack.ts';

export async function forgetImage(unpack: UnpackContext, id: string, inUse?: (id: string) => string | undefined): Promise<Removal> {
  const { store } = unpack;
  const removal = removeImage(store.db, id, inUse);
  await Promise.all(removal.blobs.map((d) => store.content.remove(d)));
  await removeTrees(unpack, removal.layers.map((chain) => store.layerPath(chain)));
  return removal;
}
