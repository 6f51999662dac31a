import { Args } from '@oclif/core';
import { TscCommand } from '../cli/base.ts';
import * as engine from '../engine/index.ts';

export default class Logout extends TscCommand {
  static override summary = 'Log out of a registry';
  static override args = { registry: Args.string({ required: false, description: 'registry host (default docker.io)' }) };

  async run(): Promise<void> {
    const { args, flags } = await this.parse(Logout);
    this.applyGlobalFlags(flags);
    const result = await engine.logout(args.registry);
    if (!result.removed) {
      process.stderr.write(`Not logged in to ${result.registry}.\n`);
      return;
    }
    this.print(`Removed login credentials for ${result.registry}\n`);
  }
}
