/** The two inference servers under load: ours (`linear serve`) and the Flask + scikit-learn peer under gunicorn. */
import { once } from 'node:events';
import { createServer, type AddressInfo } from 'node:net';
import { CLI, PYTHON_DIR } from './paths';
import { daemon, type Daemon } from './processes';
import { PYTHON_ENV } from './python';

export interface Server {
  url: string;
  stop(): Promise<void>;
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

async function started(command: string, args: (port: number) => string[], env: (port: number) => NodeJS.ProcessEnv): Promise<Server> {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const server = daemon(command, args(port), { env: env(port) });
  await ready(url, server, 30_000);
  return { url, stop: () => server.stop() };
}

export function startOurs(mlRoot: string): Promise<Server> {
  return started(process.execPath, () => [CLI, 'serve', '--ml-root', mlRoot], (port) => ({ SAGEMAKER_BIND_TO_PORT: String(port) }));
}

/** Two sync workers: the shape of AWS's bring-your-own example, one worker per core here. */
export function startFlask(python: string, modelPickle: string): Promise<Server> {
  return started(
    python,
    (port) => ['-m', 'gunicorn', '--workers', '2', '--worker-class', 'sync', '--bind', `127.0.0.1:${port}`, '--chdir', PYTHON_DIR, 'flask_server:app'],
    () => ({ ...PYTHON_ENV, BENCH_SKLEARN_MODEL: modelPickle }),
  );
}
