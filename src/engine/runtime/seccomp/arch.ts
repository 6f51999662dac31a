/**
 * Facts about the syscall ABIs a seccomp filter can see. A filter installed in a process
 * applies to every syscall it makes, whatever ABI it uses, so an x86_64 container's
 * filter must also decide for i386 (`int 0x80`) and x32 syscalls, and an aarch64
 * container's for 32-bit arm ones; `seccomp_data.arch` tells them apart.
 *
 * tsc runs containers on little-endian x86_64 and aarch64 hosts only, which is why the
 * compiler may assume little-endian `seccomp_data` (see bpf.ts).
 */

/** An ABI tsc can compile a filter for (libseccomp's short names). */
export type SyscallAbi = 'x86_64' | 'x86' | 'x32' | 'aarch64' | 'arm';

/** The architecture of a container (its image's platform): what `uname -m` says. */
export type NativeArch = 'x86_64' | 'aarch64';

export interface AbiInfo {
  /** the OCI/docker profile name */
  scmp: string;
  /** the AUDIT_ARCH_* value the kernel puts in seccomp_data.arch */
  audit: number;
  /**
   * How many bits of an argument the filter compares. libseccomp compares only the low
   * 32 bits on 32-bit ABIs (x32 included), and so does tsc, so that a profile means the
   * same under both.
   */
  argBits: 32 | 64;
  /** the name docker's `includes`/`excludes.arches` use for this ABI */
  docker: string;
}

/** __X32_SYSCALL_BIT: x32 syscalls arrive as AUDIT_ARCH_X86_64 with this bit in `nr`. */
export const X32_SYSCALL_BIT = 0x40000000;

export const ABIS: Readonly<Record<SyscallAbi, AbiInfo>> = {
  x86_64: { scmp: 'SCMP_ARCH_X86_64', audit: 0xc000003e, argBits: 64, docker: 'amd64' },
  x86: { scmp: 'SCMP_ARCH_X86', audit: 0x40000003, argBits: 32, docker: 'x86' },
  x32: { scmp: 'SCMP_ARCH_X32', audit: 0xc000003e, argBits: 32, docker: 'x32' },
  aarch64: { scmp: 'SCMP_ARCH_AARCH64', audit: 0xc00000b7, argBits: 64, docker: 'arm64' },
  arm: { scmp: 'SCMP_ARCH_ARM', audit: 0x40000028, argBits: 32, docker: 'arm' },
};

/** The ABIs a process of each native architecture can use, native first. */
export const RUNNABLE_ABIS: Readonly<Record<NativeArch, readonly SyscallAbi[]>> = {
  x86_64: ['x86_64', 'x86', 'x32'],
  aarch64: ['aarch64', 'arm'],
};

/** Every architecture name the OCI runtime spec defines for seccomp. */
export const SCMP_ARCH_NAMES: readonly string[] = [
  'SCMP_ARCH_X86', 'SCMP_ARCH_X86_64', 'SCMP_ARCH_X32', 'SCMP_ARCH_ARM', 'SCMP_ARCH_AARCH64',
  'SCMP_ARCH_LOONGARCH64', 'SCMP_ARCH_M68K', 'SCMP_ARCH_MIPS', 'SCMP_ARCH_MIPS64', 'SCMP_ARCH_MIPS64N32',
  'SCMP_ARCH_MIPSEL', 'SCMP_ARCH_MIPSEL64', 'SCMP_ARCH_MIPSEL64N32', 'SCMP_ARCH_PPC', 'SCMP_ARCH_PPC64',
  'SCMP_ARCH_PPC64LE', 'SCMP_ARCH_S390', 'SCMP_ARCH_S390X', 'SCMP_ARCH_PARISC', 'SCMP_ARCH_PARISC64',
  'SCMP_ARCH_RISCV64', 'SCMP_ARCH_SH', 'SCMP_ARCH_SHEB',
];

/**
 * The architecture names docker's conditional rules use (libseccomp's native names,
 * including docker's own spelling "mips3l64n32").
 */
export const DOCKER_ARCH_NAMES: readonly string[] = [
  'x86', 'amd64', 'x32', 'arm', 'arm64', 'loong64', 'loongarch64', 'm68k', 'mips', 'mipsel', 'mips64',
  'mips64n32', 'mipsel64', 'mipsel64n32', 'mips3l64n32', 'parisc', 'parisc64', 'ppc', 'ppc64', 'ppc64le',
  'riscv64', 's390', 's390x', 'sh', 'sheb',
];

/** The ABI an OCI architecture name stands for, if tsc can filter it. */
export function abiFromScmp(name: string): SyscallAbi | undefined {
  for (const [abi, info] of Object.entries(ABIS) as [SyscallAbi, AbiInfo][]) {
    if (info.scmp === name) return abi;
  }
  return undefined;
}
