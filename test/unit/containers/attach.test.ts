import assert from 'node:assert/strict';
import { PassThrough, Duplex } from 'node:stream';
import { describe, it } from 'node:test';
import { attachSession, encodeFrame, FrameDecoder, FRAME } from '../../../src/engine/containers/attach.ts';
import { parseRestart } from '../../../src/engine/containers/create.ts';
import { signalNumber } from '../../../src/engine/containers/signals.ts';

describe('attach frames', () => {
  it('round-trip across arbitrary chunking', () => {
    const frames = [encodeFrame(FRAME.stdout, Buffer.from('hello')), encodeFrame(FRAME.stderr, Buffer.alloc(0)), encodeFrame(FRAME.exit, Buffer.from('{"exitCode":3}'))];
    const bytes = Buffer.concat(frames);
    for (const step of [1, 2, 3, 7, bytes.length]) {
      const decoder = new FrameDecoder();
      const out = [];
      for (let i = 0; i < bytes.length; i += step) out.push(...decoder.push(bytes.subarray(i, i + step)));
      assert.deepEqual(out.map((f) => [f.type, f.payload.toString()]), [[1, 'hello'], [2, ''], [3, '{"exitCode":3}']]);
    }
  });
  it('refuse an impossible length', () => {
    const bad = Buffer.from([1, 0xff, 0xff, 0xff, 0xff]);
    assert.throws(() => new FrameDecoder().push(bad), /frame of/);
  });
  it('a session writes output and resolves with the final exit, not a restart', async () => {
    const fromMonitor = new PassThrough();
    const toMonitor = new PassThrough();
    const socket = Duplex.from({ readable: fromMonitor, writable: toMonitor } as unknown as Parameters<typeof Duplex.from>[0]);
    const stdout = new PassThrough();
    let out = '';
    stdout.on('data', (b: Buffer) => (out += b.toString()));
    const exits: number[] = [];
    const sentChunks: Buffer[] = [];
    toMonitor.on('data', (b: Buffer) => sentChunks.push(b));
    const session = attachSession(socket, { stdout, onExit: (e) => exits.push(e.exitCode) });
    session.resize(24, 80);
    session.signal(15, true);
    fromMonitor.write(encodeFrame(FRAME.stdout, Buffer.from('a')));
    fromMonitor.write(encodeFrame(FRAME.exit, Buffer.from('{"exitCode":1,"signal":0,"restarting":true}')));
    fromMonitor.write(encodeFrame(FRAME.stdout, Buffer.from('b')));
    fromMonitor.write(encodeFrame(FRAME.exit, Buffer.from('{"exitCode":0,"signal":0,"restarting":false}')));
    const final = await session.ended;
    assert.equal(final?.exitCode, 0);
    assert.deepEqual(exits, [1, 0]);
    assert.equal(out, 'ab');
    await new Promise((r) => setImmediate(r));
    const sent = new FrameDecoder().push(Buffer.concat(sentChunks));
    assert.deepEqual(sent.map((f) => [f.type, [...f.payload]]), [[FRAME.resize, [0, 24, 0, 80]], [FRAME.signal, [15, 1]]]);
  });
});

describe('restart policies and signals', () => {
  it('parses docker spellings', () => {
    assert.deepEqual(parseRestart(undefined), { name: 'no', maximumRetryCount: 0 });
    assert.deepEqual(parseRestart('on-failure:2'), { name: 'on-failure', maximumRetryCount: 2 });
    assert.deepEqual(parseRestart('unless-stopped'), { name: 'unless-stopped', maximumRetryCount: 0 });
    assert.throws(() => parseRestart('sometimes'), /invalid --restart "sometimes"/);
    assert.throws(() => parseRestart('on-failure:x'), /invalid --restart/);
  });
  it('maps signal names and numbers', () => {
    assert.equal(signalNumber('-s', 'KILL'), 9);
    assert.equal(signalNumber('-s', 'sigterm'), 15);
    assert.equal(signalNumber('-s', '10'), 10);
    assert.equal(signalNumber('-s', 'RTMIN+2'), 36);
    assert.throws(() => signalNumber('-s', 'NOPE'), /unknown signal/);
  });
});
