/**
 * podman (4.3 on Debian 12) as the rootless test user, for interoperability tests. The
 * test host has no systemd user session, so podman is told to use runc with plain
 * cgroupfs and to log events to a file, and to store images with the overlay driver.
 * The files are written for that user only, and only when their content differs.
 */
import { spawnSync } from 'node:child_process';
import { chownSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { requires, type TestHost } from './env.ts';
import { runAs, userEnv, type Completed } from './users.ts';

const FILES: Record<string, string> = {
  'containers.conf': '[engine]\nruntime = "runc"\ncgroup_manager = "cgroupfs"\nevents_logger = "file"\n',
  'storage.conf': '[storage]\ndriver = "overlay"\n',
};

/** Writes the test user's podman configuration (idempotent). */
export function configurePodman(host: TestHost): void {
  const home = `/home/${host.user}`;
  let dir = home;
  for (const part of ['.config', 'containers']) {
    dir = join(dir, part);
    if (!existsSync(dir)) {
      mkdirSync(dir, { mode: 0o755 });
      chownSync(dir, host.uid, host.uid);
    }
  }
  for (const [name, content] of Object.entries(FILES)) {
    const path = join(dir, name);
    if (existsSync(path) && readFileSync(path, 'utf8') === content) continue;
    writeFileSync(path, content, { mode: 0o644 });
    chownSync(path, host.uid, host.uid);
  }
}

/** True when podman 4 is installed (configured for the test user); otherwise skips (locally) or fails (CI). */
export function requiresPodman(t: TestContext, host: TestHost): boolean {
  const version = spawnSync('podman', ['--version'], { encoding: 'utf8' });
  if (!requires(t, version.status === 0, 'podman is not installed (apt-get install podman)')) return false;
  configurePodman(host);
  return true;
}

/** Runs podman as the test user in its cgroup, with its environment. */
export function podman(host: TestHost, args: readonly string[], timeoutMs = 120_000): Promise<Completed> {
  return runAs('/usr/bin/podman', args, { uid: host.uid, cgroup: host.cgroup, env: userEnv(host.uid, host.user), timeoutMs });
}
