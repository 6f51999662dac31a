import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decodeAction, type DecodedAction } from '../../../../src/engine/runtime/seccomp/actions.ts';
import { ABIS, X32_SYSCALL_BIT, type NativeArch, type SyscallAbi } from '../../../../src/engine/runtime/seccomp/arch.ts';
import { compileSeccomp, type Instruction } from '../../../../src/engine/runtime/seccomp/bpf.ts';
import { defaultSeccompProfile } from '../../../../src/engine/runtime/seccomp/default.ts';
import { runFilter } from '../../../../src/engine/runtime/seccomp/interpret.ts';
import { CAPABILITIES, type KernelVersion } from '../../../../src/engine/runtime/seccomp/profile.ts';
import { syscallNumber } from '../../../../src/engine/runtime/seccomp/syscalls.ts';

/** docker's default capability set */
const DOCKER_CAPS = [
  'CAP_CHOWN', 'CAP_DAC_OVERRIDE', 'CAP_FSETID', 'CAP_FOWNER', 'CAP_MKNOD', 'CAP_NET_RAW', 'CAP_SETGID', 'CAP_SETUID',
  'CAP_SETFCAP', 'CAP_SETPCAP', 'CAP_NET_BIND_SERVICE', 'CAP_SYS_CHROOT', 'CAP_KILL', 'CAP_AUDIT_WRITE',
];
const ALL = [...CAPABILITIES];
const KERNEL: KernelVersion = { major: 6, minor: 8 };

const cache = new Map<string, Instruction[]>();
function program(arch: NativeArch, caps: readonly string[], kernel: KernelVersion): Instruction[] {
  const key = `${arch} ${caps.join(',')} ${kernel.major}.${kernel.minor}`;
  let compiled = cache.get(key);
  if (compiled === undefined) {
    compiled = compileSeccomp(defaultSeccompProfile(), { arch, capabilities: caps, kernel }).instructions;
    cache.set(key, compiled);
  }
  return compiled;
}

const NATIVE: Record<SyscallAbi, NativeArch> = { x86_64: 'x86_64', x86: 'x86_64', x32: 'x86_64', aarch64: 'aarch64', arm: 'aarch64' };

interface Call {
  abi?: SyscallAbi;
  args?: bigint[];
  caps?: readonly string[];
  kernel?: KernelVersion;
}

function decide(name: string | number, call: Call = {}): DecodedAction {
  const abi = call.abi ?? 'x86_64';
  const nr = typeof name === 'number' ? name : syscallNumber(abi, name);
  assert.ok(nr !== undefined, `${abi} has no ${String(name)}`);
  const filter = program(NATIVE[abi], call.caps ?? DOCKER_CAPS, call.kernel ?? KERNEL);
  return decodeAction(runFilter(filter, { nr, arch: ABIS[abi].audit, args: call.args ?? [] }));
}

const ALLOW: DecodedAction = { kind: 'allow', data: 0 };
const EPERM: DecodedAction = { kind: 'errno', data: 1 };
const ENOSYS: DecodedAction = { kind: 'errno', data: 38 };
const KILL: DecodedAction = { kind: 'kill-process', data: 0 };

const CLONE_PLAIN = 0x3d0f00n; // what pthread_create passes: VM|FS|FILES|SIGHAND|THREAD|SYSVSEM|SETTLS|*_TID
const CLONE_NEWUSER = 0x10000000n;
const CLONE_NEWNS = 0x00020000n;
const CLONE_NEWNET = 0x40000000n;
const CLONE_NEWCGROUP = 0x02000000n;

const table: [string, string | number, Call, DecodedAction][] = [
  // the everyday calls
  ['read', 'read', {}, ALLOW],
  ['write', 'write', {}, ALLOW],
  ['openat', 'openat', {}, ALLOW],
  ['execve', 'execve', {}, ALLOW],
  ['close', 'close', {}, ALLOW],
  ['mmap', 'mmap', {}, ALLOW],
  ['futex', 'futex', {}, ALLOW],
  ['exit_group', 'exit_group', {}, ALLOW],
  ['pipe2', 'pipe2', {}, ALLOW],
  ['epoll_pwait2', 'epoll_pwait2', {}, ALLOW],
  ['arch_prctl on x86_64', 'arch_prctl', {}, ALLOW],
  ['modify_ldt on x86_64', 'modify_ldt', {}, ALLOW],
  ['chroot with docker\'s default CAP_SYS_CHROOT', 'chroot', {}, ALLOW],
  ['chroot without it', 'chroot', { caps: [] }, EPERM],
  // namespaces and mounts need CAP_SYS_ADMIN
  ['plain clone (a thread)', 'clone', { args: [CLONE_PLAIN] }, ALLOW],
  ['clone with no flags', 'clone', { args: [0n] }, ALLOW],
  ['clone with CLONE_NEWUSER', 'clone', { args: [CLONE_PLAIN | CLONE_NEWUSER] }, EPERM],
  ['clone with CLONE_NEWNS', 'clone', { args: [CLONE_NEWNS] }, EPERM],
  ['clone with CLONE_NEWNET', 'clone', { args: [CLONE_NEWNET] }, EPERM],
  ['clone with CLONE_NEWCGROUP', 'clone', { args: [CLONE_NEWCGROUP] }, EPERM],
  ['clone with CLONE_NEWUSER and CAP_SYS_ADMIN', 'clone', { args: [CLONE_NEWUSER], caps: ['CAP_SYS_ADMIN'] }, ALLOW],
  ['clone3 without CAP_SYS_ADMIN: ENOSYS so libc falls back', 'clone3', {}, ENOSYS],
  ['clone3 with CAP_SYS_ADMIN', 'clone3', { caps: ['CAP_SYS_ADMIN'] }, ALLOW],
  ['mount', 'mount', {}, EPERM],
  ['mount with CAP_SYS_ADMIN', 'mount', { caps: ['CAP_SYS_ADMIN'] }, ALLOW],
  ['umount2', 'umount2', {}, EPERM],
  ['umount2 with CAP_SYS_ADMIN', 'umount2', { caps: ['CAP_SYS_ADMIN'] }, ALLOW],
  ['unshare', 'unshare', {}, EPERM],
  ['unshare with CAP_SYS_ADMIN', 'unshare', { caps: ['CAP_SYS_ADMIN'] }, ALLOW],
  ['setns', 'setns', {}, EPERM],
  ['setns with CAP_SYS_ADMIN', 'setns', { caps: ['CAP_SYS_ADMIN'] }, ALLOW],
  ['fsopen', 'fsopen', {}, EPERM],
  ['sethostname', 'sethostname', {}, EPERM],
  ['sethostname with CAP_SYS_ADMIN', 'sethostname', { caps: ['CAP_SYS_ADMIN'] }, ALLOW],
  // never, whatever the capabilities
  ['kexec_load', 'kexec_load', {}, EPERM],
  ['kexec_load with every capability', 'kexec_load', { caps: ALL }, EPERM],
  ['kexec_file_load with every capability', 'kexec_file_load', { caps: ALL }, EPERM],
  ['swapon with every capability', 'swapon', { caps: ALL }, EPERM],
  ['swapoff with every capability', 'swapoff', { caps: ALL }, EPERM],
  ['pivot_root with every capability', 'pivot_root', { caps: ALL }, EPERM],
  ['keyctl', 'keyctl', { caps: ALL }, EPERM],
  ['add_key', 'add_key', {}, EPERM],
  ['userfaultfd', 'userfaultfd', {}, EPERM],
  ['io_uring_setup', 'io_uring_setup', { caps: ALL }, EPERM],
  ['uselib (a gap below the newest)', 'uselib', {}, EPERM],
  // capability-gated calls
  ['init_module', 'init_module', {}, EPERM],
  ['init_module with CAP_SYS_MODULE', 'init_module', { caps: ['CAP_SYS_MODULE'] }, ALLOW],
  ['finit_module with CAP_SYS_MODULE', 'finit_module', { caps: ['CAP_SYS_MODULE'] }, ALLOW],
  ['delete_module', 'delete_module', {}, EPERM],
  ['reboot', 'reboot', {}, EPERM],
  ['reboot with CAP_SYS_BOOT', 'reboot', { caps: ['CAP_SYS_BOOT'] }, ALLOW],
  ['reboot with CAP_SYS_ADMIN only', 'reboot', { caps: ['CAP_SYS_ADMIN'] }, EPERM],
  ['acct with CAP_SYS_PACCT', 'acct', { caps: ['CAP_SYS_PACCT'] }, ALLOW],
  ['ptrace on a 4.8+ kernel', 'ptrace', {}, ALLOW],
  ['ptrace on a 4.4 kernel', 'ptrace', { kernel: { major: 4, minor: 4 } }, EPERM],
  ['ptrace on a 4.4 kernel with CAP_SYS_PTRACE', 'ptrace', { kernel: { major: 4, minor: 4 }, caps: ['CAP_SYS_PTRACE'] }, ALLOW],
  ['process_vm_readv on a 4.8+ kernel', 'process_vm_readv', {}, ALLOW],
  ['kcmp', 'kcmp', {}, EPERM],
  ['kcmp with CAP_SYS_PTRACE', 'kcmp', { caps: ['CAP_SYS_PTRACE'] }, ALLOW],
  ['pidfd_getfd with CAP_SYS_PTRACE', 'pidfd_getfd', { caps: ['CAP_SYS_PTRACE'] }, ALLOW],
  ['iopl', 'iopl', {}, EPERM],
  ['ioperm with CAP_SYS_RAWIO', 'ioperm', { caps: ['CAP_SYS_RAWIO'] }, ALLOW],
  ['settimeofday', 'settimeofday', {}, EPERM],
  ['clock_settime with CAP_SYS_TIME', 'clock_settime', { caps: ['CAP_SYS_TIME'] }, ALLOW],
  ['vhangup with CAP_SYS_TTY_CONFIG', 'vhangup', { caps: ['CAP_SYS_TTY_CONFIG'] }, ALLOW],
  ['mbind', 'mbind', {}, EPERM],
  ['mbind with CAP_SYS_NICE', 'mbind', { caps: ['CAP_SYS_NICE'] }, ALLOW],
  ['syslog', 'syslog', {}, EPERM],
  ['syslog with CAP_SYSLOG', 'syslog', { caps: ['CAP_SYSLOG'] }, ALLOW],
  ['bpf', 'bpf', {}, EPERM],
  ['bpf with CAP_BPF', 'bpf', { caps: ['CAP_BPF'] }, ALLOW],
  ['perf_event_open with CAP_PERFMON', 'perf_event_open', { caps: ['CAP_PERFMON'] }, ALLOW],
  ['open_by_handle_at', 'open_by_handle_at', {}, EPERM],
  ['open_by_handle_at with CAP_DAC_READ_SEARCH', 'open_by_handle_at', { caps: ['CAP_DAC_READ_SEARCH'] }, ALLOW],
  // personality
  ['personality(0)', 'personality', { args: [0n] }, ALLOW],
  ['personality(PER_LINUX32)', 'personality', { args: [0x0008n] }, ALLOW],
  ['personality(UNAME26)', 'personality', { args: [0x20000n] }, ALLOW],
  ['personality(UNAME26|PER_LINUX32)', 'personality', { args: [0x20008n] }, ALLOW],
  ['personality(0xffffffff) query', 'personality', { args: [0xffffffffn] }, ALLOW],
  ['personality(ADDR_NO_RANDOMIZE)', 'personality', { args: [0x0040000n] }, EPERM],
  ['personality(READ_IMPLIES_EXEC)', 'personality', { args: [0x0400000n] }, EPERM],
  ['personality(1)', 'personality', { args: [1n] }, EPERM],
  ['personality(8) with high bits', 'personality', { args: [0x1_00000008n] }, EPERM],
  // socket families
  ['socket(AF_UNIX)', 'socket', { args: [1n] }, ALLOW],
  ['socket(AF_INET)', 'socket', { args: [2n] }, ALLOW],
  ['socket(AF_NETLINK)', 'socket', { args: [16n] }, ALLOW],
  ['socket(AF_ALG)', 'socket', { args: [38n] }, EPERM],
  ['socket(39)', 'socket', { args: [39n] }, ALLOW],
  ['socket(AF_VSOCK)', 'socket', { args: [40n] }, EPERM],
  ['socket(AF_XDP)', 'socket', { args: [44n] }, ALLOW],
  ['socket(AF_VSOCK hidden in the high word)', 'socket', { args: [0x1_00000028n] }, EPERM],
  // newer than the profile: ENOSYS, so libc falls back
  ['open_tree_attr (newer)', 'open_tree_attr', {}, ENOSYS],
  ['file_getattr (newer)', 'file_getattr', {}, ENOSYS],
  ['syscall 1000', 1000, {}, ENOSYS],
  // x32 on x86_64
  ['x32 read', 'read', { abi: 'x32' }, ALLOW],
  ['x32 execve (520)', 'execve', { abi: 'x32' }, ALLOW],
  ['x32 rt_sigaction (512)', 'rt_sigaction', { abi: 'x32' }, ALLOW],
  ['x32 arch_prctl', 'arch_prctl', { abi: 'x32' }, ALLOW],
  ['x32 mount', 'mount', { abi: 'x32' }, EPERM],
  ['x32 number 13 (an x86_64-only slot)', X32_SYSCALL_BIT | 13, { abi: 'x32' }, EPERM],
  ['x32 clone with CLONE_NEWUSER', 'clone', { abi: 'x32', args: [CLONE_NEWUSER] }, EPERM],
  ['x32 socket(AF_VSOCK)', 'socket', { abi: 'x32', args: [40n] }, EPERM],
  // i386 on x86_64
  ['i386 read (3)', 'read', { abi: 'x86' }, ALLOW],
  ['i386 socketcall', 'socketcall', { abi: 'x86' }, ALLOW],
  ['i386 socket(AF_VSOCK)', 'socket', { abi: 'x86', args: [40n] }, EPERM],
  ['i386 mount', 'mount', { abi: 'x86' }, EPERM],
  ['i386 modify_ldt', 'modify_ldt', { abi: 'x86' }, ALLOW],
  ['i386 personality(PER_LINUX32)', 'personality', { abi: 'x86', args: [8n] }, ALLOW],
  ['i386 clone with CLONE_NEWNS', 'clone', { abi: 'x86', args: [CLONE_NEWNS] }, EPERM],
  // aarch64 and arm
  ['aarch64 read (63)', 'read', { abi: 'aarch64' }, ALLOW],
  ['aarch64 openat (56)', 'openat', { abi: 'aarch64' }, ALLOW],
  ['aarch64 mount', 'mount', { abi: 'aarch64' }, EPERM],
  ['aarch64 clone with CLONE_NEWUSER', 'clone', { abi: 'aarch64', args: [CLONE_NEWUSER] }, EPERM],
  ['aarch64 plain clone', 'clone', { abi: 'aarch64', args: [CLONE_PLAIN] }, ALLOW],
  ['aarch64 personality(PER_LINUX32)', 'personality', { abi: 'aarch64', args: [8n] }, ALLOW],
  ['aarch64 personality(ADDR_NO_RANDOMIZE)', 'personality', { abi: 'aarch64', args: [0x0040000n] }, EPERM],
  ['aarch64 socket(AF_VSOCK)', 'socket', { abi: 'aarch64', args: [40n] }, EPERM],
  ['arm read', 'read', { abi: 'arm' }, ALLOW],
  ['arm set_tls (private call)', 'set_tls', { abi: 'arm' }, ALLOW],
  ['arm breakpoint', 'breakpoint', { abi: 'arm' }, ALLOW],
  ['arm arm_fadvise64_64', 'arm_fadvise64_64', { abi: 'arm' }, ALLOW],
  ['arm mount', 'mount', { abi: 'arm' }, EPERM],
  ['arm unshare with CAP_SYS_ADMIN', 'unshare', { abi: 'arm', caps: ['CAP_SYS_ADMIN'] }, ALLOW],
];

describe('the default profile decides as docker does', () => {
  assert.ok(table.length >= 60);
  for (const [name, syscall, call, expected] of table) {
    it(name, () => assert.deepEqual(decide(syscall, call), expected));
  }
});

describe('foreign architectures are killed', () => {
  const audit = { aarch64: 0xc00000b7, arm: 0x40000028, x86_64: 0xc000003e, i386: 0x40000003, riscv64: 0xc00000f3, mips: 0x00000008 };
  const cases: [string, NativeArch, number][] = [
    ['aarch64 on x86_64', 'x86_64', audit.aarch64],
    ['arm on x86_64', 'x86_64', audit.arm],
    ['riscv64 on x86_64', 'x86_64', audit.riscv64],
    ['x86_64 on aarch64', 'aarch64', audit.x86_64],
    ['i386 on aarch64', 'aarch64', audit.i386],
    ['mips on aarch64', 'aarch64', audit.mips],
  ];
  for (const [name, arch, foreign] of cases) {
    it(name, () => {
      const verdict = runFilter(program(arch, DOCKER_CAPS, KERNEL), { nr: 0, arch: foreign });
      assert.deepEqual(decodeAction(verdict), KILL);
    });
  }
});
