import { Args } from '@oclif/core';
import { TscCommand } from '../../cli/base.ts';
import { printReports } from '../../cli/container-flags.ts';
import * as engine from '../../engine/index.ts';

export default class ContainerPause extends TscCommand {
  static override summary = 'Freeze every process of containers (cgroup freezer)';
  static override aliases = ['pause'];
  static override strict = false;
  static override args = { container: Args.string({ required: true, description: 'name or id' }) };

  async run(): Promise<void> {
    const { argv, flags } = await this.parse(ContainerPause);
    this.applyGlobalFlags(flags);
    const code = printReports(await engine.pauseContainers(argv as string[], true), (t) => this.print(t));
    if (code !== 0) this.exit(code);
  }
}
