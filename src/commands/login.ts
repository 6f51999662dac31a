import { Args, Flags } from '@oclif/core';
import { TscCommand, tlsVerifyFlag } from '../cli/base.ts';
import * as engine from '../engine/index.ts';

export default class Login extends TscCommand {
  static override summary = 'Log in to a registry';
  static override args = { registry: Args.string({ required: false, description: 'registry host (default docker.io)' }) };
  static override flags = {
    username: Flags.string({ char: 'u', description: 'user name' }),
    password: Flags.string({ char: 'p', description: 'password (prefer --password-stdin)' }),
    'password-stdin': Flags.boolean({ description: 'read the password from stdin' }),
    'tls-verify': tlsVerifyFlag,
  };

  async run(): Promise<void> {
    const { args, flags } = await this.parse(Login);
    this.applyGlobalFlags(flags);
    const username = flags.username ?? (await ask('Username: '));
    let password = flags.password;
    if (flags['password-stdin']) {
      const chunks: Buffer[] = [];
      for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
      password = Buffer.concat(chunks).toString('utf8').replace(/\r?\n$/, '');
    }
    if (password === undefined) password = await ask('Password: ');
    const result = await engine.login({ registry: args.registry ?? '', username, password, tlsVerify: flags['tls-verify'] });
    this.print(`Login Succeeded! (${result.registry}, stored in ${result.file})\n`);
  }
}

async function ask(prompt: string): Promise<string> {
  // loaded only when a prompt is needed: readline is not free at start-up
  const { createInterface } = await import('node:readline/promises');
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    return (await rl.question(prompt)).trim();
  } finally {
    rl.close();
  }
}
