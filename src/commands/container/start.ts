import { Args, Flags } from '@oclif/core';
import { TscCommand } from '../../cli/base.ts';
import { printReports, terminalIo } from '../../cli/container-flags.ts';
import * as engine from '../../engine/index.ts';
import { TscError } from '../../engine/index.ts';

export default class ContainerStart extends TscCommand {
  static override summary = 'Start one or more containers';
  static override aliases = ['start'];
  static override strict = false;
  static override args = { container: Args.string({ required: true, description: 'name or id' }) };
  static override flags = {
    attach: Flags.boolean({ char: 'a', description: "attach stdout/stderr and exit with the container's code" }),
    interactive: Flags.boolean({ char: 'i', description: "attach the container's stdin" }),
    'detach-keys': Flags.string({ description: 'key sequence to detach (default ctrl-p,ctrl-q)' }),
  };

  async run(): Promise<void> {
    const { argv, flags } = await this.parse(ContainerStart);
    this.applyGlobalFlags(flags);
    const refs = argv as string[];
    if (flags.attach || flags.interactive) {
      if (refs.length > 1) throw new TscError('invalid-argument', 'you cannot start and attach to several containers at once');
      const [summary] = await engine.inspectContainers(refs).then((r) => {
        if (r.errors[0]) throw r.errors[0];
        return r.items;
      });
      const tty = Boolean((summary!.Config as { Tty: boolean }).Tty);
      const terminal = terminalIo({ tty, interactive: flags.interactive, detachKeys: flags['detach-keys'], sigProxy: true });
      let outcome;
      try {
        outcome = await engine.startContainers({ refs, io: terminal.io, interactive: flags.interactive });
      } finally {
        terminal.restore();
      }
      const failed = outcome.reports.find((r) => r.error);
      if (failed?.error) throw failed.error;
      this.exit(outcome.exitCode ?? 0);
    }
    const { reports } = await engine.startContainers({ refs });
    const code = printReports(reports, (t) => this.print(t));
    if (code !== 0) this.exit(code);
  }
}
