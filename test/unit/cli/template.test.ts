import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseTemplate, render } from '../../../src/cli/template.ts';
import { TscError } from '../../../src/engine/errors.ts';

const data = {
  id: 'abc123',
  names: ['web', 'db'],
  host: { kernel: '6.18', cpus: 2 },
  labels: { b: '2', a: '1' },
  empty: [],
  ready: true,
  nothing: null,
  name: 'Box',
};

describe('Go-style templates', () => {
  const cases: [string, string][] = [
    ['{{.id}}', 'abc123'],
    ['{{.ID}}', 'abc123'],
    ['{{ .host.kernel }}', '6.18'],
    ['{{.Host.Cpus}}', '2'],
    ['{{json .host}}', '{"kernel":"6.18","cpus":2}'],
    ['{{json .}}', JSON.stringify(data)],
    ['{{.names}}', '[web db]'],
    ['{{.labels}}', 'map[a:1 b:2]'],
    ['{{.nothing}}', '<no value>'],
    ['{{join .names ", "}}', 'web, db'],
    ['{{.name | upper}}', 'BOX'],
    ['{{.name | lower | upper}}', 'BOX'],
    ['{{upper .name}}', 'BOX'],
    ['{{len .names}}', '2'],
    ['{{truncate .id 3}}', 'abc'],
    ['{{printf "%-5s|%3d" .name .host.cpus}}', 'Box  |  2'],
    ['{{if .ready}}yes{{else}}no{{end}}', 'yes'],
    ['{{if .empty}}yes{{else}}no{{end}}', 'no'],
    ['{{range .names}}<{{.}}>{{end}}', '<web><db>'],
    ['{{range .empty}}x{{else}}none{{end}}', 'none'],
    ['{{.id}}\\t{{.name}}', 'abc123\tBox'],
    ['a\\nb', 'a\nb'],
    ['x {{- .id -}} y', 'xabc123y'],
    ['{{"lit"}}', 'lit'],
    ['plain text', 'plain text'],
  ];
  for (const [template, expected] of cases) {
    it(template, () => assert.equal(render(parseTemplate(template), data), expected));
  }

  const errors: [string, RegExp][] = [
    ['{{.missing}}', /can't evaluate field missing/],
    ['{{.id.deeper}}', /can't evaluate field deeper in string/],
    ['{{nosuch .id}}', /function "nosuch" not defined/],
    ['{{.id', /unclosed action/],
    ['{{if .ready}}x', /missing \{\{end\}\}/],
    ['{{end}}', /unexpected \{\{end\}\}/],
    ['{{else}}', /unexpected \{\{else\}\}/],
    ['{{}}', /empty action/],
    ['{{.a-b}}', /bad field name/],
  ];
  for (const [template, message] of errors) {
    it(`rejects ${template}`, () => {
      assert.throws(() => render(parseTemplate(template), data), (e: unknown) => {
        assert.ok(e instanceof TscError);
        assert.equal(e.code, 'invalid-argument');
        assert.match(e.message, message);
        assert.ok(e.message.includes(JSON.stringify(template)), 'the message quotes the template');
        return true;
      });
    });
  }
});
