/**
 * Turns a profile into the decisions one container's filter makes: which ABIs it covers,
 * and per ABI, what each syscall number gets. Conditions (`includes`/`excludes`) are
 * evaluated here against the container's capability bounding set, its architecture
 * (docker's native name: amd64 or arm64) and the host kernel, as docker does; bpf.ts
 * then only has to encode the result.
 *
 * Semantics, following runc + libseccomp where the format leaves room:
 * - Covered ABIs: the archMap entry for the container's architecture with its
 *   subarchitectures; else `architectures` plus the native one; else the native one.
 *   ABIs the container's CPU cannot run (an x86 entry on aarch64, ppc64le anywhere) are
 *   dropped: no syscall can arrive from them. Any other ABI gets the bad-arch action.
 * - A rule whose action equals the default action is dropped (runc does; libseccomp
 *   rejects it), so it cannot shadow other rules.
 * - Per syscall, an unconditional rule wins over rules with arguments, and the first
 *   unconditional rule wins over later ones (libseccomp keeps the first).
 * - Rules with arguments are tried in profile order; the first whose comparisons all
 *   hold decides, else the default action. Several comparisons on the same argument are
 *   ANDed like any others (runc ORs them by adding one rule per comparison, which makes
 *   such a rule more permissive than it reads; tsc does what the profile says).
 * - Unless the default action lets syscalls run (allow, log, trace), syscall numbers above
 *   the highest one the profile names for an ABI return ENOSYS rather than the default,
 *   as runc's stub does: a syscall newer than the profile then looks "not implemented"
 *   and libc falls back to an older one instead of failing with EPERM.
 */
import { TscError } from '../../errors.ts';
import { ENOSYS, actionValue, isPermissive, SECCOMP_RET_ERRNO, SECCOMP_RET_KILL_PROCESS, type SeccompActionName } from './actions.ts';
import { ABIS, RUNNABLE_ABIS, abiFromScmp, type NativeArch, type SyscallAbi } from './arch.ts';
import { FILTER_FLAGS, type KernelVersion, type SeccompArg, type SeccompCondition, type SeccompProfile, type SeccompRule } from './profile.ts';
import { syscallNumber } from './syscalls.ts';

/** What a container's filter is compiled for. */
export interface SeccompTarget {
  /** the container's architecture */
  arch: NativeArch;
  /** the container's capability bounding set (`CAP_SYS_ADMIN`, ...) */
  capabilities: readonly string[];
  /** the host kernel, for `minKernel` conditions */
  kernel: KernelVersion;
  /** what a syscall from an ABI the filter does not cover gets; kill-process by default */
  badArchAction?: SeccompActionName;
}

/** A rule with arguments, reduced to what the filter tests. */
export interface ArgRule {
  args: SeccompArg[];
  action: number;
}

/** One syscall's decision: an action, or argument rules tried in order, then `fallback`. */
export type SyscallDecision = { action: number } | { rules: ArgRule[]; fallback: number };

export interface AbiPolicy {
  abi: SyscallAbi;
  /** decisions that differ from the default, by `seccomp_data.nr` (x32: with the x32 bit) */
  syscalls: Map<number, SyscallDecision>;
  /** numbers above this get ERRNO(ENOSYS); undefined when there is no such stub */
  enosysAbove: number | undefined;
}

export interface ResolvedSeccomp {
  defaultAction: number;
  badArchAction: number;
  /** SECCOMP_FILTER_FLAG_* bits for seccomp(2) */
  flags: number;
  /** covered ABIs, the native one first */
  abis: AbiPolicy[];
  /** names that survived the conditions but that no covered ABI has (skipped, as runc does) */
  unknownSyscalls: string[];
}

export function resolveSeccomp(profile: SeccompProfile, target: SeccompTarget): ResolvedSeccomp {
  checkTarget(target);
  const defaultAction = actionValue(profile.defaultAction, profile.defaultErrnoRet);
  const rules = profile.syscalls.filter((rule) => applies(rule, target));
  const abis = coveredAbis(profile, target.arch);
  const stub = !isPermissive(defaultAction) && defaultAction !== ((SECCOMP_RET_ERRNO | ENOSYS) >>> 0);
  const known = new Set<string>();
  const policies = abis.map((abi) => {
    const policy = abiPolicy(abi, rules, defaultAction, known);
    if (!stub) policy.enosysAbove = undefined;
    return policy;
  });
  const unknownSyscalls = [...new Set(rules.flatMap((rule) => rule.names))].filter((name) => !known.has(name));
  return {
    defaultAction,
    badArchAction: target.badArchAction === undefined ? SECCOMP_RET_KILL_PROCESS : actionValue(target.badArchAction),
    flags: profile.flags.reduce((bits, flag) => bits | (FILTER_FLAGS[flag] ?? 0), 0),
    abis: policies,
    unknownSyscalls,
  };
}

/** Whether a rule survives its `excludes` and `includes` for this container. */
export function applies(rule: SeccompRule, target: SeccompTarget): boolean {
  const arch = ABIS[target.arch].docker;
  const has = (cap: string): boolean => target.capabilities.includes(cap);
  const atLeast = (min: KernelVersion): boolean =>
    target.kernel.major > min.major || (target.kernel.major === min.major && target.kernel.minor >= min.minor);
  const excludes: SeccompCondition | undefined = rule.excludes;
  if (excludes !== undefined) {
    if (excludes.arches.includes(arch)) return false;
    if (excludes.caps.some(has)) return false;
    if (excludes.minKernel !== undefined && atLeast(excludes.minKernel)) return false;
  }
  const includes: SeccompCondition | undefined = rule.includes;
  if (includes !== undefined) {
    if (includes.arches.length > 0 && !includes.arches.includes(arch)) return false;
    if (!includes.caps.every(has)) return false;
    if (includes.minKernel !== undefined && !atLeast(includes.minKernel)) return false;
  }
  return true;
}

function coveredAbis(profile: SeccompProfile, arch: NativeArch): SyscallAbi[] {
  const native = ABIS[arch].scmp;
  let names: string[] = [native];
  if (profile.archMap.length > 0) {
    const entry = profile.archMap.find((candidate) => candidate.architecture === native);
    if (entry !== undefined) names = [native, ...entry.subArchitectures];
  } else if (profile.architectures.length > 0) {
    names = [native, ...profile.architectures];
  }
  const runnable = RUNNABLE_ABIS[arch];
  const abis = names.map(abiFromScmp).filter((abi): abi is SyscallAbi => abi !== undefined && runnable.includes(abi));
  return [...new Set(abis)];
}

function abiPolicy(abi: SyscallAbi, rules: SeccompRule[], defaultAction: number, known: Set<string>): AbiPolicy {
  const unconditional = new Map<number, number>();
  const conditional = new Map<number, ArgRule[]>();
  let highest = -1;
  for (const rule of rules) {
    const action = actionValue(rule.action, rule.errnoRet);
    for (const name of rule.names) {
      const nr = syscallNumber(abi, name);
      if (nr === undefined) continue;
      known.add(name);
      highest = Math.max(highest, nr);
      if (action === defaultAction) continue;
      if (rule.args.length === 0) {
        if (!unconditional.has(nr)) unconditional.set(nr, action);
      } else {
        const list = conditional.get(nr) ?? [];
        list.push({ args: rule.args, action });
        conditional.set(nr, list);
      }
    }
  }
  const syscalls = new Map<number, SyscallDecision>();
  for (const [nr, action] of unconditional) syscalls.set(nr, { action });
  for (const [nr, list] of conditional) {
    if (!syscalls.has(nr)) syscalls.set(nr, { rules: list, fallback: defaultAction });
  }
  return { abi, syscalls: new Map([...syscalls].sort(([a], [b]) => a - b)), enosysAbove: highest < 0 ? undefined : highest };
}

/** The decision a resolved policy makes for one ABI's syscall number, before arguments. */
export function decisionFor(policy: AbiPolicy, nr: number, defaultAction: number): SyscallDecision {
  const decision = policy.syscalls.get(nr);
  if (decision !== undefined) return decision;
  if (policy.enosysAbove !== undefined && nr > policy.enosysAbove) return { action: (SECCOMP_RET_ERRNO | ENOSYS) >>> 0 };
  return { action: defaultAction };
}

/** Throws unless the target names an architecture tsc can filter for. */
export function checkTarget(target: SeccompTarget): void {
  if (!(target.arch in RUNNABLE_ABIS)) {
    throw new TscError('unsupported', `seccomp: no syscall tables for architecture "${String(target.arch)}"`, {
      hint: 'tsc filters syscalls on x86_64 and aarch64',
    });
  }
}
