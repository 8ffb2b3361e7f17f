/** Starts the real `serve` command on a loopback port and stops it. */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { CLI } from './ml-tree';

export interface RunningServer {
  url: string;
  child: ChildProcess;
  logs: () => string;
  /** Sends SIGTERM and resolves with the exit code. */
  stop: () => Promise<number | null>;
}

export async function startServer(root: string, env: NodeJS.ProcessEnv = {}): Promise<RunningServer> {
  const child = spawn(process.execPath, [CLI, 'serve', '--ml-root', root], {
    env: { ...process.env, SAGEMAKER_BIND_TO_PORT: '0', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let logs = '';
  child.stdout!.on('data', (d: Buffer) => (logs += d.toString()));
  const port = await new Promise<number>((resolve, reject) => {
    child.stderr!.on('data', (d: Buffer) => {
      logs += d.toString();
      const match = / on \S+:(\d+), payload limit/.exec(logs);
      if (match) resolve(Number(match[1]));
    });
    child.once('exit', (code) => reject(new Error(`serve exited with ${code} before listening:\n${logs}`)));
  });
  // 'close', not 'exit': by then everything the process wrote to stderr has been read.
  const exited = once(child, 'close') as Promise<[number | null]>;
  return {
    url: `http://127.0.0.1:${port}`,
    child,
    logs: () => logs,
    stop: async () => {
      // One SIGTERM only: a second one could land while the process is exiting and kill it by default action.
      if (child.exitCode === null && !child.killed) child.kill('SIGTERM');
      return (await exited)[0];
    },
  };
}
