/**
 * The metadata database (node:sqlite): images, tags, layers, containers, volumes. There is
 * no daemon, so several tsc processes use it at once: WAL mode lets readers run while one
 * writer writes, a busy timeout queues writers instead of failing, and every multi-step
 * change runs in one IMMEDIATE transaction (taken before the first read, so two writers
 * never both decide on stale reads). Schema changes are numbered migrations recorded in
 * PRAGMA user_version.
 */
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { TscError } from '../errors.ts';

export type Database = DatabaseSync;

/** Each entry upgrades the schema by one version; never edit one that has shipped. */
const MIGRATIONS: readonly string[] = [
  `CREATE TABLE blobs (
     digest TEXT PRIMARY KEY,
     size INTEGER NOT NULL,
     media_type TEXT NOT NULL DEFAULT ''
   ) STRICT;
   CREATE TABLE images (
     id TEXT PRIMARY KEY,                 -- the config digest, as docker's image id
     manifest_digest TEXT NOT NULL,
     repo_digests TEXT NOT NULL DEFAULT '[]',
     platform TEXT NOT NULL DEFAULT '',
     created TEXT NOT NULL DEFAULT '',
     size INTEGER NOT NULL DEFAULT 0,
     added_at TEXT NOT NULL,
     -- 'pulling' while its blobs and layers arrive: it holds them against garbage
     -- collection by other processes, and is hidden from listings until complete
     state TEXT NOT NULL DEFAULT 'complete' CHECK (state IN ('pulling', 'complete'))
   ) STRICT;
   CREATE TABLE image_blobs (            -- every blob an image needs: manifest, config, layers
     image_id TEXT NOT NULL REFERENCES images(id) ON DELETE CASCADE,
     digest TEXT NOT NULL REFERENCES blobs(digest),
     PRIMARY KEY (image_id, digest)
   ) STRICT;
   CREATE INDEX image_blobs_digest ON image_blobs(digest);
   CREATE TABLE tags (
     name TEXT PRIMARY KEY,              -- the full normalised reference, registry/repo:tag
     image_id TEXT NOT NULL REFERENCES images(id) ON DELETE CASCADE,
     tagged_at TEXT NOT NULL
   ) STRICT;
   CREATE INDEX tags_image ON tags(image_id);
   CREATE TABLE layers (
     chain_id TEXT PRIMARY KEY,          -- identity of the unpacked filesystem up to this layer
     diff_id TEXT NOT NULL,              -- digest of the uncompressed layer tar
     parent TEXT REFERENCES layers(chain_id),
     blob_digest TEXT NOT NULL,
     state TEXT NOT NULL CHECK (state IN ('unpacking', 'ready')),
     size INTEGER NOT NULL DEFAULT 0
   ) STRICT;
   CREATE TABLE image_layers (
     image_id TEXT NOT NULL REFERENCES images(id) ON DELETE CASCADE,
     position INTEGER NOT NULL,
     chain_id TEXT NOT NULL REFERENCES layers(chain_id),
     PRIMARY KEY (image_id, position)
   ) STRICT;
   CREATE INDEX image_layers_chain ON image_layers(chain_id);`,
  // containers and volumes (issue 4). A container's live state (pid, exit code, restarts)
  // is written by its monitor to state.json in the container's directory; the row holds
  // what tsc decided: 'creating' while its directory is being prepared (a process killed
  // then leaves a row that system check explains and removes), 'created' until first
  // started, 'started' once a monitor owns it, 'removing' while its files go.
  `CREATE TABLE containers (
     id TEXT PRIMARY KEY,
     name TEXT NOT NULL UNIQUE,
     image_id TEXT NOT NULL REFERENCES images(id),
     image_name TEXT NOT NULL,
     created_at TEXT NOT NULL,
     state TEXT NOT NULL CHECK (state IN ('creating', 'created', 'started', 'removing')),
     owner_pid INTEGER NOT NULL DEFAULT 0,     -- the tsc process of a 'creating'/'removing' row
     config TEXT NOT NULL                      -- JSON: the container's settings (ContainerConfig)
   ) STRICT;
   CREATE INDEX containers_image ON containers(image_id);
   CREATE TABLE volumes (
     name TEXT PRIMARY KEY,
     driver TEXT NOT NULL DEFAULT 'local',
     created_at TEXT NOT NULL,
     labels TEXT NOT NULL DEFAULT '{}',
     options TEXT NOT NULL DEFAULT '{}',
     anonymous INTEGER NOT NULL DEFAULT 0
   ) STRICT;
   CREATE TABLE container_volumes (          -- which container uses which volume (rm -v, prune, in-use checks)
     container_id TEXT NOT NULL REFERENCES containers(id) ON DELETE CASCADE,
     volume TEXT NOT NULL REFERENCES volumes(name),
     destination TEXT NOT NULL,
     PRIMARY KEY (container_id, destination)
   ) STRICT;
   CREATE INDEX container_volumes_volume ON container_volumes(volume);`,
  // the build cache (issue 5): a build step's result by its cache key. The image holds
  // the step's layers (and every layer below) against removal; untagged, it is hidden from
  // `tsc images` like docker's intermediate images, and removing it forgets the entry.
  `CREATE TABLE build_cache (
     key TEXT PRIMARY KEY,
     image_id TEXT NOT NULL REFERENCES images(id) ON DELETE CASCADE,
     result TEXT NOT NULL,                     -- JSON: what the step added (build/cache.ts)
     created_at TEXT NOT NULL
   ) STRICT;
   CREATE INDEX build_cache_image ON build_cache(image_id);`,
];

export const SCHEMA_VERSION = MIGRATIONS.length;

export function openDatabase(path: string): Database {
  if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  let db: DatabaseSync;
  try {
    db = new DatabaseSync(path, { timeout: 15_000 });
  } catch (error) {
    throw new TscError('system', `cannot open the database ${path}`, { cause: error });
  }
  db.exec('PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON;');
  migrate(db, path);
  return db;
}

function migrate(db: DatabaseSync, path: string): void {
  const current = () => Number((db.prepare('PRAGMA user_version').get() as { user_version: number }).user_version);
  if (current() === SCHEMA_VERSION) return;
  transaction(db, () => {
    // re-read inside the lock: another process may have migrated meanwhile
    const version = current();
    if (version > SCHEMA_VERSION) {
      throw new TscError('unsupported', `the database ${path} has schema version ${version}, newer than this tsc knows (${SCHEMA_VERSION})`, {
        hint: 'use a newer tsc with this storage',
      });
    }
    for (let v = version; v < SCHEMA_VERSION; v++) db.exec(MIGRATIONS[v]!);
    db.exec(`PRAGMA user_version = ${SCHEMA_VERSION}`);
  });
}

/** Runs `work` in an IMMEDIATE transaction; rolls back if it throws. `work` must be synchronous. */
export function transaction<T>(db: DatabaseSync, work: () => T): T {
  db.exec('BEGIN IMMEDIATE');
  try {
    const result = work();
    db.exec('COMMIT');
    return result;
  } catch (error) {
    db.exec('ROLLBACK');
    throw error;
  }
}
