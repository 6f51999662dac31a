import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  formatLogLine,
  formatTimestamp,
  LineSplitter,
  parseLog,
  parseLogLine,
  parseTimestamp,
  Reassembler,
  renderLine,
  type LogEntry,
} from '../../../src/engine/containers/log-format.ts';
import { parseLogRequest, parseTail, parseTimeArg } from '../../../src/engine/containers/log-options.ts';
import { isTscError } from '../../../src/engine/errors.ts';

const T0 = '2026-11-23T03:40:00.123456789Z';
const T0_NS = 1795405200123456789n;

describe('parseTimestamp / formatTimestamp', () => {
  const cases: [string, bigint | undefined][] = [
    [T0, T0_NS],
    ['2026-11-23T03:40:00Z', 1795405200000000000n],
    ['2026-11-23T03:40:00.5Z', 1795405200500000000n],
    ['2026-11-23T05:40:00.123456789+02:00', T0_NS],
    ['2026-11-23T00:40:00.123456789-03:00', T0_NS],
    ['1970-01-01T00:00:00Z', 0n],
    ['2026-02-30T00:00:00Z', undefined],
    ['2026-11-23T24:00:00Z', undefined],
    ['2026-11-23T03:40:00.1234567891Z', undefined],
    ['2026-11-23T03:40:00', undefined],
    ['2026-11-23 03:40:00Z', undefined],
    ['garbage', undefined],
  ];
  for (const [text, expected] of cases) it(`parses ${text}`, () => assert.equal(parseTimestamp(text), expected));

  it('formats with nine fraction digits in UTC (docker RFC3339NanoFixed)', () => {
    assert.equal(formatTimestamp(T0_NS), T0);
    assert.equal(formatTimestamp(1795405200000000000n), '2026-11-23T03:40:00.000000000Z');
    assert.equal(formatTimestamp(1795405200000000001n), '2026-11-23T03:40:00.000000001Z');
  });
});

describe('parseLogLine', () => {
  const cases: [string, string, Omit<LogEntry, 'content'> & { content: string } | undefined][] = [
    ['full stdout line', `${T0} stdout F hello world`, { time: T0_NS, stream: 'stdout', partial: false, content: 'hello world' }],
    ['partial stderr piece', `${T0} stderr P abc`, { time: T0_NS, stream: 'stderr', partial: true, content: 'abc' }],
    ['content keeps its spaces', `${T0} stdout F  two  spaces `, { time: T0_NS, stream: 'stdout', partial: false, content: ' two  spaces ' }],
    ['empty line', `${T0} stdout F `, { time: T0_NS, stream: 'stdout', partial: false, content: '' }],
    ['empty line without separator', `${T0} stdout F`, { time: T0_NS, stream: 'stdout', partial: false, content: '' }],
    ['CRI tag flags are ignored', `${T0} stdout F:x y`, { time: T0_NS, stream: 'stdout', partial: false, content: 'y' }],
    ['unknown stream', `${T0} stdin F x`, undefined],
    ['unknown tag', `${T0} stdout X x`, undefined],
    ['bad timestamp', `yesterday stdout F x`, undefined],
    ['too few fields', `${T0} stdout`, undefined],
    ['empty', '', undefined],
    ['leading space', ` ${T0} stdout F x`, undefined],
  ];
  for (const [name, line, expected] of cases) {
    it(name, () => {
      const entry = parseLogLine(Buffer.from(line));
      if (expected === undefined) return assert.equal(entry, undefined);
      assert.ok(entry);
      assert.deepEqual({ ...entry, content: entry.content.toString() }, expected);
    });
  }

  it('round-trips formatLogLine, bytes included', () => {
    const entries: LogEntry[] = [
      { time: T0_NS, stream: 'stdout', partial: false, content: Buffer.from('héllo \t wörld') },
      { time: T0_NS + 1n, stream: 'stderr', partial: true, content: Buffer.from([0xe2, 0x82]) },
      { time: 0n, stream: 'stdout', partial: false, content: Buffer.alloc(0) },
    ];
    for (const entry of entries) {
      const line = formatLogLine(entry);
      assert.equal(line.at(-1), 0x0a);
      assert.deepEqual(parseLogLine(line.subarray(0, -1)), entry);
    }
  });
});

describe('LineSplitter', () => {
  it('holds bytes after the last newline until the rest arrives', () => {
    const s = new LineSplitter();
    assert.deepEqual(s.push(Buffer.from('a\nb')).map(String), ['a']);
    assert.equal(s.pending, 1);
    assert.deepEqual(s.push(Buffer.from('c')).map(String), []);
    assert.deepEqual(s.push(Buffer.from('\n\nd\n')).map(String), ['bc', '', 'd']);
    assert.equal(s.pending, 0);
  });
  it('does not keep a view of the caller buffer', () => {
    const s = new LineSplitter();
    const buf = Buffer.from('xy');
    s.push(buf);
    buf.write('zz');
    assert.deepEqual(s.push(Buffer.from('\n')).map(String), ['xy']);
  });
});

const line = (ts: string, stream: string, tag: string, content: string) => `${ts} ${stream} ${tag} ${content}\n`;
const ts = (n: number) => `2026-11-23T03:40:${String(n).padStart(2, '0')}.000000000Z`;

describe('parseLog (reassembly)', () => {
  const cases: { name: string; log: string; lines: [string, string, boolean][]; malformed?: number }[] = [
    { name: 'full lines', log: line(ts(1), 'stdout', 'F', 'a') + line(ts(2), 'stdout', 'F', 'b'), lines: [['stdout', 'a', true], ['stdout', 'b', true]] },
    { name: 'P pieces joined with their F', log: line(ts(1), 'stdout', 'P', 'ab') + line(ts(2), 'stdout', 'P', 'cd') + line(ts(3), 'stdout', 'F', 'ef'), lines: [['stdout', 'abcdef', true]] },
    {
      name: 'pieces of both streams interleave',
      log: line(ts(1), 'stdout', 'P', 'o1') + line(ts(2), 'stderr', 'P', 'e1') + line(ts(3), 'stderr', 'F', 'e2') + line(ts(4), 'stdout', 'F', 'o2'),
      lines: [['stderr', 'e1e2', true], ['stdout', 'o1o2', true]],
    },
    { name: 'trailing P is a line without newline', log: line(ts(1), 'stdout', 'F', 'a') + line(ts(2), 'stdout', 'P', 'prompt> '), lines: [['stdout', 'a', true], ['stdout', 'prompt> ', false]] },
    { name: 'malformed lines are skipped and counted', log: 'junk\n' + line(ts(1), 'stdout', 'F', 'a') + `${ts(2)} stdout\n` + line(ts(3), 'stderr', 'F', 'b'), lines: [['stdout', 'a', true], ['stderr', 'b', true]], malformed: 2 },
    { name: 'an unfinished file line is not read', log: line(ts(1), 'stdout', 'F', 'a') + `${ts(2)} stdout F hal`, lines: [['stdout', 'a', true]] },
    { name: 'empty log', log: '', lines: [] },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const parsed = parseLog(Buffer.from(c.log));
      assert.deepEqual(parsed.lines.map((l) => [l.stream, l.content.toString(), l.complete]), c.lines);
      assert.equal(parsed.malformed, c.malformed ?? 0);
    });
  }

  it('a line takes the time of its first piece', () => {
    const parsed = parseLog(Buffer.from(line(ts(1), 'stdout', 'P', 'a') + line(ts(5), 'stdout', 'F', 'b')));
    assert.equal(parsed.lines[0]?.time, parseTimestamp(ts(1)));
  });

  it('joins a multi-byte character cut between pieces', () => {
    const euro = Buffer.from('€');
    const r = new Reassembler();
    assert.equal(r.push({ time: 1n, stream: 'stdout', partial: true, content: euro.subarray(0, 1) }), undefined);
    const joined = r.push({ time: 2n, stream: 'stdout', partial: false, content: euro.subarray(1) });
    assert.equal(joined?.content.toString(), '€');
  });
});

describe('renderLine', () => {
  const l = { time: T0_NS, stream: 'stdout' as const, content: Buffer.from('hi'), complete: true };
  it('adds the newline back', () => assert.equal(renderLine(l, false).toString(), 'hi\n'));
  it('prefixes the timestamp and a space with -t', () => assert.equal(renderLine(l, true).toString(), `${T0} hi\n`));
  it('prints an incomplete line without newline', () => assert.equal(renderLine({ ...l, complete: false }, true).toString(), `${T0} hi`));
});

describe('parseTimeArg', () => {
  const now = new Date('2026-11-23T12:00:00.000Z');
  const utc: [string, string][] = [
    ['2026-11-23T03:40:00Z', '2026-11-23T03:40:00.000Z'],
    ['2026-11-23T03:40:00.123456789Z', '2026-11-23T03:40:00.123Z'],
    ['2026-11-23T05:40:00+02:00', '2026-11-23T03:40:00.000Z'],
    ['2026-11-23T03:40Z', '2026-11-23T03:40:00.000Z'],
    ['1700000000', '2023-11-14T22:13:20.000Z'],
    ['1700000000.123', '2023-11-14T22:13:20.123Z'],
    ['1700000000.5', '2023-11-14T22:13:20.500Z'],
    ['42s', '2026-11-23T11:59:18.000Z'],
    ['10m', '2026-11-23T11:50:00.000Z'],
    ['1h30m', '2026-11-23T10:30:00.000Z'],
    ['1.5h', '2026-11-23T10:30:00.000Z'],
    ['500ms', '2026-11-23T11:59:59.500Z'],
  ];
  for (const [value, expected] of utc) it(`reads ${value}`, () => assert.equal(parseTimeArg(value, now).toISOString(), expected));

  it('reads a time without zone as local time (as docker)', () => {
    assert.equal(parseTimeArg('2026-11-23T03:40:05', now).getTime(), new Date(2026, 10, 23, 3, 40, 5).getTime());
    assert.equal(parseTimeArg('2026-11-23', now).getTime(), new Date(2026, 10, 23).getTime());
  });

  for (const bad of ['', 'yesterday', '10x', '1h30', '2026-13-01', '2026-02-30T00:00:00Z', '2026-11-23T25:00:00Z', '1700000000.1234567891']) {
    it(`rejects ${JSON.stringify(bad)} naming the flag and the value`, () => {
      assert.throws(
        () => parseTimeArg(bad, now, 'until'),
        (error: unknown) => isTscError(error) && error.code === 'invalid-argument' && error.message.startsWith(`invalid --until value "${bad}"`) && error.hint !== undefined,
      );
    });
  }
});

describe('parseTail / parseLogRequest', () => {
  it('reads numbers and all; negative means all (as docker)', () => {
    assert.equal(parseTail('all'), 'all');
    assert.equal(parseTail('0'), 0);
    assert.equal(parseTail('25'), 25);
    assert.equal(parseTail('-1'), 'all');
  });
  it('rejects anything else', () => {
    for (const bad of ['', 'ten', '1.5', '5x']) assert.throws(() => parseTail(bad), (e: unknown) => isTscError(e) && e.code === 'invalid-argument' && /--tail/.test(e.message));
  });
  it('turns flags into options', () => {
    const now = new Date('2026-11-23T12:00:00Z');
    assert.deepEqual(parseLogRequest({ tail: '3', since: '1m', timestamps: true, follow: true }, now), {
      tail: 3,
      since: new Date('2026-11-23T11:59:00Z'),
      timestamps: true,
      follow: true,
    });
    assert.deepEqual(parseLogRequest({}, now), { timestamps: false, follow: false });
  });
});
