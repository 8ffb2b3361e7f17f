/**
 * A peer's measurement, or why there is none: a missing package is a skip, a
 * peer that crashes (e.g. out of memory) is a failure; neither stops the bench.
 * Our own measurements are never wrapped: if ours fails, the bench fails.
 */
export type Outcome<T> = { ok: true; value: T } | { ok: false; cell: string };

export async function attempt<T>(unavailable: string | null, work: () => Promise<T>): Promise<Outcome<T>> {
  if (unavailable !== null) return { ok: false, cell: `skipped: ${unavailable}` };
  try {
    return { ok: true, value: await work() };
  } catch (error) {
    return { ok: false, cell: `failed: ${(error as Error).message.slice(0, 200)}` };
  }
}

export function skip<T>(reason: string): Outcome<T> {
  return { ok: false, cell: `skipped: ${reason}` };
}

export function valueOf<T>(outcome: Outcome<T>): T | null {
  return outcome.ok ? outcome.value : null;
}

/** The cell for an outcome: the rendered value, or the skip/failure text. */
export function cell<T>(outcome: Outcome<T>, render: (value: T) => string): string {
  return outcome.ok ? render(outcome.value) : outcome.cell;
}

/** Further cells of the same outcome: the reason is already in its first cell. */
export function detail<T>(outcome: Outcome<T>, render: (value: T) => string): string {
  return outcome.ok ? render(outcome.value) : '–';
}
