import { Flags } from '@oclif/core';
import { createInterface } from 'node:readline/promises';
import { TscCommand } from '../../cli/base.ts';
import * as engine from '../../engine/index.ts';
import { TscError } from '../../engine/index.ts';

export default class ContainerPrune extends TscCommand {
  static override summary = 'Remove all stopped containers';
  static override flags = {
    force: Flags.boolean({ char: 'f', description: 'do not ask for confirmation' }),
    filter: Flags.string({ multiple: true, multipleNonGreedy: true, description: 'label=KEY[=VALUE]' }),
  };

  async run(): Promise<void> {
    const { flags } = await this.parse(ContainerPrune);
    this.applyGlobalFlags(flags);
    const labels = (flags.filter ?? []).map((f) => {
      if (!f.startsWith('label=')) throw new TscError('invalid-argument', `invalid filter ${JSON.stringify(f)}`, { hint: 'supported: label=KEY[=VALUE]' });
      return f.slice(6);
    });
    if (!flags.force) {
      if (!process.stdin.isTTY) throw new TscError('invalid-argument', 'container prune asks for confirmation, but stdin is not a terminal', { hint: 'use --force' });
      const rl = createInterface({ input: process.stdin, output: process.stderr });
      const answer = await rl.question('WARNING! This will remove all stopped containers.\nAre you sure you want to continue? [y/N] ');
      rl.close();
      if (!/^y(es)?$/i.test(answer.trim())) return;
    }
    const result = await engine.pruneContainers(labels);
    if (result.removed.length > 0) this.print(`Deleted Containers:\n${result.removed.map((id) => `${id}\n`).join('')}\n`);
    for (const e of result.errors) process.stderr.write(`Error: ${e.error?.message}\n`);
    if (result.errors.length > 0) this.exit(1);
  }
}
