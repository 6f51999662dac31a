import { Args, Flags } from '@oclif/core';
import { TscCommand } from '../../cli/base.ts';
import { printReports } from '../../cli/container-flags.ts';
import * as engine from '../../engine/index.ts';

export default class ContainerKill extends TscCommand {
  static override summary = 'Send a signal (SIGKILL by default) to running containers';
  static override aliases = ['kill'];
  static override strict = false;
  static override args = { container: Args.string({ required: true, description: 'name or id' }) };
  static override flags = { signal: Flags.string({ char: 's', default: 'KILL', description: 'signal name or number' }) };

  async run(): Promise<void> {
    const { argv, flags } = await this.parse(ContainerKill);
    this.applyGlobalFlags(flags);
    const code = printReports(await engine.killContainers(argv as string[], flags.signal), (t) => this.print(t));
    if (code !== 0) this.exit(code);
  }
}
