/**
 * `tsc save`, `tsc load` and `tsc import` as the rootless test user: an image skopeo
 * pushed survives save → rmi → load in both archive formats (same id, names, manifest and
 * files, and a second save is byte for byte the first); podman 4.3 loads what tsc saves
 * and tsc loads what podman saves; a root filesystem tarball becomes an image with its
 * --change settings; and every kind of broken archive is refused with a clear message,
 * leaving the store exactly as it was (checked with `tsc system check`).
 *
 * Each test has a store of its own (TSC_STORAGE_ROOT): other test files run `tsc system
 * check --repair --grace 0` on the user's default store, which removes the scratch files
 * of whatever runs there at the same time.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, chownSync, copyFileSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it, type TestContext } from 'node:test';
import { gzipSync } from 'node:zlib';
import { requires, requiresTestHost, type TestHost } from '../lib/env.ts';
import { podman, requiresPodman } from '../lib/podman.ts';
import { requiresRegistry, richLayout, sha256, skopeoPush, uniqueRepository } from '../lib/registry-fixtures.ts';
import { DIST_TSC, staged } from '../lib/stage.ts';
import { runAs, userEnv, type Completed } from '../lib/users.ts';
import { chainIds } from '../../src/engine/images/chain.ts';
import { readTar } from '../../src/engine/layers/tar.ts';
import { tarBuffer, type TarWriteEntry } from '../../src/engine/layers/tar-write.ts';
import type { CheckReport, ImageSummary } from '../../src/engine/index.ts';

const tsc = staged(DIST_TSC);
const blob = (digest: string) => `blobs/sha256/${digest.slice(7)}`;

/** The test user with a store of its own (in its home, removed afterwards). */
interface User {
  host: TestHost;
  root: string;
  env: Record<string, string>;
}

function userWithStore(t: TestContext, host: TestHost): User {
  const root = `/home/${host.user}/.local/share/tsc-e2e-${randomBytes(6).toString('hex')}`;
  t.after(() => rmSync(root, { recursive: true, force: true }));
  return { host, root, env: { ...userEnv(host.uid, host.user), TSC_STORAGE_ROOT: root, TSC: tsc! } };
}

function run(u: User, args: readonly string[]): Promise<Completed> {
  return runAs(tsc!, args, { uid: u.host.uid, cgroup: u.host.cgroup, env: u.env, timeoutMs: 120_000 });
}

function sh(u: User, script: string): Promise<Completed> {
  return runAs('/bin/sh', ['-c', script], { uid: u.host.uid, cgroup: u.host.cgroup, env: u.env, timeoutMs: 120_000 });
}

async function ok(result: Promise<Completed>): Promise<Completed> {
  const r = await result;
  assert.equal(r.status, 0, `${r.stdout}${r.stderr}`);
  return r;
}

/** A temp dir the test user may write to, removed afterwards. */
function userDir(t: TestContext, host: TestHost, prefix: string): string {
  const dir = mkdtempSync(`/tmp/tsc-e2e-${prefix}-`);
  chmodSync(dir, 0o755);
  chownSync(dir, host.uid, host.uid);
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** The regular files of a tar archive (small test archives only). */
async function archiveFiles(path: string): Promise<Map<string, Buffer>> {
  const files = new Map<string, Buffer>();
  for await (const entry of readTar([readFileSync(path)])) {
    if (entry.type !== 'file') continue;
    const parts: Buffer[] = [];
    for await (const chunk of entry.body) parts.push(chunk);
    files.set(entry.path, Buffer.concat(parts));
  }
  return files;
}

async function writeArchive(path: string, files: Iterable<[string, Buffer | string]>): Promise<void> {
  const entries: TarWriteEntry[] = [...files].map(([p, body]) => ({ path: p, type: 'file', body }));
  writeFileSync(path, await tarBuffer(entries), { mode: 0o644 });
}

async function images(u: User): Promise<ImageSummary[]> {
  const r = await ok(run(u, ['images', '--format', 'json']));
  return r.stdout.trim() === '' ? [] : r.stdout.trim().split('\n').map((l) => JSON.parse(l) as ImageSummary);
}

/** A root filesystem made of busybox, with a file owned by uid 33, tarred by GNU tar. */
function rootfsTarball(dir: string, salt: string): { path: string; bytes: Buffer } {
  const root = join(dir, 'rootfs');
  mkdirSync(join(root, 'bin'), { recursive: true });
  mkdirSync(join(root, 'etc'));
  mkdirSync(join(root, 'var/www'), { recursive: true });
  copyFileSync('/bin/busybox', join(root, 'bin/busybox'));
  symlinkSync('busybox', join(root, 'bin/sh'));
  writeFileSync(join(root, 'etc/motd'), `imported ${salt}\n`);
  chownSync(join(root, 'var/www'), 33, 33);
  const path = join(dir, 'rootfs.tar');
  execFileSync('tar', ['--sort=name', '--numeric-owner', '--mtime=@0', '-C', root, '-cf', path, '.']);
  chmodSync(path, 0o644);
  return { path, bytes: readFileSync(path) };
}

describe('tsc save, load and import (rootless)', () => {
  it('saves an image in both formats and loads it back with the same id, names, manifest and files', async (t) => {
    const host = requiresTestHost(t);
    if (!host || !requires(t, tsc !== undefined, 'dist/tsc is not built')) return;
    const registry = await requiresRegistry(t);
    if (!registry) return;
    const u = userWithStore(t, host);
    const layout = await richLayout(t);
    const repo = uniqueRepository('save');
    skopeoPush(layout, registry, repo);
    const image = layout.images[0]!;
    const name = `${registry}/${repo}:rich`;
    const work = userDir(t, host, 'save');
    await ok(run(u, ['pull', '-q', name]));

    const docker = join(work, 'image.tar');
    const oci = join(work, 'image-oci.tar');
    assert.equal((await ok(run(u, ['save', '-o', docker, name]))).stdout, '');
    await ok(run(u, ['image', 'save', '--format', 'oci-archive', '-o', oci, name]));

    // docker-archive: docker 25+'s layout, the blobs as pulled
    const d = await archiveFiles(docker);
    assert.deepEqual(JSON.parse(d.get('manifest.json')!.toString()), [{ Config: blob(image.config.digest), RepoTags: [name], Layers: image.layers.map((l) => blob(l.digest)) }]);
    const index = JSON.parse(d.get('index.json')!.toString());
    assert.equal(index.manifests.length, 1);
    assert.equal(index.manifests[0].digest, image.manifest.digest);
    assert.deepEqual(index.manifests[0].annotations, { 'io.containerd.image.name': name, 'org.opencontainers.image.ref.name': 'rich' });
    assert.deepEqual(JSON.parse(d.get('oci-layout')!.toString()), { imageLayoutVersion: '1.0.0' });
    assert.deepEqual(JSON.parse(d.get('repositories')!.toString()), { [`${registry}/${repo}`]: { rich: image.diffIds[1]!.slice(7) } });
    for (const b of [image.manifest, image.config, ...image.layers]) assert.ok(d.get(blob(b.digest))?.equals(b.bytes), `${b.digest} is in the archive as stored`);
    // oci-archive: the layout alone, named with the whole reference
    const o = await archiveFiles(oci);
    assert.equal(o.has('manifest.json'), false);
    assert.deepEqual(JSON.parse(o.get('index.json')!.toString()).manifests[0].annotations, { 'io.containerd.image.name': name, 'org.opencontainers.image.ref.name': name });

    const [l1, l2] = chainIds(image.diffIds).map((c) => join(u.root, 'layers', c.slice(7))) as [string, string];
    await ok(run(u, ['rmi', name]));
    assert.equal(existsSync(l1), false, 'the layers went with the image');

    assert.equal((await ok(run(u, ['load', '-i', docker]))).stdout, `Loaded image: ${name}\n`);
    const row = (await images(u)).find((r) => r.Repository === `${registry}/${repo}`);
    assert.equal(row?.ID, image.config.digest);
    assert.equal(row?.Tag, 'rich');
    // unpacked again, owners, modes, whiteouts and all
    assert.equal(statSync(join(l1, 'var/www')).uid, host.subidStart + 32);
    assert.equal(statSync(join(l1, 'bin/ping')).mode & 0o7777, 0o4755);
    assert.match(readFileSync(join(l2, 'etc/opaque/new'), 'utf8'), /^from layer 2 of /);
    assert.ok(lstatSync(join(l2, 'etc/removeme')).isCharacterDevice(), 'the whiteout survives');
    // the same manifest and blobs: saving again makes the same bytes
    const again = join(work, 'again.tar');
    await ok(run(u, ['save', '-o', again, name]));
    assert.ok(readFileSync(again).equals(readFileSync(docker)), 'a second save is byte for byte the first');

    // the oci-archive, gzip-compressed, through stdin
    await ok(run(u, ['rmi', name]));
    assert.equal((await ok(sh(u, `gzip -c ${oci} | "$TSC" load -q`))).stdout, `Loaded image: ${name}\n`);
    assert.equal((await ok(run(u, ['image', 'inspect', '--format', '{{.Id}} {{len .RootFS.Layers}}', name]))).stdout, `${image.config.digest} 2\n`);
    assert.equal((await ok(run(u, ['history', '--format', '{{.CreatedBy}}', name]))).stdout, 'whiteouts\nbase layer\n');
    await ok(sh(u, `"$TSC" save ${name} | cmp - ${docker}`));

    // an archive is never written to a terminal, nor read from one
    const tty = await sh(u, `script -qec '"$TSC" save ${name}' /dev/null`);
    assert.notEqual(tty.status, 0);
    assert.match(tty.stdout, /refusing to write an image archive to a terminal/);
    const ttyIn = await sh(u, `script -qec '"$TSC" load' /dev/null`);
    assert.notEqual(ttyIn.status, 0);
    assert.match(ttyIn.stdout, /refusing to read an image archive from a terminal/);
  });

  it('interoperates with podman 4.3 in both directions', async (t) => {
    const host = requiresTestHost(t);
    if (!host || !requires(t, tsc !== undefined, 'dist/tsc is not built') || !requiresPodman(t, host)) return;
    const registry = await requiresRegistry(t);
    if (!registry) return;
    const u = userWithStore(t, host);
    const layout = await richLayout(t);
    const repo = uniqueRepository('podman');
    skopeoPush(layout, registry, repo);
    const image = layout.images[0]!;
    const hex = image.config.digest.slice(7);
    const name = `${registry}/${repo}:rich`;
    const second = `localhost/${repo}-copy:two`;
    const work = userDir(t, host, 'podman');
    t.after(() => podman(host, ['rmi', '-f', hex]));
    await ok(run(u, ['pull', '-q', name]));
    await ok(run(u, ['tag', name, second]));

    // two names: podman finds no single image in index.json and reads manifest.json
    await ok(run(u, ['save', '-o', join(work, 'two.tar'), name, second]));
    const loaded = await ok(podman(host, ['load', '-i', join(work, 'two.tar')]));
    assert.match(loaded.stdout, new RegExp(`Loaded image: ${name.replaceAll('.', '\\.')}\\n`));
    assert.match(loaded.stdout, new RegExp(`Loaded image: ${second}\\n`));
    const inspect = ['image', 'inspect', '--format', '{{.Id}} {{json .RootFS.Layers}}'];
    assert.equal((await ok(podman(host, [...inspect, second]))).stdout.trim(), `${hex} ${JSON.stringify(image.diffIds)}`);
    await ok(podman(host, ['rmi', '-f', hex]));

    // one name: podman reads the OCI layout and keeps the manifest
    for (const format of ['docker-archive', 'oci-archive']) {
      const file = join(work, `${format}.tar`);
      await ok(run(u, ['save', '--format', format, '-o', file, name]));
      assert.match((await ok(podman(host, ['load', '-i', file]))).stdout, /Loaded image: /);
      const seen = (await ok(podman(host, ['image', 'inspect', '--format', '{{.Id}} {{.Digest}} {{json .RootFS.Layers}}', name]))).stdout.trim();
      assert.equal(seen, `${hex} ${image.manifest.digest} ${JSON.stringify(image.diffIds)}`, format);
      await ok(podman(host, ['rmi', '-f', hex]));
    }

    // and back: what podman saves of an image it pulled, tsc loads with the same id
    await ok(podman(host, ['pull', '-q', '--tls-verify=false', name]));
    for (const format of ['docker-archive', 'oci-archive']) {
      const file = join(work, `podman-${format}.tar`);
      await ok(podman(host, ['save', '--format', format, '-o', file, name]));
      await ok(run(u, ['rmi', '-f', image.config.digest]));
      assert.equal((await ok(run(u, ['load', '-i', file]))).stdout, `Loaded image: ${name}\n`, format);
      assert.equal(
        (await ok(run(u, ['image', 'inspect', '--format', '{{.Id}} {{json .RootFS.Layers}}', name]))).stdout,
        `${image.config.digest} ${JSON.stringify(image.diffIds)}\n`,
        format,
      );
    }
  });

  it('imports a root filesystem tarball with --change settings', async (t) => {
    const host = requiresTestHost(t);
    if (!host || !requires(t, tsc !== undefined, 'dist/tsc is not built')) return;
    if (!requires(t, existsSync('/bin/busybox'), '/bin/busybox is missing (install busybox-static)')) return;
    const u = userWithStore(t, host);
    const work = userDir(t, host, 'import');
    const salt = randomBytes(8).toString('hex');
    const tarball = rootfsTarball(work, salt);
    const name = `localhost/tsc-test/import-${salt}:1`;
    const imported = await ok(run(u, ['import', '--change', 'CMD ["/bin/sh"]', '--change', 'ENV A=1', tarball.path, name]));
    assert.match(imported.stdout, /^sha256:[0-9a-f]{64}\n$/);
    const id = imported.stdout.trim();

    const diffId = sha256(tarball.bytes);
    const inspect = ['image', 'inspect', '--format', '{{.Id}} {{json .Config.Cmd}} {{json .Config.Env}} {{.Os}} {{json .RootFS.Layers}}'];
    assert.equal((await ok(run(u, [...inspect, name]))).stdout, `${id} ["/bin/sh"] ["A=1"] linux ${JSON.stringify([diffId])}\n`);
    assert.equal((await ok(run(u, ['history', '--format', '{{.Comment}}', name]))).stdout, `Imported from ${tarball.path}\n`);
    const layer = join(u.root, 'layers', diffId.slice(7));
    assert.equal(readFileSync(join(layer, 'etc/motd'), 'utf8'), `imported ${salt}\n`);
    assert.equal(statSync(join(layer, 'var/www')).uid, host.subidStart + 32);

    // gzip through stdin, with a message; the same filesystem, so the same layer
    const piped = await ok(sh(u, `gzip -c ${tarball.path} | "$TSC" import -m 'from a pipe' --change 'WORKDIR /srv' - ${name.replace(':1', ':gz')}`));
    assert.equal(
      (await ok(run(u, ['image', 'inspect', '--format', '{{.Config.WorkingDir}} {{json .RootFS.Layers}}', name.replace(':1', ':gz')]))).stdout,
      `/srv ${JSON.stringify([diffId])}\n`,
    );
    assert.equal((await ok(run(u, ['history', '--format', '{{.ID}} {{.Comment}}', '--no-trunc', name.replace(':1', ':gz')]))).stdout, `${piped.stdout.trim()} from a pipe\n`);

    const url = await run(u, ['import', 'https://example.com/rootfs.tar']);
    assert.equal(url.status, 125);
    assert.match(url.stderr, /importing from a URL is not supported/);
  });

  it('refuses broken archives and tarballs clearly, leaving the store as it was', async (t) => {
    const host = requiresTestHost(t);
    if (!host || !requires(t, tsc !== undefined, 'dist/tsc is not built')) return;
    if (!requires(t, existsSync('/bin/busybox'), '/bin/busybox is missing (install busybox-static)')) return;
    const work = userDir(t, host, 'broken');
    const salt = randomBytes(8).toString('hex');
    const u = userWithStore(t, host);
    const tarball = rootfsTarball(work, salt);
    const name = `localhost/tsc-test/broken-${salt}:1`;
    const id = (await ok(run(u, ['import', tarball.path, name]))).stdout.trim();
    const good = join(work, 'good.tar');
    await ok(run(u, ['save', '-o', good, name]));
    await ok(run(u, ['rmi', name]));

    const clean = async (what: string) => {
      const report = JSON.parse((await ok(run(u, ['system', 'check', '--grace', '0', '--format', 'json']))).stdout) as CheckReport;
      assert.deepEqual({ images: report.images, blobs: report.blobs, layers: report.layers, problems: report.problems }, { images: 0, blobs: 0, layers: 0, problems: [] }, what);
    };
    await clean('after rmi');

    const files = await archiveFiles(good);
    const manifest = JSON.parse(files.get('manifest.json')!.toString()) as [{ Config: string; Layers: string[] }];
    const layerPath = manifest[0].Layers[0]!;
    const broken: [string, () => Promise<void>, RegExp][] = [
      ['truncated.tar', async () => writeFileSync(join(work, 'truncated.tar'), readFileSync(good).subarray(0, 600_000)), /^Error: truncated archive \S+truncated\.tar: "blobs\/sha256\/[0-9a-f]{64}" ends after/],
      ['flipped.tar', async () => {
        const bytes = Buffer.from(files.get(layerPath)!);
        bytes[5000] = bytes[5000]! ^ 0xff;
        await writeArchive(join(work, 'flipped.tar'), [...files].map(([p, b]) => [p, p === layerPath ? bytes : b]));
      }, /^Error: blobs\/sha256\/[0-9a-f]{64} in \S+flipped\.tar is corrupt: its content hashes to sha256:[0-9a-f]{64}, not sha256:/],
      ['missing.tar', async () => writeArchive(join(work, 'missing.tar'), [...files].filter(([p]) => p !== layerPath)), /^Error: layer 1 of image 1 of manifest\.json \(blobs\/sha256\/[0-9a-f]{64}\) is missing from \S+missing\.tar/],
      ['unknown.tar', async () => writeArchive(join(work, 'unknown.tar'), [['README', 'not an image\n']]), /^Error: \S+unknown\.tar is not an image archive: it has neither manifest\.json \(docker-archive\) nor index\.json and oci-layout \(oci-archive\)/],
      ['lying.tar', async () => {
        const other = await tarBuffer([{ path: 'etc/motd', type: 'file', body: 'another filesystem\n' }]);
        const lying = JSON.stringify([{ ...manifest[0], Layers: ['other.tar'] }]);
        await writeArchive(join(work, 'lying.tar'), [...[...files].filter(([p]) => p !== 'manifest.json'), ['manifest.json', lying], ['other.tar', other]]);
      }, /^Error: layer 1 of image 1 of manifest\.json \(other\.tar\) in \S+lying\.tar does not match the image config: its content hashes to sha256:[0-9a-f]{64}, but the config lists sha256:/],
      ['lying-gzip.tar', async () => {
        // every blob matches its digest, but the compressed layer is not the one the config lists: found only by unpacking
        const layer = gzipSync(await tarBuffer([{ path: 'etc/motd', type: 'file', body: `lie ${salt}\n` }]));
        const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [sha256(Buffer.from(salt))] } }));
        const m = Buffer.from(JSON.stringify({
          schemaVersion: 2,
          mediaType: 'application/vnd.oci.image.manifest.v1+json',
          config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: sha256(config), size: config.length },
          layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: sha256(layer), size: layer.length }],
        }));
        const idx = JSON.stringify({ schemaVersion: 2, manifests: [{ mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: sha256(m), size: m.length, annotations: { 'org.opencontainers.image.ref.name': `localhost/lie:${salt}` } }] });
        await writeArchive(join(work, 'lying-gzip.tar'), [[blob(sha256(layer)), layer], [blob(sha256(config)), config], [blob(sha256(m)), m], ['index.json', idx], ['oci-layout', '{"imageLayoutVersion":"1.0.0"}']]);
      }, /^Error: layer sha256:[0-9a-f]{64} unpacks to sha256:[0-9a-f]{64}, but the image config says sha256:/],
    ];
    for (const [file, make, message] of broken) {
      await make();
      chmodSync(join(work, file), 0o644);
      const r = await run(u, ['load', '-i', join(work, file)]);
      assert.equal(r.status, 125, `${file}: ${r.stdout}${r.stderr}`);
      assert.match(r.stderr, message, file);
      await clean(file);
    }

    // tarballs for import
    writeFileSync(join(work, 'cut.tar'), tarball.bytes.subarray(0, 100_000), { mode: 0o644 });
    writeFileSync(join(work, 'cut.tar.gz'), gzipSync(tarball.bytes).subarray(0, 100_000), { mode: 0o644 });
    for (const [file, message] of [
      ['cut.tar', /^Error: truncated archive \S+cut\.tar: "\.\/bin\/busybox" ends after/],
      ['cut.tar.gz', /^Error: truncated archive \S+cut\.tar\.gz: the gzip stream ends early/],
    ] as const) {
      const r = await run(u, ['import', join(work, file), `${name}-${file}`]);
      assert.equal(r.status, 125, `${file}: ${r.stdout}${r.stderr}`);
      assert.match(r.stderr, message, file);
      await clean(file);
    }
    const change = await run(u, ['import', '--change', 'RUN rm -rf /', tarball.path]);
    assert.match(change.stderr, /^Error: invalid --change "RUN rm -rf \/": RUN cannot be applied to an image\n/);

    // and the store still works
    assert.equal((await ok(run(u, ['load', '-i', good]))).stdout, `Loaded image: ${name}\n`);
    assert.equal((await images(u))[0]?.ID, id);
  });
});
