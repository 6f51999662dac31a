import { Args, Flags } from '@oclif/core';
import { TscCommand } from '../../cli/base.ts';
import { printReports } from '../../cli/container-flags.ts';
import * as engine from '../../engine/index.ts';

export default class ContainerRm extends TscCommand {
  static override summary = 'Remove containers';
  static override aliases = ['rm', 'container:remove'];
  static override strict = false;
  static override args = { container: Args.string({ required: true, description: 'name or id' }) };
  static override flags = {
    force: Flags.boolean({ char: 'f', description: 'kill and remove running containers' }),
    volumes: Flags.boolean({ char: 'v', description: 'also remove their anonymous volumes' }),
  };

  async run(): Promise<void> {
    const { argv, flags } = await this.parse(ContainerRm);
    this.applyGlobalFlags(flags);
    const code = printReports(await engine.removeContainers(argv as string[], { force: flags.force, volumes: flags.volumes }), (t) => this.print(t));
    if (code !== 0) this.exit(code);
  }
}
