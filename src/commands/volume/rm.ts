import { Args, Flags } from '@oclif/core';
import { TscCommand } from '../../cli/base.ts';
import * as engine from '../../engine/index.ts';

export default class VolumeRm extends TscCommand {
  static override summary = 'Remove volumes';
  static override aliases = ['volume:remove'];
  static override strict = false;
  static override args = { volume: Args.string({ required: true, description: 'volume names' }) };
  static override flags = { force: Flags.boolean({ char: 'f', description: 'do not fail on volumes that do not exist (volumes in use are still refused)' }) };

  async run(): Promise<void> {
    const { argv, flags } = await this.parse(VolumeRm);
    this.applyGlobalFlags(flags);
    const reports = await engine.removeVolumes(argv as string[], { force: flags.force });
    let failed = false;
    for (const r of reports) {
      if (r.error) {
        failed = true;
        process.stderr.write(`Error: ${r.error.message}\n${r.error.hint ? `Hint: ${r.error.hint}\n` : ''}`);
      } else if (r.removed) this.print(`${r.name}\n`);
    }
    if (failed) this.exit(1);
  }
}
