/**
 * The host's network facts the backends copy (default routes, addresses, resolv.conf,
 * hosts). Part of src/engine/sys: the only engine code that reads /proc and /etc.
 */
import { networkInterfaces } from 'node:os';
import { parseDefaultRoute4, parseDefaultRoute6, type HostNetwork } from '../network/hostnet.ts';
import { readTextIfExists } from './files.ts';

export interface HostNetworkPaths {
  resolvConf?: string;
  hosts?: string;
}

export async function readHostNetwork(paths: HostNetworkPaths = {}): Promise<HostNetwork> {
  const [route4, route6, resolvConf, hosts] = await Promise.all([
    readTextIfExists('/proc/net/route'),
    readTextIfExists('/proc/net/ipv6_route'),
    readTextIfExists(paths.resolvConf ?? '/etc/resolv.conf'),
    readTextIfExists(paths.hosts ?? '/etc/hosts'),
  ]);
  const v4 = parseDefaultRoute4(route4 ?? '');
  const v6 = parseDefaultRoute6(route6 ?? '');
  const addresses = (name: string | undefined) => (name === undefined ? [] : networkInterfaces()[name] ?? []);
  const address4 = addresses(v4?.interface).find((a) => a.family === 'IPv4')?.address;
  const address6 = addresses(v6?.interface).find((a) => a.family === 'IPv6' && !a.address.startsWith('fe80'))?.address;
  return {
    ...(v4 !== undefined ? { interface: v4.interface, gateway4: v4.gateway } : {}),
    ...(address4 !== undefined ? { address4 } : {}),
    ...(v6 !== undefined ? { gateway6: v6.gateway } : {}),
    ...(address6 !== undefined ? { address6 } : {}),
    resolvConf: resolvConf ?? '',
    hosts: hosts ?? '',
  };
}
