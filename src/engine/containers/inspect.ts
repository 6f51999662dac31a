/** `tsc inspect` of containers: docker's JSON shape, so scripts written for docker work. */
import { join } from 'node:path';
import type { EngineContext } from '../context.ts';
import { TscError } from '../errors.ts';
import { requireContainer, type ContainerRow } from './records.ts';
import { containerDir, liveState } from './state.ts';

export type ContainerInspect = Record<string, unknown> & { Id: string; Name: string };

export interface InspectResult {
  items: ContainerInspect[];
  errors: TscError[];
}

export async function inspectContainers(ctx: EngineContext, refs: readonly string[]): Promise<InspectResult> {
  const store = await ctx.store();
  const result: InspectResult = { items: [], errors: [] };
  for (const ref of refs) {
    try {
      result.items.push(inspectRow(requireContainer(store.db, ref), store.root));
    } catch (error) {
      if (!(error instanceof TscError)) throw error;
      result.errors.push(error);
    }
  }
  return result;
}

export function portMap(row: ContainerRow): Record<string, { HostIp: string; HostPort: string }[] | null> {
  const ports: Record<string, { HostIp: string; HostPort: string }[] | null> = {};
  for (const p of row.config.ports) {
    const key = `${p.containerPort}/${p.protocol}`;
    (ports[key] ??= []).push({ HostIp: p.hostIp, HostPort: String(p.hostPort) });
  }
  return ports;
}

/** docker's GraphDriver: overlay's directories, or vfs's one copy. */
function graphDriver(c: ContainerRow['config']): { Name: string; Data: Record<string, string> } {
  const name = c.driver ?? 'overlay';
  if (name === 'vfs') return { Name: name, Data: { Dir: c.rootfs.upper } };
  return { Name: name, Data: { LowerDir: c.rootfs.lowers.join(':'), UpperDir: c.rootfs.upper, WorkDir: c.rootfs.work } };
}

export function inspectRow(row: ContainerRow, storageRoot: string): ContainerInspect {
  const live = liveState(row, storageRoot);
  const dir = containerDir(storageRoot, row.id);
  const c = row.config;
  return {
    Id: row.id,
    Created: row.createdAt,
    Path: c.path,
    Args: c.args,
    State: {
      Status: live.status,
      Running: live.running,
      Paused: live.paused,
      Restarting: live.status === 'restarting',
      OOMKilled: false,
      Dead: live.status === 'dead',
      Pid: live.pid,
      ExitCode: live.exitCode,
      Error: live.error,
      StartedAt: live.startedAt,
      FinishedAt: live.finishedAt,
    },
    Image: row.imageId,
    ResolvConfPath: c.network === 'none' ? '' : join(dir, 'resolv.conf'),
    HostnamePath: c.network === 'none' ? '' : join(dir, 'hostname'),
    HostsPath: c.network === 'none' ? '' : join(dir, 'hosts'),
    LogPath: join(dir, 'ctr.log'),
    Name: `/${row.name}`,
    RestartCount: live.restartCount,
    Driver: c.driver ?? 'overlay',
    Platform: 'linux',
    HostConfig: {
      AutoRemove: c.autoRemove,
      RestartPolicy: { Name: c.restart.name, MaximumRetryCount: c.restart.maximumRetryCount },
      NetworkMode: c.network,
      PortBindings: Object.fromEntries(Object.entries(portMap(row)).map(([k, v]) => [k, v])),
      LogConfig: { Type: 'k8s-file', Config: c.logMaxSize > 0 ? { 'max-size': String(c.logMaxSize) } : {} },
      ReadonlyRootfs: c.readOnly,
      Init: c.init,
      CgroupParent: c.cgroup ?? '',
    },
    GraphDriver: graphDriver(c),
    Mounts: c.mounts.map((m) => ({
      Type: m.type,
      ...(m.name ? { Name: m.name } : {}),
      Source: m.source,
      Destination: m.destination,
      Mode: m.readonly ? 'ro' : '',
      RW: !m.readonly,
      Propagation: 'rprivate',
    })),
    Config: {
      Hostname: c.hostname,
      User: c.user,
      Env: c.env,
      Cmd: [c.path, ...c.args],
      Image: row.imageName,
      WorkingDir: c.workdir,
      Labels: c.labels,
      Tty: c.tty,
      OpenStdin: c.openStdin,
      StopSignal: c.stopSignal,
      StopTimeout: c.stopTimeout,
    },
    NetworkSettings: { Ports: { ...Object.fromEntries((c.exposedPorts ?? []).map((p) => [p.includes('/') ? p : `${p}/tcp`, null])), ...portMap(row) } },
    Notes: c.notes,
  };
}
