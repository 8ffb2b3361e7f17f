/**
 * The serving ceiling: bare `node:http` that reads each request's body and
 * answers a fixed one, on as many processes and spread the same way as
 * `linear serve`. `node --import tsx bench/bare-http.ts <port> <workers> <cluster|reusePort>`
 * (stopped by SIGTERM to its process group).
 */
import cluster from 'node:cluster';
import { createServer, type ServerResponse } from 'node:http';
import type { ListenOptions } from 'node:net';

const [port, workers, balancing] = [Number(process.argv[2]), Number(process.argv[3]), process.argv[4]];
const BODY = Buffer.from('42\n');

function answer(res: ServerResponse): void {
  res.writeHead(200, { 'Content-Type': 'text/csv', 'Content-Length': BODY.length });
  res.end(BODY);
}

if (workers > 1 && cluster.isPrimary) {
  for (let i = 0; i < workers; i++) cluster.fork();
} else {
  // The same keep-alive timeout as ours; everything else is Node's default.
  const server = createServer({ keepAliveTimeout: 65_000 }, (req, res) => {
    req.resume();
    req.on('end', () => answer(res));
  });
  // reusePort is not in Node 20's types.
  const options = { port, host: '127.0.0.1', reusePort: workers > 1 && balancing === 'reusePort' } as ListenOptions;
  server.listen(options);
}
