/**
 * The routes SageMaker calls: GET /ping, POST /invocations and (batch
 * transform) GET /execution-parameters. Bodies are size-checked while they
 * stream in; decoding, prediction and encoding happen in the native core.
 * Requests Node's HTTP parser refuses (bad framing, oversized headers, a
 * request timeout) get the same JSON errors through `clientError`.
 */
import { STATUS_CODES, type IncomingMessage, type ServerResponse } from 'node:http';
import * as os from 'node:os';
import type { Duplex } from 'node:stream';
import { MIME, REQUEST_CONTENT_TYPES, RESPONSE_CONTENT_TYPES, bodyFormat, clipHeader, customAttributes, labelled, parseMediaType, requestedIntervals, responseFormat } from '../codecs/media-types';
import type { ServingSettings } from '../contract/serving-env';
import { ErrorCode, LinearError, toLinearError, type ErrorCodeName } from '../errors';
import { Predictor } from '../native';

const CUSTOM_ATTRIBUTES = 'x-amzn-sagemaker-custom-attributes';

/** Longer request targets are refused (414); SageMaker's are a few characters. */
const MAX_URL_LENGTH = 4096;

/** A UTF-8 byte-order mark, which editors and some clients put before a body. */
const BOM = Buffer.from([0xef, 0xbb, 0xbf]);

function send(res: ServerResponse, status: number, contentType: string, body: string | Buffer): void {
  res.writeHead(status, { 'Content-Type': contentType, 'Content-Length': typeof body === 'string' ? Buffer.byteLength(body) : body.length });
  res.end(body);
}

/** Beyond the limit a body is still read (and dropped) this far, so the client gets its 413 instead of a reset. */
const DRAIN_BYTES = 16 * 1024 * 1024;

function tooLarge(limit: number): LinearError {
  return new LinearError(
    'PAYLOAD_TOO_LARGE',
    `the body is larger than the ${limit / (1024 * 1024)} MiB limit; split the request (batch transform: lower MaxPayloadInMB or raise SAGEMAKER_MAX_PAYLOAD_IN_MB, up to 100)`,
  );
}

/**
 * Reads a body, size-checked as it streams in, and calls `done` once. A
 * callback rather than a promise: on the path every request takes, each
 * promise and await is a measurable share of a small request's cost.
 */
function readBody(req: IncomingMessage, limit: number, done: (error: LinearError | null, body: Buffer) => void): void {
  let chunks: Buffer[] = [];
  let size = 0;
  let settled = false;
  const finish = (error: LinearError | null) => {
    if (settled) return;
    settled = true;
    if (error !== null) done(error, EMPTY);
    else done(null, chunks.length === 1 ? chunks[0] : Buffer.concat(chunks, size));
  };
  const cut = () => finish(new LinearError('MALFORMED_HTTP', 'the connection closed before the whole body arrived'));
  req.on('data', (chunk: Buffer) => {
    size += chunk.length;
    if (size <= limit) chunks.push(chunk);
    else if (size > limit + DRAIN_BYTES) {
      req.pause();
      finish(tooLarge(limit));
    } else if (chunks.length > 0) chunks = [];
  });
  req.on('end', () => finish(size > limit ? tooLarge(limit) : null));
  // A client that goes away mid-body is not a server fault.
  req.on('error', cut);
  req.on('close', () => {
    if (!req.complete) cut();
  });
}

const EMPTY = Buffer.alloc(0);

function withoutBom(body: Buffer): Buffer {
  return body.length >= 3 && body[0] === BOM[0] && body[1] === BOM[1] && body[2] === BOM[2] ? body.subarray(BOM.length) : body;
}

/** Only identity bodies are read: a compressed body would parse as garbage. */
function checkContentEncoding(header: string | undefined): void {
  if (header === undefined) return;
  const encoding = header.trim().toLowerCase();
  if (encoding !== '' && encoding !== 'identity') {
    throw new LinearError('UNSUPPORTED_CONTENT_TYPE', `Content-Encoding ${clipHeader(encoding)} is not read; send the body uncompressed`);
  }
}

/** The part of a request target before its query. */
function pathOf(target: string): string {
  const query = target.indexOf('?');
  return query === -1 ? target : target.slice(0, query);
}

const ROUTES_ANSWERED = 'this server answers GET /ping, POST /invocations and GET /execution-parameters';

export interface AppOptions {
  predictor: Predictor;
  settings: ServingSettings;
  log: (line: string) => void;
}

/**
 * The request listener. A small request is answered synchronously, within
 * the event that delivered its last byte: no promise, no await. Bodies large
 * enough to be scored off the event loop are the one asynchronous step.
 */
export function createApp({ predictor, settings, log }: AppOptions) {
  const executionParameters = JSON.stringify({
    MaxConcurrentTransforms: settings.maxConcurrentTransforms ?? os.availableParallelism(),
    BatchStrategy: 'MULTI_RECORD',
    MaxPayloadInMB: settings.maxPayloadMb,
    SupportedContentTypes: REQUEST_CONTENT_TYPES,
    SupportedResponseMIMETypes: RESPONSE_CONTENT_TYPES,
  });
  const { accessLog, defaultAccept, maxPayloadBytes } = settings;

  /** A 200 with its body; the access log line when asked for. */
  function answer(req: IncomingMessage, res: ServerResponse, url: string, started: bigint, contentType: string, body: string | Buffer): void {
    send(res, 200, contentType, body);
    if (accessLog) log(`${req.method} ${url} 200 ${Number(process.hrtime.bigint() - started) / 1e6} ms`);
  }

  function fail(req: IncomingMessage, res: ServerResponse, url: string, err: unknown): void {
    const error = toLinearError(err);
    const status = error.status;
    if (res.headersSent || req.socket.destroyed) {
      log(`${req.method} ${url} (connection closed, no answer sent) ${error.code}: ${error.message}`);
      res.destroy();
      return;
    }
    log(`${req.method} ${url} ${status} ${error.code}: ${error.message}`);
    // Refused before its body was read: close, rather than read a body nobody wants.
    const unreadBody = !req.complete && (req.headers['transfer-encoding'] !== undefined || Number(req.headers['content-length'] ?? 0) > 0);
    if (status === 413 || unreadBody) res.setHeader('Connection', 'close');
    send(res, status, 'application/json', JSON.stringify({ code: error.code, message: error.message }));
  }

  function invocations(req: IncomingMessage, res: ServerResponse, url: string, started: bigint): void {
    const headers = req.headers;
    const contentType = parseMediaType(headers['content-type'] ?? '');
    checkContentEncoding(headers['content-encoding']);
    const accept = responseFormat(headers.accept, defaultAccept);
    const attributes = customAttributes(headers[CUSTOM_ATTRIBUTES] as string | undefined);
    const intervals = requestedIntervals(accept.params, attributes);
    readBody(req, maxPayloadBytes, (error, raw) => {
      if (error !== null) return fail(req, res, url, error);
      try {
        const body = withoutBom(raw);
        const invocation = { body: bodyFormat(contentType, body), response: accept.format, labelled: labelled(contentType), intervals };
        const type = MIME[accept.format];
        if (Predictor.answersInline(body)) answer(req, res, url, started, type, predictor.invokeSync(body, invocation));
        else
          predictor
            .invoke(body, invocation)
            .then((response) => answer(req, res, url, started, type, response))
            .catch((err: unknown) => fail(req, res, url, err));
      } catch (err) {
        fail(req, res, url, err);
      }
    });
  }

  function handle(req: IncomingMessage, res: ServerResponse): void {
    const started = accessLog ? process.hrtime.bigint() : 0n;
    const target = req.url ?? '/';
    const url = clipHeader(pathOf(target));
    try {
      if (target.length > MAX_URL_LENGTH) {
        throw new LinearError('URI_TOO_LONG', `the request target is ${target.length} characters, above ${MAX_URL_LENGTH}; ${ROUTES_ANSWERED}`);
      }
      const route = ROUTES.get(url);
      if (route === undefined) throw new LinearError('NOT_FOUND', `no route ${url}; ${ROUTES_ANSWERED}`);
      if (req.method !== route && !(route === 'GET' && req.method === 'HEAD')) {
        res.setHeader('Allow', route);
        throw new LinearError('METHOD_NOT_ALLOWED', `${url} takes ${route}, not ${req.method}`);
      }
      if (url === '/invocations') invocations(req, res, url, started);
      else answer(req, res, url, started, 'application/json', url === '/ping' ? PING : executionParameters);
    } catch (err) {
      fail(req, res, url, err);
    }
  }

  return Object.assign(handle, { clientError: clientErrorHandler(log) });
}

const PING = '{"status":"healthy"}';

/** What a refusal of Node's HTTP parser (err.code) is answered with. */
function clientErrorCode(code: string | undefined): ErrorCodeName {
  if (code === 'HPE_HEADER_OVERFLOW') return ErrorCode.HEADERS_TOO_LARGE;
  if (code === 'ERR_HTTP_REQUEST_TIMEOUT' || code === 'ERR_HTTP_HEADERS_TIMEOUT') return ErrorCode.REQUEST_TIMEOUT;
  return ErrorCode.MALFORMED_HTTP;
}

const CLIENT_ERROR_MESSAGES: Partial<Record<ErrorCodeName, string>> = {
  HEADERS_TOO_LARGE: 'the request line and headers are larger than 16 KiB; send shorter headers and a shorter URL',
  REQUEST_TIMEOUT: 'the request did not arrive in time; send the whole request within the server timeout (SAGEMAKER_MODEL_SERVER_TIMEOUT)',
};

/**
 * The server's 'clientError' listener: a request the HTTP parser refuses gets
 * a JSON error like any other (then the connection closes); a connection that
 * is gone, or mid-response, is just closed.
 */
export function clientErrorHandler(log: (line: string) => void) {
  return (err: NodeJS.ErrnoException & { reason?: string }, socket: Duplex): void => {
    const busy = (socket as Duplex & { _httpMessage?: { headersSent?: boolean } })._httpMessage?.headersSent === true;
    if (err.code === 'ECONNRESET' || err.code === 'EPIPE' || !socket.writable || busy) {
      socket.destroy();
      return;
    }
    const code = clientErrorCode(err.code);
    const message =
      CLIENT_ERROR_MESSAGES[code] ?? `the request is not valid HTTP/1.1 (${clipHeader(err.reason ?? err.code ?? err.message)}); check the request line, headers and body framing`;
    const status = new LinearError(code, message).status;
    log(`- - ${status} ${code}: ${message}`);
    const body = JSON.stringify({ code, message });
    socket.end(
      `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
    );
  };
}

/** Each route's method (a Map: no inherited keys such as 'constructor'). */
const ROUTES: ReadonlyMap<string, string> = new Map([
  ['/ping', 'GET'],
  ['/invocations', 'POST'],
  ['/execution-parameters', 'GET'],
]);
