import { Flags } from '@oclif/core';
import { TscCommand } from '../../cli/base.ts';
import { confirm } from '../../cli/confirm.ts';
import { formatValue } from '../../cli/output.ts';
import { humanSize4 } from '../../cli/render/size.ts';
import * as engine from '../../engine/index.ts';

export default class VolumePrune extends TscCommand {
  static override summary = 'Remove unused volumes (anonymous ones unless -a)';
  static override flags = {
    all: Flags.boolean({ char: 'a', description: 'remove every unused volume, not only anonymous ones' }),
    force: Flags.boolean({ char: 'f', description: 'do not ask for confirmation' }),
    filter: Flags.string({ multiple: true, multipleNonGreedy: true, description: 'label=KEY[=VALUE], label!=KEY[=VALUE]' }),
    format: Flags.string({ description: "'json' or a Go template" }),
  };

  async run(): Promise<void> {
    const { flags } = await this.parse(VolumePrune);
    this.applyGlobalFlags(flags);
    if (!flags.force) {
      const what = flags.all ? 'all local volumes' : 'anonymous local volumes';
      process.stderr.write(`WARNING! This will remove ${what} not used by at least one container.\n`);
      if (!(await confirm())) {
        process.stderr.write('Not removing anything (answer y, or use --force).\n');
        return;
      }
    }
    const result = await engine.pruneVolumes({ all: flags.all, filters: flags.filter });
    const text = formatValue(result, flags.format);
    if (text) return this.print(text);
    if (result.deleted.length > 0) this.print(`Deleted Volumes:\n${result.deleted.map((n) => `${n}\n`).join('')}\n`);
    this.print(`Total reclaimed space: ${humanSize4(result.reclaimedBytes)}\n`);
  }
}
