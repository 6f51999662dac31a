/**
 * What the user-mode backends copy from the host, parsed from /proc/net/route and
 * /proc/net/ipv6_route (read by sys/netinfo.ts): pasta gives the container the host's
 * outbound interface name, address and gateway, so the generated /etc/hosts and
 * `host-gateway` need them too.
 */

export interface HostNetwork {
  /** the interface of the IPv4 default route */
  interface?: string;
  gateway4?: string;
  /** the host's first IPv4 address on that interface (pasta copies it) */
  address4?: string;
  gateway6?: string;
  address6?: string;
  /** the host's /etc/resolv.conf and /etc/hosts ('' when missing) */
  resolvConf: string;
  hosts: string;
}

const RTF_GATEWAY = 0x2;
const RTF_REJECT = 0x200;

/** The IPv4 default route of /proc/net/route (hex little-endian addresses). */
export function parseDefaultRoute4(text: string): { interface: string; gateway: string } | undefined {
  for (const line of text.split('\n').slice(1)) {
    const [iface, destination, gateway, flags, , , , mask] = line.trim().split(/\s+/);
    if (iface === undefined || gateway === undefined || flags === undefined) continue;
    if (destination !== '00000000' || mask !== '00000000') continue;
    if ((parseInt(flags, 16) & RTF_GATEWAY) === 0) continue;
    const n = parseInt(gateway, 16);
    return { interface: iface, gateway: [n & 255, (n >>> 8) & 255, (n >>> 16) & 255, n >>> 24].join('.') };
  }
  return undefined;
}

/** 32 hex digits as a compressed IPv6 address (URL does the RFC 5952 compression). */
function hex6(word: string): string {
  const full = (word.match(/.{4}/g) ?? []).join(':');
  return new URL(`http://[${full}]/`).hostname.slice(1, -1);
}

/** The IPv6 default route of /proc/net/ipv6_route (not a reject route, not lo). */
export function parseDefaultRoute6(text: string): { interface: string; gateway: string } | undefined {
  for (const line of text.split('\n')) {
    const f = line.trim().split(/\s+/);
    if (f.length < 10) continue;
    const [dest, destLen, , , nextHop, , , , flags, iface] = f as [string, string, string, string, string, string, string, string, string, string];
    if (!/^0+$/.test(dest) || destLen !== '00' || iface === 'lo') continue;
    const bits = parseInt(flags, 16);
    if ((bits & RTF_REJECT) !== 0 || (bits & RTF_GATEWAY) === 0) continue;
    return { interface: iface, gateway: hex6(nextHop) };
  }
  return undefined;
}
