import { Args, Flags } from '@oclif/core';
import { TscCommand, tlsVerifyFlag } from '../cli/base.ts';
import { formatItems } from '../cli/output.ts';
import { renderTable } from '../cli/render/table.ts';
import * as engine from '../engine/index.ts';

export default class Search extends TscCommand {
  static override summary = "Search a registry's catalog";
  static override args = { term: Args.string({ required: true, description: 'REGISTRY/TERM, e.g. 127.0.0.1:5000/app' }) };
  static override flags = {
    limit: Flags.integer({ default: 25, description: 'at most this many results' }),
    'list-tags': Flags.boolean({ description: 'list the tags of each repository' }),
    format: Flags.string({ description: "'json' or a Go template per result" }),
    'tls-verify': tlsVerifyFlag,
  };

  async run(): Promise<void> {
    const { args, flags } = await this.parse(Search);
    this.applyGlobalFlags(flags);
    const results = await engine.search({ term: args.term, limit: flags.limit, listTags: flags['list-tags'], tlsVerify: flags['tls-verify'] });
    if (flags.format) return this.print(formatItems(results, flags.format));
    if (flags['list-tags']) return this.print(renderTable(['NAME', 'TAG'], results.flatMap((r) => (r.Tags ?? []).map((t) => [r.Name, t]))));
    this.print(renderTable(['INDEX', 'NAME'], results.map((r) => [r.Index, r.Name])));
  }
}
