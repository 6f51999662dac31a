/**
 * The runtime floor of the `run` suite: the least any engine must do to run `true` in a
 * rootless container of the same busybox root file system, with no image store, no
 * database and no monitor. Preferably `runc run` of a prepared OCI bundle (`runc spec
 * --rootless` plus a network namespace, state under the user's runtime dir); when rootless
 * runc cannot run here, `unshare` (user, pid, mount and network namespaces, root mapped)
 * chrooting into the same root file system.
 */
import { chownSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { TestHost } from '../test/lib/env.ts';
import { outputAsUser, tryAsUser, type BenchCommand } from './as-user.ts';

export interface Floor {
  kind: 'runc' | 'unshare';
  /** what was tried first and why it was not used, when kind is unshare */
  why?: string;
  command: BenchCommand;
}

/**
 * Prepares the bundle in `dir` (owned by the user) from tsc's unpacked busybox layer and
 * returns the floor command that works here.
 */
export function prepareFloor(host: TestHost, dir: string, tscStore: string): Floor {
  const layers = readdirSync(join(tscStore, 'layers'));
  if (layers.length !== 1) throw new Error(`the floor needs the one-layer busybox image alone in ${tscStore}/layers, found ${layers.length} layers`);
  const rootfs = join(dir, 'rootfs');
  outputAsUser(host, ['sh', '-c', `rm -rf '${dir}' && mkdir -p '${rootfs}' && cp -a '${join(tscStore, 'layers', layers[0]!)}/.' '${rootfs}/' && cd '${dir}' && runc spec --rootless`]);
  const configPath = join(dir, 'config.json');
  const config = JSON.parse(readFileSync(configPath, 'utf8')) as { process: { args: string[]; terminal: boolean }; linux: { namespaces: { type: string }[] } };
  config.process.args = ['true'];
  config.process.terminal = false;
  // the rootless default shares the host's network; the engines' --network none does not
  config.linux.namespaces.push({ type: 'network' });
  writeFileSync(configPath, JSON.stringify(config, null, 2));
  chownSync(configPath, host.uid, host.uid);

  const runc: BenchCommand = { name: 'runc run (floor)', command: `runc --root /run/user/${host.uid}/tsc-bench-runc run --bundle ${dir} tsc-bench-floor` };
  const tried = tryAsUser(host, runc.command.split(' '));
  if (tried.ok) return { kind: 'runc', command: runc };
  const unshare: BenchCommand = {
    name: 'unshare+chroot (floor)',
    command: `unshare --user --map-root-user --pid --fork --mount --net --root ${rootfs} /bin/true`,
  };
  const fallback = tryAsUser(host, unshare.command.split(' '));
  if (!fallback.ok) throw new Error(`neither rootless runc nor unshare can run the floor here:\nrunc: ${tried.stderr}\nunshare: ${fallback.stderr}`);
  return { kind: 'unshare', why: `rootless runc failed: ${tried.stderr.trim().split('\n').pop() ?? ''}`, command: unshare };
}
