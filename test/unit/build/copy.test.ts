/**
 * COPY and ADD planning against real directories: the destination rules (file vs
 * directory, trailing slash, an existing directory, several sources), wildcards,
 * .dockerignore with an exception, --chown/--chmod, heredocs, a local tar unpacked by ADD,
 * and the errors that name the step.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, describe, test } from 'node:test';
import { copyEntries, type CopyPlan } from '../../../src/engine/build/copy.ts';
import type { AddInstruction, CopyInstruction } from '../../../src/engine/build/dockerfile/instruction-types.ts';
import { parseIgnore } from '../../../src/engine/build/ignore.ts';
import { tarBuffer } from '../../../src/engine/layers/tar-write.ts';
import { removeTree } from '../../../src/engine/sys/files.ts';

const scratch = mkdtempSync(join(tmpdir(), 'tsc-copy-'));
after(() => removeTree(scratch));
const context = join(scratch, 'ctx');
const layer = join(scratch, 'layer');
for (const dir of [join(context, 'src', 'sub'), join(context, 'logs'), join(layer, 'srv', 'existing')]) mkdirSync(dir, { recursive: true });
writeFileSync(join(context, 'a.txt'), 'a');
writeFileSync(join(context, 'b.txt'), 'b');
writeFileSync(join(context, 'src', 'main.js'), 'main');
writeFileSync(join(context, 'src', 'sub', 'util.js'), 'util');
writeFileSync(join(context, 'logs', 'keep.log'), 'keep');
writeFileSync(join(context, 'logs', 'drop.log'), 'drop');
symlinkSync('main.js', join(context, 'src', 'link.js'));

function copy(sources: string[], dest: string, over: Partial<CopyInstruction> = {}): CopyInstruction {
  return {
    kind: 'COPY', startLine: 1, endLine: 1, original: `COPY ${sources.join(' ')} ${dest}`,
    sources: sources.map((path) => ({ kind: 'path', path })), dest, chown: null, chmod: null, link: false, exclude: [], from: null, parents: false, ...over,
  };
}

function plan(instruction: CopyPlan['instruction'], over: Partial<CopyPlan> = {}): CopyPlan {
  return {
    instruction, source: { layers: [context], ignore: parseIgnore('logs\n!logs/keep.log'), name: 'build context' },
    workdir: '/', chown: undefined, chmod: undefined, target: [layer], containerUid: (id) => id, containerGid: (id) => id, now: 1000, ...over,
  };
}

async function paths(p: CopyPlan): Promise<string[]> {
  const out: string[] = [];
  for await (const entry of copyEntries(p)) out.push(`${entry.type === 'directory' ? 'd' : entry.type === 'symlink' ? 'l' : 'f'} ${entry.path}`);
  return out;
}

describe('COPY destinations', () => {
  test('a file to a path without a slash is that path; with a slash it keeps its name', async () => {
    assert.deepEqual(await paths(plan(copy(['a.txt'], '/opt/renamed')), ), ['d opt/', 'f opt/renamed']);
    assert.deepEqual(await paths(plan(copy(['a.txt'], '/opt/'))), ['d opt/', 'f opt/a.txt']);
  });
  test('an existing directory takes the file by name; a relative destination is below WORKDIR', async () => {
    assert.deepEqual(await paths(plan(copy(['a.txt'], '/srv/existing'))), ['d srv/', 'd srv/existing/', 'f srv/existing/a.txt']);
    assert.deepEqual(await paths(plan(copy(['a.txt'], 'x/'), { workdir: '/work' })), ['d work/', 'd work/x/', 'f work/x/a.txt']);
  });
  test('a directory copies its contents, symlinks as symlinks', async () => {
    assert.deepEqual(await paths(plan(copy(['src'], '/app'))), ['d app/', 'l app/link.js', 'f app/main.js', 'd app/sub/', 'f app/sub/util.js']);
  });
  test('several sources and wildcards need a directory destination', async () => {
    assert.deepEqual(await paths(plan(copy(['*.txt'], '/t/'))), ['d t/', 'f t/a.txt', 'f t/b.txt']);
    await assert.rejects(paths(plan(copy(['a.txt', 'b.txt'], '/t'))), /destination must be a directory and end with a \//);
  });
  test('.dockerignore hides files; an exception keeps its directory visible', async () => {
    assert.deepEqual(await paths(plan(copy(['logs'], '/logs/'))), ['d logs/', 'f logs/keep.log']);
    await assert.rejects(paths(plan(copy(['logs/drop.log'], '/x'))), /COPY failed: logs\/drop.log: not found in the build context \(or excluded by \.dockerignore\)/);
    await assert.rejects(paths(plan(copy(['nothere'], '/x'))), /not found/);
    await assert.rejects(paths(plan(copy(['*.md'], '/x/'))), /no source files match/);
  });
  test('--chown and --chmod apply to what is copied and to the directories made for it', async () => {
    const entries = [];
    for await (const e of copyEntries(plan(copy(['a.txt'], '/new/dir/'), { chown: { uid: 7, gid: 8 }, chmod: 0o600 }))) entries.push(e);
    assert.deepEqual(entries.map((e) => [e.path, e.uid, e.gid, e.mode]), [['new/', 7, 8, 0o755], ['new/dir/', 7, 8, 0o755], ['new/dir/a.txt', 7, 8, 0o600]]);
  });
  test('a heredoc source is a file', async () => {
    const instr = copy([], '/etc/motd');
    instr.sources = [{ kind: 'heredoc', name: 'EOF', content: 'hi\n', expand: false }];
    assert.deepEqual(await paths(plan(instr)), ['d etc/', 'f etc/motd']);
  });
});

describe('ADD', () => {
  test('a local tar is unpacked into the destination; a URL is refused', async () => {
    writeFileSync(join(context, 'files.tar'), await tarBuffer([{ path: 'x/', type: 'directory' }, { path: 'x/y.txt', type: 'file', body: 'y', uid: 5 }]));
    const add: AddInstruction = { ...copy(['files.tar'], '/srv/'), kind: 'ADD', keepGitDir: null, checksum: null, unpack: null };
    const entries = [];
    for await (const e of copyEntries(plan(add))) entries.push(e);
    assert.deepEqual(entries.map((e) => `${e.path} ${e.uid}`), ['srv/ 0', 'srv/x/ 0', 'srv/x/y.txt 5']);
  });

  test('a URL is fetched as a file (0600, Last-Modified), checked against --checksum; COPY refuses URLs', async () => {
    const server = createServer((req, res) => {
      if (req.url === '/files/data.bin') {
        res.writeHead(200, { 'last-modified': 'Tue, 01 Jan 2030 00:00:00 GMT' });
        res.end('payload');
      } else {
        res.writeHead(404);
        res.end();
      }
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      const add = (url: string, dest: string, checksum: string | null = null): AddInstruction =>
        ({ ...copy([url], dest), kind: 'ADD', keepGitDir: null, checksum, unpack: null });
      const entries = [];
      for await (const e of copyEntries(plan(add(`${base}/files/data.bin`, '/dl/')))) entries.push(e);
      assert.deepEqual(entries.map((e) => [e.path, e.mode, e.mtime]), [['dl/', 0o755, 1000], ['dl/data.bin', 0o600, Date.UTC(2030, 0, 1) / 1000]]);
      assert.equal(String(entries[1]!.body), 'payload');
      const good = 'sha256:239f59ed55e737c77147cf55ad0c1b030b6d7ee748a7426952f9b852d5a935e5';
      assert.equal((await paths(plan(add(`${base}/files/data.bin`, '/f', good)))).at(-1), 'f f');
      await assert.rejects(paths(plan(add(`${base}/files/data.bin`, '/f', `sha256:${'0'.repeat(64)}`))), /has digest sha256:239f59ed.*not the --checksum/);
      await assert.rejects(paths(plan(add(`${base}/missing`, '/f'))), /HTTP 404/);
      await assert.rejects(paths(plan(copy([`${base}/files/data.bin`], '/f'))), /COPY cannot fetch a URL/);
      await assert.rejects(paths(plan(add('a.txt', '/f', good))), /--checksum applies to URLs only/);
    } finally {
      server.close();
    }
  });
});
