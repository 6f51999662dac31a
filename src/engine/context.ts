/**
 * What every engine operation on images and containers needs, opened once per command:
 * who runs tsc, where things live, the image store, the helper binary, and (rootless)
 * the id maps. Everything is opened lazily, so commands that need little pay little.
 */
import { authFiles } from './auth/credentials.ts';
import { openImageStore, type ImageStore } from './images/store.ts';
import { storagePaths, type StoragePaths } from './paths.ts';
import { helperBinary } from './sys/helper.ts';
import { rootlessMaps, type RootlessMaps } from './sys/idmaps.ts';
import { currentIdentity, type Identity } from './sys/identity.ts';

export interface EngineContext {
  who: Identity;
  paths: StoragePaths;
  store(): Promise<ImageStore>;
  helper(): Promise<string>;
  /** undefined when running as real root (no user namespace needed) */
  maps(): Promise<RootlessMaps | undefined>;
  authFiles: { write: string; read: string[] };
  /** closes the store, after bringing the OCI layout's index.json up to date if anything changed */
  close(): Promise<void>;
}

export function openContext(who: Identity = currentIdentity()): EngineContext {
  const paths = storagePaths(who);
  let store: Promise<ImageStore> | undefined;
  let helper: Promise<string> | undefined;
  let maps: Promise<RootlessMaps | undefined> | undefined;
  return {
    who,
    paths,
    store: () => (store ??= openImageStore(paths.storageRoot)),
    helper: () => (helper ??= helperBinary(paths.runtimeDir, who.uid)),
    maps: () => (maps ??= who.uid === 0 ? Promise.resolve(undefined) : rootlessMaps(who)),
    authFiles: authFiles(who),
    close: async () => {
      const opened = await store;
      if (!opened) return;
      // whatever this command changed, the OCI layout's index.json follows
      const changed = Number((opened.db.prepare('SELECT total_changes() AS n').get() as { n: number }).n) > 0;
      try {
        if (changed) (await import('./images/oci-index.ts')).syncOciIndex(opened);
      } finally {
        opened.close();
      }
    },
  };
}
