/** What every command gets from main: where to write, and when to stop. */
export interface RunContext {
  /** Aborted on SIGTERM. */
  signal: AbortSignal;
  /** Human-oriented progress lines (stderr). */
  log: (line: string) => void;
  /** Results: predictions, metrics, the summary (stdout, with backpressure). */
  out: (text: string) => Promise<void>;
}

export const LOG_PREFIX = 'linear:';
