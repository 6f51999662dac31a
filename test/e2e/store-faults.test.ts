/**
 * The store survives what goes wrong: a pull killed with SIGKILL at an arbitrary moment
 * leaves nothing visible and the next pull succeeds; a blob corrupted on disk is found by
 * `tsc system check`, removed by `--repair`, and a new pull restores the image.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, describe, it } from 'node:test';
import { requires, requiresTestHost, type TestHost } from '../lib/env.ts';
import { requiresRegistry, richLayout, skopeoPush, uniqueRepository } from '../lib/registry-fixtures.ts';
import { DIST_TSC, staged } from '../lib/stage.ts';
import { asUserArgv, runAs, userEnv } from '../lib/users.ts';
import { FaultProxy } from '../integration/registry/fault-proxy.ts';
import type { CheckReport, ImageSummary } from '../../src/engine/index.ts';

const tsc = staged(DIST_TSC);

/**
 * A store of its own: `system check --grace 0` removes any scratch files it finds, which
 * would include those of other tests running at the same time in a shared store.
 */
const stores = new Map<number, string>();
function storeOf(host: TestHost): string {
  let dir = stores.get(host.uid);
  if (!dir) {
    dir = mkdtempSync('/tmp/tsc-e2e-store-');
    chownSync(dir, host.uid, host.uid);
    stores.set(host.uid, dir);
  }
  return dir;
}
after(() => {
  for (const dir of stores.values()) rmSync(dir, { recursive: true, force: true });
});

function as(host: TestHost) {
  return { uid: host.uid, cgroup: host.cgroup, env: { ...userEnv(host.uid, host.user), TSC_STORAGE_ROOT: storeOf(host) } };
}

async function images(host: TestHost): Promise<ImageSummary[]> {
  const r = await runAs(tsc!, ['images', '--format', 'json'], as(host));
  assert.equal(r.status, 0, r.stderr);
  return r.stdout.trim() === '' ? [] : r.stdout.trim().split('\n').map((l) => JSON.parse(l) as ImageSummary);
}

describe('store consistency under faults (rootless)', () => {
  it('a pull killed with SIGKILL leaves no image behind, and the next pull succeeds', async (t) => {
    const host = requiresTestHost(t);
    if (!host || !requires(t, tsc !== undefined, 'dist/tsc is not built')) return;
    const registry = await requiresRegistry(t);
    if (!registry) return;
    const layout = await richLayout(t);
    const repo = uniqueRepository('killed');
    skopeoPush(layout, registry, repo);
    const name = `${registry}/${repo}:rich`;
    const store = storeOf(host);

    // kill at increasing delays until one lands mid-pull (the pull takes ~100 ms here)
    let killedMidway = false;
    for (const delay of [5, 20, 40, 60, 80, 120]) {
      const child = spawn('/bin/sh', asUserArgv(tsc!, ['pull', name], as(host)), { env: as(host).env, stdio: 'ignore' });
      await sleep(delay);
      child.kill('SIGKILL');
      const status = await new Promise<number | null>((resolve) => child.once('close', (code) => resolve(code)));
      if (status === null && !(await images(host)).some((i) => i.Repository === `${registry}/${repo}`)) {
        killedMidway = true;
        break;
      }
      await runAs(tsc!, ['rmi', name], as(host));
    }
    assert.ok(killedMidway, 'a pull was killed before it finished');
    assert.ok(!(await images(host)).some((i) => i.Repository === `${registry}/${repo}`), 'the killed pull left no image');

    const again = await runAs(tsc!, ['pull', name], as(host));
    assert.equal(again.status, 0, again.stderr);
    const row = (await images(host)).find((i) => i.Repository === `${registry}/${repo}`);
    assert.equal(row?.ID, layout.images[0]!.config.digest);

    // whatever the killed pull left is reported and cleaned by the check (no grace period)
    const check = await runAs(tsc!, ['system', 'check', '--repair', '--grace', '0', '--format', 'json'], as(host));
    assert.equal(check.status, 0, check.stdout + check.stderr);
    const report = JSON.parse(check.stdout) as CheckReport;
    assert.ok(report.problems.every((p) => ['stale-ingest', 'stale-scratch', 'unfinished-pull', 'orphan-blob', 'orphan-layer'].includes(p.kind)), JSON.stringify(report.problems));
    assert.deepEqual(readdirSync(join(store, 'oci', 'ingest')), []);
    assert.deepEqual(readdirSync(join(store, 'tmp')), []);
    const clean = JSON.parse((await runAs(tsc!, ['system', 'check', '--format', 'json'], as(host))).stdout) as CheckReport;
    assert.deepEqual(clean.problems, []);
    assert.equal((await runAs(tsc!, ['rmi', name], as(host))).status, 0);
  });

  it('finds a corrupt blob, removes it on repair, and a new pull restores the image', async (t) => {
    const host = requiresTestHost(t);
    if (!host || !requires(t, tsc !== undefined, 'dist/tsc is not built')) return;
    const registry = await requiresRegistry(t);
    if (!registry) return;
    const layout = await richLayout(t);
    const repo = uniqueRepository('corrupt');
    skopeoPush(layout, registry, repo);
    const name = `${registry}/${repo}:rich`;
    assert.equal((await runAs(tsc!, ['pull', '-q', name], as(host))).status, 0);
    const layer = layout.images[0]!.layers[1]!.digest;
    const blob = `${storeOf(host)}/oci/blobs/sha256/${layer.slice(7)}`;
    writeFileSync(blob, 'bit rot');

    const found = await runAs(tsc!, ['system', 'check'], as(host));
    assert.equal(found.status, 1);
    assert.match(found.stdout, new RegExp(`found: corrupt-blob ${layer}`));
    const repaired = await runAs(tsc!, ['system', 'check', '--repair'], as(host));
    assert.match(repaired.stdout, new RegExp(`repaired: corrupt-blob ${layer}`));
    assert.equal(existsSync(blob), false);

    // the image still exists but needs its blob: pulling again restores it
    const again = await runAs(tsc!, ['pull', name], as(host));
    assert.equal(again.status, 0, again.stderr);
    assert.ok(existsSync(blob));
    const clean = JSON.parse((await runAs(tsc!, ['system', 'check', '--format', 'json'], as(host))).stdout) as CheckReport;
    assert.deepEqual(clean.problems, []);
    assert.equal((await runAs(tsc!, ['rmi', name], as(host))).status, 0);
  });

  it('two pulls of the same image at once both succeed and store it once; an rmi meanwhile leaves it consistent', async (t) => {
    const host = requiresTestHost(t);
    if (!host || !requires(t, tsc !== undefined, 'dist/tsc is not built')) return;
    const registry = await requiresRegistry(t);
    if (!registry) return;
    const layout = await richLayout(t);
    const repo = uniqueRepository('twice');
    skopeoPush(layout, registry, repo);
    const name = `${registry}/${repo}:rich`;
    const [a, b] = await Promise.all([runAs(tsc!, ['pull', name], as(host)), runAs(tsc!, ['pull', name], as(host))]);
    assert.equal(a.status, 0, a.stderr);
    assert.equal(b.status, 0, b.stderr);
    assert.equal((await images(host)).filter((i) => i.Repository === `${registry}/${repo}`).length, 1);
    const layers = readdirSync(join(storeOf(host), 'layers'));
    assert.ok(layers.includes(layout.images[0]!.diffIds[0]!.slice(7)), 'each layer unpacked once, under its chain id');

    // a pull racing an rmi of the same image: whichever wins, the store stays consistent
    const [pulled, removed] = await Promise.all([runAs(tsc!, ['pull', name], as(host)), runAs(tsc!, ['rmi', name], as(host))]);
    assert.equal(pulled.status, 0, pulled.stderr);
    assert.ok(removed.status === 0 || /no such image/.test(removed.stderr), removed.stderr);
    const check = JSON.parse((await runAs(tsc!, ['system', 'check', '--format', 'json'], as(host))).stdout) as CheckReport;
    assert.deepEqual(check.problems.filter((p) => p.kind === 'missing-blob' || p.kind === 'corrupt-blob' || p.kind === 'missing-layer'), []);
    await runAs(tsc!, ['rmi', name], as(host));
  });
});

describe('pull through a misbehaving registry (rootless)', () => {
  it('survives a cut-off layer download, a 500, a 429 and a registry that ignores Range', async (t) => {
    const host = requiresTestHost(t);
    if (!host || !requires(t, tsc !== undefined, 'dist/tsc is not built')) return;
    const registry = await requiresRegistry(t);
    if (!registry) return;
    const layout = await richLayout(t);
    const repo = uniqueRepository('faulty');
    skopeoPush(layout, registry, repo);
    const proxy = await FaultProxy.start(registry);
    t.after(() => proxy.close());
    const blobs = new RegExp(`/v2/${repo}/blobs/sha256:`);
    proxy.inject(
      { path: new RegExp(`/v2/${repo}/manifests/`), action: { status: 500 } },
      { path: blobs, method: 'GET', action: { status: 429, headers: { 'retry-after': '0' } } },
      { path: blobs, method: 'GET', action: { truncateAfter: 100 } },
      { path: blobs, method: 'GET', action: { stripRange: true } },
    );
    const name = `${proxy.host}/${repo}:rich`;
    const pulled = await runAs(tsc!, ['pull', name], as(host));
    assert.equal(pulled.status, 0, pulled.stderr);
    assert.ok(proxy.requests.some((r) => r.fault && 'truncateAfter' in r.fault), 'a download was cut off');
    assert.ok(proxy.requests.some((r) => r.fault && 'stripRange' in r.fault), 'a resume was answered from the start');
    const inspect = await runAs(tsc!, ['image', 'inspect', '--format', '{{.Id}}', name], as(host));
    assert.equal(inspect.stdout, `${layout.images[0]!.config.digest}\n`);
    const check = JSON.parse((await runAs(tsc!, ['system', 'check', '--format', 'json'], as(host))).stdout) as CheckReport;
    assert.deepEqual(check.problems.filter((p) => p.kind !== 'stale-ingest' && p.kind !== 'stale-scratch'), []);
    assert.equal((await runAs(tsc!, ['rmi', name], as(host))).status, 0);
  });
});
