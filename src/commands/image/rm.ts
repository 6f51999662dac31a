import { Args, Flags } from '@oclif/core';
import { TscCommand } from '../../cli/base.ts';
import * as engine from '../../engine/index.ts';

export default class ImageRm extends TscCommand {
  static override summary = 'Remove images';
  static override aliases = ['rmi', 'image:remove'];
  static override strict = false;
  static override args = { image: Args.string({ required: true, description: 'image names or ids' }) };
  static override flags = { force: Flags.boolean({ char: 'f', description: 'remove an image even when several names point at it' }) };

  async run(): Promise<void> {
    const { argv, flags } = await this.parse(ImageRm);
    this.applyGlobalFlags(flags);
    const reports = await engine.removeImages(argv as string[], { force: flags.force });
    let failed = false;
    for (const r of reports) {
      for (const u of r.untagged) this.print(`Untagged: ${u}\n`);
      for (const d of r.deleted) this.print(`Deleted: ${d}\n`);
      if (r.error) {
        failed = true;
        process.stderr.write(`Error: ${r.error.message}\n${r.error.hint ? `Hint: ${r.error.hint}\n` : ''}`);
      }
    }
    if (failed) this.exit(1);
  }
}
