/**
 * Finding here-document operators (`<<EOF`, `<<-EOF`, `<<"EOF"`, `3<<EOF`) on an
 * instruction line. An operator counts only at the start of a word and outside quotes
 * (so `$((1<<2))` and `echo "<<x"` are not heredocs), and `<<<` is a here-string, not a
 * heredoc. The delimiter is one shell word: it ends at a blank or at one of `<>|;&()`,
 * and quoting or escaping any part of it turns expansion of the body off (POSIX).
 */

export interface HeredocMarker {
  name: string;
  fd: number | null;
  chomp: boolean;
  expand: boolean;
  /** offsets of the whole marker (`3<<-"EOF"`) in the scanned text */
  start: number;
  end: number;
}

const BLANK = /^[ \t]$/;
const SPACE = /^\s$/;
const OPERATOR = /^[<>|;&()]$/;

/** The marker starting exactly at `text[start]`, if there is one. */
export function markerAt(text: string, start: number, escape: string): HeredocMarker | undefined {
  let i = start;
  let digits = '';
  while (i < text.length && /^[0-9]$/.test(text[i]!)) digits += text[i++];
  if (text.slice(i, i + 2) !== '<<' || text[i + 2] === '<') return undefined;
  i += 2;
  const chomp = text[i] === '-';
  if (chomp) i++;
  while (i < text.length && BLANK.test(text[i]!)) i++;
  let name = '';
  let quoted = false;
  while (i < text.length) {
    const ch = text[i]!;
    if (SPACE.test(ch) || OPERATOR.test(ch)) break;
    if (ch === escape) {
      if (i + 1 >= text.length) return undefined;
      name += text[i + 1];
      quoted = true;
      i += 2;
    } else if (ch === "'" || ch === '"') {
      const close = text.indexOf(ch, i + 1);
      if (close === -1) return undefined;
      name += text.slice(i + 1, close);
      quoted = true;
      i = close + 1;
    } else {
      name += ch;
      i++;
    }
  }
  if (name === '') return undefined;
  return { name, fd: digits === '' ? null : Number(digits), chomp, expand: !quoted, start, end: i };
}

/** Every heredoc operator in `text`, left to right. */
export function findMarkers(text: string, escape: string): HeredocMarker[] {
  const markers: HeredocMarker[] = [];
  let quote: string | undefined;
  let wordStart = true;
  for (let i = 0; i < text.length; ) {
    const ch = text[i]!;
    if (quote === undefined && wordStart) {
      const marker = markerAt(text, i, escape);
      if (marker) {
        markers.push(marker);
        i = marker.end;
        wordStart = false;
        continue;
      }
    }
    wordStart = false;
    if (quote !== undefined) {
      if (ch === quote) quote = undefined;
      else if (ch === escape && quote === '"') i++;
    } else if (ch === escape) {
      i++;
    } else if (ch === "'" || ch === '"') {
      quote = ch;
    } else if (SPACE.test(ch)) {
      wordStart = true;
    }
    i++;
  }
  return markers;
}

/**
 * Whitespace-separated words, except that each heredoc marker is kept as one word even
 * when it contains blanks (`<< EOF`, `<<"my doc"`).
 */
export function wordsKeepingMarkers(text: string, markers: readonly HeredocMarker[]): string[] {
  const words: string[] = [];
  let current = '';
  for (let i = 0; i < text.length; ) {
    const marker = markers.find((m) => m.start === i);
    if (marker) {
      current += text.slice(marker.start, marker.end);
      i = marker.end;
      continue;
    }
    const ch = text[i]!;
    if (SPACE.test(ch)) {
      if (current !== '') words.push(current);
      current = '';
    } else {
      current += ch;
    }
    i++;
  }
  if (current !== '') words.push(current);
  return words;
}

/** The marker a whole word is, if it is exactly one (`<<EOF` as a COPY source). */
export function wordMarker(word: string, escape: string): HeredocMarker | undefined {
  const marker = markerAt(word, 0, escape);
  return marker && marker.end === word.length ? marker : undefined;
}

/** The body of a `<<-` heredoc with leading tabs removed from every line. */
export function chompTabs(content: string): string {
  return content.replace(/^\t+/gm, '');
}
