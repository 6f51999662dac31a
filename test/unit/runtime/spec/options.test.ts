import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  checkNamespaceModes,
  parseBytes,
  parseLabels,
  parseNetworkMode,
  parseSignal,
  parseSysctl,
  parseUlimit,
} from '../../../../src/engine/runtime/spec/options.ts';
import { RLIM_INFINITY, type Rlimit } from '../../../../src/engine/runtime/spec/types.ts';

describe('parseUlimit', () => {
  const cases: [string, Rlimit | RegExp][] = [
    ['nofile=1024', { type: 'RLIMIT_NOFILE', soft: 1024, hard: 1024 }],
    ['nofile=1024:2048', { type: 'RLIMIT_NOFILE', soft: 1024, hard: 2048 }],
    ['nproc=-1', { type: 'RLIMIT_NPROC', soft: RLIM_INFINITY, hard: RLIM_INFINITY }],
    ['core=0:-1', { type: 'RLIMIT_CORE', soft: 0, hard: RLIM_INFINITY }],
    ['memlock=65536:65536', { type: 'RLIMIT_MEMLOCK', soft: 65536, hard: 65536 }],
    ['as=1', { type: 'RLIMIT_AS', soft: 1, hard: 1 }],
    ['rtprio=99', { type: 'RLIMIT_RTPRIO', soft: 99, hard: 99 }],
    ['nofile=2048:1024', /the soft limit must not exceed the hard limit/],
    ['nofile=-1:1024', /the soft limit must not exceed the hard limit/],
    ['nofile', /expected NAME=SOFT\[:HARD\]/],
    ['files=10', /unknown limit "files"/],
    ['NOFILE=10', /unknown limit "NOFILE"/],
    ['nofile=ten', /"ten" is not a number/],
    ['nofile=-5', /"-5" is not a number/],
    ['nofile=1:2:3', /at most two values/],
  ];
  for (const [text, expected] of cases) {
    it(text, () => {
      if (expected instanceof RegExp) assert.throws(() => parseUlimit(text), expected);
      else assert.deepEqual(parseUlimit(text), expected);
    });
  }
});

describe('parseSysctl', () => {
  const cases: [string, boolean, [string, string] | RegExp][] = [
    ['net.ipv4.ip_forward=1', true, ['net.ipv4.ip_forward', '1']],
    ['net.core.somaxconn=1024', true, ['net.core.somaxconn', '1024']],
    ['net.ipv4.ip_forward=1', false, /would change the host's network namespace/],
    ['kernel.shmmax=68719476736', false, ['kernel.shmmax', '68719476736']],
    ['kernel.shm_rmid_forced=1', true, ['kernel.shm_rmid_forced', '1']],
    ['kernel.msgmnb=65536', true, ['kernel.msgmnb', '65536']],
    ['kernel.sem=250 32000 100 128', true, ['kernel.sem', '250 32000 100 128']],
    ['fs.mqueue.msg_max=100', true, ['fs.mqueue.msg_max', '100']],
    ['kernel.domainname=example.com', true, /kernel\.domainname is not namespaced/],
    ['vm.swappiness=10', true, /vm\.swappiness is not namespaced/],
    ['kernel.shm_next_id=1', true, /is not namespaced/],
    ['fs.file-max=1', true, /is not namespaced/],
    ['net.ipv4.ip_forward', true, /expected KEY=VALUE/],
    ['=1', true, /expected KEY=VALUE/],
  ];
  for (const [text, newNetwork, expected] of cases) {
    it(`${text}${newNetwork ? '' : ' (--network host)'}`, () => {
      if (expected instanceof RegExp) assert.throws(() => parseSysctl(text, newNetwork), expected);
      else assert.deepEqual(parseSysctl(text, newNetwork), expected);
    });
  }
});

describe('parseBytes', () => {
  const cases: [string, number | RegExp][] = [
    ['1024', 1024],
    ['64m', 64 * 1024 * 1024],
    ['64M', 64 * 1024 * 1024],
    ['1g', 1024 ** 3],
    ['1.5g', 1.5 * 1024 ** 3],
    ['512MiB', 512 * 1024 ** 2],
    ['2kb', 2048],
    ['10 m', 10 * 1024 ** 2],
    ['-1m', /expected a size/],
    ['lots', /expected a size/],
    ['1x', /expected a size/],
  ];
  for (const [text, expected] of cases) {
    it(text, () => {
      if (expected instanceof RegExp) assert.throws(() => parseBytes('--shm-size', text), expected);
      else assert.equal(parseBytes('--shm-size', text), expected);
    });
  }
});

describe('parseSignal', () => {
  const cases: [string, string | RegExp][] = [
    ['SIGTERM', 'SIGTERM'],
    ['TERM', 'SIGTERM'],
    ['sigquit', 'SIGQUIT'],
    ['9', 'SIGKILL'],
    ['15', 'SIGTERM'],
    ['SIGRTMIN+3', 'SIGRTMIN+3'],
    ['RTMAX', 'SIGRTMAX'],
    ['40', '40'],
    ['IOT', 'SIGABRT'],
    ['0', /signal numbers are 1-64/],
    ['65', /signal numbers are 1-64/],
    ['SIGFOO', /unknown signal/],
    ['RTMIN+31', /unknown signal/],
  ];
  for (const [text, expected] of cases) {
    it(text, () => {
      if (expected instanceof RegExp) assert.throws(() => parseSignal('--stop-signal', text), expected);
      else assert.equal(parseSignal('--stop-signal', text), expected);
    });
  }
});

describe('labels, network and namespace modes', () => {
  it('labels: KEY=VALUE and bare KEY, later wins', () => {
    assert.deepEqual(parseLabels(['a=1', 'b', 'a=2', 'c=x=y']), { a: '2', b: '', c: 'x=y' });
    assert.throws(() => parseLabels(['=x']), /invalid --label "=x"/);
  });
  it('network modes', () => {
    assert.equal(parseNetworkMode(undefined), 'pasta');
    for (const mode of ['none', 'host', 'pasta', 'slirp4netns']) assert.equal(parseNetworkMode(mode), mode);
    assert.throws(() => parseNetworkMode('bridge'), /--network bridge is not supported/);
    assert.throws(() => parseNetworkMode('container:web'), /--network container:web is not supported/);
  });
  const refused: [string, Record<string, string>][] = [
    ['--pid host', { pid: 'host' }],
    ['--pid container:x', { pid: 'container:x' }],
    ['--ipc host', { ipc: 'host' }],
    ['--uts host', { uts: 'host' }],
    ['--cgroupns host', { cgroupns: 'host' }],
  ];
  for (const [name, options] of refused) {
    it(`${name} is refused`, () => assert.throws(() => checkNamespaceModes(options), (e: Error & { code?: string }) => e.code === 'unsupported' && e.message.startsWith(name)));
  }
  it('private modes and --ipc none are accepted', () => {
    assert.deepEqual(checkNamespaceModes({ pid: 'private', ipc: 'shareable', uts: 'private', cgroupns: 'private' }), { ipcNone: false });
    assert.deepEqual(checkNamespaceModes({ ipc: 'none' }), { ipcNone: true });
  });
});
