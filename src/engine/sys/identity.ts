/**
 * Who is running tsc, read from the process and /etc/passwd. The rest of the engine takes
 * an Identity as a parameter, so tests can describe any user.
 */
import { userInfo } from 'node:os';

export interface Identity {
  uid: number;
  gid: number;
  /** login name, or the uid as text when the user has no passwd entry */
  name: string;
  home: string;
  env: NodeJS.ProcessEnv;
}

export function currentIdentity(env: NodeJS.ProcessEnv = process.env): Identity {
  const uid = process.getuid?.() ?? 0;
  const gid = process.getgid?.() ?? 0;
  let name = String(uid);
  let home = env.HOME ?? '/';
  try {
    const info = userInfo();
    name = info.username;
    home = env.HOME ?? info.homedir;
  } catch {
    // no passwd entry (common in containers); keep the numeric name
  }
  return { uid, gid, name, home, env };
}
