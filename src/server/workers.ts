/**
 * Serving on several cores: a primary process that serves nothing itself and
 * N worker processes, each a whole server (server.ts) with its own copy of
 * the model. The one owner of forking, of how connections reach the workers,
 * of replacing a worker that dies and of stopping them all.
 *
 * How connections reach workers (`Balancing`, LINEAR_SERVE_BALANCING):
 * - 'cluster', the default (node:cluster's round-robin): the primary accepts
 *   each connection and hands it to the next worker in turn, so even two
 *   keep-alive connections land on two workers. Works on every Node.
 * - 'reusePort' (SO_REUSEPORT, Node 22.12 / 23.1 and later): every worker
 *   binds its own socket and the kernel picks one per connection by a hash
 *   of the addresses. No hop through the primary, so a new connection costs
 *   less, but a few connections often share one worker while another idles.
 * Measured on Node 22 with 2 workers (2 cores, load generator on the same
 * machine): at 64 keep-alive connections both give the same rate (within
 * 6%); at 2 connections reusePort put both on one worker in 9 runs of 14,
 * cluster in none; with a new connection per request reusePort served 2.4x
 * the rate at a third of the server CPU per request (no primary hop).
 * SageMaker's front end keeps its connections open, hence the default.
 * Both balance connections, not requests: fewer open connections than
 * workers leave cores idle either way.
 *
 * The flow is one way: the primary tells a worker where to listen (in its
 * environment, at fork); the worker answers with one message, listening or
 * failed. A worker that fails before it listens is never replaced (a bad
 * model or port would fail again); one that dies while serving is.
 */
import cluster, { type Worker } from 'node:cluster';
import { createServer, type ListenOptions, type Server } from 'node:net';
import type { Balancing } from '../contract/serving-env';
import { ErrorCode, LinearError, isErrorCode, toLinearError } from '../errors';
import type { Serving } from './server';

/** What the primary tells a worker, at fork, in this variable of its environment (internal to this module). */
const ORDERS_ENV = 'LINEAR_SERVE_WORKER_ORDERS';

export interface WorkerOrders {
  /** Where to listen: the primary's port, or the port the first worker bound when that was 0. */
  port: number;
  balancing: Balancing;
}

/** The one message a worker sends its primary. */
type WorkerReport = { linear: 'listening'; address: string; port: number } | { linear: 'failed'; code: string; message: string };

/** This process's orders when a primary forked it to serve; undefined in a primary or a single process. */
export function workerOrders(env: NodeJS.ProcessEnv = process.env): WorkerOrders | undefined {
  const raw = env[ORDERS_ENV];
  if (!cluster.isWorker || raw === undefined) return undefined;
  return JSON.parse(raw) as WorkerOrders;
}

/** The worker's number in logs (1, 2, ...; a replacement gets the next one). */
export function workerNumber(): number {
  return cluster.worker?.id ?? 0;
}

/**
 * In a worker: starts its server, tells the primary where it listens and
 * resolves once serving ends. A failure to start is the primary's to report
 * (once, however many workers hit it): it is sent there, not thrown.
 */
export async function runWorker(start: () => Promise<Serving>): Promise<void> {
  try {
    let serving: Serving;
    try {
      serving = await start();
    } catch (err) {
      const error = toLinearError(err);
      await report({ linear: 'failed', code: error.code, message: error.message });
      return;
    }
    await report({ linear: 'listening', address: serving.address, port: serving.port });
    await serving.closed;
  } finally {
    // The channel to the primary would keep this process alive once its server has closed.
    cluster.worker?.disconnect();
  }
}

/** Resolves once the message is written, so that a disconnect right after cannot drop it. */
function report(message: WorkerReport): Promise<void> {
  return new Promise((resolve) => {
    if (process.send === undefined || !process.connected) resolve();
    else process.send(message, undefined, {}, () => resolve());
  });
}

/**
 * Whether this Node honours `listen({ reusePort: true })`: two sockets bound
 * to one port succeed only with SO_REUSEPORT (older Nodes ignore the option,
 * and the second bind fails).
 */
export async function reusePortWorks(host: string): Promise<boolean> {
  const servers: Server[] = [];
  const bind = (port: number) =>
    new Promise<number>((resolve, reject) => {
      const server = createServer();
      servers.push(server);
      server.once('error', reject);
      // reusePort is not in Node 20's types.
      server.listen({ port, host, reusePort: true, exclusive: true } as ListenOptions, () => {
        const address = server.address();
        resolve(typeof address === 'object' && address !== null ? address.port : 0);
      });
    });
  try {
    const port = await bind(0);
    await bind(port);
    return true;
  } catch {
    return false;
  } finally {
    await Promise.all(servers.map((s) => new Promise((resolve) => (s.listening ? s.close(resolve) : resolve(undefined)))));
  }
}

export interface PoolOptions {
  workers: number;
  balancing: Balancing;
  port: number;
  log: (line: string) => void;
  /** Aborted on SIGTERM: every worker is told to drain, and `closed` resolves once all have exited. */
  signal: AbortSignal;
}

export interface Pool {
  /** host:port the workers listen on. */
  address: string;
  port: number;
  /** The serving workers' process ids. */
  pids(): number[];
  /** Resolves once every worker has drained and exited after SIGTERM; rejects when no worker is left to serve. */
  closed: Promise<void>;
}

interface Running {
  worker: Worker;
  /** Listening, failed to start (and exiting), or neither yet. */
  state: 'starting' | 'listening' | 'failed';
}

function exitReason(code: number | null, signal: string | null): string {
  return signal ? `was killed by ${signal}` : `exited with code ${code}`;
}

function failureOf(report: WorkerReport | undefined, worker: Worker, code: number | null, signal: string | null): LinearError {
  if (report?.linear === 'failed' && isErrorCode(report.code)) return new LinearError(report.code, report.message);
  return new LinearError(ErrorCode.INTERNAL_ERROR, `worker ${worker.id} ${exitReason(code, signal)} before it listened`);
}

/**
 * In the primary: forks the workers and resolves once all of them listen (the
 * first to listen already answers /ping). Fails with the first worker's coded
 * error if any cannot start, after stopping the others.
 */
export async function startWorkers(options: PoolOptions): Promise<Pool> {
  const { log, signal } = options;
  const running = new Map<number, Running>();
  let orders: WorkerOrders = { port: options.port, balancing: options.balancing };
  let address = '';
  let port = options.port;
  let stopping = false;
  let settle: { resolve: () => void; reject: (err: LinearError) => void };
  const closed = new Promise<void>((resolve, reject) => (settle = { resolve, reject }));
  // Rejections are for the caller, who may only look once the pool has started.
  closed.catch(() => undefined);

  /** Forks one worker; resolves when it listens, rejects with its coded error if it exits first. */
  const fork = () =>
    new Promise<Running>((resolve, reject) => {
      const worker = cluster.fork({ [ORDERS_ENV]: JSON.stringify(orders) });
      const entry: Running = { worker, state: 'starting' };
      running.set(worker.id, entry);
      let last: WorkerReport | undefined;
      worker.on('message', (message: WorkerReport) => {
        last = message;
        if (message.linear === 'failed') entry.state = 'failed';
        if (message.linear !== 'listening') return;
        entry.state = 'listening';
        address = message.address;
        port = message.port;
        // node:cluster shares one socket per (host, port) asked for, so its workers keep asking for 0.
        if (orders.balancing === 'reusePort') orders = { ...orders, port };
        resolve(entry);
      });
      worker.once('exit', (code, exitSignal) => {
        running.delete(worker.id);
        if (entry.state !== 'listening') reject(failureOf(last, worker, code, exitSignal));
        else if (!stopping) replace(worker, code, exitSignal);
        else if (code !== 0) log(`worker ${worker.id} (pid ${worker.process.pid}) ${exitReason(code, exitSignal)} while draining`);
        if (stopping && running.size === 0) settle.resolve();
      });
    });

  const stop = () => {
    stopping = true;
    for (const { worker, state } of running.values()) if (state !== 'failed') worker.process.kill('SIGTERM');
    if (running.size === 0) settle.resolve();
  };

  /** A serving worker died (not asked to stop): another takes its place, once. */
  const replace = (worker: Worker, code: number | null, exitSignal: string | null) => {
    log(`worker ${worker.id} (pid ${worker.process.pid}) ${exitReason(code, exitSignal)}; starting a replacement`);
    fork().then(
      ({ worker: next }) => log(`worker ${next.id} (pid ${next.process.pid}) replaces worker ${worker.id}`),
      (err: LinearError) => {
        if (stopping) return;
        // Workers still starting (another replacement) count: they may yet serve.
        const left = [...running.values()].filter((r) => r.state !== 'failed').length;
        log(`a replacement for worker ${worker.id} could not start (${err.code}: ${err.message}); not retried, ${left} worker(s) left`);
        if (left === 0) {
          stopping = true;
          settle.reject(err);
        }
      },
    );
  };

  try {
    // With reusePort every worker binds its own socket: the first fixes the port when asked for any (0).
    const first = orders.balancing === 'reusePort' && orders.port === 0 ? [await fork()] : [];
    await Promise.all(Array.from({ length: options.workers - first.length }, fork));
  } catch (err) {
    stop();
    await closed;
    throw err;
  }
  if (signal.aborted) stop();
  else signal.addEventListener('abort', stop, { once: true });
  return {
    address,
    port,
    pids: () => [...running.values()].filter((r) => r.state === 'listening').map((r) => r.worker.process.pid ?? 0),
    closed,
  };
}

/**
 * The balancing to use: as asked, unless reusePort is asked of a Node that
 * cannot (then node:cluster, said in the log).
 */
export async function balancingFor(asked: Balancing, host: string, log: (line: string) => void): Promise<Balancing> {
  if (asked === 'reusePort' && !(await reusePortWorks(host))) {
    log(`SO_REUSEPORT needs Node 22.12 or 23.1 and later (this is ${process.version}); node:cluster hands out the connections instead`);
    return 'cluster';
  }
  return asked;
}
