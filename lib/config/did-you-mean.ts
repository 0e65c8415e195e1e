/**
 * "did you mean …?" for a misspelt option or configuration key: the known name closest by edit distance
 * (Damerau–Levenshtein, so a swapped pair of letters costs one), when it is close enough to be a typo.
 */

/** The closest of `known` to `typed`, or undefined when none is within a typo's reach. */
export function closestName(typed: string, known: Iterable<string>): string | undefined {
  const lower = typed.toLowerCase();
  // A third of the name, at least 1 and at most 3 edits: "tsl" → "tls", but not "x" → "id".
  const reach = Math.min(3, Math.max(1, Math.floor(lower.length / 3)));
  let best: { name: string; distance: number } | undefined;
  const names = [...known];
  // A name cut short ("maxMessages" for "maxMessagesPerRun") is as likely a mistake as a typo.
  const completions = lower.length >= 4 ? names.filter((name) => name.toLowerCase().startsWith(lower)) : [];
  if (completions.length === 1) return completions[0];
  for (const name of names) {
    const distance = editDistance(lower, name.toLowerCase());
    if (distance <= reach && (best === undefined || distance < best.distance)) best = { name, distance };
  }
  return best?.name;
}

export function editDistance(a: string, b: string): number {
  const rows = a.length + 1;
  const cols = b.length + 1;
  const d: number[][] = Array.from({ length: rows }, (_, i) =>
    Array.from({ length: cols }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)),
  );
  for (let i = 1; i < rows; i++) {
    for (let j = 1; j < cols; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let value = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) {
        value = Math.min(value, d[i - 2]![j - 2]! + 1);
      }
      d[i]![j] = value;
    }
  }
  return d[a.length]![b.length]!;
}
