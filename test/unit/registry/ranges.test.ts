import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parseContentRange } from '../../../src/engine/registry/blobs.ts';
import { nextLink, parseLinkHeader } from '../../../src/engine/registry/listing.ts';
import { uploadedBytes } from '../../../src/engine/registry/push.ts';

describe('parseContentRange', () => {
  const table: Array<[string | null, ReturnType<typeof parseContentRange>]> = [
    ['bytes 100-199/200', { start: 100, end: 199, total: 200 }],
    ['bytes 0-0/1', { start: 0, end: 0, total: 1 }],
    ['bytes 5-9/*', { start: 5, end: 9, total: undefined }],
    ['BYTES 5-9/10', { start: 5, end: 9, total: 10 }],
    ['bytes 9-5/10', undefined],
    ['bytes 5-10/10', undefined],
    ['bytes */10', undefined],
    ['5-9/10', undefined],
    ['', undefined],
    [null, undefined],
  ];
  for (const [value, expected] of table) test(JSON.stringify(value), () => assert.deepEqual(parseContentRange(value), expected));
});

describe('uploadedBytes (Range of an upload)', () => {
  const table: Array<[string | null, number | undefined]> = [
    ['0-1023', 1024],
    ['bytes=0-99', 100],
    ['0-0', 0],
    ['5-10', undefined],
    ['', undefined],
    [null, undefined],
  ];
  for (const [value, expected] of table) test(JSON.stringify(value), () => assert.equal(uploadedBytes(value), expected));
});

describe('Link headers', () => {
  test('the distribution spec form', () => {
    assert.deepEqual(parseLinkHeader('</v2/_catalog?last=b&n=2>; rel="next"'), [{ url: '/v2/_catalog?last=b&n=2', params: { rel: 'next' } }]);
  });
  test('several links, unquoted and quoted params with commas and semicolons', () => {
    assert.deepEqual(parseLinkHeader('<https://r/a?x=1,2>; rel=prev; title="a, b; c", </b>;rel="next"'), [
      { url: 'https://r/a?x=1,2', params: { rel: 'prev', title: 'a, b; c' } },
      { url: '/b', params: { rel: 'next' } },
    ]);
  });
  test('next among several relations', () => {
    assert.equal(nextLink('</p>; rel="prev", </n>; rel="last next"'), '/n');
    assert.equal(nextLink('</p>; rel="prev"'), undefined);
    assert.equal(nextLink(null), undefined);
    assert.equal(nextLink('garbage'), undefined);
  });
});
