/** What every host's membership offers, the options it is made with, and what leader and worker share. */
import { ErrorCode, LinearError } from '../errors';
import type { Topology } from './topology';

/** The leader's port, the same on every host. */
export const CLUSTER_PORT_ENV = 'LINEAR_CLUSTER_PORT';
export const DEFAULT_CLUSTER_PORT = 7433;

export interface ClusterOptions {
  /** The leader's port; defaults to LINEAR_CLUSTER_PORT, else 7433. */
  port?: number;
  /**
   * Milliseconds workers keep trying to reach the leader, and the leader waits
   * for every worker to join; default 15 min, as instances can start minutes apart.
   */
  joinTimeoutMs?: number;
  /** Milliseconds between a worker's heartbeats; default 5 s. */
  heartbeatMs?: number;
  /** A peer not heard from for this many milliseconds is lost; default 30 s. */
  silenceMs?: number;
  /** Progress lines: joins, retries, the workers' progress. */
  log: (line: string) => void;
  /** Aborted on SIGTERM: this host leaves, telling the others, and its pending calls reject with the signal's reason. */
  signal?: AbortSignal;
}

/** The options with their defaults filled in. */
export interface Settings extends Required<Omit<ClusterOptions, 'signal'>> {
  signal?: AbortSignal;
}

export function settingsOf(options: ClusterOptions, env: NodeJS.ProcessEnv = process.env): Settings {
  return {
    port: options.port ?? portFromEnv(env),
    joinTimeoutMs: options.joinTimeoutMs ?? 15 * 60_000,
    heartbeatMs: options.heartbeatMs ?? 5_000,
    silenceMs: options.silenceMs ?? 30_000,
    log: options.log,
    ...(options.signal ? { signal: options.signal } : {}),
  };
}

function portFromEnv(env: NodeJS.ProcessEnv): number {
  const raw = env[CLUSTER_PORT_ENV];
  // Number('') is 0, which would turn a blank value into port 0.
  if (raw === undefined || raw.trim() === '') return DEFAULT_CLUSTER_PORT;
  const port = Number(raw);
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    throw new LinearError(ErrorCode.INVALID_CONFIG, `${CLUSTER_PORT_ENV}=${raw} must be a whole number from 1 to 65535`);
  }
  return port;
}

/** What the leader and the workers both offer, so the same training code runs on every host. */
export interface ClusterMember {
  readonly topology: Topology;
  /**
   * Aborted, with the job's failure as its reason, as soon as this host learns
   * that any host failed (itself included): pass it to long work, such as
   * reading a channel, so the host stops then rather than at its next call.
   */
  readonly signal: AbortSignal;
  /** A short line on this host's progress (say, rows read), which the leader logs now and then. */
  progress(text: string): void;
  /**
   * This host failed with `error` (a LinearError or anything) in `step`: tells
   * the others, best effort and within a few seconds, so that every host fails
   * naming this one, the step and the error. Later calls reject; a second
   * fail(), or one after the job already failed, only waits for the first.
   */
  fail(step: string, error: unknown): Promise<void>;
  /**
   * The job is done. A worker says goodbye; the leader waits (up to 10 s) for
   * every worker's goodbye, so none is left waiting on a closed port. Rejects
   * with the job's failure if there was one.
   */
  close(): Promise<void>;
}

/** "1.5 s", "45 s", "15 min". */
export function duration(ms: number): string {
  if (ms >= 120_000 && ms % 60_000 === 0) return `${ms / 60_000} min`;
  const s = ms / 1000;
  return `${s < 10 ? Number(s.toFixed(1)) : Math.round(s)} s`;
}

/** Host names for a message: a few, then how many more. */
export function hostList(hosts: readonly string[]): string {
  const shown = 8;
  return hosts.length <= shown ? hosts.join(', ') : `${hosts.slice(0, shown).join(', ')} and ${hosts.length - shown} more`;
}
