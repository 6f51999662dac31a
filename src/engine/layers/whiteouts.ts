/**
 * Whiteouts and opaque directories, in the formats of extract-types.ts. The OCI rule is
 * that they apply to the lower layers only, never to what the same layer contains, so the
 * result does not depend on where in the archive they appear:
 * - a whiteout of a path this layer also writes is dropped if that path is not a
 *   directory, and makes it opaque if it is (the lower directory is gone, this layer's
 *   new one stays);
 * - an opaque marker keeps what this layer wrote in the directory, before or after it;
 * - a whiteout marker that a later entry of the layer replaces with a directory leaves
 *   that directory opaque (as overlayfs itself does for rmdir followed by mkdir).
 */
import { chmodSync, writeFileSync } from 'node:fs';
import { errnoCode, TscError } from '../errors.ts';
import { ancestorsOf, isWithin, joinRel } from './entry-paths.ts';
import type { ExtractOptions, Mknod, SetXattr } from './extract-types.ts';
import { fsError, type LayerTree } from './tree.ts';

export class Whiteouts {
  readonly #tree: LayerTree;
  readonly #format: ExtractOptions['format'];
  readonly #ns: string;
  readonly #setXattr: SetXattr;
  readonly #mknod: Mknod;
  /** directories marked as holding xwhiteouts ('xattr-overlay') */
  readonly #xdirs = new Set<string>();
  rootOpaque = false;
  opaqueDirs = 0;

  constructor(tree: LayerTree, options: ExtractOptions, setXattr: SetXattr, mknod: Mknod) {
    this.#tree = tree;
    this.#format = options.format;
    this.#ns = options.overlayXattrs ?? 'user';
    this.#setXattr = setXattr;
    this.#mknod = mknod;
    tree.onMarkerReplaced = async (rel) => {
      await this.opaque(rel.split('/'));
    };
  }

  get #overlay(): boolean {
    return this.#format !== 'apply';
  }

  #underOpaque(rel: string): boolean {
    if (this.#tree.opaque.has(rel) || this.#tree.opaque.has('')) return true;
    return ancestorsOf(rel).some((dir) => this.#tree.opaque.has(dir));
  }

  async #mark(path: string, name: string, value: string, what: string): Promise<void> {
    try {
      await this.#setXattr(path, `${this.#ns}.overlay.${name}`, Buffer.from(value));
    } catch (error) {
      throw new TscError('unsupported', `cannot write the ${what} for ${path}: ${error instanceof Error ? error.message : String(error)}`, {
        cause: error,
        hint: "the 'xattr-overlay' and 'overlay' layer formats need extended attributes on the storage file system; use the vfs driver",
      });
    }
  }

  /** Handles `.wh.<name>`; `target` is the whited-out path's components. Returns why it was skipped, if it was. */
  async whiteout(target: string[]): Promise<string | undefined> {
    const tree = this.#tree;
    const rel = joinRel(target);
    if (tree.ownedByLayer(rel)) {
      if (tree.kindAt(rel) === 'directory') await this.opaque(target);
      return undefined;
    }
    if (!this.#overlay) {
      const walk = await tree.walkParents(target, false);
      if (!walk.ok) return walk.missing ? undefined : `the whiteout's parent ${walk.reason}`;
      await tree.remove(rel);
      return undefined;
    }
    const parent = joinRel(target.slice(0, -1));
    if (tree.markers.has(rel) || this.#underOpaque(parent)) return undefined;
    const walk = await tree.walkParents(target, true);
    if (!walk.ok) return `the whiteout is not applied: ${walk.reason}`;
    await tree.remove(rel);
    const path = tree.abs(rel);
    if (this.#format === 'overlay') {
      try {
        await this.#mknod(path, 'char', 0o600, 0, 0);
        tree.record(rel, 'special file');
      } catch (error) {
        throw new TscError('unsupported', `cannot create the whiteout ${path}: ${error instanceof Error ? error.message : String(error)}`, {
          cause: error,
          hint: "use the 'xattr-overlay' layer format or the vfs driver",
        });
      }
    } else {
      try {
        // readable by all: the kernel reads user.* xattrs with the mounter's credentials,
        // and reading them needs read permission on the file
        writeFileSync(path, '', { flag: 'wx', mode: 0o644 });
        tree.record(rel, 'file');
        chmodSync(path, 0o644); // whatever the umask
      } catch (error) {
        throw fsError(error, 'create the whiteout', path);
      }
      await this.#mark(path, 'whiteout', 'y', 'whiteout xattr');
      if (!this.#xdirs.has(parent)) {
        await this.#mark(tree.abs(parent), 'opaque', 'x', 'xwhiteout marker');
        this.#xdirs.add(parent);
      }
    }
    tree.markers.add(rel);
    return undefined;
  }

  /** Handles `<dir>/.wh..wh..opq` (and directories that replace whited-out paths); as `whiteout`. */
  async opaque(dir: string[]): Promise<string | undefined> {
    const tree = this.#tree;
    const rel = joinRel(dir);
    if (tree.opaque.has(rel)) return undefined;
    if (rel !== '') {
      const walk = await tree.walkParents([...dir, '.'], true);
      if (!walk.ok) return `the opaque marker is not applied: ${walk.reason}`;
      // the walk may have replaced a whiteout marker at `rel`, which made it opaque already
      if (tree.opaque.has(rel)) return undefined;
    }
    tree.opaque.add(rel);
    this.opaqueDirs++;
    if (rel === '') this.rootOpaque = true;
    if (!this.#overlay) {
      await tree.pruneLower(rel);
      return undefined;
    }
    // an opaque directory needs no whiteouts, and an xwhiteout in one would show as a file
    for (const marker of [...tree.markers]) if (isWithin(marker, rel)) await tree.unlinkMarker(marker);
    if (rel !== '') await this.#mark(tree.abs(rel), 'opaque', 'y', 'opaque xattr');
    return undefined;
  }
}

export function isPermissionError(error: unknown): boolean {
  const code = errnoCode(error);
  return code === 'EPERM' || code === 'EACCES' || code === 'ENOTSUP' || code === 'EOPNOTSUPP' || code === 'ENOSYS'
    || (error instanceof TscError && error.code === 'unsupported');
}
