import { Args } from '@oclif/core';
import { TscCommand, formatFlag } from '../../cli/base.ts';
import { formatItems } from '../../cli/output.ts';
import * as engine from '../../engine/index.ts';

export default class VolumeInspect extends TscCommand {
  static override summary = 'Show the details of volumes as JSON';
  static override strict = false;
  static override args = { volume: Args.string({ required: true, description: 'volume names' }) };
  static override flags = { format: formatFlag };

  async run(): Promise<void> {
    const { argv, flags } = await this.parse(VolumeInspect);
    this.applyGlobalFlags(flags);
    const reports = await engine.inspectVolumes(argv as string[]);
    const found = reports.flatMap((r) => (r.volume ? [r.volume] : []));
    if (flags.format && flags.format !== 'json') this.print(formatItems(found, flags.format));
    else this.print(`${JSON.stringify(found, null, 4)}\n`);
    const missing = reports.filter((r) => r.error);
    for (const r of missing) process.stderr.write(`Error: ${r.error!.message}\n`);
    if (missing.length > 0) this.exit(1);
  }
}
