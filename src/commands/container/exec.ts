import { Args, Flags } from '@oclif/core';
import { TscCommand } from '../../cli/base.ts';
import * as engine from '../../engine/index.ts';

export default class ContainerExec extends TscCommand {
  static override summary = 'Run a command in a running container';
  static override aliases = ['exec'];
  static override strict = false;
  static override args = { container: Args.string({ required: true, description: 'name or id' }) };
  static override flags = {
    interactive: Flags.boolean({ char: 'i', description: 'keep stdin open' }),
    tty: Flags.boolean({ char: 't', description: 'allocate a terminal' }),
    detach: Flags.boolean({ char: 'd', description: 'run the command in the background' }),
    user: Flags.string({ char: 'u', description: 'name|uid[:group|gid]' }),
    env: Flags.string({ char: 'e', multiple: true, multipleNonGreedy: true, description: 'KEY=VALUE' }),
    workdir: Flags.string({ char: 'w', description: 'working directory inside the container' }),
    privileged: Flags.boolean({ description: 'all capabilities, no seccomp filter' }),
  };

  async run(): Promise<void> {
    const { args, argv, flags } = await this.parse(ContainerExec);
    this.applyGlobalFlags(flags);
    const raw = flags.tty && flags.interactive && process.stdin.isTTY === true && !flags.detach;
    if (raw) process.stdin.setRawMode(true);
    let code: number;
    try {
      code = await engine.execContainer({
        container: args.container,
        command: (argv as string[]).slice(1),
        interactive: flags.interactive,
        tty: flags.tty,
        detach: flags.detach,
        user: flags.user,
        env: flags.env,
        workdir: flags.workdir,
        privileged: flags.privileged,
        ttySize: process.stdout.isTTY ? { rows: process.stdout.rows, cols: process.stdout.columns } : undefined,
        onError: (message) => process.stderr.write(`Error: ${message}\n`),
      });
    } finally {
      if (raw) process.stdin.setRawMode(false);
    }
    if (code !== 0) this.exit(code);
  }
}
