/** The only place error codes become HTTP statuses: the caller's mistakes are 4xx, ours 5xx. */
import type { LinearError } from '../errors';

const STATUS: Readonly<Record<string, number>> = {
  NOT_FOUND: 404,
  METHOD_NOT_ALLOWED: 405,
  NOT_ACCEPTABLE: 406,
  REQUEST_TIMEOUT: 408,
  PAYLOAD_TOO_LARGE: 413,
  UNSUPPORTED_MEDIA_TYPE: 415,
};

export function httpStatus(err: LinearError): number {
  return STATUS[err.code] ?? (err.kind === 'user' ? 400 : 500);
}
