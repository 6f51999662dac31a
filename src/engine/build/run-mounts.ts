/**
 * `RUN --mount` for the kinds tsc supports:
 *  - `type=cache`: a directory kept in the store across builds (by `id`, default the
 *    target), bound read-write; what the step writes there is not part of the layer;
 *  - `type=bind` from the build context (`source`, default its root): read-only (a
 *    read-write bind would change the user's files; buildkit discards such writes);
 *    the bound content is part of the step's cache key, as in buildkit;
 *  - `type=bind,from=STAGE|IMAGE`: that stage's (or image's) files at `source` (default
 *    its root), copied (as COPY --from copies them: owned by root) into the step's scratch
 *    space and bound there, read-only unless `rw` (then writes go to that throwaway copy);
 *    the copied content's digest is part of the step's cache key;
 *  - `type=tmpfs`: a fresh tmpfs (`size`).
 * Cache mounts from a stage, secrets and ssh fail clearly. Mount points the helper had
 * to create are removed from the step's upper dir before its layer is written.
 */
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp } from 'node:fs/promises';
import { join, posix } from 'node:path';
import type { Mount as SpecMount } from '../runtime/spec/types.ts';
import { contentHashed } from './cache.ts';
import { copyEntries, lookup, type SourceTree } from './copy.ts';
import type { RunInstruction } from './dockerfile/instruction-types.ts';
import { fail } from './steps.ts';
import { extractLayer } from '../layers/extract.ts';
import { writeTar } from '../layers/tar-write.ts';

export interface RunMounts {
  mounts: SpecMount[];
  /** what the cache key takes of the mounts: their specs and the bound content's digests */
  key: unknown[];
  /** relative paths of mount points (and parents) the helper creates: removed from the layer, deepest first */
  prune: string[];
}

export async function planRunMounts(
  instr: RunInstruction,
  where: string,
  options: {
    workdir: string; lowers: readonly string[]; context: SourceTree | undefined; cacheRoot: string;
    /** the files of a stage or image a bind mount names with `from=` */
    fromTree?: ((ref: string) => Promise<SourceTree>) | undefined;
    /** where copies of stage and image files are made (removed by the caller) */
    scratch?: string | undefined;
  },
): Promise<RunMounts> {
  const result: RunMounts = { mounts: [], key: [], prune: [] };
  for (const { spec, mount } of instr.mounts) {
    if (!mount) fail(`${where}: --mount=${spec} could not be read`);
    const target = mount.type === 'secret' || mount.type === 'ssh' ? mount.target ?? '' : posix.resolve(options.workdir || '/', mount.target);
    switch (mount.type) {
      case 'cache': {
        if (mount.from) fail(`${where}: --mount=type=cache,from= is not supported yet`);
        const id = createHash('sha256').update(mount.id || target).digest('hex').slice(0, 32);
        const source = join(options.cacheRoot, id);
        await mkdir(source, { recursive: true, mode: 0o755 });
        result.mounts.push({ destination: target, type: 'bind', source, options: ['rbind', mount.readOnly ? 'ro' : 'rw', 'nosuid', 'nodev'] });
        result.key.push(['cache', target, mount.id]);
        break;
      }
      case 'bind': {
        if (mount.from) {
          if (!options.fromTree || !options.scratch) fail(`${where}: --mount=type=bind,from=${mount.from} is not supported here`);
          const tree = await options.fromTree(mount.from);
          const rel = posix.normalize(`/${mount.source ?? '.'}`).slice(1);
          const found = lookup(tree.layers, rel);
          if (!found) fail(`${where}: --mount source ${mount.source ?? '/'} is not in the ${tree.name}`);
          await mkdir(options.scratch, { recursive: true, mode: 0o700 });
          const dir = await mkdtemp(join(options.scratch, 'bind-'));
          const hashed = treeEntries(tree, rel, found.stat.isDirectory());
          // the copy is ours (as the context is): the container sees its files as root's
          await extractLayer(writeTar(hashed.entries), dir, { format: 'apply', ownership: 'ignore', freshTarget: true });
          result.mounts.push({ destination: target, type: 'bind', source: join(dir, 'm'), options: ['rbind', mount.readOnly ? 'ro' : 'rw', 'nosuid', 'nodev'] });
          result.key.push(['bind-from', target, mount.readOnly, hashed.digest()]);
          break;
        }
        if (!mount.readOnly) fail(`${where}: a read-write bind mount (rw) is not supported`, 'drop rw: the step then reads the context files in place');
        if (!options.context) fail(`${where}: --mount=type=bind needs a build context`);
        const rel = posix.normalize(`/${mount.source ?? '.'}`).slice(1);
        const found = lookup(options.context.layers, rel);
        if (!found) fail(`${where}: --mount source ${mount.source ?? '.'} is not in the build context`);
        result.mounts.push({ destination: target, type: 'bind', source: found.host, options: ['rbind', 'ro', 'nosuid', 'nodev'] });
        result.key.push(['bind', target, await contextDigest(options.context, rel, found.stat.isDirectory())]);
        break;
      }
      case 'tmpfs':
        result.mounts.push({ destination: target, type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'nodev', ...(mount.size ? [`size=${mount.size}`] : [])] });
        result.key.push(['tmpfs', target]);
        break;
      default:
        fail(`${where}: --mount=type=${mount.type} is not supported yet`);
    }
    // the mount point and the parents the helper creates for it
    let path = target.slice(1);
    while (path !== '' && !lookup(options.lowers, path)) {
      result.prune.push(path);
      path = posix.dirname(path) === '.' ? '' : posix.dirname(path);
    }
  }
  result.prune.sort((a, b) => b.split('/').length - a.split('/').length);
  return result;
}

/** What a COPY of `rel` to /m (or into /m/ for a directory) would write, hashed as it passes. */
function treeEntries(tree: SourceTree, rel: string, isDir: boolean): ReturnType<typeof contentHashed> {
  return contentHashed(copyEntries({
    instruction: {
      kind: 'COPY', startLine: 0, endLine: 0, original: '', sources: [{ kind: 'path', path: rel === '' ? '.' : rel }],
      dest: isDir ? '/m/' : '/m', chown: null, chmod: null, link: false, exclude: [], from: null, parents: false,
    },
    source: tree, workdir: '/', chown: undefined, chmod: undefined, target: [], containerUid: (id) => id, containerGid: (id) => id, now: 0,
  }));
}

/** The digest of what a bind mount shows of the context (as a COPY of it would copy). */
async function contextDigest(context: SourceTree, rel: string, isDir: boolean): Promise<string> {
  const hashed = treeEntries(context, rel, isDir);
  for await (const entry of hashed.entries) {
    if (entry.body && typeof entry.body !== 'string' && !Buffer.isBuffer(entry.body)) for await (const chunk of entry.body) void chunk;
  }
  return hashed.digest();
}
