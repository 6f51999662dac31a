import { Args, Flags } from '@oclif/core';
import { TscCommand } from '../../cli/base.ts';
import { createFlags, createOptions, terminalIo } from '../../cli/container-flags.ts';
import * as engine from '../../engine/index.ts';

export default class ContainerRun extends TscCommand {
  static override summary = 'Run a command in a new container';
  static override description =
    'Creates and starts a container with its own user, mount, pid, uts, ipc, cgroup and network namespaces, the default seccomp profile and capabilities. In the foreground tsc relays its stdio until it ends and exits with its exit code; with -d it prints the id and returns while the container keeps running under its monitor.';
  static override aliases = ['run'];
  static override strict = false;
  static override args = { image: Args.string({ required: true, description: 'image name or id' }) };
  static override flags = {
    ...createFlags,
    detach: Flags.boolean({ char: 'd', description: 'run in the background and print the container id' }),
    'detach-keys': Flags.string({ description: 'key sequence to detach (default ctrl-p,ctrl-q)' }),
    'sig-proxy': Flags.boolean({ default: true, allowNo: true, description: 'forward the signals tsc receives to the container (not with -t)' }),
  };
  static override examples = [
    '<%= config.bin %> run --rm busybox echo hi',
    '<%= config.bin %> run -d --name web -p 127.0.0.1:8080:80 busybox httpd -f -p 80',
    '<%= config.bin %> run -it --rm busybox sh',
  ];

  async run(): Promise<void> {
    const { args, argv, flags } = await this.parse(ContainerRun);
    this.applyGlobalFlags(flags);
    const options = createOptions(args.image, (argv as string[]).slice(1), flags);
    if (flags.detach) {
      const result = await engine.runContainer({ ...options, detach: true });
      this.print(`${result.id}\n`);
      return;
    }
    const terminal = terminalIo({ tty: flags.tty, interactive: flags.interactive, detachKeys: flags['detach-keys'], sigProxy: flags['sig-proxy'] });
    let result: engine.RunResult;
    try {
      result = await engine.runContainer({ ...options, io: terminal.io });
    } finally {
      terminal.restore();
    }
    if (result.detached) {
      process.stderr.write(`\nDetached from ${result.name}; it keeps running (tsc attach ${result.name})\n`);
      this.exit(0);
    }
    this.exit(result.exitCode ?? 0);
  }
}
