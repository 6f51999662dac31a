import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Errors } from '@oclif/core';
import { describeError } from '../../../src/cli/errors.ts';
import { TscError } from '../../../src/engine/errors.ts';

describe('describeError', () => {
  it('engine errors: message and hint, exit 125', () => {
    const report = describeError(new TscError('not-found', 'no such image: busybox', { hint: 'pull it first' }), { debug: false });
    assert.deepEqual(report, { exitCode: 125, text: 'Error: no such image: busybox\nHint: pull it first\n' });
  });
  it('shows the cause only at debug level', () => {
    const error = new TscError('system', 'cannot write /x', { cause: Object.assign(new Error('denied'), { code: 'EACCES' }) });
    assert.doesNotMatch(describeError(error, { debug: false }).text, /Cause/);
    assert.match(describeError(error, { debug: true }).text, /Cause: denied \(EACCES\)/);
  });
  it('parser errors: 125 with a pointer to the command help', () => {
    const report = describeError(new Errors.CLIError('Nonexistent flag: --bogus\nSee more help with --help'), { debug: false, command: 'info' });
    assert.equal(report.exitCode, 125);
    assert.equal(report.text, "Error: nonexistent flag: --bogus\nHint: see 'tsc info --help'\n");
  });
  it('explicit exits keep their code and print nothing', () => {
    assert.deepEqual(describeError(new Errors.ExitError(1), { debug: false }), { exitCode: 1, text: '' });
  });
  it('unexpected errors are called bugs, with the stack only at debug level', () => {
    const report = describeError(new TypeError('x is undefined'), { debug: false });
    assert.equal(report.exitCode, 125);
    assert.match(report.text, /^Error: internal error: x is undefined\nHint: this is a bug in tsc/);
    assert.doesNotMatch(report.text, /at /);
    assert.match(describeError(new TypeError('x'), { debug: true }).text, /TypeError: x\n\s+at /);
  });
});
