/**
 * tsc's default seccomp profile: the same policy as docker's (moby's profiles/seccomp
 * default), so images that run under docker run under tsc, and what docker refuses tsc
 * refuses. It is an allow-list: anything not named fails with EPERM.
 *
 * Outside the always-allowed groups:
 * - Namespaces, mounts, BPF, perf, hostname, quotas, syslog: only with CAP_SYS_ADMIN
 *   (the kernel checks the capability too; the filter removes the attack surface when it
 *   cannot succeed anyway). Without it, clone() may not create namespaces and clone3()
 *   fails with ENOSYS: its flags live in memory a filter cannot read, and ENOSYS makes
 *   libc fall back to clone(), whose flags it can.
 * - Other privileged calls follow their capability: reboot (CAP_SYS_BOOT), chroot
 *   (CAP_SYS_CHROOT), modules (CAP_SYS_MODULE), acct (CAP_SYS_PACCT), ptrace and
 *   cross-process memory (CAP_SYS_PTRACE, or any caller on kernels >= 4.8, whose ptrace
 *   no longer bypasses seccomp), iopl/ioperm (CAP_SYS_RAWIO), clock setting
 *   (CAP_SYS_TIME), vhangup (CAP_SYS_TTY_CONFIG), NUMA policy (CAP_SYS_NICE), syslog
 *   (CAP_SYSLOG), bpf (CAP_BPF), perf_event_open (CAP_PERFMON).
 * - Never, whatever the capabilities: kexec, swapon/swapoff, pivot_root, keyrings
 *   (add_key, keyctl, request_key: not namespaced), userfaultfd, io_uring, NUMA page
 *   migration, _sysctl, uselib, and syscalls newer than this list.
 * - socket(): every family except AF_ALG (38, kernel crypto) and AF_VSOCK (40, the
 *   hypervisor channel), with one test docker lacks (HIGH_WORD_ZERO). On i386 socket()
 *   can also go through socketcall(), which a filter cannot look into; docker has the
 *   same gap.
 * - personality(): only the Linux personality (0), with UNAME26 and/or PER_LINUX32, and
 *   the 0xffffffff query.
 *
 * The profile covers the container's native ABI and its compat ABIs (x86_64 with i386
 * and x32; aarch64 with 32-bit arm). Architecture conditions use docker's names for the
 * container's architecture (amd64, arm64); groups docker has for ppc64le, s390x and
 * riscv64 are left out, as tsc does not run there.
 */
import { ENOSYS, EPERM, type SeccompActionName } from './actions.ts';
import type { KernelVersion, SeccompArg, SeccompCondition, SeccompProfile, SeccompRule } from './profile.ts';

const FILES = [
  'access', 'chdir', 'chmod', 'chown', 'chown32', 'close', 'close_range', 'copy_file_range', 'creat', 'dup', 'dup2',
  'dup3', 'faccessat', 'faccessat2', 'fadvise64', 'fadvise64_64', 'fallocate', 'fchdir', 'fchmod', 'fchmodat',
  'fchmodat2', 'fchown', 'fchown32', 'fchownat', 'fcntl', 'fcntl64', 'fdatasync', 'flock', 'fstat', 'fstat64',
  'fstatat64', 'fstatfs', 'fstatfs64', 'fsync', 'ftruncate', 'ftruncate64', 'futimesat', 'getcwd', 'getdents',
  'getdents64', 'lchown', 'lchown32', 'link', 'linkat', '_llseek', 'lseek', 'lstat', 'lstat64', 'mkdir', 'mkdirat',
  'mknod', 'mknodat', 'name_to_handle_at', 'newfstatat', 'open', 'openat', 'openat2', 'pipe', 'pipe2', 'pread64', 'preadv',
  'preadv2', 'pwrite64', 'pwritev', 'pwritev2', 'read', 'readahead', 'readlink', 'readlinkat', 'readv', 'rename',
  'renameat', 'renameat2', 'rmdir', 'sendfile', 'sendfile64', 'splice', 'stat', 'stat64', 'statfs', 'statfs64',
  'statx', 'symlink', 'symlinkat', 'sync', 'sync_file_range', 'syncfs', 'tee', 'truncate', 'truncate64', 'umask',
  'unlink', 'unlinkat', 'utime', 'utimensat', 'utimensat_time64', 'utimes', 'vmsplice', 'write', 'writev',
];

const XATTRS = [
  'fgetxattr', 'flistxattr', 'fremovexattr', 'fsetxattr', 'getxattr', 'getxattrat', 'lgetxattr', 'listxattr',
  'listxattrat', 'llistxattr', 'lremovexattr', 'lsetxattr', 'removexattr', 'removexattrat', 'setxattr', 'setxattrat',
];

const WAITING = [
  'epoll_create', 'epoll_create1', 'epoll_ctl', 'epoll_ctl_old', 'epoll_pwait', 'epoll_pwait2', 'epoll_wait',
  'epoll_wait_old', 'eventfd', 'eventfd2', 'fanotify_mark', 'inotify_add_watch', 'inotify_init', 'inotify_init1',
  'inotify_rm_watch', '_newselect', 'pause', 'poll', 'ppoll', 'ppoll_time64', 'pselect6', 'pselect6_time64',
  'select', 'signalfd', 'signalfd4', 'timerfd_create', 'timerfd_gettime', 'timerfd_gettime64', 'timerfd_settime',
  'timerfd_settime64', 'futex', 'futex_requeue', 'futex_time64', 'futex_wait', 'futex_waitv', 'futex_wake',
];

const AIO_AND_IOCTL = [
  'io_cancel', 'io_destroy', 'io_getevents', 'io_pgetevents', 'io_pgetevents_time64', 'io_setup', 'io_submit',
  'ioctl', 'ioprio_get', 'ioprio_set',
];

const PROCESSES = [
  'capget', 'capset', 'execve', 'execveat', 'exit', 'exit_group', 'fork', 'vfork', 'wait4', 'waitid', 'waitpid',
  'getpgid', 'getpgrp', 'getpid', 'getppid', 'getpriority', 'getrlimit', 'getrusage', 'getsid', 'gettid', 'kill',
  'tgkill', 'tkill', 'pidfd_open', 'pidfd_send_signal', 'prctl', 'prlimit64', 'process_mrelease', 'restart_syscall',
  'rseq', 'setpgid', 'setpriority', 'setrlimit', 'setsid', 'set_tid_address', 'ugetrlimit', 'get_robust_list',
  'set_robust_list', 'get_thread_area', 'set_thread_area', 'seccomp', 'landlock_add_rule',
  'landlock_create_ruleset', 'landlock_restrict_self', 'uname', 'sysinfo', 'times', 'getcpu', 'getrandom',
  'membarrier', 'uretprobe', 'riscv_hwprobe', 'listmount', 'statmount',
];

const SCHEDULING = [
  'sched_getaffinity', 'sched_getattr', 'sched_getparam', 'sched_get_priority_max', 'sched_get_priority_min',
  'sched_getscheduler', 'sched_rr_get_interval', 'sched_rr_get_interval_time64', 'sched_setaffinity',
  'sched_setattr', 'sched_setparam', 'sched_setscheduler', 'sched_yield',
];

const IDENTITY = [
  'getegid', 'getegid32', 'geteuid', 'geteuid32', 'getgid', 'getgid32', 'getgroups', 'getgroups32', 'getresgid',
  'getresgid32', 'getresuid', 'getresuid32', 'getuid', 'getuid32', 'setfsgid', 'setfsgid32', 'setfsuid',
  'setfsuid32', 'setgid', 'setgid32', 'setgroups', 'setgroups32', 'setregid', 'setregid32', 'setresgid',
  'setresgid32', 'setresuid', 'setresuid32', 'setreuid', 'setreuid32', 'setuid', 'setuid32',
];

const MEMORY = [
  'brk', 'cachestat', 'madvise', 'map_shadow_stack', 'memfd_create', 'memfd_secret', 'mincore', 'mlock', 'mlock2',
  'mlockall', 'mmap', 'mmap2', 'mprotect', 'mremap', 'mseal', 'msync', 'munlock', 'munlockall', 'munmap',
  'pkey_alloc', 'pkey_free', 'pkey_mprotect', 'remap_file_pages',
];

const SIGNALS = [
  'alarm', 'rt_sigaction', 'rt_sigpending', 'rt_sigprocmask', 'rt_sigqueueinfo', 'rt_sigreturn', 'rt_sigsuspend',
  'rt_sigtimedwait', 'rt_sigtimedwait_time64', 'rt_tgsigqueueinfo', 'sigaltstack', 'sigprocmask', 'sigreturn',
];

/** Reading clocks and timers; adjtimex/clock_adjtime only read without CAP_SYS_TIME. */
const TIME = [
  'adjtimex', 'clock_adjtime', 'clock_adjtime64', 'clock_getres', 'clock_getres_time64', 'clock_gettime',
  'clock_gettime64', 'clock_nanosleep', 'clock_nanosleep_time64', 'getitimer', 'gettimeofday', 'nanosleep',
  'setitimer', 'time', 'timer_create', 'timer_delete', 'timer_getoverrun', 'timer_gettime', 'timer_gettime64',
  'timer_settime', 'timer_settime64',
];

/** System V and POSIX IPC: the container has its own IPC namespace. */
const IPC = [
  'ipc', 'mq_getsetattr', 'mq_notify', 'mq_open', 'mq_timedreceive', 'mq_timedreceive_time64', 'mq_timedsend',
  'mq_timedsend_time64', 'mq_unlink', 'msgctl', 'msgget', 'msgrcv', 'msgsnd', 'semctl', 'semget', 'semop',
  'semtimedop', 'semtimedop_time64', 'shmat', 'shmctl', 'shmdt', 'shmget',
];

/** Sockets once made; socket() itself is below. */
const NETWORK = [
  'accept', 'accept4', 'bind', 'connect', 'getpeername', 'getsockname', 'getsockopt', 'listen', 'recv', 'recvfrom',
  'recvmmsg', 'recvmmsg_time64', 'recvmsg', 'send', 'sendmmsg', 'sendmsg', 'sendto', 'setsockopt', 'shutdown',
  'socketcall', 'socketpair',
];

const CAP_SYS_ADMIN_CALLS = [
  'bpf', 'clone', 'clone3', 'fanotify_init', 'fsconfig', 'fsmount', 'fsopen', 'fspick', 'lookup_dcookie',
  'lsm_get_self_attr', 'lsm_list_modules', 'lsm_set_self_attr', 'mount', 'mount_setattr', 'move_mount', 'open_tree',
  'perf_event_open', 'quotactl', 'quotactl_fd', 'setdomainname', 'sethostname', 'setns', 'syslog', 'umount',
  'umount2', 'unshare',
];

/** CLONE_NEWNS|NEWCGROUP|NEWUTS|NEWIPC|NEWUSER|NEWPID|NEWNET */
export const CLONE_NAMESPACE_FLAGS = 0x00020000n | 0x02000000n | 0x04000000n | 0x08000000n | 0x10000000n | 0x20000000n | 0x40000000n;

export const AF_ALG = 38n;
export const AF_VSOCK = 40n;

/** One group of the default policy, before it becomes a profile rule. */
interface Group {
  why: string;
  names: readonly string[];
  action?: SeccompActionName;
  errno?: number;
  /** all must hold */
  args?: (Omit<SeccompArg, 'valueTwo'> & { valueTwo?: bigint })[];
  when?: Partial<SeccompCondition>;
  unless?: Partial<SeccompCondition>;
}

const sinceKernel = (major: number, minor: number): KernelVersion => ({ major, minor });
const onlyArg0 = (op: SeccompArg['op'], value: bigint) => [{ index: 0, op, value }];
/**
 * The kernel reads an `int` argument from the low 32 bits of its register. A 64-bit
 * "greater than" alone would let socket(0x1_0000_0028) through as AF_VSOCK, so that rule
 * also requires the high word to be 0 (docker's profile lacks this test).
 */
const HIGH_WORD_ZERO = { index: 0, op: 'SCMP_CMP_MASKED_EQ' as const, value: 0xffffffff_00000000n, valueTwo: 0n };
const withCap = (cap: string): Partial<SeccompCondition> => ({ caps: [cap] });

const GROUPS: readonly Group[] = [
  { why: 'files and directories', names: FILES },
  { why: 'extended attributes', names: XATTRS },
  { why: 'waiting for events', names: WAITING },
  { why: 'asynchronous io and device control', names: AIO_AND_IOCTL },
  { why: 'processes and their limits', names: PROCESSES },
  { why: 'scheduling', names: SCHEDULING },
  { why: 'user and group ids', names: IDENTITY },
  { why: 'memory', names: MEMORY },
  { why: 'signals', names: SIGNALS },
  { why: 'clocks and timers', names: TIME },
  { why: 'ipc', names: IPC },
  { why: 'sockets', names: NETWORK },
  { why: 'since 4.8 ptrace cannot be used to get around seccomp', names: ['process_vm_readv', 'process_vm_writev', 'ptrace'], when: { minKernel: sinceKernel(4, 8) } },
  { why: 'socket(): families below AF_ALG', names: ['socket'], args: onlyArg0('SCMP_CMP_LT', AF_ALG) },
  { why: 'socket(): the family between AF_ALG and AF_VSOCK', names: ['socket'], args: onlyArg0('SCMP_CMP_EQ', AF_ALG + 1n) },
  { why: 'socket(): families above AF_VSOCK', names: ['socket'], args: [HIGH_WORD_ZERO, ...onlyArg0('SCMP_CMP_GT', AF_VSOCK)] },
  { why: 'personality(PER_LINUX)', names: ['personality'], args: onlyArg0('SCMP_CMP_EQ', 0x0n) },
  { why: 'personality(PER_LINUX32)', names: ['personality'], args: onlyArg0('SCMP_CMP_EQ', 0x0008n) },
  { why: 'personality(UNAME26)', names: ['personality'], args: onlyArg0('SCMP_CMP_EQ', 0x20000n) },
  { why: 'personality(PER_LINUX32|UNAME26)', names: ['personality'], args: onlyArg0('SCMP_CMP_EQ', 0x20008n) },
  { why: 'personality(0xffffffff) reads the current personality', names: ['personality'], args: onlyArg0('SCMP_CMP_EQ', 0xffffffffn) },
  { why: 'arm private calls and arm spellings', names: ['arm_fadvise64_64', 'arm_sync_file_range', 'sync_file_range2', 'breakpoint', 'cacheflush', 'set_tls'], when: { arches: ['arm', 'arm64'] } },
  { why: 'x86_64 thread state', names: ['arch_prctl'], when: { arches: ['amd64', 'x32'] } },
  { why: 'x86 local descriptor table', names: ['modify_ldt'], when: { arches: ['amd64', 'x32', 'x86'] } },
  { why: 'opening by handle bypasses path permissions', names: ['open_by_handle_at'], when: withCap('CAP_DAC_READ_SEARCH') },
  { why: 'namespaces, mounts, bpf, perf, hostname, quotas', names: CAP_SYS_ADMIN_CALLS, when: withCap('CAP_SYS_ADMIN') },
  {
    why: 'clone() without namespace flags',
    names: ['clone'],
    args: [{ index: 0, op: 'SCMP_CMP_MASKED_EQ', value: CLONE_NAMESPACE_FLAGS, valueTwo: 0n }],
    unless: withCap('CAP_SYS_ADMIN'),
  },
  { why: 'clone3() flags cannot be inspected: make libc fall back to clone()', names: ['clone3'], action: 'SCMP_ACT_ERRNO', errno: ENOSYS, unless: withCap('CAP_SYS_ADMIN') },
  { why: 'reboot', names: ['reboot'], when: withCap('CAP_SYS_BOOT') },
  { why: 'chroot', names: ['chroot'], when: withCap('CAP_SYS_CHROOT') },
  { why: 'kernel modules', names: ['delete_module', 'init_module', 'finit_module'], when: withCap('CAP_SYS_MODULE') },
  { why: 'process accounting', names: ['acct'], when: withCap('CAP_SYS_PACCT') },
  { why: 'tracing and other processes\' memory', names: ['kcmp', 'pidfd_getfd', 'process_madvise', 'process_vm_readv', 'process_vm_writev', 'ptrace'], when: withCap('CAP_SYS_PTRACE') },
  { why: 'io ports', names: ['iopl', 'ioperm'], when: withCap('CAP_SYS_RAWIO') },
  { why: 'setting clocks', names: ['settimeofday', 'stime', 'clock_settime', 'clock_settime64'], when: withCap('CAP_SYS_TIME') },
  { why: 'vhangup', names: ['vhangup'], when: withCap('CAP_SYS_TTY_CONFIG') },
  { why: 'NUMA memory policy', names: ['get_mempolicy', 'mbind', 'set_mempolicy', 'set_mempolicy_home_node'], when: withCap('CAP_SYS_NICE') },
  { why: 'kernel log', names: ['syslog'], when: withCap('CAP_SYSLOG') },
  { why: 'bpf', names: ['bpf'], when: withCap('CAP_BPF') },
  { why: 'perf events', names: ['perf_event_open'], when: withCap('CAP_PERFMON') },
];

function condition(partial: Partial<SeccompCondition> | undefined): SeccompCondition | undefined {
  if (partial === undefined) return undefined;
  return { caps: [...(partial.caps ?? [])], arches: [...(partial.arches ?? [])], minKernel: partial.minKernel };
}

/** A fresh copy of the default profile (callers may change it). */
export function defaultSeccompProfile(): SeccompProfile {
  const syscalls: SeccompRule[] = GROUPS.map((group) => ({
    names: [...group.names],
    action: group.action ?? 'SCMP_ACT_ALLOW',
    errnoRet: group.errno,
    args: (group.args ?? []).map((arg) => ({ valueTwo: 0n, ...arg })),
    comment: group.why,
    includes: condition(group.when),
    excludes: condition(group.unless),
  }));
  return {
    defaultAction: 'SCMP_ACT_ERRNO',
    defaultErrnoRet: EPERM,
    architectures: [],
    archMap: [
      { architecture: 'SCMP_ARCH_X86_64', subArchitectures: ['SCMP_ARCH_X86', 'SCMP_ARCH_X32'] },
      { architecture: 'SCMP_ARCH_AARCH64', subArchitectures: ['SCMP_ARCH_ARM'] },
    ],
    flags: [],
    syscalls,
  };
}
