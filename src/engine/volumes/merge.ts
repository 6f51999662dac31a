/**
 * What the image shows at a path, computed from its layers the way overlayfs merges them,
 * as a plan of entries to copy into a new volume (docker fills a volume from the image's
 * content the first time it is mounted while empty).
 *
 * Layers are directories in overlay format, topmost first: a whiteout (a 0:0 character
 * device) hides the name in every layer below; an opaque directory (xattr
 * `user.overlay.opaque` or `trusted.overlay.opaque` = "y") hides the content of the same
 * directory below; a directory hides a non-directory below and the other way round.
 *
 * Pure over a small reader interface, so it is tested with trees in memory; the real
 * reader (fs + the helper's xattr calls) is in populate.ts.
 */

export type EntryKind = 'directory' | 'file' | 'symlink' | 'whiteout' | 'other';

export interface LayerReader {
  /** the kind of `path` (absolute, on the host), or undefined when it does not exist */
  kind(path: string): Promise<EntryKind | undefined>;
  /** names in a directory */
  list(path: string): Promise<string[]>;
  opaque(path: string): Promise<boolean>;
  readlink(path: string): Promise<string>;
}

export interface PlannedEntry {
  /** path below the volume root, '' for the root itself */
  path: string;
  /** the host path it is copied from (in the layer that provides it) */
  source: string;
  kind: Exclude<EntryKind, 'whiteout'>;
}

function join(dir: string, name: string): string {
  return dir.endsWith('/') ? `${dir}${name}` : `${dir}/${name}`;
}

/** The layers (topmost first) that make up the directory `rel` of the merged view, or the single non-directory. */
interface Resolved {
  kind: Exclude<EntryKind, 'whiteout'>;
  /** for a directory, each layer's host path of it, topmost first; otherwise one path */
  sources: string[];
}

/**
 * Looks `name` up in the merged directory made of `dirs` (topmost first): the first layer
 * that has the name decides its kind; a directory also takes the same directory of the
 * layers below, until a whiteout, a non-directory or an opaque directory stops it.
 */
async function lookup(reader: LayerReader, dirs: readonly string[], name: string): Promise<Resolved | undefined> {
  const sources: string[] = [];
  for (const dir of dirs) {
    const path = join(dir, name);
    const kind = await reader.kind(path);
    if (kind === undefined) continue;
    if (kind === 'whiteout') break;
    if (kind !== 'directory') {
      if (sources.length === 0) return { kind, sources: [path] };
      break;
    }
    sources.push(path);
    if (await reader.opaque(path)) break;
  }
  return sources.length === 0 ? undefined : { kind: 'directory', sources };
}

/** Symlinks followed on the way to a destination before giving up (Linux's limit). */
const MAX_SYMLINKS = 40;

/**
 * The layers' directories that make up `destination` in the merged view, following
 * symlinks inside the image as the mount itself would (an absolute target starts again
 * at the image's root; `..` stops at the root); undefined when it is not a directory.
 */
async function resolveDirectory(reader: LayerReader, layersTopFirst: readonly string[], destination: string): Promise<string[] | undefined> {
  const split = (path: string) => path.split('/').filter((p) => p !== '' && p !== '.');
  let parts = split(destination);
  let chain: string[][] = [[...layersTopFirst]];
  let hops = 0;
  while (parts.length > 0) {
    const part = parts.shift()!;
    if (part === '..') {
      if (chain.length > 1) chain.pop();
      continue;
    }
    const found = await lookup(reader, chain[chain.length - 1]!, part);
    if (!found) return undefined;
    if (found.kind === 'symlink') {
      if (++hops > MAX_SYMLINKS) return undefined;
      const target = await reader.readlink(found.sources[0]!);
      if (target.startsWith('/')) chain = [chain[0]!];
      parts = [...split(target), ...parts];
      continue;
    }
    if (found.kind !== 'directory') return undefined;
    chain.push(found.sources);
  }
  return chain[chain.length - 1];
}

/**
 * The merged content at `destination` (absolute path in the container) of the layers
 * (host directories, topmost first), parents before children, names sorted. Empty when
 * the image has nothing there, or something other than a directory (docker copies only
 * directories).
 */
export async function planMergedTree(reader: LayerReader, layersTopFirst: readonly string[], destination: string): Promise<PlannedEntry[]> {
  if (layersTopFirst.length === 0) return [];
  const dirs = await resolveDirectory(reader, layersTopFirst, destination);
  if (!dirs) return [];
  const plan: PlannedEntry[] = [{ path: '', source: dirs[0]!, kind: 'directory' }];
  const walk = async (rel: string, sources: readonly string[]): Promise<void> => {
    const names = new Set<string>();
    for (const dir of sources) for (const name of await reader.list(dir)) names.add(name);
    for (const name of [...names].sort()) {
      const found = await lookup(reader, sources, name);
      if (!found) continue;
      const path = rel === '' ? name : `${rel}/${name}`;
      plan.push({ path, source: found.sources[0]!, kind: found.kind });
      if (found.kind === 'directory') await walk(path, found.sources);
    }
  };
  await walk('', dirs);
  return plan;
}
