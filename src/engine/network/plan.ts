/**
 * Everything the container engine needs for a container's network, as data: the mode,
 * the published ports, the texts of /etc/hosts, /etc/resolv.conf and /etc/hostname, and
 * what the helper's configuration must say (the backend's hook, share-net for host).
 * `planNetwork` is pure; `prepareNetwork` adds the host facts and port allocation.
 */
import { TscError } from '../errors.ts';
import { readHostNetwork } from '../sys/netinfo.ts';
import { allocatePorts, probePort, type ProbePort } from './allocate.ts';
import { hostnameFile, hostsFile, parseAddHost, resolvConf } from './files.ts';
import type { HostNetwork } from './hostnet.ts';
import { chooseNetwork, type NetworkChoice, type NetworkTools } from './mode.ts';
import { PASTA_DNS_FORWARD, pastaHookArgv } from './pasta.ts';
import { parsePublishFlags, type PortMapping } from './ports.ts';
import { SLIRP_ADDRESS, SLIRP_DNS, slirpHookArgv } from './slirp4netns.ts';
import type { NetworkMode } from '../runtime/spec/options.ts';

/** The descriptor number tsc asks the monitor to pass the hook's ready pipe on. */
export const HOOK_READY_FD = 3;

export interface NetworkOptions {
  /** --network */
  network?: string;
  /** -p/--publish values */
  publish?: readonly string[];
  /** -P/--publish-all */
  publishAll?: boolean;
  /** the image's config.ExposedPorts, for -P and inspect */
  exposedPorts?: Readonly<Record<string, unknown>>;
  /** --add-host NAME:IP */
  addHost?: readonly string[];
  dns?: readonly string[];
  dnsSearch?: readonly string[];
  dnsOption?: readonly string[];
  hostname: string;
  /** the container's name (an alias in /etc/hosts) */
  name?: string;
  /** tsc runs as root (see PastaOptions.asRoot) */
  asRoot?: boolean;
}

/** The helper `run` configuration lines for the network (see the monitor contract). */
export interface NetworkHelperConfig {
  /** `hook` argv ({pid} replaced by the monitor), with `hook-ready-fd` */
  hook?: string[];
  hookReadyFd?: number;
  /** `share-net 1`: do not unshare the network namespace (--network host) */
  shareNet: boolean;
}

export interface NetworkPlan {
  mode: NetworkMode;
  ports: PortMapping[];
  files: { hosts: string; resolvConf: string; hostname: string };
  helper: NetworkHelperConfig;
  /** for the user: why the container got less than the default */
  note?: string;
}

/** Where the container reaches the host (`host-gateway`), per mode; undefined: nowhere. */
function hostGateway(mode: NetworkMode, host: HostNetwork): string | undefined {
  if (mode === 'pasta') return host.gateway4 ?? host.gateway6;
  if (mode === 'slirp4netns') return undefined; // --disable-host-loopback: 10.0.2.2 does not reach the host's services
  if (mode === 'host') return '127.0.0.1';
  return undefined;
}

export function planNetwork(options: NetworkOptions, choice: NetworkChoice, host: HostNetwork, ports: readonly PortMapping[]): NetworkPlan {
  const { mode } = choice;
  if ((mode === 'host' || mode === 'none') && ports.length > 0) {
    throw new TscError('invalid-argument', `--publish has no effect with --network ${mode}`, { hint: mode === 'host' ? 'the container uses the host\'s ports directly; leave out -p' : 'leave out -p, or use --network pasta' });
  }
  const gateway = hostGateway(mode, host);
  const wantsHost = (options.addHost ?? []).some((h) => /[:=]\[?host-gateway\]?$/.test(h));
  const extraHosts = (options.addHost ?? []).map((h) => parseAddHost(h, gateway));
  const forwarder = mode === 'pasta' ? PASTA_DNS_FORWARD : mode === 'slirp4netns' ? SLIRP_DNS : undefined;
  const addresses = mode === 'pasta' ? [host.address4, host.address6].filter((a): a is string => a !== undefined) : mode === 'slirp4netns' ? [SLIRP_ADDRESS] : [];
  const ipv6 = mode === 'pasta' ? host.gateway6 !== undefined : mode === 'host';
  const files = {
    hostname: hostnameFile(options.hostname),
    hosts: hostsFile({
      hostname: options.hostname,
      addresses,
      extraHosts,
      ...(options.name !== undefined ? { name: options.name } : {}),
      ...(mode === 'host' ? { hostHosts: host.hosts } : {}),
    }),
    resolvConf: resolvConf({
      hostResolv: host.resolvConf,
      hostNetwork: mode === 'host',
      ...(forwarder !== undefined ? { forwarder } : {}),
      ipv6,
      ...(options.dns !== undefined ? { dns: options.dns } : {}),
      ...(options.dnsSearch !== undefined ? { dnsSearch: options.dnsSearch } : {}),
      ...(options.dnsOption !== undefined ? { dnsOptions: options.dnsOption } : {}),
    }),
  };
  let helper: NetworkHelperConfig = { shareNet: mode === 'host' };
  if (mode === 'pasta') {
    helper = { shareNet: false, hookReadyFd: HOOK_READY_FD, hook: pastaHookArgv({ program: choice.program as string, ports, readyFd: HOOK_READY_FD, hostLoopback: wantsHost, asRoot: options.asRoot === true }) };
  } else if (mode === 'slirp4netns') {
    helper = { shareNet: false, hookReadyFd: HOOK_READY_FD, hook: slirpHookArgv({ program: choice.program as string, ports, readyFd: HOOK_READY_FD }) };
  }
  return { mode, ports: [...ports], files, helper, ...(choice.note !== undefined ? { note: choice.note } : {}) };
}

export interface PrepareDeps {
  tools: NetworkTools;
  /** defaults: the real host (sys/netinfo.ts) and real sockets */
  host?: HostNetwork;
  probe?: ProbePort;
}

/** Chooses the mode, parses and allocates the ports, reads the host's facts, plans. */
export async function prepareNetwork(options: NetworkOptions, deps: PrepareDeps): Promise<NetworkPlan> {
  const choice = chooseNetwork(options.network, deps.tools);
  const requests = parsePublishFlags(options.publish ?? [], options.publishAll === true, options.exposedPorts);
  const usable = choice.mode === 'pasta' || choice.mode === 'slirp4netns';
  const ports = usable ? await allocatePorts(requests, deps.probe ?? probePort) : requests.map((r) => ({ hostIp: r.hostIp, hostPort: r.hostPort, containerPort: r.containerPort, protocol: r.protocol }));
  const host = deps.host ?? (await readHostNetwork());
  return planNetwork(options, choice, host, ports);
}

