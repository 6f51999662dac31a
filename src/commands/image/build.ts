import { Args, Flags } from '@oclif/core';
import { buffer as readAll } from 'node:stream/consumers';
import { TscCommand } from '../../cli/base.ts';
import * as engine from '../../engine/index.ts';

export default class ImageBuild extends TscCommand {
  static override summary = 'Build an image from a Dockerfile';
  static override description = 'Runs the Dockerfile\'s stages rootless, without a daemon: RUN steps in temporary containers (network none unless --network host), each filesystem change one layer, every step cached by its parent, its instruction and what it copies.';
  static override aliases = ['build'];
  static override args = { context: Args.string({ required: true, description: 'the build context directory, or - to read a Dockerfile (with no context) from stdin' }) };
  static override flags = {
    file: Flags.string({ char: 'f', description: 'the Dockerfile (default CONTEXT/Dockerfile); - reads it from stdin' }),
    tag: Flags.string({ char: 't', multiple: true, multipleNonGreedy: true, description: 'name the image REPOSITORY[:TAG] (repeatable)' }),
    'build-arg': Flags.string({ multiple: true, multipleNonGreedy: true, description: 'set a build argument KEY=VALUE (KEY alone: from the environment)' }),
    target: Flags.string({ description: 'build up to this stage' }),
    'no-cache': Flags.boolean({ description: 'run every step again' }),
    layers: Flags.boolean({ default: true, allowNo: true, description: 'use and record the build cache (--layers=false or --no-layers: neither, as podman)' }),
    quiet: Flags.boolean({ char: 'q', description: 'print only the image id' }),
    label: Flags.string({ multiple: true, multipleNonGreedy: true, description: 'add a label KEY=VALUE to the image' }),
    iidfile: Flags.string({ description: 'write the image id to this file' }),
    pull: Flags.boolean({ description: 'pull base images even when they are present' }),
    squash: Flags.boolean({ description: 'make the layers the build adds one layer (the base image\'s stay)' }),
    network: Flags.option({ options: ['none', 'host', 'pasta', 'slirp4netns'] as const, description: 'network of RUN steps (default none)' })(),
  };
  static override examples = ['<%= config.bin %> build -t app:1 .', '<%= config.bin %> build -f docker/Dockerfile --build-arg VERSION=2 --target runtime -t app:2 .', 'echo "FROM busybox" | <%= config.bin %> build -t bb -'];

  async run(): Promise<void> {
    const { args, flags } = await this.parse(ImageBuild);
    this.applyGlobalFlags(flags);
    const stdin = args.context === '-';
    const quiet = flags.quiet;
    let lineStart = true;
    const out = (s: string) => {
      if (quiet || s === '') return;
      process.stdout.write(s);
      lineStart = s.endsWith('\n');
    };
    /** a line of the log, after whatever a RUN step printed without a final newline */
    const line = (s: string) => out(`${lineStart ? '' : '\n'}${s}\n`);
    let lastStep = 0;
    if (flags.file === '-' && stdin) throw new engine.TscError('invalid-argument', 'stdin cannot be both the context and the Dockerfile', { hint: 'give a context directory, or drop -f -' });
    const input = stdin || flags.file === '-' ? await readInput(stdin) : undefined;
    const controller = new AbortController();
    const onSignal = () => controller.abort();
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
    try {
      const result = await engine.build({
        context: stdin ? undefined : args.context,
        contextTar: input?.kind === 'tar' ? input.bytes : undefined,
        dockerfile: flags.file === '-' ? undefined : flags.file,
        // `-` as the context or as -f: the Dockerfile comes on stdin (or, as the context, a tar of the context)
        dockerfileText: input?.kind === 'dockerfile' ? input.bytes.toString('utf8') : undefined,
        tags: flags.tag,
        buildArgs: flags['build-arg'],
        target: flags.target,
        noCache: flags['no-cache'],
        layers: flags.layers,
        labels: flags.label,
        pull: flags.pull,
        squash: flags.squash,
        network: flags.network,
        signal: controller.signal,
        onEvent: (event) => {
          switch (event.kind) {
            case 'step':
              line(`STEP ${event.index}/${event.count}: ${event.text}`);
              lastStep = event.index;
              break;
            case 'output':
              out(event.chunk.toString('utf8'));
              break;
            case 'step-done': {
              // a step that made a layer says how long it took, one answered from the cache says so;
              // when stages run side by side, which step it was
              const which = event.index === lastStep ? '' : `STEP ${event.index}: `;
              if (event.outcome === 'cached') line(`--> ${which}CACHED`);
              if (event.outcome === 'layer') line(`--> ${which}${(event.ms / 1000).toFixed(1)}s`);
              break;
            }
            case 'note':
              line(`--> ${event.message}`);
              break;
          }
        },
      });
      if (flags.iidfile) {
        const { writeFile } = await import('node:fs/promises');
        await writeFile(flags.iidfile, result.id);
      }
      for (const tag of result.tags) line(`Successfully tagged ${tag}`);
      this.print(`${result.id}\n`);
    } catch (error) {
      if (!lineStart) process.stdout.write('\n');
      if (controller.signal.aborted) {
        process.stderr.write('Error: the build was interrupted; nothing was recorded\n');
        this.exit(130);
      }
      throw error;
    } finally {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    }
  }
}

/** What `-` brought on stdin: a tar (plain or compressed) of the context, or a Dockerfile. */
async function readInput(contextOnStdin: boolean): Promise<{ kind: 'tar' | 'dockerfile'; bytes: Buffer }> {
  const bytes = await readAll(process.stdin);
  const compressed = bytes.length >= 4 && ((bytes[0] === 0x1f && bytes[1] === 0x8b) || bytes.readUInt32LE(0) === 0xfd2fb528);
  const tar = bytes.length >= 512 && bytes.toString('latin1', 257, 262) === 'ustar';
  return { kind: contextOnStdin && (compressed || tar) ? 'tar' : 'dockerfile', bytes };
}
