/**
 * Unpacking one layer blob: decompress, hash the uncompressed tar (its DiffID, which the
 * image config lists and which must match), and apply it onto the target directory.
 */
import { createHash } from 'node:crypto';
import { decompressed } from './decompress.ts';
import { extractLayer, type ExtractOptions, type ExtractResult } from './extract.ts';
import type { TarSource } from './tar.ts';

export interface Unpacked {
  diffId: string;
  result: ExtractResult;
}

export async function unpackLayer(blob: TarSource, target: string, options: ExtractOptions): Promise<Unpacked> {
  const hash = createHash('sha256');
  async function* hashed() {
    for await (const chunk of decompressed(blob)) {
      hash.update(chunk);
      yield chunk;
    }
  }
  const tar = hashed();
  const result = await extractLayer(tar, target, options);
  // the extractor may stop at the end-of-archive marker: hash whatever padding follows too
  for await (const _ of tar) void _;
  return { diffId: `sha256:${hash.digest('hex')}`, result };
}
