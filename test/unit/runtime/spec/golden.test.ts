/**
 * The whole config.json of a typical rootless `tsc run -it --rm busybox sh`, compared
 * with golden/run-it-rm-busybox-sh.json (-i and --rm do not change the spec).
 * UPDATE_GOLDEN=1 rewrites the file; read the diff before committing it.
 */
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { it } from 'node:test';
import { buildSpec } from '../../../../src/engine/runtime/spec/build.ts';
import { specToJson } from '../../../../src/engine/runtime/spec/json.ts';

const here = import.meta.dirname;
const golden = join(here, 'golden', 'run-it-rm-busybox-sh.json');
const id = '9d2a6c04e5f1b3a7c8d9e0f1a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5';
const runtimeDir = `/run/user/1000/tsc/containers/${id}`;

it('tsc run -it --rm busybox sh, rootless', () => {
  const { spec, notes } = buildSpec({
    id,
    image: {
      architecture: 'amd64',
      os: 'linux',
      rootfs: { type: 'layers', diff_ids: [] },
      config: { Env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'], Cmd: ['sh'] },
    },
    rootfs: `/home/alice/.local/share/tsc/containers/${id}/rootfs`,
    idMaps: {
      uid: [{ inside: 0, outside: 1000, count: 1 }, { inside: 1, outside: 100000, count: 65536 }],
      gid: [{ inside: 0, outside: 1000, count: 1 }, { inside: 1, outside: 100000, count: 65536 }],
    },
    rootless: true,
    options: { tty: true, command: ['sh'] },
    passwd: readFileSync(join(here, 'fixtures', 'busybox-passwd'), 'utf8'),
    group: readFileSync(join(here, 'fixtures', 'busybox-group'), 'utf8'),
    hostEnv: { PATH: '/usr/bin', TERM: 'xterm-256color' },
    networkFiles: { hosts: `${runtimeDir}/hosts`, hostname: `${runtimeDir}/hostname`, resolvConf: `${runtimeDir}/resolv.conf` },
    hostNofile: 524288,
    lastCap: 40,
    recursiveReadOnly: true,
  });
  assert.deepEqual(notes, []);
  const text = specToJson(spec);
  if (process.env['UPDATE_GOLDEN'] === '1') writeFileSync(golden, text);
  assert.equal(text, readFileSync(golden, 'utf8'));
});
