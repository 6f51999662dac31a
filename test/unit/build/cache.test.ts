/** Build cache keys and the RUN argv (heredocs, shells): pure parts of the executor. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { runArgv } from '../../../src/engine/build/steps.ts';
import { baseKey, contentHashed, stepKey } from '../../../src/engine/build/cache.ts';
import type { RunInstruction } from '../../../src/engine/build/dockerfile/instruction-types.ts';
import type { TarWriteEntry } from '../../../src/engine/layers/tar-write.ts';

async function digestOf(entries: TarWriteEntry[]): Promise<string> {
  const hashed = contentHashed((async function* () {
    yield* entries;
  })());
  for await (const entry of hashed.entries) {
    if (entry.body && typeof entry.body !== 'string' && !Buffer.isBuffer(entry.body)) for await (const chunk of entry.body) void chunk;
  }
  return hashed.digest();
}

describe('cache keys', () => {
  test('a key depends on its parent and on every part of the step', () => {
    const base = baseKey({ image: 'sha256:aaa' });
    assert.notEqual(base, baseKey({ image: 'sha256:bbb' }));
    assert.notEqual(base, baseKey({ scratch: 'linux/amd64' }));
    const one = stepKey(base, 'RUN', ['/bin/sh', '-c', 'echo hi'], [['A', '1']]);
    assert.equal(one, stepKey(base, 'RUN', ['/bin/sh', '-c', 'echo hi'], [['A', '1']]));
    assert.notEqual(one, stepKey(base, 'RUN', ['/bin/sh', '-c', 'echo hi'], [['A', '2']]));
    assert.notEqual(one, stepKey(baseKey({ image: 'sha256:bbb' }), 'RUN', ['/bin/sh', '-c', 'echo hi'], [['A', '1']]));
    assert.match(one, /^sha256:[0-9a-f]{64}$/);
  });
  test('the content digest of a COPY ignores times but not bytes, modes or owners', async () => {
    const file = (over: Partial<TarWriteEntry>): TarWriteEntry => ({ path: 'app/a', type: 'file', mode: 0o644, uid: 0, gid: 0, mtime: 1, body: 'abc', ...over });
    const base = await digestOf([file({})]);
    assert.equal(base, await digestOf([file({ mtime: 99 })]));
    assert.equal(base, await digestOf([file({ body: [Buffer.from('a'), Buffer.from('bc')], size: 3 })]));
    assert.notEqual(base, await digestOf([file({ body: 'abd' })]));
    assert.notEqual(base, await digestOf([file({ mode: 0o600 })]));
    assert.notEqual(base, await digestOf([file({ uid: 1 })]));
  });
});

function run(command: string, heredocs: RunInstruction['heredocs'] = []): RunInstruction {
  return { kind: 'RUN', startLine: 1, endLine: 1, original: `RUN ${command}`, command: { form: 'shell', command }, heredocs, mounts: [], network: null, security: null };
}

describe('RUN argv', () => {
  const sh = ['/bin/sh', '-c'];
  test('shell and exec forms', () => {
    assert.deepEqual(runArgv(run('echo hi'), sh), ['/bin/sh', '-c', 'echo hi']);
    assert.deepEqual(runArgv(run('echo hi'), ['/bin/bash', '-eo', 'pipefail', '-c']), ['/bin/bash', '-eo', 'pipefail', '-c', 'echo hi']);
    assert.deepEqual(runArgv({ ...run(''), command: { form: 'exec', args: ['/bin/echo', 'a b'] } }, sh), ['/bin/echo', 'a b']);
  });
  test('a lone heredoc is the script; one with a shebang is run by its interpreter', () => {
    const doc = { name: 'EOF', fd: null, chomp: false, expand: true, content: 'echo one\necho two\n' };
    assert.deepEqual(runArgv(run('<<EOF', [doc]), sh), ['/bin/sh', '-c', 'echo one\necho two\n']);
    const shebang = runArgv(run('<<EOF', [{ ...doc, content: '#!/bin/sh\necho x\n' }]), sh);
    assert.match(shebang[2]!, /cat > "\$f" <<'TSC_HEREDOC_EOF'\n#!\/bin\/sh\necho x\nTSC_HEREDOC_EOF\n/);
  });
  test('a heredoc fed to a command stays a heredoc for the shell', () => {
    const doc = { name: 'EOT', fd: null, chomp: false, expand: true, content: 'set -e\necho in\n' };
    assert.deepEqual(runArgv(run('<<EOT sh -x', [doc]), sh), ['/bin/sh', '-c', '<<EOT sh -x\nset -e\necho in\nEOT']);
  });
});
