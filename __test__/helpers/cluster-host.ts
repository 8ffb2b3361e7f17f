/**
 * One host of a test cluster in its own process, so a test can SIGKILL or
 * SIGSTOP it like an instance that dies or hangs. Run with
 * `node --import=tsx cluster-host.ts '<HostScript as JSON>'`; it prints one
 * JSON event a line: joined, sending/replied (worker) or gathered (leader), then error or closed.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import * as readline from 'node:readline';
import { joinCluster, topologyOf } from '../../src/cluster';
import { toLinearError } from '../../src/errors';

export interface HostScript {
  hosts: string[];
  current: string;
  port: number;
  heartbeatMs: number;
  silenceMs: number;
  /** Exchanged in order; a leader gathers and replies with its own payload. With none, the host idles once joined. */
  steps: string[];
}

export interface HostEvent {
  event: 'joined' | 'sending' | 'replied' | 'gathered' | 'error' | 'closed';
  step?: string;
  code?: string;
  message?: string;
}

export interface RunningHost {
  child: ChildProcess;
  /** Resolves with the first event named `event`, rejects if the process exits first. */
  next(event: HostEvent['event']): Promise<HostEvent>;
  /** SIGKILL, and resolves once the process is gone. */
  kill(): Promise<void>;
}

/** Starts `script` as a host in a child process. */
export function startHost(script: HostScript): RunningHost {
  const child = spawn(process.execPath, ['--import=tsx', __filename, JSON.stringify(script)], { stdio: ['ignore', 'pipe', 'inherit'] });
  const seen: HostEvent[] = [];
  const waiting: { event: string; resolve: (e: HostEvent) => void; reject: (err: Error) => void }[] = [];
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  readline.createInterface({ input: child.stdout! }).on('line', (line) => {
    const event = JSON.parse(line) as HostEvent;
    seen.push(event);
    for (const w of waiting.filter((w) => w.event === event.event)) {
      waiting.splice(waiting.indexOf(w), 1);
      w.resolve(event);
    }
  });
  void exited.then(() => waiting.splice(0).forEach((w) => w.reject(new Error(`host ${script.current} exited before '${w.event}': ${JSON.stringify(seen)}`))));
  return {
    child,
    next: (event) =>
      new Promise((resolve, reject) => {
        const found = seen.find((e) => e.event === event);
        if (found) resolve(found);
        else if (child.exitCode !== null || child.signalCode !== null) reject(new Error(`host ${script.current} has exited: ${JSON.stringify(seen)}`));
        else waiting.push({ event, resolve, reject });
      }),
    kill: async () => {
      child.kill('SIGKILL');
      await exited;
    },
  };
}

const say = (e: HostEvent) => process.stdout.write(`${JSON.stringify(e)}\n`);

function sayError(err: unknown): void {
  const e = toLinearError(err);
  say({ event: 'error', code: e.code, message: e.message });
}

async function run(script: HostScript): Promise<void> {
  const cluster = await joinCluster(topologyOf({ currentHost: script.current, hosts: script.hosts }), {
    port: script.port,
    heartbeatMs: script.heartbeatMs,
    silenceMs: script.silenceMs,
    log: (line) => process.stderr.write(`[${script.current}] ${line}\n`),
  });
  say({ event: 'joined' });
  let step = 'join';
  try {
    for (step of script.steps) {
      const payload = Buffer.from(`${script.current}:${step}`);
      if (cluster.isLeader) {
        await cluster.gather(step, payload);
        say({ event: 'gathered', step });
        cluster.reply(step, payload);
      } else {
        say({ event: 'sending', step });
        await cluster.send(step, payload);
        say({ event: 'replied', step });
      }
    }
    if (script.steps.length === 0) await new Promise(() => {});
    await cluster.close();
    say({ event: 'closed' });
  } catch (err) {
    sayError(err);
    await cluster.fail(step, err);
    process.exitCode = 1;
  }
}

if (require.main === module) {
  run(JSON.parse(process.argv[2]) as HostScript).catch((err: unknown) => {
    sayError(err);
    process.exitCode = 1;
  });
}
