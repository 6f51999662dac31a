/**
 * Compiles a seccomp profile into the classic BPF program the native helper installs
 * with seccomp(SECCOMP_SET_MODE_FILTER) just before exec. The engine builds the program
 * as data (this file, resolve.ts); the helper only loads the bytes.
 *
 * The program reads `struct seccomp_data` (little-endian: tsc runs on x86_64 and aarch64):
 *   offset 0 nr (u32), 4 arch (u32), 8 instruction_pointer (u64), 16 + 8*i args[i] (u64,
 *   low word first). Every load is a 32-bit `ld [offset]`, the only load seccomp allows.
 *
 * Layout:
 *
 *   ld [4]                           ; arch
 *   jeq AUDIT_ARCH_<native>, A1      ; one test per covered AUDIT_ARCH (x86_64 and x32
 *   jeq AUDIT_ARCH_<compat>, A2      ;   share one)
 *   ret <bad-arch action>            ; anything else: kill-process unless told otherwise
 *   A1: ld [0]                       ; nr
 *       (x86_64 only) jge 0x40000000 -> X32 : X64 ; the x32 bit picks the ABI; an ABI
 *                                                 ;   the profile leaves out -> bad arch
 *       X64: <dispatch tree for x86_64>
 *       X32: <dispatch tree for x32>
 *   A2: ld [0]
 *       <dispatch tree for the compat ABI>
 *   BAD: ret <bad-arch action>
 *
 * A dispatch tree splits the ABI's number range into runs of numbers that get the same
 * outcome (the allowed syscalls 0-12 are one run; a gap of denied numbers is the next;
 * everything above the profile's highest syscall is the ENOSYS run of resolve.ts) and
 * binary-searches them with `jge`: about eight comparisons per syscall and two
 * instructions per run, so the default profile compiles to under 700 instructions for
 * x86_64, i386 and x32 together (about 500 for aarch64 and arm), far from the kernel's
 * 4096. A run's leaf is `ret <action>`, or for a syscall with argument rules, one block
 * per rule:
 *
 *   <comparison>...                  ; each falls through when it holds, else -> NEXT
 *   ret <rule action>
 *   NEXT: ...next rule...
 *   ret <default action>
 *
 * 64-bit comparisons test the high word first and the low word only when the high
 * words are equal (for LT/LE/GT/GE) or when it must (EQ/NE/MASKED_EQ). On 32-bit ABIs
 * (x86, x32, arm) only the low word is compared, as libseccomp does. Branches whose
 * target is more than 255 instructions ahead get a `ja` trampoline (assembler.ts).
 */
import { TscError } from '../../errors.ts';
import { ENOSYS, SECCOMP_RET_ERRNO } from './actions.ts';
import { ABIS, X32_SYSCALL_BIT, type SyscallAbi } from './arch.ts';
import { Assembler, BPF_JEQ, BPF_JGE, BPF_JGT, BPF_MAXINSNS, type Instruction } from './assembler.ts';
import type { SeccompArg, SeccompProfile } from './profile.ts';
import { resolveSeccomp, type AbiPolicy, type ArgRule, type ResolvedSeccomp, type SeccompTarget, type SyscallDecision } from './resolve.ts';

export type { Instruction } from './assembler.ts';

export const SECCOMP_DATA_NR = 0;
export const SECCOMP_DATA_ARCH = 4;
export const SECCOMP_DATA_ARGS = 16;

/** A compiled filter: what the helper needs to install it. */
export interface SeccompFilter {
  instructions: Instruction[];
  /** SECCOMP_FILTER_FLAG_* bits for seccomp(2) */
  flags: number;
  /** syscall names the profile uses that none of the covered ABIs has (skipped) */
  unknownSyscalls: string[];
}

/** Resolves the profile for the container and compiles it. */
export function compileSeccomp(profile: SeccompProfile, target: SeccompTarget): SeccompFilter {
  const resolved = resolveSeccomp(profile, target);
  return { instructions: compileResolved(resolved), flags: resolved.flags, unknownSyscalls: resolved.unknownSyscalls };
}

export function compileResolved(resolved: ResolvedSeccomp): Instruction[] {
  const asm = new Assembler();
  const bad = asm.newLabel('bad-arch');
  const groups = new Map<number, AbiPolicy[]>();
  for (const policy of resolved.abis) {
    const audit = ABIS[policy.abi].audit;
    groups.set(audit, [...(groups.get(audit) ?? []), policy]);
  }
  const entries = [...groups.keys()].map((audit) => ({ audit, label: asm.newLabel(`arch-${audit.toString(16)}`) }));

  asm.load(SECCOMP_DATA_ARCH);
  for (const { audit, label } of entries) asm.branch(BPF_JEQ, audit, label, null);
  asm.ret(resolved.badArchAction);

  let badUsed = false;
  for (const { audit, label } of entries) {
    const policies = groups.get(audit) ?? [];
    asm.label(label);
    asm.load(SECCOMP_DATA_NR);
    if (audit !== ABIS.x86_64.audit) {
      dispatch(asm, policies[0] as AbiPolicy, resolved.defaultAction, 0, 0xffffffff);
      continue;
    }
    // x86_64 and x32 arrive with the same AUDIT_ARCH; the x32 bit in nr tells them apart
    const x64 = policies.find((policy) => policy.abi === 'x86_64');
    const x32 = policies.find((policy) => policy.abi === 'x32');
    const x32Label = x32 === undefined ? bad : asm.newLabel('x32');
    badUsed ||= x32 === undefined || x64 === undefined;
    asm.branch(BPF_JGE, X32_SYSCALL_BIT, x32Label, x64 === undefined ? bad : null);
    if (x64 !== undefined) dispatch(asm, x64, resolved.defaultAction, 0, X32_SYSCALL_BIT - 1);
    if (x32 !== undefined) {
      asm.label(x32Label);
      dispatch(asm, x32, resolved.defaultAction, X32_SYSCALL_BIT, 0xffffffff);
    }
  }
  if (badUsed) {
    asm.label(bad);
    asm.ret(resolved.badArchAction);
  }

  const program = asm.assemble();
  if (program.length > BPF_MAXINSNS) {
    throw new TscError('invalid-argument', `seccomp profile compiles to ${program.length} BPF instructions, more than the kernel's limit of ${BPF_MAXINSNS}`, {
      hint: 'merge rules or drop argument conditions from the profile',
    });
  }
  return program;
}

/** A run of consecutive syscall numbers with one outcome. */
interface Run {
  first: number;
  key: string;
  decision: SyscallDecision;
}

/** The runs covering [low, high] for one ABI, in number order. */
function runs(policy: AbiPolicy, defaultAction: number, low: number, high: number): Run[] {
  const out: Run[] = [];
  const push = (first: number, decision: SyscallDecision): void => {
    const key = 'action' in decision ? `ret ${decision.action}` : `rules ${first}`;
    if (out.at(-1)?.key !== key) out.push({ first, key, decision });
  };
  const deflt: SyscallDecision = { action: defaultAction };
  const enosys: SyscallDecision = { action: (SECCOMP_RET_ERRNO | ENOSYS) >>> 0 };
  let next = low;
  for (const [nr, decision] of policy.syscalls) {
    if (nr < low || nr > high) continue;
    if (nr > next) push(next, deflt);
    push(nr, decision);
    next = nr + 1;
  }
  if (next <= high) {
    const above = policy.enosysAbove;
    if (above === undefined || above >= high) {
      push(next, deflt);
    } else {
      if (above >= next) push(next, deflt);
      push(Math.max(next, above + 1), enosys);
    }
  }
  return out;
}

function dispatch(asm: Assembler, policy: AbiPolicy, defaultAction: number, low: number, high: number): void {
  const list = runs(policy, defaultAction, low, high);
  const width = ABIS[policy.abi].argBits;
  const tree = (from: number, to: number): void => {
    if (from === to) {
      leaf(asm, (list[from] as Run).decision, width, policy.abi);
      return;
    }
    const middle = (from + to + 1) >> 1;
    const upper = asm.newLabel('ge');
    asm.branch(BPF_JGE, (list[middle] as Run).first, upper, null);
    tree(from, middle - 1);
    asm.label(upper);
    tree(middle, to);
  };
  tree(0, list.length - 1);
}

function leaf(asm: Assembler, decision: SyscallDecision, width: 32 | 64, abi: SyscallAbi): void {
  if ('action' in decision) {
    asm.ret(decision.action);
    return;
  }
  for (const rule of decision.rules) {
    const next = asm.newLabel(`${abi}-next-rule`);
    argRule(asm, rule, width, next);
    asm.label(next);
  }
  asm.ret(decision.fallback);
}

function argRule(asm: Assembler, rule: ArgRule, width: 32 | 64, fail: string): void {
  for (const arg of rule.args) compare(asm, arg, width, fail);
  asm.ret(rule.action);
}

const MASK32 = 0xffffffffn;

/** Code that falls through when `arg` holds and jumps to `fail` when it does not. */
function compare(asm: Assembler, arg: SeccompArg, width: 32 | 64, fail: string): void {
  const low = SECCOMP_DATA_ARGS + 8 * arg.index;
  const high = low + 4;
  const value = { high: Number((arg.value >> 32n) & MASK32), low: Number(arg.value & MASK32) };
  const pass = asm.newLabel('pass');
  const wide = width === 64;
  switch (arg.op) {
    case 'SCMP_CMP_EQ':
      if (wide) { asm.load(high); asm.branch(BPF_JEQ, value.high, null, fail); }
      asm.load(low); asm.branch(BPF_JEQ, value.low, null, fail);
      break;
    case 'SCMP_CMP_NE':
      if (wide) { asm.load(high); asm.branch(BPF_JEQ, value.high, null, pass); }
      asm.load(low); asm.branch(BPF_JEQ, value.low, fail, null);
      break;
    case 'SCMP_CMP_GT':
    case 'SCMP_CMP_GE': {
      if (wide) { asm.load(high); asm.branch(BPF_JGT, value.high, pass, null); asm.branch(BPF_JEQ, value.high, null, fail); }
      asm.load(low); asm.branch(arg.op === 'SCMP_CMP_GT' ? BPF_JGT : BPF_JGE, value.low, null, fail);
      break;
    }
    case 'SCMP_CMP_LT':
    case 'SCMP_CMP_LE': {
      if (wide) { asm.load(high); asm.branch(BPF_JGT, value.high, fail, null); asm.branch(BPF_JEQ, value.high, null, pass); }
      asm.load(low); asm.branch(arg.op === 'SCMP_CMP_LT' ? BPF_JGE : BPF_JGT, value.low, fail, null);
      break;
    }
    case 'SCMP_CMP_MASKED_EQ': {
      const datum = { high: Number((arg.valueTwo >> 32n) & MASK32), low: Number(arg.valueTwo & MASK32) };
      if (wide) maskedWord(asm, high, value.high, datum.high, fail);
      maskedWord(asm, low, value.low, datum.low, fail);
      break;
    }
  }
  asm.label(pass);
}

/** (word & mask) == datum, skipping what needs no test. */
function maskedWord(asm: Assembler, offset: number, mask: number, datum: number, fail: string): void {
  if ((datum & ~mask) !== 0) {
    asm.jump(fail); // bits the mask clears can never equal a datum that sets them
    return;
  }
  if (mask === 0) return; // 0 == 0 always
  asm.load(offset);
  if (mask !== 0xffffffff) asm.and(mask);
  asm.branch(BPF_JEQ, datum, null, fail);
}

/** The program as the kernel's `struct sock_filter[]`: u16 code, u8 jt, u8 jf, u32 k, little-endian. */
export function serializeProgram(program: readonly Instruction[]): Buffer {
  const bytes = Buffer.alloc(program.length * 8);
  program.forEach((insn, index) => {
    const at = index * 8;
    bytes.writeUInt16LE(insn.code, at);
    bytes.writeUInt8(insn.jt, at + 2);
    bytes.writeUInt8(insn.jf, at + 3);
    bytes.writeUInt32LE(insn.k >>> 0, at + 4);
  });
  return bytes;
}

/** Reads a serialized program back (for tests and `tsc inspect`-style dumps). */
export function parseProgram(bytes: Uint8Array): Instruction[] {
  if (bytes.length % 8 !== 0) throw new TscError('invalid-argument', `seccomp program: ${bytes.length} bytes is not a whole number of 8-byte instructions`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out: Instruction[] = [];
  for (let at = 0; at < bytes.length; at += 8) {
    out.push({ code: view.getUint16(at, true), jt: view.getUint8(at + 2), jf: view.getUint8(at + 3), k: view.getUint32(at + 4, true) });
  }
  return out;
}
