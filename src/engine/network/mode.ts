/**
 * Which network a container gets (--network), from what the host has.
 *
 * Backends and their lifecycle (the engine prepares, the monitor performs):
 *   none         own network namespace with only `lo`; nothing runs beside the container
 *   host         no network namespace: the host's interfaces, resolv.conf and hosts;
 *                the helper config must then carry `share-net 1` (no CLONE_NEWNET)
 *   pasta        own namespace; the monitor runs pasta as a `hook` against the
 *                container's pid once the namespaces exist, waits for its ready byte
 *                (`hook-ready-fd`), and SIGTERMs it when the container ends
 *   slirp4netns  the same with slirp4netns --ready-fd; no published ports (see slirp4netns.ts)
 * Both user-mode backends need /dev/net/tun readable and writable.
 */
import { TscError } from '../errors.ts';
import { NETWORK_MODES, type NetworkMode } from '../runtime/spec/options.ts';

export interface NetworkTools {
  /** paths found on PATH, or undefined */
  pasta?: string | undefined;
  slirp4netns?: string | undefined;
  /** /dev/net/tun exists and is usable by this user */
  tunUsable: boolean;
}

export interface NetworkChoice {
  mode: NetworkMode;
  /** the backend's program, for pasta and slirp4netns */
  program?: string;
  /** when the default fell back to a weaker mode: what to install; for the user to see */
  note?: string;
}

const INSTALL = 'install passt (Debian/Ubuntu: apt install passt; Fedora: dnf install passt) for networking';

/** --network VALUE (undefined = the default: pasta, else slirp4netns, else none with a note). */
export function chooseNetwork(requested: string | undefined, tools: NetworkTools): NetworkChoice {
  const value = requested === 'default' ? undefined : requested === 'bridge' ? undefined : requested;
  if (value === undefined) {
    if (tools.tunUsable && tools.pasta !== undefined) return { mode: 'pasta', program: tools.pasta };
    if (tools.tunUsable && tools.slirp4netns !== undefined) return { mode: 'slirp4netns', program: tools.slirp4netns };
    const why = tools.pasta === undefined && tools.slirp4netns === undefined ? 'neither pasta nor slirp4netns is installed' : '/dev/net/tun is missing or not usable by this user';
    return { mode: 'none', note: `the container has no network: ${why}; ${tools.pasta === undefined && tools.slirp4netns === undefined ? INSTALL : 'load the tun module (modprobe tun) and make /dev/net/tun mode 0666'}` };
  }
  if (!(NETWORK_MODES as readonly string[]).includes(value)) {
    throw new TscError('unsupported', `--network ${value} is not supported`, { hint: `use one of ${NETWORK_MODES.join(', ')}` });
  }
  const mode = value as NetworkMode;
  if (mode === 'pasta' || mode === 'slirp4netns') {
    const program = tools[mode];
    if (program === undefined) {
      throw new TscError('unsupported', `--network ${mode}: ${mode} is not installed`, { hint: mode === 'pasta' ? INSTALL : 'install slirp4netns, or use --network pasta' });
    }
    if (!tools.tunUsable) {
      throw new TscError('unsupported', `--network ${mode} needs /dev/net/tun, which is missing or not usable by this user`, { hint: 'load the tun module (modprobe tun) and make /dev/net/tun mode 0666' });
    }
    return { mode, program };
  }
  return { mode };
}

/** Whether the mode gives the container its own network namespace. */
export function ownsNetworkNamespace(mode: NetworkMode): boolean {
  return mode !== 'host';
}
