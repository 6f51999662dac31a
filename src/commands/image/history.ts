import { Args, Flags } from '@oclif/core';
import { TscCommand } from '../../cli/base.ts';
import { formatItems } from '../../cli/output.ts';
import { renderTable } from '../../cli/render/table.ts';
import * as engine from '../../engine/index.ts';

export default class ImageHistory extends TscCommand {
  static override summary = 'Show how an image was built, newest layer first';
  static override aliases = ['history'];
  static override args = { image: Args.string({ required: true }) };
  static override flags = {
    quiet: Flags.boolean({ char: 'q', description: 'only ids' }),
    'no-trunc': Flags.boolean({ description: 'do not shorten ids and commands' }),
    format: Flags.string({ description: "'json' or a Go template per entry" }),
  };

  async run(): Promise<void> {
    const { args, flags } = await this.parse(ImageHistory);
    this.applyGlobalFlags(flags);
    const rows = await engine.imageHistory(args.image);
    const id = (full: string) => (full.startsWith('sha256:') && !flags['no-trunc'] ? full.slice(7, 19) : full);
    if (flags.quiet) return this.print(rows.map((r) => `${id(r.ID)}\n`).join(''));
    if (flags.format) return this.print(formatItems(rows, flags.format));
    const by = (text: string) => (flags['no-trunc'] || text.length <= 45 ? text : `${text.slice(0, 44)}…`);
    this.print(renderTable(['IMAGE', 'CREATED', 'CREATED BY', 'SIZE', 'COMMENT'], rows.map((r) => [id(r.ID), r.CreatedSince, by(r.CreatedBy), r.Size, r.Comment])));
  }
}
