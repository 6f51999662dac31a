import { Args } from '@oclif/core';
import { TscCommand } from '../../cli/base.ts';
import { createFlags, createOptions } from '../../cli/container-flags.ts';
import * as engine from '../../engine/index.ts';

export default class ContainerCreate extends TscCommand {
  static override summary = 'Create a container without starting it';
  static override aliases = ['create'];
  static override strict = false;
  static override args = { image: Args.string({ required: true, description: 'image name or id' }) };
  static override flags = { ...createFlags };

  async run(): Promise<void> {
    const { args, argv, flags } = await this.parse(ContainerCreate);
    this.applyGlobalFlags(flags);
    const result = await engine.createContainer(createOptions(args.image, (argv as string[]).slice(1), flags));
    this.print(`${result.id}\n`);
  }
}
