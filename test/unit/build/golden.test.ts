/**
 * Golden tests of the Dockerfile front end. Every directory under golden/ holds a
 * Dockerfile and expected.json: the syntax tree, the typed instructions and the stage
 * grouping (stages name their instructions by start line). When the directory also has
 * expand.json (`{"buildArgs": {...}, "predefined": {...}}`), the dump includes every
 * stage expanded with those values.
 *
 * UPDATE_GOLDEN=1 rewrites the expected files; read the diff before committing it.
 */
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';

import { stages, toInstructions } from '../../../src/engine/build/dockerfile/instructions.ts';
import { parseDockerfile } from '../../../src/engine/build/dockerfile/parser.ts';
import { expandStages } from '../../../src/engine/build/dockerfile/scope.ts';

const root = join(import.meta.dirname, 'golden');
const update = process.env['UPDATE_GOLDEN'] === '1';

interface ExpandConfig {
  buildArgs?: Record<string, string>;
  predefined?: Record<string, string>;
}

function dump(dir: string): unknown {
  const ast = parseDockerfile(readFileSync(join(dir, 'Dockerfile')));
  const instructions = toInstructions(ast);
  const grouped = stages(instructions, { file: ast.file });
  const result: Record<string, unknown> = {
    escape: ast.escape,
    directives: ast.directives,
    nodes: ast.nodes,
    instructions,
    stages: {
      metaArgs: grouped.metaArgs.map((a) => a.startLine),
      stages: grouped.stages.map((s) => ({
        index: s.index,
        name: s.name,
        base: s.base,
        fromLine: s.from.startLine,
        instructionLines: s.instructions.map((i) => i.startLine),
      })),
    },
  };
  const configPath = join(dir, 'expand.json');
  if (existsSync(configPath)) {
    const config = JSON.parse(readFileSync(configPath, 'utf8')) as ExpandConfig;
    result['expanded'] = expandStages(grouped, {
      escape: ast.escape,
      buildArgs: new Map(Object.entries(config.buildArgs ?? {})),
      predefined: new Map(Object.entries(config.predefined ?? {})),
    });
  }
  return result;
}

const cases = readdirSync(root, { withFileTypes: true })
  .filter((entry) => entry.isDirectory())
  .map((entry) => entry.name)
  .sort();

test('there are at least 40 golden cases', () => {
  assert.ok(cases.length >= 40, `only ${cases.length} golden cases`);
});

for (const name of cases) {
  test(`golden: ${name}`, () => {
    const dir = join(root, name);
    const actual = `${JSON.stringify(dump(dir), null, 2)}\n`;
    const expectedPath = join(dir, 'expected.json');
    if (update) {
      writeFileSync(expectedPath, actual);
      return;
    }
    assert.ok(existsSync(expectedPath), `${name}: no expected.json; run with UPDATE_GOLDEN=1 and review it`);
    assert.deepEqual(JSON.parse(actual), JSON.parse(readFileSync(expectedPath, 'utf8')));
  });
}
