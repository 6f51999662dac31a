import { TscCommand, formatFlag } from '../cli/base.ts';
import { formatValue } from '../cli/output.ts';
import * as engine from '../engine/index.ts';

export default class Version extends TscCommand {
  static override summary = 'Show the tsc version';
  static override aliases = ['system:version'];
  static override flags = { format: formatFlag };
  static override examples = ['<%= config.bin %> version', "<%= config.bin %> version --format '{{.version}}'"];

  async run(): Promise<void> {
    const { flags } = await this.parse(Version);
    this.applyGlobalFlags(flags);
    const v = engine.version();
    this.print(
      formatValue(v, flags.format) ??
        `Version:     ${v.version}\nCommit:      ${v.commit}\nNode:        ${v.node}\nOS/Arch:     ${v.os}/${v.arch}\n`,
    );
  }
}
