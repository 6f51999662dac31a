import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Assembler, BPF_JEQ, BPF_JGT, BPF_JSET, type Instruction } from '../../../../src/engine/runtime/seccomp/assembler.ts';
import { runFilter, seccompDataBytes, validateProgram } from '../../../../src/engine/runtime/seccomp/interpret.ts';

const ret = (k: number): Instruction => ({ code: 0x06, jt: 0, jf: 0, k });
const op = (code: number, k = 0, jt = 0, jf = 0): Instruction => ({ code, jt, jf, k });

describe('seccompDataBytes', () => {
  it('lays out nr, arch, instruction pointer and args little-endian', () => {
    const view = seccompDataBytes({ nr: 59, arch: 0xc000003e, instructionPointer: 0x1122334455667788n, args: [0xaabbccdd_00000001n, 2] });
    assert.equal(view.getUint32(0, true), 59);
    assert.equal(view.getUint32(4, true), 0xc000003e);
    assert.equal(view.getUint32(8, true), 0x55667788);
    assert.equal(view.getUint32(16, true), 1);
    assert.equal(view.getUint32(20, true), 0xaabbccdd);
    assert.equal(view.getUint32(24, true), 2);
    assert.equal(view.getUint32(60, true), 0);
  });
});

describe('runFilter', () => {
  const cases: [string, Instruction[], number][] = [
    ['returns a constant', [ret(0x7fff0000)], 0x7fff0000],
    ['loads nr and returns A', [op(0x20, 0), op(0x16)], 59],
    ['loads the high word of arg 0', [op(0x20, 20), op(0x16)], 0xaabbccdd],
    ['len is sizeof(seccomp_data)', [op(0x80), op(0x16)], 64],
    ['immediate, add, sub, mul', [op(0x00, 7), op(0x04, 5), op(0x14, 2), op(0x24, 3), op(0x16)], 30],
    ['div, mod, and, or, xor', [op(0x00, 100), op(0x34, 7), op(0x94, 5), op(0x54, 6), op(0x44, 8), op(0xa4, 1), op(0x16)], 13],
    ['shifts and neg', [op(0x00, 1), op(0x64, 31), op(0x74, 28), op(0x84), op(0x16)], 0xfffffff8],
    ['X register: tax, txa, alu with X', [op(0x00, 6), op(0x07), op(0x00, 7), op(0x2c), op(0x16)], 42],
    ['scratch memory', [op(0x00, 9), op(0x02, 3), op(0x00, 0), op(0x60, 3), op(0x16)], 9],
    ['division by zero in X kills', [op(0x01, 0), op(0x00, 1), op(0x3c), ret(1)], 0],
    ['jeq taken', [op(0x20, 0), op(0x15, 59, 1, 0), ret(1), ret(2)], 2],
    ['jeq not taken', [op(0x20, 0), op(0x15, 60, 1, 0), ret(1), ret(2)], 1],
    ['jgt is unsigned', [op(0x20, 20), op(0x25, 1, 0, 1), ret(1), ret(2)], 1],
    ['jge at equality', [op(0x20, 0), op(0x35, 59, 1, 0), ret(1), ret(2)], 2],
    ['jset', [op(0x20, 0), op(0x45, 0x8, 1, 0), ret(1), ret(2)], 2],
    ['ja skips', [op(0x05, 1), ret(1), ret(2)], 2],
  ];
  for (const [name, program, expected] of cases) {
    it(name, () => assert.equal(runFilter(program, { nr: 59, arch: 0xc000003e, args: [0xaabbccdd_00000001n] }), expected));
  }
});

describe('validateProgram rejects what the kernel rejects', () => {
  const cases: [string, Instruction[], RegExp][] = [
    ['empty', [], /0 instructions/],
    ['too long', Array.from({ length: 4097 }, () => ret(0)), /4097 instructions/],
    ['no return at the end', [op(0x20, 0)], /last instruction must return/],
    ['unaligned load', [op(0x20, 2), ret(0)], /outside seccomp_data/],
    ['load past seccomp_data', [op(0x20, 64), ret(0)], /outside seccomp_data/],
    ['byte load (not allowed in seccomp)', [op(0x30, 0), ret(0)], /not allowed in seccomp/],
    ['jump past the end', [op(0x15, 0, 5, 0), ret(0)], /jump out of the program/],
    ['ja past the end', [op(0x05, 1), ret(0)], /jump out of the program/],
    ['division by constant 0', [op(0x34, 0), ret(0)], /division by constant 0/],
    ['scratch slot 16', [op(0x02, 16), ret(0)], /bad store/],
    ['jt beyond 8 bits', [op(0x15, 0, 256, 0), ret(0)], /field out of range/],
    ['scratch load before store', [op(0x60, 2), ret(0)], /loaded before it is stored/],
    ['scratch stored on one path only', [op(0x20, 0), op(0x15, 1, 0, 1), op(0x02, 2), op(0x60, 2), ret(0)], /loaded before it is stored/],
  ];
  for (const [name, program, message] of cases) {
    it(name, () => assert.throws(() => validateProgram(program), message));
  }
});

describe('Assembler', () => {
  /** n filler returns, so labels after them are far away */
  const filler = (asm: Assembler, n: number): void => { for (let i = 0; i < n; i++) asm.ret(0xdead); };

  it('resolves near labels into jt/jf', () => {
    const asm = new Assembler();
    asm.load(0);
    asm.branch(BPF_JEQ, 1, 'one', 'other');
    asm.ret(0);
    asm.label('one');
    asm.ret(1);
    asm.label('other');
    asm.ret(2);
    assert.deepEqual(asm.assemble()[1], { code: 0x15, jt: 1, jf: 2, k: 1 });
  });

  for (const [name, jt, jf] of [['far jt', 'far', null], ['far jf', null, 'far'], ['both far', 'far', 'far2']] as const) {
    it(`${name} gets trampolines and keeps its meaning`, () => {
      const asm = new Assembler();
      asm.load(0);
      asm.branch(BPF_JGT, 10, jt, jf);
      asm.ret(100); // "next"
      filler(asm, 300);
      asm.label('far');
      asm.ret(200);
      filler(asm, 300);
      asm.label('far2');
      asm.ret(300);
      const program = asm.assemble();
      validateProgram(program);
      const expectTrue = jt === null ? 100 : 200;
      const expectFalse = jf === null ? 100 : jf === 'far' ? 200 : 300;
      assert.equal(runFilter(program, { nr: 11, arch: 0 }), expectTrue);
      assert.equal(runFilter(program, { nr: 9, arch: 0 }), expectFalse);
    });
  }

  it('chains trampolines that push other branches out of reach', () => {
    // 40 branches exactly 255 instructions from their targets; one more branch between
    // them and their targets needs a trampoline, which pushes all 40 out of reach
    const asm = new Assembler();
    asm.load(0);
    for (let i = 0; i < 40; i++) asm.branch(BPF_JSET, 1 << (i % 31), `t${i}`, null);
    asm.branch(BPF_JEQ, 0x80000000, 'farthest', null);
    asm.ret(7);
    filler(asm, 214);
    for (let i = 0; i < 40; i++) { asm.label(`t${i}`); asm.ret(1000 + i); }
    filler(asm, 300);
    asm.label('farthest');
    asm.ret(8);
    const program = asm.assemble();
    validateProgram(program);
    assert.equal(program.filter((insn) => insn.code === 0x05).length, 41);
    assert.equal(runFilter(program, { nr: 0, arch: 0 }), 7);
    assert.equal(runFilter(program, { nr: 1 << 5, arch: 0 }), 1005);
    assert.equal(runFilter(program, { nr: 12345, arch: 0 }), 1000);
    assert.equal(runFilter(program, { nr: 0x80000000, arch: 0 }), 8);
  });

  it('refuses backward and missing labels', () => {
    const backward = new Assembler();
    backward.label('start');
    backward.load(0);
    backward.jump('start');
    assert.throws(() => backward.assemble(), /behind its jump/);
    const missing = new Assembler();
    missing.jump('nowhere');
    assert.throws(() => missing.assemble(), /never defined/);
  });
});
