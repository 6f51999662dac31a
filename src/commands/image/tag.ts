import { Args } from '@oclif/core';
import { TscCommand } from '../../cli/base.ts';
import * as engine from '../../engine/index.ts';

export default class ImageTag extends TscCommand {
  static override summary = 'Give an image another name';
  static override aliases = ['tag'];
  static override args = {
    source: Args.string({ required: true, description: 'image name or id' }),
    target: Args.string({ required: true, description: 'new name[:tag]' }),
  };

  async run(): Promise<void> {
    const { args, flags } = await this.parse(ImageTag);
    this.applyGlobalFlags(flags);
    await engine.tagImage(args.source, args.target);
  }
}
