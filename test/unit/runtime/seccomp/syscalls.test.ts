import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ABIS, X32_SYSCALL_BIT, abiFromScmp, type SyscallAbi } from '../../../../src/engine/runtime/seccomp/arch.ts';
import { isKnownSyscall, syscallName, syscallNames, syscallNumber } from '../../../../src/engine/runtime/seccomp/syscalls.ts';

describe('syscall numbers', () => {
  // spot checks against the kernel's tables
  const cases: [SyscallAbi, string, number | undefined][] = [
    ['x86_64', 'read', 0],
    ['x86_64', 'execve', 59],
    ['x86_64', 'clone', 56],
    ['x86_64', 'mount', 165],
    ['x86_64', 'personality', 135],
    ['x86_64', 'arch_prctl', 158],
    ['x86_64', 'clone3', 435],
    ['x86_64', 'uretprobe', 335],
    ['x86_64', 'mseal', 462],
    ['x86_64', 'socketcall', undefined],
    ['x86_64', 'rt_sigaction', 13],
    ['x32', 'read', X32_SYSCALL_BIT | 0],
    ['x32', 'rt_sigaction', X32_SYSCALL_BIT | 512],
    ['x32', 'execve', X32_SYSCALL_BIT | 520],
    ['x32', 'set_thread_area', undefined],
    ['x86', 'read', 3],
    ['x86', 'socketcall', 102],
    ['x86', 'socket', 359],
    ['x86', 'mmap2', 192],
    ['x86', 'personality', 136],
    ['x86', 'arch_prctl', 384],
    ['aarch64', 'read', 63],
    ['aarch64', 'openat', 56],
    ['aarch64', 'clone', 220],
    ['aarch64', 'personality', 92],
    ['aarch64', 'open', undefined],
    ['aarch64', 'newfstatat', 79],
    ['aarch64', 'listns', 470],
    ['arm', 'read', 3],
    ['arm', 'socket', 281],
    ['arm', 'breakpoint', 0x0f0001],
    ['arm', 'set_tls', 0x0f0005],
    ['arm', 'arm_sync_file_range', 341],
    ['arm', 'socketcall', undefined],
  ];
  for (const [abi, name, nr] of cases) {
    it(`${abi} ${name} = ${nr === undefined ? 'none' : nr.toString(16)}`, () => assert.equal(syscallNumber(abi, name), nr));
  }

  it('maps numbers back to names', () => {
    assert.equal(syscallName('x86_64', 0), 'read');
    assert.equal(syscallName('x32', X32_SYSCALL_BIT | 520), 'execve');
    assert.equal(syscallName('aarch64', 1000), undefined);
  });

  it('does not find names on Object.prototype', () => {
    assert.equal(syscallNumber('x86_64', 'constructor'), undefined);
    assert.equal(isKnownSyscall('toString'), false);
    assert.equal(isKnownSyscall('io_uring_setup'), true);
  });

  it('has unique numbers per ABI and the sizes of the kernel tables', () => {
    const sizes: Record<SyscallAbi, [number, number]> = { x86_64: [370, 420], x32: [360, 410], x86: [440, 500], aarch64: [310, 360], arm: [410, 470] };
    for (const abi of Object.keys(ABIS) as SyscallAbi[]) {
      const numbers = syscallNames(abi).map((name) => syscallNumber(abi, name));
      assert.equal(new Set(numbers).size, numbers.length, `${abi} numbers are unique`);
      const [min, max] = sizes[abi];
      assert.ok(numbers.length >= min && numbers.length <= max, `${abi} has ${numbers.length}`);
    }
  });

  it('knows OCI architecture names', () => {
    assert.equal(abiFromScmp('SCMP_ARCH_X32'), 'x32');
    assert.equal(abiFromScmp('SCMP_ARCH_PPC64LE'), undefined);
  });
});
