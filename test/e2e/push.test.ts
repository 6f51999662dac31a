/**
 * `tsc push` as the rootless test user: skopeo (an independent implementation) reads and
 * copies what tsc pushed; a second push uploads nothing; a push to another repository of
 * the same registry mounts the blobs instead of uploading them. Also `tsc search`, and
 * `tsc login`/`logout` against a real registry with htpasswd authentication.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { requires, requiresTestHost } from '../lib/env.ts';
import { basicRegistry } from '../lib/htpasswd-registry.ts';
import { busyboxLayout, requiresRegistry, richLayout, skopeoPush, uniqueRepository } from '../lib/registry-fixtures.ts';
import { DIST_TSC, staged } from '../lib/stage.ts';
import { runAs, userEnv } from '../lib/users.ts';

const tsc = staged(DIST_TSC);

describe('tsc push (rootless, real registry)', () => {
  it('pushes an image skopeo can inspect and copy, then skips and mounts what the registry has', async (t) => {
    const host = requiresTestHost(t);
    if (!host || !requires(t, tsc !== undefined, 'dist/tsc is not built')) return;
    const registry = await requiresRegistry(t);
    if (!registry) return;
    const layout = await richLayout(t);
    const source = `${registry}/${uniqueRepository('push-src')}:v1`;
    skopeoPush(layout, registry, source.slice(registry.length + 1, -3), 'v1');
    const image = layout.images[0]!;
    const as = { uid: host.uid, cgroup: host.cgroup, env: userEnv(host.uid, host.user) };
    const scratch = mkdtempSync('/tmp/tsc-e2e-push-');
    chmodSync(scratch, 0o777);
    t.after(() => rmSync(scratch, { recursive: true, force: true }));

    assert.equal((await runAs(tsc!, ['pull', '-q', source], as)).status, 0);
    const target = `${registry}/${uniqueRepository('push-dst')}:pushed`;
    assert.equal((await runAs(tsc!, ['tag', source, target], as)).status, 0);
    const digestFile = join(scratch, 'digest');
    const pushed = await runAs(tsc!, ['push', '--digestfile', digestFile, target], as);
    assert.equal(pushed.status, 0, pushed.stderr);
    assert.equal(readFileSync(digestFile, 'utf8'), image.manifest.digest, 'the image keeps its digest');

    const repo = target.slice(registry.length + 1).replace(/:pushed$/, '');
    const inspected = JSON.parse(execFileSync('skopeo', ['inspect', '--tls-verify=false', `docker://${target}`]).toString()) as { Digest: string; Layers: string[]; Labels: Record<string, string> };
    assert.equal(inspected.Digest, image.manifest.digest);
    assert.deepEqual(inspected.Layers, image.layers.map((l) => l.digest));
    assert.equal(inspected.Labels.fixture, 'rich');
    const copy = spawnSync('skopeo', ['--insecure-policy', 'copy', '--src-tls-verify=false', `docker://${target}`, `oci:${join(scratch, 'copy')}:x`], { encoding: 'utf8' });
    assert.equal(copy.status, 0, copy.stderr);

    const again = await runAs(tsc!, ['push', target], as);
    assert.equal(again.status, 0, again.stderr);
    assert.match(again.stderr, /\(0 uploaded, 3 skipped\)/);

    // another repository on the same registry: the blobs are mounted, not uploaded
    const other = `${registry}/${uniqueRepository('push-mount')}:m`;
    const mounted = await runAs(tsc!, ['push', source, other], as);
    assert.equal(mounted.status, 0, mounted.stderr);
    assert.match(mounted.stderr, /mounted/);
    assert.match(mounted.stderr, /\(0 uploaded, 3 skipped\)/);
    assert.equal(JSON.parse(execFileSync('skopeo', ['inspect', '--tls-verify=false', `docker://${other}`]).toString()).Digest, image.manifest.digest);

    const found = await runAs(tsc!, ['search', '--format', '{{.Name}}', `${registry}/${repo.split('/').pop()}`], as);
    assert.equal(found.status, 0, found.stderr);
    assert.equal(found.stdout, `${registry}/${repo}\n`);
    const hub = await runAs(tsc!, ['search', 'busybox'], as);
    assert.equal(hub.status, 125);
    assert.match(hub.stderr, /search needs a registry/);

    const removed = await runAs(tsc!, ['rmi', '-f', source, target], as);
    assert.equal(removed.status, 0, removed.stderr);
  });
});

describe('tsc login / logout (rootless, htpasswd registry)', () => {
  it('stores working credentials where podman finds them, refuses wrong ones, and logs out', async (t) => {
    const host = requiresTestHost(t);
    if (!host || !requires(t, tsc !== undefined, 'dist/tsc is not built')) return;
    const user = { username: 'tsc-e2e', password: 's3cret-pass' };
    const registry = await basicRegistry(t, user);
    if (!registry) return;
    const layout = busyboxLayout(t);
    const repo = uniqueRepository('login');
    execFileSync('skopeo', ['--insecure-policy', 'copy', '--quiet', '--dest-tls-verify=false', '--dest-creds', `${user.username}:${user.password}`,
      `oci:${layout.dir}:${layout.tag}`, `docker://${registry}/${repo}:1`]);
    const env = userEnv(host.uid, host.user);
    const as = { uid: host.uid, cgroup: host.cgroup, env };
    const authFile = `/run/user/${host.uid}/containers/auth.json`;
    t.after(() => rmSync(authFile, { force: true }));

    const denied = await runAs(tsc!, ['pull', `${registry}/${repo}:1`], as);
    assert.equal(denied.status, 125);
    assert.doesNotMatch(denied.stderr, /s3cret/);

    const wrong = await runAs(tsc!, ['login', '-u', user.username, '--password-stdin', registry], { ...as, input: 'not-it\n' });
    assert.equal(wrong.status, 125);
    assert.match(wrong.stderr, new RegExp(`login to ${registry.replaceAll('.', '\\.')} failed`));

    const ok = await runAs(tsc!, ['login', '-u', user.username, '--password-stdin', registry], { ...as, input: `${user.password}\n` });
    assert.equal(ok.status, 0, ok.stderr);
    assert.match(ok.stdout, /Login Succeeded/);
    const stored = JSON.parse(readFileSync(authFile, 'utf8')) as { auths: Record<string, { auth: string }> };
    assert.equal(Buffer.from(stored.auths[registry]!.auth, 'base64').toString(), `${user.username}:${user.password}`);

    const pulled = await runAs(tsc!, ['pull', '-q', `${registry}/${repo}:1`], as);
    assert.equal(pulled.status, 0, pulled.stderr);
    // skopeo, as the same user, finds the login tsc stored
    const skopeo = await runAs('/usr/bin/skopeo', ['inspect', '--tls-verify=false', `docker://${registry}/${repo}:1`], as);
    assert.equal(skopeo.status, 0, skopeo.stderr);

    const out = await runAs(tsc!, ['logout', registry], as);
    assert.equal(out.status, 0);
    assert.equal(out.stdout, `Removed login credentials for ${registry}\n`);
    assert.equal((JSON.parse(readFileSync(authFile, 'utf8')) as { auths: object }).auths[registry as never], undefined);
    assert.equal((await runAs(tsc!, ['rmi', `${registry}/${repo}:1`], as)).status, 0);
  });
});
