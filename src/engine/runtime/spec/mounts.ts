/**
 * The container's own mounts: -v/--volume, --mount, --tmpfs and the image's VOLUMEs,
 * parsed into requests, then turned into spec mounts once the caller has given every
 * named and anonymous volume a host directory.
 */
import { TscError } from '../../errors.ts';
import { invalid, parseBytes } from './options.ts';
import { clean } from './process.ts';
import type { Mount } from './types.ts';

export type MountKind = 'bind' | 'volume' | 'tmpfs';

export interface MountRequest {
  kind: MountKind;
  /** bind: absolute host path; volume: its name, undefined for an anonymous volume */
  source?: string;
  /** cleaned absolute path in the container */
  destination: string;
  readonly: boolean;
  /** rprivate when not given */
  propagation?: string;
  /** bind-nonrecursive: `bind` instead of `rbind` */
  nonRecursive?: boolean;
  /** nosuid, nodev, noexec (or their opposites) as given */
  flags: string[];
  /** tmpfs: options after tsc's defaults */
  tmpfsOptions?: string[];
  /** volume: do not copy the image's content into a new volume */
  nocopy?: boolean;
  /** the flag and text it came from, for messages */
  origin: string;
}

const PROPAGATIONS = new Set(['private', 'rprivate', 'shared', 'rshared', 'slave', 'rslave']);
const FLAG_OPTIONS = new Set(['nosuid', 'suid', 'nodev', 'dev', 'noexec', 'exec']);
const CONSISTENCY = new Set(['consistent', 'cached', 'delegated']);
const VOLUME_NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]+$/;

function destination(flag: string, text: string, path: string): string {
  if (!path.startsWith('/')) throw invalid(flag, text, `the container path "${path}" must be absolute`);
  const cleaned = clean(path);
  if (cleaned === '/') throw invalid(flag, text, 'the container path cannot be /');
  return cleaned;
}

function source(flag: string, text: string, src: string): { kind: 'bind' | 'volume'; source: string } {
  if (src.startsWith('/')) return { kind: 'bind', source: clean(src) };
  if (VOLUME_NAME.test(src)) return { kind: 'volume', source: src };
  throw invalid(flag, text, `"${src}" is neither an absolute host path nor a volume name`, 'volume names use [a-zA-Z0-9][a-zA-Z0-9_.-]; give host directories as absolute paths');
}

/**
 * -v [SOURCE:]DEST[:OPTIONS]. OPTIONS is a comma list of docker's modes (ro/rw, z/Z,
 * a propagation, nocopy, consistency) and podman's nosuid/nodev/noexec and their
 * opposites. z/Z are accepted and noted: tsc has no SELinux labels to apply.
 */
export function parseVolumeFlag(text: string, notes: string[]): MountRequest {
  const flag = '--volume';
  const parts = text.split(':');
  if (parts[0] === '' || parts.length > 3) throw invalid(flag, text, 'expected [SOURCE:]DEST[:OPTIONS]');
  if (parts.length === 1) {
    return { kind: 'volume', destination: destination(flag, text, parts[0] as string), readonly: false, flags: [], origin: `-v ${text}` };
  }
  const [src, dest, mode = ''] = parts as [string, string, string?];
  const request: MountRequest = { ...source(flag, text, src), destination: destination(flag, text, dest), readonly: false, flags: [], origin: `-v ${text}` };
  const seen = new Set<string>();
  const once = (category: string, option: string): void => {
    if (seen.has(category)) throw invalid(flag, text, `conflicting options: more than one ${category} (${option})`);
    seen.add(category);
  };
  for (const option of mode === '' ? [] : mode.split(',')) {
    if (option === 'ro' || option === 'rw') {
      once('read-write mode', option);
      request.readonly = option === 'ro';
    } else if (option === 'z' || option === 'Z') {
      once('relabel option', option);
      notes.push(`the :${option} of -v ${text} is ignored: tsc does not relabel files (no SELinux)`);
    } else if (PROPAGATIONS.has(option)) {
      once('propagation', option);
      request.propagation = option;
    } else if (option === 'nocopy') {
      if (request.kind !== 'volume') throw invalid(flag, text, 'nocopy applies to volumes, not to host directories');
      request.nocopy = true;
    } else if (FLAG_OPTIONS.has(option)) {
      request.flags.push(option);
    } else if (!CONSISTENCY.has(option)) {
      throw invalid(flag, text, `unknown option "${option}"`, 'options: ro, rw, z, Z, nosuid, nodev, noexec, [r]private, [r]shared, [r]slave, nocopy');
    }
  }
  if (request.propagation !== undefined && request.kind !== 'bind') throw invalid(flag, text, 'propagation applies to host directories only');
  return request;
}

function parseBool(flag: string, text: string, key: string, value: string | undefined): boolean {
  if (value === undefined || value === 'true' || value === '1') return true;
  if (value === 'false' || value === '0') return false;
  throw invalid(flag, text, `${key} takes true or false`);
}

/** Splits docker's --mount CSV: fields separated by commas; a field may be "quoted". */
function csvFields(text: string): string[] {
  const fields: string[] = [];
  let current = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i] as string;
    if (c === '"') {
      if (quoted && text[i + 1] === '"') {
        current += '"';
        i++;
      } else quoted = !quoted;
    } else if (c === ',' && !quoted) {
      fields.push(current);
      current = '';
    } else current += c;
  }
  if (quoted) throw invalid('--mount', text, 'unterminated quote');
  fields.push(current);
  return fields;
}

/** --mount type=bind|volume|tmpfs,source=...,target=...[,readonly][,...] */
export function parseMountFlag(text: string): MountRequest {
  const flag = '--mount';
  let kind: MountKind = 'volume';
  let src: string | undefined;
  let dst: string | undefined;
  const request: Omit<MountRequest, 'kind' | 'destination'> = { readonly: false, flags: [], origin: `--mount ${text}` };
  const tmpfs: string[] = [];
  for (const field of csvFields(text)) {
    const eq = field.indexOf('=');
    const key = (eq < 0 ? field : field.slice(0, eq)).trim().toLowerCase();
    const value = eq < 0 ? undefined : field.slice(eq + 1);
    const need = (): string => {
      if (value === undefined || value === '') throw invalid(flag, text, `${key} needs a value`);
      return value;
    };
    switch (key) {
      case 'type': {
        const t = need();
        if (t !== 'bind' && t !== 'volume' && t !== 'tmpfs') throw invalid(flag, text, `type "${t}" is not supported`, 'types: bind, volume, tmpfs');
        kind = t;
        break;
      }
      case 'source':
      case 'src':
        src = need();
        break;
      case 'target':
      case 'destination':
      case 'dst':
        dst = need();
        break;
      case 'readonly':
      case 'ro':
        request.readonly = parseBool(flag, text, key, value);
        break;
      case 'bind-propagation':
        if (!PROPAGATIONS.has(need())) throw invalid(flag, text, `bind-propagation "${value}" is not one of ${[...PROPAGATIONS].join(', ')}`);
        request.propagation = value;
        break;
      case 'bind-nonrecursive':
        request.nonRecursive = parseBool(flag, text, key, value);
        break;
      case 'volume-nocopy':
        request.nocopy = parseBool(flag, text, key, value);
        break;
      case 'tmpfs-size':
        tmpfs.push(`size=${parseBytes('--mount tmpfs-size', need())}`);
        break;
      case 'tmpfs-mode': {
        const mode = need();
        if (!/^[0-7]{1,4}$/.test(mode)) throw invalid(flag, text, `tmpfs-mode "${mode}" is not an octal mode`);
        tmpfs.push(`mode=${mode}`);
        break;
      }
      case 'consistency':
        break;
      default:
        throw invalid(flag, text, `unknown field "${key}"`, 'fields: type, source, target, readonly, bind-propagation, bind-nonrecursive, volume-nocopy, tmpfs-size, tmpfs-mode');
    }
  }
  if (dst === undefined) throw invalid(flag, text, 'target is missing');
  const destinationPath = destination(flag, text, dst);
  const only = (field: string, ok: boolean): void => {
    if (!ok) throw invalid(flag, text, `${field} does not apply to type=${kind}`);
  };
  only('bind-propagation', request.propagation === undefined || kind === 'bind');
  only('bind-nonrecursive', request.nonRecursive === undefined || kind === 'bind');
  only('volume-nocopy', request.nocopy === undefined || kind === 'volume');
  only('tmpfs-size/tmpfs-mode', tmpfs.length === 0 || kind === 'tmpfs');
  if (kind === 'tmpfs') {
    only('source', src === undefined);
    return { ...request, kind, destination: destinationPath, tmpfsOptions: mergeTmpfsOptions(flag, text, tmpfs) };
  }
  if (kind === 'bind') {
    if (src === undefined) throw invalid(flag, text, 'source is missing');
    if (!src.startsWith('/')) throw invalid(flag, text, `the bind source "${src}" must be an absolute path`);
    return { ...request, kind, source: clean(src), destination: destinationPath };
  }
  if (src !== undefined && !VOLUME_NAME.test(src)) throw invalid(flag, text, `"${src}" is not a valid volume name`);
  return { ...request, kind, ...(src === undefined ? {} : { source: src }), destination: destinationPath };
}

const TMPFS_FLAG_PAIRS: Record<string, string> = {
  ro: 'rw', exec: 'noexec', suid: 'nosuid', dev: 'nodev', atime: 'noatime', diratime: 'nodiratime',
  relatime: 'norelatime', strictatime: 'nostrictatime', sync: 'async', mand: 'nomand',
};
const TMPFS_FLAGS = new Map<string, string>(Object.entries(TMPFS_FLAG_PAIRS).flatMap(([a, b]) => [[a, b], [b, a]]));
const TMPFS_DATA = new Set(['size', 'mode', 'uid', 'gid', 'nr_inodes', 'nr_blocks', 'mpol', 'huge']);

/** docker's tmpfs defaults (noexec, nosuid, nodev) with the user's options over them. */
function mergeTmpfsOptions(flag: string, text: string, options: readonly string[]): string[] {
  const merged = ['noexec', 'nosuid', 'nodev'];
  for (const option of options) {
    const eq = option.indexOf('=');
    if (eq < 0) {
      const opposite = TMPFS_FLAGS.get(option);
      if (opposite === undefined && option !== 'dirsync') throw invalid(flag, text, `unknown tmpfs option "${option}"`);
      const i = merged.findIndex((o) => o === option || o === opposite);
      if (i >= 0) merged.splice(i, 1);
      merged.push(option);
    } else {
      const key = option.slice(0, eq);
      if (!TMPFS_DATA.has(key)) throw invalid(flag, text, `unknown tmpfs option "${key}"`, `options: ${[...TMPFS_DATA].join(', ')} and mount flags`);
      const i = merged.findIndex((o) => o.startsWith(`${key}=`));
      if (i >= 0) merged.splice(i, 1);
      merged.push(option);
    }
  }
  return merged;
}

/** --tmpfs PATH[:OPTIONS] */
export function parseTmpfsFlag(text: string): MountRequest {
  const colon = text.indexOf(':');
  const path = colon < 0 ? text : text.slice(0, colon);
  const options = colon < 0 || colon === text.length - 1 ? [] : text.slice(colon + 1).split(',');
  return {
    kind: 'tmpfs',
    destination: destination('--tmpfs', text, path),
    readonly: false,
    flags: [],
    tmpfsOptions: mergeTmpfsOptions('--tmpfs', text, options),
    origin: `--tmpfs ${text}`,
  };
}

/** Rejects two mounts on one container path, as docker does. */
export function checkDuplicates(requests: readonly MountRequest[]): void {
  const seen = new Map<string, string>();
  for (const r of requests) {
    const other = seen.get(r.destination);
    if (other !== undefined) {
      throw new TscError('invalid-argument', `duplicate mount point ${r.destination}: given by ${other} and by ${r.origin}`);
    }
    seen.set(r.destination, r.origin);
  }
}

/** How a request becomes a spec mount; `hostPath` is the bind source or volume directory. */
export function toSpecMount(request: MountRequest, hostPath: string | undefined, recursiveReadOnly: boolean): Mount {
  if (request.kind === 'tmpfs') {
    return { destination: request.destination, type: 'tmpfs', source: 'tmpfs', options: [...(request.tmpfsOptions ?? []), ...(request.readonly ? ['ro'] : [])] };
  }
  if (hostPath === undefined) throw new TscError('internal', `no host directory for the volume of ${request.origin}`);
  const options = [request.nonRecursive === true ? 'bind' : 'rbind'];
  if (request.readonly) options.push(recursiveReadOnly && request.nonRecursive !== true ? 'rro' : 'ro');
  options.push(request.propagation ?? 'rprivate', ...request.flags);
  return { destination: request.destination, type: 'bind', source: hostPath, options };
}

/** Parents before children, as docker sorts mounts (stable within one depth). */
export function byDepth(a: { destination: string }, b: { destination: string }): number {
  return a.destination.split('/').length - b.destination.split('/').length;
}
