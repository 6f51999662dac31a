import { Args } from '@oclif/core';
import { TscCommand } from '../../cli/base.ts';
import * as engine from '../../engine/index.ts';

export default class ContainerRename extends TscCommand {
  static override summary = 'Rename a container';
  static override aliases = ['rename'];
  static override args = {
    container: Args.string({ required: true, description: 'name or id' }),
    name: Args.string({ required: true, description: 'the new name' }),
  };

  async run(): Promise<void> {
    const { args, flags } = await this.parse(ContainerRename);
    this.applyGlobalFlags(flags);
    await engine.renameContainer(args.container, args.name);
  }
}
