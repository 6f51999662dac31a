/**
 * The native helper's fsops mode and its client (src/engine/sys/fsops.ts) against the
 * real kernel: xattrs (binary values, trusted.* and security.* as root, user.* as the
 * non-root test user on its own files), device nodes (the unprivileged 0:0 whiteout, EPERM
 * for any other device), symlinks never followed, and the protocol itself: malformed
 * requests answered and survived, thousands of pipelined requests answered in order.
 */
import assert from 'node:assert/strict';
import { chmodSync, chownSync, existsSync, lstatSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { after, describe, it } from 'node:test';
import { attachFsOps, FsOpsError, openFsOps, type FsOps } from '../../src/engine/sys/fsops.ts';
import type { ExtractOptions } from '../../src/engine/layers/extract-types.ts';
import { isPermissionError } from '../../src/engine/layers/whiteouts.ts';
import { TscError } from '../../src/engine/errors.ts';
import { startHelper } from '../lib/helper-client.ts';
import { IS_ROOT, requires, requiresTestHost, type TestHost } from '../lib/env.ts';
import { DIST_HELPER, staged } from '../lib/stage.ts';

const helper = staged(DIST_HELPER);
const NOT_BUILT = 'dist/native/tsc-helper is not built (npm run build)';
const scratch = mkdtempSync('/tmp/tsc-it-fsops-');
chmodSync(scratch, 0o755);
after(() => rmSync(scratch, { recursive: true, force: true }));

/** security.capability v2 (VFS_CAP_REVISION_2, effective): cap_net_bind_service permitted, bit 31 inheritable */
const CAPABILITY = Buffer.from('0100000200040000000000800000000000000000', 'hex');

function testUser(host: TestHost) {
  return { uid: host.uid, name: host.user };
}

/** fsops started as the test user (no user namespace), spoken to by the engine's client. */
async function fsopsAs(host: TestHost): Promise<{ ops: FsOps; child: ReturnType<typeof startHelper>['child'] }> {
  const { child, channel } = startHelper(helper!, 'fsops', testUser(host));
  return { ops: await attachFsOps(child, channel, helper!), child };
}

/** A fresh directory in scratch, owned by `uid`. */
function dirOwnedBy(uid: number, prefix: string): string {
  const dir = mkdtempSync(join(scratch, prefix));
  chownSync(dir, uid, uid);
  return dir;
}

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  assert.fail('expected a rejection');
}

async function assertErrno(promise: Promise<unknown>, code: string, syscall: string, path: string): Promise<FsOpsError> {
  const error = await rejection(promise);
  assert.ok(error instanceof FsOpsError, `not an FsOpsError: ${String(error)}`);
  assert.equal(error.code, code, error.message);
  assert.equal(error.syscall, syscall);
  assert.equal(error.path, path);
  assert.ok(error.message.includes(path), error.message);
  return error;
}

/** The raw protocol: sends `input`, then end of file; returns every line and the exit status. */
async function rawSession(input: string | Buffer, who: { uid: number; name: string }) {
  const { child, channel } = startHelper(helper!, 'fsops', who);
  const lines: Record<string, unknown>[] = [];
  createInterface({ input: channel, crlfDelay: Infinity }).on('line', (line) => lines.push(JSON.parse(line) as Record<string, unknown>));
  channel.end(input);
  const status = await new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  return { status, lines };
}

describe('helper fsops as root', { timeout: 60_000 }, () => {
  it('sets and reads back a binary security.capability value byte-exact', async (t) => {
    if (!requires(t, IS_ROOT, 'security.* and trusted.* xattrs need root') || !requires(t, helper !== undefined, NOT_BUILT)) return;
    const file = join(mkdtempSync(join(scratch, 'cap-')), 'ping');
    writeFileSync(file, '');
    const ops = await openFsOps(helper!);
    await ops.setXattr(file, 'security.capability', CAPABILITY);
    assert.deepEqual(await ops.getXattr(file, 'security.capability'), CAPABILITY);
    assert.ok((await ops.listXattrs(file)).includes('security.capability'));
    await ops.close();
  });

  it('sets trusted.overlay.opaque, and trusted.* on a symlink itself, never its target', async (t) => {
    if (!requires(t, IS_ROOT, 'trusted.* xattrs need root') || !requires(t, helper !== undefined, NOT_BUILT)) return;
    const dir = mkdtempSync(join(scratch, 'trusted-'));
    mkdirSync(join(dir, 'opaque'));
    writeFileSync(join(dir, 'target'), '');
    symlinkSync('target', join(dir, 'link'));
    const ops = await openFsOps(helper!);
    await ops.setXattr(join(dir, 'opaque'), 'trusted.overlay.opaque', Buffer.from('y'));
    assert.equal((await ops.getXattr(join(dir, 'opaque'), 'trusted.overlay.opaque')).toString(), 'y');
    await ops.setXattr(join(dir, 'link'), 'trusted.tsc', Buffer.from('on the link'));
    assert.equal((await ops.getXattr(join(dir, 'link'), 'trusted.tsc')).toString(), 'on the link');
    assert.deepEqual(await ops.listXattrs(join(dir, 'target')), []);
    await assertErrno(ops.getXattr(join(dir, 'target'), 'trusted.tsc'), 'ENODATA', 'lgetxattr', join(dir, 'target'));
    await ops.close();
  });

  it('rejects everything once the helper is gone', async (t) => {
    if (!requires(t, IS_ROOT, 'runs as root') || !requires(t, helper !== undefined, NOT_BUILT)) return;
    const { child, channel } = startHelper(helper!, 'fsops', { uid: 0, name: 'root' });
    const ops = await attachFsOps(child, channel, helper!);
    const dir = mkdtempSync(join(scratch, 'gone-'));
    child.kill('SIGKILL');
    const error = await rejection(ops.listXattrs(dir));
    assert.ok(error instanceof TscError && error.code === 'helper', String(error));
    assert.ok(await rejection(ops.close()) instanceof TscError);
    assert.ok(await rejection(ops.setXattr(dir, 'user.x', Buffer.from('x'))) instanceof TscError);
  });
});

describe('helper fsops as the test user (no user namespace)', { timeout: 60_000 }, () => {
  it('marks a directory opaque with user.overlay.opaque', async (t) => {
    const host = requiresTestHost(t);
    if (!host || !requires(t, helper !== undefined, NOT_BUILT)) return;
    const dir = dirOwnedBy(host.uid, 'opaque-');
    const { ops } = await fsopsAs(host);
    await ops.setXattr(dir, 'user.overlay.opaque', Buffer.from('y'));
    assert.equal((await ops.getXattr(dir, 'user.overlay.opaque')).toString(), 'y');
    assert.deepEqual(await ops.listXattrs(dir), ['user.overlay.opaque']);
    // an empty value, and one that needs more than 4 KiB of hex
    const big = Buffer.alloc(3000, 0xa5);
    await ops.setXattr(dir, 'user.empty', new Uint8Array(0));
    await ops.setXattr(dir, 'user.big', big);
    assert.equal((await ops.getXattr(dir, 'user.empty')).length, 0);
    assert.deepEqual(await ops.getXattr(dir, 'user.big'), big);
    // not its own: the kernel says no
    await assertErrno(ops.setXattr(scratch, 'user.x', Buffer.from('x')), 'EACCES', 'lsetxattr', scratch);
    await ops.close();
  });

  it('creates the 0:0 whiteout device without privilege, and gets EPERM for any other', async (t) => {
    const host = requiresTestHost(t);
    if (!host || !requires(t, helper !== undefined, NOT_BUILT)) return;
    const dir = dirOwnedBy(host.uid, 'mknod-');
    const { ops } = await fsopsAs(host);
    await ops.mknod(join(dir, 'whiteout'), 'char', 0o600, 0, 0);
    const st = lstatSync(join(dir, 'whiteout'));
    assert.ok(st.isCharacterDevice());
    assert.equal(st.rdev, 0);
    assert.equal(st.uid, host.uid);
    assert.equal(st.mode & 0o7777, 0o600);
    const error = await assertErrno(ops.mknod(join(dir, 'null'), 'char', 0o666, 1, 3), 'EPERM', 'mknod', join(dir, 'null'));
    assert.equal(error.errno, -1);
    assert.match(error.message, /c 1:3/);
    assert.ok(isPermissionError(error), 'the extractor skips such a device');
    assert.equal(existsSync(join(dir, 'null')), false);
    await ops.mknod(join(dir, 'fifo'), 'fifo', 0o640, 0, 0);
    assert.ok(lstatSync(join(dir, 'fifo')).isFIFO());
    await ops.close();
  });

  it('never replaces or follows what is already there (EEXIST)', async (t) => {
    const host = requiresTestHost(t);
    if (!host || !requires(t, helper !== undefined, NOT_BUILT)) return;
    const dir = dirOwnedBy(host.uid, 'eexist-');
    writeFileSync(join(dir, 'file'), 'keep');
    symlinkSync('missing', join(dir, 'dangling'));
    const { ops } = await fsopsAs(host);
    const error = await assertErrno(ops.mknod(join(dir, 'file'), 'char', 0o600, 0, 0), 'EEXIST', 'mknod', join(dir, 'file'));
    assert.equal(isPermissionError(error), false, 'the extractor fails on this one');
    assert.ok(lstatSync(join(dir, 'file')).isFile());
    await assertErrno(ops.mknod(join(dir, 'dangling'), 'fifo', 0o600, 0, 0), 'EEXIST', 'mknod', join(dir, 'dangling'));
    assert.equal(existsSync(join(dir, 'missing')), false);
    await ops.close();
  });

  it('sets user.* on a symlink itself: EPERM, and the target stays unchanged', async (t) => {
    const host = requiresTestHost(t);
    if (!host || !requires(t, helper !== undefined, NOT_BUILT)) return;
    const dir = dirOwnedBy(host.uid, 'symlink-');
    writeFileSync(join(dir, 'target'), '');
    chownSync(join(dir, 'target'), host.uid, host.uid);
    symlinkSync('target', join(dir, 'link'));
    const { ops } = await fsopsAs(host);
    await assertErrno(ops.setXattr(join(dir, 'link'), 'user.x', Buffer.from('x')), 'EPERM', 'lsetxattr', join(dir, 'link'));
    assert.deepEqual(await ops.listXattrs(join(dir, 'target')), []);
    await ops.close();
  });

  it('takes paths with spaces, including leading, doubled and trailing ones', async (t) => {
    const host = requiresTestHost(t);
    if (!host || !requires(t, helper !== undefined, NOT_BUILT)) return;
    const dir = dirOwnedBy(host.uid, 'spaces-');
    const sub = join(dir, ' a dir');
    mkdirSync(sub);
    chownSync(sub, host.uid, host.uid);
    const { ops } = await fsopsAs(host);
    const file = join(sub, 'two  spaces ');
    await ops.mknod(file, 'char', 0o644, 0, 0);
    assert.ok(lstatSync(file).isCharacterDevice());
    await ops.setXattr(sub, 'user.overlay.opaque', Buffer.from('y'));
    assert.equal((await ops.getXattr(sub, 'user.overlay.opaque')).toString(), 'y');
    await ops.close();
  });

  it('rejects what the protocol cannot carry before sending it', async (t) => {
    const host = requiresTestHost(t);
    if (!host || !requires(t, helper !== undefined, NOT_BUILT)) return;
    const { ops } = await fsopsAs(host);
    const newline = await rejection(ops.mknod(join(scratch, 'a\nb'), 'fifo', 0o600, 0, 0));
    assert.ok(newline instanceof TscError && newline.code === 'unsupported', String(newline));
    assert.ok(isPermissionError(newline), 'the extractor skips such a device');
    const space = await rejection(ops.setXattr(scratch, 'user.a b', Buffer.from('x')));
    assert.ok(space instanceof TscError && space.code === 'unsupported', String(space));
    const relative = await rejection(ops.listXattrs('relative'));
    assert.ok(relative instanceof TscError && relative.code === 'internal', String(relative));
    assert.deepEqual(await ops.listXattrs(scratch), [], 'still serving');
    await ops.close();
  });

  it('answers malformed requests with EINVAL and keeps serving', async (t) => {
    const host = requiresTestHost(t);
    if (!host || !requires(t, helper !== undefined, NOT_BUILT)) return;
    const dir = dirOwnedBy(host.uid, 'malformed-');
    const requests = [
      'bogus /x',
      '',
      'lsetxattr user.x zz ' + dir,
      'lsetxattr user.x 0 ' + dir,
      'lsetxattr user.x 00',
      'lsetxattr  00 ' + dir,
      'lgetxattr user.x relative',
      'mknod x 644 0 0 ' + join(dir, 'n'),
      'mknod c 9 0 0 ' + join(dir, 'n'),
      'mknod c 644 4096 0 ' + join(dir, 'n'),
      'mknod c 644 -1 0 ' + join(dir, 'n'),
      'llistxattr  ' + dir,
      'lgetxattr user.x\0 ' + dir,
      'lsetxattr user.x ' + 'ab'.repeat(70_000) + ' ' + dir,
      'lsetxattr user.ok 6f6b ' + dir,
      'lgetxattr user.ok ' + dir,
    ];
    const { status, lines } = await rawSession(`${requests.join('\n')}\nllistxattr ${dir}`, testUser(host));
    assert.equal(status, 0);
    assert.deepEqual(lines[0], { type: 'event', name: 'ready' });
    assert.deepEqual(lines.at(-1), { type: 'done' });
    const replies = lines.slice(1, -1);
    assert.equal(replies.length, requests.length + 1, JSON.stringify(replies));
    for (const [i, reply] of replies.slice(0, -3).entries()) {
      assert.equal(reply.ok, false, `request ${i}`);
      assert.equal(reply.errname, 'EINVAL', `request ${i}: ${JSON.stringify(reply)}`);
      assert.equal(reply.errno, 22);
      assert.equal(typeof reply.message, 'string');
    }
    assert.match(String(replies[0]!.message), /unknown request bogus/);
    assert.match(String(replies[12]!.message), /NUL/);
    assert.match(String(replies[13]!.message), /longer than/);
    assert.deepEqual(replies.at(-3), { type: 'reply', ok: true });
    assert.deepEqual(replies.at(-2), { type: 'reply', ok: true, value: '6f6b' });
    // the last request had no newline: cut off, so not carried out
    assert.equal(replies.at(-1)!.errname, 'EINVAL');
    assert.match(String(replies.at(-1)!.message), /does not end with a newline/);
  });

  it('answers 5000 pipelined requests in order', async (t) => {
    const host = requiresTestHost(t);
    if (!host || !requires(t, helper !== undefined, NOT_BUILT)) return;
    const dir = dirOwnedBy(host.uid, 'pipelined-');
    const { ops } = await fsopsAs(host);
    const calls: Promise<unknown>[] = [];
    for (let i = 0; i < 5000; i++) {
      if (i % 3 === 0) calls.push(ops.setXattr(dir, 'user.counter', Buffer.from(String(i))));
      else if (i % 3 === 1) calls.push(ops.getXattr(dir, 'user.counter').then((v) => v.toString()));
      else calls.push(ops.getXattr(dir, 'user.absent'));
    }
    const started = performance.now();
    const results = await Promise.allSettled(calls);
    const ms = performance.now() - started;
    for (const [i, result] of results.entries()) {
      if (i % 3 === 0) assert.equal(result.status, 'fulfilled', `request ${i}`);
      else if (i % 3 === 1) assert.deepEqual(result, { status: 'fulfilled', value: String(i - 1) }, `request ${i}`);
      else assert.ok(result.status === 'rejected' && (result.reason as FsOpsError).code === 'ENODATA', `request ${i}`);
    }
    t.diagnostic(`5000 requests in ${ms.toFixed(0)} ms`);
    await ops.close();
  });

  it('ends with exit status 0 on close()', async (t) => {
    const host = requiresTestHost(t);
    if (!host || !requires(t, helper !== undefined, NOT_BUILT)) return;
    const { ops, child } = await fsopsAs(host);
    const pending = ops.listXattrs(scratch); // sent before close: still answered
    await ops.close();
    assert.deepEqual(await pending, []);
    assert.equal(child.exitCode, 0);
    assert.ok(await rejection(ops.listXattrs(scratch)) instanceof TscError);
    await ops.close(); // again: a no-op
  });

  it('plugs into the layer extractor as its setXattr and mknod hooks', async (t) => {
    const host = requiresTestHost(t);
    if (!host || !requires(t, helper !== undefined, NOT_BUILT)) return;
    const { ops } = await fsopsAs(host);
    const hooks: Pick<ExtractOptions, 'setXattr' | 'mknod'> = { setXattr: ops.setXattr, mknod: ops.mknod };
    const dir = dirOwnedBy(host.uid, 'hooks-');
    await hooks.mknod!(join(dir, 'wh'), 'char', 0o600, 0, 0); // unbound, as the extractor calls them
    await hooks.setXattr!(dir, 'user.overlay.opaque', Buffer.from('y'));
    assert.equal((await ops.getXattr(dir, 'user.overlay.opaque')).toString(), 'y');
    await ops.close();
  });
});
