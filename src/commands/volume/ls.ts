import { Flags } from '@oclif/core';
import { TscCommand } from '../../cli/base.ts';
import { formatItems } from '../../cli/output.ts';
import { renderTable } from '../../cli/render/table.ts';
import * as engine from '../../engine/index.ts';

export default class VolumeLs extends TscCommand {
  static override summary = 'List volumes';
  static override aliases = ['volume:list'];
  static override flags = {
    quiet: Flags.boolean({ char: 'q', description: 'only volume names' }),
    filter: Flags.string({ char: 'f', multiple: true, multipleNonGreedy: true, description: 'name=NAME, label=KEY[=VALUE], dangling=true|false, driver=local' }),
    format: Flags.string({ description: "'json', 'table {{.Name}}\\t{{.Mountpoint}}', or a Go template per volume" }),
  };

  async run(): Promise<void> {
    const { flags } = await this.parse(VolumeLs);
    this.applyGlobalFlags(flags);
    const rows = await engine.listVolumes({ filters: flags.filter });
    if (flags.quiet) return this.print(rows.map((r) => `${r.Name}\n`).join(''));
    if (flags.format) return this.print(formatItems(rows, flags.format));
    this.print(renderTable(['DRIVER', 'VOLUME NAME'], rows.map((r) => [r.Driver, r.Name])));
  }
}
