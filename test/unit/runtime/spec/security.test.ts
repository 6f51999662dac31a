import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ALL_CAPABILITIES, DEFAULT_CAPABILITIES } from '../../../../src/engine/runtime/spec/defaults.ts';
import { parseSecurityOpts, resolveCapabilities, stillMasked, type CapabilityRequest, type SecurityOptions } from '../../../../src/engine/runtime/spec/security.ts';

describe('capability lists', () => {
  it('has docker\'s 14 defaults, all of them known', () => {
    assert.equal(DEFAULT_CAPABILITIES.length, 14);
    for (const cap of DEFAULT_CAPABILITIES) assert.ok(ALL_CAPABILITIES.includes(cap), cap);
  });
  it('knows every capability up to CAP_CHECKPOINT_RESTORE (40)', () => {
    assert.equal(ALL_CAPABILITIES.length, 41);
    assert.equal(ALL_CAPABILITIES.indexOf('CAP_PERFMON'), 38);
    assert.equal(ALL_CAPABILITIES.indexOf('CAP_BPF'), 39);
    assert.equal(ALL_CAPABILITIES.indexOf('CAP_CHECKPOINT_RESTORE'), 40);
  });
});

describe('resolveCapabilities', () => {
  const without = (...caps: string[]): string[] => DEFAULT_CAPABILITIES.filter((c) => !caps.includes(c));
  const cases: [string, CapabilityRequest, string[] | RegExp][] = [
    ['defaults', {}, [...DEFAULT_CAPABILITIES]],
    ['--cap-add NET_ADMIN', { capAdd: ['NET_ADMIN'] }, [...DEFAULT_CAPABILITIES, 'CAP_NET_ADMIN']],
    ['case-insensitive, CAP_ optional', { capAdd: ['cap_net_admin', 'Sys_Time'] }, [...DEFAULT_CAPABILITIES, 'CAP_NET_ADMIN', 'CAP_SYS_TIME']],
    ['added capabilities are sorted', { capAdd: ['SYS_TIME', 'NET_ADMIN'] }, [...DEFAULT_CAPABILITIES, 'CAP_NET_ADMIN', 'CAP_SYS_TIME']],
    ['adding a default does not repeat it', { capAdd: ['CHOWN'] }, [...DEFAULT_CAPABILITIES]],
    ['--cap-drop CHOWN', { capDrop: ['chown'] }, without('CAP_CHOWN')],
    ['--cap-drop two', { capDrop: ['NET_RAW', 'CAP_MKNOD'] }, without('CAP_NET_RAW', 'CAP_MKNOD')],
    ['--cap-drop ALL', { capDrop: ['ALL'] }, []],
    ['--cap-drop all (lower case)', { capDrop: ['all'] }, []],
    ['--cap-drop ALL --cap-add NET_BIND_SERVICE', { capDrop: ['ALL'], capAdd: ['NET_BIND_SERVICE'] }, ['CAP_NET_BIND_SERVICE']],
    ['--cap-add ALL', { capAdd: ['ALL'] }, [...ALL_CAPABILITIES]],
    ['--cap-add ALL --cap-drop SYS_ADMIN', { capAdd: ['ALL'], capDrop: ['SYS_ADMIN'] }, ALL_CAPABILITIES.filter((c) => c !== 'CAP_SYS_ADMIN')],
    ['--cap-add ALL --cap-drop ALL: add wins', { capAdd: ['ALL'], capDrop: ['ALL'] }, [...ALL_CAPABILITIES]],
    ['added and dropped: add wins', { capAdd: ['CHOWN'], capDrop: ['CHOWN'] }, [...DEFAULT_CAPABILITIES]],
    ['--privileged gives all', { privileged: true, capDrop: ['CHOWN'] }, [...ALL_CAPABILITIES]],
    ['ALL stops at cap_last_cap', { capAdd: ['ALL'], lastCap: 37 }, ALL_CAPABILITIES.slice(0, 38)],
    ['--privileged stops at cap_last_cap', { privileged: true, lastCap: 40 }, [...ALL_CAPABILITIES]],
    ['unknown capability', { capAdd: ['FOO'] }, /invalid --cap-add "FOO": unknown capability CAP_FOO/],
    ['unknown capability to drop', { capDrop: ['CAP_NOPE'] }, /invalid --cap-drop "CAP_NOPE"/],
    ['capability this kernel lacks', { capAdd: ['BPF'], lastCap: 37 }, /--cap-add BPF: this kernel does not have CAP_BPF/],
  ];
  for (const [name, request, expected] of cases) {
    it(name, () => {
      if (expected instanceof RegExp) assert.throws(() => resolveCapabilities(request), expected);
      else assert.deepEqual(resolveCapabilities(request), expected);
    });
  }
});

describe('parseSecurityOpts', () => {
  const base: SecurityOptions = { noNewPrivileges: false, seccomp: { profile: 'default' }, unmaskAll: false, unmask: [], mask: [], notes: [] };
  const cases: [string, string[], boolean, Partial<SecurityOptions> | RegExp][] = [
    ['nothing', [], false, {}],
    ['no-new-privileges', ['no-new-privileges'], false, { noNewPrivileges: true }],
    ['no-new-privileges=true', ['no-new-privileges=true'], false, { noNewPrivileges: true }],
    ['no-new-privileges:true (docker\'s old form)', ['no-new-privileges:true'], false, { noNewPrivileges: true }],
    ['no-new-privileges=false', ['no-new-privileges', 'no-new-privileges=false'], false, { noNewPrivileges: false }],
    ['no-new-privileges=maybe', ['no-new-privileges=maybe'], false, /no-new-privileges takes true or false/],
    ['seccomp=unconfined', ['seccomp=unconfined'], false, { seccomp: undefined }],
    ['seccomp=PATH', ['seccomp=/etc/tsc/seccomp.json'], false, { seccomp: { profile: 'file', path: '/etc/tsc/seccomp.json' } }],
    ['seccomp with a relative path', ['seccomp=profile.json'], false, /seccomp takes unconfined or the absolute path/],
    ['--privileged is unconfined', ['seccomp=/p.json'], true, { seccomp: undefined }],
    ['label=disable is a silent no-op', ['label=disable'], false, {}],
    ['label=type:... is noted', ['label=type:container_t'], false, { notes: ['--security-opt label=type:container_t is ignored: tsc does not apply SELinux labels'] }],
    ['label=bogus', ['label=bogus'], false, /label takes disable/],
    ['apparmor=unconfined is silent', ['apparmor=unconfined'], false, {}],
    ['apparmor=profile is noted', ['apparmor=docker-default'], false, { notes: ['--security-opt apparmor=docker-default is ignored: tsc does not apply AppArmor profiles'] }],
    ['unmask=ALL', ['unmask=ALL'], false, { unmaskAll: true }],
    ['unmask=a:b', ['unmask=/proc/kcore:/proc/keys'], false, { unmask: ['/proc/kcore', '/proc/keys'] }],
    ['unmask of a relative path', ['unmask=proc/kcore'], false, /unmask takes ALL or absolute paths/],
    ['mask=a:b', ['mask=/proc/cpuinfo:/sys/kernel'], false, { mask: ['/proc/cpuinfo', '/sys/kernel'] }],
    ['mask of a relative path', ['mask=cpuinfo'], false, /mask takes absolute paths/],
    ['systempaths=unconfined', ['systempaths=unconfined'], false, { unmaskAll: true }],
    ['unknown option', ['selinux=off'], false, /unknown option "selinux"/],
    ['no value', ['seccomp'], false, /expected KEY=VALUE/],
  ];
  for (const [name, opts, privileged, expected] of cases) {
    it(name, () => {
      if (expected instanceof RegExp) assert.throws(() => parseSecurityOpts(opts, privileged), expected);
      else assert.deepEqual(parseSecurityOpts(opts, privileged), { ...base, ...expected });
    });
  }
});

describe('stillMasked', () => {
  const cases: [string, string[], boolean, string, boolean][] = [
    ['no unmask', [], false, '/proc/kcore', true],
    ['unmask ALL', [], true, '/proc/kcore', false],
    ['exact path', ['/proc/kcore'], false, '/proc/kcore', false],
    ['other path', ['/proc/keys'], false, '/proc/kcore', true],
    ['glob *', ['/proc/*'], false, '/proc/timer_list', false],
    ['* does not cross /', ['/sys/*'], false, '/sys/devices/virtual/powercap', true],
    ['? matches one character', ['/proc/k?ys'], false, '/proc/keys', false],
    ['character class', ['/proc/[kt]*'], false, '/proc/timer_stats', false],
  ];
  for (const [name, unmask, unmaskAll, path, expected] of cases) {
    it(name, () => assert.equal(stillMasked(path, { unmask, unmaskAll }), expected));
  }
});
