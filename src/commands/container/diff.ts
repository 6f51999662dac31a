import { Args } from '@oclif/core';
import { TscCommand } from '../../cli/base.ts';
import * as engine from '../../engine/index.ts';

export default class ContainerDiff extends TscCommand {
  static override summary = 'List the files a container added (A), changed (C) and deleted (D)';
  static override aliases = ['diff'];
  static override args = { container: Args.string({ required: true, description: 'container name or id' }) };
  static override examples = ['<%= config.bin %> diff web'];

  async run(): Promise<void> {
    const { args, flags } = await this.parse(ContainerDiff);
    this.applyGlobalFlags(flags);
    const changes = await engine.containerChanges(args.container);
    this.print(changes.map((c) => `${c.kind} ${c.path}\n`).join(''));
  }
}
