/**
 * tsc build, commit, diff and export as the rootless test user with the built binary and
 * the busybox image from the local registry: a multi-stage Dockerfile (ARG/ENV expansion,
 * a heredoc RUN, COPY --from, --chown, a .dockerignore with an exception, HEALTHCHECK,
 * USER, WORKDIR) runs with the expected output; a second build is all cached and makes
 * the same image; changing one copied file rebuilds from that step on; a failing RUN
 * names its exit code and output and leaves no image and no scratch files. Then the
 * built image, pushed to the local registry, runs under podman with the same output.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { chmodSync, chownSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it, type TestContext } from 'node:test';
import { configurePodman } from '../../bench/pull.ts';
import { requires, requiresTestHost, type TestHost } from '../lib/env.ts';
import { requiresRegistry, uniqueRepository } from '../lib/registry-fixtures.ts';
import { DIST_TSC, ROOT, staged } from '../lib/stage.ts';
import { asUserArgv, runAs, userEnv } from '../lib/users.ts';

const tsc = staged(DIST_TSC);
const scratch = mkdtempSync('/tmp/tsc-e2e-build-');
const store = join(scratch, 'store');
const context = join(scratch, 'ctx');
after(() => rmSync(scratch, { recursive: true, force: true }));
let image = '';
let registry = '';
let ready = false;

function env(host: TestHost): Record<string, string> {
  return { ...userEnv(host.uid, host.user), TSC_STORAGE_ROOT: store };
}

async function tscAs(host: TestHost, args: string[], options: { input?: string; timeoutMs?: number } = {}) {
  return runAs(tsc!, args, { uid: host.uid, cgroup: host.cgroup, env: env(host), ...options });
}

function dockerfile(base: string): string {
  return [
    `ARG BASE=${base}`,
    'FROM ${BASE} AS builder',
    'ARG GREETING=hello',
    'ENV TARGET=world',
    'RUN <<EOF',
    'mkdir -p /out',
    'echo "$GREETING $TARGET" > /out/greeting',
    'EOF',
    'RUN echo "built by $(id -u)" > /out/who',
    '',
    'FROM ${BASE}',
    "RUN echo 'app:x:1234:1234::/home/app:/bin/sh' >> /etc/passwd && echo 'app:x:1234:' >> /etc/group",
    'COPY --from=builder /out/ /opt/',
    'COPY --chown=app:app src/ /app/',
    'COPY logs /logs/',
    'USER app',
    'WORKDIR /work',
    'HEALTHCHECK --interval=30s CMD cat /opt/greeting',
    'EXPOSE 8080',
    'CMD ["sh", "-c", "cat /opt/greeting /opt/who /app/app.txt; stat -c \'%u:%g %n\' /app/app.txt; ls /app /logs; id -u; pwd"]',
    '',
  ].join('\n');
}

function write(host: TestHost, path: string, text: string): void {
  mkdirSync(join(path, '..'), { recursive: true });
  writeFileSync(path, text);
  chownSync(path, host.uid, host.uid);
}

async function setup(t: TestContext): Promise<TestHost | undefined> {
  const host = requiresTestHost(t);
  if (!host || !requires(t, tsc !== undefined, 'dist/tsc is not built')) return undefined;
  if (!ready) {
    const found = await requiresRegistry(t);
    if (!found) return undefined;
    registry = found;
    image = `${registry}/${uniqueRepository('build-base')}:latest`;
    execFileSync(process.execPath, [join(ROOT, 'scripts', 'demo-image.ts'), image], { stdio: 'ignore' });
    chmodSync(scratch, 0o755);
    chownSync(scratch, host.uid, host.uid);
    write(host, join(context, 'Dockerfile'), dockerfile(image));
    write(host, join(context, 'src', 'app.txt'), 'app v1\n');
    write(host, join(context, 'src', 'secret.txt'), 'do not ship\n');
    write(host, join(context, 'logs', 'keep.log'), 'kept\n');
    write(host, join(context, 'logs', 'drop.log'), 'dropped\n');
    write(host, join(context, '.dockerignore'), '# logs but one, and secrets anywhere\nlogs\n!logs/keep.log\n**/secret.txt\n');
    for (const dir of [context, join(context, 'src'), join(context, 'logs')]) chownSync(dir, host.uid, host.uid);
    ready = true;
  }
  return host;
}

const EXPECTED_V1 = 'hello world\nbuilt by 0\napp v1\n1234:1234 /app/app.txt\n/app:\napp.txt\n\n/logs:\nkeep.log\n1234\n/work\n';

/** The RUN, COPY and ADD steps of a build log that were not answered from the cache. */
function stepsRun(log: string): string[] {
  const lines = log.split('\n');
  return lines
    .map((l, i) => ({ text: l.replace(/^STEP \d+\/\d+: /, ''), step: l.startsWith('STEP'), cached: lines[i + 1] === '--> CACHED' }))
    .filter((l) => l.step && /^(RUN|COPY|ADD)/.test(l.text) && !l.cached)
    .map((l) => l.text);
}

function leftovers(): string[] {
  try {
    return readdirSync(join(store, 'tmp'));
  } catch {
    return [];
  }
}

describe('build (rootless)', { timeout: 300_000 }, () => {
  it('builds a multi-stage Dockerfile; the image runs with the expected output and config', async (t) => {
    const host = await setup(t);
    if (!host) return;
    const built = await tscAs(host, ['build', '-t', 'app:1', '-t', 'app:latest', '--label', 'e2e=yes', context], { timeoutMs: 120_000 });
    assert.equal(built.status, 0, built.stdout + built.stderr);
    assert.match(built.stdout, /^STEP 1\/15: FROM \$\{BASE\} AS builder$/m);
    assert.match(built.stdout, /Successfully tagged app:1/);
    const id = built.stdout.trim().split('\n').at(-1)!;
    assert.match(id, /^sha256:[0-9a-f]{64}$/);
    const run = await tscAs(host, ['run', '--rm', 'app:1']);
    assert.equal(run.status, 0, run.stderr);
    assert.equal(run.stdout, EXPECTED_V1);
    const inspected = await tscAs(host, ['image', 'inspect', 'app:1']);
    const config = (JSON.parse(inspected.stdout) as { Config: Record<string, unknown> }[])[0]!.Config;
    assert.equal(config.User, 'app');
    assert.equal(config.WorkingDir, '/work');
    assert.deepEqual(config.Healthcheck, { Test: ['CMD-SHELL', 'cat /opt/greeting'], Interval: 30_000_000_000 });
    assert.deepEqual(config.ExposedPorts, { '8080/tcp': {} });
    assert.deepEqual(config.Labels, { e2e: 'yes' });
    assert.ok((config.Env as string[]).every((e) => !e.startsWith('TARGET=')), 'the builder stage\'s ENV is not in the final image');
    assert.deepEqual(leftovers(), []);
  });

  it('a second build reuses every step and makes the same image; a changed file rebuilds from its step', async (t) => {
    const host = await setup(t);
    if (!host) return;
    const first = await tscAs(host, ['build', '-q', '-t', 'app:1', '--iidfile', join(scratch, 'iid'), context], { timeoutMs: 120_000 });
    assert.equal(first.status, 0, first.stderr);
    assert.equal(first.stdout.trim().split('\n').length, 1, 'with -q only the id');
    const again = await tscAs(host, ['build', '-t', 'app:1', context], { timeoutMs: 120_000 });
    assert.equal(again.status, 0, again.stderr);
    assert.deepEqual(stepsRun(again.stdout), []);
    assert.equal(again.stdout.match(/^--> CACHED$/gm)?.length, 7, '6 RUN and COPY steps and the WORKDIR that made /work');
    assert.equal(again.stdout.trim().split('\n').at(-1), first.stdout.trim());
    const listed = (await tscAs(host, ['images', '-q'])).stdout.trim().split('\n');
    const all = (await tscAs(host, ['images', '-a', '-q'])).stdout.trim().split('\n');
    assert.ok(all.length > listed.length, 'images -a also lists the intermediate images of the cache');

    write(host, join(context, 'src', 'app.txt'), 'app v2\n');
    const changed = await tscAs(host, ['build', '-t', 'app:2', context], { timeoutMs: 120_000 });
    assert.equal(changed.status, 0, changed.stderr);
    assert.deepEqual(stepsRun(changed.stdout), ['COPY --chown=app:app src/ /app/', 'COPY logs /logs/']);
    const run = await tscAs(host, ['run', '--rm', 'app:2']);
    assert.equal(run.stdout, EXPECTED_V1.replace('app v1', 'app v2'));
    write(host, join(context, 'src', 'app.txt'), 'app v1\n');

    const cold = await tscAs(host, ['build', '--no-cache', '-t', 'app:3', context], { timeoutMs: 120_000 });
    assert.equal(cold.status, 0, cold.stderr);
    assert.equal(stepsRun(cold.stdout).length, 6);
  });

  it('a failing RUN names its step, exit code and output, and leaves no image behind', async (t) => {
    const host = await setup(t);
    if (!host) return;
    const before = (await tscAs(host, ['images', '-q'])).stdout;
    const failing = `FROM ${image}\nRUN echo about to fail; echo on stderr >&2; exit 3\nCMD ["true"]\n`;
    const r = await tscAs(host, ['build', '-t', 'broken:1', '-'], { input: failing, timeoutMs: 60_000 });
    assert.notEqual(r.status, 0);
    assert.match(r.stderr, /Dockerfile:2 RUN echo about to fail.*exited with code 3/s);
    assert.match(r.stderr, /on stderr/);
    assert.match(r.stdout, /about to fail/);
    assert.equal((await tscAs(host, ['images', '-q'])).stdout, before);
    assert.notEqual((await tscAs(host, ['image', 'inspect', 'broken:1'])).status, 0);
    assert.deepEqual(leftovers(), []);
    // stages run side by side: one failing stops the other, and nothing is left behind
    const parallel = `FROM ${image} AS a\nRUN sleep 5; echo a > /a\nFROM ${image} AS b\nRUN echo b failed; exit 4\nFROM scratch\nCOPY --from=a /a /\nCOPY --from=b /b /\n`;
    const started = Date.now();
    const stopped = await tscAs(host, ['build', '-'], { input: parallel, timeoutMs: 60_000 });
    assert.notEqual(stopped.status, 0);
    assert.match(stopped.stderr, /Dockerfile:4 RUN echo b failed; exit 4: the command exited with code 4/);
    assert.ok(Date.now() - started < 4000, 'the failure stopped the other stage\'s sleep');
    assert.deepEqual(leftovers(), []);
    const syntax = await tscAs(host, ['build', '-'], { input: `FROM ${image}\nRUN true\nFROBNICATE x\n` });
    assert.equal(syntax.status, 125);
    assert.match(syntax.stderr, /Dockerfile:3: unknown instruction: FROBNICATE/);
    assert.equal(syntax.stdout, '', 'nothing runs before the whole Dockerfile is read');
    const missing = await tscAs(host, ['build', '-f', join(scratch, 'missing.Dockerfile'), context]);
    assert.notEqual(missing.status, 0);
    const fromStdin = await tscAs(host, ['build', '-q', '-f', '-', context], { input: `FROM ${image}\nCOPY src/app.txt /\nCMD ["cat", "/app.txt"]\n` });
    assert.equal(fromStdin.status, 0, fromStdin.stderr);
    assert.equal((await tscAs(host, ['run', '--rm', fromStdin.stdout.trim()])).stdout, 'app v1\n');
    // the context as a tar on stdin, its .dockerignore applied
    const piped = await runAs('/bin/sh', ['-c', `tar -C ${context} -cz . | ${tsc!} build -q -t piped:1 -`], { uid: host.uid, cgroup: host.cgroup, env: env(host), timeoutMs: 120_000 });
    assert.equal(piped.status, 0, piped.stderr);
    assert.equal((await tscAs(host, ['run', '--rm', 'piped:1'])).stdout, EXPECTED_V1);
    write(host, join(scratch, 'copy-missing.Dockerfile'), `FROM ${image}\nCOPY nothere /x\n`);
    const copy = await tscAs(host, ['build', '-f', join(scratch, 'copy-missing.Dockerfile'), context]);
    assert.notEqual(copy.status, 0);
    assert.match(copy.stderr, /copy-missing\.Dockerfile:2 COPY nothere \/x: COPY failed: nothere: not found in the build context/);
    assert.deepEqual(leftovers(), []);
  });

  it('ONBUILD, --target, --build-arg, ENTRYPOINT with CMD, ADD of a tar, relative WORKDIR, a scratch stage', async (t) => {
    const host = await setup(t);
    if (!host) return;
    const dir = join(scratch, 'ctx2');
    mkdirSync(dir);
    chownSync(dir, host.uid, host.uid);
    write(host, join(dir, 'one'), 'x');
    execFileSync('tar', ['-C', dir, '-czf', join(dir, 'files.tgz'), 'one']);
    write(host, join(dir, 'Dockerfile'), [
      `FROM ${image} AS base`,
      'ONBUILD RUN echo "onbuild ran" > /onbuild.txt',
      '',
      'FROM base AS child',
      'ARG VERSION=0',
      'RUN echo "version=${VERSION}" > /version.txt',
      'ADD files.tgz /unpacked/',
      'WORKDIR app',
      'WORKDIR sub',
      'RUN pwd > /pwd.txt',
      'ENTRYPOINT ["cat"]',
      'CMD ["/version.txt"]',
      '',
      'FROM scratch AS minimal',
      'COPY --from=child /version.txt /onbuild.txt /pwd.txt /',
      `COPY --from=${image} /bin/busybox /bin/busybox`,
      'ENTRYPOINT ["/bin/busybox", "cat"]',
      'CMD ["/version.txt", "/onbuild.txt", "/pwd.txt"]',
      '',
    ].join('\n'));
    const child = await tscAs(host, ['build', '-q', '--target', 'child', '--build-arg', 'VERSION=7', '-t', 'child:1', dir], { timeoutMs: 120_000 });
    assert.equal(child.status, 0, child.stderr);
    assert.equal((await tscAs(host, ['run', '--rm', 'child:1'])).stdout, 'version=7\n');
    assert.equal((await tscAs(host, ['run', '--rm', 'child:1', '/pwd.txt', '/onbuild.txt', '/unpacked/one'])).stdout, '/app/sub\nonbuild ran\nx');
    const minimal = await tscAs(host, ['build', '-q', '-t', 'minimal:1', dir], { timeoutMs: 120_000 });
    assert.equal(minimal.status, 0, minimal.stderr);
    assert.equal((await tscAs(host, ['run', '--rm', 'minimal:1'])).stdout, 'version=0\nonbuild ran\n/app/sub\n');
    const history = await tscAs(host, ['history', '-q', 'minimal:1']);
    assert.equal(history.status, 0, history.stderr);
  });

  it('RUN --mount (cache, read-only bind of the context and of a stage, tmpfs), --layers=false, RUN networks (none, host, pasta), ADD of a URL with --checksum', async (t) => {
    const host = await setup(t);
    if (!host) return;
    const file = join(scratch, 'mounts.Dockerfile');
    write(host, file, [
      `FROM ${image}`,
      'RUN --mount=type=cache,target=/var/cache/thing sh -c "echo run >> /var/cache/thing/log; wc -l < /var/cache/thing/log > /count"',
      'RUN --mount=type=bind,source=src,target=/mnt/src cat /mnt/src/app.txt > /copied',
      'RUN --mount=type=tmpfs,target=/scratch sh -c "echo t > /scratch/t; ls /scratch > /tmpfs-list"',
      'CMD ["sh", "-c", "cat /count /copied /tmpfs-list; ls -d /var /mnt /scratch 2>/dev/null; true"]',
      '',
    ].join('\n'));
    const first = await tscAs(host, ['build', '-q', '-f', file, '-t', 'mounts:1', context], { timeoutMs: 120_000 });
    assert.equal(first.status, 0, first.stderr);
    assert.equal((await tscAs(host, ['run', '--rm', 'mounts:1'])).stdout, '1\napp v1\nt\n');
    const again = await tscAs(host, ['build', '-q', '--no-cache', '-f', file, '-t', 'mounts:2', context], { timeoutMs: 120_000 });
    assert.equal(again.status, 0, again.stderr);
    assert.equal((await tscAs(host, ['run', '--rm', 'mounts:2', 'cat', '/count'])).stdout, '2\n', 'the cache mount kept the first build\'s file');
    // networks: none by default, the host's for one step, pasta for the whole build; no network file left in the image
    const net = `FROM ${image}\nRUN --network=host wget -q -O /registry.txt http://${registry}/v2/\nRUN ls /sys/class/net > /ifs\nCMD ["cat", "/registry.txt", "/ifs"]\n`;
    const none = await tscAs(host, ['build', '-q', '-t', 'net:1', '-'], { input: net, timeoutMs: 120_000 });
    assert.equal(none.status, 0, none.stderr);
    assert.equal((await tscAs(host, ['run', '--rm', '--network', 'none', 'net:1'])).stdout, '{}lo\n');
    const pasta = await tscAs(host, ['build', '-q', '--no-cache', '--network', 'pasta', '-t', 'net:2', '-'], { input: net, timeoutMs: 120_000 });
    assert.equal(pasta.status, 0, pasta.stderr);
    assert.match((await tscAs(host, ['run', '--rm', '--network', 'none', 'net:2'])).stdout, /^\{\}(?!lo\n$).*\blo\n$/s);
    assert.equal((await tscAs(host, ['run', '--rm', '--network', 'none', 'net:2', 'sh', '-c', 'ls /etc/hosts /etc/resolv.conf 2>/dev/null; true'])).stdout, '');
    const added = await tscAs(host, ['build', '-q', '-t', 'added:1', '-'], {
      input: `FROM ${image}\nADD --checksum=sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a http://${registry}/v2/ /v2.json\nCMD ["sh", "-c", "cat /v2.json; stat -c %a /v2.json"]\n`,
    });
    assert.equal(added.status, 0, added.stderr);
    assert.equal((await tscAs(host, ['run', '--rm', '--network', 'none', 'added:1'])).stdout, '{}600\n');
    // a bind from a stage: its files at source, read-only; rw writes go to a throwaway copy; the mount point leaves nothing
    const fromStage = [
      `FROM ${image} AS builder`,
      'RUN mkdir /out && echo hello from builder > /out/hello',
      `FROM ${image}`,
      'RUN --mount=type=bind,from=builder,source=/out,target=/in cat /in/hello > /res',
      'RUN --mount=type=bind,from=builder,source=/out,target=/in sh -c "echo x > /in/new" 2>/dev/null; echo $? > /ro',
      'RUN --mount=type=bind,from=builder,source=/out,target=/in2,rw sh -c "echo x > /in2/new && cat /in2/new > /rw"',
      'CMD ["sh", "-c", "cat /res /ro /rw; ls -d /in /in2 /out 2>/dev/null; true"]',
      '',
    ].join('\n');
    const bound = await tscAs(host, ['build', '-q', '-t', 'bindfrom:1', '-'], { input: fromStage, timeoutMs: 120_000 });
    assert.equal(bound.status, 0, bound.stderr);
    assert.equal((await tscAs(host, ['run', '--rm', '--network', 'none', 'bindfrom:1'])).stdout, 'hello from builder\n1\nx\n');
    const boundAgain = await tscAs(host, ['build', '-t', 'bindfrom:2', '-'], { input: fromStage, timeoutMs: 120_000 });
    assert.equal(boundAgain.status, 0, boundAgain.stderr);
    assert.equal(boundAgain.stdout.match(/^--> CACHED$/gm)?.length, 4, 'the builder\'s RUN and the three mounting RUNs');
    const changed = await tscAs(host, ['build', '-t', 'bindfrom:3', '-'], { input: fromStage.replace('hello from builder', 'hello again'), timeoutMs: 120_000 });
    assert.equal(changed.status, 0, changed.stderr);
    assert.equal(changed.stdout.match(/^--> CACHED$/gm)?.length ?? 0, 0, 'the bound content is part of the key');
    assert.equal((await tscAs(host, ['run', '--rm', '--network', 'none', 'bindfrom:3', 'cat', '/res'])).stdout, 'hello again\n');
    // --layers=false: the cache is neither used nor recorded
    const noLayers = await tscAs(host, ['build', '--layers=false', '-t', 'bindfrom:4', '-'], { input: fromStage.replace('hello from builder', 'not recorded'), timeoutMs: 120_000 });
    assert.equal(noLayers.status, 0, noLayers.stderr);
    const uncached = await tscAs(host, ['build', '--no-layers', '-t', 'bindfrom:5', '-'], { input: fromStage, timeoutMs: 120_000 });
    assert.equal(uncached.status, 0, uncached.stderr);
    assert.doesNotMatch(uncached.stdout, /CACHED/);
    const afterNoLayers = await tscAs(host, ['build', '-t', 'bindfrom:6', '-'], { input: fromStage.replace('hello from builder', 'not recorded'), timeoutMs: 120_000 });
    assert.equal(afterNoLayers.status, 0, afterNoLayers.stderr);
    assert.equal(afterNoLayers.stdout.match(/^--> CACHED$/gm)?.length ?? 0, 0, 'the --layers=false build recorded nothing');
    const rw = await tscAs(host, ['build', '-f', '-', context], { input: `FROM ${image}\nRUN --mount=type=bind,rw,target=/x true\n` });
    assert.notEqual(rw.status, 0);
    assert.match(rw.stderr, /read-write bind mount \(rw\) is not supported/);
  });

  it('--squash makes the build\'s layers one, with deletions and replaced directories kept', async (t) => {
    const host = await setup(t);
    if (!host) return;
    const dockerfile = [
      `FROM ${image}`,
      'RUN mkdir /d && echo 1 > /d/a && echo 1 > /d/b && mkdir /e && echo e > /e/x',
      'RUN rm /d/a && rm /bin/ls && rm -rf /etc && mkdir /etc && echo only > /etc/only',
      'RUN rm -rf /d && mkdir /d && echo new > /d/c',
      'CMD ["sh", "-c", "ls /d /e /etc; test -e /bin/ls || echo ls-gone"]',
      '',
    ].join('\n');
    const squashed = await tscAs(host, ['build', '-q', '--squash', '-t', 'squashed:1', '-'], { input: dockerfile, timeoutMs: 120_000 });
    assert.equal(squashed.status, 0, squashed.stderr);
    const plain = await tscAs(host, ['build', '-q', '-t', 'layered:1', '-'], { input: dockerfile, timeoutMs: 120_000 });
    assert.equal(plain.status, 0, plain.stderr);
    const expected = '/d:\nc\n\n/e:\nx\n\n/etc:\nonly\nls-gone\n';
    assert.equal((await tscAs(host, ['run', '--rm', '--network', 'none', 'squashed:1'])).stdout, expected);
    assert.equal((await tscAs(host, ['run', '--rm', '--network', 'none', 'layered:1'])).stdout, expected);
    const layers = async (name: string) => Number((await tscAs(host, ['inspect', '-f', '{{len .RootFS.Layers}}', name])).stdout.trim());
    assert.equal(await layers('squashed:1'), 2);
    assert.equal(await layers('layered:1'), 4);
  });

  it('an interrupted build (SIGINT during a RUN) stops it, records nothing and leaves nothing', async (t) => {
    const host = await setup(t);
    if (!host) return;
    const child = spawn('/bin/sh', asUserArgv(tsc!, ['build', '-t', 'slow:1', '-'], { uid: host.uid, cgroup: host.cgroup }), { env: env(host), stdio: ['pipe', 'pipe', 'pipe'] });
    child.stdin.end(`FROM ${image}\nRUN echo started; sleep 60\n`);
    let stdout = '';
    let stderr = '';
    child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
    const closed = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
    await new Promise<void>((resolve) => {
      child.stdout.on('data', (b: Buffer) => {
        stdout += b.toString();
        if (/^started$/m.test(stdout)) resolve();
      });
    });
    child.kill('SIGINT');
    assert.equal(await closed, 130, stderr);
    assert.match(stderr, /interrupted/);
    assert.notEqual((await tscAs(host, ['image', 'inspect', 'slow:1'])).status, 0);
    assert.deepEqual(leftovers(), []);
  });

  it('commit, diff and export round trip', async (t) => {
    const host = await setup(t);
    if (!host) return;
    const run = await tscAs(host, ['run', '--name', 'changer', image, 'sh', '-c', 'echo new > /new.txt; rm /bin/ls; mkdir -p /var/data; echo d > /var/data/f']);
    assert.equal(run.status, 0, run.stderr);
    const diff = await tscAs(host, ['diff', 'changer']);
    assert.equal(diff.status, 0, diff.stderr);
    for (const line of ['C /bin', 'D /bin/ls', 'A /new.txt', 'A /var/data/f']) assert.ok(diff.stdout.split('\n').includes(line), `${line} in\n${diff.stdout}`);
    assert.ok(!diff.stdout.includes('/etc/hosts'), 'the runtime\'s mount points are not changes');
    const committed = await tscAs(host, ['commit', '-m', 'e2e', '-a', 'tester', '-c', 'CMD ["cat", "/new.txt"]', 'changer', 'committed:1']);
    assert.equal(committed.status, 0, committed.stderr);
    const out = await tscAs(host, ['run', '--rm', 'committed:1']);
    assert.equal(out.stdout, 'new\n');
    const gone = await tscAs(host, ['run', '--rm', 'committed:1', 'sh', '-c', 'test -e /bin/ls && echo present || echo gone']);
    assert.equal(gone.stdout, 'gone\n');
    const tarFile = join(scratch, 'export.tar');
    const exported = await tscAs(host, ['export', '-o', tarFile, 'changer']);
    assert.equal(exported.status, 0, exported.stderr);
    const names = execFileSync('tar', ['-tf', tarFile], { encoding: 'utf8' }).split('\n');
    assert.ok(names.includes('new.txt') && names.includes('var/data/f') && names.includes('bin/busybox'), names.join(' '));
    assert.ok(!names.includes('bin/ls') && !names.some((n) => n.includes('.wh.')));
    await tscAs(host, ['rm', 'changer']);

    // a directory replaced by a new one is opaque: nothing of the image's shows through
    const replaced = await tscAs(host, ['run', '--name', 'replacer', '--network', 'none', image, 'sh', '-c', 'rm -rf /etc && mkdir /etc && echo x > /etc/only']);
    assert.equal(replaced.status, 0, replaced.stderr);
    const replacedDiff = (await tscAs(host, ['diff', 'replacer'])).stdout.split('\n');
    for (const line of ['C /etc', 'D /etc/passwd', 'A /etc/only']) assert.ok(replacedDiff.includes(line), `${line} in\n${replacedDiff.join('\n')}`);
    assert.equal((await tscAs(host, ['commit', 'replacer', 'replaced:1'])).status, 0);
    assert.equal((await tscAs(host, ['run', '--rm', '--network', 'none', 'replaced:1', 'ls', '/etc'])).stdout, 'only\n');
    await tscAs(host, ['rm', 'replacer']);
    const untouched = await tscAs(host, ['run', '--name', 'untouched', image, 'true']);
    assert.equal(untouched.status, 0, untouched.stderr);
    assert.equal((await tscAs(host, ['diff', 'untouched'])).stdout, '', 'the network files\' mount points are not changes');
    await tscAs(host, ['rm', 'untouched']);
  });

  it('the built image, pushed to the local registry, runs under podman with the same output', async (t) => {
    const host = await setup(t);
    if (!host) return;
    if (!requires(t, spawnSync('podman', ['--version']).status === 0, 'podman is not installed')) return;
    const built = await tscAs(host, ['build', '-q', '-t', 'app:1', context], { timeoutMs: 120_000 });
    assert.equal(built.status, 0, built.stderr);
    const remote = `${registry}/${uniqueRepository('built')}:1`;
    assert.equal((await tscAs(host, ['tag', 'app:1', remote])).status, 0);
    const pushed = await tscAs(host, ['push', remote]);
    assert.equal(pushed.status, 0, pushed.stderr);
    configurePodman(host);
    const root = join(scratch, 'podman');
    const runroot = `/run/user/${host.uid}/tsc-e2e-build-podman`;
    const podman = ['--root', root, '--runroot', runroot];
    const user = { uid: host.uid, cgroup: host.cgroup, env: userEnv(host.uid, host.user), timeoutMs: 120_000 };
    const r = await runAs('/usr/bin/podman', [...podman, 'run', '--rm', '--tls-verify=false', remote], user);
    await runAs('/usr/bin/podman', [...podman, 'system', 'reset', '--force'], user).catch(() => undefined);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout, EXPECTED_V1);
  });
});
