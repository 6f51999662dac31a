/**
 * Internal operations: tsc re-executed by itself, inside a user namespace the helper made
 * (src/engine/sys/userns.ts), to do work that must own files as other ids. Not a user
 * interface: arguments are positional and results are one JSON line on stdout; failures
 * are a JSON line `{"error": ...}` and exit 1. Loaded without the CLI framework.
 *
 *   extract-layer TARGET FORMAT HELPER [fresh]   a layer blob on stdin -> {"diffId", "result"};
 *                                                `fresh`: TARGET is a new empty directory
 *   cleanup ID STORAGE_ROOT RUNTIME_DIR          run by a container's monitor after a `-d --rm`
 *                                                container ended: removes it -> {"removed"}
 *   populate-volume HELPER SCRATCH DATA DEST LAYER...
 *                                                fill the empty volume directory DATA with the
 *                                                image's content at DEST (layers topmost
 *                                                first), through SCRATCH -> PopulateReport
 *   diff-layer UPPER OUT HELPER [PRUNE...]      an upper dir as a gzip layer in OUT (empty mount
 *                                                points PRUNE removed first) -> WrittenLayer
 *   changes HELPER UPPER LOWER...                the upper dir's changes (lowers topmost first) -> {"changes"}
 *   export-rootfs OUT HELPER LAYER...            the merged tree (topmost first) as a plain tar in OUT -> {"size"}
 *   squash-layers OUT HELPER LAYER...            layers (topmost first) as one gzip layer in OUT -> WrittenLayer
 */
import { TscError } from '../errors.ts';
import type { WhiteoutFormat } from '../layers/extract-types.ts';
import { unpackLayer } from '../layers/unpack.ts';
import { openFsOps } from '../sys/fsops.ts';

export async function runInternal(argv: readonly string[]): Promise<number> {
  try {
    const [op, ...args] = argv;
    if (op === 'extract-layer') return await extractLayerOp(args);
    if (op === 'cleanup') return await cleanupOp(args);
    if (op === 'populate-volume') return await populateVolumeOp(args);
    if (op === 'diff-layer' || op === 'changes' || op === 'export-rootfs' || op === 'squash-layers') {
      const { layerOp } = await import('./layer-ops.ts');
      process.stdout.write(`${JSON.stringify(await layerOp(op, args))}\n`);
      return 0;
    }
    throw new TscError('internal', `unknown internal operation ${JSON.stringify(op)}`);
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    const code = error instanceof TscError ? error.code : 'internal';
    process.stdout.write(`${JSON.stringify({ error: { code, message } })}\n`);
    return 1;
  }
}

async function extractLayerOp(args: readonly string[]): Promise<number> {
  const [target, format, helper, fresh] = args;
  if (!target || !helper || (format !== 'apply' && format !== 'overlay' && format !== 'xattr-overlay') || (fresh !== undefined && fresh !== 'fresh')) {
    throw new TscError('internal', 'usage: extract-layer TARGET apply|overlay|xattr-overlay HELPER [fresh]');
  }
  const fsops = await openFsOps(helper);
  try {
    const unpacked = await unpackLayer(process.stdin, target, {
      format: format as WhiteoutFormat,
      ownership: 'keep',
      overlayXattrs: 'user',
      freshTarget: fresh === 'fresh',
      setXattr: (path, name, value) => fsops.setXattr(path, name, value),
      mknod: (path, kind, mode, major, minor) => fsops.mknod(path, kind, mode, major, minor),
    });
    process.stdout.write(`${JSON.stringify(unpacked)}\n`);
    return 0;
  } finally {
    await fsops.close();
  }
}

async function cleanupOp(args: readonly string[]): Promise<number> {
  const [id, storageRoot, runtimeDir] = args;
  if (!id || !storageRoot || !runtimeDir) throw new TscError('internal', 'usage: cleanup ID STORAGE_ROOT RUNTIME_DIR');
  process.env.TSC_STORAGE_ROOT = storageRoot;
  process.env.TSC_RUNTIME_DIR = runtimeDir;
  const [{ openContext }, { getContainer }, { removeContainer }] = await Promise.all([
    import('../context.ts'), import('../containers/records.ts'), import('../containers/lifecycle.ts'),
  ]);
  const ctx = openContext();
  try {
    const row = getContainer((await ctx.store()).db, id);
    if (row) await removeContainer(ctx, row);
    process.stdout.write(`${JSON.stringify({ removed: row !== undefined })}\n`);
    return 0;
  } finally {
    await ctx.close();
  }
}

async function populateVolumeOp(args: readonly string[]): Promise<number> {
  const [helper, scratch, data, destination, ...layers] = args;
  if (!helper || !scratch || !data || !destination?.startsWith('/')) {
    throw new TscError('internal', 'usage: populate-volume HELPER SCRATCH DATA DEST LAYER...');
  }
  const { populateDirectory } = await import('../volumes/populate.ts');
  const report = await populateDirectory(helper, layers, destination, scratch, data);
  process.stdout.write(`${JSON.stringify(report)}\n`);
  return 0;
}
