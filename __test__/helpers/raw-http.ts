/**
 * HTTP at the byte level, for what fetch cannot send: pipelined requests,
 * HTTP/1.0, hand-made chunked framing, oversized headers, bodies that trickle
 * in. `exchange` writes bytes to one connection and collects everything the
 * server answers; `parseResponses` splits that into responses.
 */
import { connect, type Socket } from 'node:net';

export interface RawResponse {
  status: number;
  reason: string;
  headers: Record<string, string>;
  body: string;
}

export interface ExchangeOptions {
  /** Resolve after this long even if the server keeps the connection open. */
  timeoutMs?: number;
  /** Half-close after writing (the server then closes once it has answered). */
  end?: boolean;
}

/** Writes `data` (or runs `write`) on a fresh connection and resolves with all bytes read until it closes or times out. */
export function exchange(port: number, data: string | Buffer | ((socket: Socket) => void), options: ExchangeOptions = {}): Promise<Buffer> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    const done = () => {
      clearTimeout(timer);
      socket.destroy();
      resolve(Buffer.concat(chunks));
    };
    const timer = setTimeout(done, options.timeoutMs ?? 5_000);
    socket.on('data', (d: Buffer) => chunks.push(d));
    socket.on('error', done);
    socket.on('close', done);
    socket.on('connect', () => {
      if (typeof data === 'function') data(socket);
      else if (options.end) socket.end(data);
      else socket.write(data);
    });
  });
}

/** Consecutive HTTP/1.x responses (Content-Length framed, as this server sends them). */
export function parseResponses(bytes: Buffer): RawResponse[] {
  const out: RawResponse[] = [];
  let rest = bytes;
  while (rest.length > 0) {
    const headEnd = rest.indexOf('\r\n\r\n');
    if (headEnd < 0) break;
    const [statusLine, ...lines] = rest.subarray(0, headEnd).toString('latin1').split('\r\n');
    const match = /^HTTP\/1\.[01] (\d{3}) ?(.*)$/.exec(statusLine);
    if (!match) break;
    const headers: Record<string, string> = {};
    for (const line of lines) {
      const colon = line.indexOf(':');
      if (colon > 0) headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
    }
    const length = Number(headers['content-length'] ?? 0);
    const bodyStart = headEnd + 4;
    out.push({ status: Number(match[1]), reason: match[2], headers, body: rest.subarray(bodyStart, bodyStart + length).toString('utf8') });
    rest = rest.subarray(bodyStart + length);
  }
  return out;
}

/** A request with a Content-Length body, as raw bytes. */
export function rawRequest(method: string, target: string, headers: Record<string, string>, body: string | Buffer = '', version = '1.1'): Buffer {
  const bytes = typeof body === 'string' ? Buffer.from(body) : body;
  const head = [`${method} ${target} HTTP/${version}`, 'Host: 127.0.0.1', ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`)];
  if (bytes.length > 0 || method === 'POST') head.push(`Content-Length: ${bytes.length}`);
  return Buffer.concat([Buffer.from(`${head.join('\r\n')}\r\n\r\n`, 'latin1'), bytes]);
}
