/**
 * Unpacking an image's layers into the store, each once per ChainID, each in its own
 * directory in overlayfs format (whiteouts as 0:0 devices, opaque directories marked by
 * xattr), so the overlay and fuse-overlayfs drivers can stack them directly.
 *
 * Rootless, the files must keep their owners (uid 33 in the image is subordinate id
 * start+32 on the host), which only a process inside the user namespace can do: tsc runs
 * itself there through the helper (`userns-exec`) and the blob is piped in. As root the
 * work happens in this process. Either way a layer is unpacked into a scratch directory,
 * its DiffID checked against the image config, and only then renamed into place and
 * marked ready, so a crash never leaves a half-unpacked layer that looks finished.
 */
import { randomUUID } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { chmod, mkdir, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { errnoCode, TscError } from '../errors.ts';
import { unpackLayer, type Unpacked } from '../layers/unpack.ts';
import type { SkippedEntry } from '../layers/extract-types.ts';
import { openFsOps } from '../sys/fsops.ts';
import type { RootlessMaps } from '../sys/idmaps.ts';
import { INTERNAL_ARG, selfArgv } from '../sys/self.ts';
import { programExit, startInUserns } from '../sys/userns.ts';
import { layerState, setLayerReady } from './records.ts';
import type { ImageStore } from './store.ts';

/** large reads of the compressed blob: zlib inflates faster and in fewer round trips */
const BLOB_READ = 1 << 20;

export interface UnpackContext {
  store: ImageStore;
  helper: string;
  /** the rootless id maps; undefined when running as real root */
  maps: RootlessMaps | undefined;
}

export interface LayerToUnpack {
  chainId: string;
  diffId: string;
  blobDigest: string;
}

/** Unpacks the layer unless it is ready already. Safe to run in several processes at once. */
export async function ensureLayer(
  ctx: UnpackContext,
  layer: LayerToUnpack,
  /** told about entries that could not be applied (device nodes rootless, unsupported xattrs) */
  onSkipped?: (skipped: SkippedEntry[]) => void,
  /** the blob's bytes as they arrive from the registry, instead of the stored blob */
  stream?: Readable,
): Promise<'unpacked' | 'present'> {
  const { store } = ctx;
  if (layerState(store.db, layer.chainId) === 'ready') return 'present';
  const work = join(store.tmpDir, `unpack-${randomUUID()}`);
  const target = join(work, 'layer');
  await mkdir(work, { recursive: true, mode: 0o700 });
  // the layer's root as overlayfs shows it when no entry of the layer sets it (docker's
  // layers rarely hold `./`): 0755 as docker's graph drivers make it, not private to us
  await mkdir(target, { mode: 0o755 });
  await chmod(target, 0o755); // whatever the umask
  try {
    const source = () => stream ?? createReadStream(store.content.blobPath(layer.blobDigest), { highWaterMark: BLOB_READ });
    const unpacked = ctx.maps ? await unpackRootless(ctx, ctx.maps, source(), target, work) : await unpackAsRoot(ctx, source(), target);
    if (unpacked.diffId !== layer.diffId) {
      throw new TscError('invalid-content', `layer ${layer.blobDigest} unpacks to ${unpacked.diffId}, but the image config says ${layer.diffId}`, {
        hint: 'the image is corrupt or was tampered with; pull it again or ask its publisher',
      });
    }
    try {
      await rename(target, store.layerPath(layer.chainId));
    } catch (error) {
      // another tsc process finished the same layer first: keep theirs
      if (errnoCode(error) !== 'ENOTEMPTY' && errnoCode(error) !== 'EEXIST') throw error;
    }
    setLayerReady(store.db, layer.chainId);
    if (unpacked.result.skipped.length > 0) onSkipped?.(unpacked.result.skipped);
    return 'unpacked';
  } finally {
    await removeTrees(ctx, [work]);
  }
}

async function unpackRootless(ctx: UnpackContext, maps: RootlessMaps, blob: Readable, target: string, work: string): Promise<Unpacked> {
  const proc = startInUserns(ctx.helper, maps, {
    argv: [...selfArgv(), INTERNAL_ARG, 'extract-layer', target, 'overlay', ctx.helper, 'fresh'],
    env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin', HOME: work, LANG: 'C.UTF-8' },
    cwd: work,
    stdin: 'pipe',
    stdout: 'pipe',
  });
  let output = '';
  proc.stdout!.on('data', (b: Buffer) => (output += b.toString('utf8')));
  const feeding = pipeline(blob, proc.stdin!).catch((error: unknown) => {
    // the extractor stopping early (it failed) closes the pipe; its own report says why
    if (errnoCode(error) !== 'EPIPE') throw error;
  });
  const [run] = await Promise.all([proc.result, feeding]);
  const exit = programExit(run);
  const report = parseReport(output);
  if ('error' in report) throw new TscError(report.error.code === 'invalid-content' ? 'invalid-content' : 'system', report.error.message);
  if (exit.status !== 0) throw new TscError('system', `unpacking layer into ${target} failed (${exit.signal ? `signal ${exit.signal}` : `status ${exit.status}`})`);
  return report;
}

async function unpackAsRoot(ctx: UnpackContext, blob: Readable, target: string): Promise<Unpacked> {
  const fsops = await openFsOps(ctx.helper);
  try {
    return await unpackLayer(blob, target, {
      format: 'overlay',
      ownership: 'keep',
      overlayXattrs: 'trusted',
      freshTarget: true,
      setXattr: (path, name, value) => fsops.setXattr(path, name, value),
      mknod: (path, kind, mode, major, minor) => fsops.mknod(path, kind, mode, major, minor),
    });
  } finally {
    await fsops.close();
  }
}

function parseReport(output: string): Unpacked | { error: { code: string; message: string } } {
  const line = output.trim().split('\n').pop() ?? '';
  try {
    return JSON.parse(line) as Unpacked | { error: { code: string; message: string } };
  } catch {
    throw new TscError('internal', `the layer unpacker printed no report${output ? `: ${output.slice(0, 300)}` : ''}`);
  }
}

/**
 * Removes directory trees that may hold files owned by subordinate ids, which only a
 * process in the user namespace may delete.
 */
export async function removeTrees(ctx: UnpackContext, paths: readonly string[]): Promise<void> {
  if (paths.length === 0) return;
  if (!ctx.maps) {
    await Promise.all(paths.map((p) => rm(p, { recursive: true, force: true })));
    return;
  }
  const proc = startInUserns(ctx.helper, ctx.maps, {
    argv: ['/bin/rm', '-rf', '--', ...paths],
    env: { PATH: '/usr/bin:/bin' },
    cwd: '/',
  });
  const exit = programExit(await proc.result);
  if (exit.status !== 0) throw new TscError('system', `cannot remove ${paths.join(', ')} (rm ${exit.signal ? `signal ${exit.signal}` : `status ${exit.status}`})`);
}
