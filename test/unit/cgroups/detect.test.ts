import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import {
  classifyCgroupMounts,
  detectCgroups,
  parseMountInfo,
  parseProcCgroup,
  relativeToMountRoot,
} from '../../../src/engine/cgroups/detect.ts';

// Lines as this project's Debian 12 host shows them (hybrid: v1 controllers + unified).
const HYBRID = `
30 25 0:26 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
31 30 0:27 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu
32 30 0:28 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
33 30 0:29 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids
34 30 0:30 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,name=systemd
35 30 0:31 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
`;
const UNIFIED = '40 25 0:40 / /sys/fs/cgroup rw,nosuid shared:9 - cgroup2 cgroup2 rw,nsdelegate,memory_recursiveprot\n';
const V1_ONLY = '31 30 0:27 / /sys/fs/cgroup/cpu,cpuacct rw - cgroup cgroup rw,cpu,cpuacct\n';

describe('parseMountInfo', () => {
  it('reads mount point, root, type and super options, skipping optional fields', () => {
    const [m] = parseMountInfo(UNIFIED);
    assert.deepEqual(m, { root: '/', mountPoint: '/sys/fs/cgroup', fsType: 'cgroup2', superOptions: ['rw', 'nsdelegate', 'memory_recursiveprot'] });
  });
  it('decodes octal escapes in paths', () => {
    const [m] = parseMountInfo('50 1 0:5 / /mnt/with\\040space rw - tmpfs tmpfs rw\n');
    assert.equal(m?.mountPoint, '/mnt/with space');
  });
  it('ignores garbage lines', () => assert.deepEqual(parseMountInfo('nonsense\n\n'), []));
});

describe('classifyCgroupMounts', () => {
  const cases: [string, string, string][] = [
    ['hybrid', HYBRID, 'hybrid'],
    ['unified', UNIFIED, 'v2'],
    ['v1 only', V1_ONLY, 'v1'],
    ['none', '1 0 0:1 / / rw - ext4 /dev/vda rw\n', 'none'],
  ];
  for (const [name, text, layout] of cases) {
    it(name, () => assert.equal(classifyCgroupMounts(parseMountInfo(text)).layout, layout));
  }
  it('maps v1 controllers to their mounts, ignoring named hierarchies', () => {
    const { v1 } = classifyCgroupMounts(parseMountInfo(HYBRID + V1_ONLY));
    assert.equal(v1.get('memory'), '/sys/fs/cgroup/memory');
    assert.equal(v1.get('cpuacct'), '/sys/fs/cgroup/cpu,cpuacct');
    assert.equal(v1.has('name=systemd'), false);
  });
});

describe('parseProcCgroup', () => {
  it('reads v1 and v2 lines', () => {
    const lines = parseProcCgroup('4:memory:/process_api/x\n1:cpu,cpuacct:/\n0::/tsc.delegate/user-1001\n');
    assert.deepEqual(lines, [
      { hierarchy: 4, controllers: ['memory'], path: '/process_api/x' },
      { hierarchy: 1, controllers: ['cpu', 'cpuacct'], path: '/' },
      { hierarchy: 0, controllers: [], path: '/tsc.delegate/user-1001' },
    ]);
  });
});

describe('relativeToMountRoot', () => {
  it('strips a mount root', () => {
    assert.equal(relativeToMountRoot('/a/b', '/'), '/a/b');
    assert.equal(relativeToMountRoot('/a/b', '/a'), '/b');
    assert.equal(relativeToMountRoot('/a', '/a'), '/');
    assert.equal(relativeToMountRoot('/ab', '/a'), '/ab');
  });
});

describe('detectCgroups with explicit roots', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tsc-cg-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('finds the own cgroup, its controllers, and that it is writable', async () => {
    const hierarchy = join(dir, 'unified');
    const own = join(hierarchy, 'user.slice', 'me');
    mkdirSync(own, { recursive: true });
    writeFileSync(join(own, 'cgroup.controllers'), 'cpu memory pids\n');
    writeFileSync(join(own, 'cgroup.procs'), '');
    writeFileSync(join(own, 'cgroup.subtree_control'), '');
    const proc = join(dir, 'proc');
    mkdirSync(proc);
    writeFileSync(join(proc, 'mountinfo'), `35 30 0:31 / ${hierarchy} rw - cgroup2 cgroup2 rw\n`);
    writeFileSync(join(proc, 'cgroup'), '0::/user.slice/me\n');
    const facts = await detectCgroups({ procSelf: proc });
    assert.equal(facts.layout, 'v2');
    assert.equal(facts.ownCgroupDir, own);
    assert.equal(facts.writable, true);
    assert.deepEqual(facts.controllers, ['cpu', 'memory', 'pids']);
    assert.deepEqual(facts.missingControllers, ['io', 'cpuset']);
  });

  it('reports no own cgroup when the process has no v2 line', async () => {
    const proc = join(dir, 'proc-v1');
    mkdirSync(proc);
    writeFileSync(join(proc, 'mountinfo'), V1_ONLY);
    writeFileSync(join(proc, 'cgroup'), '1:cpu,cpuacct:/\n');
    const facts = await detectCgroups({ procSelf: proc });
    assert.equal(facts.layout, 'v1');
    assert.equal(facts.ownCgroupDir, undefined);
    assert.equal(facts.writable, false);
    assert.deepEqual(facts.missingControllers, ['cpu', 'memory', 'pids', 'io', 'cpuset']);
  });
});
