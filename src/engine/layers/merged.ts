/**
 * A container's file system as overlayfs shows it, read from its layer directories
 * (topmost first: the upper dir, then the image's layers) without mounting anything: the
 * topmost layer holding a path wins, a whiteout hides the path in the layers below, an
 * opaque directory hides everything below it. Used by `tsc export` (the merged tree as a
 * tar) and `tsc diff` (which paths the upper dir adds, changes or deletes).
 */
import type { Stats } from 'node:fs';
import { join } from 'node:path';
import { lstat, readdir } from 'node:fs/promises';
import { errnoCode } from '../errors.ts';
import { isOpaque, isRuntimeMountPoint, isWhiteout, planEntries, readNode, withBody, type FsNode, type XattrReader } from './diff.ts';
import { OPAQUE_MARKER, WHITEOUT_PREFIX } from './entry-paths.ts';
import type { TarWriteEntry } from './tar-write.ts';

export interface MergedNode {
  node: FsNode;
  /** the host path it is read from */
  host: string;
}

async function exists(path: string): Promise<Stats | undefined> {
  try {
    return await lstat(path);
  } catch (error) {
    if (errnoCode(error) === 'ENOENT' || errnoCode(error) === 'ENOTDIR') return undefined;
    throw error;
  }
}

/** A `.wh.` name or the opaque marker: a whiteout stored the OCI way (fuse-overlayfs may use these). */
function isMarkerName(name: string): boolean {
  return name.startsWith(WHITEOUT_PREFIX);
}

/** The names directory `rel` holds in the merged view, each with the topmost layer that has it. */
async function mergedChildren(layersTopFirst: readonly string[], rel: string, readXattrs: XattrReader): Promise<Map<string, number>> {
  const found = new Map<string, number>();
  const hidden = new Set<string>();
  for (let i = 0; i < layersTopFirst.length; i++) {
    const layer = layersTopFirst[i]!;
    const s = await exists(rel === '' ? layer : join(layer, rel));
    if (!s) continue;
    if (!s.isDirectory()) break; // a file or a whiteout here hides the lower directories
    const names = await readdir(rel === '' ? layer : join(layer, rel));
    for (const name of names) {
      if (name === OPAQUE_MARKER) continue;
      if (name.startsWith(WHITEOUT_PREFIX)) {
        hidden.add(name.slice(WHITEOUT_PREFIX.length));
        continue;
      }
      if (found.has(name) || hidden.has(name)) continue;
      found.set(name, i);
    }
    if (names.includes(OPAQUE_MARKER)) break;
    if (rel !== '' && isOpaque(await readNode(layer, rel, readXattrs))) break;
  }
  return found;
}

function byteOrder(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a), Buffer.from(b));
}

/** Every path of the merged tree below `rel`, in byte order, a directory before its contents. */
export async function* walkMerged(layersTopFirst: readonly string[], readXattrs: XattrReader, rel = ''): AsyncGenerator<MergedNode> {
  const children = await mergedChildren(layersTopFirst, rel, readXattrs);
  for (const name of [...children.keys()].sort(byteOrder)) {
    const path = rel === '' ? name : `${rel}/${name}`;
    const layer = layersTopFirst[children.get(name)!]!;
    const node = await readNode(layer, path, readXattrs);
    if (isWhiteout(node)) continue;
    yield { node, host: join(layer, path) };
    if (node.type === 'directory') yield* walkMerged(layersTopFirst, readXattrs, path);
  }
}

/** The merged tree as tar entries (whiteouts applied, overlay xattrs dropped). */
export async function* mergedEntries(layersTopFirst: readonly string[], readXattrs: XattrReader): AsyncGenerator<TarWriteEntry> {
  const links = new Map<string, string>();
  for await (const { node, host } of walkMerged(layersTopFirst, readXattrs)) {
    // opacity is a layer matter: the merged tree has none
    const plain: FsNode = node.type === 'directory' ? { ...node, xattrs: new Map([...node.xattrs].filter(([n]) => !n.endsWith('overlay.opaque'))) } : node;
    for (const entry of planEntries(plain, links)) yield withBody(entry, host);
  }
}

export type ChangeKind = 'A' | 'C' | 'D';

export interface Change {
  kind: ChangeKind;
  /** absolute path in the container */
  path: string;
}

/** Whether `rel` exists in the merged view of `layersTopFirst`. */
async function inLayers(layersTopFirst: readonly string[], rel: string): Promise<boolean> {
  for (const layer of layersTopFirst) {
    const s = await exists(join(layer, rel));
    if (s) return !(s.isCharacterDevice() && s.rdev === 0);
    const [dir, base] = rel.includes('/') ? [rel.slice(0, rel.lastIndexOf('/')), rel.slice(rel.lastIndexOf('/') + 1)] : ['', rel];
    if (await exists(join(layer, dir, `${WHITEOUT_PREFIX}${base}`))) return false;
  }
  return false;
}

/**
 * What the upper dir changed against the image's layers, as docker diff lists it: `A` a
 * path the image does not have, `C` one it has (a directory in the upper dir counts as
 * changed), `D` one it had and the container deleted. Sorted by path.
 */
export async function upperChanges(upper: string, lowersTopFirst: readonly string[], readXattrs: XattrReader): Promise<Change[]> {
  const changes: Change[] = [];
  const skipBelow: string[] = [];
  const walk = async (rel: string): Promise<void> => {
    const names = (await readdir(rel === '' ? upper : join(upper, rel))).sort(byteOrder);
    for (const name of names) {
      const path = rel === '' ? name : `${rel}/${name}`;
      const node = await readNode(upper, path, readXattrs);
      if (isMarkerName(name)) {
        if (name !== OPAQUE_MARKER) changes.push({ kind: 'D', path: `/${rel === '' ? '' : `${rel}/`}${name.slice(WHITEOUT_PREFIX.length)}` });
        continue;
      }
      if (isRuntimeMountPoint(node)) continue;
      if (isWhiteout(node)) {
        changes.push({ kind: 'D', path: `/${path}` });
        continue;
      }
      const inLower = !skipBelow.some((p) => path.startsWith(`${p}/`)) && (await inLayers(lowersTopFirst, path));
      const at = changes.length;
      changes.push({ kind: inLower ? 'C' : 'A', path: `/${path}` });
      if (node.type === 'directory') {
        if (isOpaque(node) && inLower) {
          // the lower directory's contents are gone, except what the upper dir has again
          const upperNames = new Set(await readdir(join(upper, path)));
          for await (const lower of walkMerged(lowersTopFirst, readXattrs, path)) {
            const top = lower.node.path.slice(path.length + 1).split('/')[0]!;
            if (!upperNames.has(top) && !lower.node.path.slice(path.length + 1).includes('/')) changes.push({ kind: 'D', path: `/${lower.node.path}` });
          }
          skipBelow.push(path);
        }
        const children = await readdir(join(upper, path));
        await walk(path);
        // a directory the container did not touch but for the runtime's mount points is no change
        if (inLower && children.length > 0 && changes.length === at + 1 && !isOpaque(node)) changes.splice(at, 1);
      }
    }
  };
  await walk('');
  return changes.sort((a, b) => byteOrder(a.path, b.path));
}

/**
 * Several layers (overlay format, topmost first) as one layer's tar entries, as if their
 * changes had been made at once (`build --squash`): the topmost version of each path; a
 * whiteout that no layer above fills again stays a whiteout; a directory is opaque when a
 * layer hides what is below it there (an opaque directory, or one that replaced a file or
 * a deleted path).
 */
export async function* squashedEntries(layersTopFirst: readonly string[], readXattrs: XattrReader): AsyncGenerator<TarWriteEntry> {
  const links = new Map<string, string>();
  yield* squashDir(layersTopFirst, readXattrs, '', links);
}

async function* squashDir(layers: readonly string[], readXattrs: XattrReader, rel: string, links: Map<string, string>): AsyncGenerator<TarWriteEntry> {
  const owner = new Map<string, number>();
  for (let i = 0; i < layers.length; i++) {
    const dir = rel === '' ? layers[i]! : join(layers[i]!, rel);
    const s = await exists(dir);
    if (!s) continue;
    if (!s.isDirectory()) break;
    for (const name of await readdir(dir)) if (!owner.has(name)) owner.set(name, i);
    if (rel !== '' && isOpaque(await readNode(layers[i]!, rel, readXattrs))) break;
  }
  for (const name of [...owner.keys()].sort(byteOrder)) {
    const path = rel === '' ? name : `${rel}/${name}`;
    const top = owner.get(name)!;
    const node = await readNode(layers[top]!, path, readXattrs);
    if (node.type !== 'directory') {
      for (const entry of planEntries(node, links)) yield withBody(entry, join(layers[top]!, path));
      continue;
    }
    // the layers that show this directory's contents: from its topmost one down to the first that hides the rest
    const below = layers.slice(top);
    let opaque = false;
    let shown = below.length;
    for (let i = 0; i < below.length; i++) {
      const s = await exists(join(below[i]!, path));
      if (!s) continue;
      if (!s.isDirectory()) {
        opaque = true;
        shown = i;
        break;
      }
      if (isOpaque(await readNode(below[i]!, path, readXattrs))) {
        opaque = true;
        shown = i + 1;
        break;
      }
    }
    const xattrs = new Map([...node.xattrs].filter(([n]) => !n.endsWith('overlay.opaque')));
    if (opaque) xattrs.set('user.overlay.opaque', Buffer.from('y'));
    for (const entry of planEntries({ ...node, xattrs }, links)) yield withBody(entry, join(layers[top]!, path));
    yield* squashDir(below.slice(0, shown), readXattrs, path, links);
  }
}
