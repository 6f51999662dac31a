/** `tsc ps`: containers with their live state, docker's fields and filters. */
import type { EngineContext } from '../context.ts';
import { TscError } from '../errors.ts';
import { allContainers, type ContainerRow } from './records.ts';
import { liveState, statusText, humanDuration, type LiveState } from './state.ts';

/** One `ps` row; field names as `docker ps --format` knows them. */
export interface ContainerSummary {
  ID: string;
  Names: string;
  Image: string;
  ImageID: string;
  Command: string;
  CreatedAt: string;
  RunningFor: string;
  State: string;
  Status: string;
  Ports: string;
  Labels: string;
  Mounts: string;
  Networks: string;
  ExitCode: number;
  Pid: number;
  Size: string;
}

export interface PsOptions {
  all?: boolean | undefined;
  /** -n: the last N created (any state) */
  last?: number | undefined;
  /** -l */
  latest?: boolean | undefined;
  filters?: readonly string[] | undefined;
}

export async function listContainers(ctx: EngineContext, options: PsOptions = {}): Promise<ContainerSummary[]> {
  const store = await ctx.store();
  const now = Date.now();
  let rows: { row: ContainerRow; live: LiveState }[] = [];
  for (const row of allContainers(store.db)) {
    if (row.state === 'creating') continue;
    const live = liveState(row, store.root);
    // --rm containers whose foreground tsc went away are removed by the next look at them
    if (row.config.autoRemove && live.status === 'exited' && row.state === 'started') {
      const { removeContainer } = await import('./lifecycle.ts'); // rarely: keep `ps` light
      await removeContainer(ctx, row).catch(() => undefined);
      continue;
    }
    rows.push({ row, live });
  }
  const limit = options.latest ? 1 : options.last !== undefined && options.last >= 0 ? options.last : undefined;
  const showAll = options.all || limit !== undefined;
  for (const filter of options.filters ?? []) rows = rows.filter(filterFor(filter));
  if (!showAll) rows = rows.filter((r) => r.live.running || r.live.status === 'restarting');
  if (limit !== undefined) rows = rows.slice(0, limit);
  return rows.map(({ row, live }) => summary(row, live, now));
}

export function commandText(row: ContainerRow): string {
  return [row.config.path, ...row.config.args].map((a) => (/[\s"']/.test(a) ? JSON.stringify(a) : a)).join(' ');
}

export function portsText(row: ContainerRow): string {
  return row.config.ports.map((p) => `${p.hostIp || '0.0.0.0'}:${p.hostPort}->${p.containerPort}/${p.protocol}`).join(', ');
}

function summary(row: ContainerRow, live: LiveState, now: number): ContainerSummary {
  return {
    ID: row.id,
    Names: row.name,
    Image: row.imageName,
    ImageID: row.imageId,
    Command: commandText(row),
    CreatedAt: row.createdAt,
    RunningFor: `${humanDuration(now - Date.parse(row.createdAt))} ago`,
    State: live.status,
    Status: statusText(live, now),
    Ports: portsText(row),
    Labels: Object.entries(row.config.labels).map(([k, v]) => `${k}=${v}`).join(','),
    Mounts: row.config.mounts.map((m) => m.name ?? m.source).join(','),
    Networks: row.config.network,
    ExitCode: live.exitCode,
    Pid: live.pid,
    Size: '',
  };
}

function filterFor(filter: string): (r: { row: ContainerRow; live: LiveState }) => boolean {
  const eq = filter.indexOf('=');
  if (eq < 0) throw new TscError('invalid-argument', `invalid filter ${JSON.stringify(filter)}: expected KEY=VALUE`);
  const key = filter.slice(0, eq);
  const value = filter.slice(eq + 1);
  switch (key) {
    case 'id':
      return ({ row }) => row.id.startsWith(value);
    case 'name':
      return ({ row }) => new RegExp(value).test(row.name);
    case 'status': {
      const statuses = ['created', 'restarting', 'running', 'removing', 'paused', 'exited', 'dead'];
      if (!statuses.includes(value)) throw new TscError('invalid-argument', `invalid filter ${JSON.stringify(filter)}: status is one of ${statuses.join(', ')}`);
      return ({ live }) => live.status === value;
    }
    case 'exited': {
      if (!/^-?\d+$/.test(value)) throw new TscError('invalid-argument', `invalid filter ${JSON.stringify(filter)}: exited takes an exit code`);
      return ({ live }) => live.status === 'exited' && live.exitCode === Number(value);
    }
    case 'label': {
      const [k, v] = value.includes('=') ? [value.slice(0, value.indexOf('=')), value.slice(value.indexOf('=') + 1)] : [value, undefined];
      return ({ row }) => k in row.config.labels && (v === undefined || row.config.labels[k] === v);
    }
    case 'ancestor':
      return ({ row }) => row.imageName === value || row.imageId === value || row.imageId.startsWith(`sha256:${value}`);
    default:
      throw new TscError('invalid-argument', `invalid filter ${JSON.stringify(filter)}`, { hint: 'supported: id, name, status, exited, label, ancestor' });
  }
}
