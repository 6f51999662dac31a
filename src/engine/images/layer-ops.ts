/**
 * Running a layer operation of internal/layer-ops.ts where it can read the container's
 * files: rootless, in tsc re-executed as root of the user namespace (the helper's
 * `userns-exec`); as root, in this process.
 */
import { createHash, randomUUID } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { TscError } from '../errors.ts';
import type { WrittenLayer } from '../layers/diff.ts';
import { OCI_CONFIG, OCI_LAYER_GZIP } from '../registry/media-types.ts';
import type { ImageConfig } from './config.ts';
import type { BlobPlan, LayerPlan } from './install.ts';
import { imageLayers } from './records.ts';
import type { ImageStore } from './store.ts';
import { INTERNAL_ARG, selfArgv } from '../sys/self.ts';
import { programExit, startInUserns } from '../sys/userns.ts';
import { removeTrees, type UnpackContext } from './unpack.ts';

/** `args` as the op takes them (internal/main.ts lists them); `cwd` is a scratch directory. */
export async function runLayerOp<T>(ctx: UnpackContext, op: 'diff-layer' | 'changes' | 'export-rootfs' | 'squash-layers', args: readonly string[], cwd: string): Promise<T> {
  if (!ctx.maps) {
    const { layerOp } = await import('../internal/layer-ops.ts');
    return (await layerOp(op, args)) as T;
  }
  const proc = startInUserns(ctx.helper, ctx.maps, {
    argv: [...selfArgv(), INTERNAL_ARG, op, ...args],
    env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin', HOME: cwd, LANG: 'C.UTF-8' },
    cwd,
    stdout: 'pipe',
  });
  let output = '';
  proc.stdout!.on('data', (b: Buffer) => (output += b.toString('utf8')));
  const exit = programExit(await proc.result);
  const line = output.trim().split('\n').pop() ?? '';
  let report: unknown;
  try {
    report = JSON.parse(line);
  } catch {
    throw new TscError('internal', `the ${op} operation printed no report (${exit.signal ? `signal ${exit.signal}` : `status ${exit.status}`})${output ? `: ${output.slice(0, 300)}` : ''}`);
  }
  if (typeof report === 'object' && report !== null && 'error' in report) {
    const error = (report as { error: { code: string; message: string } }).error;
    throw new TscError('system', `${op}: ${error.message}`);
  }
  if (exit.status !== 0) throw new TscError('system', `${op} failed (${exit.signal ? `signal ${exit.signal}` : `status ${exit.status}`})`);
  return report as T;
}

/**
 * An upper dir (or any directory in overlay format) as a gzip layer in the content store.
 * The blob is written to a scratch file first (by the user-namespace process when rootless),
 * then put into the store with the digest and size it was written with.
 */
export async function layerFromDirectory(ctx: UnpackContext, dir: string, prune: readonly string[] = []): Promise<LayerPlan> {
  const { store } = ctx;
  const work = join(store.tmpDir, `diff-${randomUUID()}`);
  await mkdir(work, { recursive: true, mode: 0o700 });
  try {
    const out = join(work, 'layer.tar.gz');
    const written = await runLayerOp<WrittenLayer>(ctx, 'diff-layer', [dir, out, ctx.helper, ...prune], work);
    await store.content.put(createReadStream(out), { digest: written.digest, size: written.size });
    return { digest: written.digest, size: written.size, mediaType: OCI_LAYER_GZIP, diffId: written.diffId };
  } finally {
    await removeTrees(ctx, [work]);
  }
}

/** Layer directories (topmost first) squashed into one gzip layer in the content store (`build --squash`). */
export async function squashLayers(ctx: UnpackContext, dirsTopFirst: readonly string[]): Promise<LayerPlan> {
  const { store } = ctx;
  const work = join(store.tmpDir, `squash-${randomUUID()}`);
  await mkdir(work, { recursive: true, mode: 0o700 });
  try {
    const out = join(work, 'layer.tar.gz');
    const written = await runLayerOp<WrittenLayer>(ctx, 'squash-layers', [out, ctx.helper, ...dirsTopFirst], work);
    await store.content.put(createReadStream(out), { digest: written.digest, size: written.size });
    return { digest: written.digest, size: written.size, mediaType: OCI_LAYER_GZIP, diffId: written.diffId };
  } finally {
    await removeTrees(ctx, [work]);
  }
}

/** The layers of a stored image as an install plan lists them, bottom first. */
export function imageLayerPlans(store: ImageStore, imageId: string): LayerPlan[] {
  const mediaType = store.db.prepare('SELECT media_type FROM blobs WHERE digest = ?');
  return imageLayers(store.db, imageId).map((l) => ({
    digest: l.blobDigest,
    size: l.size,
    diffId: l.diffId,
    mediaType: (mediaType.get(l.blobDigest) as { media_type: string } | undefined)?.media_type || OCI_LAYER_GZIP,
  }));
}

/** The config blob of `config`: its bytes and digest (the image id). */
export function configBlob(config: ImageConfig): BlobPlan & { bytes: Buffer } {
  const bytes = Buffer.from(JSON.stringify(config));
  return { digest: `sha256:${createHash('sha256').update(bytes).digest('hex')}`, size: bytes.length, mediaType: OCI_CONFIG, bytes };
}
