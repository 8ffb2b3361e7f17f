/**
 * One Node process, many keep-alive connections. On abort (SIGTERM) it stops
 * accepting, lets in-flight requests finish, then resolves.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { ServingSettings } from '../contract/serving-env';
import { ErrorCode, LinearError, systemErrorReason } from '../errors';
import type { Predictor } from '../native';
import { createApp } from './app';

/** Longer than the load balancers' idle timeout, so they close first. */
const KEEP_ALIVE_MS = 65_000;

export interface Serving {
  server: Server;
  port: number;
  /** Resolves once the server has closed and every request finished. */
  closed: Promise<void>;
}

export async function serve(predictor: Predictor, settings: ServingSettings, log: (line: string) => void, signal: AbortSignal): Promise<Serving> {
  const app = createApp({ predictor, settings, log });
  const server = createServer({ keepAliveTimeout: KEEP_ALIVE_MS, requestTimeout: settings.timeoutMs, headersTimeout: Math.min(settings.timeoutMs, 60_000) }, (req, res) => {
    void app(req, res);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err) =>
      reject(new LinearError(ErrorCode.INVALID_CONFIG, `cannot listen on port ${settings.port}: ${systemErrorReason(err)}`)),
    );
    server.listen(settings.port, '0.0.0.0', resolve);
  });
  const closed = new Promise<void>((resolve) => {
    const stop = () => server.close(() => resolve());
    if (signal.aborted) stop();
    else signal.addEventListener('abort', stop, { once: true });
  });
  return { server, port: (server.address() as AddressInfo).port, closed };
}
