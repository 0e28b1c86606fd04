/**
 * "Did you mean ...?" for misspelled names, keys and values in a pipeline definition.
 */

/** Edit distance (insertions, deletions, substitutions, adjacent swaps), case-insensitive. */
export function editDistance(a: string, b: string): number {
  const s = a.toLowerCase();
  const t = b.toLowerCase();
  const rows: number[][] = Array.from({ length: s.length + 1 }, (_, i) =>
    Array.from({ length: t.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)),
  );
  for (let i = 1; i <= s.length; i++) {
    for (let j = 1; j <= t.length; j++) {
      const cost = s[i - 1] === t[j - 1] ? 0 : 1;
      const row = rows[i]!;
      const previous = rows[i - 1]!;
      row[j] = Math.min(previous[j]! + 1, row[j - 1]! + 1, previous[j - 1]! + cost);
      if (i > 1 && j > 1 && s[i - 1] === t[j - 2] && s[i - 2] === t[j - 1]) {
        row[j] = Math.min(row[j]!, rows[i - 2]![j - 2]! + 1);
      }
    }
  }
  return rows[s.length]![t.length]!;
}

/**
 * The candidate closest to `input`, if it is close enough to be a likely typo: a prefix either way (3+ letters),
 * else about one edit per three characters. Ties go to the earlier candidate, so results are deterministic.
 *
 * @example
 * closest('brnch', ['owner', 'repo', 'branch']); // 'branch'
 */
export function closest(input: string, candidates: Iterable<string>): string | undefined {
  const list = [...candidates];
  const lower = input.toLowerCase();
  // A word written out in full ("tuesday" for "tue") or cut short ("app" for "application") is a prefix match.
  const prefix = list.find((candidate) => {
    const other = candidate.toLowerCase();
    return (
      Math.min(lower.length, other.length) >= 3 &&
      lower !== other &&
      (lower.startsWith(other) || other.startsWith(lower))
    );
  });
  if (prefix !== undefined) return prefix;
  const limit = Math.max(1, Math.floor(input.length / 3));
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const candidate of list) {
    const distance = editDistance(input, candidate);
    if (distance <= limit && distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  return best;
}

/** `(did you mean "x"?) ` or an empty string: ready to put in front of a fix. */
export function didYouMean(input: string, candidates: Iterable<string>): string {
  const match = closest(input, candidates);
  return match === undefined ? '' : `did you mean "${match}"? `;
}

/** `a, b and c` for messages. */
export function listOf(items: readonly string[], conjunction = 'and'): string {
  if (items.length <= 1) return items.join('');
  return `${items.slice(0, -1).join(', ')} ${conjunction} ${items[items.length - 1]}`;
}
