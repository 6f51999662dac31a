import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { storagePaths } from '../../src/engine/paths.ts';

const user = (uid: number, env: NodeJS.ProcessEnv) => ({ uid, gid: uid, name: 'u', home: '/home/u', env });

describe('storagePaths', () => {
  it('rootless with XDG variables', () => {
    assert.deepEqual(storagePaths(user(1001, { XDG_DATA_HOME: '/d', XDG_CONFIG_HOME: '/c', XDG_RUNTIME_DIR: '/run/user/1001' })), {
      storageRoot: '/d/tsc', runtimeDir: '/run/user/1001/tsc', configDir: '/c/tsc', runtimeDirSource: 'xdg',
    });
  });
  it('rootless defaults under HOME, runtime fallback in /tmp', () => {
    assert.deepEqual(storagePaths(user(1001, {})), {
      storageRoot: '/home/u/.local/share/tsc', runtimeDir: '/tmp/tsc-run-1001', configDir: '/home/u/.config/tsc', runtimeDirSource: 'fallback',
    });
  });
  it('root uses the system directories, even with XDG variables set', () => {
    assert.deepEqual(storagePaths(user(0, { XDG_RUNTIME_DIR: '/run/user/0', XDG_DATA_HOME: '/x' })), {
      storageRoot: '/var/lib/tsc', runtimeDir: '/run/tsc', configDir: '/etc/tsc', runtimeDirSource: 'root',
    });
  });
  it('explicit overrides win', () => {
    const p = storagePaths(user(1001, { TSC_STORAGE_ROOT: '/s', TSC_RUNTIME_DIR: '/r', TSC_CONFIG_DIR: '/c2' }));
    assert.deepEqual(p, { storageRoot: '/s', runtimeDir: '/r', configDir: '/c2', runtimeDirSource: 'override' });
  });
});
