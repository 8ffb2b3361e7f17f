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
import type { Predictor } from '../native';

const CUSTOM_ATTRIBUTES = 'x-amzn-sagemaker-custom-attributes';

/** Longer request targets are refused (414); SageMaker's are a few characters. */
const MAX_URL_LENGTH = 4096;

/** A UTF-8 byte-order mark, which editors and some clients put before a body. */
const BOM = Buffer.from([0xef, 0xbb, 0xbf]);

function send(res: ServerResponse, status: number, contentType: string, body: string | Buffer): void {
  res.writeHead(status, { 'Content-Type': contentType, 'Content-Length': Buffer.byteLength(body) });
  res.end(body);
}

/** Beyond the limit a body is still read (and dropped) this far, so the client gets its 413 instead of a reset. */
const DRAIN_BYTES = 16 * 1024 * 1024;

function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  const tooLarge = () =>
    new LinearError('PAYLOAD_TOO_LARGE', `the body is larger than the ${limit / (1024 * 1024)} MiB limit; split the request (batch transform: lower MaxPayloadInMB or raise SAGEMAKER_MAX_PAYLOAD_IN_MB, up to 100)`);
  const cut = () => new LinearError('MALFORMED_HTTP', 'the connection closed before the whole body arrived');
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= limit) chunks.push(chunk);
      else if (size > limit + DRAIN_BYTES) {
        req.pause();
        reject(tooLarge());
      } else chunks.length = 0;
    });
    req.on('end', () => (size > limit ? reject(tooLarge()) : resolve(chunks.length === 1 ? chunks[0] : Buffer.concat(chunks, size))));
    // A client that goes away mid-body is not a server fault.
    req.on('error', () => reject(cut()));
    req.on('close', () => {
      if (!req.complete) reject(cut());
    });
  });
}

function withoutBom(body: Buffer): Buffer {
  return body.subarray(0, BOM.length).equals(BOM) ? body.subarray(BOM.length) : body;
}

/** Only identity bodies are read: a compressed body would parse as garbage. */
function checkContentEncoding(header: string | undefined): void {
  const encoding = (header ?? '').trim().toLowerCase();
  if (encoding !== '' && encoding !== 'identity') {
    throw new LinearError('UNSUPPORTED_CONTENT_TYPE', `Content-Encoding ${clipHeader(encoding)} is not read; send the body uncompressed`);
  }
}

export interface AppOptions {
  predictor: Predictor;
  settings: ServingSettings;
  log: (line: string) => void;
}

export function createApp({ predictor, settings, log }: AppOptions) {
  const executionParameters = JSON.stringify({
    MaxConcurrentTransforms: settings.maxConcurrentTransforms ?? os.availableParallelism(),
    BatchStrategy: 'MULTI_RECORD',
    MaxPayloadInMB: settings.maxPayloadMb,
    SupportedContentTypes: REQUEST_CONTENT_TYPES,
    SupportedResponseMIMETypes: RESPONSE_CONTENT_TYPES,
  });

  async function invocations(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const contentType = parseMediaType(req.headers['content-type'] ?? '');
    checkContentEncoding(req.headers['content-encoding']);
    const accept = responseFormat(req.headers.accept, settings.defaultAccept);
    const attributes = customAttributes(req.headers[CUSTOM_ATTRIBUTES] as string | undefined);
    const intervals = requestedIntervals(accept.params, attributes);
    const body = withoutBom(await readBody(req, settings.maxPayloadBytes));
    const format = bodyFormat(contentType, body);
    const response = await predictor.invoke(body, { body: format, response: accept.format, labelled: labelled(contentType), intervals });
    send(res, 200, MIME[accept.format], response);
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const started = process.hrtime.bigint();
    const target = req.url ?? '/';
    const url = clipHeader(target.split('?')[0]);
    try {
      if (target.length > MAX_URL_LENGTH) {
        throw new LinearError('URI_TOO_LONG', `the request target is ${target.length} characters, above ${MAX_URL_LENGTH}; this server answers GET /ping, POST /invocations and GET /execution-parameters`);
      }
      const route = ROUTES[url];
      if (!route) throw new LinearError('NOT_FOUND', `no route ${url}; this server answers GET /ping, POST /invocations and GET /execution-parameters`);
      if (req.method !== route && !(route === 'GET' && req.method === 'HEAD')) {
        res.setHeader('Allow', route);
        throw new LinearError('METHOD_NOT_ALLOWED', `${url} takes ${route}, not ${req.method}`);
      }
      if (url === '/ping') send(res, 200, 'application/json', '{"status":"healthy"}');
      else if (url === '/execution-parameters') send(res, 200, 'application/json', executionParameters);
      else await invocations(req, res);
      if (settings.accessLog) log(`${req.method} ${url} 200 ${Number(process.hrtime.bigint() - started) / 1e6} ms`);
    } catch (err) {
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
  }

  return Object.assign(handle, { clientError: clientErrorHandler(log) });
}

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

const ROUTES: Readonly<Record<string, string>> = {
  '/ping': 'GET',
  '/invocations': 'POST',
  '/execution-parameters': 'GET',
};
