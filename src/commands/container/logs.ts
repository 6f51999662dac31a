import { Args, Flags } from '@oclif/core';
import { TscCommand } from '../../cli/base.ts';
import * as engine from '../../engine/index.ts';

export default class ContainerLogs extends TscCommand {
  static override summary = "Show a container's output";
  static override description =
    "The container's stdout goes to stdout and its stderr to stderr. --tail picks the last lines first, then --since/--until filter them (as docker). --since/--until take an RFC 3339 time (2024-01-02T15:04:05Z; without a zone: local time), a Unix timestamp (1700000000.5) or a duration before now (42s, 10m, 1h30m).";
  static override aliases = ['logs'];
  static override args = { container: Args.string({ required: true, description: 'container name or id' }) };
  static override flags = {
    follow: Flags.boolean({ char: 'f', description: 'keep printing new output until the container stops' }),
    tail: Flags.string({ char: 'n', default: 'all', description: "number of lines to show from the end, or 'all'" }),
    since: Flags.string({ description: 'only output from this time on (time, Unix timestamp or duration)' }),
    until: Flags.string({ description: 'only output up to this time (time, Unix timestamp or duration)' }),
    timestamps: Flags.boolean({ char: 't', description: 'prefix each line with its time (RFC 3339, nanoseconds)' }),
  };
  static override examples = ['<%= config.bin %> logs --tail 20 web', '<%= config.bin %> logs -f --since 10m web'];

  async run(): Promise<void> {
    const { args, flags } = await this.parse(ContainerLogs);
    this.applyGlobalFlags(flags);
    try {
      await engine.readContainerLogs(
        args.container,
        { tail: flags.tail, since: flags.since, until: flags.until, timestamps: flags.timestamps, follow: flags.follow },
        { stdout: process.stdout, stderr: process.stderr },
      );
    } catch (error) {
      // the reader went away (`tsc logs web | head`): not a failure
      if (engine.errnoCode(error) === 'EPIPE') return;
      throw error;
    }
  }
}
