import { Args, Flags } from '@oclif/core';
import { TscCommand } from '../../cli/base.ts';
import * as engine from '../../engine/index.ts';

export default class ContainerCommit extends TscCommand {
  static override summary = 'Make an image of a container\'s changes';
  static override description = 'The container\'s changes become one new layer on top of its image\'s layers. The container is not paused while its files are read.';
  static override aliases = ['commit'];
  static override args = {
    container: Args.string({ required: true, description: 'container name or id' }),
    reference: Args.string({ required: false, description: 'name the image REPOSITORY[:TAG]' }),
  };
  static override flags = {
    change: Flags.string({ char: 'c', multiple: true, multipleNonGreedy: true, description: 'apply a Dockerfile instruction: CMD, ENTRYPOINT, ENV, EXPOSE, HEALTHCHECK, LABEL, ONBUILD, STOPSIGNAL, USER, VOLUME, WORKDIR' }),
    message: Flags.string({ char: 'm', description: 'the history comment' }),
    author: Flags.string({ char: 'a', description: 'the author (e.g. "Jane <jane@example.com>")' }),
    pause: Flags.boolean({ char: 'p', default: true, allowNo: true, description: 'accepted for docker compatibility; the container is not paused' }),
  };
  static override examples = ['<%= config.bin %> commit -m "add curl" --change \'CMD ["sh"]\' web app:2'];

  async run(): Promise<void> {
    const { args, flags } = await this.parse(ContainerCommit);
    this.applyGlobalFlags(flags);
    const result = await engine.commitContainer({ container: args.container, reference: args.reference, message: flags.message, author: flags.author, changes: flags.change });
    this.print(`${result.id}\n`);
  }
}
