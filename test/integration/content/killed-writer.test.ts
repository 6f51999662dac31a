/**
 * A process killed (SIGKILL) in the middle of writing a blob leaves no blob, only an
 * ingest file that the next cleanup removes; the next write of the same blob succeeds.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { createHash } from 'node:crypto';
import { ContentStore } from '../../../src/engine/content/store.ts';
import { ROOT } from '../../lib/stage.ts';

const dir = mkdtempSync(join(tmpdir(), 'tsc-killed-'));
after(() => rmSync(dir, { recursive: true, force: true }));

describe('a writer killed mid-blob', () => {
  it('leaves the store consistent and the next write succeeds', async () => {
    const root = join(dir, 'store');
    const script = join(dir, 'writer.ts');
    writeFileSync(script, `
      import { ContentStore } from ${JSON.stringify(join(ROOT, 'src/engine/content/store.ts'))};
      const s = new ContentStore(${JSON.stringify(root)});
      await s.init();
      const ingest = await s.ingest();
      const chunk = Buffer.alloc(65536, 1);
      for (let i = 0; ; i++) {
        await ingest.write(chunk);
        if (i === 16) process.stdout.write('writing\\n');
      }
    `);
    const child = spawn(process.execPath, [script], { stdio: ['ignore', 'pipe', 'inherit'] });
    await new Promise<void>((resolve) => child.stdout.once('data', () => resolve()));
    child.kill('SIGKILL');
    await new Promise((resolve) => child.once('close', resolve));

    const store = new ContentStore(root);
    assert.deepEqual(readdirSync(join(root, 'blobs', 'sha256')), [], 'no blob appeared');
    assert.equal(readdirSync(join(root, 'ingest')).length, 1, 'one partial ingest file is left');
    assert.equal(await store.cleanIngests(0), 1);
    const bytes = Buffer.alloc(65536 * 20, 1);
    const info = await store.put(bytes);
    assert.equal(info.digest, `sha256:${createHash('sha256').update(bytes).digest('hex')}`);
  });
});
