/** How far one set of fitted parameters is from another. */

/**
 * Largest coefficient difference relative to the largest reference coefficient (intercept included):
 * max |b - ref| / max |ref|, normwise so that a coefficient near zero does not blow up.
 */
export function relativeDifference(beta: readonly number[], reference: readonly number[]): number {
  if (beta.length !== reference.length) return Infinity;
  const scale = Math.max(...reference.map(Math.abs));
  return Math.max(...beta.map((b, i) => Math.abs(b - reference[i]))) / scale;
}
