/**
 * The servers under load: ours (`linear serve`), the Flask + scikit-learn peer
 * under gunicorn, and bare `node:http` as the ceiling.
 */
import { once } from 'node:events';
import { createServer, type AddressInfo } from 'node:net';
import { CLI, PYTHON_DIR, REPO_ROOT, tsNodeArgs } from './paths';
import { daemon, groupCpuSeconds, type Daemon } from './processes';
import { PYTHON_ENV } from './python';

export interface Server {
  url: string;
  /** CPU seconds its processes have used so far (null where /proc is not). */
  cpuSeconds(): number | null;
  logs(): string;
  stop(): Promise<void>;
}

/** How many processes serve, and on which CPUs (taskset's list, e.g. "0"; all when absent). */
export interface Placement {
  workers?: number;
  cpus?: string;
}

/** A port nobody listens on now; the server binds it a moment later. */
async function freePort(): Promise<number> {
  const probe = createServer();
  probe.listen(0, '127.0.0.1');
  await once(probe, 'listening');
  const { port } = probe.address() as AddressInfo;
  probe.close();
  await once(probe, 'close');
  return port;
}

async function ready(url: string, child: Daemon, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const ok = await fetch(`${url}/ping`).then((r) => r.ok, () => false);
    if (ok) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  await child.stop();
  throw new Error(`no answer on ${url}/ping after ${timeoutMs / 1000} s:\n${child.logs()}`);
}

async function started(command: string, args: (port: number) => string[], env: (port: number) => NodeJS.ProcessEnv, cpus?: string): Promise<Server> {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  // taskset execs the command: the pid, and so the process group, stay the server's.
  const options = { env: env(port), cwd: REPO_ROOT };
  const server = cpus === undefined ? daemon(command, args(port), options) : daemon('taskset', ['-c', cpus, command, ...args(port)], options);
  await ready(url, server, 30_000);
  return { url, cpuSeconds: () => groupCpuSeconds(server.pid), logs: () => server.logs(), stop: () => server.stop() };
}

/** Ours, with SAGEMAKER_MODEL_SERVER_WORKERS when `workers` is given (else its default: one per available core). */
export function startOurs(mlRoot: string, placement: Placement = {}): Promise<Server> {
  const workers: NodeJS.ProcessEnv = placement.workers === undefined ? {} : { SAGEMAKER_MODEL_SERVER_WORKERS: String(placement.workers) };
  return started(process.execPath, () => [CLI, 'serve', '--ml-root', mlRoot, '--host', '127.0.0.1'], (port) => ({ SAGEMAKER_BIND_TO_PORT: String(port), ...workers }), placement.cpus);
}

/** Bare node:http answering a fixed body (bench/bare-http.ts), `workers` processes spread by `balancing`. */
export function startBare(workers: number, balancing: string, cpus?: string): Promise<Server> {
  return started(process.execPath, (port) => tsNodeArgs('bare-http.ts', String(port), String(workers), balancing), () => ({}), cpus);
}

/** Two sync workers: the shape of AWS's bring-your-own example, one worker per core here. */
export function startFlask(python: string, modelPickle: string): Promise<Server> {
  return started(
    python,
    (port) => ['-m', 'gunicorn', '--workers', '2', '--worker-class', 'sync', '--bind', `127.0.0.1:${port}`, '--chdir', PYTHON_DIR, 'flask_server:app'],
    () => ({ ...PYTHON_ENV, BENCH_SKLEARN_MODEL: modelPickle }),
  );
}
