import { Args, Flags } from '@oclif/core';
import { TscCommand } from '../../cli/base.ts';
import * as engine from '../../engine/index.ts';

export default class ImageImport extends TscCommand {
  static override summary = 'Make a one-layer image of a root filesystem tarball';
  static override aliases = ['import'];
  static override args = {
    file: Args.string({ required: true, description: 'a tar archive (plain, gzip or zstd), or - for stdin; URLs are not supported' }),
    reference: Args.string({ required: false, description: 'name the image REPOSITORY[:TAG]' }),
  };
  static override flags = {
    change: Flags.string({ char: 'c', multiple: true, multipleNonGreedy: true, description: 'apply a Dockerfile instruction: CMD, ENTRYPOINT, ENV, EXPOSE, HEALTHCHECK, LABEL, ONBUILD, STOPSIGNAL, USER, VOLUME, WORKDIR' }),
    message: Flags.string({ char: 'm', description: 'the history comment (default: Imported from FILE)' }),
    platform: Flags.string({ description: 'os/arch[/variant] to record instead of this host\'s' }),
  };
  static override examples = [
    '<%= config.bin %> import rootfs.tar.gz app:1',
    'tar -C rootfs -c . | <%= config.bin %> import --change \'CMD ["/bin/sh"]\' --change \'ENV A=1\' - app:1',
  ];

  async run(): Promise<void> {
    const { args, flags } = await this.parse(ImageImport);
    this.applyGlobalFlags(flags);
    const stdin = args.file === '-';
    if (stdin && process.stdin.isTTY) {
      throw new engine.TscError('invalid-argument', 'refusing to read a tarball from a terminal', { hint: 'give a file, or redirect stdin' });
    }
    const result = await engine.importImage({
      source: stdin ? process.stdin : args.file,
      sourceName: args.file,
      reference: args.reference,
      changes: flags.change,
      message: flags.message,
      platform: flags.platform,
    });
    this.print(`${result.id}\n`);
  }
}
