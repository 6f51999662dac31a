/**
 * The local image store: the metadata database, the content store and the unpacked
 * layers, all under the user's storage root:
 *
 *   <root>/tsc.db            metadata (src/engine/state/db.ts)
 *   <root>/oci/              blobs by digest, an OCI image layout (src/engine/content)
 *   <root>/layers/<hex>/     one unpacked layer per ChainID
 *   <root>/tmp/              scratch space on the same filesystem (for atomic renames)
 */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { ContentStore } from '../content/store.ts';
import { parseDigest } from '../reference/digest.ts';
import { openDatabase, type Database } from '../state/db.ts';

export interface ImageStore {
  root: string;
  db: Database;
  content: ContentStore;
  layersDir: string;
  tmpDir: string;
  /** directory of the unpacked layer with this ChainID */
  layerPath(chainId: string): string;
  close(): void;
}

export async function openImageStore(root: string): Promise<ImageStore> {
  await mkdir(root, { recursive: true, mode: 0o700 });
  const layersDir = join(root, 'layers');
  const tmpDir = join(root, 'tmp');
  await Promise.all([mkdir(layersDir, { recursive: true, mode: 0o700 }), mkdir(tmpDir, { recursive: true, mode: 0o700 })]);
  const content = new ContentStore(join(root, 'oci'));
  await content.init();
  const db = openDatabase(join(root, 'tsc.db'));
  return {
    root,
    db,
    content,
    layersDir,
    tmpDir,
    layerPath: (chainId) => join(layersDir, parseDigest(chainId).hex),
    close: () => db.close(),
  };
}
