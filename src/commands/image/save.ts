import { Args, Flags } from '@oclif/core';
import { TscCommand } from '../../cli/base.ts';
import * as engine from '../../engine/index.ts';

export default class ImageSave extends TscCommand {
  static override summary = 'Write images to a tar archive (docker-archive or oci-archive)';
  static override description = 'The archive holds the images\' blobs as stored (layers stay compressed), so docker load, podman load and tsc load restore them with the same ids.';
  static override aliases = ['save'];
  static override strict = false;
  static override args = { image: Args.string({ required: true, description: 'image names or ids' }) };
  static override flags = {
    output: Flags.string({ char: 'o', description: 'write to this file instead of stdout' }),
    format: Flags.option({
      options: ['docker-archive', 'oci-archive'] as const,
      default: 'docker-archive' as const,
      description: 'docker-archive (docker save\'s format; docker, podman and skopeo load it) or oci-archive (an OCI image layout)',
    })(),
  };
  static override examples = ['<%= config.bin %> save -o busybox.tar busybox', '<%= config.bin %> save --format oci-archive app:1 | gzip > app.oci.tar.gz'];

  async run(): Promise<void> {
    const { argv, flags } = await this.parse(ImageSave);
    this.applyGlobalFlags(flags);
    if (!flags.output && process.stdout.isTTY) {
      throw new engine.TscError('invalid-argument', 'refusing to write an image archive to a terminal', { hint: 'use -o FILE or redirect stdout' });
    }
    await engine.saveImages({ references: argv as string[], format: flags.format, output: flags.output ?? process.stdout });
  }
}
