/**
 * The pasta backend: the argv of the monitor's network `hook` (docs: /work/notes/monitor-contract.md).
 *
 * Findings on Debian 12's passt package (0.0~git20230309.7c7625d-1; `pasta --version`
 * prints "pasta unknown version"; the running process is named passt.avx2), tried as a
 * non-root user against a helper `run` container (test/integration/network-pasta.test.ts):
 * - `pasta [OPTIONS] PID` joins the user and network namespace of PID (the caller must
 *   own the user namespace, which the rootless user does).
 * - `--config-net` sets up the tap device (named after the host's outbound interface,
 *   eth0 here) with the host's address, routes and gateway, and brings `lo` up.
 * - `-t`/`-u SPEC`: `none`, or `[ADDR/]PORT[-PORT][:PORT[-PORT]]`; repeatable; ADDR may
 *   be IPv4 or IPv6 (`::1/8080:80`). Without ADDR pasta binds both families.
 * - `-T none -U none`: without them pasta forwards ports bound on the host's loopback
 *   into the container's loopback (`auto`); tsc never does that silently.
 * - `--no-map-gw`: without it, the container reaching the gateway's address reaches the
 *   host's own loopback (tried: a server on the host's 127.0.0.1 answers the container
 *   at the gateway's address; with --no-map-gw it does not). Off unless the user asked for the host with
 *   `--add-host NAME:host-gateway`.
 * - `--dns-forward ADDR`: UDP queries to ADDR:53 in the container go to the first
 *   nameserver of /etc/resolv.conf as pasta sees it, sent from the host's network
 *   namespace, so a resolver on the host's loopback (systemd-resolved's 127.0.0.53,
 *   the test's 127.0.0.77) answers, with or without --no-map-gw (tried: both work; with
 *   --no-map-gw this build logs "Couldn't get any nameserver address" for a loopback
 *   nameserver and forwards anyway).
 * - UDP: published ports deliver datagrams into the container; the container's answers
 *   to a client on the host itself are lost in this build (to 127.0.0.1 always; to the
 *   host's own address unless the gateway is mapped, i.e. without --no-map-gw). TCP is
 *   fine both ways. (Later passt releases rewrote UDP flow tracking; re-check there.)
 * - Readiness: no ready-fd option in this build, but `-f --pid /proc/self/fd/N` makes it
 *   stay in the foreground and write "PID\n" to fd N once the interface is configured
 *   and the ports are bound (a fetch right after the line is answered). That is the
 *   monitor's `hook-ready-fd N`. pasta *reopens* the path, so fd N must be a pipe or
 *   FIFO (a socketpair cannot be opened through /proc/self/fd: ENXIO), and the
 *   hook-ready-fd pipe must be one the user may open (the monitor's own pipe is).
 * - Output: after the ready line pasta keeps stderr open; the monitor must keep reading
 *   (or hand it /dev/null) so a full pipe never blocks it.
 * - Ending: this build does NOT exit when the container's processes are gone or PID
 *   exits (in the background or with -f; it only watches `--netns PATH` bind mounts by
 *   inotify, which tsc does not use). So the monitor must kill it: with `hook-ready-fd`
 *   the contract already says the hook is SIGTERMed when the container ends, which
 *   pasta obeys at once. That must also happen before each restart, or the next pasta
 *   cannot bind the published ports.
 * - `-q` keeps informational messages away; errors still go to stderr (and a failed
 *   syslog send prints "Failed to send N bytes to syslog" where /dev/log is missing).
 * - SCTP is not supported by pasta.
 */
import { TscError } from '../errors.ts';
import type { PortMapping } from './ports.ts';

/** The address in the container that pasta answers DNS on (as podman 5 uses). */
export const PASTA_DNS_FORWARD = '169.254.1.1';

/** The placeholder the monitor replaces with a pid in the container's namespaces. */
export const PID_PLACEHOLDER = '{pid}';

export interface PastaOptions {
  program: string;
  ports: readonly PortMapping[];
  /** the descriptor the monitor passes for `hook-ready-fd` */
  readyFd: number;
  /** where pasta answers DNS in the container; default PASTA_DNS_FORWARD */
  dnsForward?: string;
  /** let the container reach the host's loopback at the gateway's address (host-gateway) */
  hostLoopback?: boolean;
  /** tsc runs as root: pasta would change to nobody, who may not enter the container's user namespace */
  asRoot?: boolean;
}

/** One `-t`/`-u` spec: `[ADDR/]HOSTPORT:CONTAINERPORT`. */
export function pastaPortSpec(m: PortMapping): string {
  const address = m.hostIp === '' ? '' : `${m.hostIp}/`;
  return `${address}${m.hostPort}:${m.containerPort}`;
}

/** The hook's argv; `{pid}` is the last word. */
export function pastaHookArgv(options: PastaOptions): string[] {
  const sctp = options.ports.find((m) => m.protocol === 'sctp');
  if (sctp !== undefined) {
    throw new TscError('unsupported', `--publish ${sctp.hostPort}:${sctp.containerPort}/sctp: pasta forwards only tcp and udp`);
  }
  const tcp = options.ports.filter((m) => m.protocol === 'tcp');
  const udp = options.ports.filter((m) => m.protocol === 'udp');
  const forwards = (flag: string, list: readonly PortMapping[]): string[] =>
    list.length === 0 ? [flag, 'none'] : list.flatMap((m) => [flag, pastaPortSpec(m)]);
  return [
    options.program,
    '--config-net',
    '--foreground',
    '--quiet',
    '--pid', `/proc/self/fd/${options.readyFd}`,
    ...forwards('-t', tcp),
    ...forwards('-u', udp),
    '-T', 'none',
    '-U', 'none',
    '--dns-forward', options.dnsForward ?? PASTA_DNS_FORWARD,
    ...(options.hostLoopback === true ? [] : ['--no-map-gw']),
    // started by root, pasta changes to nobody, who may not enter the container's user
    // namespace (root's containers have one too): keep root's ids
    ...(options.asRoot === true ? ['--runas', '0:0'] : []),
    PID_PLACEHOLDER,
  ];
}
