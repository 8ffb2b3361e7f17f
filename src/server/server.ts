/**
 * One Node process, many keep-alive connections. On abort (SIGTERM) it stops
 * accepting, lets in-flight requests finish, then resolves.
 */
import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { ServingSettings } from '../contract/serving-env';
import { ErrorCode, LinearError, systemErrorReason } from '../errors';
import type { Predictor } from '../native';
import { createApp } from './app';

/** Longer than the load balancers' idle timeout, so they close first. */
const KEEP_ALIVE_MS = 65_000;

/** Every interface, as SageMaker needs; 127.0.0.1 keeps a local server private. */
export const DEFAULT_HOST = '0.0.0.0';

export interface Serving {
  server: Server;
  port: number;
  /** host:port actually bound, e.g. 0.0.0.0:8080 or [::1]:8080. */
  address: string;
  /** Resolves once the server has closed and every request finished. */
  closed: Promise<void>;
}

export interface ListenOptions {
  /**
   * Bind with SO_REUSEPORT, so that several processes each hold a socket on
   * the port and the kernel spreads connections between them (workers.ts
   * checks that this Node supports it: older ones ignore the option).
   */
  reusePort?: boolean;
}

export async function serve(
  predictor: Predictor,
  settings: ServingSettings,
  log: (line: string) => void,
  signal: AbortSignal,
  host: string = DEFAULT_HOST,
  options: ListenOptions = {},
): Promise<Serving> {
  const app = createApp({ predictor, settings, log });
  const inFlight = new Set<ServerResponse>();
  const closeIdle = () => server.closeIdleConnections();
  // One listener function for every response (no closure per request).
  function answered(this: ServerResponse): void {
    inFlight.delete(this);
    // Draining: the connection this answer leaves idle closes now, not after the keep-alive timeout.
    if (signal.aborted) setImmediate(closeIdle);
  }
  const server = createServer(
    {
      keepAliveTimeout: KEEP_ALIVE_MS,
      requestTimeout: settings.timeoutMs,
      headersTimeout: Math.min(settings.timeoutMs, 60_000),
      // Node checks the two timeouts above only this often (30 s by default): a stalled upload gets its 408 near the timeout.
      connectionsCheckingInterval: Math.min(1_000, settings.timeoutMs),
    },
    (req, res) => {
      inFlight.add(res);
      res.on('close', answered);
      if (signal.aborted) res.shouldKeepAlive = false;
      app(req, res);
    },
  );
  // Requests Node's parser refuses (huge headers, bad framing) still get a JSON 4xx.
  server.on('clientError', app.clientError);
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err) =>
      reject(new LinearError(ErrorCode.INVALID_CONFIG, `cannot listen on ${host} port ${settings.port}: ${systemErrorReason(err)}`)),
    );
    // reusePort is absent from Node 20's types; only set when asked, so nothing changes otherwise.
    server.listen(options.reusePort ? { port: settings.port, host, reusePort: true } : { port: settings.port, host }, resolve);
  });
  const closed = new Promise<void>((resolve) => {
    const stop = () => {
      for (const res of inFlight) res.shouldKeepAlive = false;
      server.close(() => resolve());
    };
    if (signal.aborted) stop();
    else signal.addEventListener('abort', stop, { once: true });
  });
  const bound = server.address() as AddressInfo;
  const address = bound.family === 'IPv6' ? `[${bound.address}]:${bound.port}` : `${bound.address}:${bound.port}`;
  return { server, port: bound.port, address, closed };
}
