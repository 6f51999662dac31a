import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { SECCOMP_RET_ALLOW, decodeAction } from '../../../../src/engine/runtime/seccomp/actions.ts';
import { ABIS, X32_SYSCALL_BIT, type NativeArch } from '../../../../src/engine/runtime/seccomp/arch.ts';
import { BPF_JA, BPF_JMP, BPF_MAXINSNS } from '../../../../src/engine/runtime/seccomp/assembler.ts';
import { compileResolved, compileSeccomp, parseProgram, serializeProgram, type Instruction } from '../../../../src/engine/runtime/seccomp/bpf.ts';
import { defaultSeccompProfile } from '../../../../src/engine/runtime/seccomp/default.ts';
import { runFilter, validateProgram } from '../../../../src/engine/runtime/seccomp/interpret.ts';
import { CAPABILITIES, OPERATORS, parseSeccompProfile, type SeccompArg, type SeccompOperator } from '../../../../src/engine/runtime/seccomp/profile.ts';
import { decisionFor, resolveSeccomp, type ResolvedSeccomp, type SeccompTarget } from '../../../../src/engine/runtime/seccomp/resolve.ts';
import { syscallNames, syscallNumber } from '../../../../src/engine/runtime/seccomp/syscalls.ts';

const KERNEL = { major: 6, minor: 8 };
const DOCKER_CAPS = ['CAP_CHOWN', 'CAP_DAC_OVERRIDE', 'CAP_FSETID', 'CAP_FOWNER', 'CAP_MKNOD', 'CAP_NET_RAW', 'CAP_SETGID',
  'CAP_SETUID', 'CAP_SETFCAP', 'CAP_SETPCAP', 'CAP_NET_BIND_SERVICE', 'CAP_SYS_CHROOT', 'CAP_KILL', 'CAP_AUDIT_WRITE'];

/** What a comparison means, straight from the definition (bigint, no BPF). */
function holds(arg: SeccompArg, value: bigint, bits: 32 | 64): boolean {
  const mask = bits === 64 ? (1n << 64n) - 1n : 0xffffffffn;
  const a = value & mask;
  const v = arg.value & mask;
  switch (arg.op) {
    case 'SCMP_CMP_EQ': return a === v;
    case 'SCMP_CMP_NE': return a !== v;
    case 'SCMP_CMP_LT': return a < v;
    case 'SCMP_CMP_LE': return a <= v;
    case 'SCMP_CMP_GT': return a > v;
    case 'SCMP_CMP_GE': return a >= v;
    case 'SCMP_CMP_MASKED_EQ': return (a & v) === (arg.valueTwo & mask);
  }
}

/** The reference: what the resolved policy says for a call, without going through BPF. */
function reference(resolved: ResolvedSeccomp, arch: number, nr: number, args: bigint[]): number {
  const policy = resolved.abis.find((candidate) => ABIS[candidate.abi].audit === arch && (candidate.abi === 'x32') === (arch === ABIS.x32.audit && nr >= X32_SYSCALL_BIT));
  if (policy === undefined) return resolved.badArchAction;
  const decision = decisionFor(policy, nr, resolved.defaultAction);
  if ('action' in decision) return decision.action;
  const bits = ABIS[policy.abi].argBits;
  const rule = decision.rules.find((candidate) => candidate.args.every((arg) => holds(arg, args[arg.index] ?? 0n, bits)));
  return rule === undefined ? decision.fallback : rule.action;
}

const TARGETS: [string, SeccompTarget][] = [];
for (const arch of ['x86_64', 'aarch64'] as NativeArch[]) {
  for (const [label, caps] of [['no caps', []], ['docker caps', DOCKER_CAPS], ['CAP_SYS_ADMIN', ['CAP_SYS_ADMIN']], ['all caps', [...CAPABILITIES]]] as const) {
    for (const kernel of [KERNEL, { major: 4, minor: 4 }]) {
      TARGETS.push([`${arch}, ${label}, kernel ${kernel.major}.${kernel.minor}`, { arch, capabilities: caps, kernel }]);
    }
  }
}

describe('the default profile compiles for every architecture and capability set', () => {
  for (const [name, target] of TARGETS) {
    it(`${name}: well under ${BPF_MAXINSNS} instructions and valid`, () => {
      const { instructions } = compileSeccomp(defaultSeccompProfile(), target);
      assert.ok(instructions.length < 1000, `${instructions.length} instructions`);
      validateProgram(instructions);
    });
  }
});

describe('the program agrees with the resolved policy for every syscall number', () => {
  const interesting = [0n, 1n, 2n, 8n, 38n, 39n, 40n, 41n, 0x20000n, 0x20008n, 0xffffffffn, 0x1_00000028n, 0x10000000n, 0x3d0f00n, 0x7e020000n];
  for (const [name, target] of TARGETS.filter(([, t]) => t.kernel.major === 6)) {
    it(name, () => {
      const resolved = resolveSeccomp(defaultSeccompProfile(), target);
      const program = compileResolved(resolved);
      for (const policy of resolved.abis) {
        const audit = ABIS[policy.abi].audit;
        const base = policy.abi === 'x32' ? X32_SYSCALL_BIT : 0;
        const numbers = new Set([...syscallNames(policy.abi).map((n) => syscallNumber(policy.abi, n) as number)]);
        for (let nr = base; nr < base + 600; nr++) numbers.add(nr);
        numbers.add(base + 0xf0005).add(base + 0x3fffffff).add(0xffffffff);
        for (const nr of numbers) {
          if (policy.abi === 'x86_64' && nr >= X32_SYSCALL_BIT) continue;
          const argsList = policy.syscalls.has(nr) && !('action' in (policy.syscalls.get(nr) as object)) ? interesting.map((a) => [a]) : [[]];
          for (const args of argsList) {
            assert.equal(runFilter(program, { nr, arch: audit, args }), reference(resolved, audit, nr, args), `${policy.abi} nr ${nr} args ${args}`);
          }
        }
      }
    });
  }
});

describe('argument comparisons', () => {
  const VALUES = [0n, 1n, 4n, 5n, 6n, 0xffffffffn, 0x1_00000000n, 0x1_00000004n, 0x1_00000005n, 0x1_00000006n, 0x2_00000005n, 0xffffffff_ffffffffn];
  const rule = (op: SeccompOperator, value: bigint, valueTwo = 0n) => `{"defaultAction":"SCMP_ACT_ERRNO","architectures":["SCMP_ARCH_X86"],
    "syscalls":[{"names":["ioctl"],"action":"SCMP_ACT_ALLOW","args":[{"index":2,"op":"${op}","value":${value},"valueTwo":${valueTwo}}]}]}`;
  const cases: [SeccompOperator, bigint, bigint][] = [
    ...OPERATORS.filter((op) => op !== 'SCMP_CMP_MASKED_EQ').flatMap((op) => [[op, 0x1_00000005n, 0n], [op, 5n, 0n], [op, 0n, 0n]] as [SeccompOperator, bigint, bigint][]),
    ['SCMP_CMP_MASKED_EQ', 0xffffffff_0000000fn, 0x1_00000005n],
    ['SCMP_CMP_MASKED_EQ', 0x0000000fn, 0x5n],
    ['SCMP_CMP_MASKED_EQ', 0x0000000fn, 0x10n],
    ['SCMP_CMP_MASKED_EQ', 0n, 0n],
  ];
  for (const [op, value, valueTwo] of cases) {
    it(`${op} ${value.toString(16)}/${valueTwo.toString(16)} on 64-bit and 32-bit ABIs`, () => {
      const filter = compileSeccomp(parseSeccompProfile(rule(op, value, valueTwo)), { arch: 'x86_64', capabilities: [], kernel: KERNEL }).instructions;
      const arg: SeccompArg = { index: 2, op, value, valueTwo };
      for (const [abi, nr] of [['x86_64', 16], ['x86', 54]] as const) {
        for (const candidate of VALUES) {
          const allowed = runFilter(filter, { nr, arch: ABIS[abi].audit, args: [0n, 0n, candidate] }) === SECCOMP_RET_ALLOW;
          assert.equal(allowed, holds(arg, candidate, ABIS[abi].argBits), `${abi} arg ${candidate.toString(16)}`);
        }
      }
    });
  }
});

describe('long jumps', () => {
  it('get trampolines and still decide right', () => {
    // every x86_64 syscall gets two argument rules, so branches in the tree span far more than 255 instructions
    const names = syscallNames('x86_64').slice(0, 200);
    const syscalls = names.flatMap((name) => [
      { names: [name], action: 'SCMP_ACT_ALLOW', args: [{ index: 0, op: 'SCMP_CMP_EQ', value: syscallNumber('x86_64', name) as number }] },
      { names: [name], action: 'SCMP_ACT_TRAP', args: [{ index: 1, op: 'SCMP_CMP_GE', value: 7 }, { index: 3, op: 'SCMP_CMP_NE', value: 2 }] },
    ]);
    const profile = parseSeccompProfile(JSON.stringify({ defaultAction: 'SCMP_ACT_ERRNO', defaultErrnoRet: 13, syscalls }));
    const { instructions } = compileSeccomp(profile, { arch: 'x86_64', capabilities: [], kernel: KERNEL });
    assert.ok(instructions.length > 1500 && instructions.length <= BPF_MAXINSNS, `${instructions.length} instructions`);
    assert.ok(instructions.some((insn) => insn.code === (BPF_JMP | BPF_JA)), 'some branch needed a trampoline');
    validateProgram(instructions);
    for (const name of names) {
      const nr = syscallNumber('x86_64', name) as number;
      const run = (args: bigint[]) => decodeAction(runFilter(instructions, { nr, arch: ABIS.x86_64.audit, args })).kind;
      assert.equal(run([BigInt(nr)]), 'allow', name);
      assert.equal(run([BigInt(nr) + 1n, 7n, 0n, 0n]), 'trap', name);
      assert.equal(run([BigInt(nr) + 1n, 7n, 0n, 2n]), 'errno', name);
    }
  });

  it('refuses a profile beyond the kernel limit', () => {
    const syscalls = syscallNames('x86_64').map((name) => ({
      names: [name], action: 'SCMP_ACT_ALLOW', args: [0, 1, 2, 3, 4, 5].map((index) => ({ index, op: 'SCMP_CMP_LT', value: 1 })),
    }));
    const profile = parseSeccompProfile(JSON.stringify({ defaultAction: 'SCMP_ACT_ERRNO', syscalls }));
    assert.throws(() => compileSeccomp(profile, { arch: 'x86_64', capabilities: [], kernel: KERNEL }), /more than the kernel's limit of 4096/);
  });
});

describe('program shape', () => {
  it('is exactly this for a one-rule aarch64 profile', () => {
    const profile = parseSeccompProfile('{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["mount"],"action":"SCMP_ACT_ERRNO","errnoRet":1}]}');
    const { instructions } = compileSeccomp(profile, { arch: 'aarch64', capabilities: [], kernel: KERNEL });
    assert.deepEqual(instructions, [
      { code: 0x20, jt: 0, jf: 0, k: 4 }, // ld [4] (arch)
      { code: 0x15, jt: 1, jf: 0, k: 0xc00000b7 }, // jeq AUDIT_ARCH_AARCH64
      { code: 0x06, jt: 0, jf: 0, k: 0x80000000 }, // ret KILL_PROCESS
      { code: 0x20, jt: 0, jf: 0, k: 0 }, // ld [0] (nr)
      { code: 0x35, jt: 1, jf: 0, k: 40 }, // jge mount
      { code: 0x06, jt: 0, jf: 0, k: 0x7fff0000 }, // ret ALLOW (0..39)
      { code: 0x35, jt: 1, jf: 0, k: 41 }, // jge 41
      { code: 0x06, jt: 0, jf: 0, k: 0x00050001 }, // ret ERRNO(EPERM) (mount)
      { code: 0x06, jt: 0, jf: 0, k: 0x7fff0000 }, // ret ALLOW (41..)
    ]);
    assert.equal(serializeProgram(instructions).toString('hex'), [
      '2000000004000000', '15000100b70000c0', '0600000000000080', '2000000000000000', '3500010028000000',
      '060000000000ff7f', '3500010029000000', '0600000001000500', '060000000000ff7f',
    ].join(''));
  });

  it('serializes struct sock_filter: u16 code, u8 jt, u8 jf, u32 k, little-endian', () => {
    const program: Instruction[] = [{ code: 0x0115, jt: 0xab, jf: 0xcd, k: 0x12345678 }, { code: 0x06, jt: 0, jf: 0, k: 0xffffffff }];
    const bytes = serializeProgram(program);
    assert.equal(bytes.toString('hex'), '1501abcd78563412' + '06000000ffffffff');
    assert.deepEqual(parseProgram(bytes), program);
    assert.throws(() => parseProgram(new Uint8Array(7)), /not a whole number of 8-byte instructions/);
  });

  it('sends x32 numbers to the bad-arch action when the profile leaves x32 out', () => {
    const profile = parseSeccompProfile('{"defaultAction":"SCMP_ACT_ALLOW","architectures":["SCMP_ARCH_X86_64"]}');
    const { instructions } = compileSeccomp(profile, { arch: 'x86_64', capabilities: [], kernel: KERNEL, badArchAction: 'SCMP_ACT_KILL_THREAD' });
    assert.equal(decodeAction(runFilter(instructions, { nr: 0, arch: ABIS.x86_64.audit })).kind, 'allow');
    assert.equal(decodeAction(runFilter(instructions, { nr: X32_SYSCALL_BIT, arch: ABIS.x86_64.audit })).kind, 'kill-thread');
  });

  it('covers x32 beside the native ABI, and not i386, when "architectures" lists only x32', () => {
    const profile = parseSeccompProfile('{"defaultAction":"SCMP_ACT_ERRNO","architectures":["SCMP_ARCH_X32"],"syscalls":[{"names":["read"],"action":"SCMP_ACT_ALLOW"}]}');
    const { instructions } = compileSeccomp(profile, { arch: 'x86_64', capabilities: [], kernel: KERNEL });
    assert.equal(decodeAction(runFilter(instructions, { nr: X32_SYSCALL_BIT, arch: ABIS.x86_64.audit })).kind, 'allow');
    assert.equal(decodeAction(runFilter(instructions, { nr: 0, arch: ABIS.x86_64.audit })).kind, 'allow');
    assert.equal(decodeAction(runFilter(instructions, { nr: 0, arch: ABIS.x86.audit })).kind, 'kill-process');
  });

  it('has no ENOSYS stub when the default action allows', () => {
    const profile = parseSeccompProfile('{"defaultAction":"SCMP_ACT_LOG","syscalls":[{"names":["mount"],"action":"SCMP_ACT_ERRNO"}]}');
    const resolved = resolveSeccomp(profile, { arch: 'x86_64', capabilities: [], kernel: KERNEL });
    assert.ok(resolved.abis.every((policy) => policy.enosysAbove === undefined));
    assert.equal(decodeAction(runFilter(compileResolved(resolved), { nr: 1000, arch: ABIS.x86_64.audit })).kind, 'log');
  });

  it('lets the first unconditional rule win and drops rules equal to the default', () => {
    const profile = parseSeccompProfile(`{"defaultAction":"SCMP_ACT_ERRNO","syscalls":[
      {"names":["read"],"action":"SCMP_ACT_ERRNO"},
      {"names":["read"],"action":"SCMP_ACT_ALLOW","args":[{"index":0,"op":"SCMP_CMP_EQ","value":3}]},
      {"names":["write"],"action":"SCMP_ACT_LOG","args":[{"index":0,"op":"SCMP_CMP_EQ","value":3}]},
      {"names":["write"],"action":"SCMP_ACT_TRAP"},
      {"names":["write"],"action":"SCMP_ACT_ALLOW"}]}`);
    const { instructions } = compileSeccomp(profile, { arch: 'aarch64', capabilities: [], kernel: KERNEL });
    const run = (name: string, fd: bigint) => decodeAction(runFilter(instructions, { nr: syscallNumber('aarch64', name) as number, arch: ABIS.aarch64.audit, args: [fd] })).kind;
    assert.equal(run('read', 3n), 'allow');
    assert.equal(run('read', 4n), 'errno');
    assert.equal(run('write', 3n), 'trap');
    assert.equal(run('write', 4n), 'trap');
  });

  it('reports names no covered ABI has', () => {
    const profile = parseSeccompProfile('{"defaultAction":"SCMP_ACT_ERRNO","syscalls":[{"names":["read","arch_prctl","no_such_call"],"action":"SCMP_ACT_ALLOW"}]}');
    assert.deepEqual(compileSeccomp(profile, { arch: 'aarch64', capabilities: [], kernel: KERNEL }).unknownSyscalls, ['arch_prctl', 'no_such_call']);
  });
});
