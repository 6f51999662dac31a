/**
 * The docker/OCI seccomp profile format, as `--security-opt seccomp=FILE` reads it:
 * the runtime spec's `linux.seccomp` (defaultAction, defaultErrnoRet, architectures,
 * flags, syscalls with names/action/errnoRet/args) plus docker's extensions (archMap,
 * the deprecated single `name`, `comment`, and `includes`/`excludes` conditions on
 * capabilities, architecture and kernel version; resolve.ts evaluates them).
 *
 * Parsing is strict where docker is lenient: unknown fields, unknown actions, operators,
 * architectures and capabilities are errors that name the entry and field, because a
 * typo in a security profile should not quietly change what it allows. Syscall names are
 * only checked for shape: a name no ABI knows is skipped when compiling, as runc does,
 * so a profile written for a newer kernel still loads. `{}` is not "unconfined" as in
 * docker; `seccomp=unconfined` says that.
 */
import { TscError } from '../../errors.ts';
import { ACTION_NAMES, type SeccompActionName } from './actions.ts';
import { DOCKER_ARCH_NAMES, SCMP_ARCH_NAMES } from './arch.ts';

export type SeccompOperator =
  | 'SCMP_CMP_NE' | 'SCMP_CMP_LT' | 'SCMP_CMP_LE' | 'SCMP_CMP_EQ' | 'SCMP_CMP_GE' | 'SCMP_CMP_GT' | 'SCMP_CMP_MASKED_EQ';

export const OPERATORS: readonly SeccompOperator[] = [
  'SCMP_CMP_NE', 'SCMP_CMP_LT', 'SCMP_CMP_LE', 'SCMP_CMP_EQ', 'SCMP_CMP_GE', 'SCMP_CMP_GT', 'SCMP_CMP_MASKED_EQ',
];

/** The filter flags the runtime spec defines; the helper passes them to seccomp(2). */
export const FILTER_FLAGS: Readonly<Record<string, number>> = {
  SECCOMP_FILTER_FLAG_TSYNC: 1,
  SECCOMP_FILTER_FLAG_LOG: 2,
  SECCOMP_FILTER_FLAG_SPEC_ALLOW: 4,
  SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV: 32,
};

/** Capabilities a condition may name (linux/capability.h, through CAP_CHECKPOINT_RESTORE). */
export const CAPABILITIES: readonly string[] = [
  'CAP_CHOWN', 'CAP_DAC_OVERRIDE', 'CAP_DAC_READ_SEARCH', 'CAP_FOWNER', 'CAP_FSETID', 'CAP_KILL', 'CAP_SETGID',
  'CAP_SETUID', 'CAP_SETPCAP', 'CAP_LINUX_IMMUTABLE', 'CAP_NET_BIND_SERVICE', 'CAP_NET_BROADCAST',
  'CAP_NET_ADMIN', 'CAP_NET_RAW', 'CAP_IPC_LOCK', 'CAP_IPC_OWNER', 'CAP_SYS_MODULE', 'CAP_SYS_RAWIO',
  'CAP_SYS_CHROOT', 'CAP_SYS_PTRACE', 'CAP_SYS_PACCT', 'CAP_SYS_ADMIN', 'CAP_SYS_BOOT', 'CAP_SYS_NICE',
  'CAP_SYS_RESOURCE', 'CAP_SYS_TIME', 'CAP_SYS_TTY_CONFIG', 'CAP_MKNOD', 'CAP_LEASE', 'CAP_AUDIT_WRITE',
  'CAP_AUDIT_CONTROL', 'CAP_SETFCAP', 'CAP_MAC_OVERRIDE', 'CAP_MAC_ADMIN', 'CAP_SYSLOG', 'CAP_WAKE_ALARM',
  'CAP_BLOCK_SUSPEND', 'CAP_AUDIT_READ', 'CAP_PERFMON', 'CAP_BPF', 'CAP_CHECKPOINT_RESTORE',
];

export interface KernelVersion {
  major: number;
  minor: number;
}

/** One argument comparison. For MASKED_EQ, `value` is the mask and `valueTwo` the datum. */
export interface SeccompArg {
  index: number;
  value: bigint;
  valueTwo: bigint;
  op: SeccompOperator;
}

/** A rule applies when every listed condition holds (includes) or none does (excludes). */
export interface SeccompCondition {
  caps: string[];
  /** docker's native architecture names: amd64, x86, x32, arm64, arm, ... */
  arches: string[];
  minKernel: KernelVersion | undefined;
}

export interface SeccompRule {
  names: string[];
  action: SeccompActionName;
  errnoRet: number | undefined;
  args: SeccompArg[];
  comment: string | undefined;
  includes: SeccompCondition | undefined;
  excludes: SeccompCondition | undefined;
}

export interface SeccompArchMapEntry {
  architecture: string;
  subArchitectures: string[];
}

export interface SeccompProfile {
  defaultAction: SeccompActionName;
  defaultErrnoRet: number | undefined;
  /** OCI style: every architecture the filter covers (the container's own is implied) */
  architectures: string[];
  /** docker style: the covered architectures for each native one */
  archMap: SeccompArchMapEntry[];
  flags: string[];
  syscalls: SeccompRule[];
}

const MAX_U64 = (1n << 64n) - 1n;

/** Parses a profile's JSON text; `source` (a path) prefixes every error message. */
export function parseSeccompProfile(text: string, source = 'seccomp profile'): SeccompProfile {
  let value: unknown;
  try {
    // 64-bit argument values do not fit a double: keep their digits (JSON.parse source
    // text access) so 0xffffffffffffffff stays exact.
    value = JSON.parse(text, (_key: string, parsed: unknown, context?: { source?: string }) =>
      typeof parsed === 'number' && !Number.isSafeInteger(parsed) && context?.source !== undefined && /^\d+$/.test(context.source)
        ? BigInt(context.source)
        : parsed);
  } catch (error) {
    throw new TscError('invalid-argument', `${source}: not valid JSON: ${(error as Error).message}`, {
      hint: 'the file must hold a docker/OCI seccomp profile',
      cause: error,
    });
  }
  return validateSeccompProfile(value, source);
}

/** Checks an already-decoded profile (from JSON or an OCI config's linux.seccomp). */
export function validateSeccompProfile(value: unknown, source = 'seccomp profile'): SeccompProfile {
  const at = new Reader(source);
  const root = at.object(value, '');
  at.onlyKeys(root, '', ['defaultAction', 'defaultErrnoRet', 'architectures', 'archMap', 'flags', 'syscalls', 'listenerPath', 'listenerMetadata']);
  if (root.listenerPath !== undefined && root.listenerPath !== '') {
    throw at.unsupported('listenerPath', 'seccomp notify listeners are not supported by tsc');
  }
  if (root.defaultAction === undefined) throw at.fail('defaultAction', 'is required');
  const defaultAction = at.action(root.defaultAction, 'defaultAction');
  const defaultErrnoRet = at.errnoRet(root.defaultErrnoRet, defaultAction, 'defaultErrnoRet');
  const architectures = at.list(root.architectures, 'architectures', (item, path) => at.oneOf(item, path, SCMP_ARCH_NAMES, 'architecture'));
  const archMap = at.list(root.archMap, 'archMap', (item, path) => {
    const entry = at.object(item, path);
    at.onlyKeys(entry, path, ['architecture', 'subArchitectures']);
    return {
      architecture: at.oneOf(entry.architecture, `${path}.architecture`, SCMP_ARCH_NAMES, 'architecture'),
      subArchitectures: at.list(entry.subArchitectures, `${path}.subArchitectures`, (sub, subPath) => at.oneOf(sub, subPath, SCMP_ARCH_NAMES, 'architecture')),
    };
  });
  if (architectures.length > 0 && archMap.length > 0) {
    throw at.fail('archMap', 'cannot be combined with "architectures"; use one of them');
  }
  const flags = at.list(root.flags, 'flags', (item, path) => at.oneOf(item, path, Object.keys(FILTER_FLAGS), 'flag'));
  const syscalls = at.list(root.syscalls, 'syscalls', (item, path) => at.rule(item, path));
  return { defaultAction, defaultErrnoRet, architectures, archMap, flags, syscalls };
}

type Json = Record<string, unknown>;

/** Field readers that throw errors naming the path (`syscalls[3].args[0].op`). */
class Reader {
  private readonly source: string;

  constructor(source: string) {
    this.source = source;
  }

  fail(path: string, problem: string): TscError {
    return new TscError('invalid-argument', `${this.source}: ${path === '' ? 'the profile' : path} ${problem}`, {
      hint: 'see the docker seccomp profile format (docs.docker.com/engine/security/seccomp)',
    });
  }

  unsupported(path: string, problem: string): TscError {
    return new TscError('unsupported', `${this.source}: ${path}: ${problem}`);
  }

  object(value: unknown, path: string): Json {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) throw this.fail(path, 'must be an object');
    return value as Json;
  }

  onlyKeys(object: Json, path: string, allowed: readonly string[]): void {
    for (const key of Object.keys(object)) {
      if (!allowed.includes(key)) throw this.fail(path === '' ? key : `${path}.${key}`, `is not a known field (expected ${allowed.join(', ')})`);
    }
  }

  list<T>(value: unknown, path: string, item: (value: unknown, path: string) => T): T[] {
    if (value === undefined || value === null) return [];
    if (!Array.isArray(value)) throw this.fail(path, 'must be an array');
    return value.map((entry, index) => item(entry, `${path}[${index}]`));
  }

  string(value: unknown, path: string): string {
    if (typeof value !== 'string') throw this.fail(path, 'must be a string');
    return value;
  }

  oneOf<T extends string>(value: unknown, path: string, allowed: readonly T[], what: string): T {
    const text = this.string(value, path);
    if (!(allowed as readonly string[]).includes(text)) throw this.fail(path, `names an unknown ${what} "${text}"`);
    return text as T;
  }

  integer(value: unknown, path: string, min: number, max: number): number {
    if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
      throw this.fail(path, `must be an integer from ${min} to ${max}`);
    }
    return value;
  }

  u64(value: unknown, path: string): bigint {
    const number = typeof value === 'bigint' ? value : typeof value === 'number' && Number.isInteger(value) ? BigInt(value) : undefined;
    if (number === undefined || number < 0n || number > MAX_U64) throw this.fail(path, 'must be an integer from 0 to 2^64-1');
    return number;
  }

  action(value: unknown, path: string): SeccompActionName {
    const action = this.oneOf(value, path, ACTION_NAMES, 'action');
    if (action === 'SCMP_ACT_NOTIFY') throw this.unsupported(path, 'SCMP_ACT_NOTIFY needs a seccomp listener, which tsc does not support');
    return action;
  }

  /** errnoRet is the errno for ERRNO and the tracer's message for TRACE, else not allowed. */
  errnoRet(value: unknown, action: SeccompActionName, path: string): number | undefined {
    if (value === undefined || value === null) return undefined;
    if (action === 'SCMP_ACT_ERRNO') return this.integer(value, path, 0, 4095);
    if (action === 'SCMP_ACT_TRACE') return this.integer(value, path, 0, 0xffff);
    throw this.fail(path, `is only allowed with SCMP_ACT_ERRNO or SCMP_ACT_TRACE, not ${action}`);
  }

  rule(value: unknown, path: string): SeccompRule {
    const entry = this.object(value, path);
    this.onlyKeys(entry, path, ['names', 'name', 'action', 'errnoRet', 'args', 'comment', 'includes', 'excludes']);
    const names = this.list(entry.names, `${path}.names`, (item, itemPath) => this.syscallName(item, itemPath));
    if (entry.name !== undefined && entry.name !== '') {
      if (names.length > 0) throw this.fail(`${path}.name`, 'cannot be combined with "names"; use "names"');
      names.push(this.syscallName(entry.name, `${path}.name`));
    }
    if (names.length === 0) throw this.fail(`${path}.names`, 'must list at least one syscall');
    if (entry.action === undefined) throw this.fail(`${path}.action`, 'is required');
    const action = this.action(entry.action, `${path}.action`);
    return {
      names,
      action,
      errnoRet: this.errnoRet(entry.errnoRet, action, `${path}.errnoRet`),
      args: this.list(entry.args, `${path}.args`, (item, itemPath) => this.arg(item, itemPath)),
      comment: entry.comment === undefined ? undefined : this.string(entry.comment, `${path}.comment`),
      includes: this.condition(entry.includes, `${path}.includes`),
      excludes: this.condition(entry.excludes, `${path}.excludes`),
    };
  }

  syscallName(value: unknown, path: string): string {
    const name = this.string(value, path);
    if (!/^[a-z_][a-z0-9_]*$/.test(name)) throw this.fail(path, `is not a syscall name: "${name}"`);
    return name;
  }

  arg(value: unknown, path: string): SeccompArg {
    const entry = this.object(value, path);
    this.onlyKeys(entry, path, ['index', 'value', 'valueTwo', 'op']);
    if (entry.index === undefined) throw this.fail(`${path}.index`, 'is required');
    if (entry.value === undefined) throw this.fail(`${path}.value`, 'is required');
    if (entry.op === undefined) throw this.fail(`${path}.op`, 'is required');
    return {
      index: this.integer(entry.index, `${path}.index`, 0, 5),
      value: this.u64(entry.value, `${path}.value`),
      valueTwo: entry.valueTwo === undefined ? 0n : this.u64(entry.valueTwo, `${path}.valueTwo`),
      op: this.oneOf(entry.op, `${path}.op`, OPERATORS, 'operator'),
    };
  }

  condition(value: unknown, path: string): SeccompCondition | undefined {
    if (value === undefined || value === null) return undefined;
    const entry = this.object(value, path);
    this.onlyKeys(entry, path, ['caps', 'arches', 'minKernel']);
    const condition: SeccompCondition = {
      caps: this.list(entry.caps, `${path}.caps`, (item, itemPath) => this.oneOf(item, itemPath, CAPABILITIES, 'capability')),
      arches: this.list(entry.arches, `${path}.arches`, (item, itemPath) => this.oneOf(item, itemPath, DOCKER_ARCH_NAMES, 'architecture')),
      minKernel: this.kernelVersion(entry.minKernel, `${path}.minKernel`),
    };
    // docker writes `"includes": {}` on every rule; an empty condition is no condition
    return condition.caps.length === 0 && condition.arches.length === 0 && condition.minKernel === undefined ? undefined : condition;
  }

  /** "<kernel>.<major>" as docker has it: "5.8"; "" means none; "5.8.1" and "0.0" are errors. */
  kernelVersion(value: unknown, path: string): KernelVersion | undefined {
    if (value === undefined || value === null || value === '') return undefined;
    const text = this.string(value, path);
    const match = /^(\d{1,3})\.(\d{1,3})$/.exec(text);
    const major = Number(match?.[1]);
    const minor = Number(match?.[2]);
    if (match === null || major > 255 || minor > 255 || (major === 0 && minor === 0)) {
      throw this.fail(path, `must be a kernel version "<major>.<minor>" such as "5.8", not "${text}"`);
    }
    return { major, minor };
  }
}
