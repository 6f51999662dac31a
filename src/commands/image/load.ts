import { Flags } from '@oclif/core';
import { TscCommand } from '../../cli/base.ts';
import * as engine from '../../engine/index.ts';

export default class ImageLoad extends TscCommand {
  static override summary = 'Load images from a tar archive (docker-archive or oci-archive, plain, gzip or zstd)';
  static override aliases = ['load'];
  static override flags = {
    input: Flags.string({ char: 'i', description: 'read from this file instead of stdin' }),
    quiet: Flags.boolean({ char: 'q', description: 'no progress, only the loaded images' }),
  };
  static override examples = ['<%= config.bin %> load -i busybox.tar', 'docker save busybox | <%= config.bin %> load'];

  async run(): Promise<void> {
    const { flags } = await this.parse(ImageLoad);
    this.applyGlobalFlags(flags);
    if (!flags.input && process.stdin.isTTY) {
      throw new engine.TscError('invalid-argument', 'refusing to read an image archive from a terminal', { hint: 'use -i FILE or redirect stdin' });
    }
    const progress = !flags.quiet && process.stderr.isTTY;
    const result = await engine.loadImages({
      input: flags.input ?? process.stdin,
      onProgress: progress ? (e) => e.state === 'ready' && process.stderr.write(`Loaded layer ${e.index + 1}/${e.count} ${e.digest.slice(7, 19)}\n`) : undefined,
    });
    for (const image of result.images) {
      if (image.tags.length === 0) this.print(`Loaded image ID: ${image.id}\n`);
      for (const tag of image.tags) this.print(`Loaded image: ${tag}\n`);
    }
  }
}
