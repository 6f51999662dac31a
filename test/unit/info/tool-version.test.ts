import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseToolVersion } from '../../../src/engine/info/collect.ts';

describe('parseToolVersion', () => {
  const cases: [string, string, string, string | undefined][] = [
    ['fuse-overlayfs names its libraries first', 'fuse-overlayfs',
      'fusermount3 version: 3.14.0\nfuse-overlayfs: version 1.10\nFUSE library version 3.14.0\n', '1.10'],
    ['slirp4netns', 'slirp4netns', 'slirp4netns version 1.2.0\ncommit: 656041d\nlibslirp: 4.7.0\n', '1.2.0'],
    ['pasta with a dated version', 'pasta', 'pasta 2023_03_29.b10b983-1\nCopyright Red Hat\n', '2023_03_29.b10b983-1'],
    ['pasta built without one', 'pasta', 'pasta unknown version\nCopyright Red Hat\nGNU Affero GPL version 3 or later\n', undefined],
    ['v prefix', 'tool', 'tool v2.3.4\n', '2.3.4'],
    ['nothing', 'tool', '', undefined],
  ];
  for (const [name, tool, output, expected] of cases) it(name, () => assert.equal(parseToolVersion(output, tool), expected));
});
