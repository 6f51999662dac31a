/**
 * Capabilities (--cap-add, --cap-drop, --privileged) and --security-opt, resolved the way
 * docker resolves them.
 */
import { TscError } from '../../errors.ts';
import { ALL_CAPABILITIES, DEFAULT_CAPABILITIES } from './defaults.ts';
import { invalid } from './options.ts';
import type { SeccompReference } from './types.ts';

export interface CapabilityRequest {
  capAdd?: readonly string[] | undefined;
  capDrop?: readonly string[] | undefined;
  privileged?: boolean | undefined;
  /** /proc/sys/kernel/cap_last_cap; capabilities above it do not exist on this kernel */
  lastCap?: number | undefined;
}

/**
 * `chown`, `CAP_CHOWN` and `Cap_Chown` all name CAP_CHOWN; `all` names every capability.
 * Unknown names are errors, as are names this kernel does not have.
 */
export function normalizeCapability(flag: string, name: string, lastCap: number | undefined): string {
  const upper = name.toUpperCase();
  if (upper === 'ALL') return 'ALL';
  const full = upper.startsWith('CAP_') ? upper : `CAP_${upper}`;
  const index = ALL_CAPABILITIES.indexOf(full);
  if (index < 0) throw invalid(flag, name, `unknown capability ${full}`, 'see capabilities(7) for the names');
  if (lastCap !== undefined && index > lastCap) {
    throw new TscError('unsupported', `${flag} ${name}: this kernel does not have ${full}`);
  }
  return full;
}

/**
 * The container's capability set. As docker: --privileged gives all; a capability both
 * added and dropped is added; --cap-add ALL gives all but the dropped ones; --cap-drop
 * ALL keeps only the added ones; otherwise the defaults, less the dropped, plus the added
 * (sorted) at the end.
 */
export function resolveCapabilities(request: CapabilityRequest): string[] {
  const available = ALL_CAPABILITIES.slice(0, request.lastCap === undefined ? undefined : request.lastCap + 1);
  const add = new Set((request.capAdd ?? []).map((c) => normalizeCapability('--cap-add', c, request.lastCap)));
  const drop = new Set((request.capDrop ?? []).map((c) => normalizeCapability('--cap-drop', c, request.lastCap)));
  if (request.privileged === true) return [...available];
  for (const cap of add) drop.delete(cap);
  if (add.has('ALL')) return available.filter((c) => !drop.has(c));
  const added = [...add].filter((c) => c !== 'ALL').sort();
  if (drop.has('ALL')) return added;
  const kept = DEFAULT_CAPABILITIES.filter((c) => !drop.has(c));
  return [...kept, ...added.filter((c) => !kept.includes(c))];
}

export interface SecurityOptions {
  noNewPrivileges: boolean;
  /** undefined: unconfined */
  seccomp: SeccompReference | undefined;
  /** unmask=ALL or systempaths=unconfined */
  unmaskAll: boolean;
  /** unmask=PATH patterns (filepath.Match syntax) */
  unmask: string[];
  /** mask=PATH */
  mask: string[];
  /** accepted but not enforced */
  notes: string[];
}

const LABEL_KEYS = ['user', 'role', 'type', 'level', 'filetype'];

/**
 * --security-opt values. `key=value` and docker's older `key:value` are both accepted.
 * SELinux labels and AppArmor profiles are accepted and ignored with a note: tsc
 * applies neither.
 */
export function parseSecurityOpts(opts: readonly string[], privileged: boolean): SecurityOptions {
  const result: SecurityOptions = { noNewPrivileges: false, seccomp: { profile: 'default' }, unmaskAll: false, unmask: [], mask: [], notes: [] };
  for (const opt of opts) {
    let sep = opt.indexOf('=');
    if (sep < 0 && opt !== 'no-new-privileges') sep = opt.indexOf(':');
    if (sep < 0 && opt !== 'no-new-privileges') throw invalid('--security-opt', opt, 'expected KEY=VALUE');
    const key = sep < 0 ? opt : opt.slice(0, sep);
    const value = sep < 0 ? '' : opt.slice(sep + 1);
    switch (key) {
      case 'no-new-privileges':
        if (value === '' || value === 'true') result.noNewPrivileges = true;
        else if (value === 'false') result.noNewPrivileges = false;
        else throw invalid('--security-opt', opt, 'no-new-privileges takes true or false');
        break;
      case 'seccomp':
        if (value === 'unconfined') result.seccomp = undefined;
        else if (value === 'builtin' || value === 'default') result.seccomp = { profile: 'default' };
        else if (value.startsWith('/')) result.seccomp = { profile: 'file', path: value };
        else throw invalid('--security-opt', opt, 'seccomp takes unconfined or the absolute path of a profile');
        break;
      case 'label':
        if (value !== 'disable' && value !== 'nested' && !LABEL_KEYS.some((k) => value.startsWith(`${k}:`))) {
          throw invalid('--security-opt', opt, 'label takes disable, nested, user:, role:, type:, level: or filetype:');
        }
        if (value !== 'disable') result.notes.push(`--security-opt ${opt} is ignored: tsc does not apply SELinux labels`);
        break;
      case 'apparmor':
        if (value === '') throw invalid('--security-opt', opt, 'apparmor takes a profile name or unconfined');
        if (value !== 'unconfined') result.notes.push(`--security-opt ${opt} is ignored: tsc does not apply AppArmor profiles`);
        break;
      case 'unmask':
        for (const path of value.split(':')) {
          if (path.toUpperCase() === 'ALL') result.unmaskAll = true;
          else if (path.startsWith('/')) result.unmask.push(path);
          else throw invalid('--security-opt', opt, `unmask takes ALL or absolute paths separated by ":", not "${path}"`);
        }
        break;
      case 'mask':
        for (const path of value.split(':')) {
          if (!path.startsWith('/')) throw invalid('--security-opt', opt, `mask takes absolute paths separated by ":", not "${path}"`);
          result.mask.push(path);
        }
        break;
      case 'systempaths':
        if (value !== 'unconfined') throw invalid('--security-opt', opt, 'systempaths takes unconfined');
        result.unmaskAll = true;
        break;
      default:
        throw invalid('--security-opt', opt, `unknown option "${key}"`, 'options: no-new-privileges, seccomp=, label=, apparmor=, unmask=, mask=, systempaths=unconfined');
    }
  }
  if (privileged) result.seccomp = undefined;
  return result;
}

/** Whether `path` stays masked (or read-only) given the unmask patterns. */
export function stillMasked(path: string, security: Pick<SecurityOptions, 'unmaskAll' | 'unmask'>): boolean {
  if (security.unmaskAll) return false;
  return !security.unmask.some((pattern) => globToRegExp(pattern).test(path));
}

/** Go's filepath.Match syntax: * and ? do not cross /, [...] is a class ([^...] negates). */
function globToRegExp(pattern: string): RegExp {
  let out = '';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i] as string;
    if (c === '*') out += '[^/]*';
    else if (c === '?') out += '[^/]';
    else if (c === '[') {
      const end = pattern.indexOf(']', i + 2);
      if (end < 0) {
        out += '\\[';
        continue;
      }
      const body = pattern.slice(i + 1, end).replace(/\\/g, '\\\\');
      out += `[${body.startsWith('^') ? `^/${body.slice(1)}` : body}]`;
      i = end;
    } else if (c === '\\' && i + 1 < pattern.length) {
      out += `\\${pattern[++i] as string}`;
    } else out += c.replace(/[.+^${}()|\]\\]/g, '\\$&');
  }
  return new RegExp(`^${out}$`);
}
