import { Flags } from '@oclif/core';
import { TscCommand } from '../../cli/base.ts';
import { formatItems } from '../../cli/output.ts';
import { renderTable } from '../../cli/render/table.ts';
import * as engine from '../../engine/index.ts';

export default class ContainerLs extends TscCommand {
  static override summary = 'List containers';
  static override aliases = ['ps', 'container:list', 'container:ps'];
  static override flags = {
    all: Flags.boolean({ char: 'a', description: 'show all containers (default: running ones)' }),
    quiet: Flags.boolean({ char: 'q', description: 'only container ids' }),
    latest: Flags.boolean({ char: 'l', description: 'only the latest created container' }),
    last: Flags.integer({ char: 'n', description: 'the last N created containers (any state)' }),
    'no-trunc': Flags.boolean({ description: 'do not shorten ids and commands' }),
    filter: Flags.string({ char: 'f', multiple: true, multipleNonGreedy: true, description: 'id=, name=, status=, exited=, label=, ancestor=' }),
    format: Flags.string({ description: "'json', 'table {{.ID}}\\t{{.Names}}', or a Go template per container" }),
  };

  async run(): Promise<void> {
    const { flags } = await this.parse(ContainerLs);
    this.applyGlobalFlags(flags);
    const rows = await engine.listContainers({ all: flags.all, latest: flags.latest, last: flags.last, filters: flags.filter });
    const id = (full: string) => (flags['no-trunc'] ? full : full.slice(0, 12));
    if (flags.quiet) {
      this.print(rows.map((r) => `${id(r.ID)}\n`).join(''));
      return;
    }
    if (flags.format) {
      this.print(formatItems(rows.map((r) => ({ ...r, ID: id(r.ID) })), flags.format));
      return;
    }
    const command = (text: string) => JSON.stringify(flags['no-trunc'] || text.length <= 20 ? text : `${text.slice(0, 19)}…`);
    this.print(renderTable(
      ['CONTAINER ID', 'IMAGE', 'COMMAND', 'CREATED', 'STATUS', 'PORTS', 'NAMES'],
      rows.map((r) => [id(r.ID), r.Image, command(r.Command), r.RunningFor, r.Status, r.Ports, r.Names]),
    ));
  }
}
