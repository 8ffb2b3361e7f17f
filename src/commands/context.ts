/** What every command gets from main: where to write, and when to stop. */
import type { MlPaths } from '../contract/paths';

export interface RunContext {
  /** Aborted on SIGTERM. */
  signal: AbortSignal;
  /** Human-oriented progress lines (stderr). */
  log: (line: string) => void;
  /** Results: predictions, metrics, the summary (stdout, with backpressure). */
  out: (text: string) => Promise<void>;
}

export type Action = (paths: MlPaths, ctx: RunContext) => Promise<void>;

/** How main runs a command's action (its SIGTERM, failure-file and exit-code policy). */
export type Runner = (action: Action, mlRoot: string) => Promise<void>;

/** The option every command takes: the SageMaker tree, /opt/ml unless told. */
export const ML_ROOT_OPTION = '--ml-root <dir>';

export const LOG_PREFIX = 'linear:';
