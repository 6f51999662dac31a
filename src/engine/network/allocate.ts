/**
 * Choosing host ports for `-p 80`, `-p IP::80`, `-p 8000-8010:80` and -P: bind port 0
 * (or each port of the range) on the requested host address with the requested
 * protocol, read the port the kernel gave, close the socket.
 *
 * The race: the port is free when we look and is taken for real only when the backend
 * (pasta) binds it a moment later; another program may take it in between. Then the
 * backend fails to start (the hook's error names the port) and `tsc run` reports it;
 * running again picks another port. Docker closes this window by keeping the socket
 * open and handing it over; pasta (Debian 12's build) cannot take a bound socket, so we
 * accept the window, which is the same podman has with pasta.
 */
import { createSocket } from 'node:dgram';
import { createServer } from 'node:net';
import { TscError } from '../errors.ts';
import type { PortMapping, PortRequest, Protocol } from './ports.ts';

/** Binds `port` (0 = any) on `ip` ('' = every address) and returns the port bound, or undefined when it is in use. */
export type ProbePort = (ip: string, port: number, protocol: Protocol) => Promise<number | undefined>;

export const probePort: ProbePort = (ip, port, protocol) =>
  new Promise((resolve, reject) => {
    const busy = (error: NodeJS.ErrnoException): void => {
      if (error.code === 'EADDRINUSE' || error.code === 'EACCES') resolve(undefined);
      else reject(new TscError('system', `cannot bind ${protocol} port ${port} on ${ip === '' ? 'every address' : ip}: ${error.message}`, { cause: error }));
    };
    if (protocol === 'udp') {
      const socket = createSocket({ type: ip.includes(':') ? 'udp6' : ip === '' ? 'udp6' : 'udp4', ipv6Only: false });
      socket.once('error', busy);
      socket.bind({ port, address: ip === '' ? '::' : ip, exclusive: true }, () => {
        const bound = socket.address().port;
        socket.close(() => resolve(bound));
      });
      return;
    }
    // tcp, and sctp approximated by tcp (Node has no sctp sockets)
    const server = createServer();
    server.once('error', busy);
    server.listen({ port, host: ip === '' ? '::' : ip, exclusive: true, ipv6Only: false }, () => {
      const address = server.address();
      const bound = typeof address === 'object' && address !== null ? address.port : port;
      server.close(() => resolve(bound));
    });
  });

/** Gives every request a concrete host port; fixed ports are kept as they are (the backend reports a clash). */
export async function allocatePorts(requests: readonly PortRequest[], probe: ProbePort = probePort): Promise<PortMapping[]> {
  const out: PortMapping[] = [];
  const chosen = new Set<string>();
  for (const r of requests) {
    let hostPort = r.hostPort;
    if (hostPort === 0 && r.hostRange !== undefined) {
      for (let p = r.hostRange[0]; p <= r.hostRange[1] && hostPort === 0; p++) {
        if (chosen.has(`${p}/${r.protocol}`)) continue;
        if ((await probe(r.hostIp, p, r.protocol)) !== undefined) hostPort = p;
      }
      if (hostPort === 0) {
        throw new TscError('conflict', `no free ${r.protocol} port in ${r.hostRange[0]}-${r.hostRange[1]} for container port ${r.containerPort}`, { hint: 'free one of those ports or publish a wider range' });
      }
    } else if (hostPort === 0) {
      for (let attempt = 0; attempt < 10 && hostPort === 0; attempt++) {
        const p = await probe(r.hostIp, 0, r.protocol);
        if (p !== undefined && !chosen.has(`${p}/${r.protocol}`)) hostPort = p;
      }
      if (hostPort === 0) throw new TscError('system', `could not find a free ${r.protocol} port for container port ${r.containerPort}`);
    }
    chosen.add(`${hostPort}/${r.protocol}`);
    out.push({ hostIp: r.hostIp, hostPort, containerPort: r.containerPort, protocol: r.protocol });
  }
  return out;
}
