import { Args, Flags } from '@oclif/core';
import { TscCommand } from '../../cli/base.ts';
import { formatItems } from '../../cli/output.ts';
import * as engine from '../../engine/index.ts';

export default class ContainerInspect extends TscCommand {
  static override summary = 'Show the low-level details of containers (docker-shaped JSON)';
  static override strict = false;
  static override args = { container: Args.string({ required: true, description: 'name or id' }) };
  static override flags = {
    format: Flags.string({ char: 'f', description: "a Go template per container, e.g. '{{.State.Pid}}'" }),
  };

  async run(): Promise<void> {
    const { argv, flags } = await this.parse(ContainerInspect);
    this.applyGlobalFlags(flags);
    const { items, errors } = await engine.inspectContainers(argv as string[]);
    if (flags.format && flags.format !== 'json') this.print(formatItems(items, flags.format));
    else this.print(`${JSON.stringify(items, null, 4)}\n`);
    for (const error of errors) process.stderr.write(`Error: ${error.message}\n`);
    if (errors.length > 0) this.exit(1);
  }
}
