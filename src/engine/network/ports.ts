/**
 * Published ports: docker's -p/--publish grammar and -P (--publish-all), and the two
 * docker-shaped views of the result (inspect's NetworkSettings.Ports, `tsc port`).
 * Pure: allocating the random host ports is in allocate.ts.
 *
 *   -p [IP:][HOSTPORT:]CONTAINERPORT[/PROTO]
 *     80                 container port 80/tcp on a random host port, all addresses
 *     8080:80            host port 8080 -> 80
 *     127.0.0.1:8080:80  only on 127.0.0.1
 *     127.0.0.1::80      a random host port on 127.0.0.1
 *     [::1]:8080:80      IPv6 addresses in brackets
 *     8000-8010:80-90    ranges of equal length, pairwise
 *     8000-8010:80       one free host port out of the range
 *     53:53/udp          tcp (default), udp or sctp
 */
import { invalid } from '../runtime/spec/options.ts';
import { isIP } from 'node:net';

export type Protocol = 'tcp' | 'udp' | 'sctp';
export const PROTOCOLS: readonly Protocol[] = ['tcp', 'udp', 'sctp'];

/** One port to publish, before allocation. */
export interface PortRequest {
  /** '' = every address of the host (docker shows 0.0.0.0) */
  hostIp: string;
  /** 0 = a free port chosen at start (within hostRange when set) */
  hostPort: number;
  /** `8000-8010:80`: any free port of this range */
  hostRange?: [number, number];
  containerPort: number;
  protocol: Protocol;
}

/** One published port, as the backend forwards it and inspect shows it. */
export interface PortMapping {
  hostIp: string;
  hostPort: number;
  containerPort: number;
  protocol: Protocol;
}

const FLAG = '--publish';

function parsePort(value: string, word: string, what: string): number {
  if (!/^\d{1,5}$/.test(word)) throw invalid(FLAG, value, `${what} "${word}" is not a port number`);
  const port = Number(word);
  if (port < 1 || port > 65535) throw invalid(FLAG, value, `${what} ${port} is out of range 1-65535`);
  return port;
}

function parseRange(value: string, word: string, what: string): [number, number] {
  const dash = word.indexOf('-');
  if (dash < 0) {
    const port = parsePort(value, word, what);
    return [port, port];
  }
  const from = parsePort(value, word.slice(0, dash), what);
  const to = parsePort(value, word.slice(dash + 1), what);
  if (to < from) throw invalid(FLAG, value, `the ${what} range ${word} ends before it starts`);
  return [from, to];
}

/** Splits `[IP:][HOSTPORT:]CONTAINERPORT` into its parts; IPv6 only in brackets. */
function splitAddress(value: string, text: string): { ip: string; host: string; container: string } {
  if (text.startsWith('[')) {
    const close = text.indexOf(']');
    if (close < 0 || text[close + 1] !== ':') throw invalid(FLAG, value, 'an IPv6 address goes in brackets followed by ":", as [::1]:8080:80');
    const ip = text.slice(1, close);
    const parts = text.slice(close + 2).split(':');
    if (parts.length !== 2) throw invalid(FLAG, value, 'expected [IP]:HOSTPORT:CONTAINERPORT');
    return { ip, host: parts[0] as string, container: parts[1] as string };
  }
  const parts = text.split(':');
  if (parts.length === 1) return { ip: '', host: '', container: parts[0] as string };
  if (parts.length === 2) return { ip: '', host: parts[0] as string, container: parts[1] as string };
  if (parts.length === 3) return { ip: parts[0] as string, host: parts[1] as string, container: parts[2] as string };
  throw invalid(FLAG, value, 'too many ":"', 'write an IPv6 address in brackets: [::1]:8080:80');
}

/** One -p value as one request per container port. */
export function parsePublish(value: string): PortRequest[] {
  const slash = value.lastIndexOf('/');
  const hasProto = slash >= 0 && !value.slice(slash).includes(':') && !value.slice(slash).includes(']');
  const protoText = hasProto ? value.slice(slash + 1).toLowerCase() : 'tcp';
  if (!(PROTOCOLS as readonly string[]).includes(protoText)) throw invalid(FLAG, value, `unknown protocol "${protoText}"`, 'use tcp, udp or sctp');
  const protocol = protoText as Protocol;
  const { ip, host, container } = splitAddress(value, hasProto ? value.slice(0, slash) : value);
  if (ip !== '' && (isIP(ip) === 0 || ip.includes('%'))) throw invalid(FLAG, value, `"${ip}" is not an IP address`);
  if (container === '') throw invalid(FLAG, value, 'the container port is missing');
  const [cFrom, cTo] = parseRange(value, container, 'container port');
  const count = cTo - cFrom + 1;
  if (host === '') {
    return Array.from({ length: count }, (_, i) => ({ hostIp: ip, hostPort: 0, containerPort: cFrom + i, protocol }));
  }
  const [hFrom, hTo] = parseRange(value, host, 'host port');
  const hostCount = hTo - hFrom + 1;
  if (hostCount === count) {
    return Array.from({ length: count }, (_, i) => ({ hostIp: ip, hostPort: hFrom + i, containerPort: cFrom + i, protocol }));
  }
  if (count === 1) return [{ hostIp: ip, hostPort: 0, hostRange: [hFrom, hTo], containerPort: cFrom, protocol }];
  throw invalid(FLAG, value, `the host range has ${hostCount} ports but the container range ${count}`, 'give ranges of equal length, or one container port');
}

/**
 * -P: every port the image EXPOSEs (`80/tcp`, `53/udp`, `8000-8002/tcp` keys of
 * config.ExposedPorts) on a random host port of every address, skipping those an
 * explicit -p already publishes.
 */
export function publishAll(exposed: Readonly<Record<string, unknown>> | undefined, explicit: readonly PortRequest[]): PortRequest[] {
  const taken = new Set(explicit.map((r) => `${r.containerPort}/${r.protocol}`));
  const out: PortRequest[] = [];
  for (const key of Object.keys(exposed ?? {})) {
    for (const request of parsePublish(key)) {
      const id = `${request.containerPort}/${request.protocol}`;
      if (taken.has(id)) continue;
      taken.add(id);
      out.push(request);
    }
  }
  return out;
}

/** All -p values, then -P; a host port used twice for one protocol and address is an error. */
export function parsePublishFlags(values: readonly string[], all: boolean, exposed?: Readonly<Record<string, unknown>>): PortRequest[] {
  const requests = values.flatMap(parsePublish);
  const fixed = requests.filter((r) => r.hostPort !== 0);
  fixed.forEach((r, i) => {
    const clash = fixed.slice(0, i).some((o) => o.hostPort === r.hostPort && o.protocol === r.protocol && (o.hostIp === r.hostIp || o.hostIp === '' || r.hostIp === ''));
    if (clash) throw invalid(FLAG, values.join(' '), `host port ${r.hostPort}/${r.protocol} is published twice`);
  });
  return all ? [...requests, ...publishAll(exposed, requests)] : requests;
}

/** How an address is written before `:PORT` (IPv6 in brackets). */
export function formatHostAddress(ip: string, port: number): string {
  return isIP(ip) === 6 ? `[${ip}]:${port}` : `${ip}:${port}`;
}

export interface PortBinding {
  HostIp: string;
  HostPort: string;
}

/**
 * inspect's NetworkSettings.Ports: `80/tcp` -> bindings, sorted by container port;
 * `exposed` ports that are not published map to null, as docker shows them.
 */
export function inspectPorts(mappings: readonly PortMapping[], exposed?: Readonly<Record<string, unknown>>): Record<string, PortBinding[] | null> {
  const out = new Map<string, PortBinding[] | null>();
  for (const key of Object.keys(exposed ?? {})) {
    for (const r of parsePublish(key)) out.set(`${r.containerPort}/${r.protocol}`, null);
  }
  for (const m of mappings) {
    const key = `${m.containerPort}/${m.protocol}`;
    const list = out.get(key) ?? [];
    const ips = m.hostIp === '' ? ['0.0.0.0', '::'] : [m.hostIp];
    for (const ip of ips) list.push({ HostIp: ip, HostPort: String(m.hostPort) });
    out.set(key, list);
  }
  const order = (key: string): [number, string] => [Number(key.split('/')[0]), key.split('/')[1] as string];
  const keys = [...out.keys()].sort((a, b) => order(a)[0] - order(b)[0] || order(a)[1].localeCompare(order(b)[1]));
  return Object.fromEntries(keys.map((k) => [k, out.get(k) ?? null]));
}

/**
 * `tsc port CONTAINER [PRIVATE_PORT[/PROTO]]` lines: `80/tcp -> 0.0.0.0:8080`; with a
 * filter (`80`, `80/udp`) only the matching ones, and only the address part, as docker.
 */
export function portLines(mappings: readonly PortMapping[], filter?: string): string[] {
  let wanted: { port: number; protocol: Protocol } | undefined;
  if (filter !== undefined) {
    const [port = '', proto = 'tcp'] = filter.split('/');
    if (!/^\d+$/.test(port) || !(PROTOCOLS as readonly string[]).includes(proto)) throw invalid('port', filter, 'expected PORT or PORT/PROTOCOL (tcp, udp, sctp)');
    wanted = { port: Number(port), protocol: proto as Protocol };
  }
  const sorted = [...mappings].sort((a, b) => a.containerPort - b.containerPort || a.protocol.localeCompare(b.protocol) || a.hostPort - b.hostPort);
  const lines: string[] = [];
  for (const m of sorted) {
    if (wanted !== undefined && (m.containerPort !== wanted.port || m.protocol !== wanted.protocol)) continue;
    for (const ip of m.hostIp === '' ? ['0.0.0.0', '::'] : [m.hostIp]) {
      const address = formatHostAddress(ip, m.hostPort);
      lines.push(wanted === undefined ? `${m.containerPort}/${m.protocol} -> ${address}` : address);
    }
  }
  return lines;
}
