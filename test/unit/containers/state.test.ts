import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { humanDuration, liveState, processStartTime, statusText, type MonitorState } from '../../../src/engine/containers/state.ts';
import type { ContainerRow } from '../../../src/engine/containers/records.ts';

const root = mkdtempSync(join(tmpdir(), 'tsc-state-'));
after(() => rmSync(root, { recursive: true, force: true }));
const boot = readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();

function row(id: string, state: ContainerRow['state'] = 'started'): ContainerRow {
  return { id, name: id, imageId: 'sha256:x', imageName: 'x', createdAt: new Date().toISOString(), state, ownerPid: 0, config: { cgroup: undefined } as ContainerRow['config'] };
}

function write(id: string, m: Partial<MonitorState>): void {
  mkdirSync(join(root, 'containers', id), { recursive: true });
  const full: MonitorState = {
    status: 'running', pid: process.pid, pidStart: processStartTime(process.pid)!, monitorPid: process.pid, monitorStart: processStartTime(process.pid)!,
    bootId: boot, startedAt: '2026-01-01T00:00:00Z', finishedAt: '', exitCode: 0, signal: 0, restartCount: 0, stopRequested: false, error: '', ...m,
  };
  writeFileSync(join(root, 'containers', id, 'state.json'), JSON.stringify(full));
}

describe('live state', () => {
  it('is created before the first start, whatever files exist', () => {
    assert.equal(liveState(row('a', 'created'), root).status, 'created');
  });
  it('is running while the monitor lives', () => {
    write('b', {});
    const s = liveState(row('b'), root);
    assert.equal(s.status, 'running');
    assert.equal(s.pid, process.pid);
  });
  it('is exited with the recorded code', () => {
    write('c', { status: 'exited', exitCode: 3, finishedAt: '2026-01-01T00:00:01Z' });
    const s = liveState(row('c'), root);
    assert.deepEqual([s.status, s.running, s.exitCode], ['exited', false, 3]);
  });
  it('is exited (-1) when the monitor is gone: a recycled pid does not count', () => {
    write('d', { monitorStart: processStartTime(process.pid)! + 1 });
    const s = liveState(row('d'), root);
    assert.deepEqual([s.status, s.exitCode], ['exited', -1]);
    assert.match(s.error, /monitor is gone/);
  });
  it('is exited (-1) after a reboot (another boot id)', () => {
    write('e', { bootId: 'another-boot' });
    assert.equal(liveState(row('e'), root).status, 'exited');
  });
  it('says so when there is no state file', () => {
    assert.match(liveState(row('f'), root).error, /no state file/);
  });
});

describe('status text', () => {
  const now = Date.parse('2026-01-01T01:00:00Z');
  const base = liveState(row('z', 'created'), root);
  it('follows docker', () => {
    assert.equal(statusText(base, now), 'Created');
    assert.equal(statusText({ ...base, status: 'running', running: true, startedAt: '2026-01-01T00:59:55Z' }, now), 'Up 5 seconds');
    assert.equal(statusText({ ...base, status: 'paused', running: true, paused: true, startedAt: '2026-01-01T00:00:00Z' }, now), 'Up About an hour (Paused)');
    assert.equal(statusText({ ...base, status: 'exited', exitCode: 137, finishedAt: '2026-01-01T00:57:00Z' }, now), 'Exited (137) 3 minutes ago');
  });
  it('human durations', () => {
    assert.equal(humanDuration(200), 'Less than a second');
    assert.equal(humanDuration(1000), '1 second');
    assert.equal(humanDuration(90_000), '2 minutes');
    assert.equal(humanDuration(3 * 86_400_000), '3 days');
  });
});

describe('tsc\'s own end records', () => {
  it('are written in place of the monitor, and skipped when the container was removed meanwhile', async () => {
    const { writeEndState, readMonitorState } = await import('../../../src/engine/containers/state.ts');
    mkdirSync(join(root, 'containers', 'w'), { recursive: true });
    await writeEndState(join(root, 'containers', 'w'), { status: 'failed', exitCode: 127, error: 'not found' });
    assert.deepEqual([readMonitorState(join(root, 'containers', 'w'))?.status, readMonitorState(join(root, 'containers', 'w'))?.exitCode], ['failed', 127]);
    await writeEndState(join(root, 'containers', 'w'), { status: 'exited', exitCode: 255, error: 'lost' }, true);
    assert.equal(readMonitorState(join(root, 'containers', 'w'))?.exitCode, 127, 'onlyIfAbsent keeps a record that is there');
    await writeEndState(join(root, 'containers', 'gone'), { status: 'failed', exitCode: 125, error: 'x' });
    await writeEndState(join(root, 'containers', 'gone'), { status: 'failed', exitCode: 125, error: 'x' }, true);
    assert.equal(readMonitorState(join(root, 'containers', 'gone')), undefined);
  });
});
