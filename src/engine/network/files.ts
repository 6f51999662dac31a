/**
 * The container's /etc/hosts, /etc/resolv.conf and /etc/hostname, as text, from the
 * host's files and the run options. Pure; the engine writes them into the container's
 * directory and bind-mounts them (runtime/spec/build.ts NetworkFiles).
 *
 * resolv.conf follows docker's rules (libnetwork resolvconf), with podman's use of the
 * backend's DNS forwarder:
 * - --dns replaces the nameservers; --dns-search replaces the search list (`.` empties
 *   it); --dns-option replaces the options. What is not overridden comes from the host.
 * - Loopback nameservers (127.0.0.0/8, ::1) cannot be reached from a network namespace:
 *   they become the backend's forwarder (pasta --dns-forward, slirp4netns 10.0.2.3),
 *   once, where the first of them was; without a forwarder they are dropped.
 * - IPv6 nameservers are dropped when the container has no IPv6.
 * - If no nameserver is left: docker's defaults, 8.8.8.8 and 8.8.4.4 (and Google's IPv6
 *   pair with IPv6).
 * - --network host: the host's file as it is, unless something is overridden.
 */
import { isIP } from 'node:net';
import { invalid } from '../runtime/spec/options.ts';

export interface ExtraHost {
  name: string;
  address: string;
}

/**
 * --add-host NAME:IP (also NAME=IP, and IPv6 as NAME:::1 or NAME:[::1]); IP may be
 * `host-gateway`, the address at which the container reaches the host (undefined when
 * the network mode has none).
 */
export function parseAddHost(value: string, hostGateway: string | undefined): ExtraHost {
  const eq = value.indexOf('=');
  const colon = value.indexOf(':');
  const sep = eq >= 0 && (colon < 0 || eq < colon) ? eq : colon;
  if (sep <= 0) throw invalid('--add-host', value, 'expected NAME:IP');
  const name = value.slice(0, sep);
  let address = value.slice(sep + 1);
  if (address.startsWith('[') && address.endsWith(']')) address = address.slice(1, -1);
  if (!/^[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?$/.test(name)) throw invalid('--add-host', value, `"${name}" is not a host name`);
  if (address === 'host-gateway') {
    if (hostGateway === undefined) throw invalid('--add-host', value, 'this network mode has no address for the host', 'use --network pasta, or give the address');
    return { name, address: hostGateway };
  }
  if (isIP(address) === 0) throw invalid('--add-host', value, `"${address}" is not an IP address`);
  return { name, address };
}

export interface HostsInput {
  hostname: string;
  /** the container's own addresses (its interface's); none: the hostname goes on 127.0.0.1 */
  addresses: readonly string[];
  extraHosts: readonly ExtraHost[];
  /** the container's name, an alias of its hostname */
  name?: string;
  /** --network host: the host's /etc/hosts, used instead of the generated lines */
  hostHosts?: string;
}

const DEFAULT_HOSTS = [
  '127.0.0.1\tlocalhost',
  '::1\tlocalhost ip6-localhost ip6-loopback',
  'fe00::0\tip6-localnet',
  'ff00::0\tip6-mcastprefix',
  'ff02::1\tip6-allnodes',
  'ff02::2\tip6-allrouters',
];

export function hostsFile(input: HostsInput): string {
  const extra = input.extraHosts.map((h) => `${h.address}\t${h.name}`);
  if (input.hostHosts !== undefined) {
    const base = input.hostHosts === '' || input.hostHosts.endsWith('\n') ? input.hostHosts : `${input.hostHosts}\n`;
    return base + extra.map((l) => `${l}\n`).join('');
  }
  const names = [input.hostname, ...(input.name !== undefined && input.name !== input.hostname ? [input.name] : [])].join(' ');
  const own = input.addresses.length > 0 ? input.addresses.map((a) => `${a}\t${names}`) : [`127.0.0.1\t${names}`];
  return [...DEFAULT_HOSTS, ...extra, ...own].map((l) => `${l}\n`).join('');
}

export function hostnameFile(hostname: string): string {
  return `${hostname}\n`;
}

export interface ResolvInput {
  /** the host's /etc/resolv.conf ('' when it has none) */
  hostResolv: string;
  /** --network host: keep the host's file */
  hostNetwork?: boolean;
  /** the backend's DNS forwarder in the container, if any */
  forwarder?: string;
  /** the container has IPv6 */
  ipv6: boolean;
  dns?: readonly string[];
  dnsSearch?: readonly string[];
  dnsOptions?: readonly string[];
}

interface ParsedResolv {
  nameservers: string[];
  search: string[];
  options: string[];
}

/** The parts of a resolv.conf tsc rewrites; like glibc, the last search/domain line wins. */
export function parseResolvConf(text: string): ParsedResolv {
  const out: ParsedResolv = { nameservers: [], search: [], options: [] };
  for (const raw of text.split('\n')) {
    const line = raw.replace(/[#;].*$/, '').trim();
    const [key, ...words] = line.split(/\s+/);
    if (key === 'nameserver' && words[0] !== undefined) out.nameservers.push(words[0]);
    else if (key === 'search' || key === 'domain') out.search = words;
    else if (key === 'options') out.options.push(...words);
  }
  return out;
}

export const DEFAULT_DNS4 = ['8.8.8.8', '8.8.4.4'];
export const DEFAULT_DNS6 = ['2001:4860:4860::8888', '2001:4860:4860::8844'];

function isLoopback(address: string): boolean {
  return /^127\./.test(address) || address === '::1' || address === '0:0:0:0:0:0:0:1';
}

/** The nameservers a container uses, by the rules above. */
export function containerNameservers(host: readonly string[], forwarder: string | undefined, ipv6: boolean): string[] {
  const out: string[] = [];
  for (const ns of host) {
    const address = ns.replace(/%.*$/, '');
    let use: string | undefined = ns;
    if (isLoopback(address)) use = forwarder;
    else if (isIP(address) === 6 && !ipv6) use = undefined;
    else if (isIP(address) === 0) use = undefined;
    if (use !== undefined && !out.includes(use)) out.push(use);
  }
  if (out.length > 0) return out;
  return ipv6 ? [...DEFAULT_DNS4, ...DEFAULT_DNS6] : [...DEFAULT_DNS4];
}

export function resolvConf(input: ResolvInput): string {
  for (const ns of input.dns ?? []) if (isIP(ns) === 0) throw invalid('--dns', ns, 'not an IP address');
  const overridden = input.dns !== undefined || input.dnsSearch !== undefined || input.dnsOptions !== undefined;
  if (input.hostNetwork === true && !overridden) return input.hostResolv;
  const host = parseResolvConf(input.hostResolv);
  const nameservers = input.dns !== undefined && input.dns.length > 0
    ? [...input.dns]
    : input.hostNetwork === true ? host.nameservers : containerNameservers(host.nameservers, input.forwarder, input.ipv6);
  const search = input.dnsSearch !== undefined && input.dnsSearch.length > 0
    ? input.dnsSearch.filter((d) => d !== '.')
    : host.search;
  const options = input.dnsOptions !== undefined && input.dnsOptions.length > 0 ? [...input.dnsOptions] : host.options;
  const lines = [
    ...(search.length > 0 ? [`search ${search.join(' ')}`] : []),
    ...nameservers.map((ns) => `nameserver ${ns}`),
    ...(options.length > 0 ? [`options ${options.join(' ')}`] : []),
  ];
  return lines.map((l) => `${l}\n`).join('');
}
