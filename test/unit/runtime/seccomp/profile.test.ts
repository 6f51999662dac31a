import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isTscError } from '../../../../src/engine/errors.ts';
import { parseSeccompProfile } from '../../../../src/engine/runtime/seccomp/profile.ts';
import { applies, resolveSeccomp, type SeccompTarget } from '../../../../src/engine/runtime/seccomp/resolve.ts';

const amd64: SeccompTarget = { arch: 'x86_64', capabilities: [], kernel: { major: 6, minor: 1 } };

/** The shape of moby's default.json: archMap, empty includes/excludes on every rule. */
const DOCKER_STYLE = `{
  "defaultAction": "SCMP_ACT_ERRNO",
  "defaultErrnoRet": 1,
  "archMap": [
    { "architecture": "SCMP_ARCH_X86_64", "subArchitectures": ["SCMP_ARCH_X86", "SCMP_ARCH_X32"] },
    { "architecture": "SCMP_ARCH_AARCH64", "subArchitectures": ["SCMP_ARCH_ARM"] },
    { "architecture": "SCMP_ARCH_S390X", "subArchitectures": ["SCMP_ARCH_S390"] }
  ],
  "syscalls": [
    { "names": ["read", "write"], "action": "SCMP_ACT_ALLOW", "args": [], "comment": "", "includes": {}, "excludes": {} },
    { "names": ["ptrace"], "action": "SCMP_ACT_ALLOW", "includes": { "minKernel": "4.8" } },
    { "names": ["personality"], "action": "SCMP_ACT_ALLOW", "args": [{ "index": 0, "value": 8, "valueTwo": 0, "op": "SCMP_CMP_EQ" }] },
    { "names": ["clone"], "action": "SCMP_ACT_ALLOW",
      "args": [{ "index": 0, "value": 2114060288, "valueTwo": 0, "op": "SCMP_CMP_MASKED_EQ" }],
      "excludes": { "caps": ["CAP_SYS_ADMIN"], "arches": ["s390", "s390x"] } },
    { "names": ["clone3"], "action": "SCMP_ACT_ERRNO", "errnoRet": 38, "excludes": { "caps": ["CAP_SYS_ADMIN"] } },
    { "name": "mount", "action": "SCMP_ACT_ALLOW", "includes": { "caps": ["CAP_SYS_ADMIN"] } },
    { "names": ["arch_prctl"], "action": "SCMP_ACT_ALLOW", "includes": { "arches": ["amd64", "x32"] } }
  ]
}`;

describe('parseSeccompProfile: good profiles', () => {
  it('reads a docker-style profile', () => {
    const profile = parseSeccompProfile(DOCKER_STYLE);
    assert.equal(profile.defaultAction, 'SCMP_ACT_ERRNO');
    assert.equal(profile.defaultErrnoRet, 1);
    assert.equal(profile.archMap.length, 3);
    assert.equal(profile.syscalls.length, 7);
    const [rw, ptrace, personality, clone, clone3, mount] = profile.syscalls;
    assert.deepEqual(rw?.names, ['read', 'write']);
    assert.equal(rw?.includes, undefined, 'an empty includes is no condition');
    assert.deepEqual(ptrace?.includes, { caps: [], arches: [], minKernel: { major: 4, minor: 8 } });
    assert.deepEqual(personality?.args, [{ index: 0, value: 8n, valueTwo: 0n, op: 'SCMP_CMP_EQ' }]);
    assert.deepEqual(clone?.excludes, { caps: ['CAP_SYS_ADMIN'], arches: ['s390', 's390x'], minKernel: undefined });
    assert.equal(clone3?.errnoRet, 38);
    assert.deepEqual(mount?.names, ['mount'], 'the deprecated "name" becomes names');
  });

  it('keeps 64-bit values exact', () => {
    const profile = parseSeccompProfile(`{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["ioctl"],"action":"SCMP_ACT_ERRNO",
      "args":[{"index":1,"value":18446744073709551615,"valueTwo":9007199254740993,"op":"SCMP_CMP_MASKED_EQ"}]}]}`);
    assert.equal(profile.syscalls[0]?.args[0]?.value, 0xffffffffffffffffn);
    assert.equal(profile.syscalls[0]?.args[0]?.valueTwo, 9007199254740993n);
  });

  it('reads the OCI style: architectures and flags, no syscalls', () => {
    const profile = parseSeccompProfile('{"defaultAction":"SCMP_ACT_LOG","architectures":["SCMP_ARCH_X86_64","SCMP_ARCH_X86"],"flags":["SECCOMP_FILTER_FLAG_LOG","SECCOMP_FILTER_FLAG_SPEC_ALLOW"]}');
    assert.deepEqual(profile.architectures, ['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86']);
    assert.deepEqual(profile.syscalls, []);
    assert.equal(resolveSeccomp(profile, amd64).flags, 6);
  });

  it('allows a tracer message with SCMP_ACT_TRACE', () => {
    const profile = parseSeccompProfile('{"defaultAction":"SCMP_ACT_TRACE","defaultErrnoRet":4660}');
    assert.equal(profile.defaultErrnoRet, 4660);
  });
});

describe('parseSeccompProfile: bad profiles name the entry and field', () => {
  const base = (syscall: string): string => `{"defaultAction":"SCMP_ACT_ERRNO","syscalls":[{"names":["read"],"action":"SCMP_ACT_ALLOW"},${syscall}]}`;
  const cases: [string, string, RegExp][] = [
    ['not JSON', '{"defaultAction":', /not valid JSON/],
    ['not an object', '[]', /the profile must be an object/],
    ['no defaultAction', '{"syscalls":[]}', /defaultAction is required/],
    ['unknown defaultAction', '{"defaultAction":"SCMP_ACT_DENY"}', /defaultAction names an unknown action "SCMP_ACT_DENY"/],
    ['unknown top-level field', '{"defaultAction":"SCMP_ACT_ALLOW","syscall":[]}', /syscall is not a known field/],
    ['errno out of range', '{"defaultAction":"SCMP_ACT_ERRNO","defaultErrnoRet":70000}', /defaultErrnoRet must be an integer from 0 to 4095/],
    ['errnoRet with allow', base('{"names":["mount"],"action":"SCMP_ACT_ALLOW","errnoRet":1}'), /syscalls\[1\]\.errnoRet is only allowed with SCMP_ACT_ERRNO/],
    ['unknown architecture', '{"defaultAction":"SCMP_ACT_ALLOW","architectures":["SCMP_ARCH_AMD64"]}', /architectures\[0\] names an unknown architecture "SCMP_ARCH_AMD64"/],
    ['both architectures and archMap', '{"defaultAction":"SCMP_ACT_ALLOW","architectures":["SCMP_ARCH_X86"],"archMap":[{"architecture":"SCMP_ARCH_X86_64","subArchitectures":[]}]}', /archMap cannot be combined with "architectures"/],
    ['unknown flag', '{"defaultAction":"SCMP_ACT_ALLOW","flags":["SECCOMP_FILTER_FLAG_NEW_LISTENER"]}', /flags\[0\] names an unknown flag/],
    ['syscalls not an array', '{"defaultAction":"SCMP_ACT_ALLOW","syscalls":{}}', /syscalls must be an array/],
    ['rule without names', base('{"action":"SCMP_ACT_ALLOW"}'), /syscalls\[1\]\.names must list at least one syscall/],
    ['name and names', base('{"name":"read","names":["write"],"action":"SCMP_ACT_ALLOW"}'), /syscalls\[1\]\.name cannot be combined with "names"/],
    ['bad syscall name', base('{"names":["read","Write!"],"action":"SCMP_ACT_ALLOW"}'), /syscalls\[1\]\.names\[1\] is not a syscall name/],
    ['rule without action', base('{"names":["mount"]}'), /syscalls\[1\]\.action is required/],
    ['unknown rule field', base('{"names":["mount"],"action":"SCMP_ACT_ALLOW","arg":[]}'), /syscalls\[1\]\.arg is not a known field/],
    ['arg index 6', base('{"names":["mount"],"action":"SCMP_ACT_ALLOW","args":[{"index":6,"value":0,"op":"SCMP_CMP_EQ"}]}'), /syscalls\[1\]\.args\[0\]\.index must be an integer from 0 to 5/],
    ['unknown operator', base('{"names":["mount"],"action":"SCMP_ACT_ALLOW","args":[{"index":0,"value":0,"op":"SCMP_CMP_MASKED_NE"}]}'), /syscalls\[1\]\.args\[0\]\.op names an unknown operator/],
    ['negative value', base('{"names":["mount"],"action":"SCMP_ACT_ALLOW","args":[{"index":0,"value":-1,"op":"SCMP_CMP_EQ"}]}'), /args\[0\]\.value must be an integer from 0 to 2\^64-1/],
    ['value above 2^64-1', base('{"names":["mount"],"action":"SCMP_ACT_ALLOW","args":[{"index":0,"value":18446744073709551616,"op":"SCMP_CMP_EQ"}]}'), /args\[0\]\.value must be an integer/],
    ['fractional value', base('{"names":["mount"],"action":"SCMP_ACT_ALLOW","args":[{"index":0,"value":1.5,"op":"SCMP_CMP_EQ"}]}'), /args\[0\]\.value must be an integer/],
    ['missing op', base('{"names":["mount"],"action":"SCMP_ACT_ALLOW","args":[{"index":0,"value":1}]}'), /args\[0\]\.op is required/],
    ['misspelt capability', base('{"names":["mount"],"action":"SCMP_ACT_ALLOW","includes":{"caps":["CAP_SYSADMIN"]}}'), /syscalls\[1\]\.includes\.caps\[0\] names an unknown capability "CAP_SYSADMIN"/],
    ['unknown condition arch', base('{"names":["mount"],"action":"SCMP_ACT_ALLOW","excludes":{"arches":["x86_64"]}}'), /excludes\.arches\[0\] names an unknown architecture "x86_64"/],
    ['three-part minKernel', base('{"names":["mount"],"action":"SCMP_ACT_ALLOW","includes":{"minKernel":"5.8.1"}}'), /includes\.minKernel must be a kernel version/],
    ['minKernel 0.0', base('{"names":["mount"],"action":"SCMP_ACT_ALLOW","includes":{"minKernel":"0.0"}}'), /includes\.minKernel must be a kernel version/],
    ['unknown condition field', base('{"names":["mount"],"action":"SCMP_ACT_ALLOW","includes":{"capabilities":[]}}'), /includes\.capabilities is not a known field/],
  ];
  for (const [name, text, message] of cases) {
    it(name, () => {
      assert.throws(() => parseSeccompProfile(text, '/etc/profile.json'), (error: unknown) => {
        assert.ok(isTscError(error));
        assert.equal(error.code, 'invalid-argument');
        assert.match(error.message, /^\/etc\/profile\.json: /);
        assert.match(error.message, message);
        return true;
      });
    });
  }

  it('refuses notify listeners as unsupported', () => {
    for (const text of [
      '{"defaultAction":"SCMP_ACT_NOTIFY"}',
      '{"defaultAction":"SCMP_ACT_ALLOW","listenerPath":"/run/agent.sock"}',
    ]) {
      assert.throws(() => parseSeccompProfile(text), (error: unknown) => isTscError(error) && error.code === 'unsupported');
    }
  });
});

describe('conditions', () => {
  const profile = parseSeccompProfile(DOCKER_STYLE);
  const rule = (index: number) => profile.syscalls[index] as NonNullable<(typeof profile.syscalls)[number]>;
  const cases: [string, number, Partial<SeccompTarget>, boolean][] = [
    ['unconditional', 0, {}, true],
    ['minKernel met', 1, { kernel: { major: 4, minor: 8 } }, true],
    ['minKernel met by a later major', 1, { kernel: { major: 5, minor: 0 } }, true],
    ['minKernel not met', 1, { kernel: { major: 4, minor: 4 } }, false],
    ['excluded by a capability', 3, { capabilities: ['CAP_SYS_ADMIN'] }, false],
    ['not excluded without it', 3, { capabilities: ['CAP_CHOWN'] }, true],
    ['included by a capability', 5, { capabilities: ['CAP_SYS_ADMIN'] }, true],
    ['not included without it', 5, {}, false],
    ['included by arch', 6, { arch: 'x86_64' }, true],
    ['not included on another arch', 6, { arch: 'aarch64' }, false],
  ];
  for (const [name, index, target, expected] of cases) {
    it(name, () => assert.equal(applies(rule(index), { ...amd64, ...target }), expected));
  }
});

describe('covered architectures', () => {
  const abis = (text: string, arch: 'x86_64' | 'aarch64') => resolveSeccomp(parseSeccompProfile(text), { ...amd64, arch }).abis.map((policy) => policy.abi);
  it('takes the archMap entry of the container', () => {
    assert.deepEqual(abis(DOCKER_STYLE, 'x86_64'), ['x86_64', 'x86', 'x32']);
    assert.deepEqual(abis(DOCKER_STYLE, 'aarch64'), ['aarch64', 'arm']);
  });
  it('is the native ABI alone without a matching entry', () => {
    assert.deepEqual(abis('{"defaultAction":"SCMP_ACT_ALLOW","archMap":[{"architecture":"SCMP_ARCH_S390X","subArchitectures":[]}]}', 'x86_64'), ['x86_64']);
    assert.deepEqual(abis('{"defaultAction":"SCMP_ACT_ALLOW"}', 'aarch64'), ['aarch64']);
  });
  it('adds the native ABI to "architectures" and drops ABIs the CPU cannot run', () => {
    assert.deepEqual(abis('{"defaultAction":"SCMP_ACT_ALLOW","architectures":["SCMP_ARCH_X32","SCMP_ARCH_ARM","SCMP_ARCH_PPC64LE"]}', 'x86_64'), ['x86_64', 'x32']);
  });
});
