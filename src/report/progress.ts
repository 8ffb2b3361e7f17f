/**
 * Progress of a pass over a channel's files, on stderr. On a terminal a live
 * line is rewritten in place; elsewhere (CloudWatch, pipes) a plain line is
 * printed about every 10 s. Runs shorter than ~2 s show nothing but the final
 * throughput line, which every pass prints. The clock, the output and the
 * interval are injectable so tests need not wait.
 */
import { LOG_PREFIX } from '../commands/context';
import { ErrorCode, LinearError } from '../errors';

/** Milliseconds between plain progress lines when stderr is not a terminal. */
export const PROGRESS_INTERVAL_ENV = 'LINEAR_PROGRESS_INTERVAL_MS';
export const DEFAULT_INTERVAL_MS = 10_000;
/** Passes shorter than this print only their final line. */
export const QUIET_MS = 2_000;
/** How often the live terminal line is redrawn. */
export const REDRAW_MS = 250;

const MB = 1e6;
/** Moves to the start of the line and clears it. */
const CLEAR_LINE = '\r\x1b[K';

export interface ProgressOptions {
  /** Names the pass in every line, e.g. "channel 'train'". */
  label: string;
  /** Raw text out; defaults to stderr. */
  write?: (text: string) => void;
  /** Rewrite one live line instead of printing plain lines; defaults to stderr.isTTY. */
  tty?: boolean;
  /** Milliseconds, monotonic; defaults to performance.now. */
  now?: () => number;
  /** Plain-line interval; defaults to LINEAR_PROGRESS_INTERVAL_MS or 10 s. */
  intervalMs?: number;
  /** Nothing but the final line before this many milliseconds. */
  quietMs?: number;
}

export interface ProgressState {
  /** Bytes of the files consumed, as stored (compressed bytes for gzip). */
  position: number;
  /** Bytes handed to the parser (decompressed). */
  bytes: number;
  /** Data rows so far, when the sink counts them as it goes. */
  rows?: number;
}

/** The interval from the environment, or the default; a malformed value is a configuration error. */
export function intervalFromEnv(env: NodeJS.ProcessEnv = process.env): number {
  const raw = env[PROGRESS_INTERVAL_ENV];
  if (raw === undefined || raw.trim() === '') return DEFAULT_INTERVAL_MS;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 1) {
    throw new LinearError(ErrorCode.INVALID_CONFIG, `${PROGRESS_INTERVAL_ENV}=${raw} must be a whole number of milliseconds >= 1`);
  }
  return value;
}

export function formatMb(bytes: number): string {
  const mb = bytes / MB;
  return `${mb.toFixed(mb < 10 ? 2 : 1)} MB`;
}

function throughput(bytes: number, seconds: number): string {
  return `${(bytes / MB / Math.max(seconds, 1e-3)).toFixed(1)} MB/s`;
}

export function formatDuration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(m / 60)}h${String(m % 60).padStart(2, '0')}m`;
}

export class Progress {
  private readonly label: string;
  private readonly write: (text: string) => void;
  private readonly tty: boolean;
  private readonly now: () => number;
  private readonly intervalMs: number;
  private readonly quietMs: number;
  private total: number | undefined;
  private started = 0;
  private lastShown = 0;
  /** A live line is on the terminal and must be cleared before anything else is written. */
  private live = false;
  private ended = false;

  constructor(options: ProgressOptions) {
    this.label = options.label;
    this.write = options.write ?? ((text) => process.stderr.write(text));
    this.tty = options.tty ?? process.stderr.isTTY === true;
    this.now = options.now ?? (() => performance.now());
    this.intervalMs = options.intervalMs ?? intervalFromEnv();
    this.quietMs = options.quietMs ?? QUIET_MS;
  }

  /** Starts the clock; `totalBytes` (the files' stored size) enables the percentage and ETA. */
  begin(totalBytes?: number): void {
    this.total = totalBytes !== undefined && totalBytes > 0 ? totalBytes : undefined;
    this.started = this.now();
    this.lastShown = this.started;
    this.live = false;
    this.ended = false;
  }

  /** After each chunk: shows a line when one is due. */
  update(state: ProgressState): void {
    if (this.ended) return;
    const now = this.now();
    const elapsed = now - this.started;
    if (elapsed < this.quietMs) return;
    if (now - this.lastShown < (this.tty ? REDRAW_MS : this.intervalMs)) return;
    this.lastShown = now;
    const line = `${LOG_PREFIX} ${this.label}: ${this.describe(state, elapsed / 1000)}`;
    if (this.tty) {
      this.write(`${CLEAR_LINE}${line}`);
      this.live = true;
    } else {
      this.write(`${line}\n`);
    }
  }

  /** The final throughput line of the pass. */
  end(state: ProgressState & { rows: number }): void {
    if (this.ended) return;
    const seconds = (this.now() - this.started) / 1000;
    this.clear();
    this.ended = true;
    const stored = state.position !== state.bytes && state.position > 0 ? ` (${formatMb(state.position)} stored)` : '';
    this.write(
      `${LOG_PREFIX} ${this.label}: read ${state.rows} rows, ${formatMb(state.bytes)}${stored} in ${seconds.toFixed(2)} s ` +
        `(${throughput(state.bytes, seconds)})\n`,
    );
  }

  /** The pass failed: clears the live line so the error starts on a clean line; no final line. */
  abandon(): void {
    this.clear();
    this.ended = true;
  }

  private clear(): void {
    if (this.live) this.write(CLEAR_LINE);
    this.live = false;
  }

  private describe(state: ProgressState, seconds: number): string {
    const rate = throughput(state.bytes, seconds);
    const rows = state.rows === undefined ? [] : [`${state.rows} rows`];
    if (this.total === undefined) return [`${formatMb(state.bytes)} read`, ...rows, rate].join(', ');
    const percent = Math.min(100, Math.floor((100 * state.position) / this.total));
    const parts = [`${formatMb(state.position)} of ${formatMb(this.total)} (${percent}%)`];
    if (state.bytes !== state.position) parts.push(`${formatMb(state.bytes)} decompressed`);
    parts.push(...rows, rate);
    if (state.position > 0 && state.position < this.total) {
      parts.push(`ETA ${formatDuration(((this.total - state.position) * seconds) / state.position)}`);
    }
    return parts.join(', ');
  }
}
