/**
 * Classic BPF instructions (linux/filter.h, linux/bpf_common.h) and a small assembler
 * with symbolic labels.
 *
 * cBPF only jumps forward, and a conditional jump's offsets (jt, jf) are 8 bits, so a
 * target more than 255 instructions away needs a trampoline: the conditional jump goes
 * to an unconditional `ja`, whose offset is 32 bits. assemble() lays the program out,
 * gives every too-long branch its trampoline right after the jump, and lays it out again
 * until nothing is out of reach (trampolines only ever make distances longer, so this
 * ends).
 */
import { TscError } from '../../errors.ts';

/** One `struct sock_filter`. */
export interface Instruction {
  code: number;
  jt: number;
  jf: number;
  k: number;
}

// instruction classes, sizes, modes, operations and sources
export const BPF_LD = 0x00;
export const BPF_LDX = 0x01;
export const BPF_ST = 0x02;
export const BPF_STX = 0x03;
export const BPF_ALU = 0x04;
export const BPF_JMP = 0x05;
export const BPF_RET = 0x06;
export const BPF_MISC = 0x07;
export const BPF_W = 0x00;
export const BPF_IMM = 0x00;
export const BPF_ABS = 0x20;
export const BPF_MEM = 0x60;
export const BPF_LEN = 0x80;
export const BPF_ADD = 0x00;
export const BPF_SUB = 0x10;
export const BPF_MUL = 0x20;
export const BPF_DIV = 0x30;
export const BPF_OR = 0x40;
export const BPF_AND = 0x50;
export const BPF_LSH = 0x60;
export const BPF_RSH = 0x70;
export const BPF_NEG = 0x80;
export const BPF_MOD = 0x90;
export const BPF_XOR = 0xa0;
export const BPF_JA = 0x00;
export const BPF_JEQ = 0x10;
export const BPF_JGT = 0x20;
export const BPF_JGE = 0x30;
export const BPF_JSET = 0x40;
export const BPF_K = 0x00;
export const BPF_X = 0x08;
export const BPF_A = 0x10;
export const BPF_TAX = 0x00;
export const BPF_TXA = 0x80;

/** The kernel's limit on a filter's length (BPF_MAXINSNS). */
export const BPF_MAXINSNS = 4096;

/** A label name, or null for "the next instruction". */
export type Target = string | null;

type Item =
  | { kind: 'label'; name: string }
  | { kind: 'plain'; code: number; k: number }
  | { kind: 'branch'; code: number; k: number; jt: Target; jf: Target }
  | { kind: 'ja'; target: string };

export class Assembler {
  private readonly items: Item[] = [];
  private labels = 0;

  /** A fresh label name; `hint` makes disassembly readable. */
  newLabel(hint: string): string {
    this.labels += 1;
    return `${hint}.${this.labels}`;
  }

  label(name: string): void {
    this.items.push({ kind: 'label', name });
  }

  /** `ld [offset]`: a 32-bit word of seccomp_data. */
  load(offset: number): void {
    this.items.push({ kind: 'plain', code: BPF_LD | BPF_W | BPF_ABS, k: offset });
  }

  and(k: number): void {
    this.items.push({ kind: 'plain', code: BPF_ALU | BPF_AND | BPF_K, k: k >>> 0 });
  }

  ret(k: number): void {
    this.items.push({ kind: 'plain', code: BPF_RET | BPF_K, k: k >>> 0 });
  }

  /** `j<op> k`: to `jt` if it holds, else to `jf`. */
  branch(op: typeof BPF_JEQ | typeof BPF_JGT | typeof BPF_JGE | typeof BPF_JSET, k: number, jt: Target, jf: Target): void {
    if (jt !== null && jt === jf) {
      this.jump(jt);
      return;
    }
    this.items.push({ kind: 'branch', code: BPF_JMP | op | BPF_K, k: k >>> 0, jt, jf });
  }

  jump(target: string): void {
    this.items.push({ kind: 'ja', target });
  }

  assemble(): Instruction[] {
    const far = new Map<number, { t: boolean; f: boolean }>();
    for (;;) {
      const { positions, labels } = this.layout(far);
      let grew = false;
      this.items.forEach((item, index) => {
        if (item.kind !== 'branch') return;
        const at = positions[index] as number;
        const wide = far.get(index) ?? { t: false, f: false };
        const next = at + 1 + Number(wide.t) + Number(wide.f);
        const t = item.jt === null ? next : resolve(labels, item.jt, at);
        const f = item.jf === null ? next : resolve(labels, item.jf, at);
        const needT = wide.t || t - at - 1 > 255;
        const needF = wide.f || f - at - 1 > 255;
        if (needT !== wide.t || needF !== wide.f) {
          far.set(index, { t: needT, f: needF });
          grew = true;
        }
      });
      if (!grew) return this.emit(positions, labels, far);
    }
  }

  private layout(far: Map<number, { t: boolean; f: boolean }>): { positions: number[]; labels: Map<string, number> } {
    const positions: number[] = [];
    const labels = new Map<string, number>();
    let at = 0;
    this.items.forEach((item, index) => {
      positions.push(at);
      if (item.kind === 'label') {
        if (labels.has(item.name)) throw new TscError('internal', `bpf assembler: label ${item.name} defined twice`);
        labels.set(item.name, at);
        return;
      }
      const wide = far.get(index);
      at += 1 + (wide === undefined ? 0 : Number(wide.t) + Number(wide.f));
    });
    return { positions, labels };
  }

  private emit(positions: number[], labels: Map<string, number>, far: Map<number, { t: boolean; f: boolean }>): Instruction[] {
    const out: Instruction[] = [];
    this.items.forEach((item, index) => {
      const at = positions[index] as number;
      if (item.kind === 'plain') out.push({ code: item.code, jt: 0, jf: 0, k: item.k });
      if (item.kind === 'ja') out.push({ code: BPF_JMP | BPF_JA, jt: 0, jf: 0, k: resolve(labels, item.target, at) - at - 1 });
      if (item.kind !== 'branch') return;
      const wide = far.get(index) ?? { t: false, f: false };
      const next = at + 1 + Number(wide.t) + Number(wide.f);
      const t = item.jt === null ? next : resolve(labels, item.jt, at);
      const f = item.jf === null ? next : resolve(labels, item.jf, at);
      // trampolines sit right after the branch: first the one for jt, then the one for jf
      const tSlot = at + 1;
      const fSlot = at + 1 + Number(wide.t);
      out.push({
        code: item.code,
        jt: (wide.t ? tSlot : t) - at - 1,
        jf: (wide.f ? fSlot : f) - at - 1,
        k: item.k,
      });
      if (wide.t) out.push({ code: BPF_JMP | BPF_JA, jt: 0, jf: 0, k: t - tSlot - 1 });
      if (wide.f) out.push({ code: BPF_JMP | BPF_JA, jt: 0, jf: 0, k: f - fSlot - 1 });
    });
    return out;
  }
}

function resolve(labels: Map<string, number>, name: string, from: number): number {
  const at = labels.get(name);
  if (at === undefined) throw new TscError('internal', `bpf assembler: label ${name} is never defined`);
  if (at <= from) throw new TscError('internal', `bpf assembler: label ${name} is behind its jump (cBPF jumps only forward)`);
  return at;
}
