import { Args, Flags } from '@oclif/core';
import { TscCommand } from '../../cli/base.ts';
import { TscError } from '../../engine/index.ts';
import * as engine from '../../engine/index.ts';

export default class ContainerRun extends TscCommand {
  static override summary = 'Run a command in a new container (foreground, rootless)';
  static override description =
    'First cut: the container runs in the foreground with its own user, mount, pid, uts, ipc, cgroup and (isolated) network namespaces, the default seccomp profile and capabilities, and is removed when it exits (--rm is required until containers are kept).';
  static override aliases = ['run'];
  static override strict = false;
  static override args = { image: Args.string({ required: true, description: 'image name or id' }) };
  static override flags = {
    rm: Flags.boolean({ description: 'remove the container when it exits (required for now)' }),
    interactive: Flags.boolean({ char: 'i', description: 'keep stdin attached' }),
    tty: Flags.boolean({ char: 't', description: 'allocate a terminal (not supported yet)' }),
    env: Flags.string({ char: 'e', multiple: true, description: 'KEY=VALUE, or KEY to pass the host value' }),
    workdir: Flags.string({ char: 'w', description: 'working directory inside the container' }),
    user: Flags.string({ char: 'u', description: 'name|uid[:group|gid]' }),
    entrypoint: Flags.string({ description: 'override the image entrypoint' }),
    hostname: Flags.string({ char: 'h', description: 'container host name' }),
    'read-only': Flags.boolean({ description: 'mount the root filesystem read-only' }),
    tmpfs: Flags.string({ multiple: true, description: 'PATH[:OPTIONS] tmpfs mount' }),
    'cap-add': Flags.string({ multiple: true }),
    'cap-drop': Flags.string({ multiple: true }),
    privileged: Flags.boolean({ description: 'all capabilities, no seccomp, nothing masked' }),
    'security-opt': Flags.string({ multiple: true, description: 'no-new-privileges, seccomp=unconfined|FILE, ...' }),
    ulimit: Flags.string({ multiple: true, description: 'NAME=SOFT[:HARD]' }),
    pull: Flags.option({ options: ['missing', 'always', 'never'] as const, default: 'missing' })(),
  };
  static override examples = ['<%= config.bin %> run --rm busybox echo hi', '<%= config.bin %> run --rm -e A=1 busybox sh -c \'echo $A\''];

  async run(): Promise<void> {
    const { args, argv, flags } = await this.parse(ContainerRun);
    this.applyGlobalFlags(flags);
    if (flags.tty) throw new TscError('unsupported', '-t (a terminal) is not supported yet', { hint: 'run without -t' });
    const command = (argv as string[]).slice(1);
    const code = await engine.runContainer({
      image: args.image,
      command: command.length > 0 ? command : undefined,
      rm: flags.rm,
      interactive: flags.interactive,
      env: flags.env,
      workdir: flags.workdir,
      user: flags.user,
      entrypoint: flags.entrypoint,
      hostname: flags.hostname,
      readOnly: flags['read-only'],
      tmpfs: flags.tmpfs,
      capAdd: flags['cap-add'],
      capDrop: flags['cap-drop'],
      privileged: flags.privileged,
      securityOpt: flags['security-opt'],
      ulimits: flags.ulimit,
      pull: flags.pull,
      onNote: (message) => process.stderr.write(`note: ${message}\n`),
      onError: (message) => process.stderr.write(`Error: ${message}\n`),
    });
    if (code !== 0) this.exit(code);
  }
}
