/**
 * Where tsc keeps things. Rootless: XDG base directories; root: /var/lib/tsc, /run/tsc,
 * /etc/tsc (see docs/architecture.md). TSC_STORAGE_ROOT / TSC_RUNTIME_DIR / TSC_CONFIG_DIR
 * override each one, for tests and unusual setups.
 */
import { join } from 'node:path';
import type { Identity } from './sys/identity.ts';

export interface StoragePaths {
  /** content store, layers, containers, volumes */
  storageRoot: string;
  /** live state: pids, sockets, mounts; private to the user (0700) */
  runtimeDir: string;
  /** configuration: registries.conf, auth.json, ... */
  configDir: string;
  /** where runtimeDir came from, to explain a fallback */
  runtimeDirSource: 'override' | 'xdg' | 'fallback' | 'root';
}

export function storagePaths(who: Identity): StoragePaths {
  const env = who.env;
  const rootful = who.uid === 0;
  const storageRoot =
    env.TSC_STORAGE_ROOT ||
    (rootful ? '/var/lib/tsc' : join(env.XDG_DATA_HOME || join(who.home, '.local', 'share'), 'tsc'));
  const configDir =
    env.TSC_CONFIG_DIR || (rootful ? '/etc/tsc' : join(env.XDG_CONFIG_HOME || join(who.home, '.config'), 'tsc'));
  let runtimeDir: string;
  let runtimeDirSource: StoragePaths['runtimeDirSource'];
  if (env.TSC_RUNTIME_DIR) {
    runtimeDir = env.TSC_RUNTIME_DIR;
    runtimeDirSource = 'override';
  } else if (rootful) {
    runtimeDir = '/run/tsc';
    runtimeDirSource = 'root';
  } else if (env.XDG_RUNTIME_DIR) {
    runtimeDir = join(env.XDG_RUNTIME_DIR, 'tsc');
    runtimeDirSource = 'xdg';
  } else {
    // like podman: a per-user directory in /tmp when there is no XDG_RUNTIME_DIR
    runtimeDir = `/tmp/tsc-run-${who.uid}`;
    runtimeDirSource = 'fallback';
  }
  return { storageRoot, runtimeDir, configDir, runtimeDirSource };
}
