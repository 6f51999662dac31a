import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import type { ImageConfig } from '../../../../src/engine/images/config.ts';
import { buildSpec, requiredVolumes, STOP_SIGNAL_ANNOTATION, type BuildSpecInput } from '../../../../src/engine/runtime/spec/build.ts';
import { ALL_CAPABILITIES, DEFAULT_CAPABILITIES, DEFAULT_MASKED_PATHS, DEFAULT_READONLY_PATHS, INIT_PATH } from '../../../../src/engine/runtime/spec/defaults.ts';
import { specToJson } from '../../../../src/engine/runtime/spec/json.ts';
import type { RunSpecOptions } from '../../../../src/engine/runtime/spec/options.ts';
import { RLIM_INFINITY, type Mount, type Spec } from '../../../../src/engine/runtime/spec/types.ts';

const fixtures = join(import.meta.dirname, 'fixtures');
const passwd = readFileSync(join(fixtures, 'busybox-passwd'), 'utf8');
const group = readFileSync(join(fixtures, 'busybox-group'), 'utf8');

const ID = '4b825dc642cb6eb9a060e54bf8d69288fbee4904a1b2c3d4e5f60718293a4b5c';
const SUBORDINATE = {
  uid: [{ inside: 0, outside: 1000, count: 1 }, { inside: 1, outside: 100000, count: 65536 }],
  gid: [{ inside: 0, outside: 1000, count: 1 }, { inside: 1, outside: 100000, count: 65536 }],
};
const SINGLE = { uid: [{ inside: 0, outside: 1000, count: 1 }], gid: [{ inside: 0, outside: 1000, count: 1 }] };

function image(config: ImageConfig['config'] = {}): ImageConfig {
  return { architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [] }, config: { Cmd: ['sh'], ...config } };
}

function rootless(options: RunSpecOptions = {}, extra: Partial<BuildSpecInput> = {}): BuildSpecInput {
  return { id: ID, image: image(), rootfs: '/rootfs', idMaps: SUBORDINATE, rootless: true, options, passwd, group, hostEnv: {}, ...extra };
}

function rootful(options: RunSpecOptions = {}, extra: Partial<BuildSpecInput> = {}): BuildSpecInput {
  return rootless(options, { idMaps: undefined, rootless: false, ...extra });
}

const build = (input: BuildSpecInput): Spec => buildSpec(input).spec;
const mount = (spec: Spec, destination: string): Mount | undefined => spec.mounts.find((m) => m.destination === destination);
const destinations = (spec: Spec): string[] => spec.mounts.map((m) => m.destination);
const DEVICES = ['/dev/null', '/dev/zero', '/dev/full', '/dev/random', '/dev/urandom', '/dev/tty'];

describe('rootless and rootful', () => {
  it('rootless: a user namespace with the maps', () => {
    const spec = build(rootless());
    assert.deepEqual(spec.linux.namespaces.map((n) => n.type), ['user', 'mount', 'pid', 'ipc', 'uts', 'cgroup', 'network']);
    assert.deepEqual(spec.linux.uidMappings, [{ containerID: 0, hostID: 1000, size: 1 }, { containerID: 1, hostID: 100000, size: 65536 }]);
    assert.deepEqual(spec.linux.gidMappings, spec.linux.uidMappings);
  });
  it('rootful: no user namespace, no maps', () => {
    const spec = build(rootful());
    assert.deepEqual(spec.linux.namespaces.map((n) => n.type), ['mount', 'pid', 'ipc', 'uts', 'cgroup', 'network']);
    assert.equal(spec.linux.uidMappings, undefined);
  });
  it('rootless: device nodes are bind mounts from the host', () => {
    const spec = build(rootless());
    assert.deepEqual(spec.linux.devices, []);
    for (const path of DEVICES) assert.deepEqual(mount(spec, path), { destination: path, type: 'bind', source: path, options: ['bind', 'rprivate', 'nosuid', 'noexec', 'rw'] });
  });
  it('rootful: device nodes are created', () => {
    const spec = build(rootful());
    assert.deepEqual(spec.linux.devices.map((d) => [d.path, d.major, d.minor, d.fileMode]), DEVICES.map((p, i) => [p, i === 5 ? 5 : 1, [3, 5, 7, 8, 9, 0][i], 0o666]));
    assert.ok(!spec.mounts.some((m) => DEVICES.includes(m.destination)));
  });
  it('rootless with a new network namespace mounts sysfs', () => {
    assert.deepEqual(mount(build(rootless()), '/sys'), { destination: '/sys', type: 'sysfs', source: 'sysfs', options: ['nosuid', 'noexec', 'nodev', 'ro'] });
  });
  it('rootless with --network host binds the host /sys read-only and masks /sys/kernel', () => {
    const spec = build(rootless({ network: 'host' }));
    assert.deepEqual(mount(spec, '/sys'), { destination: '/sys', type: 'bind', source: '/sys', options: ['rbind', 'rprivate', 'nosuid', 'noexec', 'nodev', 'ro'] });
    assert.ok(spec.linux.maskedPaths.includes('/sys/kernel'));
    assert.ok(!spec.linux.namespaces.some((n) => n.type === 'network'));
  });
  it('rootful with --network host still mounts sysfs', () => {
    const spec = build(rootful({ network: 'host' }));
    assert.equal(mount(spec, '/sys')?.type, 'sysfs');
    assert.ok(!spec.linux.maskedPaths.includes('/sys/kernel'));
  });
  it('cgroup2 is mounted read-only from the container\'s cgroup namespace', () => {
    assert.deepEqual(mount(build(rootless()), '/sys/fs/cgroup'), { destination: '/sys/fs/cgroup', type: 'cgroup2', source: 'cgroup2', options: ['nosuid', 'noexec', 'nodev', 'ro'] });
  });
  it('devpts gets gid=5 when gid 5 is mapped', () => {
    assert.ok(mount(build(rootless()), '/dev/pts')?.options.includes('gid=5'));
    assert.ok(mount(build(rootful()), '/dev/pts')?.options.includes('gid=5'));
  });
  it('devpts has no gid=5 with a single-id map', () => {
    assert.ok(!mount(build(rootless({}, { idMaps: SINGLE })), '/dev/pts')?.options.some((o) => o.startsWith('gid=')));
  });
  it('single-id map: unmapped supplementary groups are left out with a note', () => {
    const { spec, notes } = buildSpec(rootless({}, { idMaps: SINGLE }));
    assert.deepEqual(spec.process.user.additionalGids, [0]);
    assert.deepEqual(notes, ["supplementary groups 10 are not mapped in the container's user namespace and are left out"]);
  });
  it('single-id map: an unmapped user is refused', () => {
    assert.throws(() => build(rootless({ user: 'www-data' }, { idMaps: SINGLE })), /uid 33 is not mapped in the container's user namespace/);
    assert.throws(() => build(rootless({ user: '0:33' }, { idMaps: SINGLE })), /gid 33 is not mapped/);
  });
  it('rootful sets ping_group_range, rootless does not', () => {
    assert.deepEqual(build(rootful()).linux.sysctl, { 'net.ipv4.ip_unprivileged_port_start': '0', 'net.ipv4.ping_group_range': '0 2147483647' });
    assert.deepEqual(build(rootless()).linux.sysctl, { 'net.ipv4.ip_unprivileged_port_start': '0' });
    assert.deepEqual(build(rootless({ network: 'host' })).linux.sysctl, {});
  });
  it('rlimits: 1048576 as root, the caller\'s hard limit rootless', () => {
    assert.deepEqual(build(rootful({}, { hostNofile: 4096 })).process.rlimits, [{ type: 'RLIMIT_NOFILE', soft: 1048576, hard: 1048576 }]);
    assert.deepEqual(build(rootless({}, { hostNofile: 524288 })).process.rlimits, [{ type: 'RLIMIT_NOFILE', soft: 524288, hard: 524288 }]);
    assert.deepEqual(build(rootless({}, { hostNofile: 2 ** 21 })).process.rlimits, [{ type: 'RLIMIT_NOFILE', soft: 1048576, hard: 1048576 }]);
  });
  it('a rootless container without maps or a malformed id is a caller bug', () => {
    assert.throws(() => build(rootless({}, { idMaps: undefined })), (e: Error & { code?: string }) => e.code === 'internal');
    assert.throws(() => build(rootless({}, { id: 'abc' })), (e: Error & { code?: string }) => e.code === 'internal');
  });
});

describe('process', () => {
  it('hostname: the first 12 digits of the id, in HOSTNAME too', () => {
    const spec = build(rootless());
    assert.equal(spec.hostname, ID.slice(0, 12));
    assert.ok(spec.process.env.includes(`HOSTNAME=${ID.slice(0, 12)}`));
  });
  it('--hostname', () => assert.equal(build(rootless({ hostname: 'web-1.example' })).hostname, 'web-1.example'));
  it('an invalid --hostname is refused', () => {
    assert.throws(() => build(rootless({ hostname: 'bad_name' })), /invalid --hostname "bad_name"/);
    assert.throws(() => build(rootless({ hostname: 'a'.repeat(65) })), /invalid --hostname/);
  });
  it('HOME comes from the user\'s passwd entry', () => {
    assert.ok(build(rootless()).process.env.includes('HOME=/root'));
    assert.ok(build(rootless({ user: 'www-data' })).process.env.includes('HOME=/var/www'));
    assert.ok(build(rootless({ user: '4242' })).process.env.includes('HOME=/'));
  });
  it("the image's USER is used unless --user", () => {
    assert.equal(build(rootless({}, { image: image({ User: 'nobody' }) })).process.user.uid, 65534);
    assert.equal(build(rootless({ user: 'root' }, { image: image({ User: 'nobody' }) })).process.user.uid, 0);
  });
  it('--init runs the init binary first and binds it read-only', () => {
    const spec = build(rootless({ init: true, command: ['sleep', '1'] }, { initPath: '/usr/libexec/catatonit' }));
    assert.deepEqual(spec.process.args, [INIT_PATH, '--', 'sleep', '1']);
    assert.deepEqual(spec.mounts.at(-1), { destination: INIT_PATH, type: 'bind', source: '/usr/libexec/catatonit', options: ['bind', 'rprivate', 'ro'] });
  });
  it('--init without an init binary is refused', () => {
    assert.throws(() => build(rootless({ init: true })), (e: Error & { code?: string }) => e.code === 'unsupported' && /--init needs an init binary/.test(e.message));
  });
  it('--ulimit replaces the default and adds others', () => {
    const spec = build(rootful({ ulimits: ['nofile=1024:2048', 'nproc=-1'] }));
    assert.deepEqual(spec.process.rlimits, [
      { type: 'RLIMIT_NOFILE', soft: 1024, hard: 2048 },
      { type: 'RLIMIT_NPROC', soft: RLIM_INFINITY, hard: RLIM_INFINITY },
    ]);
  });
  it('rootless --ulimit nofile above the caller\'s hard limit is refused', () => {
    assert.throws(() => build(rootless({ ulimits: ['nofile=4096'] }, { hostNofile: 1024 })), /cannot raise nofile above your own hard limit 1024/);
  });
  it('--oom-score-adj in range is kept, out of range refused', () => {
    assert.equal(build(rootless({ oomScoreAdj: 500 })).process.oomScoreAdj, 500);
    assert.equal(build(rootless()).process.oomScoreAdj, undefined);
    assert.throws(() => build(rootless({ oomScoreAdj: 1001 })), /invalid --oom-score-adj "1001"/);
  });
  it('-t sets terminal and TERM', () => {
    const spec = build(rootless({ tty: true }));
    assert.equal(spec.process.terminal, true);
    assert.ok(spec.process.env.includes('TERM=xterm'));
  });
});

describe('capabilities and security options in the spec', () => {
  it('the same set is bounding, effective and permitted; inheritable and ambient are empty', () => {
    const caps = build(rootless({ capAdd: ['NET_ADMIN'] })).process.capabilities;
    assert.deepEqual(caps.bounding, [...DEFAULT_CAPABILITIES, 'CAP_NET_ADMIN']);
    assert.deepEqual(caps.effective, caps.bounding);
    assert.deepEqual(caps.permitted, caps.bounding);
    assert.deepEqual(caps.inheritable, []);
    assert.deepEqual(caps.ambient, []);
  });
  it('seccomp: the default profile unless unconfined', () => {
    assert.deepEqual(build(rootless()).linux.seccomp, { profile: 'default' });
    assert.equal(build(rootless({ securityOpt: ['seccomp=unconfined'] })).linux.seccomp, undefined);
  });
  it('no-new-privileges', () => {
    assert.equal(build(rootless()).process.noNewPrivileges, false);
    assert.equal(build(rootless({ securityOpt: ['no-new-privileges'] })).process.noNewPrivileges, true);
  });
  it("docker's masked and read-only paths, with the host's extras", () => {
    const spec = build(rootless({}, { hostMaskedPaths: ['/sys/devices/system/cpu/cpu0/thermal_throttle'] }));
    assert.deepEqual(spec.linux.maskedPaths, [...DEFAULT_MASKED_PATHS, '/sys/devices/system/cpu/cpu0/thermal_throttle']);
    assert.deepEqual(spec.linux.readonlyPaths, DEFAULT_READONLY_PATHS);
    assert.ok(DEFAULT_MASKED_PATHS.includes('/proc/interrupts') && DEFAULT_MASKED_PATHS.includes('/sys/devices/virtual/powercap'));
  });
  it('unmask=PATH removes one path, from both lists', () => {
    const spec = build(rootless({ securityOpt: ['unmask=/proc/kcore:/proc/sys'] }));
    assert.ok(!spec.linux.maskedPaths.includes('/proc/kcore'));
    assert.ok(!spec.linux.readonlyPaths.includes('/proc/sys'));
    assert.equal(spec.linux.maskedPaths.length, DEFAULT_MASKED_PATHS.length - 1);
  });
  it('unmask=ALL clears both lists and makes cgroup writable', () => {
    const spec = build(rootless({ securityOpt: ['unmask=ALL'] }));
    assert.deepEqual([spec.linux.maskedPaths, spec.linux.readonlyPaths], [[], []]);
    assert.ok(mount(spec, '/sys/fs/cgroup')?.options.includes('rw'));
  });
  it('unmask=/sys/fs/cgroup makes cgroup writable', () => {
    assert.ok(mount(build(rootless({ securityOpt: ['unmask=/sys/fs/cgroup'] })), '/sys/fs/cgroup')?.options.includes('rw'));
  });
  it('mask=PATH adds paths', () => {
    const spec = build(rootless({ securityOpt: ['mask=/proc/cpuinfo:/proc/acpi'] }));
    assert.deepEqual(spec.linux.maskedPaths, [...DEFAULT_MASKED_PATHS, '/proc/cpuinfo']);
  });
  it('--privileged: no masks, /sys and cgroup writable, unconfined, all capabilities, a note', () => {
    const { spec, notes } = buildSpec(rootless({ privileged: true }, { lastCap: 40 }));
    assert.deepEqual([spec.linux.maskedPaths, spec.linux.readonlyPaths], [[], []]);
    assert.ok(mount(spec, '/sys')?.options.includes('rw'));
    assert.ok(mount(spec, '/sys/fs/cgroup')?.options.includes('rw'));
    assert.equal(spec.linux.seccomp, undefined);
    assert.deepEqual(spec.process.capabilities.bounding, ALL_CAPABILITIES);
    assert.deepEqual(notes, ["--privileged does not pass the host's devices into the container"]);
  });
  it('notes collect ignored labels and relabels', () => {
    const { notes } = buildSpec(rootless({ securityOpt: ['label=level:s0:c100,c200'], volumes: ['/srv:/srv:Z'] }));
    assert.deepEqual(notes, [
      '--security-opt label=level:s0:c100,c200 is ignored: tsc does not apply SELinux labels',
      'the :Z of -v /srv:/srv:Z is ignored: tsc does not relabel files (no SELinux)',
    ]);
  });
});

describe('mounts in the spec', () => {
  it('default mounts in order', () => {
    assert.deepEqual(destinations(build(rootful())), ['/proc', '/dev', '/dev/pts', '/sys', '/sys/fs/cgroup', '/dev/mqueue', '/dev/shm']);
  });
  it('/dev/shm is 64m by default, --shm-size changes it, 0 keeps the default', () => {
    assert.ok(mount(build(rootless()), '/dev/shm')?.options.includes('size=67108864'));
    assert.ok(mount(build(rootless({ shmSize: '128m' })), '/dev/shm')?.options.includes('size=134217728'));
    assert.ok(mount(build(rootless({ shmSize: '0' })), '/dev/shm')?.options.includes('size=67108864'));
  });
  it('--ipc none has no /dev/shm', () => assert.equal(mount(build(rootless({ ipc: 'none' })), '/dev/shm'), undefined));
  it('--read-only: the root and /sys are read-only, /dev, /proc, /dev/pts, /dev/shm, /dev/mqueue stay writable', () => {
    const spec = build(rootless({ readOnly: true, volumes: ['/srv:/srv'] }, { networkFiles: { hosts: '/run/h', hostname: '/run/n', resolvConf: '/run/r' } }));
    assert.equal(spec.root.readonly, true);
    for (const path of ['/proc', '/dev', '/dev/pts', '/dev/shm', '/dev/mqueue', ...DEVICES]) assert.ok(!mount(spec, path)?.options.includes('ro'), path);
    for (const path of ['/sys', '/sys/fs/cgroup', '/etc/hosts', '/etc/hostname', '/etc/resolv.conf']) assert.ok(mount(spec, path)?.options.includes('ro'), path);
    assert.ok(!mount(spec, '/srv')?.options.includes('ro'));
  });
  it('--read-only with --privileged keeps /sys and cgroup writable, as docker', () => {
    const spec = build(rootless({ readOnly: true, privileged: true }));
    for (const path of ['/sys', '/sys/fs/cgroup']) assert.deepEqual(mount(spec, path)?.options, ['nosuid', 'noexec', 'nodev', 'rw'], path);
  });
  it('network files are bound unless a user mount covers them', () => {
    const files = { hosts: '/run/tsc/c/hosts', hostname: '/run/tsc/c/hostname', resolvConf: '/run/tsc/c/resolv.conf' };
    const spec = build(rootless({ network: 'none', volumes: ['/etc/myhosts:/etc/hosts:ro'] }, { networkFiles: files }));
    assert.deepEqual(mount(spec, '/etc/resolv.conf'), { destination: '/etc/resolv.conf', type: 'bind', source: files.resolvConf, options: ['rbind', 'rprivate'] });
    assert.equal(mount(spec, '/etc/hosts')?.source, '/etc/myhosts');
    assert.equal(spec.mounts.filter((m) => m.destination === '/etc/hosts').length, 1);
    assert.ok(spec.linux.namespaces.some((n) => n.type === 'network'));
  });
  it('a user mount replaces the default at the same path', () => {
    const spec = build(rootless({ tmpfs: ['/dev/shm:size=1g'] }));
    assert.deepEqual(spec.mounts.filter((m) => m.destination === '/dev/shm').map((m) => m.options), [['noexec', 'nosuid', 'nodev', 'size=1g']]);
  });
  it('a user /dev replaces every default under /dev', () => {
    const spec = build(rootless({ volumes: ['/dev:/dev'] }));
    assert.deepEqual(destinations(spec), ['/proc', '/sys', '/sys/fs/cgroup', '/dev']);
  });
  it('user mounts are sorted parents first', () => {
    const spec = build(rootless({ volumes: ['/b:/data/sub/deeper', '/a:/data'], tmpfs: ['/data/sub'] }));
    assert.deepEqual(destinations(spec).slice(-3), ['/data', '/data/sub', '/data/sub/deeper']);
  });
  it("the image's VOLUMEs become anonymous volumes unless a mount covers them", () => {
    const img = image({ Volumes: { '/var/lib/db': {}, '/cache': {} } });
    const options: RunSpecOptions = { volumes: ['named:/cache'] };
    assert.deepEqual(requiredVolumes(img, options), [{ name: 'named', destination: '/cache', nocopy: false }, { destination: '/var/lib/db', nocopy: false }]);
    const spec = build(rootless(options, { image: img, volumeSources: { named: '/vol/named', '/var/lib/db': '/vol/anon1' } }));
    assert.equal(mount(spec, '/cache')?.source, '/vol/named');
    assert.equal(mount(spec, '/var/lib/db')?.source, '/vol/anon1');
  });
  it('a volume the caller did not resolve is an internal error', () => {
    assert.throws(() => build(rootless({ volumes: ['named:/data'] })), (e: Error & { code?: string }) => e.code === 'internal');
  });
  it('shared propagation makes the root shared, slave makes it rslave', () => {
    assert.equal(build(rootless({ volumes: ['/srv:/srv:rshared'] })).linux.rootfsPropagation, 'shared');
    assert.equal(build(rootless({ volumes: ['/srv:/srv:slave'] })).linux.rootfsPropagation, 'rslave');
    assert.equal(build(rootless({ volumes: ['/srv:/srv'] })).linux.rootfsPropagation, undefined);
  });
  it('read-only binds are rro when the kernel has mount_setattr', () => {
    assert.deepEqual(mount(build(rootless({ volumes: ['/srv:/srv:ro'] }, { recursiveReadOnly: true })), '/srv')?.options, ['rbind', 'rro', 'rprivate']);
  });
  it('--sysctl is applied over the defaults', () => {
    const spec = build(rootless({ sysctls: ['net.ipv4.ip_unprivileged_port_start=1024', 'kernel.shmmax=1'] }));
    assert.deepEqual(spec.linux.sysctl, { 'net.ipv4.ip_unprivileged_port_start': '1024', 'kernel.shmmax': '1' });
  });
  it('--sysctl net.* with --network host is refused', () => {
    assert.throws(() => build(rootless({ network: 'host', sysctls: ['net.ipv4.ip_forward=1'] })), /would change the host's network namespace/);
  });
});

describe('annotations and the rest', () => {
  it('labels from the image and --label, --label wins', () => {
    const spec = build(rootless({ labels: ['a=flag', 'c'] }, { image: image({ Labels: { a: 'image', b: 'image' } }) }));
    assert.deepEqual(spec.annotations, { a: 'flag', b: 'image', c: '', [STOP_SIGNAL_ANNOTATION]: 'SIGTERM' });
  });
  it('stop signal: SIGTERM, the image\'s, then --stop-signal', () => {
    assert.equal(build(rootless()).annotations[STOP_SIGNAL_ANNOTATION], 'SIGTERM');
    assert.equal(build(rootless({}, { image: image({ StopSignal: 'SIGQUIT' }) })).annotations[STOP_SIGNAL_ANNOTATION], 'SIGQUIT');
    assert.equal(build(rootless({ stopSignal: '9' }, { image: image({ StopSignal: 'SIGQUIT' }) })).annotations[STOP_SIGNAL_ANNOTATION], 'SIGKILL');
    assert.throws(() => build(rootless({}, { image: image({ StopSignal: 'SIGNOPE' }) })), /invalid STOPSIGNAL "SIGNOPE"/);
  });
  it('cgroupsPath passes through', () => {
    assert.equal(build(rootless({}, { cgroupsPath: '/user.slice/tsc-x.scope' })).linux.cgroupsPath, '/user.slice/tsc-x.scope');
  });
  it('config.json writes RLIM_INFINITY exactly and reads it back', () => {
    const spec = build(rootful({ ulimits: ['core=-1'] }));
    const text = specToJson(spec);
    assert.match(text, /"soft": 18446744073709551615/);
    assert.deepEqual(JSON.parse(text), spec);
  });
});
