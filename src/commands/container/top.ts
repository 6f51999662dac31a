import { Args } from '@oclif/core';
import { TscCommand } from '../../cli/base.ts';
import { renderTable } from '../../cli/render/table.ts';
import * as engine from '../../engine/index.ts';

export default class ContainerTop extends TscCommand {
  static override summary = "Show a container's processes";
  static override aliases = ['top'];
  static override strict = false;
  static override args = { container: Args.string({ required: true, description: 'name or id' }) };

  async run(): Promise<void> {
    const { args, argv, flags } = await this.parse(ContainerTop);
    this.applyGlobalFlags(flags);
    const result = await engine.topContainer(args.container, (argv as string[]).slice(1));
    this.print(renderTable(result.titles, result.processes));
  }
}
