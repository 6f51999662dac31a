/**
 * The helper runs from a sealed in-memory copy of itself, so nothing that can reach
 * /proc/PID/exe (a container, later) can overwrite the binary on disk or the running one.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { openSync, closeSync, writeSync, readlinkSync, readFileSync, statSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, it } from 'node:test';
import { startHelper } from '../lib/helper-client.ts';
import { requires, requiresTestHost } from '../lib/env.ts';
import { DIST_HELPER, staged } from '../lib/stage.ts';
import { errnoCode } from '../../src/engine/errors.ts';

const helper = staged(DIST_HELPER);

describe('helper self-protection', () => {
  it('prints its version and protocol', (t) => {
    if (!requires(t, helper !== undefined, 'dist/native/tsc-helper is not built')) return;
    assert.match(execFileSync(helper!, ['--version']).toString(), /^tsc-helper \S+ 1\n$/);
  });

  it('is statically linked', (t) => {
    if (!requires(t, helper !== undefined, 'dist/native/tsc-helper is not built')) return;
    const elf = readFileSync(helper!);
    assert.equal(elf.subarray(0, 4).toString('latin1'), '\x7fELF');
    assert.equal(elf[4], 2, 'a 64-bit ELF');
    // A dynamically linked program has a PT_INTERP (type 3) program header naming ld.so.
    const phoff = Number(elf.readBigUInt64LE(0x20));
    const phentsize = elf.readUInt16LE(0x36);
    const phnum = elf.readUInt16LE(0x38);
    const types = Array.from({ length: phnum }, (_, i) => elf.readUInt32LE(phoff + i * phentsize));
    assert.ok(types.length > 0);
    assert.equal(types.includes(3), false, 'no program interpreter: statically linked');
  });

  it('re-executes from a sealed memfd that cannot be written', async (t) => {
    const host = requiresTestHost(t);
    if (!host || !requires(t, helper !== undefined, 'dist/native/tsc-helper is not built')) return;
    const before = statSync(helper!).mtimeMs;
    // Without its configuration the helper waits on fd 3, after the re-exec.
    const { child, channel } = startHelper(helper!, 'probe', { uid: host.uid, name: host.user });
    try {
      let exe = '';
      for (let i = 0; i < 100 && !exe.startsWith('/memfd:'); i++) {
        await sleep(20);
        try {
          exe = readlinkSync(`/proc/${child.pid}/exe`);
        } catch {
          exe = '';
        }
      }
      assert.match(exe, /^\/memfd:/, `the running helper is ${exe}`);
      // Even root cannot write the sealed executable.
      let writeError: string | undefined;
      try {
        const fd = openSync(`/proc/${child.pid}/exe`, 'r+');
        try {
          writeSync(fd, 'x');
        } finally {
          closeSync(fd);
        }
      } catch (error) {
        writeError = errnoCode(error);
      }
      assert.ok(writeError === 'EPERM' || writeError === 'ETXTBSY' || writeError === 'EACCES', `write gave ${writeError}`);
      assert.equal(statSync(helper!).mtimeMs, before, 'the binary on disk is untouched');
    } finally {
      channel.destroy();
      child.kill('SIGKILL');
    }
  });
});
