import { Args, Flags } from '@oclif/core';
import { TscCommand } from '../../cli/base.ts';
import { printReports } from '../../cli/container-flags.ts';
import * as engine from '../../engine/index.ts';

export default class ContainerRestart extends TscCommand {
  static override summary = 'Restart containers';
  static override aliases = ['restart'];
  static override strict = false;
  static override args = { container: Args.string({ required: true, description: 'name or id' }) };
  static override flags = { time: Flags.integer({ char: 't', description: 'seconds to wait before killing' }) };

  async run(): Promise<void> {
    const { argv, flags } = await this.parse(ContainerRestart);
    this.applyGlobalFlags(flags);
    const code = printReports(await engine.restartContainers(argv as string[], { timeout: flags.time }), (t) => this.print(t));
    if (code !== 0) this.exit(code);
  }
}
