/** "did you mean ...?" for misspelt instructions, flags and option values. */

/** Edit distance counting an adjacent transposition (FORM for FROM) as one edit. */
function distance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) =>
    Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)),
  );
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let best = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) best = Math.min(best, d[i - 2]![j - 2]! + 1);
      d[i]![j] = best;
    }
  }
  return d[a.length]![b.length]!;
}

/**
 * The candidate closest to `value` (compared case-insensitively), if it is close
 * enough to be a plausible typo: at most 2 edits, and fewer than half its length.
 */
export function closest(value: string, candidates: readonly string[]): string | undefined {
  const wanted = value.toLowerCase();
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const candidate of candidates) {
    const d = distance(wanted, candidate.toLowerCase());
    if (d < bestDistance) {
      best = candidate;
      bestDistance = d;
    }
  }
  if (best === undefined || bestDistance > 2 || bestDistance * 2 >= wanted.length) return undefined;
  return best;
}

/** `message` with ` (did you mean X?)` appended when a close candidate exists. */
export function withSuggestion(message: string, value: string, candidates: readonly string[], format = (s: string) => s): string {
  const match = closest(value, candidates);
  return match === undefined ? message : `${message} (did you mean ${format(match)}?)`;
}
