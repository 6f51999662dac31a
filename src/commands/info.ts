import { Flags } from '@oclif/core';
import { TscCommand, formatFlag } from '../cli/base.ts';
import { formatValue } from '../cli/output.ts';
import { renderInfo } from '../cli/render/info.ts';
import * as engine from '../engine/index.ts';

export default class Info extends TscCommand {
  static override summary = 'Show what this host offers containers, and how to fix what is missing';
  static override description =
    'Probes the kernel for real as the current user: user namespaces, subordinate id mapping, overlay mounts, devices, network helpers and cgroups. Exits 0 even when something is missing, unless --strict.';
  static override aliases = ['system:info'];
  static override flags = {
    format: formatFlag,
    strict: Flags.boolean({ description: 'exit 1 if anything rootless containers need is missing' }),
  };
  static override examples = ['<%= config.bin %> info', '<%= config.bin %> info --format json', '<%= config.bin %> info --strict'];

  async run(): Promise<void> {
    const { flags } = await this.parse(Info);
    this.applyGlobalFlags(flags);
    const report = await engine.info();
    this.print(formatValue(report, flags.format) ?? renderInfo(report));
    if (flags.strict && !report.ready) this.exit(1);
  }
}
