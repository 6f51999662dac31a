/**
 * `tsc pull` as the rootless test user, from the real registry, of an image that skopeo
 * pushed: files keep their owners, modes, xattrs and hardlinks (checked from inside a user
 * namespace, where the image's ids are what the container will see, and from the host,
 * where they are subordinate ids), whiteouts and opaque directories work in a real overlay
 * mount, pulling again fetches nothing, and removing the image removes its files.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, chownSync, readFileSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { requires, requiresTestHost, type TestHost } from '../lib/env.ts';
import { runHelperAs } from '../lib/helper-client.ts';
import { CAP_NET_RAW_V2, deviceLayout, requiresRegistry, richLayout, skopeoPush, uniqueRepository } from '../lib/registry-fixtures.ts';
import { DIST_HELPER, DIST_TSC, staged } from '../lib/stage.ts';
import { runAs, userEnv } from '../lib/users.ts';
import type { ImageSummary } from '../../src/engine/index.ts';

const tsc = staged(DIST_TSC);
const helper = staged(DIST_HELPER);

/** Runs a shell script as root inside the test user's user namespace (its full id map). */
async function inUserns(host: TestHost, script: string, mountns = false): Promise<string> {
  const config: [string, string][] = [];
  for (const key of ['uidmap', 'gidmap']) config.push([key, `0 ${host.uid} 1`], [key, `1 ${host.subidStart} ${host.subidCount}`]);
  config.push(['newuidmap', '/usr/bin/newuidmap'], ['newgidmap', '/usr/bin/newgidmap'], ['mountns', mountns ? '1' : '0'], ['cwd', '/']);
  config.push(['arg', '/bin/sh'], ['arg', '-ec'], ['arg', script], ['env', 'PATH=/usr/sbin:/usr/bin:/sbin:/bin']);
  const r = await runHelperAs(helper!, 'userns-exec', config, { uid: host.uid, name: host.user });
  const exited = r.messages.find((m) => m.type === 'event' && m.name === 'exited') as { status?: number } | undefined;
  assert.equal(exited?.status, 0, `script failed: ${script}\n${r.stdout}${r.stderr}${JSON.stringify(r.messages)}`);
  return r.stdout;
}

describe('tsc pull (rootless, real registry)', () => {
  it('pulls an image skopeo pushed, with owners, modes, xattrs, hardlinks and whiteouts intact', async (t) => {
    const host = requiresTestHost(t);
    if (!host || !requires(t, tsc !== undefined && helper !== undefined, 'dist/tsc is not built')) return;
    const registry = await requiresRegistry(t);
    if (!registry) return;
    const layout = await richLayout(t);
    const repo = uniqueRepository('rich');
    skopeoPush(layout, registry, repo);
    const image = layout.images[0]!;
    const name = `${registry}/${repo}:rich`;
    const as = { uid: host.uid, cgroup: host.cgroup, env: userEnv(host.uid, host.user) };

    const pulled = await runAs(tsc!, ['pull', name], as);
    assert.equal(pulled.status, 0, pulled.stderr);
    assert.match(pulled.stderr, /2 of 2 layers downloaded/);
    assert.equal(pulled.stderr.trim().split('\n').length, 1, 'one line when not a terminal');

    const listed = await runAs(tsc!, ['images', '--format', 'json'], as);
    assert.equal(listed.status, 0, listed.stderr);
    const rows = listed.stdout.trim().split('\n').map((l) => JSON.parse(l) as ImageSummary);
    const row = rows.find((r) => r.Repository === `${registry}/${repo}`);
    assert.ok(row, listed.stdout);
    assert.equal(row.Tag, 'rich');
    assert.equal(row.ID, image.config.digest);
    assert.equal(row.Digest, image.manifest.digest);

    const store = `/home/${host.user}/.local/share/tsc`;
    // the store is an OCI image layout an independent tool can read
    const viaSkopeo = JSON.parse(execFileSync('skopeo', ['inspect', `oci:${store}/oci:${name}`]).toString()) as { Digest: string; Layers: string[] };
    assert.equal(viaSkopeo.Digest, image.manifest.digest);
    assert.deepEqual(viaSkopeo.Layers, image.layers.map((l) => l.digest));
    const [diff1, diff2] = image.diffIds as [string, string];
    const { chainIds } = await import('../../src/engine/images/chain.ts');
    const [, chain2] = chainIds([diff1, diff2]);
    const l1 = join(store, 'layers', diff1.slice(7));
    const l2 = join(store, 'layers', chain2!.slice(7));

    // as the container will see them: inside the user namespace
    const seen = await inUserns(host, [
      `cd ${l1}`,
      "stat -c '%n %u:%g %a' var/www var/www/index.html bin/ping tmp etc/passwd",
      "stat -c '%i' bin/ping bin/ping-link",
      'getfattr --only-values -n security.capability bin/ping | od -An -tx1 | tr -d " \\n"; echo',
      'getfattr --only-values -n user.tsc.note etc/tagged; echo',
      `cd ${l2}`,
      "stat -c '%n %F %t:%T' etc/removeme",
      'getfattr --only-values -n user.overlay.opaque etc/opaque; echo',
      'ls -A etc/opaque',
    ].join('; '));
    const lines = seen.trim().split('\n');
    assert.deepEqual(lines.slice(0, 5), ['var/www 33:33 750', 'var/www/index.html 33:33 640', 'bin/ping 0:0 4755', 'tmp 0:0 1777', 'etc/passwd 0:0 644']);
    assert.equal(lines[5], lines[6], 'bin/ping-link is a hardlink of bin/ping');
    assert.equal(lines[7], CAP_NET_RAW_V2.toString('hex'), 'security.capability survives byte for byte');
    assert.equal(lines[8], 'hello');
    assert.equal(lines[9], 'etc/removeme character special file 0:0', 'a whiteout is a 0:0 device');
    assert.equal(lines[10], 'y', 'the opaque directory is marked');
    assert.equal(lines[11], 'new');

    // and from the host: the image's uid 33 is subordinate id start+32
    assert.equal(statSync(join(l1, 'var/www')).uid, host.subidStart + 32);
    assert.equal(statSync(join(l1, 'etc/passwd')).uid, host.uid);

    // a real overlay of the two layers shows what the image means
    const mnt = mkdtempSync('/tmp/tsc-e2e-ovl-');
    chownSync(mnt, host.uid, host.uid);
    try {
      const merged = await inUserns(host, `mount -t overlay overlay -o lowerdir=${l2}:${l1},userxattr ${mnt}; ls -A ${mnt}/etc; echo --; ls -A ${mnt}/etc/opaque`, true);
      assert.equal(merged, 'fixture-id\nopaque\npasswd\ntagged\n--\nnew\n');
    } finally {
      rmSync(mnt, { recursive: true, force: true });
    }

    const again = await runAs(tsc!, ['pull', name], as);
    assert.equal(again.status, 0, again.stderr);
    assert.match(again.stderr, /image is up to date/);

    const inspect = await runAs(tsc!, ['image', 'inspect', '--format', '{{.Id}} {{.Os}}/{{.Architecture}} {{.Config.Labels.fixture}} {{len .RootFS.Layers}}', name], as);
    assert.equal(inspect.stdout, `${image.config.digest} linux/amd64 rich 2\n`, inspect.stderr);

    const history = await runAs(tsc!, ['history', '--format', '{{.CreatedBy}}', name], as);
    assert.equal(history.stdout, 'whiteouts\nbase layer\n');

    const removed = await runAs(tsc!, ['rmi', name], as);
    assert.equal(removed.status, 0, removed.stderr);
    assert.equal(removed.stdout, `Untagged: ${name}\nDeleted: ${image.config.digest}\n`);
    assert.equal(existsSync(l1), false, 'unpacked layers are removed');
    assert.equal(existsSync(l2), false);
    assert.equal(existsSync(join(store, 'oci', 'blobs', 'sha256', image.layers[0]!.digest.slice(7))), false, 'blobs are removed');
    const index = JSON.parse(readFileSync(join(store, 'oci', 'index.json'), 'utf8')) as { manifests: { annotations?: Record<string, string> }[] };
    assert.ok(!index.manifests.some((m) => m.annotations?.['org.opencontainers.image.ref.name'] === name), 'index.json forgets a removed image');
    const gone = await runAs(tsc!, ['image', 'inspect', name], as);
    assert.equal(gone.status, 1);
    assert.match(gone.stderr, new RegExp(`Error: no such image: ${name.replaceAll('.', '\\.')}`));
  });
});

describe('tsc pull of an image with a device node (rootless)', () => {
  it('skips the device, says so, and still pulls the image', async (t) => {
    const host = requiresTestHost(t);
    if (!host || !requires(t, tsc !== undefined, 'dist/tsc is not built')) return;
    const registry = await requiresRegistry(t);
    if (!registry) return;
    const layout = await deviceLayout(t);
    const repo = uniqueRepository('dev');
    skopeoPush(layout, registry, repo);
    const name = `${registry}/${repo}:dev`;
    const as = { uid: host.uid, cgroup: host.cgroup, env: userEnv(host.uid, host.user) };
    const pulled = await runAs(tsc!, ['pull', name], as);
    assert.equal(pulled.status, 0, pulled.stderr);
    assert.match(pulled.stderr, /^note: layer [0-9a-f]{12}: 1 entry not unpacked: dev\/null: .*EPERM/m);
    assert.equal((await runAs(tsc!, ['rmi', name], as)).status, 0);
  });
});
