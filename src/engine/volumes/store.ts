/**
 * Volume records and directories, shared by every volume operation:
 *
 *   <storage root>/volumes/<name>/_data   what containers see (docker's layout)
 *
 * A volume is its `volumes` row plus its directory. Creation makes the directory under a
 * temporary name in <root>/tmp and renames it into place inside the same IMMEDIATE
 * transaction that inserts the row; removal renames it out to <root>/tmp first. So a
 * process killed at any point leaves either a whole volume or nothing under volumes/
 * (at most an unreferenced directory in tmp/, which `system check --repair` clears).
 */
import { randomUUID } from 'node:crypto';
import { mkdirSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import type { EngineContext } from '../context.ts';
import { errnoCode, TscError } from '../errors.ts';
import type { ImageStore } from '../images/store.ts';
import { removeTrees, type UnpackContext } from '../images/unpack.ts';
import type { Database } from '../state/db.ts';

export interface VolumeRow {
  name: string;
  driver: string;
  createdAt: string;
  labels: Record<string, string>;
  options: Record<string, string>;
  anonymous: boolean;
}

/** A container that uses a volume, from container_volumes. */
export interface VolumeUser {
  containerId: string;
  containerName: string;
  destination: string;
}

/** docker's `volume inspect` shape. */
export interface VolumeInspect {
  CreatedAt: string;
  Driver: string;
  Labels: Record<string, string>;
  Mountpoint: string;
  Name: string;
  Options: Record<string, string>;
  Scope: 'local';
}

interface RawRow {
  name: string;
  driver: string;
  created_at: string;
  labels: string;
  options: string;
  anonymous: number;
}

function fromRaw(r: RawRow): VolumeRow {
  return {
    name: r.name,
    driver: r.driver,
    createdAt: r.created_at,
    labels: JSON.parse(r.labels) as Record<string, string>,
    options: JSON.parse(r.options) as Record<string, string>,
    anonymous: r.anonymous === 1,
  };
}

export function volumesDir(root: string): string {
  return join(root, 'volumes');
}

export function volumeDir(root: string, name: string): string {
  return join(root, 'volumes', name);
}

/** What containers mount: the `_data` directory of the volume. */
export function volumeData(root: string, name: string): string {
  return join(root, 'volumes', name, '_data');
}

export function getVolume(db: Database, name: string): VolumeRow | undefined {
  const row = db.prepare('SELECT * FROM volumes WHERE name = ?').get(name) as RawRow | undefined;
  return row && fromRaw(row);
}

export function allVolumes(db: Database): VolumeRow[] {
  return (db.prepare('SELECT * FROM volumes ORDER BY name').all() as unknown as RawRow[]).map(fromRaw);
}

export function volumeUsers(db: Database, name: string): VolumeUser[] {
  return (db.prepare(
    `SELECT cv.container_id AS containerId, c.name AS containerName, cv.destination AS destination
       FROM container_volumes cv JOIN containers c ON c.id = cv.container_id
      WHERE cv.volume = ? ORDER BY c.name, cv.destination`,
  ).all(name) as unknown as VolumeUser[]);
}

/** Names of the volumes some container uses. */
export function usedVolumes(db: Database): Set<string> {
  return new Set((db.prepare('SELECT DISTINCT volume FROM container_volumes').all() as { volume: string }[]).map((r) => r.volume));
}

export function toInspect(root: string, v: VolumeRow): VolumeInspect {
  return {
    CreatedAt: v.createdAt.replace(/\.\d+Z$/, 'Z'),
    Driver: v.driver,
    Labels: v.labels,
    Mountpoint: volumeData(root, v.name),
    Name: v.name,
    Options: v.options,
    Scope: 'local',
  };
}

export interface NewVolume {
  name: string;
  labels: Record<string, string>;
  options: Record<string, string>;
  anonymous: boolean;
}

/**
 * Inserts the row and puts an empty `_data` in place. Must run inside a transaction (the
 * caller's), so the row and the directory appear together; returns the existing row
 * when the name is taken (docker: creating an existing volume is a no-op).
 */
export function insertVolume(store: ImageStore, volume: NewVolume): { row: VolumeRow; created: boolean } {
  const existing = getVolume(store.db, volume.name);
  if (existing) return { row: existing, created: false };
  const row: VolumeRow = { ...volume, driver: 'local', createdAt: new Date().toISOString() };
  const temp = join(store.tmpDir, `volume-${randomUUID()}`);
  mkdirSync(join(temp, '_data'), { recursive: true, mode: 0o755 });
  mkdirSync(volumesDir(store.root), { recursive: true, mode: 0o700 });
  const target = volumeDir(store.root, volume.name);
  try {
    renameSync(temp, target);
  } catch (error) {
    const code = errnoCode(error);
    if (code !== 'ENOTEMPTY' && code !== 'EEXIST') throw error;
    // no row but a directory: left by a create killed before its commit; we hold the
    // write lock, so nobody else is making it. Move it aside (it is cleared with tmp/).
    renameSync(target, join(store.tmpDir, `volume-stale-${randomUUID()}`));
    renameSync(temp, target);
  }
  store.db
    .prepare('INSERT INTO volumes (name, driver, created_at, labels, options, anonymous) VALUES (?, ?, ?, ?, ?, ?)')
    .run(row.name, row.driver, row.createdAt, JSON.stringify(row.labels), JSON.stringify(row.options), row.anonymous ? 1 : 0);
  return { row, created: true };
}

/**
 * Deletes the row and moves the directory out of volumes/ (inside the caller's
 * transaction); returns where it went, for `discardTrees` after the commit.
 */
export function detachVolumeRecord(store: ImageStore, name: string): string | undefined {
  store.db.prepare('DELETE FROM volumes WHERE name = ?').run(name);
  const trash = join(store.tmpDir, `volume-rm-${randomUUID()}`);
  let moved: string | undefined = trash;
  try {
    renameSync(volumeDir(store.root, name), trash);
  } catch (error) {
    if (errnoCode(error) !== 'ENOENT') throw new TscError('system', `cannot remove the directory of volume ${name}`, { cause: error });
    moved = undefined;
  }
  return moved;
}

export async function unpackContext(ctx: EngineContext): Promise<UnpackContext> {
  const [store, helper, maps] = await Promise.all([ctx.store(), ctx.helper(), ctx.maps()]);
  return { store, helper, maps };
}

/** Removes moved-out volume directories (files may belong to subordinate ids). */
export async function discardTrees(ctx: EngineContext, paths: readonly string[]): Promise<void> {
  if (paths.length === 0) return;
  await removeTrees(await unpackContext(ctx), paths);
}
