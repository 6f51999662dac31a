/**
 * What the test machine provides (scripts/setup-host.sh writes /run/tsc-test/env), and
 * the rule for what is missing: locally a test skips with the reason printed; under
 * CI=true a missing requirement fails, because CI must provide everything.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import type { TestContext } from 'node:test';

export interface TestHost {
  user: string;
  uid: number;
  nosubUser: string;
  nosubUid: number;
  subidStart: number;
  subidCount: number;
  cgroup: string;
  registry: string;
}

export const IS_CI = process.env.CI === 'true' || process.env.CI === '1';
export const IS_ROOT = process.getuid?.() === 0;

function readHostEnv(): Record<string, string> | undefined {
  try {
    const text = readFileSync('/run/tsc-test/env', 'utf8');
    return Object.fromEntries(text.split('\n').filter((l) => l.includes('=')).map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]));
  } catch {
    return undefined;
  }
}

const raw = readHostEnv();
export const testHost: TestHost | undefined = raw && {
  user: raw.TSC_TEST_USER!,
  uid: Number(raw.TSC_TEST_UID),
  nosubUser: raw.TSC_NOSUB_USER!,
  nosubUid: Number(raw.TSC_NOSUB_UID),
  subidStart: Number(raw.TSC_TEST_SUBID_START),
  subidCount: Number(raw.TSC_TEST_SUBID_COUNT),
  cgroup: raw.TSC_TEST_CGROUP ?? '',
  registry: raw.TSC_TEST_REGISTRY!,
};

/**
 * Returns true when `ok`; otherwise skips the test with `reason` (locally) or fails it
 * (in CI). Use as: `if (!requires(t, cond, 'why')) return;`
 */
export function requires(t: TestContext, ok: boolean, reason: string): boolean {
  if (ok) return true;
  if (IS_CI) assert.fail(`missing test requirement in CI: ${reason}`);
  t.skip(reason);
  return false;
}

/** The set-up host and root (to act as its users), or skip/fail. */
export function requiresTestHost(t: TestContext): TestHost | undefined {
  if (!requires(t, testHost !== undefined, 'the test host is not set up (run: sudo bash scripts/setup-host.sh)')) return undefined;
  if (!requires(t, IS_ROOT, 'acting as the test users needs root (run the tests with sudo)')) return undefined;
  return testHost;
}
