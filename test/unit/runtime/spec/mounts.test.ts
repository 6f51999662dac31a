import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { checkDuplicates, parseMountFlag, parseTmpfsFlag, parseVolumeFlag, toSpecMount, type MountRequest } from '../../../../src/engine/runtime/spec/mounts.ts';
import type { Mount } from '../../../../src/engine/runtime/spec/types.ts';

/** A request as a spec mount, with volume names resolved under /vol. */
function specOf(request: MountRequest, rro = false): Mount {
  const host = request.kind === 'bind' ? request.source : request.kind === 'volume' ? `/vol/${request.source ?? 'anon'}` : undefined;
  return toSpecMount(request, host, rro);
}

describe('-v/--volume', () => {
  const cases: [string, Mount | RegExp, string[]?][] = [
    ['/srv/data:/data', { destination: '/data', type: 'bind', source: '/srv/data', options: ['rbind', 'rprivate'] }],
    ['/srv/data:/data:ro', { destination: '/data', type: 'bind', source: '/srv/data', options: ['rbind', 'ro', 'rprivate'] }],
    ['/srv/data:/data:rw', { destination: '/data', type: 'bind', source: '/srv/data', options: ['rbind', 'rprivate'] }],
    ['/srv/data/:/data/x/../y/', { destination: '/data/y', type: 'bind', source: '/srv/data', options: ['rbind', 'rprivate'] }],
    ['/srv:/srv:ro,rshared', { destination: '/srv', type: 'bind', source: '/srv', options: ['rbind', 'ro', 'rshared'] }],
    ['/srv:/srv:nosuid,nodev,noexec', { destination: '/srv', type: 'bind', source: '/srv', options: ['rbind', 'rprivate', 'nosuid', 'nodev', 'noexec'] }],
    ['/srv:/srv:cached', { destination: '/srv', type: 'bind', source: '/srv', options: ['rbind', 'rprivate'] }],
    ['/srv:/srv:Z', { destination: '/srv', type: 'bind', source: '/srv', options: ['rbind', 'rprivate'] }, ['the :Z of -v /srv:/srv:Z is ignored: tsc does not relabel files (no SELinux)']],
    ['/srv:/srv:ro,z', { destination: '/srv', type: 'bind', source: '/srv', options: ['rbind', 'ro', 'rprivate'] }, ['the :z of -v /srv:/srv:ro,z is ignored: tsc does not relabel files (no SELinux)']],
    ['cache:/cache', { destination: '/cache', type: 'bind', source: '/vol/cache', options: ['rbind', 'rprivate'] }],
    ['cache:/cache:ro,nocopy', { destination: '/cache', type: 'bind', source: '/vol/cache', options: ['rbind', 'ro', 'rprivate'] }],
    ['/anon', { destination: '/anon', type: 'bind', source: '/vol/anon', options: ['rbind', 'rprivate'] }],
    ['/srv:/srv:ro,rw', /conflicting options: more than one read-write mode/],
    ['/srv:/srv:shared,slave', /more than one propagation/],
    ['/srv:/srv:bogus', /unknown option "bogus"/],
    ['/srv:/srv:nocopy', /nocopy applies to volumes/],
    ['cache:/cache:shared', /propagation applies to host directories only/],
    ['/data:rw', /the container path "rw" must be absolute/],
    ['./data:/data', /"\.\/data" is neither an absolute host path nor a volume name/],
    ['/srv:relative', /the container path "relative" must be absolute/],
    ['/srv:/', /the container path cannot be \//],
    ['a:/b:ro:extra', /expected \[SOURCE:\]DEST\[:OPTIONS\]/],
    [':/b', /expected \[SOURCE:\]DEST/],
  ];
  for (const [text, expected, expectedNotes = []] of cases) {
    it(text, () => {
      const notes: string[] = [];
      if (expected instanceof RegExp) assert.throws(() => parseVolumeFlag(text, notes), expected);
      else {
        assert.deepEqual(specOf(parseVolumeFlag(text, notes)), expected);
        assert.deepEqual(notes, expectedNotes);
      }
    });
  }
  it('read-only binds are recursive when the kernel can', () => {
    assert.deepEqual(specOf(parseVolumeFlag('/srv:/srv:ro', []), true).options, ['rbind', 'rro', 'rprivate']);
  });
  it('nocopy is kept for the caller', () => assert.equal(parseVolumeFlag('cache:/cache:nocopy', []).nocopy, true));
});

describe('--mount', () => {
  const cases: [string, Mount | RegExp][] = [
    ['type=bind,source=/srv,target=/srv', { destination: '/srv', type: 'bind', source: '/srv', options: ['rbind', 'rprivate'] }],
    ['type=bind,src=/srv,dst=/srv,readonly', { destination: '/srv', type: 'bind', source: '/srv', options: ['rbind', 'ro', 'rprivate'] }],
    ['type=bind,src=/srv,destination=/srv,ro=true,bind-propagation=rslave', { destination: '/srv', type: 'bind', source: '/srv', options: ['rbind', 'ro', 'rslave'] }],
    ['type=bind,src=/srv,dst=/srv,readonly=false', { destination: '/srv', type: 'bind', source: '/srv', options: ['rbind', 'rprivate'] }],
    ['type=bind,src=/srv,dst=/srv,bind-nonrecursive', { destination: '/srv', type: 'bind', source: '/srv', options: ['bind', 'rprivate'] }],
    ['source=cache,target=/cache', { destination: '/cache', type: 'bind', source: '/vol/cache', options: ['rbind', 'rprivate'] }],
    ['type=volume,target=/anon,volume-nocopy', { destination: '/anon', type: 'bind', source: '/vol/anon', options: ['rbind', 'rprivate'] }],
    ['type=tmpfs,target=/scratch', { destination: '/scratch', type: 'tmpfs', source: 'tmpfs', options: ['noexec', 'nosuid', 'nodev'] }],
    ['type=tmpfs,dst=/scratch,tmpfs-size=64m,tmpfs-mode=1770', { destination: '/scratch', type: 'tmpfs', source: 'tmpfs', options: ['noexec', 'nosuid', 'nodev', 'size=67108864', 'mode=1770'] }],
    ['"type=bind","src=/with,comma",dst=/x', { destination: '/x', type: 'bind', source: '/with,comma', options: ['rbind', 'rprivate'] }],
    ['type=bind,target=/srv', /source is missing/],
    ['type=bind,src=rel,dst=/srv', /the bind source "rel" must be an absolute path/],
    ['type=bind,src=/srv', /target is missing/],
    ['type=npipe,src=/a,dst=/b', /type "npipe" is not supported/],
    ['type=tmpfs,src=/a,dst=/b', /source does not apply to type=tmpfs/],
    ['type=volume,dst=/b,bind-propagation=shared', /bind-propagation does not apply to type=volume/],
    ['type=bind,src=/a,dst=/b,tmpfs-size=1m', /tmpfs-size\/tmpfs-mode does not apply to type=bind/],
    ['type=tmpfs,dst=/b,tmpfs-mode=999', /tmpfs-mode "999" is not an octal mode/],
    ['type=bind,src=/a,dst=/b,volume-opt=x', /unknown field "volume-opt"/],
    ['type=bind,src=/a,dst=/b,readonly=maybe', /readonly takes true or false/],
    ['type=bind,src=/a,dst=/b,bind-propagation=weird', /bind-propagation "weird"/],
    ['type=bind,"src=/a,dst=/b', /unterminated quote/],
  ];
  for (const [text, expected] of cases) {
    it(text, () => {
      if (expected instanceof RegExp) assert.throws(() => parseMountFlag(text), expected);
      else assert.deepEqual(specOf(parseMountFlag(text)), expected);
    });
  }
});

describe('--tmpfs', () => {
  const cases: [string, string[] | RegExp][] = [
    ['/run', ['noexec', 'nosuid', 'nodev']],
    ['/run:', ['noexec', 'nosuid', 'nodev']],
    ['/run:size=64m', ['noexec', 'nosuid', 'nodev', 'size=64m']],
    ['/run:rw,exec,size=1g,mode=1777', ['nosuid', 'nodev', 'rw', 'exec', 'size=1g', 'mode=1777']],
    ['/run:size=1m,size=2m', ['noexec', 'nosuid', 'nodev', 'size=2m']],
    ['/run:uid=1000,gid=1000', ['noexec', 'nosuid', 'nodev', 'uid=1000', 'gid=1000']],
    ['/run:suid,dev', ['noexec', 'suid', 'dev']],
    ['/run:bogus', /unknown tmpfs option "bogus"/],
    ['/run:color=blue', /unknown tmpfs option "color"/],
    ['run', /the container path "run" must be absolute/],
  ];
  for (const [text, expected] of cases) {
    it(text, () => {
      if (expected instanceof RegExp) assert.throws(() => parseTmpfsFlag(text), expected);
      else assert.deepEqual(specOf(parseTmpfsFlag(text)).options, expected);
    });
  }
});

describe('duplicates', () => {
  it('two mounts on one path are refused, naming both', () => {
    assert.throws(
      () => checkDuplicates([parseVolumeFlag('/a:/data', []), parseTmpfsFlag('/data/')]),
      /duplicate mount point \/data: given by -v \/a:\/data and by --tmpfs \/data\//,
    );
  });
  it('a volume without a host directory is a caller bug', () => {
    assert.throws(() => toSpecMount(parseVolumeFlag('cache:/c', []), undefined, false), (e: Error & { code?: string }) => e.code === 'internal');
  });
});
