import assert from 'node:assert/strict';
import { appendFileSync, mkdirSync, mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { appendFile, rename } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, describe, it } from 'node:test';
import { formatLogLine, formatTimestamp, parseTimestamp, type LogStream } from '../../../src/engine/containers/log-format.ts';
import { readLogs, type LogFiles, type LogOptions } from '../../../src/engine/containers/logs.ts';

const root = mkdtempSync(join(tmpdir(), 'tsc-logs-test-'));
after(() => rmSync(root, { recursive: true, force: true }));

let counter = 0;
/** LOG and LOG.1 in a fresh directory named after the test. */
function logFiles(name: string): LogFiles {
  const dir = join(root, `${++counter}-${name.replace(/\W+/g, '-')}`);
  mkdirSync(dir);
  const current = join(dir, 'ctr.log');
  return { current, rotated: `${current}.1` };
}

const BASE = parseTimestamp('2026-11-23T03:40:00Z')!;
const at = (second: number) => BASE + BigInt(second) * 1_000_000_000n;
const tsText = (second: number) => formatTimestamp(at(second));

/** One file line as the monitor writes it. */
function entry(second: number, stream: LogStream, tag: 'F' | 'P', content: string): Buffer {
  return formatLogLine({ time: at(second), stream, partial: tag === 'P', content: Buffer.from(content) });
}
const full = (second: number, content: string, stream: LogStream = 'stdout') => entry(second, stream, 'F', content);

function capture() {
  const out = { stdout: new PassThrough(), stderr: new PassThrough() };
  const seen = { stdout: '', stderr: '' };
  out.stdout.on('data', (chunk: Buffer) => (seen.stdout += chunk.toString()));
  out.stderr.on('data', (chunk: Buffer) => (seen.stderr += chunk.toString()));
  return { out, seen };
}

async function readAll(files: LogFiles, options: LogOptions = {}) {
  const { out, seen } = capture();
  const report = await readLogs(files, options, out);
  return { ...seen, report };
}

async function until(condition: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(2);
  }
}

describe('readLogs (what is on disk)', () => {
  it('reassembles P pieces and separates stdout from stderr', async () => {
    const files = logFiles('separate');
    writeFileSync(
      files.current,
      Buffer.concat([
        full(1, 'out one'),
        entry(2, 'stderr', 'P', 'err '),
        full(3, 'out two'),
        entry(4, 'stderr', 'F', 'one'),
        entry(5, 'stdout', 'P', 'x'.repeat(70_000)),
        full(6, 'y'),
      ]),
    );
    const got = await readAll(files);
    assert.equal(got.stdout, `out one\nout two\n${'x'.repeat(70_000)}y\n`);
    assert.equal(got.stderr, 'err one\n');
    assert.deepEqual(got.report, { lines: 4, malformed: 0 });
  });

  it('reads LOG.1 before LOG, a line cut by rotation included', async () => {
    const files = logFiles('rotated-first');
    writeFileSync(files.rotated, Buffer.concat([full(1, 'a'), entry(2, 'stdout', 'P', 'b1')]));
    writeFileSync(files.current, Buffer.concat([full(3, 'b2'), full(4, 'c')]));
    assert.equal((await readAll(files)).stdout, 'a\nb1b2\nc\n');
  });

  it('prints an unterminated last piece without newline once the stream ended', async () => {
    const files = logFiles('trailing-p');
    writeFileSync(files.current, Buffer.concat([full(1, 'a'), entry(2, 'stdout', 'P', 'prompt> ')]));
    assert.equal((await readAll(files)).stdout, 'a\nprompt> ');
  });

  it('does not print a file line the writer has not finished', async () => {
    const files = logFiles('unfinished');
    writeFileSync(files.current, Buffer.concat([full(1, 'a'), full(2, 'half').subarray(0, 30)]));
    const got = await readAll(files);
    assert.equal(got.stdout, 'a\n');
    assert.equal(got.report.malformed, 0);
  });

  it('skips and counts malformed lines', async () => {
    const files = logFiles('malformed');
    writeFileSync(files.current, Buffer.concat([Buffer.from('garbage\n'), full(1, 'a'), Buffer.from(`${tsText(2)} stdin F x\n`), full(3, 'b', 'stderr')]));
    const got = await readAll(files);
    assert.equal(got.stdout, 'a\n');
    assert.equal(got.stderr, 'b\n');
    assert.deepEqual(got.report, { lines: 2, malformed: 2 });
  });

  it('prints nothing when there is no log yet', async () => {
    const got = await readAll(logFiles('missing'));
    assert.deepEqual(got, { stdout: '', stderr: '', report: { lines: 0, malformed: 0 } });
  });

  it('prefixes each line with its RFC3339Nano time with -t, on both streams', async () => {
    const files = logFiles('timestamps');
    const t = BASE + 123_456_789n;
    writeFileSync(
      files.current,
      Buffer.concat([
        formatLogLine({ time: t, stream: 'stdout', partial: true, content: Buffer.from('lo') }),
        formatLogLine({ time: t + 5n, stream: 'stdout', partial: false, content: Buffer.from('ng') }),
        full(2, 'e', 'stderr'),
      ]),
    );
    const got = await readAll(files, { timestamps: true });
    assert.equal(got.stdout, '2026-11-23T03:40:00.123456789Z long\n');
    assert.equal(got.stderr, `${tsText(2)} e\n`);
  });
});

describe('readLogs --tail, --since, --until', () => {
  // lines 1..8 at seconds 1..8; 1-5 in LOG.1, 6-8 in LOG, line 5 cut into pieces across the rotation
  function eightLines(name: string): LogFiles {
    const files = logFiles(name);
    writeFileSync(files.rotated, Buffer.concat([full(1, 'l1'), full(2, 'l2', 'stderr'), full(3, 'l3'), full(4, 'l4'), entry(5, 'stdout', 'P', 'l')]));
    writeFileSync(files.current, Buffer.concat([entry(5, 'stdout', 'P', '5'), full(5, ''), full(6, 'l6'), full(7, 'l7', 'stderr'), full(8, 'l8')]));
    return files;
  }
  const both = (got: { stdout: string; stderr: string }) => `${got.stdout}|${got.stderr}`;

  const cases: [string, LogOptions, string][] = [
    ['all', {}, 'l1\nl3\nl4\nl5\nl6\nl8\n|l2\nl7\n'],
    ['tail counts reassembled lines across LOG.1 + LOG', { tail: 4 }, 'l5\nl6\nl8\n|l7\n'],
    ['tail reaching into LOG.1', { tail: 6 }, 'l3\nl4\nl5\nl6\nl8\n|l7\n'],
    ['tail larger than the log', { tail: 100 }, 'l1\nl3\nl4\nl5\nl6\nl8\n|l2\nl7\n'],
    ['tail 0', { tail: 0 }, '|'],
    ['since and until are inclusive', { since: new Date('2026-11-23T03:40:02Z'), until: new Date('2026-11-23T03:40:05Z') }, 'l3\nl4\nl5\n|l2\n'],
    ['since between two lines', { since: new Date('2026-11-23T03:40:06.500Z') }, 'l8\n|l7\n'],
    ['until before everything', { until: new Date('2026-11-23T03:39:00Z') }, '|'],
    ['tail picks first, then since filters (as docker)', { tail: 3, since: new Date('2026-11-23T03:40:07Z') }, 'l8\n|l7\n'],
    ['tail then until: nothing left', { tail: 2, until: new Date('2026-11-23T03:40:06Z') }, '|'],
  ];
  for (const [name, options, expected] of cases) {
    it(name, async () => assert.equal(both(await readAll(eightLines(name), options)), expected));
  }
});

// a follow that never ends fails its test instead of hanging the run
describe('readLogs --follow', { timeout: 10_000 }, () => {
  it('returns at once without options.follow, even while the container runs', async () => {
    const files = logFiles('no-follow');
    writeFileSync(files.current, full(1, 'a'));
    const { out, seen } = capture();
    await readLogs(files, { follow: false }, out, { isRunning: () => true, intervalMs: 5 });
    assert.equal(seen.stdout, 'a\n');
  });

  it('follows a scripted writer through rotations, a double rotation and a missing LOG, each line once', async () => {
    const files = logFiles('scripted');
    const rotate = () => renameSync(files.current, files.rotated);
    const add = (...lines: Buffer[]) => appendFileSync(files.current, Buffer.concat(lines));
    writeFileSync(files.rotated, full(1, 'old'));
    add(full(2, 'l2'));
    // each step runs when the reader polls isRunning, i.e. between two reads
    const steps: (() => void)[] = [
      () => add(full(3, 'l3'), full(4, 'l4', 'stderr')),
      () => (rotate(), add(full(5, 'l5'))),
      () => (add(entry(6, 'stdout', 'P', 'cut ')), rotate(), add(full(6, 'across'))),
      () => (add(full(7, 'l7')), rotate(), add(full(8, 'l8')), rotate(), add(full(9, 'l9'))),
      () => (add(full(10, 'l10')), rotate()),
      () => undefined,
      () => add(full(11, 'l11'), full(12, 'half').subarray(0, 20)),
      () => add(full(12, 'half').subarray(20)),
    ];
    let polls = 0;
    const { out, seen } = capture();
    await readLogs(files, { follow: true }, out, {
      intervalMs: 1,
      isRunning: () => {
        const step = steps[polls++];
        step?.();
        return step !== undefined;
      },
    });
    assert.equal(seen.stdout, 'old\nl2\nl3\nl5\ncut across\nl7\nl8\nl9\nl10\nl11\nhalf\n');
    assert.equal(seen.stderr, 'l4\n');
    assert.equal(polls, steps.length + 1);
  });

  it('reads what was written just before the container stopped', async () => {
    const files = logFiles('last-words');
    writeFileSync(files.current, full(1, 'a'));
    const { out, seen } = capture();
    let polls = 0;
    await readLogs(files, { follow: true }, out, {
      intervalMs: 1,
      isRunning: () => {
        if (++polls < 3) return true;
        appendFileSync(files.current, Buffer.concat([full(2, 'bye'), entry(3, 'stderr', 'P', 'no newline')]));
        return false;
      },
    });
    assert.equal(seen.stdout, 'a\nbye\n');
    assert.equal(seen.stderr, 'no newline');
  });

  it('holds a half-written line until the writer completes it', async () => {
    const files = logFiles('held');
    const line = full(2, 'complete me');
    writeFileSync(files.current, Buffer.concat([full(1, 'first'), line.subarray(0, 35)]));
    const { out, seen } = capture();
    let running = true;
    const reading = readLogs(files, { follow: true }, out, { isRunning: () => running, intervalMs: 2 });
    await until(() => seen.stdout === 'first\n', 'the first line');
    await sleep(30);
    assert.equal(seen.stdout, 'first\n');
    appendFileSync(files.current, line.subarray(35));
    await until(() => seen.stdout === 'first\ncomplete me\n', 'the completed line');
    running = false;
    await reading;
    assert.equal(seen.stdout, 'first\ncomplete me\n');
  });

  it('holds P pieces until their F while following', async () => {
    const files = logFiles('held-p');
    writeFileSync(files.current, entry(1, 'stdout', 'P', 'abc'));
    const { out, seen } = capture();
    let running = true;
    const reading = readLogs(files, { follow: true, timestamps: true }, out, { isRunning: () => running, intervalMs: 2 });
    await sleep(30);
    assert.equal(seen.stdout, '');
    appendFileSync(files.current, full(2, 'def'));
    await until(() => seen.stdout !== '', 'the line');
    running = false;
    await reading;
    assert.equal(seen.stdout, `${tsText(1)} abcdef\n`);
  });

  it('applies --tail to what is on disk, then follows everything new', async () => {
    const files = logFiles('tail-follow');
    writeFileSync(files.current, Buffer.concat([full(1, 'a'), full(2, 'b'), full(3, 'c')]));
    const { out, seen } = capture();
    let polls = 0;
    await readLogs(files, { follow: true, tail: 1 }, out, {
      intervalMs: 1,
      isRunning: () => {
        if (++polls === 2) appendFileSync(files.current, Buffer.concat([full(4, 'd'), full(5, 'e')]));
        return polls < 4;
      },
    });
    assert.equal(seen.stdout, 'c\nd\ne\n');
  });

  it('stops at the first line after --until', async () => {
    const files = logFiles('until-follow');
    // times around now, so that it is the line and not the clock that ends following
    const now = BigInt(Date.now()) * 1_000_000n;
    const minute = 60_000_000_000n;
    const line = (time: bigint, text: string) => formatLogLine({ time, stream: 'stdout', partial: false, content: Buffer.from(text) });
    writeFileSync(files.current, Buffer.concat([line(now - minute, 'a'), line(now + 10n * minute, 'late')]));
    const { out, seen } = capture();
    const safety = AbortSignal.timeout(3000);
    await readLogs(files, { follow: true, until: new Date(Date.now() + 5 * 60_000) }, out, { isRunning: () => true, intervalMs: 1, signal: safety });
    assert.equal(safety.aborted, false, 'the line after --until should end following');
    assert.equal(seen.stdout, 'a\n');
  });

  it('ends on abort while the container still runs', async () => {
    const files = logFiles('abort');
    writeFileSync(files.current, full(1, 'a'));
    const { out, seen } = capture();
    const controller = new AbortController();
    const reading = readLogs(files, { follow: true }, out, { isRunning: () => true, signal: controller.signal, intervalMs: 10_000 });
    await until(() => seen.stdout === 'a\n', 'the line');
    const started = Date.now();
    controller.abort();
    await reading;
    assert.ok(Date.now() - started < 1000);
  });

  it('emits every line of a concurrent writer exactly once across rotations', async () => {
    const files = logFiles('concurrent');
    const total = 400;
    let running = true;
    const writer = (async () => {
      try {
      for (let i = 0; i < total; i++) {
        const stream: LogStream = i % 3 === 0 ? 'stderr' : 'stdout';
        const data = i % 10 === 4 ? Buffer.concat([entry(i, stream, 'P', `${i}-`), entry(i, stream, 'F', 'x')]) : entry(i, stream, 'F', String(i));
        if (i % 7 === 0) {
          // the writer can be seen mid-line
          await appendFile(files.current, data.subarray(0, 10));
          await sleep(1);
          await appendFile(files.current, data.subarray(10));
        } else {
          await appendFile(files.current, data);
        }
        if (i % 25 === 24) await rename(files.current, files.rotated);
        if (i % 5 === 0) await sleep(1);
      }
      } finally {
        running = false;
      }
    })();
    const { out, seen } = capture();
    await readLogs(files, { follow: true }, out, { isRunning: () => running, intervalMs: 2 });
    await writer;
    const expected = (want: (i: number) => boolean) =>
      Array.from({ length: total }, (_, i) => i)
        .filter(want)
        .map((i) => (i % 10 === 4 ? `${i}-x\n` : `${i}\n`))
        .join('');
    assert.equal(seen.stdout, expected((i) => i % 3 !== 0));
    assert.equal(seen.stderr, expected((i) => i % 3 === 0));
  });
});
