import { Args, Flags } from '@oclif/core';
import { TscCommand, tlsVerifyFlag } from '../../cli/base.ts';
import { PullProgress } from '../../cli/render/pull-progress.ts';
import * as engine from '../../engine/index.ts';

export default class ImagePull extends TscCommand {
  static override summary = 'Download an image from a registry';
  static override aliases = ['pull'];
  static override args = { image: Args.string({ required: true, description: 'image reference, e.g. busybox or 127.0.0.1:5000/app:1' }) };
  static override flags = {
    quiet: Flags.boolean({ char: 'q', description: 'print only the pulled reference, no progress' }),
    platform: Flags.string({ description: 'os/arch[/variant] to pull instead of this host\'s' }),
    'tls-verify': tlsVerifyFlag,
  };
  static override examples = ['<%= config.bin %> pull busybox', '<%= config.bin %> pull --platform linux/arm64 127.0.0.1:5000/app:1'];

  async run(): Promise<void> {
    const { args, flags } = await this.parse(ImagePull);
    this.applyGlobalFlags(flags);
    const progress = flags.quiet ? undefined : new PullProgress();
    const result = await engine.pull({
      reference: args.image,
      platform: flags.platform,
      tlsVerify: flags['tls-verify'],
      onProgress: progress?.onEvent,
    });
    if (flags.quiet) this.print(`${result.reference}\n`);
    else process.stderr.write(progress!.summary(result.downloaded, result.layers, result.id, result.upToDate));
  }
}
