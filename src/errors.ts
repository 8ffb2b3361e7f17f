/**
 * The one error type the TypeScript side throws, its stable codes, and the
 * process exit codes they map to. The native core reports its own codes
 * (NON_NUMERIC_VALUE, RAGGED_ROW, ...) as plain strings, so `code` is a string.
 */

/** 'user' means the input or configuration is wrong; 'internal' means a bug or an environment fault. */
export type ErrorKind = 'user' | 'internal';

export const ExitCode = {
  OK: 0,
  INTERNAL: 1,
  USER: 2,
  /** 128 + SIGTERM, what a shell reports for a process stopped by `docker stop`. */
  TERMINATED: 143,
} as const;

export const ErrorCode = {
  /** A channel the command needs has no directory under input/data. */
  MISSING_CHANNEL: 'MISSING_CHANNEL',
  /** A channel directory holds no readable data files. */
  EMPTY_CHANNEL: 'EMPTY_CHANNEL',
  /** A data file has no bytes (or no bytes after decompression). */
  EMPTY_FILE: 'EMPTY_FILE',
  /** Every file of a channel has a header row but no data rows. */
  HEADER_ONLY: 'HEADER_ONLY',
  /** A file or directory cannot be opened or read. */
  UNREADABLE_FILE: 'UNREADABLE_FILE',
  /** A file starts with the gzip magic bytes but does not decompress. */
  CORRUPT_GZIP: 'CORRUPT_GZIP',
  /** hyperparameters.json, inputdataconfig.json or resourceconfig.json is malformed or invalid. */
  INVALID_CONFIG: 'INVALID_CONFIG',
  /** A hyperparameter name this container does not know. */
  UNKNOWN_HYPERPARAMETER: 'UNKNOWN_HYPERPARAMETER',
  /** A known hyperparameter with a value outside what it accepts. */
  INVALID_HYPERPARAMETER: 'INVALID_HYPERPARAMETER',
  /** A Linear Learner hyperparameter that would change the fit and is not implemented. */
  UNSUPPORTED_HYPERPARAMETER: 'UNSUPPORTED_HYPERPARAMETER',
  /** A channel uses an input mode (Pipe) this version cannot read. */
  UNSUPPORTED_INPUT_MODE: 'UNSUPPORTED_INPUT_MODE',
  /** A channel or request declares a content type that is not CSV. */
  UNSUPPORTED_CONTENT_TYPE: 'UNSUPPORTED_CONTENT_TYPE',
  /** No model file where the model directory should hold one. */
  MODEL_NOT_FOUND: 'MODEL_NOT_FOUND',
  /** The model file exists but does not hold a valid model. */
  MODEL_INVALID: 'MODEL_INVALID',
  /** The process was asked to stop (SIGTERM) before it finished. */
  TERMINATED: 'TERMINATED',
  /** Anything unexpected; a bug rather than a problem with the input. */
  INTERNAL_ERROR: 'INTERNAL_ERROR',
} as const;

export class LinearError extends Error {
  readonly code: string;
  readonly kind: ErrorKind;

  constructor(code: string, message: string, kind: ErrorKind = 'user') {
    super(message);
    this.name = 'LinearError';
    this.code = code;
    this.kind = kind;
  }
}

/** Keeps LinearErrors as they are and wraps anything else as an internal error with a one-line message. */
export function toLinearError(err: unknown): LinearError {
  if (err instanceof LinearError) return err;
  return new LinearError(ErrorCode.INTERNAL_ERROR, firstLineOf(err) || 'unknown error', 'internal');
}

/** SageMaker keeps only the first 1024 characters of output/failure as FailureReason. */
const MAX_FAILURE_LINE = 1000;

/** `CODE: message` on one line, short enough to survive as the job's FailureReason. */
export function failureLine(err: LinearError): string {
  const line = `${err.code}: ${err.message}`.replace(/\s*[\r\n]+\s*/g, '; ');
  if (line.length <= MAX_FAILURE_LINE) return line;
  return `${line.slice(0, MAX_FAILURE_LINE - 3)}...`;
}

const SYSTEM_ERROR_WORDS: ReadonlyMap<string, string> = new Map([
  ['ENOENT', 'no such file or directory'],
  ['EACCES', 'permission denied'],
  ['EPERM', 'permission denied'],
  ['EISDIR', 'it is a directory, not a file'],
  ['ENOTDIR', 'a parent path is not a directory'],
  ['ELOOP', 'too many levels of symbolic links'],
  ['EIO', 'input/output error'],
  ['EMFILE', 'too many open files'],
  ['ENFILE', 'too many open files'],
  ['ENAMETOOLONG', 'file name too long'],
]);

/** Readable words for a failed file-system call, without Node's syscall-and-path decoration. */
export function systemErrorReason(err: unknown): string {
  const words = SYSTEM_ERROR_WORDS.get((err as NodeJS.ErrnoException | undefined)?.code ?? '');
  return words ?? firstLineOf(err);
}

function firstLineOf(err: unknown): string {
  const text = err instanceof Error ? err.message : String(err);
  return text.split(/\r?\n/, 1)[0].trim();
}
