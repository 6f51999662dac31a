/**
 * Turning archived names into safe relative paths, and recognising OCI whiteout names.
 * Pure functions.
 *
 * Decision: a name is resolved as if the layer root were `/` (a leading `/` and `.`
 * components are dropped, `a/../b` becomes `b`), but a name whose `..` would climb above
 * the root is dropped, not re-rooted: no legitimate layer contains one, and re-rooting
 * `../../etc/passwd` to `etc/passwd` would let a hostile layer replace a file the image
 * did not mean to touch.
 */

export const WHITEOUT_PREFIX = '.wh.';
export const OPAQUE_MARKER = '.wh..wh..opq';
/** `.wh..wh.*` names other than the opaque marker are AUFS bookkeeping (e.g. `.wh..wh.plnk`) */
const AUFS_PREFIX = '.wh..wh.';

/** The components of `name` below the root ([] for the root itself), or undefined when it escapes. */
export function cleanPath(name: string): string[] | undefined {
  const out: string[] = [];
  for (const part of name.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') {
      if (out.length === 0) return undefined;
      out.pop();
      continue;
    }
    out.push(part);
  }
  return out;
}

export function joinRel(components: readonly string[]): string {
  return components.join('/');
}

/** `a/b/c` -> [`a`, `a/b`] */
export function ancestorsOf(rel: string): string[] {
  const out: string[] = [];
  for (let i = rel.indexOf('/'); i >= 0; i = rel.indexOf('/', i + 1)) out.push(rel.slice(0, i));
  return out;
}

/** True when `rel` is `dir` or inside it ('' is the root, which holds everything). */
export function isWithin(rel: string, dir: string): boolean {
  return dir === '' || rel === dir || rel.startsWith(`${dir}/`);
}

export type EntryKind =
  | { kind: 'plain' }
  /** `.wh.<name>`: delete `<name>` of the lower layers */
  | { kind: 'whiteout'; target: string[] }
  /** `.wh..wh..opq`: hide the lower layers' content of the directory */
  | { kind: 'opaque'; dir: string[] }
  | { kind: 'reserved'; reason: string };

/** What a cleaned entry path means under the OCI whiteout rules. */
export function classify(components: readonly string[]): EntryKind {
  const last = components.at(-1);
  for (const part of components.slice(0, -1)) {
    if (part.startsWith(WHITEOUT_PREFIX)) return { kind: 'reserved', reason: `the directory name ${part} is reserved for whiteouts` };
  }
  if (last === undefined || !last.startsWith(WHITEOUT_PREFIX)) return { kind: 'plain' };
  const dir = components.slice(0, -1);
  if (last === OPAQUE_MARKER) return { kind: 'opaque', dir };
  if (last.startsWith(AUFS_PREFIX)) return { kind: 'reserved', reason: 'AUFS metadata is not part of the image' };
  const name = last.slice(WHITEOUT_PREFIX.length);
  if (name === '' || name === '.' || name === '..') return { kind: 'reserved', reason: `the whiteout ${last} names no file` };
  return { kind: 'whiteout', target: [...dir, name] };
}
