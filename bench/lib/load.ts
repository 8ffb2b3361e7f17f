/**
 * One autocannon run against POST /invocations. Latencies are collected from
 * every 2xx response at full resolution (autocannon's own histogram rounds to
 * whole milliseconds, too coarse for sub-millisecond p50s).
 */
import autocannon = require('autocannon');
import { performance } from 'node:perf_hooks';

export interface LoadRequest {
  contentType: string;
  accept: string;
  body: Buffer;
}

export interface LoadResult {
  requestsPerSecond: number;
  /** Request bodies accepted per second, MB (1e6 bytes). */
  megabytesPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  /** Connection errors, timeouts and non-2xx responses. */
  failures: number;
  /** 2xx responses counted. */
  requests: number;
  /** Wall time of the run. */
  seconds: number;
  /** CPU seconds the load generator (this process) used meanwhile. */
  loadCpuSeconds: number;
}

/**
 * autocannon writes the next request as soon as a response ends, even when the
 * server said `Connection: close` (gunicorn's sync workers do after every
 * response). That request dies with the socket and its start time stays queued,
 * so every later latency is measured from a stale start, and large bodies fail
 * with EPIPE. Skipping that one write leaves the request to the reconnect,
 * which autocannon already makes when the socket ends.
 */
function waitForReconnect(client: autocannon.Client): void {
  let closing = false;
  client.on('headers', (head: autocannon.ResponseHead) => (closing = !head.shouldKeepAlive));
  const next = client._doRequest.bind(client);
  client._doRequest = () => {
    if (closing) closing = false;
    else next();
  };
}

/** Nearest-rank percentile of sorted values. */
function percentile(sorted: Float64Array, q: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.max(0, Math.ceil(q * sorted.length) - 1)];
}

export function load(url: string, request: LoadRequest, connections: number, seconds: number): Promise<LoadResult> {
  const latencies: number[] = [];
  const started = performance.now();
  const cpu = process.cpuUsage();
  return new Promise((resolve, reject) => {
    const instance = autocannon(
      {
        url: `${url}/invocations`,
        method: 'POST',
        headers: { 'content-type': request.contentType, accept: request.accept },
        body: request.body,
        connections,
        duration: seconds,
        setupClient: waitForReconnect,
      },
      (error, result) => {
        if (error) return reject(error);
        const elapsed = (performance.now() - started) / 1000;
        const used = process.cpuUsage(cpu);
        const sorted = Float64Array.from(latencies).sort();
        resolve({
          requestsPerSecond: latencies.length / elapsed,
          megabytesPerSecond: (latencies.length * request.body.length) / 1e6 / elapsed,
          p50Ms: percentile(sorted, 0.5),
          p99Ms: percentile(sorted, 0.99),
          failures: result.errors + result.timeouts + result.non2xx,
          requests: latencies.length,
          seconds: elapsed,
          loadCpuSeconds: (used.user + used.system) / 1e6,
        });
      },
    );
    instance.on('response', (_client: unknown, status: number, _bytes: number, ms: number) => {
      if (status >= 200 && status < 300) latencies.push(ms);
    });
  });
}
