/**
 * Attacks on the host from inside rootless containers (and from another user), each
 * written as the attack and asserting that it fails the expected way: writes to host
 * files by absolute path, `..` and /proc/PID/root; host processes and descriptors; the
 * kernel files docker masks or makes read-only; kernel modules, mounts and the system
 * calls docker's seccomp profile blocks (a static probe shows what the kernel alone
 * would allow); the helper binary through /proc/PID/exe; volumes mounted through
 * symlinks of the image or of an earlier run; bind sources the user may not write; and a
 * second user reaching the first one's containers. The test file has a store of its own.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { chmodSync, chownSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it, type TestContext } from 'node:test';
import { requires, requiresTestHost, type TestHost } from '../lib/env.ts';
import { busyboxLayout, busyboxLayoutWith, requiresRegistry, skopeoPush, uniqueRepository } from '../lib/registry-fixtures.ts';
import { DIST_HELPER, DIST_TSC, ROOT, staged } from '../lib/stage.ts';
import { attachSocketPath } from '../../src/engine/containers/state.ts';
import { runAs, userEnv, type Completed } from '../lib/users.ts';

const tsc = staged(DIST_TSC);
const scratch = mkdtempSync('/tmp/tsc-e2e-security-');
chmodSync(scratch, 0o755);
const store = join(scratch, 'store');

/** docker's masked paths (moby daemon/pkg/oci/defaults.go), spelled out so a change to tsc's list is caught. */
const DOCKER_MASKED_PATHS = [
  '/proc/acpi', '/proc/asound', '/proc/interrupts', '/proc/kcore', '/proc/keys', '/proc/latency_stats', '/proc/sched_debug',
  '/proc/scsi', '/proc/timer_list', '/proc/timer_stats', '/sys/devices/virtual/powercap', '/sys/firmware',
];

after(async () => {
  if (fixture) {
    const { host } = await fixture;
    const ids = (await tscAs(host)('ps', '-aq', '--no-trunc')).stdout.split('\n').filter(Boolean);
    if (ids.length > 0) await tscAs(host)('rm', '-f', ...ids);
  }
  rmSync(scratch, { recursive: true, force: true });
});

function tscAs(host: TestHost) {
  const env = { ...userEnv(host.uid, host.user), TSC_STORAGE_ROOT: store };
  return (...args: string[]): Promise<Completed> => runAs(tsc!, args, { uid: host.uid, cgroup: host.cgroup, env });
}

/** A detached `sleep 600` container: its id and the host pid of its pid 1. */
async function sleeper(run: ReturnType<typeof tscAs>, image: string): Promise<{ id: string; pid: number }> {
  const started = await run('run', '-d', image, 'busybox', 'sleep', '600');
  assert.equal(started.status, 0, started.stderr);
  const id = started.stdout.trim();
  return { id, pid: Number((await run('container', 'inspect', '--format', '{{.State.Pid}}', id)).stdout.trim()) };
}

/** `sh -c script` as the test user (outside any container). */
function shAs(uid: number, name: string, script: string): Promise<Completed> {
  return runAs('/bin/sh', ['-c', script], { uid, env: userEnv(uid, name) });
}

/** A directory in the scratch space owned by the test user. */
function userDir(host: TestHost, name: string): string {
  const dir = join(scratch, `${name}-${randomBytes(3).toString('hex')}`);
  mkdirSync(dir);
  chownSync(dir, host.uid, host.uid);
  return dir;
}

function hashOf(path: string): string {
  return createHash('sha256').update(readFileSync(path)).digest('hex');
}

interface Fixture {
  host: TestHost;
  image: string;
  registry: string;
  /** a directory holding the static syscall probe, to bind-mount read-only at /probe */
  probeDir: string;
}

let fixture: Promise<Fixture> | undefined;

async function ready(t: TestContext): Promise<Fixture | undefined> {
  const host = requiresTestHost(t);
  if (!host || !requires(t, tsc !== undefined, 'dist/tsc is not built')) return undefined;
  const registry = await requiresRegistry(t);
  if (!registry) return undefined;
  if (!requires(t, execFileSync('sh', ['-c', 'command -v gcc || true']).length > 0, 'gcc is not installed (the syscall probe is built with it)')) return undefined;
  fixture ??= (async () => {
    chownSync(scratch, host.uid, host.uid);
    const repo = uniqueRepository('security');
    skopeoPush(busyboxLayout(t), registry, repo);
    const probeDir = join(scratch, 'probe');
    mkdirSync(probeDir, { mode: 0o755 });
    execFileSync('gcc', ['-static', '-O1', '-o', join(probeDir, 'probe'), join(ROOT, 'test', 'e2e', 'fixtures', 'syscall-probe.c')]);
    chmodSync(join(probeDir, 'probe'), 0o755);
    return { host, image: `${registry}/${repo}:latest`, registry, probeDir };
  })();
  return fixture;
}

/** `tsc run --rm ARGS` that must exit 0; its stdout. */
async function runOk(f: Fixture, ...args: string[]): Promise<string> {
  const r = await tscAs(f.host)('run', '--rm', ...args);
  assert.equal(r.status, 0, `run ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

/** Lines "KEY VALUE" of the output as an object. */
function pairs(text: string): Record<string, string> {
  return Object.fromEntries(text.trim().split('\n').map((l) => [l.slice(0, l.indexOf(' ')), l.slice(l.indexOf(' ') + 1)]));
}

describe('container security (rootless)', () => {
  it('keeps host files out of reach by absolute path, .., /proc/1/root and /proc/self/root', async (t) => {
    const f = await ready(t);
    if (!f) return;
    const hostDir = userDir(f.host, 'sentinel');
    const sentinel = join(hostDir, 'sentinel');
    writeFileSync(sentinel, 'untouched\n');
    chownSync(sentinel, f.host.uid, f.host.uid);
    const ways = [sentinel, `/../../../..${sentinel}`, `/proc/1/root/../../..${sentinel}`, `/proc/self/root/../..${sentinel}`, `/proc/1/cwd/../../..${sentinel}`];
    // the same path exists in the container (made there first): every write succeeds, inside
    const script = `busybox mkdir -p ${hostDir} && for p in ${ways.join(' ')}; do echo "$p" >> "$p" && echo wrote; done; busybox cat ${sentinel}`;
    const out = await runOk(f, f.image, 'sh', '-c', script);
    assert.equal(out, `${'wrote\n'.repeat(ways.length)}${ways.map((w) => `${w}\n`).join('')}`);
    assert.equal(readFileSync(sentinel, 'utf8'), 'untouched\n', 'the host file was written from the container');
    assert.deepEqual(readdirSync(hostDir), ['sentinel']);
    // what the container sees as / is its own root, not the host's
    const root = await runOk(f, f.image, 'sh', '-c', `test -e ${scratch}/store && echo store; test -e /run/user/${f.host.uid} && echo runtime; busybox ls /`);
    assert.doesNotMatch(root, /store|runtime|\bhome\b|\bwork\b/);
  });

  it('shows only its own processes and holds no descriptor of the host or of its monitor', async (t) => {
    const f = await ready(t);
    if (!f) return;
    const run = tscAs(f.host);
    const { id, pid: hostPid } = await sleeper(run, f.image);
    assert.ok(hostPid > 1, `host pid of the container: ${hostPid}`);

    const procs = await run('exec', id, 'sh', '-c', [
      'for p in /proc/[0-9]*; do echo "$(busybox basename $p) $(busybox tr "\\0" " " < $p/cmdline)"; done',
      `test -e /proc/${process.pid} && echo "host pid ${process.pid} visible"`,
      `busybox kill -0 ${process.pid} 2>&1`,
      'busybox grep PPid /proc/1/status',
    ].join('; '));
    assert.equal(procs.status, 0, procs.stderr);
    const lines = procs.stdout.trim().split('\n');
    assert.equal(lines[0], '1 /bin/busybox sleep 600 ');
    // besides pid 1, only the exec'd shell (and nothing the host runs: no tsc, node, helper)
    for (const line of lines.slice(1, -2)) assert.match(line, /^\d+ \/bin\/sh -c /);
    assert.doesNotMatch(procs.stdout, /^host pid .* visible$|tsc-helper|node|memfd/m);
    assert.match(lines.at(-2)!, new RegExp(`kill: can't kill pid ${process.pid}: No such process`));
    assert.match(lines.at(-1)!, /^PPid:\s+0$/, "pid 1's parent (the monitor) is outside the pid namespace");

    // descriptors: pid 1 has exactly stdin/out/err, none a socket; a fresh process 0-2 and ls's dir
    const fds = await run('exec', id, 'sh', '-c', 'busybox ls /proc/1/fd | busybox tr "\\n" " "; echo; busybox ls /proc/self/fd | busybox tr "\\n" " "; echo; for l in /proc/1/fd/*; do busybox readlink $l; done');
    assert.equal(fds.status, 0, fds.stderr);
    const [pid1Fds, selfFds, ...targets] = fds.stdout.trim().split('\n');
    assert.equal(pid1Fds, '0 1 2 ');
    assert.equal(selfFds, '0 1 2 3 ');
    assert.equal(targets.length, 3);
    for (const target of targets) assert.doesNotMatch(target!, /socket:|\/run\/user|\.tsc|store/, `pid 1 holds ${target}`);
    // a foreground run: the program's stdio are the monitor's pipes, never a socket
    const fg = await runOk(f, f.image, 'sh', '-c', 'busybox ls /proc/self/fd | busybox tr "\\n" " "; echo; busybox ls -l /proc/1/fd/ 2>&1; true');
    const [fgSelf, ...fgPid1] = fg.trim().split('\n');
    assert.equal(fgSelf, '0 1 2 3 ');
    assert.match(fg, / 0 -> \/dev\/null\n/);
    // (the shell's own copies of its stdout, as fd 10 during a redirection, may show too)
    for (const line of fgPid1.slice(1)) assert.match(line, / \d+ -> (\/dev\/null|pipe:\[\d+\])$/);
    assert.doesNotMatch(fgPid1.join('\n'), /socket:|\/run\/user|store/);
    assert.equal((await run('rm', '-f', id)).status, 0);
  });

  it('masks the kernel files docker masks and keeps /proc/sys and /sys read-only', async (t) => {
    const f = await ready(t);
    if (!f) return;
    const present = DOCKER_MASKED_PATHS.filter((p) => existsSync(p));
    assert.ok(present.length >= 3, `too few of docker's masked paths on this host to test: ${present.join(' ')}`);
    // each present path: a directory is an empty tmpfs, anything else /dev/null (char 1,3), read empty
    const script = present.map((p) => lstatSync(p).isDirectory()
      ? `echo "${p} $(busybox stat -f -c %T ${p}) $(busybox ls -A ${p} | busybox wc -l)"`
      : `echo "${p} $(busybox stat -c %t,%T ${p}) $(busybox cat ${p} | busybox wc -c)"`).join('; ');
    const masked = pairs(await runOk(f, f.image, 'sh', '-c', script));
    for (const p of present) assert.equal(masked[p], lstatSync(p).isDirectory() ? 'tmpfs 0' : '1,3 0', `${p} is not masked`);
    assert.ok(readFileSync('/proc/timer_list', 'utf8').length > 0 || !existsSync('/proc/timer_list'), 'the host has something to hide');

    const targets = ['/proc/sys/kernel/core_pattern', '/proc/sys/kernel/modprobe', '/proc/sysrq-trigger', '/sys/kernel/uevent_helper', '/sys/kernel/mm/transparent_hugepage/enabled']
      .filter((p) => existsSync(p));
    assert.ok(targets.includes('/proc/sys/kernel/core_pattern'));
    const before = targets.map((p) => readFileSync(p, 'utf8'));
    const writes = await tscAs(f.host)('run', '--rm', f.image, 'sh', '-c', targets.map((p) => `echo '|/tmp/pwn' > ${p}`).join('; '));
    for (const p of targets) assert.match(writes.stderr, new RegExp(`can't create ${p}: Read-only file system`));
    assert.deepEqual(targets.map((p) => readFileSync(p, 'utf8')), before);
    // read-only, not hidden: the container can still read its sysctls
    assert.match(await runOk(f, f.image, 'busybox', 'cat', '/proc/sys/kernel/ostype'), /^Linux\n$/);
  });

  it('refuses kernel modules, mounts and the system calls docker\'s seccomp profile blocks', async (t) => {
    const f = await ready(t);
    if (!f) return;
    const calls = ['keyctl', 'add_key', 'unshare-user', 'mount-tmpfs', 'finit_module', 'init_module'];
    // what the kernel alone allows this user: the keyring calls and a user namespace
    const onHost = pairs((await shAs(f.host.uid, f.host.user, `${f.probeDir}/probe ${calls.join(' ')}`)).stdout);
    assert.deepEqual([onHost.keyctl, onHost.add_key, onHost['unshare-user']], ['ok', 'ok', 'ok']);

    const probe = (...flags: string[]) => runOk(f, ...flags, '-v', `${f.probeDir}:/probe:ro`, f.image, '/probe/probe', ...calls).then(pairs);
    assert.deepEqual(await probe(), {
      keyctl: 'EPERM', add_key: 'EPERM', 'unshare-user': 'EPERM', 'mount-tmpfs': 'EPERM', finit_module: 'EPERM', init_module: 'EPERM',
    });
    // with CAP_SYS_ADMIN the profile lets namespaces through (so the cap is there), but never the keyring or modules
    const admin = await probe('--cap-add', 'SYS_ADMIN');
    assert.equal(admin['unshare-user'], 'ok');
    assert.deepEqual([admin.keyctl, admin.add_key, admin.finit_module, admin.init_module], ['EPERM', 'EPERM', 'EPERM', 'EPERM']);

    // the same through busybox, as an attacker would
    const tools = await tscAs(f.host)('run', '--rm', f.image, 'sh', '-c',
      'echo junk > /x.ko; busybox insmod /x.ko; echo insmod=$?; busybox mount -t tmpfs none /mnt; echo mount=$?; busybox unshare -U true; echo unshare=$?');
    assert.equal(tools.stdout, 'insmod=1\nmount=1\nunshare=1\n', tools.stderr);
    assert.match(tools.stderr, /insmod: can't insert '\/x\.ko': Operation not permitted/);
    assert.match(tools.stderr, /mount: permission denied \(are you root\?\)/);
    assert.match(tools.stderr, /unshare: unshare\(0x10000000\): Operation not permitted/);
  });

  it('cannot overwrite the helper or the container\'s programs through /proc/PID/exe', async (t) => {
    const f = await ready(t);
    if (!f) return;
    const run = tscAs(f.host);
    const started = await run('run', '-d', f.image, 'busybox', 'sleep', '600');
    assert.equal(started.status, 0, started.stderr);
    const id = started.stdout.trim();
    const distHash = hashOf(DIST_HELPER);
    const runtimeCopy = join(`/run/user/${f.host.uid}`, 'tsc', 'bin', `tsc-helper-${distHash.slice(0, 16)}`);
    assert.ok(existsSync(runtimeCopy), `the helper's runtime copy ${runtimeCopy} is missing`);
    const layerBusybox = readdirSync(join(store, 'layers')).map((l) => join(store, 'layers', l, 'bin', 'busybox')).filter((p) => existsSync(p));
    assert.ok(layerBusybox.length > 0);
    const hashes = () => [hashOf(DIST_HELPER), hashOf(runtimeCopy), ...layerBusybox.map(hashOf)];
    const before = hashes();

    const attack = await run('exec', id, 'sh', '-c', [
      'for p in /proc/[0-9]*; do busybox readlink $p/exe; done',
      'echo pwned >> /proc/1/exe; echo append=$?',
      'busybox dd if=/dev/zero of=/proc/1/exe bs=1 count=1 conv=notrunc 2>&1; echo dd=$?',
    ].join('; '));
    // every process it can see runs the container's own busybox: no helper is in reach
    assert.deepEqual([...new Set(attack.stdout.split('\n').filter((l) => l.startsWith('/')))], ['/bin/busybox']);
    assert.match(attack.stdout, /append=1\n/);
    assert.match(attack.stderr, /can't create \/proc\/1\/exe: Text file busy/);
    assert.match(attack.stdout, /dd: can't open '\/proc\/1\/exe': Text file busy\ndd=1/);

    // the monitor runs from a sealed in-memory copy: even its own user cannot write it
    const state = JSON.parse(readFileSync(join(store, 'containers', id, 'state.json'), 'utf8')) as { monitorPid: number };
    assert.equal(readlinkSync(`/proc/${state.monitorPid}/exe`), '/memfd:tsc-helper (deleted)');
    const direct = await shAs(f.host.uid, f.host.user, `echo pwned >> /proc/${state.monitorPid}/exe`);
    assert.notEqual(direct.status, 0);
    assert.match(direct.stderr, /Text file busy/);
    assert.deepEqual(hashes(), before);
    assert.equal((await run('rm', '-f', id)).status, 0);
  });

  it('mounts volumes inside the root file system, through symlinks of the image or of an earlier run', async (t) => {
    const f = await ready(t);
    if (!f) return;
    const source = userDir(f.host, 'source');
    writeFileSync(join(source, 'file'), 'from the volume\n');
    const target = userDir(f.host, 'target');
    const up = `${'../'.repeat(12)}${target.slice(1)}`;
    const repo = uniqueRepository('security-links');
    skopeoPush(busyboxLayoutWith(t, {
      'etc/marker': { text: 'image etc\n' },
      [`${target.slice(1)}/from-image`]: { text: 'image target\n' },
      data: { symlink: '/etc' },
      up: { symlink: up },
      abs: { symlink: target },
    }), f.registry, repo);
    const image = `${f.registry}/${repo}:latest`;

    const out = await runOk(f, '-v', `${source}:/data`, '-v', `${source}:/up/sub`, '-v', `${source}:/abs/sub2`, image, 'sh', '-c',
      `busybox cat /etc/file ${target}/sub/file ${target}/sub2/file ${target}/from-image; busybox test -e /etc/marker && echo marker; true`);
    assert.equal(out, 'from the volume\n'.repeat(3) + 'image target\n', 'the mounts landed where the symlinks point inside the container');
    assert.deepEqual(readdirSync(target), [], 'a mount directory was made on the host');
    assert.equal(existsSync('/etc/file'), false);

    // an earlier run of the same container replaces the mount's parent with a symlink out
    const run = tscAs(f.host);
    const created = await run('create', '-v', `${source}:/x/data`, f.image, 'sh', '-c',
      `if busybox test -L /x; then busybox cat ${target}/data/file; else busybox mkdir -p ${target} && busybox mv /x /y && busybox ln -s ${up} /x && echo replaced; fi`);
    assert.equal(created.status, 0, created.stderr);
    const id = created.stdout.trim();
    const first = await run('start', '-a', id);
    assert.equal(first.stdout, 'replaced\n', first.stderr);
    const second = await run('start', '-a', id);
    assert.equal(second.stdout, 'from the volume\n', second.stderr);
    assert.deepEqual(readdirSync(target), []);
    assert.equal((await run('rm', id)).status, 0);
  });

  it('uses bind sources with the user\'s own rights, through a symlink too', async (t) => {
    const f = await ready(t);
    if (!f) return;
    const links = userDir(f.host, 'links');
    symlinkSync('/etc', join(links, 'etc'));
    const passwd = hashOf('/etc/passwd');
    for (const source of ['/etc', join(links, 'etc')]) {
      const r = await tscAs(f.host)('run', '--rm', '-v', `${source}:/hostetc`, f.image, 'sh', '-c',
        'busybox head -1 /hostetc/passwd; echo pwned >> /hostetc/passwd; echo append=$?; busybox touch /hostetc/tsc-pwned; echo touch=$?');
      assert.equal(r.stdout, 'root:x:0:0:root:/root:/bin/bash\nappend=1\ntouch=1\n'.replace('/bin/bash', readFileSync('/etc/passwd', 'utf8').split('\n')[0]!.split(':').at(-1)!), r.stderr);
      assert.match(r.stderr, /can't create \/hostetc\/passwd: Permission denied/);
      assert.match(r.stderr, /touch: \/hostetc\/tsc-pwned: Permission denied/);
    }
    assert.equal(hashOf('/etc/passwd'), passwd);
    assert.equal(existsSync('/etc/tsc-pwned'), false);
  });

  it('keeps one user\'s containers out of another user\'s reach', async (t) => {
    const f = await ready(t);
    if (!f) return;
    const run = tscAs(f.host);
    const { id, pid } = await sleeper(run, f.image);
    const other = { uid: f.host.nosubUid, name: f.host.nosubUser };
    const otherEnv = userEnv(other.uid, other.name);
    const tscOther = (env: Record<string, string>, ...args: string[]) => runAs(tsc!, args, { uid: other.uid, env: { ...otherEnv, ...env } });

    // its own tsc knows no containers; pointed at the first user's store it cannot open it
    const own = await tscOther({}, 'ps', '-a', '-q');
    assert.equal(own.status, 0, own.stderr);
    assert.equal(own.stdout, '');
    for (const args of [['ps', '-a'], ['exec', id, 'true'], ['kill', id], ['rm', '-f', id]]) {
      const r = await tscOther({ TSC_STORAGE_ROOT: store, TSC_RUNTIME_DIR: `/run/user/${f.host.uid}/tsc` }, ...args);
      assert.equal(r.status, 125, `${args.join(' ')}: ${r.stdout}`);
      assert.match(r.stderr, /permission denied|EACCES/i, `${args.join(' ')}: ${r.stderr}`);
    }

    const socket = attachSocketPath(`/run/user/${f.host.uid}/tsc`, id);
    assert.ok(existsSync(socket));
    const attempts = await shAs(other.uid, other.name, [
      `kill -9 ${pid}; echo kill=$?`,
      `busybox nc local:${socket} </dev/null; echo connect=$?`,
      `cat ${store}/containers/${id}/config.json; echo read=$?`,
      `ls ${store}/containers; echo list=$?`,
      `ls /proc/${pid}/root/; echo root=$?`,
      `cat /proc/${pid}/environ; echo environ=$?`,
    ].join('; '));
    assert.equal(attempts.stdout, 'kill=1\nconnect=1\nread=1\nlist=2\nroot=2\nenviron=1\n', attempts.stderr);
    assert.match(attempts.stderr, new RegExp(`kill: \\d*:? ?(No such process|Operation not permitted|${pid}: Operation not permitted)`));
    assert.equal((attempts.stderr.match(/Permission denied/g) ?? []).length >= 4, true, attempts.stderr);
    const home = `/home/${f.host.user}/.local/share/tsc`;
    if (existsSync(home)) {
      const r = await shAs(other.uid, other.name, `ls ${home}/containers`);
      assert.match(r.stderr, /Permission denied/);
    }
    const live = await run('container', 'inspect', '--format', '{{.State.Running}}', id);
    assert.equal(live.stdout, 'true\n', 'the other user stopped the container');
    assert.equal((await run('rm', '-f', id)).status, 0);
  });
});
