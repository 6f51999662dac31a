import { Args, Flags } from '@oclif/core';
import { TscCommand } from '../../cli/base.ts';
import * as engine from '../../engine/index.ts';

export default class ContainerExport extends TscCommand {
  static override summary = 'Write a container\'s file system as a tar archive';
  static override aliases = ['export'];
  static override args = { container: Args.string({ required: true, description: 'container name or id' }) };
  static override flags = { output: Flags.string({ char: 'o', description: 'write to this file instead of stdout' }) };
  static override examples = ['<%= config.bin %> export -o web.tar web', '<%= config.bin %> export web | tar -t'];

  async run(): Promise<void> {
    const { args, flags } = await this.parse(ContainerExport);
    this.applyGlobalFlags(flags);
    if (!flags.output && process.stdout.isTTY) {
      throw new engine.TscError('invalid-argument', 'refusing to write a tar archive to a terminal', { hint: 'use -o FILE or redirect stdout' });
    }
    await engine.exportContainer(args.container, flags.output ?? process.stdout);
  }
}
