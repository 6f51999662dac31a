import assert from 'node:assert/strict';
import { arch } from 'node:process';
import { describe, test } from 'node:test';
import { isTscError } from '../../../src/engine/errors.ts';
import type { ImageIndex, Platform } from '../../../src/engine/registry/manifest-parse.ts';
import {
  availablePlatforms,
  formatPlatform,
  hostPlatform,
  parsePlatform,
  platformRank,
  selectManifest,
} from '../../../src/engine/registry/platform.ts';

describe('parsePlatform', () => {
  const table: Array<[string, string]> = [
    ['linux/amd64', 'linux/amd64'],
    ['linux/x86_64', 'linux/amd64'],
    ['Linux/AMD64', 'linux/amd64'],
    ['linux/amd64/v1', 'linux/amd64'],
    ['linux/amd64/v3', 'linux/amd64/v3'],
    ['linux/aarch64', 'linux/arm64'],
    ['linux/arm64/v8', 'linux/arm64'],
    ['linux/arm64/v9', 'linux/arm64/v9'],
    ['linux/arm', 'linux/arm/v7'],
    ['linux/arm/7', 'linux/arm/v7'],
    ['linux/armhf', 'linux/arm/v7'],
    ['linux/armel', 'linux/arm/v6'],
    ['linux/i386', 'linux/386'],
    ['linux/riscv64', 'linux/riscv64'],
    ['windows/amd64', 'windows/amd64'],
  ];
  for (const [input, expected] of table) test(input, () => assert.equal(formatPlatform(parsePlatform(input)), expected));
  for (const input of ['linux', 'amd64', 'linux/', '/amd64', 'linux/amd64/v3/x', 'linux/am d64', '']) {
    test(`rejects ${JSON.stringify(input)}`, () => {
      assert.throws(() => parsePlatform(input), (e: unknown) => isTscError(e) && e.code === 'invalid-argument' && e.message.startsWith(`invalid platform "${input}"`));
    });
  }
});

test('hostPlatform is linux and Node\'s architecture', () => {
  const host = hostPlatform();
  assert.equal(host.os, 'linux');
  const expected: Record<string, string> = { x64: 'amd64', arm64: 'arm64', arm: 'arm' };
  if (expected[arch] !== undefined) assert.equal(host.architecture, expected[arch]);
});

describe('platformRank', () => {
  const p = (text: string): Platform => {
    const [os, architecture, variant] = text.split('/');
    return { os: os!, architecture: architecture!, ...(variant === undefined ? {} : { variant }) };
  };
  const table: Array<[string, string, number | undefined]> = [
    ['linux/amd64', 'linux/amd64', 0],
    ['linux/amd64', 'linux/x86_64', 0],
    ['linux/amd64', 'linux/amd64/v1', 0],
    ['linux/amd64', 'linux/amd64/v2', undefined],
    ['linux/amd64/v3', 'linux/amd64/v3', 0],
    ['linux/amd64/v3', 'linux/amd64/v2', 1],
    ['linux/amd64/v3', 'linux/amd64', 2],
    ['linux/arm64', 'linux/arm64/v8', 0],
    ['linux/arm64', 'linux/arm64', 0],
    ['linux/arm64', 'linux/arm/v7', undefined],
    ['linux/arm/v7', 'linux/arm/v7', 0],
    ['linux/arm/v7', 'linux/arm', 0],
    ['linux/arm/v7', 'linux/arm/v6', 1],
    ['linux/arm/v7', 'linux/arm/v5', 2],
    ['linux/arm/v6', 'linux/arm/v7', undefined],
    ['linux/amd64', 'windows/amd64', undefined],
    ['linux/amd64', 'unknown/unknown', undefined],
  ];
  for (const [want, have, rank] of table) test(`${want} <- ${have}`, () => assert.equal(platformRank(parsePlatform(want), p(have)), rank));
  test('entries with os.features are not matched', () => {
    assert.equal(platformRank(parsePlatform('linux/amd64'), { os: 'linux', architecture: 'amd64', 'os.features': ['win32k'] }), undefined);
  });
});

describe('selectManifest', () => {
  const d = (n: number, platform?: Platform) => ({ mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: `sha256:${String(n).repeat(64)}`, size: n, ...(platform === undefined ? {} : { platform }) });
  const index: ImageIndex = {
    kind: 'index', schemaVersion: 2, mediaType: 'application/vnd.oci.image.index.v1+json',
    manifests: [
      d(1, { os: 'linux', architecture: 'amd64' }),
      d(2, { os: 'linux', architecture: 'arm', variant: 'v6' }),
      d(3, { os: 'linux', architecture: 'arm', variant: 'v7' }),
      d(4, { os: 'linux', architecture: 'arm64', variant: 'v8' }),
      d(5, { os: 'unknown', architecture: 'unknown' }),
      d(6),
      d(7, { os: 'linux', architecture: 'amd64' }),
    ],
  };
  const table: Array<[string, number | undefined]> = [
    ['linux/amd64', 1],
    ['linux/arm/v7', 3],
    ['linux/arm/v6', 2],
    ['linux/arm64', 4],
    ['linux/arm/v5', undefined],
    ['linux/s390x', undefined],
  ];
  for (const [want, size] of table) test(want, () => assert.equal(selectManifest(index, parsePlatform(want))?.size, size));
  test('prefers the exact variant over an older one listed first', () => {
    const reordered = { ...index, manifests: [index.manifests[1]!, index.manifests[2]!] };
    assert.equal(selectManifest(reordered, parsePlatform('linux/arm/v7'))?.size, 3);
  });
  test('availablePlatforms leaves out attestations and duplicates', () => {
    assert.deepEqual(availablePlatforms(index), ['linux/amd64', 'linux/arm/v6', 'linux/arm/v7', 'linux/arm64/v8']);
  });
});
