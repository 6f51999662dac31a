import { Args, Flags } from '@oclif/core';
import { TscCommand } from '../../cli/base.ts';
import { printReports } from '../../cli/container-flags.ts';
import * as engine from '../../engine/index.ts';

export default class ContainerStop extends TscCommand {
  static override summary = 'Stop running containers (stop signal, then SIGKILL after the timeout)';
  static override aliases = ['stop'];
  static override strict = false;
  static override args = { container: Args.string({ required: true, description: 'name or id' }) };
  static override flags = {
    time: Flags.integer({ char: 't', description: 'seconds to wait before killing (default: the container\'s --stop-timeout, 10)' }),
    signal: Flags.string({ char: 's', description: 'signal to send instead of the container\'s stop signal' }),
  };

  async run(): Promise<void> {
    const { argv, flags } = await this.parse(ContainerStop);
    this.applyGlobalFlags(flags);
    const code = printReports(await engine.stopContainers(argv as string[], { timeout: flags.time, signal: flags.signal }), (t) => this.print(t));
    if (code !== 0) this.exit(code);
  }
}
