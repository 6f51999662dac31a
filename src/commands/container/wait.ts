import { Args } from '@oclif/core';
import { TscCommand } from '../../cli/base.ts';
import * as engine from '../../engine/index.ts';

export default class ContainerWait extends TscCommand {
  static override summary = 'Wait until containers stop, then print their exit codes';
  static override aliases = ['wait'];
  static override strict = false;
  static override args = { container: Args.string({ required: true, description: 'name or id' }) };

  async run(): Promise<void> {
    const { argv, flags } = await this.parse(ContainerWait);
    this.applyGlobalFlags(flags);
    let failed = false;
    for (const report of await engine.waitContainers(argv as string[])) {
      if (report.error) {
        failed = true;
        process.stderr.write(`Error: ${report.error.message}\n`);
      } else this.print(`${report.exitCode}\n`);
    }
    if (failed) this.exit(1);
  }
}
