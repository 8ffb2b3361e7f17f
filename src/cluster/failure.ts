/** How a failure travels between hosts, and the error each host reports for it. */
import { ErrorCode, LinearError, clip, toLinearError } from '../errors';
import { CLUSTER_PORT_ENV } from './member';

/** Who failed, in which step, with what: the root cause, passed on unchanged by the leader. */
export interface FailureRecord {
  host: string;
  step: string;
  code: string;
  message: string;
}

/** Leaves room for "host ... failed during step '...': CODE: " within the 1024 characters of a FailureReason. */
const CAUSE_LENGTH = 700;
const MESSAGE_LENGTH = 1000;

/** This host's own error, as the other hosts will read it. */
export function recordOf(host: string, step: string, error: unknown): FailureRecord {
  const err = toLinearError(error);
  return { host, step, code: err.code, message: clip(err.message, CAUSE_LENGTH) };
}

/** SIGTERM on one host: the others read it as that host stopped, not as their own TERMINATED. */
export function terminatedRecord(host: string, step: string): FailureRecord {
  return { host, step, code: ErrorCode.TERMINATED, message: `host ${host} was stopped (SIGTERM)` };
}

/**
 * The error of a host that learns of a failure elsewhere. The leader's own
 * findings about a peer (lost, unreachable) already name it and stay as they
 * are; anything else is that host's own error, wrapped as PEER_FAILED.
 */
export function errorOf(record: FailureRecord): LinearError {
  if (record.code === ErrorCode.PEER_LOST || record.code === ErrorCode.PEER_UNREACHABLE) {
    return new LinearError(record.code, clip(record.message, MESSAGE_LENGTH));
  }
  const cause = `${record.code}: ${clip(record.message, CAUSE_LENGTH)}`;
  return new LinearError(ErrorCode.PEER_FAILED, clip(`host ${record.host} failed during step '${record.step}': ${cause}`, MESSAGE_LENGTH));
}

/** A peer that stopped answering; `how` says how this host knows, with the seconds of silence. */
export function lostRecord(host: string, step: string, how: string): FailureRecord {
  return { host, step, code: ErrorCode.PEER_LOST, message: `host ${host} stopped answering during step '${step}': ${how}` };
}

/** Peers that could not be reached by the deadline (`what` names them, the port and the deadline), and what to check. */
export function unreachableRecord(hosts: string[], step: string, what: string, port: number): FailureRecord {
  const message =
    `${what}; check that the instances share a network and that their security group allows TCP traffic between them on port ${port} ` +
    `(${CLUSTER_PORT_ENV} sets another port, the same on every host)`;
  return { host: hosts[0], step, code: ErrorCode.PEER_UNREACHABLE, message: clip(message, MESSAGE_LENGTH) };
}
