/**
 * A classic-BPF interpreter with the kernel's seccomp rules, so the compiler can be
 * tested without installing a filter: run a program against one syscall and get the
 * value the kernel would act on. It accepts exactly the instructions seccomp accepts
 * (kernel/seccomp.c seccomp_check_filter on top of bpf_check_classic, including its
 * scratch-memory check) and rejects the rest, so a program it runs is also one the
 * kernel would load.
 */
import { TscError } from '../../errors.ts';
import {
  BPF_A, BPF_ABS, BPF_ADD, BPF_ALU, BPF_AND, BPF_DIV, BPF_IMM, BPF_JA, BPF_JEQ, BPF_JGE, BPF_JGT, BPF_JMP, BPF_JSET,
  BPF_LD, BPF_LDX, BPF_LEN, BPF_LSH, BPF_MAXINSNS, BPF_MEM, BPF_MISC, BPF_MOD, BPF_MUL, BPF_NEG, BPF_OR, BPF_RET,
  BPF_K, BPF_RSH, BPF_ST, BPF_STX, BPF_SUB, BPF_TAX, BPF_TXA, BPF_W, BPF_X, BPF_XOR, type Instruction,
} from './assembler.ts';

/** The syscall a filter sees (struct seccomp_data). */
export interface SeccompData {
  nr: number;
  arch: number;
  instructionPointer?: bigint;
  /** up to six 64-bit arguments; missing ones are 0 */
  args?: readonly (bigint | number)[];
}

const SECCOMP_DATA_SIZE = 64;
const BPF_MEMWORDS = 16;

function invalid(index: number, problem: string): TscError {
  return new TscError('invalid-argument', `bpf program: instruction ${index}: ${problem}`);
}

/** Throws unless the kernel would accept `program` as a seccomp filter. */
export function validateProgram(program: readonly Instruction[]): void {
  if (program.length === 0 || program.length > BPF_MAXINSNS) {
    throw new TscError('invalid-argument', `bpf program: ${program.length} instructions (1 to ${BPF_MAXINSNS} allowed)`);
  }
  program.forEach((insn, index) => {
    const { code, jt, jf, k } = insn;
    if (!Number.isInteger(k) || k < 0 || k > 0xffffffff || jt < 0 || jt > 255 || jf < 0 || jf > 255) throw invalid(index, 'field out of range');
    const cls = code & 0x07;
    switch (cls) {
      case BPF_LD:
        if (code === (BPF_LD | BPF_W | BPF_ABS)) {
          if (k % 4 !== 0 || k >= SECCOMP_DATA_SIZE) throw invalid(index, `load from offset ${k} outside seccomp_data`);
        } else if (code === (BPF_LD | BPF_W | BPF_MEM)) {
          if (k >= BPF_MEMWORDS) throw invalid(index, `scratch slot ${k}`);
        } else if (code !== (BPF_LD | BPF_W | BPF_LEN) && code !== (BPF_LD | BPF_IMM)) {
          throw invalid(index, `load 0x${code.toString(16)} is not allowed in seccomp`);
        }
        break;
      case BPF_LDX:
        if (code === (BPF_LDX | BPF_W | BPF_MEM)) {
          if (k >= BPF_MEMWORDS) throw invalid(index, `scratch slot ${k}`);
        } else if (code !== (BPF_LDX | BPF_W | BPF_LEN) && code !== (BPF_LDX | BPF_IMM)) {
          throw invalid(index, `load 0x${code.toString(16)} is not allowed in seccomp`);
        }
        break;
      case BPF_ST:
      case BPF_STX:
        if (code !== cls || k >= BPF_MEMWORDS) throw invalid(index, 'bad store');
        break;
      case BPF_ALU: {
        const op = code & 0xf0;
        if (![BPF_ADD, BPF_SUB, BPF_MUL, BPF_DIV, BPF_OR, BPF_AND, BPF_LSH, BPF_RSH, BPF_NEG, BPF_MOD, BPF_XOR].includes(op)) throw invalid(index, 'unknown alu operation');
        if ((op === BPF_DIV || op === BPF_MOD) && (code & BPF_X) === 0 && k === 0) throw invalid(index, 'division by constant 0');
        if ((op === BPF_LSH || op === BPF_RSH) && (code & BPF_X) === 0 && k >= 32) throw invalid(index, 'shift by 32 or more');
        break;
      }
      case BPF_JMP: {
        const op = code & 0xf0;
        if (op === BPF_JA) {
          if (code !== (BPF_JMP | BPF_JA) || index + 1 + k >= program.length) throw invalid(index, 'jump out of the program');
        } else if ([BPF_JEQ, BPF_JGT, BPF_JGE, BPF_JSET].includes(op)) {
          if (index + 1 + Math.max(jt, jf) >= program.length) throw invalid(index, 'jump out of the program');
        } else {
          throw invalid(index, 'unknown jump');
        }
        break;
      }
      case BPF_RET:
        if (code !== (BPF_RET | BPF_K) && code !== (BPF_RET | BPF_A)) throw invalid(index, 'bad return');
        break;
      case BPF_MISC:
        if (code !== (BPF_MISC | BPF_TAX) && code !== (BPF_MISC | BPF_TXA)) throw invalid(index, 'bad misc');
        break;
    }
  });
  const last = program.at(-1) as Instruction;
  if ((last.code & 0x07) !== BPF_RET) throw invalid(program.length - 1, 'the last instruction must return');
  checkScratchLoads(program);
}

/** Like the kernel's check_load_and_stores: a scratch slot must be stored on every path before it is loaded. */
function checkScratchLoads(program: readonly Instruction[]): void {
  const masks = new Array<number>(program.length).fill(0xffff);
  let valid = 0;
  program.forEach(({ code, jt, jf, k }, pc) => {
    valid &= masks[pc] as number;
    if (code === BPF_ST || code === BPF_STX) valid |= 1 << k;
    if (code === (BPF_LD | BPF_W | BPF_MEM) || code === (BPF_LDX | BPF_W | BPF_MEM)) {
      if ((valid & (1 << k)) === 0) throw invalid(pc, `scratch slot ${k} is loaded before it is stored`);
    }
    if ((code & 0x07) === BPF_JMP) {
      const targets = (code & 0xf0) === BPF_JA ? [pc + 1 + k] : [pc + 1 + jt, pc + 1 + jf];
      for (const target of targets) masks[target] = (masks[target] as number) & valid;
      valid = 0xffff;
    }
  });
}

/** The 64 bytes of seccomp_data, little-endian. */
export function seccompDataBytes(data: SeccompData): DataView {
  const view = new DataView(new ArrayBuffer(SECCOMP_DATA_SIZE));
  view.setUint32(0, data.nr >>> 0, true);
  view.setUint32(4, data.arch >>> 0, true);
  view.setBigUint64(8, BigInt.asUintN(64, data.instructionPointer ?? 0n), true);
  for (let i = 0; i < 6; i++) view.setBigUint64(16 + 8 * i, BigInt.asUintN(64, BigInt(data.args?.[i] ?? 0)), true);
  return view;
}

/** Runs a (validated) filter for one syscall and returns its 32-bit verdict. */
export function runFilter(program: readonly Instruction[], data: SeccompData): number {
  validateProgram(program);
  const input = seccompDataBytes(data);
  const mem = new Uint32Array(BPF_MEMWORDS);
  let a = 0;
  let x = 0;
  for (let pc = 0; pc < program.length; pc++) {
    const { code, jt, jf, k } = program[pc] as Instruction;
    const src = (code & BPF_X) !== 0 ? x : k;
    switch (code & 0x07) {
      case BPF_LD:
        a = code === (BPF_LD | BPF_W | BPF_ABS) ? input.getUint32(k, true)
          : code === (BPF_LD | BPF_W | BPF_MEM) ? (mem[k] as number)
            : code === (BPF_LD | BPF_W | BPF_LEN) ? SECCOMP_DATA_SIZE : k;
        break;
      case BPF_LDX:
        x = code === (BPF_LDX | BPF_W | BPF_MEM) ? (mem[k] as number) : code === (BPF_LDX | BPF_W | BPF_LEN) ? SECCOMP_DATA_SIZE : k;
        break;
      case BPF_ST: mem[k] = a; break;
      case BPF_STX: mem[k] = x; break;
      case BPF_ALU: {
        const op = code & 0xf0;
        if ((op === BPF_DIV || op === BPF_MOD) && src === 0) return 0; // the kernel returns 0: kill
        a = alu(op, a, src);
        break;
      }
      case BPF_JMP: {
        const op = code & 0xf0;
        if (op === BPF_JA) { pc += k; break; }
        const hit = op === BPF_JEQ ? a === src : op === BPF_JGT ? a > src : op === BPF_JGE ? a >= src : (a & src) !== 0;
        pc += hit ? jt : jf;
        break;
      }
      case BPF_RET: return ((code & BPF_A) !== 0 ? a : k) >>> 0;
      case BPF_MISC: if (code === (BPF_MISC | BPF_TAX)) x = a; else a = x; break;
    }
  }
  throw new TscError('internal', 'bpf program: ran past its end');
}

function alu(op: number, a: number, b: number): number {
  switch (op) {
    case BPF_ADD: return (a + b) >>> 0;
    case BPF_SUB: return (a - b) >>> 0;
    case BPF_MUL: return Math.imul(a, b) >>> 0;
    case BPF_DIV: return Math.floor(a / b) >>> 0;
    case BPF_MOD: return (a % b) >>> 0;
    case BPF_OR: return (a | b) >>> 0;
    case BPF_AND: return (a & b) >>> 0;
    case BPF_XOR: return (a ^ b) >>> 0;
    case BPF_LSH: return b >= 32 ? 0 : (a << b) >>> 0;
    case BPF_RSH: return b >= 32 ? 0 : a >>> b;
    default: return (-a) >>> 0; // BPF_NEG
  }
}
