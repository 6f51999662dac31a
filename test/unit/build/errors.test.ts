/**
 * Dockerfiles the front end must reject: each row gives the text, a substring of the
 * message, and the line the error must name. The whole pipeline runs (parse, typed
 * instructions, stages, and expansion when the row gives build args).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { TscError } from '../../../src/engine/errors.ts';
import { DockerfileSyntaxError } from '../../../src/engine/build/dockerfile/errors.ts';
import { stages, toInstructions } from '../../../src/engine/build/dockerfile/instructions.ts';
import { parseDockerfile } from '../../../src/engine/build/dockerfile/parser.ts';
import { expandStages } from '../../../src/engine/build/dockerfile/scope.ts';

interface Row {
  dockerfile: string;
  message: string;
  line: number;
  endLine?: number;
  /** run expansion with these build args */
  buildArgs?: Record<string, string>;
}

const rows: Row[] = [
  // parser: instructions and directives
  { dockerfile: 'FROM a\n\n# x\nRUN b\n\n\nFORM c\n', message: 'unknown instruction: FORM (did you mean FROM?)', line: 7 },
  { dockerfile: 'FROM a\nrnu echo\n', message: 'unknown instruction: rnu (did you mean RUN?)', line: 2 },
  { dockerfile: 'FROM a\nFOOBAR x\n', message: 'unknown instruction: FOOBAR', line: 2 },
  { dockerfile: '# syntax=a\n# SYNTAX = b\nFROM x\n', message: 'only one syntax parser directive can be used', line: 2 },
  { dockerfile: '# escape=x\nFROM a\n', message: "invalid escape token 'x' does not match ` or \\", line: 1 },
  { dockerfile: 'FROM a\nRUN <<EOF cat\nnever ends\n  EOF\n', message: "unterminated heredoc: no line 'EOF' ends it", line: 2, endLine: 4 },
  { dockerfile: 'FROM a\nRUN <<-EOT cat\n\tbody\n EOT\n', message: 'unterminated heredoc', line: 2 },
  { dockerfile: '# only a comment\n\n', message: 'file with no instructions', line: 2 },
  { dockerfile: '', message: 'file with no instructions', line: 1 },
  { dockerfile: 'FROM a\nRUN ["echo", 1]\n', message: 'arrays must be comprised of strings only', line: 2 },
  { dockerfile: 'FROM a\nONBUILD ONBUILD RUN x\n', message: "chaining ONBUILD via 'ONBUILD ONBUILD' isn't allowed", line: 2 },
  { dockerfile: 'FROM a\nONBUILD FROM b\n', message: "FROM isn't allowed as an ONBUILD trigger", line: 2 },
  { dockerfile: 'FROM a\nonbuild maintainer me\n', message: "MAINTAINER isn't allowed as an ONBUILD trigger", line: 2 },
  { dockerfile: 'FROM a\nONBUILD\n', message: 'ONBUILD requires at least one argument', line: 2 },
  { dockerfile: 'FROM a\nONBUILD FORM b\n', message: 'unknown instruction: FORM (did you mean FROM?)', line: 2 },
  { dockerfile: 'FROM a\nENV FOO\n', message: 'ENV must have two arguments', line: 2 },
  { dockerfile: 'FROM a\nENV A=1 \\\n  B\n', message: 'can\'t find = in "B"', line: 2, endLine: 3 },
  { dockerfile: 'FROM a\nLABEL a=b c\n', message: 'can\'t find = in "c"', line: 2 },

  // instructions: flags
  { dockerfile: 'FROM a\nCOPY --form=b x y\n', message: 'unknown flag for COPY: --form (did you mean --from?)', line: 2 },
  { dockerfile: 'FROM a\nWORKDIR --mode=1 /x\n', message: 'WORKDIR takes no flags, but got --mode', line: 2 },
  { dockerfile: 'FROM a\nCOPY --chown=1 --chown=2 x y\n', message: 'duplicate flag specified: --chown', line: 2 },
  { dockerfile: 'FROM a\nCOPY --chown x y\n', message: 'missing a value on flag: --chown', line: 2 },
  { dockerfile: 'FROM a\nCOPY --link=maybe x y\n', message: 'expecting boolean value for flag --link, not: maybe', line: 2 },
  { dockerfile: 'FROM a\nCOPY --link= x y\n', message: 'missing a value on flag: --link', line: 2 },
  { dockerfile: 'FROM a\nADD --parents x y\n', message: 'unknown flag for ADD: --parents', line: 2 },
  { dockerfile: 'FROM a\nCOPY --from=$STAGE x y\n', message: 'variable expansion is not supported for --from', line: 2 },
  { dockerfile: 'FROM a\nRUN --network=bridge true\n', message: 'invalid network mode "bridge"', line: 2 },
  { dockerfile: 'FROM a\nRUN --security=privileged true\n', message: 'security "privileged" is not valid', line: 2 },
  { dockerfile: 'FROM a\nRUN --device=nvidia.com/gpu true\n', message: 'unknown flag for RUN: --device', line: 2 },

  // instructions: arguments
  { dockerfile: 'FROM a b\n', message: 'FROM requires either one or three arguments', line: 1 },
  { dockerfile: 'FROM\n', message: 'FROM requires either one or three arguments', line: 1 },
  { dockerfile: 'FROM a AS 1st\n', message: 'invalid name for build stage: "1st"', line: 1 },
  { dockerfile: 'FROM a AS my/stage\n', message: 'invalid name for build stage', line: 1 },
  { dockerfile: 'FROM a\nCOPY onlyone\n', message: 'COPY requires at least two arguments, but only one was provided', line: 2 },
  { dockerfile: 'FROM a\nADD\n', message: 'ADD requires at least two arguments, but none were provided', line: 2 },
  { dockerfile: 'FROM a\nCOPY x <<EOF\nbody\nEOF\n', message: 'COPY cannot accept a heredoc as a destination', line: 2, endLine: 4 },
  { dockerfile: 'FROM a\nRUN\n', message: 'RUN requires at least one argument', line: 2 },
  { dockerfile: 'FROM a\nCMD\n', message: 'CMD requires at least one argument', line: 2 },
  { dockerfile: 'FROM a\nWORKDIR\n', message: 'WORKDIR requires exactly one argument', line: 2 },
  { dockerfile: 'FROM a\nUSER\n', message: 'USER requires exactly one argument', line: 2 },
  { dockerfile: 'FROM a\nEXPOSE\n', message: 'EXPOSE requires at least one argument', line: 2 },
  { dockerfile: 'FROM a\nVOLUME ["/a", " "]\n', message: 'VOLUME specified can not be an empty string', line: 2 },
  { dockerfile: 'FROM a\nARG =x\n', message: 'ARG names can not be blank', line: 2 },
  { dockerfile: 'FROM a\nENV =x\n', message: 'ENV names can not be blank', line: 2 },
  { dockerfile: 'FROM a\nSHELL /bin/sh -c\n', message: 'SHELL requires the arguments to be in JSON form', line: 2 },
  { dockerfile: 'FROM a\nSHELL []\n', message: 'SHELL requires at least one argument', line: 2 },

  // HEALTHCHECK
  { dockerfile: 'FROM a\nHEALTHCHECK\n', message: 'HEALTHCHECK requires at least one argument', line: 2 },
  { dockerfile: 'FROM a\nHEALTHCHECK RUN true\n', message: 'unknown type "RUN" in HEALTHCHECK (try CMD)', line: 2 },
  { dockerfile: 'FROM a\nHEALTHCHECK NONE true\n', message: 'HEALTHCHECK NONE takes no arguments', line: 2 },
  { dockerfile: 'FROM a\nHEALTHCHECK --interval=5s NONE\n', message: 'HEALTHCHECK NONE takes no flags', line: 2 },
  { dockerfile: 'FROM a\nHEALTHCHECK CMD\n', message: 'missing command after HEALTHCHECK CMD', line: 2 },
  { dockerfile: 'FROM a\nHEALTHCHECK CMD []\n', message: 'missing command after HEALTHCHECK CMD', line: 2 },
  { dockerfile: 'FROM a\nHEALTHCHECK --interval=10us CMD true\n', message: '--interval cannot be less than 1ms', line: 2 },
  { dockerfile: 'FROM a\nHEALTHCHECK --timeout=5 CMD true\n', message: 'invalid duration "5"', line: 2 },
  { dockerfile: 'FROM a\nHEALTHCHECK --start-period=1x CMD true\n', message: 'invalid duration "1x"', line: 2 },
  { dockerfile: 'FROM a\nHEALTHCHECK --retries=-1 CMD true\n', message: '--retries cannot be negative (-1)', line: 2 },
  { dockerfile: 'FROM a\nHEALTHCHECK --retries=three CMD true\n', message: 'invalid value for --retries: three', line: 2 },

  // RUN --mount
  { dockerfile: 'FROM a\nRUN --mount=type=cahce,target=/c true\n', message: 'unsupported mount type "cahce" (did you mean cache?)', line: 2 },
  { dockerfile: 'FROM a\nRUN --mount=type=cache,target=/c,size=1g true\n', message: "unexpected key 'size' for mount type 'cache'", line: 2 },
  { dockerfile: 'FROM a\nRUN --mount=type=bind,target=/c,required true\n', message: "unexpected key 'required' for mount type 'bind'", line: 2 },
  { dockerfile: 'FROM a\nRUN --mount=type=tmpfs,target=/t,uid=1 true\n', message: 'uid not allowed for "tmpfs" type mounts', line: 2 },
  { dockerfile: 'FROM a\nRUN --mount=type=secret,required true\n', message: 'one of id, source or target is required', line: 2 },
  { dockerfile: 'FROM a\nRUN --mount=type=secret,id=a,source=b true\n', message: "both source and id can't be set", line: 2 },
  { dockerfile: 'FROM a\nRUN --mount=type=cache,target=/c,uid=abc true\n', message: 'invalid value abc for uid', line: 2 },
  { dockerfile: 'FROM a\nRUN --mount=type=cache,target=/c,mode=0999 true\n', message: 'invalid value 0999 for mode', line: 2 },
  { dockerfile: 'FROM a\nRUN --mount=type=cache,target=/c,sharing=exclusive true\n', message: 'unsupported sharing value "exclusive"', line: 2 },
  { dockerfile: 'FROM a\nRUN --mount=type=bind,target=/c,tagret=/d true\n', message: "unexpected key 'tagret' in 'tagret=/d' (did you mean target?)", line: 2 },
  { dockerfile: 'FROM a\nRUN --mount=type=cache true\n', message: 'mount of type cache needs a target', line: 2 },
  { dockerfile: 'FROM a\nRUN --mount=type=bind,target=/c,ro=maybe true\n', message: 'invalid value for readonly: maybe', line: 2 },
  { dockerfile: 'FROM a\nRUN --mount=type=bind,from=$X,target=/c true\n', message: "'from' doesn't support variable expansion", line: 2 },
  { dockerfile: 'FROM a\nRUN --mount=type=tmpfs,target=/t,size=lots true\n', message: 'invalid value for size: lots', line: 2 },

  // stages
  { dockerfile: 'ARG V=1\nRUN echo\nFROM a\n', message: 'RUN before the first FROM: only ARG may come before FROM', line: 2 },
  { dockerfile: 'ARG V=1\n', message: 'no FROM instruction', line: 1 },
  { dockerfile: 'FROM a AS build\nFROM b AS BUILD\n', message: 'duplicate stage name "build", first defined on line 1', line: 2 },
  { dockerfile: 'FROM a\nCOPY --from=later /x /y\nFROM b AS later\n', message: 'refers to stage "later", defined later on line 3', line: 2 },
  { dockerfile: 'FROM a AS self\nCOPY --from=self /x /y\n', message: 'COPY --from=self refers to the stage it is in', line: 2 },
  { dockerfile: 'FROM a\nFROM b\nCOPY --from=1 /x /y\n', message: 'COPY --from=1 refers to the stage it is in', line: 3 },
  { dockerfile: 'FROM a\nCOPY --from=1 /x /y\nFROM b\n', message: 'COPY --from=1 refers to a later stage', line: 2 },
  { dockerfile: 'FROM a\nCOPY --from=7 /x /y\n', message: 'invalid stage index 7', line: 2 },
  { dockerfile: 'FROM a\nRUN --mount=from=next,target=/n true\nFROM b AS next\n', message: 'RUN --mount from=next refers to stage "next"', line: 2 },

  // expansion
  { dockerfile: 'FROM a\nWORKDIR ${DIR:?set DIR first}\n', message: 'DIR: set DIR first', line: 2, buildArgs: {} },
  { dockerfile: 'FROM a\nUSER ${NAME:?}\n', message: 'NAME: is not allowed to be unset', line: 2, buildArgs: {} },
  { dockerfile: 'FROM a\nARG E=\nENV X=${E:?}\n', message: 'E: is not allowed to be empty', line: 3, buildArgs: {} },
  { dockerfile: 'ARG IMAGE\nFROM ${IMAGE}\n', message: 'base name (${IMAGE}) should not be blank', line: 2, buildArgs: {} },
  { dockerfile: 'FROM --platform=$P a\n', message: 'empty platform value from expression $P', line: 1, buildArgs: {} },
  { dockerfile: 'FROM a\n\nLABEL x=${}\n', message: 'bad substitution', line: 3, buildArgs: {} },
  { dockerfile: 'FROM a\nCOPY "unclosed /x\n', message: 'looking for matching double-quote', line: 2, buildArgs: {} },
  { dockerfile: 'FROM a\nARG U=abc\nRUN --mount=type=cache,target=/c,uid=$U true\n', message: 'invalid value abc for uid', line: 3, buildArgs: {} },
  { dockerfile: 'FROM a\nEXPOSE ${PORT:-80\n', message: "syntax error: missing '}'", line: 2, buildArgs: {} },
];

test('the error table has at least 15 rows', () => {
  assert.ok(rows.length >= 15);
});

function run(row: Row): void {
  const ast = parseDockerfile(row.dockerfile);
  const grouped = stages(toInstructions(ast), { file: ast.file });
  if (row.buildArgs) expandStages(grouped, { escape: ast.escape, buildArgs: new Map(Object.entries(row.buildArgs)) });
}

for (const row of rows) {
  test(`rejects ${JSON.stringify(row.dockerfile)}`, () => {
    assert.throws(
      () => run(row),
      (error: unknown) => {
        assert.ok(error instanceof DockerfileSyntaxError, `not a DockerfileSyntaxError: ${String(error)}`);
        assert.ok(error instanceof TscError);
        assert.equal(error.code, 'invalid-argument');
        assert.ok(error.message.includes(row.message), `message ${JSON.stringify(error.message)} lacks ${JSON.stringify(row.message)}`);
        assert.equal(error.line, row.line, error.message);
        assert.ok(error.message.startsWith(`Dockerfile:${row.line}: `), error.message);
        if (row.endLine !== undefined) assert.equal(error.endLine, row.endLine);
        return true;
      },
    );
  });
}

test('the unknown-instruction message is exactly as documented', () => {
  assert.throws(() => parseDockerfile('FROM a\n\n\n\n\n\nFORM b\n'), {
    message: 'Dockerfile:7: unknown instruction: FORM (did you mean FROM?)',
  });
});

test('the file name given to the parser is used in messages', () => {
  assert.throws(() => parseDockerfile('FROM a\nBAD x\n', { file: 'build/Containerfile' }), (error: unknown) => {
    assert.ok(error instanceof DockerfileSyntaxError);
    assert.equal(error.file, 'build/Containerfile');
    assert.equal(error.detail, 'unknown instruction: BAD');
    assert.equal(error.message, 'build/Containerfile:2: unknown instruction: BAD');
    return true;
  });
});
