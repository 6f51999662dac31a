import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { formatItems, formatValue, tableHeader } from '../../../src/cli/output.ts';

describe('formatValue', () => {
  it('returns undefined without a format, so the command prints its own view', () => {
    assert.equal(formatValue({ a: 1 }, undefined), undefined);
    assert.equal(formatValue({ a: 1 }, ''), undefined);
  });
  it('pretty-prints json that parses back to the same value', () => {
    const value = { a: 1, b: ['x'], c: { d: null } };
    const text = formatValue(value, 'json')!;
    assert.deepEqual(JSON.parse(text), value);
    assert.ok(text.endsWith('\n'));
  });
  it('renders a template with a trailing newline', () => assert.equal(formatValue({ a: 1 }, '{{.a}}'), '1\n'));
});

describe('formatItems', () => {
  const items = [{ id: 'a1', name: 'one' }, { id: 'b2', name: 'two' }];
  it('json: one compact object per line', () => {
    assert.equal(formatItems(items, 'json'), '{"id":"a1","name":"one"}\n{"id":"b2","name":"two"}\n');
  });
  it('template: one line per item', () => assert.equal(formatItems(items, '{{.id}}:{{.name}}'), 'a1:one\nb2:two\n'));
  it('table: a header row from the field names', () => {
    assert.equal(formatItems(items, 'table {{.ID}}\\t{{.Name}}'), 'ID\tNAME\na1\tone\nb2\ttwo\n');
  });
});

describe('tableHeader', () => {
  it('names nested fields by their last part and splits camel case', () => {
    assert.equal(tableHeader('{{.Config.Image}} {{json .createdAt}}'), 'IMAGE CREATED AT');
  });
});
