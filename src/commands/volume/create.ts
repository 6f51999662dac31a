import { Args, Flags } from '@oclif/core';
import { TscCommand } from '../../cli/base.ts';
import { parseKeyValues } from '../../cli/key-values.ts';
import { formatValue } from '../../cli/output.ts';
import * as engine from '../../engine/index.ts';

export default class VolumeCreate extends TscCommand {
  static override summary = 'Create a volume';
  static override args = { name: Args.string({ required: false, description: 'the volume name (default: 64 random hex digits)' }) };
  static override flags = {
    driver: Flags.string({ char: 'd', default: 'local', description: 'volume driver (only local)' }),
    label: Flags.string({ char: 'l', multiple: true, multipleNonGreedy: true, description: 'set metadata, KEY=VALUE' }),
    opt: Flags.string({ char: 'o', multiple: true, multipleNonGreedy: true, description: 'driver option KEY=VALUE (the local driver\'s type/device/o are not supported yet)' }),
    format: Flags.string({ description: "print the volume as 'json' or a Go template instead of its name" }),
  };

  async run(): Promise<void> {
    const { args, flags } = await this.parse(VolumeCreate);
    this.applyGlobalFlags(flags);
    const volume = await engine.createVolume({
      name: args.name,
      driver: flags.driver,
      labels: parseKeyValues('--label', flags.label ?? []),
      options: parseKeyValues('--opt', flags.opt ?? []),
    });
    this.print(formatValue(volume, flags.format) ?? `${volume.Name}\n`);
  }
}
