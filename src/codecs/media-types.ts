/**
 * Media types in, formats out: which decoder reads a channel or a request
 * body, which encoder writes a response, and the options carried in
 * media-type parameters (label_size, header, intervals) or SageMaker's
 * custom attributes. The one table of content-type names.
 */
import { LinearError, clip } from '../errors';
import { sniffFormat } from '../native';

/** Formats of training channels (and of request bodies, with JSON). */
export type DataFormat = 'csv' | 'libsvm' | 'recordio-protobuf' | 'parquet';

/** Formats of request bodies. */
export type Format = 'csv' | 'json' | 'jsonlines' | 'libsvm' | 'recordio-protobuf';

/** Formats of responses. */
export type ResponseFormat = 'csv' | 'json' | 'jsonlines' | 'recordio-protobuf';

export const MIME: Record<ResponseFormat, string> = {
  csv: 'text/csv',
  json: 'application/json',
  jsonlines: 'application/jsonlines',
  'recordio-protobuf': 'application/x-recordio-protobuf',
};

const CSV_TYPES = ['text/csv', 'application/csv', 'text/x-csv', 'csv'];
const LIBSVM_TYPES = ['text/libsvm', 'text/x-libsvm', 'libsvm'];
const RECORDIO_TYPES = ['application/x-recordio-protobuf', 'application/recordio-protobuf'];
const PARQUET_TYPES = ['application/x-parquet', 'application/parquet', 'application/vnd.apache.parquet'];
const JSON_TYPES = ['application/json'];
const JSON_LINES_TYPES = ['application/jsonlines', 'application/x-jsonlines', 'application/jsonl'];

const typesOf = <T extends string>(entries: [readonly string[], T][]): ReadonlyMap<string, T> =>
  new Map(entries.flatMap(([types, format]) => types.map((type) => [type, format] as [string, T])));

/** Channel content types by format; gzip and generic types sniff each file instead. */
const DATA_FORMATS = typesOf<DataFormat>([
  [CSV_TYPES, 'csv'],
  [LIBSVM_TYPES, 'libsvm'],
  [RECORDIO_TYPES, 'recordio-protobuf'],
  [PARQUET_TYPES, 'parquet'],
]);
const SNIFFED_DATA_TYPES = new Set(['application/x-gzip', 'application/gzip', 'application/octet-stream', 'application/x-recordio']);

const FORMATS = typesOf<Format>([
  [CSV_TYPES, 'csv'],
  [LIBSVM_TYPES, 'libsvm'],
  [RECORDIO_TYPES, 'recordio-protobuf'],
  [JSON_TYPES, 'json'],
  [JSON_LINES_TYPES, 'jsonlines'],
]);

const RESPONSE_FORMATS = typesOf<ResponseFormat>([
  [CSV_TYPES, 'csv'],
  [RECORDIO_TYPES, 'recordio-protobuf'],
  [JSON_TYPES, 'json'],
  [JSON_LINES_TYPES, 'jsonlines'],
]);

/** Every content type a channel may declare, for messages and the README. */
export const CHANNEL_CONTENT_TYPES = [CSV_TYPES[0], LIBSVM_TYPES[0], RECORDIO_TYPES[0], PARQUET_TYPES[0]];

/** The same with every alias and the sniffed types: what a channel's ContentType may say. */
export const CHANNEL_MEDIA_TYPES = [...DATA_FORMATS.keys(), ...SNIFFED_DATA_TYPES];

/**
 * A channel's declared format: undefined when the type says nothing about the
 * rows (gzip, octet-stream), so each file is sniffed; an error for types that are not read.
 */
export function channelDataFormat(mediaType: MediaType, subject: string): DataFormat | undefined {
  checkCharset(mediaType, subject);
  if (SNIFFED_DATA_TYPES.has(mediaType.type)) return undefined;
  const format = DATA_FORMATS.get(mediaType.type);
  if (format === undefined) {
    throw new LinearError(
      'UNSUPPORTED_CONTENT_TYPE',
      `${subject} is not read; declare one of ${CHANNEL_CONTENT_TYPES.join(', ')} (or no ContentType, to detect each file's format)`,
    );
  }
  return format;
}

/** Generic types whose body is sniffed (the SDK's default Predictor sends octet-stream). */
const SNIFFED = new Set(['', 'application/octet-stream']);

export interface MediaType {
  type: string;
  params: Map<string, string>;
}

/** Clients send the same few headers over and over: remember their parses. */
function memoized<T>(parse: (header: string) => T, capacity = 64): (header: string) => T {
  const seen = new Map<string, T>();
  return (header) => {
    let value = seen.get(header);
    if (value === undefined) {
      value = parse(header);
      if (seen.size >= capacity) seen.clear();
      seen.set(header, value);
    }
    return value;
  };
}

export const parseMediaType = memoized(function parseMediaType(header: string): MediaType {
  const [type, ...rest] = header.split(';');
  const params = new Map<string, string>();
  for (const part of rest) {
    const eq = part.indexOf('=');
    if (eq > 0) params.set(part.slice(0, eq).trim().toLowerCase(), part.slice(eq + 1).trim().replace(/^"|"$/g, ''));
  }
  return { type: type.trim().toLowerCase(), params };
});

/** The request and response types serving answers, for messages and /execution-parameters. */
export const REQUEST_CONTENT_TYPES = [CSV_TYPES[0], JSON_TYPES[0], JSON_LINES_TYPES[0], LIBSVM_TYPES[0], RECORDIO_TYPES[0]];
export const RESPONSE_CONTENT_TYPES = [CSV_TYPES[0], JSON_TYPES[0], JSON_LINES_TYPES[0], RECORDIO_TYPES[0]];
const SUPPORTED = REQUEST_CONTENT_TYPES.join(', ');
const SUPPORTED_RESPONSES = RESPONSE_CONTENT_TYPES.join(', ');

function firstNonSpace(body: Buffer): number | undefined {
  for (const byte of body) if (byte !== 0x20 && byte !== 0x09 && byte !== 0x0a && byte !== 0x0d) return byte;
  return undefined;
}

/** Charsets whose bytes are not ASCII-compatible: numbers and commas would not read as such. */
const UNREADABLE_CHARSET = /^(utf-?(16|32|7)|ucs-?[24]|unicode)/;

/**
 * Refuses a `charset` parameter naming an encoding whose digits are not ASCII
 * (UTF-16 and the like); UTF-8 and the single-byte sets read the same.
 */
export function checkCharset(mediaType: MediaType, subject: string): void {
  const charset = mediaType.params.get('charset');
  if (charset !== undefined && UNREADABLE_CHARSET.test(charset.toLowerCase())) {
    throw new LinearError('UNSUPPORTED_CONTENT_TYPE', `${subject} is charset=${clipHeader(charset)}, which is not read; send UTF-8 (or ASCII)`);
  }
}

export function bodyFormat(contentType: MediaType, body: Buffer): Format {
  checkCharset(contentType, 'the body');
  const known = FORMATS.get(contentType.type);
  if (known) return known;
  if (SNIFFED.has(contentType.type)) {
    const first = firstNonSpace(body);
    if (first === 0x7b || first === 0x5b) return 'json';
    const sniffed = sniffFormat(body, true);
    return sniffed === 'recordio-protobuf' || sniffed === 'libsvm' ? sniffed : 'csv';
  }
  throw new LinearError('UNSUPPORTED_CONTENT_TYPE', `Content-Type ${clipHeader(contentType.type)} is not supported; send ${SUPPORTED}`);
}

/** Whether rows carry the label first: Linear Learner's label_size parameter (0 or 1). */
export function labelled(contentType: MediaType): boolean {
  const size = contentType.params.get('label_size');
  if (size === undefined || size === '0') return false;
  if (size === '1') return true;
  throw new LinearError('INVALID_LABEL_SIZE', `label_size=${clipHeader(size)} is not supported; use label_size=1 when the first column is the label, or leave it out`);
}

/** Header values are quoted in messages only this far. */
const SHOWN = 100;

/** The start of a header value, for messages and logs. */
export function clipHeader(text: string): string {
  return clip(text, SHOWN);
}

export interface ResponseChoice {
  format: ResponseFormat;
  params: Map<string, string>;
}

const responseChoices = new Map<string, (accept: string) => ResponseChoice>();

/** The response format for an Accept header: the supported type of highest q, or the default for none or wildcards. */
export function responseFormat(accept: string | undefined, defaultAccept: string): ResponseChoice {
  let choose = responseChoices.get(defaultAccept);
  if (choose === undefined) {
    choose = memoized((header) => chooseResponse(header, defaultAccept));
    responseChoices.set(defaultAccept, choose);
  }
  return choose(accept ?? '');
}

function chooseResponse(accept: string, defaultAccept: string): ResponseChoice {
  const fallback = () => {
    const chosen = parseMediaType(defaultAccept);
    return { format: RESPONSE_FORMATS.get(chosen.type) ?? 'json', params: chosen.params };
  };
  if (accept.trim() === '') return fallback();
  const offers = accept
    .split(',')
    .map(parseMediaType)
    .map((m, i) => ({ ...m, q: Number(m.params.get('q') ?? 1), i }))
    .filter((m) => m.q > 0)
    .sort((a, b) => b.q - a.q || a.i - b.i);
  for (const offer of offers) {
    const format = RESPONSE_FORMATS.get(offer.type);
    if (format) return { format, params: offer.params };
    if (offer.type === '*/*' || offer.type === '*') {
      const chosen = fallback();
      return { format: chosen.format, params: new Map([...chosen.params, ...offer.params]) };
    }
    if (offer.type === 'application/*') return { format: 'json', params: offer.params };
    if (offer.type === 'text/*') return { format: 'csv', params: offer.params };
  }
  throw new LinearError('NOT_ACCEPTABLE', `Accept ${clipHeader(accept)} has no type this server produces; accept one of ${SUPPORTED_RESPONSES}`);
}

const NO_ATTRIBUTES: ReadonlyMap<string, string> = new Map();

/** `key=value` pairs from X-Amzn-SageMaker-Custom-Attributes (separated by , or ;). */
export function customAttributes(header: string | undefined): ReadonlyMap<string, string> {
  // Most requests carry none: no map for them.
  if (header === undefined || header === '') return NO_ATTRIBUTES;
  const attributes = new Map<string, string>();
  for (const part of (header ?? '').split(/[;,]/)) {
    const eq = part.indexOf('=');
    if (eq > 0) attributes.set(part.slice(0, eq).trim().toLowerCase(), part.slice(eq + 1).trim());
  }
  return attributes;
}

/** Interval level from an Accept parameter or custom attribute, e.g. intervals=0.95. */
export function requestedIntervals(acceptParams: ReadonlyMap<string, string>, attributes: ReadonlyMap<string, string>): number | undefined {
  const raw = acceptParams.get('intervals') ?? attributes.get('intervals');
  if (raw === undefined) return undefined;
  const level = Number(raw);
  if (!(level > 0 && level < 1)) {
    throw new LinearError('INVALID_INTERVALS', `intervals=${clipHeader(raw)} must be a probability strictly between 0 and 1, e.g. intervals=0.95`);
  }
  return level;
}
