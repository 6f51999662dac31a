/**
 * The layer operations that read a container's files (which rootless belong to
 * subordinate ids): run by tsc re-executed in the user namespace (internal/main.ts), or
 * called in-process when tsc runs as root. Each returns one JSON-able value.
 */
import { createWriteStream } from 'node:fs';
import { lstat, rmdir, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { TscError } from '../errors.ts';
import { isRuntimeMountPoint, RUNTIME_MOUNT_POINTS, upperEntries, writeLayerFile, type XattrReader } from '../layers/diff.ts';
import { mergedEntries, squashedEntries, upperChanges } from '../layers/merged.ts';
import { writeTar } from '../layers/tar-write.ts';
import { openFsOps, type FsOps } from '../sys/fsops.ts';

function xattrReader(fsops: FsOps): XattrReader {
  return async (path) => {
    const values = new Map<string, Buffer>();
    let names: string[];
    try {
      names = await fsops.listXattrs(path);
    } catch (error) {
      if ((error as { code?: string }).code === 'ENOTSUP' || (error as { code?: string }).code === 'EOPNOTSUPP') return values;
      throw error;
    }
    for (const name of names.sort()) {
      try {
        values.set(name, await fsops.getXattr(path, name));
      } catch (error) {
        // trusted.* and security.* names we may not read (rootless): not ours to copy
        const code = (error as { code?: string }).code;
        if (code !== 'ENODATA' && code !== 'EPERM' && code !== 'EACCES') throw error;
      }
    }
    return values;
  };
}

export async function layerOp(op: string, args: readonly string[]): Promise<unknown> {
  const usage = (text: string) => new TscError('internal', `usage: ${text}`);
  if (op === 'diff-layer') {
    const [upper, out, helper, ...prune] = args;
    if (!upper || !out || !helper) throw usage('diff-layer UPPER OUT HELPER [PRUNE...]');
    // mount points the runtime made for RUN --mount: not the step's change when still empty
    for (const path of prune) {
      const host = join(upper, path);
      const s = await lstat(host).catch(() => undefined);
      if (s?.isDirectory()) await rmdir(host).catch(() => undefined);
      else if (s?.isFile() && s.size === 0) await unlink(host);
    }
    const fsops = await openFsOps(helper);
    try {
      const written = await writeLayerFile(upperEntries(upper, xattrReader(fsops)), out);
      // the upper dir may become the layer's directory: drop what the layer leaves out
      for (const path of RUNTIME_MOUNT_POINTS) {
        const host = join(upper, path);
        const s = await lstat(host).catch(() => undefined);
        if (s && isRuntimeMountPoint({ path, type: s.isFile() ? 'file' : 'directory', size: s.size })) await unlink(host);
      }
      return written;
    } finally {
      await fsops.close();
    }
  }
  if (op === 'squash-layers') {
    const [out, helper, ...layers] = args;
    if (!out || !helper || layers.length === 0) throw usage('squash-layers OUT HELPER LAYER...');
    const fsops = await openFsOps(helper);
    try {
      return await writeLayerFile(squashedEntries(layers, xattrReader(fsops)), out);
    } finally {
      await fsops.close();
    }
  }
  if (op === 'changes') {
    const [helper, upper, ...lowers] = args;
    if (!helper || !upper) throw usage('changes HELPER UPPER LOWER...');
    const fsops = await openFsOps(helper);
    try {
      return { changes: await upperChanges(upper, lowers, xattrReader(fsops)) };
    } finally {
      await fsops.close();
    }
  }
  if (op === 'export-rootfs') {
    const [out, helper, ...layers] = args;
    if (!out || !helper) throw usage('export-rootfs OUT HELPER LAYER...');
    const fsops = await openFsOps(helper);
    let size = 0;
    try {
      const tar = Readable.from((async function* () {
        for await (const chunk of writeTar(mergedEntries(layers, xattrReader(fsops)))) {
          size += chunk.length;
          yield chunk;
        }
      })());
      await pipeline(tar, createWriteStream(out, { mode: 0o600 }));
      return { size };
    } finally {
      await fsops.close();
    }
  }
  throw new TscError('internal', `unknown layer operation ${JSON.stringify(op)}`);
}
