/**
 * Every environment variable `serve` reads, in one place (SageMaker hosting
 * and batch transform set some; the inference toolkits' names are honoured).
 */
import * as os from 'node:os';
import { ErrorCode, LinearError } from '../errors';

export const ENV = {
  /** Port to bind, when SageMaker asks (label accept-bind-to-port=true). */
  PORT: 'SAGEMAKER_BIND_TO_PORT',
  /** Batch transform's payload limit in MB (MiB here), 1..100. */
  MAX_PAYLOAD_MB: 'SAGEMAKER_MAX_PAYLOAD_IN_MB',
  /** Seconds a request may take, default 60 (inference toolkit's name). */
  TIMEOUT: 'SAGEMAKER_MODEL_SERVER_TIMEOUT',
  /** Response type when Accept is missing or a wildcard. */
  DEFAULT_ACCEPT: 'SAGEMAKER_DEFAULT_INVOCATIONS_ACCEPT',
  /** Batch transform's concurrency, echoed by /execution-parameters when set. */
  MAX_CONCURRENT_TRANSFORMS: 'SAGEMAKER_MAX_CONCURRENT_TRANSFORMS',
  /** Server processes, default one per available core (the inference toolkit's name; gunicorn's workers). */
  WORKERS: 'SAGEMAKER_MODEL_SERVER_WORKERS',
  /**
   * How connections reach the workers: "cluster" (default: node:cluster's
   * round-robin, even with few keep-alive connections) or "reuseport"
   * (SO_REUSEPORT, cheaper per new connection; Node >= 22.12 or 23.1).
   */
  BALANCING: 'LINEAR_SERVE_BALANCING',
  /** Log every request, successful ones included ("true"). */
  ACCESS_LOG: 'LINEAR_ACCESS_LOG',
} as const;

export type Balancing = 'cluster' | 'reusePort';

export interface ServingSettings {
  port: number;
  maxPayloadBytes: number;
  maxPayloadMb: number;
  timeoutMs: number;
  defaultAccept: string;
  maxConcurrentTransforms?: number;
  accessLog: boolean;
  /** Processes serving requests; 1 is a single process with no primary. */
  workers: number;
  /** How connections reach the workers, when there are several. */
  balancing: Balancing;
}

const MIB = 1024 * 1024;
export const DEFAULT_PORT = 8080;
export const DEFAULT_PAYLOAD_MB = 6;
export const MAX_PAYLOAD_MB = 100;
export const DEFAULT_TIMEOUT_S = 60;
/** A guard against a typo forking thousands of processes, far above any instance's cores. */
export const MAX_WORKERS = 512;

function integer(env: NodeJS.ProcessEnv, name: string, min: number, max: number): number | undefined {
  const raw = env[name];
  if (raw === undefined || raw.trim() === '') return undefined;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new LinearError(ErrorCode.INVALID_CONFIG, `${name}=${raw} must be a whole number from ${min} to ${max}`);
  }
  return value;
}

function balancing(env: NodeJS.ProcessEnv): Balancing {
  const raw = env[ENV.BALANCING];
  const value = raw?.trim().toLowerCase();
  if (value === undefined || value === '' || value === 'cluster') return 'cluster';
  if (value === 'reuseport') return 'reusePort';
  throw new LinearError(ErrorCode.INVALID_CONFIG, `${ENV.BALANCING}=${raw} must be cluster or reuseport`);
}

/** `cores` is what the process may run on (os.availableParallelism: the CPU affinity, not the machine's count). */
export function servingSettings(env: NodeJS.ProcessEnv, portOverride?: number, cores: number = os.availableParallelism()): ServingSettings {
  const maxPayloadMb = integer(env, ENV.MAX_PAYLOAD_MB, 1, MAX_PAYLOAD_MB) ?? DEFAULT_PAYLOAD_MB;
  return {
    port: portOverride ?? integer(env, ENV.PORT, 0, 65535) ?? DEFAULT_PORT,
    maxPayloadMb,
    maxPayloadBytes: maxPayloadMb * MIB,
    timeoutMs: (integer(env, ENV.TIMEOUT, 1, 3600) ?? DEFAULT_TIMEOUT_S) * 1000,
    defaultAccept: env[ENV.DEFAULT_ACCEPT]?.trim() || 'application/json',
    maxConcurrentTransforms: integer(env, ENV.MAX_CONCURRENT_TRANSFORMS, 1, 1000),
    accessLog: (env[ENV.ACCESS_LOG] ?? '').toLowerCase() === 'true',
    workers: integer(env, ENV.WORKERS, 1, MAX_WORKERS) ?? cores,
    balancing: balancing(env),
  };
}
