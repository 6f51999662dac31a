import { Args, Flags } from '@oclif/core';
import { TscCommand, tlsVerifyFlag } from '../../cli/base.ts';
import * as engine from '../../engine/index.ts';

export default class ImagePush extends TscCommand {
  static override summary = 'Upload an image to a registry';
  static override aliases = ['push'];
  static override args = {
    image: Args.string({ required: true, description: 'local image name or id' }),
    destination: Args.string({ required: false, description: 'where to push (default: the image name)' }),
  };
  static override flags = {
    quiet: Flags.boolean({ char: 'q', description: 'no progress' }),
    'digestfile': Flags.string({ description: 'write the pushed manifest digest to this file' }),
    'tls-verify': tlsVerifyFlag,
  };

  async run(): Promise<void> {
    const { args, flags } = await this.parse(ImagePush);
    this.applyGlobalFlags(flags);
    const result = await engine.push({
      source: args.image,
      destination: args.destination,
      digestFile: flags.digestfile,
      tlsVerify: flags['tls-verify'],
      onProgress: flags.quiet ? undefined : (e) => process.stderr.write(`${e.digest.slice(7, 19)}: ${e.outcome === 'exists' ? 'already there' : e.outcome}\n`),
    });
    if (!flags.quiet) process.stderr.write(`${result.reference}: pushed ${result.digest} (${result.uploaded} uploaded, ${result.skipped} skipped)\n`);
  }
}
