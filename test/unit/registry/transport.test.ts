import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { TscError } from '../../../src/engine/errors.ts';
import { backoffDelay, isRetryableStatus, isTransientNetworkError, networkCode, parseRetryAfter } from '../../../src/engine/registry/transport.ts';

describe('parseRetryAfter', () => {
  const now = Date.parse('2026-01-01T00:00:00Z');
  const cases: Array<[string | null, number | undefined]> = [
    ['0', 0],
    ['5', 5_000],
    [' 120 ', 120_000],
    ['Thu, 01 Jan 2026 00:00:30 GMT', 30_000],
    ['Wed, 31 Dec 2025 23:59:00 GMT', 0],
    ['-1', undefined],
    ['1.5', undefined],
    ['soon', undefined],
    ['', undefined],
    [null, undefined],
  ];
  for (const [value, expected] of cases) {
    test(JSON.stringify(value), () => assert.equal(parseRetryAfter(value, now), expected));
  }
});

describe('backoffDelay', () => {
  test('doubles from 500 ms with equal jitter, capped at 15 s', () => {
    assert.deepEqual([1, 2, 3, 4].map((a) => backoffDelay(a, () => 0)), [250, 500, 1000, 2000]);
    assert.deepEqual([1, 2, 3, 4].map((a) => backoffDelay(a, () => 1)), [500, 1000, 2000, 4000]);
    assert.equal(backoffDelay(20, () => 1), 15_000);
    assert.equal(backoffDelay(20, () => 0), 7_500);
  });
});

describe('isRetryableStatus', () => {
  const table: Array<[number, boolean]> = [
    [500, true], [502, true], [503, true], [504, true], [429, true], [408, true],
    [501, false], [505, false], [400, false], [401, false], [403, false], [404, false], [200, false],
  ];
  for (const [status, expected] of table) test(String(status), () => assert.equal(isRetryableStatus(status), expected));
});

describe('network errors', () => {
  const wrapped = (cause: unknown) => new TypeError('fetch failed', { cause });
  const coded = (code: string) => Object.assign(new Error(code), { code });
  test('finds codes through causes and aggregate errors', () => {
    assert.equal(networkCode(wrapped(coded('ECONNRESET'))), 'ECONNRESET');
    assert.equal(networkCode(wrapped(new AggregateError([coded('ETIMEDOUT'), coded('ECONNREFUSED')]))), 'ETIMEDOUT');
    assert.equal(networkCode(new Error('plain')), undefined);
  });
  const table: Array<[string, unknown, boolean]> = [
    ['reset', wrapped(coded('ECONNRESET')), true],
    ['socket closed', wrapped(coded('UND_ERR_SOCKET')), true],
    ['dns try again', wrapped(coded('EAI_AGAIN')), true],
    ['body terminated', new TypeError('terminated'), true],
    ['refused', wrapped(coded('ECONNREFUSED')), false],
    ['unknown host', wrapped(coded('ENOTFOUND')), false],
    ['bad certificate', wrapped(coded('DEPTH_ZERO_SELF_SIGNED_CERT')), false],
    ['our own error', new TscError('remote', 'x'), false],
    ['abort', new DOMException('aborted', 'AbortError'), false],
  ];
  for (const [name, error, expected] of table) test(name, () => assert.equal(isTransientNetworkError(error), expected));
});
