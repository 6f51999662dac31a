/**
 * A second, real docker-registry with htpasswd (Basic) authentication, on a free port of
 * 127.0.0.1, storing into a temp dir; stopped when the test ends.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { requires } from './env.ts';
import { requiresRegistry, tempDir } from './registry-fixtures.ts';

export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** Starts it with one user; resolves to its host:port. */
export async function basicRegistry(t: TestContext, user: { username: string; password: string }): Promise<string | undefined> {
  if ((await requiresRegistry(t)) === undefined) return undefined;
  if (!requires(t, spawnSync('htpasswd', ['-h']).error === undefined, 'htpasswd is not installed (apache2-utils)')) return undefined;
  if (!requires(t, spawnSync('docker-registry', ['--version']).status === 0, 'docker-registry is not installed')) return undefined;
  const dir = tempDir(t, 'basic-registry');
  const hashed = spawnSync('htpasswd', ['-Bbn', user.username, user.password], { encoding: 'utf8' });
  assert.equal(hashed.status, 0, hashed.stderr);
  writeFileSync(join(dir, 'htpasswd'), hashed.stdout);
  const host = `127.0.0.1:${await freePort()}`;
  writeFileSync(join(dir, 'config.yml'), [
    'version: 0.1',
    'log: {level: error}',
    `storage: {filesystem: {rootdirectory: ${join(dir, 'data')}}, delete: {enabled: true}}`,
    `http: {addr: "${host}"}`,
    `auth: {htpasswd: {realm: tsc-basic, path: ${join(dir, 'htpasswd')}}}`,
  ].join('\n'));
  const child = spawn('docker-registry', ['serve', join(dir, 'config.yml')], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  t.after(() => {
    child.kill('SIGTERM');
  });
  for (let i = 0; i < 100; i++) {
    const status = await fetch(`http://${host}/v2/`).then((r) => r.status, () => 0);
    if (status === 401) return host;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  assert.fail(`docker-registry with htpasswd did not start on ${host}: ${stderr}`);
}

