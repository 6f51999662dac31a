/**
 * The shell-word lexer, table-driven. `word` rows check expandWord (one word, quotes
 * removed), `words` rows check expandWords (split on unquoted whitespace), `error` rows
 * check that expansion fails with a message containing the text.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { TscError } from '../../../src/engine/errors.ts';
import {
  expandHeredoc,
  expandWord,
  expandWords,
  splitWords,
  variablesIn,
  type EscapeChar,
} from '../../../src/engine/build/dockerfile/shell.ts';

const ENV = new Map<string, string>([
  ['HOME', '/home/user'],
  ['NAME', 'world'],
  ['EMPTY', ''],
  ['SPACED', '  a  b c '],
  ['FILE', 'archive.tar.gz'],
  ['VERSION', '1.2.3'],
  ['PATHS', '/usr/bin:/bin:/usr/local/bin'],
  ['STARS', 'a***b*'],
  ['NEEDLE', '\\*/'],
  ['GLOBBY', '/foo*/*/*.txt'],
  ['KOREAN', '한국어'],
  ['Ünïcode_1', 'yes'],
]);

interface Row {
  text: string;
  word?: string;
  words?: string[];
  error?: string;
  escape?: EscapeChar;
  env?: ReadonlyMap<string, string>;
}

const rows: Row[] = [
  // plain text, quotes and escapes
  { text: 'hello', word: 'hello', words: ['hello'] },
  { text: 'hello world', word: 'hello world', words: ['hello', 'world'] },
  { text: '  leading and trailing  ', word: '  leading and trailing  ', words: ['leading', 'and', 'trailing'] },
  { text: "he'll'o", word: 'hello' },
  { text: "'single $HOME \\n'", word: 'single $HOME \\n', words: ['single $HOME \\n'] },
  { text: '"double $NAME"', word: 'double world', words: ['double world'] },
  { text: '"a \\" b \\$ c \\\\ d \\x"', word: 'a " b $ c \\ d \\x' },
  { text: 'he\\\'llo', word: "he'llo" },
  { text: 'abc\\tdef', word: 'abctdef' },
  { text: 'hello\\', word: 'hello' },
  { text: 'hello\\\\', word: 'hello\\' },
  { text: 'hello\\ there', word: 'hello there', words: ['hello there'] },
  { text: 'hello\\" there', words: ['hello"', 'there'] },
  { text: '"\'\'"', word: "''" },
  { text: '\'"hello"\'', word: '"hello"' },
  { text: 'a "" b', words: ['a', 'b'] },
  { text: "he'llo", error: 'matching single-quote' },
  { text: '"hello', error: 'matching double-quote' },
  { text: '"hello\\"', error: 'matching double-quote' },

  // simple variables
  { text: '$NAME', word: 'world' },
  { text: '${NAME}', word: 'world' },
  { text: 'hello_$NAME!', word: 'hello_world!' },
  { text: '${NAME}_suffix', word: 'world_suffix' },
  { text: '$NAME_suffix', word: '' },
  { text: '$UNSET', word: '' },
  { text: 'he$1x', word: 'hex' },
  { text: '$@ $* $# $? $- $$ $! $0', word: '       ' },
  { text: '$.', word: '$.' },
  { text: '$', word: '$' },
  { text: 'cost: $5.00', word: 'cost: .00' },
  { text: '$(date)', word: '$(date)' },
  { text: '\\$NAME', word: '$NAME' },
  { text: '\\${NAME}', word: '${NAME}' },
  { text: '\\\\$NAME', word: '\\world' },
  { text: '"\\$NAME"', word: '$NAME' },
  { text: "'$NAME'", word: '$NAME' },
  { text: '"he\'$NAME\'"', word: "he'world'" },
  { text: '$KOREAN/안녕', word: '한국어/안녕' },
  { text: '${Ünïcode_1}', word: 'yes' },

  // word splitting of expansions
  { text: 'x${SPACED}y', words: ['x', 'a', 'b', 'c', 'y'] },
  { text: 'x${NAME}y', words: ['xworldy'] },
  { text: 'x"${SPACED}"y', words: ['x  a  b c y'] },
  { text: '$SPACED', word: '  a  b c ', words: ['a', 'b', 'c'] },
  { text: '$EMPTY', words: [] },
  { text: '"$EMPTY"', words: [] },
  { text: '${UNSET:-"two words"} x', words: ['two words', 'x'] },
  { text: '${UNSET:-two words}', words: ['two', 'words'] },
  { text: '80/tcp ${NAME}', words: ['80/tcp', 'world'] },

  // default, alternative and error forms
  { text: '${UNSET:-fallback}', word: 'fallback' },
  { text: '${EMPTY:-fallback}', word: 'fallback' },
  { text: '${NAME:-fallback}', word: 'world' },
  { text: '${UNSET-fallback}', word: 'fallback' },
  { text: '${EMPTY-fallback}', word: '' },
  { text: '${UNSET:-$HOME/x}', word: '/home/user/x' },
  { text: '${UNSET:-${ALSO_UNSET:-deep}}', word: 'deep' },
  { text: '${NAME:+set}', word: 'set' },
  { text: '${EMPTY:+set}', word: '' },
  { text: '${EMPTY+set}', word: 'set' },
  { text: '${UNSET+set}', word: '' },
  { text: '${NAME:+${HOME}:}', word: '/home/user:' },
  { text: '${UNSET:-\\$NAME:}', word: '$NAME:' },
  { text: '${UNSET:-\\${NAME}z}', word: '${NAMEz}' },
  { text: '${UNSET:-a}}', word: 'a}' },
  { text: '${UNSET:-a {b}', word: 'a {b' },
  { text: '${UNSET:-"}"}', word: '}' },
  { text: '${NAME:?}', word: 'world' },
  { text: '${EMPTY?}', word: '' },
  { text: '${UNSET:?}', error: 'UNSET: is not allowed to be unset' },
  { text: '${UNSET?}', error: 'UNSET: is not allowed to be unset' },
  { text: '${EMPTY:?}', error: 'EMPTY: is not allowed to be empty' },
  { text: '${UNSET:?please set UNSET}', error: 'UNSET: please set UNSET' },
  { text: '${1:-positional}', word: 'positional' },
  { text: '${@:-special}', word: 'special' },

  // malformed expansions
  { text: '${}', error: 'bad substitution' },
  { text: '${:-x}', error: 'bad substitution' },
  { text: '${{NAME}', error: 'bad substitution' },
  { text: '${NAME', error: "missing '}'" },
  { text: '${UNSET:-abc', error: "missing '}'" },
  { text: '${NAME:=x}', error: 'unsupported modifier (:=) in substitution' },
  { text: '${NAME:YYY}', error: 'unsupported modifier (:Y) in substitution' },
  { text: '${NAME:#x}', error: 'unsupported modifier (:#) in substitution' },
  { text: '${NAME=x}', error: 'unsupported modifier (=) in substitution' },
  { text: '${.}', error: 'unsupported modifier (.) in substitution' },
  { text: '${#NAME}', error: 'unsupported modifier (N) in substitution' },

  // prefix and suffix removal
  { text: '${FILE#*.}', word: 'tar.gz' },
  { text: '${FILE##*.}', word: 'gz' },
  { text: '${FILE%.*}', word: 'archive.tar' },
  { text: '${FILE%%.*}', word: 'archive' },
  { text: '${FILE#nomatch}', word: 'archive.tar.gz' },
  { text: '${FILE#}', word: 'archive.tar.gz' },
  { text: '${FILE#*}', word: 'archive.tar.gz' },
  { text: '${FILE##*}', word: '' },
  { text: '${FILE#??????}', word: 'e.tar.gz' },
  { text: '${FILE#[a-c]}', word: 'rchive.tar.gz' },
  { text: '${FILE#[!a]}', word: 'archive.tar.gz' },
  { text: '${STARS%%\\**}', word: 'a' },
  { text: '${STARS#"a*"}', word: '**b*' },
  { text: '${FILE#"*."}', word: 'archive.tar.gz' },
  { text: '${STARS#a\\*}', word: '**b*' },
  { text: '${UNSET#x}', word: '' },
  { text: '${PATHS%%:*}', word: '/usr/bin' },
  { text: '${PATHS##*:}', word: '/usr/local/bin' },

  // replacement
  { text: '${VERSION/./_}', word: '1_2.3' },
  { text: '${VERSION//./_}', word: '1_2_3' },
  { text: '${VERSION//[0-9]/N}', word: 'N.N.N' },
  { text: '${VERSION//[[:digit:]]/d}', word: 'd.d.d' },
  { text: '${VERSION//[!0-9]}', word: '123' },
  { text: '${VERSION/.}', word: '12.3' },
  { text: '${VERSION//}', word: '1.2.3' },
  { text: '${VERSION/x/y}', word: '1.2.3' },
  { text: '${HOME/\\/home/\\/srv}', word: '/srv/user' },
  { text: '${PATHS//:/ }', words: ['/usr/bin', '/bin', '/usr/local/bin'] },
  { text: '${GLOBBY/$NEEDLE/.} ${GLOBBY//$NEEDLE/.}', word: '/foo.*/*.txt /foo..*.txt' },
  { text: '${EMPTY/*/filled}', word: 'filled' },
  { text: '${NAME/*/all}', word: 'all' },
  { text: '${NAME//?/x}', word: 'xxxxx' },
  { text: '${NAME/o/${HOME}}', word: 'w/home/userrld' },

  // the backtick escape character
  { text: 'c:\\path', escape: '`', word: 'c:\\path' },
  { text: '`$NAME', escape: '`', word: '$NAME' },
  { text: 'a` b', escape: '`', words: ['a b'] },
  { text: '"say `"hi`""', escape: '`', word: 'say "hi"' },
  { text: '"keep \\$NAME"', escape: '`', word: 'keep \\world' },

  // a function as the environment
  { text: '${X:-none}/$Y', env: new Map([['Y', 'y']]), word: 'none/y' },
];

test('the table has at least 50 rows', () => {
  assert.ok(rows.length >= 50, `only ${rows.length} rows`);
});

for (const row of rows) {
  const env = row.env ?? ENV;
  const options = row.escape === undefined ? {} : { escape: row.escape };
  test(`shell: ${JSON.stringify(row.text)}${row.escape ? ' (escape `)' : ''}`, () => {
    if (row.error !== undefined) {
      assert.throws(() => expandWord(row.text, env, options), (error: unknown) => {
        assert.ok(error instanceof TscError);
        assert.equal(error.code, 'invalid-argument');
        assert.ok(error.message.includes(row.error!), error.message);
        assert.ok(error.message.includes(row.text), `message names the text: ${error.message}`);
        return true;
      });
      assert.throws(() => expandWords(row.text, env, options), TscError);
      return;
    }
    if (row.word !== undefined) assert.equal(expandWord(row.text, env, options), row.word);
    if (row.words !== undefined) assert.deepEqual(expandWords(row.text, env, options), row.words);
  });
}

test('the environment may be a lookup function', () => {
  const lookup = (name: string): string | undefined => (name === 'A' ? 'from-function' : undefined);
  assert.equal(expandWord('$A-${B:-b}', lookup), 'from-function-b');
});

const heredocRows: Array<[string, string]> = [
  ['echo "hello ${NAME}"\n', 'echo "hello world"\n'],
  ["it's $NAME\n", "it's world\n"],
  ['\\$NAME \\\\ \\` \\n\n', '$NAME \\ ` \\n\n'],
  ['joined \\\nline\n', 'joined line\n'],
  ['${UNSET:-"quoted default"}\n', 'quoted default\n'],
  ['price: $ 5\n', 'price: $ 5\n'],
];

for (const [body, expected] of heredocRows) {
  test(`heredoc body: ${JSON.stringify(body)}`, () => {
    assert.equal(expandHeredoc(body, ENV), expected);
  });
}

const splitRows: Array<[string, string[], EscapeChar?]> = [
  ['a=1 b="two words"', ['a=1', 'b="two words"']],
  ["k='v w' x", ["k='v w'", 'x']],
  ['Rex\\ The\\ Dog other', ['Rex\\ The\\ Dog', 'other']],
  ['a="x\\" y" b', ['a="x\\" y"', 'b']],
  ["s='\\' t", ["s='\\'", 't']],
  ['trailing\\', ['trailing']],
  ['q="" r=', ['q=""', 'r=']],
  ['  spaced   out  ', ['spaced', 'out']],
  ['a` b c', ['a` b', 'c'], '`'],
  ['unclosed "quote here', ['unclosed', '"quote here']],
];

for (const [text, expected, escape] of splitRows) {
  test(`splitWords: ${JSON.stringify(text)}`, () => {
    assert.deepEqual(splitWords(text, escape ? { escape } : {}), expected);
  });
}

test('variablesIn names the variables read, not escaped or quoted ones', () => {
  assert.deepEqual(variablesIn('$A ${B:-$C} \\$D \'$E\' "$F" ${G:?}'), ['A', 'B', 'C', 'F', 'G']);
  assert.deepEqual(variablesIn('plain text, $ alone, $(cmd)'), []);
});
