import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { openDatabase, SCHEMA_VERSION, transaction } from '../../../src/engine/state/db.ts';
import { TscError } from '../../../src/engine/errors.ts';

const dir = mkdtempSync(join(tmpdir(), 'tsc-db-'));
after(() => rmSync(dir, { recursive: true, force: true }));

describe('openDatabase', () => {
  it('creates the schema once, in WAL mode, with foreign keys on', () => {
    const path = join(dir, 'a', 'tsc.db');
    const db = openDatabase(path);
    assert.equal((db.prepare('PRAGMA user_version').get() as { user_version: number }).user_version, SCHEMA_VERSION);
    assert.equal((db.prepare('PRAGMA journal_mode').get() as { journal_mode: string }).journal_mode, 'wal');
    assert.equal((db.prepare('PRAGMA foreign_keys').get() as { foreign_keys: number }).foreign_keys, 1);
    db.close();
    const again = openDatabase(path);
    const tables = again.prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").all().map((r) => r.name);
    assert.deepEqual(tables, ['blobs', 'build_cache', 'container_volumes', 'containers', 'image_blobs', 'image_layers', 'images', 'layers', 'tags', 'volumes']);
    again.close();
  });

  it('refuses a database from a newer tsc', () => {
    const path = join(dir, 'newer.db');
    const db = openDatabase(path);
    db.exec(`PRAGMA user_version = ${SCHEMA_VERSION + 5}`);
    db.close();
    assert.throws(() => openDatabase(path), (e: unknown) => e instanceof TscError && e.code === 'unsupported' && /newer than this tsc/.test(e.message));
  });
});

describe('transaction', () => {
  it('commits, or rolls back everything when the work throws', () => {
    const db = openDatabase(join(dir, 't.db'));
    transaction(db, () => db.prepare('INSERT INTO blobs (digest, size) VALUES (?, ?)').run('sha256:a', 1));
    assert.throws(() =>
      transaction(db, () => {
        db.prepare('INSERT INTO blobs (digest, size) VALUES (?, ?)').run('sha256:b', 2);
        throw new Error('boom');
      }),
    );
    assert.deepEqual(db.prepare('SELECT digest FROM blobs').all().map((r) => r.digest), ['sha256:a']);
    db.close();
  });

  it('lets a reader see committed data while another connection holds a write transaction', () => {
    const path = join(dir, 'c.db');
    const writer = openDatabase(path);
    const reader = openDatabase(path);
    transaction(writer, () => writer.prepare('INSERT INTO blobs (digest, size) VALUES (?, ?)').run('sha256:x', 1));
    writer.exec('BEGIN IMMEDIATE');
    writer.prepare('INSERT INTO blobs (digest, size) VALUES (?, ?)').run('sha256:y', 1);
    // WAL: the read does not wait for the writer and sees only committed rows
    assert.deepEqual(reader.prepare('SELECT digest FROM blobs ORDER BY digest').all().map((r) => r.digest), ['sha256:x']);
    writer.exec('COMMIT');
    assert.equal(reader.prepare('SELECT count(*) AS n FROM blobs').get()!.n, 2);
    writer.close();
    reader.close();
  });

  it('enforces references between tables', () => {
    const db = openDatabase(join(dir, 'fk.db'));
    assert.throws(() => db.prepare("INSERT INTO tags (name, image_id, tagged_at) VALUES ('x', 'sha256:none', 'now')").run(), /FOREIGN KEY/);
    db.close();
  });
});

describe('migrations', () => {
  it('upgrades a schema-1 database with its images in place', () => {
    const path = join(dir, 'v1.db');
    const db = openDatabase(path);
    db.exec("INSERT INTO images (id, manifest_digest, added_at) VALUES ('sha256:a', 'sha256:m', 'now')");
    // pretend it was written by the first release: drop what schema 2 added
    db.exec('DROP TABLE build_cache; DROP TABLE container_volumes; DROP TABLE containers; DROP TABLE volumes; PRAGMA user_version = 1');
    db.close();
    const again = openDatabase(path);
    assert.equal((again.prepare('PRAGMA user_version').get() as { user_version: number }).user_version, SCHEMA_VERSION);
    assert.equal(again.prepare('SELECT count(*) AS n FROM images').get()!.n, 1);
    again.exec("INSERT INTO containers (id, name, image_id, image_name, created_at, state, config) VALUES ('c', 'n', 'sha256:a', 'x', 'now', 'created', '{}')");
    assert.throws(() => again.exec("DELETE FROM images WHERE id = 'sha256:a'"), /FOREIGN KEY/);
    again.close();
  });

  it('forgets a build cache entry with the image that holds it', () => {
    const db = openDatabase(join(dir, 'cache.db'));
    db.exec("INSERT INTO images (id, manifest_digest, added_at) VALUES ('sha256:c', 'sha256:m', 'now')");
    db.exec("INSERT INTO build_cache (key, image_id, result, created_at) VALUES ('k', 'sha256:c', '{}', 'now')");
    db.exec("DELETE FROM images WHERE id = 'sha256:c'");
    assert.equal(db.prepare('SELECT count(*) AS n FROM build_cache').get()!.n, 0);
    db.close();
  });
});
