/**
 * `tsc diff` and `tsc export`: a container's file system read from its layer directories
 * (layers/merged.ts), in the user namespace when rootless.
 */
import { randomUUID } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import type { EngineContext } from '../context.ts';
import { runLayerOp } from '../images/layer-ops.ts';
import { removeTrees } from '../images/unpack.ts';
import type { Change } from '../layers/merged.ts';
import { requireContainer } from './records.ts';

export type { Change } from '../layers/merged.ts';

/** What the container added (A), changed (C) and deleted (D), sorted by path. */
export async function containerChanges(ctx: EngineContext, container: string): Promise<Change[]> {
  const store = await ctx.store();
  const row = requireContainer(store.db, container);
  const unpack = { store, helper: await ctx.helper(), maps: await ctx.maps() };
  const work = join(store.tmpDir, `changes-${randomUUID()}`);
  await mkdir(work, { recursive: true, mode: 0o700 });
  try {
    const report = await runLayerOp<{ changes: Change[] }>(unpack, 'changes', [unpack.helper, row.config.rootfs.upper, ...row.config.rootfs.lowers], work);
    return report.changes;
  } finally {
    await removeTrees(unpack, [work]);
  }
}

/**
 * The container's merged file system as a plain tar, streamed to the caller; the scratch
 * copy it is read from is removed once the stream ends or fails.
 */
export async function exportContainer(ctx: EngineContext, container: string, sink: (tar: Readable) => Promise<void>): Promise<void> {
  const store = await ctx.store();
  const row = requireContainer(store.db, container);
  const unpack = { store, helper: await ctx.helper(), maps: await ctx.maps() };
  const work = join(store.tmpDir, `export-${randomUUID()}`);
  await mkdir(work, { recursive: true, mode: 0o700 });
  try {
    const out = join(work, 'rootfs.tar');
    await runLayerOp(unpack, 'export-rootfs', [out, unpack.helper, row.config.rootfs.upper, ...row.config.rootfs.lowers], work);
    await sink(createReadStream(out, { highWaterMark: 1 << 20 }));
  } finally {
    await removeTrees(unpack, [work]);
  }
}
