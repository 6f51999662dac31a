/**
 * Times the native helper alone, run by the `run` suite as the test user:
 *
 *   node bench/helper-alone.ts HELPER CONFIG RUNS
 *
 * spawns `HELPER run` RUNS times (after 3 untimed runs) with CONFIG (helper configuration
 * lines, docs/helper-protocol.md) written to its message socket on fd 3, the way
 * src/engine/sys/helper.ts does, and prints the wall times in ms as a JSON array. Each
 * time runs from spawn to the helper's exit: namespaces, id maps, the overlay and other
 * mounts, pivot_root, seccomp, exec of the container's program and its exit, without
 * Node's start-up, the database or the monitor.
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import type { Writable } from 'node:stream';

const [helper, configFile, runsText] = process.argv.slice(2);
if (!helper || !configFile || !runsText) {
  process.stderr.write('usage: node bench/helper-alone.ts HELPER CONFIG RUNS\n');
  process.exit(2);
}
const config = readFileSync(configFile, 'utf8');

function once(): Promise<number> {
  const started = performance.now();
  const child = spawn(helper!, ['run'], { stdio: ['ignore', 'ignore', 'pipe', 'pipe'] });
  let stderr = '';
  let messages = '';
  child.stderr!.on('data', (b: Buffer) => (stderr += b.toString()));
  const channel = child.stdio[3] as Writable & NodeJS.ReadableStream;
  channel.on('data', (b: Buffer) => (messages += b.toString()));
  channel.end(config);
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (status) => {
      const elapsed = performance.now() - started;
      if (status === 0) resolve(elapsed);
      else reject(new Error(`${helper} run exited with ${status}: ${stderr}${messages}`));
    });
  });
}

const times: number[] = [];
for (let i = 0; i < 3 + Number(runsText); i++) {
  const ms = await once();
  if (i >= 3) times.push(ms);
}
process.stdout.write(`${JSON.stringify(times)}\n`);
