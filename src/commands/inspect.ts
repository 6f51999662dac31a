import { Args, Flags } from '@oclif/core';
import { TscCommand } from '../cli/base.ts';
import { formatItems } from '../cli/output.ts';
import * as engine from '../engine/index.ts';

export default class Inspect extends TscCommand {
  static override summary = 'Show the details of containers or images (docker-shaped JSON)';
  static override description = 'Each name is looked up as a container first, then as an image, as docker does; --type narrows it.';
  static override strict = false;
  static override args = { name: Args.string({ required: true, description: 'container or image names or ids' }) };
  static override flags = {
    format: Flags.string({ char: 'f', description: "a Go template per object, e.g. '{{.State.Pid}}'" }),
    type: Flags.option({ options: ['container', 'image'] as const, description: 'only this kind of object' })(),
  };

  async run(): Promise<void> {
    const { argv, flags } = await this.parse(Inspect);
    this.applyGlobalFlags(flags);
    const found: unknown[] = [];
    const errors: string[] = [];
    for (const name of argv as string[]) {
      if (flags.type !== 'image') {
        const { items } = await engine.inspectContainers([name]);
        if (items[0]) {
          found.push(items[0]);
          continue;
        }
      }
      if (flags.type !== 'container') {
        const [report] = await engine.inspectImages([name]);
        if (report?.image) {
          found.push(report.image);
          continue;
        }
      }
      errors.push(`no such object: ${name}`);
    }
    if (flags.format && flags.format !== 'json') this.print(formatItems(found, flags.format));
    else this.print(`${JSON.stringify(found, null, 4)}\n`);
    for (const e of errors) process.stderr.write(`Error: ${e}\n`);
    if (errors.length > 0) this.exit(1);
  }
}
