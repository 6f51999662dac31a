/**
 * The slirp4netns backend (Debian 12: slirp4netns 1.2.0): the argv of the monitor's
 * network `hook`, run with `hook-ready-fd N` (slirp4netns writes "1" to --ready-fd once
 * tap0 is configured, and keeps running until the monitor SIGTERMs it when the
 * container ends; it also exits by itself when its --exit-fd closes, which tsc does not
 * use because the monitor already owns its lifetime).
 *
 * The container sees tap0 10.0.2.100/24, gateway 10.0.2.2, DNS forwarder 10.0.2.3
 * (slirp's own, which asks the host's resolvers); --disable-host-loopback keeps the
 * gateway from reaching the host's 127.0.0.1.
 *
 * Published ports are refused with slirp4netns. Forwarding would need `add_hostfwd`
 * requests on its --api-socket after it is ready: a second program the monitor runs
 * after the first hook's ready byte, a socket path per container, and removal on
 * restart; and slirp's forwarding hides the client's address. pasta does all of that
 * in one process with the client address kept, is in the same distributions
 * (Debian 12: passt), and is the default, so -p points the user there.
 */
import { TscError } from '../errors.ts';
import { PID_PLACEHOLDER } from './pasta.ts';
import type { PortMapping } from './ports.ts';

export const SLIRP_DNS = '10.0.2.3';
export const SLIRP_GATEWAY = '10.0.2.2';
export const SLIRP_ADDRESS = '10.0.2.100';

export interface SlirpOptions {
  program: string;
  ports: readonly PortMapping[];
  /** the descriptor the monitor passes for `hook-ready-fd` */
  readyFd: number;
}

export function slirpHookArgv(options: SlirpOptions): string[] {
  if (options.ports.length > 0) {
    const first = options.ports[0] as PortMapping;
    throw new TscError('unsupported', `--publish ${first.hostPort}:${first.containerPort}/${first.protocol} is not supported with --network slirp4netns`, {
      hint: 'use --network pasta (install passt) to publish ports',
    });
  }
  return [
    options.program,
    '--configure',
    '--mtu=65520',
    '--disable-host-loopback',
    `--ready-fd=${options.readyFd}`,
    PID_PLACEHOLDER,
    'tap0',
  ];
}
