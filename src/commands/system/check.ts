import { Flags } from '@oclif/core';
import { TscCommand } from '../../cli/base.ts';
import { formatValue } from '../../cli/output.ts';
import * as engine from '../../engine/index.ts';

export default class SystemCheck extends TscCommand {
  static override summary = 'Check the image store and repair what killed processes or a damaged disk left';
  static override flags = {
    repair: Flags.boolean({ description: 'fix what can be fixed (removes only unreferenced or corrupt files)' }),
    format: Flags.string({ description: "'json' or a Go template" }),
    grace: Flags.integer({ default: 600, description: 'seconds: leave younger leftovers alone (another tsc may be working on them)' }),
  };

  async run(): Promise<void> {
    const { flags } = await this.parse(SystemCheck);
    this.applyGlobalFlags(flags);
    const report = await engine.checkSystem({ repair: flags.repair, graceMs: flags.grace * 1000 });
    const text = formatValue(report, flags.format);
    if (text) return this.print(text);
    this.print(`checked ${report.images} images, ${report.blobs} blobs, ${report.layers} layers\n`);
    for (const p of report.problems) this.print(`${p.repaired ? 'repaired' : 'found'}: ${p.kind} ${p.subject}: ${p.detail}\n`);
    if (report.problems.length === 0) this.print('no problems found\n');
    else if (!flags.repair && report.problems.some((p) => !p.repaired)) this.print('run tsc system check --repair to fix what can be fixed\n');
    if (report.problems.some((p) => p.kind === 'missing-blob' || p.kind === 'corrupt-blob')) this.exit(1);
  }
}
