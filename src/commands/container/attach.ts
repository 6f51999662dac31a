import { Args, Flags } from '@oclif/core';
import { TscCommand } from '../../cli/base.ts';
import { terminalIo } from '../../cli/container-flags.ts';
import * as engine from '../../engine/index.ts';

export default class ContainerAttach extends TscCommand {
  static override summary = "Attach to a running container's stdio";
  static override aliases = ['attach'];
  static override args = { container: Args.string({ required: true, description: 'name or id' }) };
  static override flags = {
    'no-stdin': Flags.boolean({ description: 'do not attach stdin' }),
    'detach-keys': Flags.string({ description: 'key sequence to detach (default ctrl-p,ctrl-q)' }),
    'sig-proxy': Flags.boolean({ default: true, allowNo: true, description: 'forward the signals tsc receives to the container' }),
  };

  async run(): Promise<void> {
    const { args, flags } = await this.parse(ContainerAttach);
    this.applyGlobalFlags(flags);
    const { items, errors } = await engine.inspectContainers([args.container]);
    if (errors[0]) throw errors[0];
    const config = items[0]!.Config as { Tty: boolean; OpenStdin: boolean };
    const terminal = terminalIo({ tty: config.Tty, interactive: !flags['no-stdin'] && config.OpenStdin, detachKeys: flags['detach-keys'], sigProxy: flags['sig-proxy'] });
    let code: number | undefined;
    try {
      code = await engine.attachContainer(args.container, terminal.io, { noStdin: flags['no-stdin'] });
    } finally {
      terminal.restore();
    }
    this.exit(code ?? 0);
  }
}
