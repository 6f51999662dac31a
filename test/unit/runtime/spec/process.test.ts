import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { RunConfig } from '../../../../src/engine/images/config.ts';
import { DEFAULT_PATH } from '../../../../src/engine/runtime/spec/defaults.ts';
import { parseEnvFile } from '../../../../src/engine/runtime/spec/options.ts';
import { mergeEnv, resolveArgs, resolveUser, resolveWorkdir, withHome, type CommandRequest } from '../../../../src/engine/runtime/spec/process.ts';

const EXEC_ENTRY = ['exec_entry', 'p1_entry'];
const SHELL_ENTRY = ['/bin/sh', '-c', 'exec_entry p1_entry'];
const EXEC_CMD = ['exec_cmd', 'p1_cmd'];
const SHELL_CMD = ['/bin/sh', '-c', 'exec_cmd p1_cmd'];

describe('resolveArgs: docker\'s ENTRYPOINT/CMD table and run overrides', () => {
  // [name, image Entrypoint, image Cmd, request, expected args or an error pattern]
  const cases: [string, string[] | null | undefined, string[] | null | undefined, CommandRequest, string[] | RegExp][] = [
    ['no ENTRYPOINT, no CMD: error', undefined, undefined, {}, /no command specified/],
    ['null ENTRYPOINT and CMD: error', null, null, {}, /no command specified/],
    ['CMD exec form', undefined, EXEC_CMD, {}, EXEC_CMD],
    ['CMD shell form', undefined, SHELL_CMD, {}, SHELL_CMD],
    ['ENTRYPOINT shell form, no CMD', SHELL_ENTRY, undefined, {}, SHELL_ENTRY],
    ['ENTRYPOINT shell form, CMD exec: CMD only becomes $0 $1', SHELL_ENTRY, EXEC_CMD, {}, [...SHELL_ENTRY, ...EXEC_CMD]],
    ['ENTRYPOINT shell form, CMD shell', SHELL_ENTRY, SHELL_CMD, {}, [...SHELL_ENTRY, ...SHELL_CMD]],
    ['ENTRYPOINT exec form, no CMD', EXEC_ENTRY, undefined, {}, EXEC_ENTRY],
    ['ENTRYPOINT exec, CMD exec', EXEC_ENTRY, EXEC_CMD, {}, [...EXEC_ENTRY, ...EXEC_CMD]],
    ['ENTRYPOINT exec, CMD shell', EXEC_ENTRY, SHELL_CMD, {}, [...EXEC_ENTRY, ...SHELL_CMD]],
    ['run args replace CMD', undefined, EXEC_CMD, { command: ['echo', 'hi'] }, ['echo', 'hi']],
    ['run args follow ENTRYPOINT, replacing CMD', EXEC_ENTRY, EXEC_CMD, { command: ['a'] }, [...EXEC_ENTRY, 'a']],
    ['run args with ENTRYPOINT and no CMD', EXEC_ENTRY, undefined, { command: ['a', 'b'] }, [...EXEC_ENTRY, 'a', 'b']],
    ['run args without anything in the image', undefined, undefined, { command: ['sh'] }, ['sh']],
    ['empty run args keep CMD', undefined, EXEC_CMD, { command: [] }, EXEC_CMD],
    ['--entrypoint replaces ENTRYPOINT and drops CMD', EXEC_ENTRY, EXEC_CMD, { entrypoint: 'x' }, ['x']],
    ['--entrypoint drops CMD of an image without ENTRYPOINT', undefined, EXEC_CMD, { entrypoint: 'x' }, ['x']],
    ['--entrypoint with run args', EXEC_ENTRY, EXEC_CMD, { entrypoint: 'x', command: ['a'] }, ['x', 'a']],
    ['--entrypoint is one word, not split', undefined, undefined, { entrypoint: 'my tool' }, ['my tool']],
    ["--entrypoint '' with run args: only the args", EXEC_ENTRY, EXEC_CMD, { entrypoint: '', command: ['ls', '-l'] }, ['ls', '-l']],
    ["--entrypoint '' without args: the image CMD is dropped too", EXEC_ENTRY, EXEC_CMD, { entrypoint: '' }, /no command specified/],
    ["--entrypoint '' on a CMD-only image", undefined, EXEC_CMD, { entrypoint: '' }, /no command specified/],
    ['an empty first word is refused', undefined, [''], {}, /empty string/],
  ];
  for (const [name, entrypoint, cmd, request, expected] of cases) {
    it(name, () => {
      const image: RunConfig = {};
      if (entrypoint !== undefined) image.Entrypoint = entrypoint;
      if (cmd !== undefined) image.Cmd = cmd;
      if (expected instanceof RegExp) assert.throws(() => resolveArgs(image, request), expected);
      else assert.deepEqual(resolveArgs(image, request), expected);
    });
  }
});

describe('mergeEnv', () => {
  const host = { HOST_ONLY: 'from-host', PATH: '/host/bin' };
  const base = { hostname: 'abc123', tty: false, hostEnv: host };
  const cases: [string, Partial<Parameters<typeof mergeEnv>[0]>, string[]][] = [
    ['defaults: PATH and HOSTNAME', { image: {} }, [`PATH=${DEFAULT_PATH}`, 'HOSTNAME=abc123']],
    ['-t adds TERM=xterm', { image: {}, tty: true }, [`PATH=${DEFAULT_PATH}`, 'HOSTNAME=abc123', 'TERM=xterm']],
    ["the image's PATH replaces the default in place", { image: { Env: ['A=1', 'PATH=/x'] } }, ['PATH=/x', 'HOSTNAME=abc123', 'A=1']],
    ["the image's TERM wins over -t's", { image: { Env: ['TERM=dumb'] }, tty: true }, [`PATH=${DEFAULT_PATH}`, 'HOSTNAME=abc123', 'TERM=dumb']],
    ['-e replaces the image value', { image: { Env: ['A=1', 'B=2'] }, env: ['A=9'] }, [`PATH=${DEFAULT_PATH}`, 'HOSTNAME=abc123', 'A=9', 'B=2']],
    ['-e KEY takes the host value', { image: {}, env: ['HOST_ONLY'] }, [`PATH=${DEFAULT_PATH}`, 'HOSTNAME=abc123', 'HOST_ONLY=from-host']],
    ['-e KEY unset on the host removes the image value', { image: { Env: ['A=1', 'B=2'] }, env: ['A'] }, [`PATH=${DEFAULT_PATH}`, 'HOSTNAME=abc123', 'B=2']],
    ['-e PATH takes the host PATH', { image: {}, env: ['PATH'] }, ['PATH=/host/bin', 'HOSTNAME=abc123']],
    ['-e keeps everything after the first =', { image: {}, env: ['A=b=c'] }, [`PATH=${DEFAULT_PATH}`, 'HOSTNAME=abc123', 'A=b=c']],
    ['-e with an empty value', { image: { Env: ['A=1'] }, env: ['A='] }, [`PATH=${DEFAULT_PATH}`, 'HOSTNAME=abc123', 'A=']],
    ['-e HOSTNAME overrides', { image: {}, env: ['HOSTNAME=mine'] }, [`PATH=${DEFAULT_PATH}`, 'HOSTNAME=mine']],
    [
      '--env-file before -e, files in order',
      { image: { Env: ['A=img'] }, envFiles: [{ name: 'one', text: 'A=file1\nB=file1\n' }, { name: 'two', text: 'B=file2\nC=file2\n' }], env: ['C=flag'] },
      [`PATH=${DEFAULT_PATH}`, 'HOSTNAME=abc123', 'A=file1', 'B=file2', 'C=flag'],
    ],
    ['no container= variable', { image: {}, tty: true }, [`PATH=${DEFAULT_PATH}`, 'HOSTNAME=abc123', 'TERM=xterm']],
  ];
  for (const [name, request, expected] of cases) {
    it(name, () => assert.deepEqual(mergeEnv({ ...base, image: {}, ...request }), expected));
  }
  it('-e with an empty name is refused', () => assert.throws(() => mergeEnv({ ...base, image: {}, env: ['=x'] }), /invalid --env "=x"/));
  it('HOME is added from the user unless set', () => {
    assert.deepEqual(withHome(['A=1'], '/root'), ['A=1', 'HOME=/root']);
    assert.deepEqual(withHome(['HOME=/mine'], '/root'), ['HOME=/mine']);
  });
});

describe('parseEnvFile', () => {
  const host = { FROM_HOST: 'h' };
  const cases: [string, string, string[] | RegExp][] = [
    ['KEY=VALUE lines', 'A=1\nB=2\n', ['A=1', 'B=2']],
    ['comments and blank lines are skipped', '# comment\n\n   \nA=1\n  # indented comment\n', ['A=1']],
    ['leading whitespace is dropped, the value is verbatim', '  A= spaced value  \n', ['A= spaced value  ']],
    ['quotes stay', 'A="quoted"\nB=\'single\'\n', ['A="quoted"', "B='single'"]],
    ['# inside a value stays', 'A=x # not a comment\n', ['A=x # not a comment']],
    ['empty value', 'A=\n', ['A=']],
    ['CRLF line ends', 'A=1\r\nB=2\r\n', ['A=1', 'B=2']],
    ['UTF-8 BOM', '\uFEFFA=1\n', ['A=1']],
    ['bare KEY takes the host value', 'FROM_HOST\n', ['FROM_HOST=h']],
    ['bare KEY with trailing space', 'FROM_HOST  \n', ['FROM_HOST=h']],
    ['bare KEY unset on the host is left out', 'MISSING\n', []],
    ['no final newline', 'A=1', ['A=1']],
    ['whitespace in a name, with its line number', 'A=1\nBAD KEY=2\n', /--env-file app\.env, line 2: variable "BAD KEY" contains whitespace/],
    ['a missing name, with its line number', '\n\n=value\n', /--env-file app\.env, line 3: no variable name/],
  ];
  for (const [name, text, expected] of cases) {
    it(name, () => {
      if (expected instanceof RegExp) assert.throws(() => parseEnvFile({ name: 'app.env', text }, host), expected);
      else assert.deepEqual(parseEnvFile({ name: 'app.env', text }, host), expected);
    });
  }
});

describe('resolveUser', () => {
  const passwd = [
    'root:x:0:0:root:/root:/bin/sh',
    'daemon:x:1:1:daemon:/usr/sbin:/bin/false',
    'www-data:x:33:33:www-data:/var/www:/bin/false',
    '# a comment',
    'app:x:1000:1000::/home/app:/bin/sh',
    'nohome:x:1001:1001:::/bin/sh',
    'broken:x:notanumber:1::/:/bin/sh',
  ].join('\n');
  const group = [
    'root:x:0:',
    'daemon:x:1:',
    'tty:x:5:app',
    'wheel:x:10:root',
    'www-data:x:33:',
    'app:x:1000:',
    'docker:x:999:app, www-data',
  ].join('\n');
  // [spec, passwd?, group?, expected {uid, gid, additionalGids, home} or error]
  const cases: [string, string | undefined, string | undefined, [number, number, number[], string] | RegExp][] = [
    ['', passwd, group, [0, 0, [0, 10], '/root']],
    ['root', passwd, group, [0, 0, [0, 10], '/root']],
    ['app', passwd, group, [1000, 1000, [1000, 5, 999], '/home/app']],
    ['1000', passwd, group, [1000, 1000, [1000, 5, 999], '/home/app']],
    ['www-data', passwd, group, [33, 33, [33, 999], '/var/www']],
    ['nohome', passwd, group, [1001, 1001, [1001], '/']],
    ['1234', passwd, group, [1234, 0, [0], '/']],
    ['1234:55', passwd, group, [1234, 55, [55], '/']],
    ['app:docker', passwd, group, [1000, 999, [999], '/home/app']],
    ['app:1', passwd, group, [1000, 1, [1], '/home/app']],
    ['app:4242', passwd, group, [1000, 4242, [4242], '/home/app']],
    [':10', passwd, group, [0, 10, [10], '/root']],
    ['5:5', undefined, undefined, [5, 5, [5], '/']],
    ['0', undefined, undefined, [0, 0, [0], '/']],
    ['', undefined, undefined, [0, 0, [0], '/']],
    ['nobody', passwd, group, /^TscError: unable to find user nobody: no matching entries in passwd file$/],
    ['app', undefined, undefined, /unable to find user app: no matching entries in passwd file/],
    ['app:nogroup', passwd, group, /unable to find group nogroup: no matching entries in group file/],
    ['1234:nogroup', passwd, undefined, /unable to find group nogroup/],
    ['-1', passwd, group, /uids and gids must be in range 0-2147483647/],
    ['2147483648', passwd, group, /must be in range/],
    ['app:-5', passwd, group, /must be in range/],
  ];
  for (const [spec, p, g, expected] of cases) {
    it(`"${spec}"${p === undefined ? ' without passwd/group' : ''}`, () => {
      if (expected instanceof RegExp) {
        assert.throws(() => resolveUser(spec, p, g), (e: Error) => expected.test(`${e.name}: ${e.message}`));
      } else {
        const [uid, gid, additionalGids, home] = expected;
        assert.deepEqual(resolveUser(spec, p, g), { uid, gid, additionalGids, home });
      }
    });
  }
});

describe('resolveWorkdir', () => {
  const cases: [string, RunConfig, string | undefined, string | RegExp][] = [
    ['default /', {}, undefined, '/'],
    ["the image's WorkingDir", { WorkingDir: '/app' }, undefined, '/app'],
    ['-w wins', { WorkingDir: '/app' }, '/srv', '/srv'],
    ['-w is cleaned', {}, '/srv//data/../www/', '/srv/www'],
    ['empty -w falls back to the image', { WorkingDir: '/app' }, '', '/app'],
    ['relative -w is refused', {}, 'srv', /invalid --workdir "srv": the working directory must be an absolute path/],
    ['relative image WorkingDir is refused', { WorkingDir: 'app' }, undefined, /WorkingDir "app" is not an absolute path/],
  ];
  for (const [name, image, workdir, expected] of cases) {
    it(name, () => {
      if (expected instanceof RegExp) assert.throws(() => resolveWorkdir(image, workdir), expected);
      else assert.equal(resolveWorkdir(image, workdir), expected);
    });
  }
});
