import { Flags } from '@oclif/core';
import { TscCommand } from '../../cli/base.ts';
import { formatValue } from '../../cli/output.ts';
import * as engine from '../../engine/index.ts';

export default class ImagePrune extends TscCommand {
  static override summary = 'Remove unused images';
  static override flags = {
    all: Flags.boolean({ char: 'a', description: 'remove every image no container uses, not only unnamed ones' }),
    force: Flags.boolean({ char: 'f', description: 'do not ask for confirmation' }),
    format: Flags.string({ description: "'json' or a Go template" }),
  };

  async run(): Promise<void> {
    const { flags } = await this.parse(ImagePrune);
    this.applyGlobalFlags(flags);
    if (!flags.force) {
      const what = flags.all ? 'all images without at least one container associated to them' : 'all dangling images';
      process.stderr.write(`WARNING! This will remove ${what}.\n`);
      if (!(await confirm())) {
        process.stderr.write('Not removing anything (answer y, or use --force).\n');
        return;
      }
    }
    const result = await engine.pruneImages({ all: flags.all });
    const text = formatValue(result, flags.format);
    if (text) return this.print(text);
    if (result.deleted.length > 0) {
      this.print('Deleted Images:\n');
      for (const u of result.untagged) this.print(`untagged: ${u}\n`);
      for (const d of result.deleted) this.print(`deleted: ${d}\n`);
      this.print('\n');
    }
    this.print(`Total reclaimed space: ${(result.reclaimedBytes / 1e6).toFixed(1)}MB\n`);
  }
}

async function confirm(): Promise<boolean> {
  // loaded only when a prompt is needed: readline is not free at start-up
  const { createInterface } = await import('node:readline/promises');
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    const answer = await Promise.race([rl.question('Are you sure you want to continue? [y/N] '), new Promise<string>((resolve) => rl.once('close', () => resolve('')))]);
    return /^y(es)?$/i.test(answer.trim());
  } finally {
    rl.close();
  }
}
