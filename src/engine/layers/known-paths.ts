/**
 * What one extraction knows about the paths of its target, so that each path is looked up
 * on disk (lstat) at most once: the kind of everything it created or looked up, and for
 * each directory whether all of its children are known ("complete": a directory this
 * extraction made, or the target itself when it started empty). A name missing under a
 * complete directory does not exist; any other unknown name is looked up and remembered.
 *
 * Invariant: a node says what is on disk at its path. It holds only while every change to
 * the target is recorded here (LayerTree does: `set` after a creation, `drop` after a
 * removal) and nobody else changes the target meanwhile, the assumption the extractor's
 * lstat checks already made. Symlinks, files and special files are remembered as well as
 * directories, so a walk that meets one refuses to pass through it as an lstat would.
 */

export type NodeKind = 'directory' | 'symlink' | 'file' | 'special file';

export interface KnownNode {
  kind: NodeKind;
  /** directories only: the children known so far */
  children: Map<string, KnownNode> | undefined;
  /** directories only: every child is in `children` */
  complete: boolean;
}

export function directoryNode(complete: boolean): KnownNode {
  return { kind: 'directory', children: new Map(), complete };
}

export function leafNode(kind: Exclude<NodeKind, 'directory'>): KnownNode {
  return { kind, children: undefined, complete: true };
}

/** A child of `dir`: a node, 'absent' (known not to exist) or 'unknown' (look on disk). */
export function childOf(dir: KnownNode, name: string): KnownNode | 'absent' | 'unknown' {
  const node = dir.children?.get(name);
  if (node !== undefined) return node;
  return dir.complete ? 'absent' : 'unknown';
}

export class KnownPaths {
  #root: KnownNode;

  /** `empty`: the target holds nothing yet, so everything in it will be ours. */
  constructor(empty: boolean) {
    this.#root = directoryNode(empty);
  }

  get root(): KnownNode {
    return this.#root;
  }

  /** The node of `rel` if every component of it is known, without looking at the disk. */
  find(rel: string): KnownNode | undefined {
    if (rel === '') return this.#root;
    let node: KnownNode | undefined = this.#root;
    for (const part of rel.split('/')) {
      node = node.children?.get(part);
      if (node === undefined) return undefined;
    }
    return node;
  }

  /**
   * Records what now is at `rel`. Its parent must be a known directory (the extractor
   * walks the parents before it creates anything); if it is not, everything is forgotten
   * rather than risk a complete ancestor hiding an unknown path.
   */
  set(rel: string, node: KnownNode): void {
    const slash = rel.lastIndexOf('/');
    const parent = this.find(slash < 0 ? '' : rel.slice(0, slash));
    if (parent?.children === undefined) {
      this.forgetAll();
      return;
    }
    parent.children.set(rel.slice(slash + 1), node);
  }

  /** `rel` (and whatever was below it) has been removed. */
  drop(rel: string): void {
    const slash = rel.lastIndexOf('/');
    this.find(slash < 0 ? '' : rel.slice(0, slash))?.children?.delete(rel.slice(slash + 1));
  }

  /** After a failure that may have left the disk unlike the records: look everything up again. */
  forgetAll(): void {
    this.#root = directoryNode(false);
  }
}
