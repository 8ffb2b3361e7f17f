/**
 * The error catalogue: every code the program can report (the native core's
 * included), with its kind, process exit code, HTTP status and meaning. It is
 * the one place a code is defined; the README's failure table is generated
 * from it (`npm run docs`) and a test checks the native core emits no code
 * missing here.
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

interface CodeEntry {
  kind: ErrorKind;
  /** Status of a serving response carrying this code. */
  status: number;
  /** One line for the README's table. */
  meaning: string;
}

const user = (meaning: string, status = 400): CodeEntry => ({ kind: 'user', status, meaning });
const internal = (meaning: string): CodeEntry => ({ kind: 'internal', status: 500, meaning });

export const ERROR_CATALOGUE = {
  // Configuration and channels (training).
  MISSING_CHANNEL: user('A channel the command needs has no directory under input/data.'),
  EMPTY_CHANNEL: user('A channel directory holds no data files.'),
  EMPTY_FILE: user('Every file of a channel is empty (or empty after decompression).'),
  HEADER_ONLY: user('The files of a channel have a header row but no data rows.'),
  UNREADABLE_FILE: user('A file or directory cannot be opened or read (permissions, a broken link, not a directory).'),
  UNWRITABLE_OUTPUT: user('model/ or output/ cannot be written (permissions, a read-only or full file system).'),
  CORRUPT_GZIP: user('A file starts with the gzip magic bytes but does not decompress.'),
  INVALID_CONFIG: user('hyperparameters.json, inputdataconfig.json, resourceconfig.json or a serving variable is malformed or invalid.'),
  UNKNOWN_HYPERPARAMETER: user('A hyperparameter name this container does not know.'),
  INVALID_HYPERPARAMETER: user('A known hyperparameter with a value outside what it accepts.'),
  UNSUPPORTED_HYPERPARAMETER: user('A Linear Learner hyperparameter that would change the fit and is not implemented.'),
  UNSUPPORTED_DISTRIBUTION: user('A multi-instance job asks for what one host only does: Pipe mode, a cross-validated (auto) penalty, robust_se, or a ShardedByS3Key validation or test channel.'),
  UNSUPPORTED_CONTENT_TYPE: user('A channel or request declares a content type that is not read, or data in a shape of it that is not (a Parquet string column, Parquet through a pipe).', 415),
  CONTENT_TYPE_MISMATCH: user("A file's bytes contradict the channel's ContentType, or one channel mixes formats (both are named)."),
  // Data, in training files and request bodies alike.
  UNSUPPORTED_ENCODING: user('A data file or body is UTF-16 text or binary data, not UTF-8 CSV.', 415),
  MALFORMED_RECORD: user('A RecordIO record, its protobuf or tensors, a libsvm line or a Parquet file cannot be decoded (file, record or line, and byte offset named).'),
  NON_NUMERIC_VALUE: user('A cell is not a number (file, line and column named).'),
  NON_FINITE_VALUE: user('A cell is NaN or infinite.'),
  MISSING_VALUE: user('A cell is empty.'),
  RAGGED_ROW: user('A row has a different number of columns from the rows before it.'),
  HEADER_MISMATCH: user("A header row disagrees with another file's header or with the model's feature names."),
  FEATURE_COUNT_MISMATCH: user('Rows have a number of features the model does not have.'),
  FEATURE_DIM_MISMATCH: user('Rows have a number of features other than the feature_dim hyperparameter says.'),
  NOT_ENOUGH_MEMORY: user("The exact solver for this many features needs more than 80% of the container's (or machine's) memory; both figures are named."),
  TOO_FEW_ROWS: user('Fewer rows than parameters to estimate.'),
  INVALID_WEIGHT: user('A sample weight (weight_column) is negative, NaN or infinite (file and data row named).'),
  TOO_MANY_COLUMNS: user('A row or header has more columns than the fit holds in memory (4096, label included).'),
  LINE_TOO_LONG: user('A line runs past 64 MiB without a line break (not CSV, or no newlines).'),
  INVALID_ARGUMENT: user('Nothing to fit (rows with only a label column), or a library call with arguments that do not fit together.'),
  // Models.
  MODEL_NOT_FOUND: user('No model/model.json where test or serve looks for it.'),
  MODEL_INVALID: user('model/model.json is malformed, truncated, of another version or inconsistent.'),
  REPORT_NOT_FOUND: user('No output/data/report.json where `linear report` looks for the earlier training report.'),
  REPORT_INVALID: user('output/data/report.json is malformed or not a training report of this format and version.'),
  NON_FINITE_RESULT: user('A coefficient or statistic of the fit (or a scored channel\'s mse) is outside float64\'s range, above or below (data in extreme units); no model is written.'),
  // Serving requests.
  EMPTY_REQUEST: user('A request body holds no rows.'),
  MALFORMED_JSON: user('A JSON or JSON Lines body does not parse.'),
  MALFORMED_REQUEST: user('A JSON body parses but is not a shape of instances this server reads.'),
  UNKNOWN_FEATURE: user('A named-feature instance names a feature the model does not have.'),
  INVALID_LABEL_SIZE: user('A label_size content-type parameter other than 0 or 1.'),
  NON_FINITE_PREDICTION: user('A prediction or its interval overflows float64 (the row and the value are named); check its units.'),
  INVALID_INTERVALS: user('Intervals asked at a level outside (0, 1), or of a model that stores no covariance (ridge, or no residual degrees of freedom).'),
  NOT_FOUND: user('A route other than /ping, /invocations and /execution-parameters.', 404),
  METHOD_NOT_ALLOWED: user('A route called with the wrong HTTP method.', 405),
  NOT_ACCEPTABLE: user('An Accept header with no type this server produces.', 406),
  PAYLOAD_TOO_LARGE: user('A request body above the payload limit.', 413),
  MALFORMED_HTTP: user('A request that is not valid HTTP/1.1 (request line, header or chunk framing).'),
  REQUEST_TIMEOUT: user('A request whose headers or body did not arrive within the server timeout.', 408),
  URI_TOO_LONG: user('A request target longer than 4096 characters.', 414),
  HEADERS_TOO_LARGE: user('A request line and headers above the 16 KiB header limit.', 431),
  // Multi-instance training. A peer's failure is 'user': the root cause is the
  // peer's own error, named in the message and reported with its own exit code by
  // that host; nothing failed on the host that relays it. A lost, unreachable or
  // garbled peer is an environment fault (network, crashed or killed instance).
  PEER_FAILED: user("Another host of the training job failed; the message names it, the step and that host's own CODE: message."),
  PEER_LOST: internal('A host of the training job stopped answering (silent past the limit, or its connection closed); host, step and seconds named.'),
  PEER_UNREACHABLE: internal('A worker could not reach the leader, or the leader did not hear from a worker, within the join deadline (check the network, security group and LINEAR_CLUSTER_PORT).'),
  PEER_REFUSED: internal('A message between hosts was refused: corrupt (CRC-32 or length check), of another protocol version, or from a host name the leader does not expect or already has.'),
  // The process.
  TERMINATED: user('Stopped by SIGTERM before finishing (exit 143).', 503),
  INTERNAL_ERROR: internal('Anything unexpected: a bug or an environment fault, not a problem with the input.'),
} as const satisfies Record<string, CodeEntry>;

export type ErrorCodeName = keyof typeof ERROR_CATALOGUE;

/** `ErrorCode.X === 'X'` for every catalogued code, so callers name codes the compiler checks. */
export const ErrorCode = Object.fromEntries(Object.keys(ERROR_CATALOGUE).map((code) => [code, code])) as {
  readonly [C in ErrorCodeName]: C;
};

export function isErrorCode(code: string): code is ErrorCodeName {
  return Object.hasOwn(ERROR_CATALOGUE, code);
}

function exitCodeOf(code: ErrorCodeName): number {
  if (code === 'TERMINATED') return ExitCode.TERMINATED;
  return ERROR_CATALOGUE[code].kind === 'user' ? ExitCode.USER : ExitCode.INTERNAL;
}

export class LinearError extends Error {
  readonly code: ErrorCodeName;
  readonly kind: ErrorKind;

  constructor(code: ErrorCodeName, message: string) {
    super(message);
    this.name = 'LinearError';
    this.code = code;
    this.kind = ERROR_CATALOGUE[code].kind;
  }

  /** The status a serving response with this error carries. */
  get status(): number {
    return ERROR_CATALOGUE[this.code].status;
  }

  /** The process exit code when a command ends with this error. */
  get exitCode(): number {
    return exitCodeOf(this.code);
  }
}

/** Keeps LinearErrors as they are and wraps anything else as an internal error with a one-line message. */
export function toLinearError(err: unknown): LinearError {
  if (err instanceof LinearError) return err;
  return new LinearError(ErrorCode.INTERNAL_ERROR, firstLineOf(err) || 'unknown error');
}

/** The README's failure table: one row per catalogued code. */
export function catalogueTable(): string {
  const rows = (Object.entries(ERROR_CATALOGUE) as [ErrorCodeName, CodeEntry][]).map(
    ([code, entry]) => `| \`${code}\` | ${entry.kind} | ${exitCodeOf(code)} | ${entry.status} | ${entry.meaning} |`,
  );
  return ['| code | kind | exit (train, test) | HTTP (serve) | meaning |', '|---|---|---|---|---|', ...rows].join('\n');
}

/** The start of a user's value (a header, a hyperparameter) for a message: at most `length` characters. */
export function clip(text: string, length: number): string {
  return text.length <= length ? text : `${text.slice(0, length - 3)}...`;
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
