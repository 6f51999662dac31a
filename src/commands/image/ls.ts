import { Args, Flags } from '@oclif/core';
import { TscCommand } from '../../cli/base.ts';
import { formatItems } from '../../cli/output.ts';
import { renderTable } from '../../cli/render/table.ts';
import * as engine from '../../engine/index.ts';

export default class ImageLs extends TscCommand {
  static override summary = 'List images';
  static override aliases = ['images', 'image:list'];
  static override args = { reference: Args.string({ required: false, description: 'only this repository (and tag)' }) };
  static override flags = {
    all: Flags.boolean({ char: 'a', description: 'also the intermediate images that hold the build cache' }),
    quiet: Flags.boolean({ char: 'q', description: 'only image ids' }),
    digests: Flags.boolean({ description: 'show digests' }),
    'no-trunc': Flags.boolean({ description: 'do not shorten ids' }),
    filter: Flags.string({ char: 'f', multiple: true, multipleNonGreedy: true, description: 'dangling=true|false, reference=PATTERN' }),
    format: Flags.string({ description: "'json', 'table {{.Repository}}\\t{{.Tag}}', or a Go template per image" }),
  };

  async run(): Promise<void> {
    const { args, flags } = await this.parse(ImageLs);
    this.applyGlobalFlags(flags);
    const rows = await engine.listImages({ reference: args.reference, filters: flags.filter, all: flags.all });
    const id = (full: string) => (flags['no-trunc'] ? full : full.slice(7, 19));
    if (flags.quiet) {
      this.print([...new Set(rows.map((r) => id(r.ID)))].map((i) => `${i}\n`).join(''));
      return;
    }
    if (flags.format) {
      this.print(formatItems(rows, flags.format));
      return;
    }
    const header = ['REPOSITORY', 'TAG', ...(flags.digests ? ['DIGEST'] : []), 'IMAGE ID', 'CREATED', 'SIZE'];
    this.print(renderTable(header, rows.map((r) => [r.Repository, r.Tag, ...(flags.digests ? [r.Digest] : []), id(r.ID), r.CreatedSince, r.Size])));
  }
}
