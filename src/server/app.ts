/**
 * The routes SageMaker calls: GET /ping, POST /invocations and (batch
 * transform) GET /execution-parameters. Bodies are size-checked while they
 * stream in; decoding, prediction and encoding happen in the native core.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import * as os from 'node:os';
import { MIME, bodyFormat, customAttributes, labelled, parseMediaType, requestedIntervals, responseFormat } from '../codecs/media-types';
import type { ServingSettings } from '../contract/serving-env';
import { LinearError, toLinearError } from '../errors';
import type { Predictor } from '../native';

const CUSTOM_ATTRIBUTES = 'x-amzn-sagemaker-custom-attributes';

function send(res: ServerResponse, status: number, contentType: string, body: string | Buffer): void {
  res.writeHead(status, { 'Content-Type': contentType, 'Content-Length': Buffer.byteLength(body) });
  res.end(body);
}

/** Beyond the limit a body is still read (and dropped) this far, so the client gets its 413 instead of a reset. */
const DRAIN_BYTES = 16 * 1024 * 1024;

function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  const tooLarge = () =>
    new LinearError('PAYLOAD_TOO_LARGE', `the body is larger than the ${limit / (1024 * 1024)} MiB limit; split the request (batch transform: lower MaxPayloadInMB or raise SAGEMAKER_MAX_PAYLOAD_IN_MB, up to 100)`);
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
    req.on('error', reject);
  });
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
  });

  async function invocations(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const contentType = parseMediaType(req.headers['content-type'] ?? '');
    const accept = responseFormat(req.headers.accept, settings.defaultAccept);
    const attributes = customAttributes(req.headers[CUSTOM_ATTRIBUTES] as string | undefined);
    const intervals = requestedIntervals(accept.params, attributes);
    const body = await readBody(req, settings.maxPayloadBytes);
    const format = bodyFormat(contentType, body);
    const response = await predictor.invoke(body, { body: format, response: accept.format, labelled: labelled(contentType), intervals });
    send(res, 200, MIME[accept.format], response);
  }

  return async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const started = process.hrtime.bigint();
    const url = (req.url ?? '/').split('?')[0];
    try {
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
      log(`${req.method} ${url} ${status} ${error.code}: ${error.message}`);
      if (res.headersSent) {
        res.destroy();
        return;
      }
      if (status === 413) res.setHeader('Connection', 'close');
      send(res, status, 'application/json', JSON.stringify({ code: error.code, message: error.message }));
    }
  };
}

const ROUTES: Readonly<Record<string, string>> = {
  '/ping': 'GET',
  '/invocations': 'POST',
  '/execution-parameters': 'GET',
};
