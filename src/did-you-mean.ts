/** Which known name a mistyped one most likely meant, for "did you mean" hints. */

/** The candidate the word most likely meant: the same letters in another case, else a few typos away; undefined when none is close. */
export function closestName(word: string, candidates: readonly string[]): string | undefined {
  const lower = word.toLowerCase();
  if (candidates.includes(lower)) return lower;
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const candidate of candidates) {
    // Short names are a few edits from almost anything, so they get a tighter bound.
    const allowed = Math.min(3, Math.floor(candidate.length / 2));
    const distance = editDistance(lower, candidate);
    if (distance <= allowed && distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  return best;
}

/** Levenshtein distance: the fewest insertions, deletions and substitutions turning a into b. */
function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const substitution = previous[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1);
      current[j] = Math.min(previous[j] + 1, current[j - 1] + 1, substitution);
    }
    previous = current;
  }
  return previous[b.length];
}
