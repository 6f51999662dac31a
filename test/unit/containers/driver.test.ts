import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { chooseDriver, parseDriverSetting, readProbeCache, storageDriver, writeProbeCache, type DriverFacts, type DriverSetting } from '../../../src/engine/containers/driver.ts';
import { helperConfig } from '../../../src/engine/containers/start.ts';
import { TscError } from '../../../src/engine/errors.ts';
import type { StoragePaths } from '../../../src/engine/paths.ts';
import type { Spec } from '../../../src/engine/runtime/spec/types.ts';

const KERNEL_OK = { ok: true, options: 'userxattr', whiteout: true };
const KERNEL_NO_WHITEOUT = { ok: true, options: 'userxattr', whiteout: false };
const KERNEL_FAILS = { ok: false, error: 'mount: EPERM' };
const FUSE = '/usr/bin/fuse-overlayfs';

function facts(kernel: DriverFacts['kernelOverlay'], fuse: string | undefined, device: boolean, fuseProbe?: DriverFacts['fuseProbe']): DriverFacts {
  return { kernelOverlay: kernel, fuseOverlayfs: fuse, fuseDevice: device, fuseProbe };
}

describe('chooseDriver: the default', () => {
  const table: [string, DriverFacts, string][] = [
    ['kernel overlay works', facts(KERNEL_OK, FUSE, true, { ok: true }), 'overlay'],
    ['kernel overlay works, nothing else', facts(KERNEL_OK, undefined, false), 'overlay'],
    ['kernel overlay without whiteouts, fuse works', facts(KERNEL_NO_WHITEOUT, FUSE, true, { ok: true }), 'fuse-overlayfs'],
    ['kernel overlay fails, fuse works', facts(KERNEL_FAILS, FUSE, true, { ok: true }), 'fuse-overlayfs'],
    ['kernel overlay fails, fuse installed, /dev/fuse unusable', facts(KERNEL_FAILS, FUSE, false), 'vfs'],
    ['kernel overlay fails, fuse not installed', facts(KERNEL_FAILS, undefined, true), 'vfs'],
    ['kernel overlay fails, fuse probe fails', facts(KERNEL_FAILS, FUSE, true, { ok: false, error: 'no mount' }), 'vfs'],
    ['nothing probed, nothing there', facts(undefined, undefined, false), 'vfs'],
  ];
  for (const [name, given, expected] of table) {
    it(`${name} -> ${expected}`, () => {
      const chosen = chooseDriver(undefined, given);
      assert.equal(chosen.driver, expected);
      assert.equal(chosen.fuseOverlayfs, expected === 'fuse-overlayfs' ? FUSE : undefined);
    });
  }
});

describe('chooseDriver: an explicit choice', () => {
  const set = (driver: DriverSetting['driver']): DriverSetting => ({ driver, source: 'TSC_STORAGE_DRIVER' });
  it('vfs always works', () => {
    assert.equal(chooseDriver(set('vfs'), facts(KERNEL_OK, FUSE, true)).driver, 'vfs');
    assert.equal(chooseDriver(set('vfs'), facts(KERNEL_FAILS, undefined, false)).driver, 'vfs');
  });
  it('fuse-overlayfs wins over a working kernel overlay when asked for', () => {
    assert.deepEqual(chooseDriver(set('fuse-overlayfs'), facts(KERNEL_OK, FUSE, true)), { driver: 'fuse-overlayfs', fuseOverlayfs: FUSE });
  });
  it('overlay where it works', () => {
    assert.equal(chooseDriver(set('overlay'), facts(KERNEL_OK, undefined, false)).driver, 'overlay');
  });
  const errors: [string, DriverSetting, DriverFacts, RegExp][] = [
    ['overlay where the mount fails', set('overlay'), facts(KERNEL_FAILS, FUSE, true), /storage driver overlay \(TSC_STORAGE_DRIVER\) does not work here: .*\(mount: EPERM\)/],
    ['overlay without whiteouts', set('overlay'), facts(KERNEL_NO_WHITEOUT, FUSE, true), /overlay .*whiteouts failed/],
    ['fuse-overlayfs not installed', set('fuse-overlayfs'), facts(KERNEL_OK, undefined, true), /needs the fuse-overlayfs program, which is not installed/],
    ['fuse-overlayfs without /dev/fuse', set('fuse-overlayfs'), facts(KERNEL_OK, FUSE, false), /needs \/dev\/fuse/],
    ['fuse-overlayfs whose probe failed', set('fuse-overlayfs'), facts(KERNEL_OK, FUSE, true, { ok: false, error: 'fuse: bad mount' }), /does not work here: fuse: bad mount/],
  ];
  for (const [name, setting, given, message] of errors) {
    it(`fails clearly: ${name}`, () => {
      assert.throws(() => chooseDriver(setting, given), (error: unknown) => {
        assert.ok(error instanceof TscError);
        assert.equal(error.code, 'unsupported');
        assert.match(error.message, message);
        assert.ok(error.hint, 'a hint says what to do');
        return true;
      });
    });
  }
});

describe('parseDriverSetting', () => {
  const file = '/home/u/.config/tsc/storage.conf';
  it('none anywhere: the default', () => {
    assert.equal(parseDriverSetting(undefined, undefined, file), undefined);
    assert.equal(parseDriverSetting('', '[storage]\n', file), undefined);
    assert.equal(parseDriverSetting(undefined, '# nothing\n[other]\nx = 1\n', file), undefined);
  });
  it('storage.conf as containers-storage writes it', () => {
    assert.deepEqual(parseDriverSetting(undefined, '[storage]\ndriver = "vfs"\nrunroot = "/x"\n', file), { driver: 'vfs', source: `driver in ${file}` });
  });
  it('the environment wins over the file', () => {
    assert.deepEqual(parseDriverSetting('fuse-overlayfs', '[storage]\ndriver = "vfs"\n', file), { driver: 'fuse-overlayfs', source: 'TSC_STORAGE_DRIVER' });
  });
  it('unknown names fail, naming where they came from', () => {
    assert.throws(() => parseDriverSetting('btrfs', undefined, file), /unknown storage driver "btrfs" \(TSC_STORAGE_DRIVER\)/);
    assert.throws(() => parseDriverSetting(undefined, '[storage]\ndriver = "zfs"\n', file), new RegExp(`unknown storage driver "zfs" \\(driver in ${file}\\)`));
  });
  it('bad toml fails with the line', () => {
    assert.throws(() => parseDriverSetting(undefined, '[storage]\ndriver = \n', file), new RegExp(`${file}:2:\\d+: invalid toml`));
  });
});

describe('storageDriver and the probe cache', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tsc-driver-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  const paths = { configDir: dir, runtimeDir: dir, storageRoot: dir, runtimeDirSource: 'override' } as StoragePaths;

  it('vfs from storage.conf needs no probe; an explicit overlay does', async () => {
    writeFileSync(join(dir, 'storage.conf'), '[storage]\ndriver = "vfs"\n');
    let probed = 0;
    const probes = { probe: () => ((probed += 1), Promise.resolve({ kernelOverlay: KERNEL_FAILS, fuse: { ok: false } })) };
    assert.equal((await storageDriver(paths, probes, {})).driver, 'vfs');
    assert.equal(probed, 0);
    await assert.rejects(storageDriver(paths, probes, { TSC_STORAGE_DRIVER: 'overlay' }), /storage driver overlay \(TSC_STORAGE_DRIVER\) does not work here/);
    assert.equal(probed, 1);
    rmSync(join(dir, 'storage.conf'));
  });

  it('the cache is kept for one boot, kernel and fuse-overlayfs path', async () => {
    const current = { bootId: 'b1', kernel: '6.1', fuseOverlayfs: FUSE };
    assert.equal(await readProbeCache(dir, current), undefined);
    await writeProbeCache(dir, { ...current, kernelOverlay: KERNEL_OK, fuse: { ok: true } });
    assert.deepEqual((await readProbeCache(dir, current))?.kernelOverlay, KERNEL_OK);
    assert.equal(await readProbeCache(dir, { ...current, bootId: 'b2' }), undefined);
    assert.equal(await readProbeCache(dir, { ...current, kernel: '6.2' }), undefined);
    assert.equal(await readProbeCache(dir, { ...current, fuseOverlayfs: undefined }), undefined);
    writeFileSync(join(dir, 'storage-probe.json'), '{not json');
    assert.equal(await readProbeCache(dir, current), undefined);
  });
});

describe('helperConfig: the root file system per driver', () => {
  const spec = {
    root: { path: '/s/c/rootfs' }, hostname: 'h', mounts: [],
    linux: { maskedPaths: [], readonlyPaths: [] },
    process: { cwd: '/', user: { uid: 0, gid: 0 }, capabilities: { bounding: [] }, noNewPrivileges: true, rlimits: [], env: [], args: ['/bin/sh'] },
  } as unknown as Spec;
  const rootfs = { lowers: ['/l/2', '/l/1'], upper: '/s/c/upper', work: '/s/c/work' };
  const storage = (driver: 'overlay' | 'fuse-overlayfs' | 'vfs', fuseOverlayfs?: string) => ({ driver, fuseOverlayfs, name: 'c' });
  const rootKeys = (config: readonly (readonly [string, string])[]) => config.filter(([k]) => ['rootfs', 'lowerdir', 'upperdir', 'workdir', 'fuse-overlayfs'].includes(k));
  const overlay: [string, string][] = [['rootfs', '/s/c/rootfs'], ['lowerdir', '/l/2:/l/1'], ['upperdir', '/s/c/upper'], ['workdir', '/s/c/work']];

  it('overlay, also by default (build steps, records older than drivers)', () => {
    assert.deepEqual(rootKeys(helperConfig(spec, rootfs, '/s/c', storage('overlay'))), overlay);
    assert.deepEqual(rootKeys(helperConfig(spec, rootfs, '/s/c')), overlay);
  });
  it('fuse-overlayfs: the same, and the program', () => {
    assert.deepEqual(rootKeys(helperConfig(spec, rootfs, '/s/c', storage('fuse-overlayfs', FUSE))), [...overlay, ['fuse-overlayfs', FUSE]]);
    assert.throws(() => helperConfig(spec, rootfs, '/s/c', storage('fuse-overlayfs')), /without its program/);
  });
  it('vfs: only the copy', () => {
    assert.deepEqual(rootKeys(helperConfig(spec, rootfs, '/s/c', storage('vfs'))), [['rootfs', '/s/c/rootfs']]);
  });
});
