/**
 * Seccomp filter return values (include/uapi/linux/seccomp.h). A filter returns a 32-bit
 * value: the action in the high 16 bits, data (an errno, a tracer message) in the low 16.
 */

export const SECCOMP_RET_KILL_PROCESS = 0x80000000;
export const SECCOMP_RET_KILL_THREAD = 0x00000000;
export const SECCOMP_RET_TRAP = 0x00030000;
export const SECCOMP_RET_ERRNO = 0x00050000;
export const SECCOMP_RET_USER_NOTIF = 0x7fc00000;
export const SECCOMP_RET_TRACE = 0x7ff00000;
export const SECCOMP_RET_LOG = 0x7ffc0000;
export const SECCOMP_RET_ALLOW = 0x7fff0000;

export const SECCOMP_RET_ACTION_FULL = 0xffff0000;
export const SECCOMP_RET_DATA = 0x0000ffff;

export const EPERM = 1;
export const ENOSYS = 38;

/** The profile's action names (OCI runtime spec / libseccomp). */
export type SeccompActionName =
  | 'SCMP_ACT_KILL'
  | 'SCMP_ACT_KILL_PROCESS'
  | 'SCMP_ACT_KILL_THREAD'
  | 'SCMP_ACT_TRAP'
  | 'SCMP_ACT_ERRNO'
  | 'SCMP_ACT_TRACE'
  | 'SCMP_ACT_ALLOW'
  | 'SCMP_ACT_LOG'
  | 'SCMP_ACT_NOTIFY';

export const ACTION_NAMES: readonly SeccompActionName[] = [
  'SCMP_ACT_KILL', 'SCMP_ACT_KILL_PROCESS', 'SCMP_ACT_KILL_THREAD', 'SCMP_ACT_TRAP', 'SCMP_ACT_ERRNO',
  'SCMP_ACT_TRACE', 'SCMP_ACT_ALLOW', 'SCMP_ACT_LOG', 'SCMP_ACT_NOTIFY',
];

/**
 * The return value for an action. `data` is the errno for ERRNO and the message for
 * TRACE; both default to EPERM, as runc does. SCMP_ACT_KILL kills the thread, as in
 * libseccomp.
 */
export function actionValue(action: SeccompActionName, data?: number): number {
  switch (action) {
    case 'SCMP_ACT_KILL':
    case 'SCMP_ACT_KILL_THREAD':
      return SECCOMP_RET_KILL_THREAD;
    case 'SCMP_ACT_KILL_PROCESS':
      return SECCOMP_RET_KILL_PROCESS;
    case 'SCMP_ACT_TRAP':
      return SECCOMP_RET_TRAP;
    case 'SCMP_ACT_ERRNO':
      return (SECCOMP_RET_ERRNO | ((data ?? EPERM) & SECCOMP_RET_DATA)) >>> 0;
    case 'SCMP_ACT_TRACE':
      return (SECCOMP_RET_TRACE | ((data ?? EPERM) & SECCOMP_RET_DATA)) >>> 0;
    case 'SCMP_ACT_LOG':
      return SECCOMP_RET_LOG;
    case 'SCMP_ACT_ALLOW':
      return SECCOMP_RET_ALLOW;
    case 'SCMP_ACT_NOTIFY':
      return SECCOMP_RET_USER_NOTIF;
  }
}

export type ActionKind = 'kill-process' | 'kill-thread' | 'trap' | 'errno' | 'notify' | 'trace' | 'log' | 'allow';

/** A return value taken apart, for tests and diagnostics: `{kind: 'errno', data: 1}`. */
export interface DecodedAction {
  kind: ActionKind;
  data: number;
}

export function decodeAction(value: number): DecodedAction {
  const data = value & SECCOMP_RET_DATA;
  switch ((value & SECCOMP_RET_ACTION_FULL) >>> 0) {
    case SECCOMP_RET_KILL_PROCESS: return { kind: 'kill-process', data };
    case SECCOMP_RET_KILL_THREAD: return { kind: 'kill-thread', data };
    case SECCOMP_RET_TRAP: return { kind: 'trap', data };
    case SECCOMP_RET_ERRNO: return { kind: 'errno', data };
    case SECCOMP_RET_USER_NOTIF: return { kind: 'notify', data };
    case SECCOMP_RET_TRACE: return { kind: 'trace', data };
    case SECCOMP_RET_LOG: return { kind: 'log', data };
    case SECCOMP_RET_ALLOW: return { kind: 'allow', data };
    default:
      // the kernel treats unknown actions as kill-process
      return { kind: 'kill-process', data };
  }
}

/** Whether a default action lets unknown syscalls run (runc's test for its ENOSYS stub). */
export function isPermissive(value: number): boolean {
  const action = (value & SECCOMP_RET_ACTION_FULL) >>> 0;
  return action === SECCOMP_RET_ALLOW || action === SECCOMP_RET_LOG || action === SECCOMP_RET_TRACE;
}
