import { Args } from '@oclif/core';
import { TscCommand } from '../../cli/base.ts';
import * as engine from '../../engine/index.ts';
import { TscError } from '../../engine/index.ts';

export default class ContainerPort extends TscCommand {
  static override summary = "List a container's published ports";
  static override aliases = ['port'];
  static override args = {
    container: Args.string({ required: true, description: 'name or id' }),
    port: Args.string({ required: false, description: 'PORT[/PROTO]: only this container port' }),
  };

  async run(): Promise<void> {
    const { args, flags } = await this.parse(ContainerPort);
    this.applyGlobalFlags(flags);
    let ports = await engine.containerPorts(args.container);
    if (args.port) {
      const match = /^(\d+)(?:\/(tcp|udp|sctp))?$/.exec(args.port);
      if (!match) throw new TscError('invalid-argument', `invalid port "${args.port}": expected PORT[/tcp|udp|sctp]`);
      ports = ports.filter((p) => p.containerPort === Number(match[1]) && p.protocol === (match[2] ?? 'tcp'));
      if (ports.length === 0) throw new TscError('not-found', `no public port ${match[1]}/${match[2] ?? 'tcp'} published for ${args.container}`);
      this.print(ports.map((p) => `${p.hostIp || '0.0.0.0'}:${p.hostPort}\n`).join(''));
      return;
    }
    this.print(ports.map((p) => `${p.containerPort}/${p.protocol} -> ${p.hostIp || '0.0.0.0'}:${p.hostPort}\n`).join(''));
  }
}
