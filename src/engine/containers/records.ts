/**
 * Container rows in the database (schema 2) and finding a container the way docker does:
 * by full id, by name, then by a unique id prefix.
 */
import type { Database } from '../state/db.ts';
import { transaction } from '../state/db.ts';
import { TscError } from '../errors.ts';
import type { StorageDriver } from './driver.ts';
import { generateName, validateName } from './names.ts';

export type RowState = 'creating' | 'created' | 'started' | 'removing';

export type RestartPolicyName = 'no' | 'always' | 'unless-stopped' | 'on-failure';

export interface RestartPolicy {
  name: RestartPolicyName;
  /** on-failure: at most this many restarts (0: no limit) */
  maximumRetryCount: number;
}

export interface PortBinding {
  hostIp: string;
  hostPort: number;
  containerPort: number;
  protocol: 'tcp' | 'udp' | 'sctp';
}

export interface ContainerMount {
  type: 'bind' | 'volume' | 'tmpfs';
  /** the volume's name, or the host path of a bind */
  name?: string;
  source: string;
  destination: string;
  readonly: boolean;
}

/** What tsc decided at create time; the OCI spec itself is config.json in the container's directory. */
export interface ContainerConfig {
  /** the image as the user named it */
  image: string;
  /** the program and its arguments, as resolved from the image and the flags */
  path: string;
  args: string[];
  env: string[];
  workdir: string;
  user: string;
  hostname: string;
  labels: Record<string, string>;
  tty: boolean;
  /** -i: stdin kept open for attach clients */
  openStdin: boolean;
  autoRemove: boolean;
  restart: RestartPolicy;
  network: string;
  ports: PortBinding[];
  /** what the monitor runs to connect the container (pasta, slirp4netns), and --network host */
  networkHook?: { argv: string[]; readyFd?: number | undefined } | undefined;
  shareNet?: boolean | undefined;
  /** the image's exposed ports, for inspect */
  exposedPorts?: string[] | undefined;
  mounts: ContainerMount[];
  /** bytes; 0 = no cap */
  logMaxSize: number;
  stopSignal: string;
  /** seconds */
  stopTimeout: number;
  init: boolean;
  /** the container's cgroup v2 directory, when it gets one */
  cgroup?: string | undefined;
  /**
   * The host paths the monitor needs. overlay, fuse-overlayfs: the image's layers (topmost
   * first) under the container's upper and work directories. vfs: `upper` is the
   * container's own full copy (its rootfs directory), `lowers` the layers it was copied
   * from (for lookups), `work` unused.
   */
  rootfs: { lowers: string[]; upper: string; work: string };
  /** how the root file system is made (driver.ts); absent in records older than drivers: overlay */
  driver?: StorageDriver | undefined;
  readOnly: boolean;
  /** notes about flags accepted but not enforced, shown by create/run and inspect */
  notes: string[];
}

export interface ContainerRow {
  id: string;
  name: string;
  imageId: string;
  imageName: string;
  createdAt: string;
  state: RowState;
  ownerPid: number;
  config: ContainerConfig;
}

interface RawRow {
  id: string;
  name: string;
  image_id: string;
  image_name: string;
  created_at: string;
  state: RowState;
  owner_pid: number;
  config: string;
}

function fromRaw(raw: RawRow): ContainerRow {
  return {
    id: raw.id,
    name: raw.name,
    imageId: raw.image_id,
    imageName: raw.image_name,
    createdAt: raw.created_at,
    state: raw.state,
    ownerPid: Number(raw.owner_pid),
    config: JSON.parse(raw.config) as ContainerConfig,
  };
}

const COLUMNS = 'id, name, image_id, image_name, created_at, state, owner_pid, config';

export function allContainers(db: Database): ContainerRow[] {
  return (db.prepare(`SELECT ${COLUMNS} FROM containers ORDER BY created_at DESC, id`).all() as unknown as RawRow[]).map(fromRaw);
}

export function getContainer(db: Database, id: string): ContainerRow | undefined {
  const raw = db.prepare(`SELECT ${COLUMNS} FROM containers WHERE id = ?`).get(id) as RawRow | undefined;
  return raw ? fromRaw(raw) : undefined;
}

/**
 * A container by full id, exact name, or unique id prefix (docker's order). Rows still
 * being created are not found (they are not containers yet).
 */
export function findContainer(db: Database, ref: string): ContainerRow | undefined {
  const name = ref.startsWith('/') ? ref.slice(1) : ref;
  let raw = db.prepare(`SELECT ${COLUMNS} FROM containers WHERE (id = ? OR name = ?) AND state != 'creating'`).get(ref, name) as RawRow | undefined;
  if (!raw && /^[0-9a-f]{1,63}$/.test(ref)) {
    const matches = db.prepare(`SELECT ${COLUMNS} FROM containers WHERE id LIKE ? AND state != 'creating' LIMIT 2`).all(`${ref}%`) as unknown as RawRow[];
    if (matches.length > 1) throw new TscError('conflict', `container id prefix ${ref} is ambiguous`, { hint: 'give more characters of the id, or the name' });
    raw = matches[0];
  }
  return raw ? fromRaw(raw) : undefined;
}

export function requireContainer(db: Database, ref: string): ContainerRow {
  const found = findContainer(db, ref);
  if (!found) throw new TscError('not-found', `no such container: ${ref}`, { hint: 'tsc ps -a lists the containers' });
  return found;
}

export interface NewContainer {
  id: string;
  name?: string | undefined;
  imageId: string;
  imageName: string;
  config: ContainerConfig;
}

/** Inserts a 'creating' row owned by this process; picks a name when none is given. */
export function insertContainer(db: Database, entry: NewContainer, now: string): string {
  return transaction(db, () => {
    const taken = (n: string) => db.prepare('SELECT 1 FROM containers WHERE name = ?').get(n) !== undefined;
    let name: string;
    if (entry.name !== undefined) {
      name = validateName(entry.name);
      const other = db.prepare('SELECT id FROM containers WHERE name = ?').get(name) as { id: string } | undefined;
      if (other) {
        throw new TscError('conflict', `the container name "${name}" is already in use by container ${other.id.slice(0, 12)}`, {
          hint: 'remove (or rename) that container, or choose another name',
        });
      }
    } else {
      name = generateName(taken);
    }
    db.prepare(`INSERT INTO containers (${COLUMNS}) VALUES (?, ?, ?, ?, ?, 'creating', ?, ?)`).run(
      entry.id, name, entry.imageId, entry.imageName, now, process.pid, JSON.stringify(entry.config),
    );
    return name;
  });
}

export function setRowState(db: Database, id: string, state: RowState, from?: readonly RowState[]): boolean {
  const result = from
    ? db.prepare(`UPDATE containers SET state = ?, owner_pid = ? WHERE id = ? AND state IN (${from.map(() => '?').join(', ')})`).run(state, process.pid, id, ...from)
    : db.prepare('UPDATE containers SET state = ?, owner_pid = ? WHERE id = ?').run(state, process.pid, id);
  return Number(result.changes) > 0;
}

export function updateConfig(db: Database, id: string, config: ContainerConfig): void {
  db.prepare('UPDATE containers SET config = ? WHERE id = ?').run(JSON.stringify(config), id);
}

export function renameContainer(db: Database, id: string, name: string): void {
  const valid = validateName(name);
  transaction(db, () => {
    const other = db.prepare('SELECT id FROM containers WHERE name = ? AND id != ?').get(valid, id) as { id: string } | undefined;
    if (other) throw new TscError('conflict', `the container name "${valid}" is already in use by container ${other.id.slice(0, 12)}`);
    db.prepare('UPDATE containers SET name = ? WHERE id = ?').run(valid, id);
  });
}

export function deleteContainerRow(db: Database, id: string): void {
  db.prepare('DELETE FROM containers WHERE id = ?').run(id);
}
