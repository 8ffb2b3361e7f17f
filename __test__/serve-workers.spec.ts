/**
 * Serving on several processes (SAGEMAKER_MODEL_SERVER_WORKERS): the start
 * line, both workers answering, SIGTERM draining through the primary, a
 * killed worker replaced, a bad count or model failing at startup once, and
 * one worker meaning one process.
 */
import test from 'ava';
import { readFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { createServer, type AddressInfo } from 'node:net';
import * as os from 'node:os';
import { makeMlTree, runCli, type MlTree } from './helpers/ml-tree';
import { startServer, type RunningServer } from './helpers/server';

let tree: MlTree;

test.before(async () => {
  tree = await makeMlTree({ channels: { train: { 'line.csv': '1.0,0.0\n4.0,1.0\n7.0,2.0\n10.0,3.0\n13.0,4.0\n16.0,5.0\n' } } });
  const trained = await runCli(['train'], { root: tree.root });
  if (trained.code !== 0) throw new Error(trained.stderr);
});

const TWO = { SAGEMAKER_MODEL_SERVER_WORKERS: '2', LINEAR_ACCESS_LOG: 'true' };

/** The worker pids the start line names. */
function workerPids(server: RunningServer): number[] {
  const match = /, 2 workers \((?:node:cluster|SO_REUSEPORT)[^)]*; pids (\d+), (\d+)\)/.exec(server.logs());
  if (!match) throw new Error(`no worker pids in:\n${server.logs()}`);
  return [Number(match[1]), Number(match[2])];
}

/** One POST on a connection of its own (no keep-alive): connections are what workers are handed. */
function scoreOnNewConnection(url: string, x: number): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const { port } = new URL(url);
    const req = httpRequest({ host: '127.0.0.1', port, method: 'POST', path: '/invocations', agent: false, headers: { 'Content-Type': 'text/csv', Accept: 'text/csv' } }, (res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end(`${x}\n`);
  });
}

/** Which workers the access log says answered (worker 1, worker 2, ...). */
function answeredBy(logs: string): Set<string> {
  return new Set([...logs.matchAll(/worker (\d+): POST \/invocations 200 /g)].map((m) => m[1]));
}

async function until(what: string, condition: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

test('two workers: the start line names them and how connections reach them; /ping is 200 and both answer', async (t) => {
  const server = await startServer(tree.root, TWO);
  t.teardown(() => server.stop());
  t.is(workerPids(server).length, 2);
  t.is((await fetch(`${server.url}/ping`)).status, 200);
  const answers = await Promise.all(Array.from({ length: 20 }, (_, i) => scoreOnNewConnection(server.url, i)));
  t.deepEqual(answers.map((a) => a.status), Array(20).fill(200));
  t.deepEqual(answers.map((a) => Number(a.body)), Array.from({ length: 20 }, (_, i) => 3 * i + 1));
  await until('both workers in the access log', () => answeredBy(server.logs()).size === 2).catch(() => undefined);
  t.deepEqual([...answeredBy(server.logs())].sort(), ['1', '2'], server.logs());
});

test('SIGTERM to the primary drains an in-flight request in a worker, then every process exits 0', async (t) => {
  const server = await startServer(tree.root, TWO);
  const pids = workerPids(server);
  const { port } = new URL(server.url);
  const response = new Promise<{ status: number; body: string }>((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port, method: 'POST', path: '/invocations', headers: { 'Content-Type': 'text/csv', Accept: 'text/csv', 'Content-Length': 6 } }, (res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.write('1\n');
    setTimeout(() => {
      server.child.kill('SIGTERM');
      setTimeout(() => req.end('2\n3\n'), 300);
    }, 200);
  });
  const answered = await response;
  t.is(answered.status, 200);
  t.deepEqual(answered.body.trim().split('\n').map(Number), [4, 7, 10]);
  t.is(await server.stop(), 0);
  t.regex(server.logs(), /stopped: all in-flight requests finished/);
  for (const pid of pids) t.throws(() => process.kill(pid, 0), undefined, `worker ${pid} still runs`);
});

test('a worker killed with SIGKILL is replaced and serving goes on', async (t) => {
  const server = await startServer(tree.root, TWO);
  t.teardown(() => server.stop());
  const [victim] = workerPids(server);
  process.kill(victim, 'SIGKILL');
  await until('the replacement', () => /worker \d+ \(pid \d+\) replaces worker \d+/.test(server.logs()));
  t.regex(server.logs(), new RegExp(`worker \\d+ \\(pid ${victim}\\) was killed by SIGKILL; starting a replacement`));
  const answers = await Promise.all(Array.from({ length: 20 }, (_, i) => scoreOnNewConnection(server.url, i)));
  t.deepEqual(answers.map((a) => a.status), Array(20).fill(200));
  // The replacement is worker 3, and it answers too.
  await until('worker 3 in the access log', () => answeredBy(server.logs()).has('3')).catch(() => undefined);
  t.true(answeredBy(server.logs()).has('3'), server.logs());
  t.is(await server.stop(), 0);
});

test('a bad SAGEMAKER_MODEL_SERVER_WORKERS fails at startup with INVALID_CONFIG', async (t) => {
  for (const value of ['0', '-1', '1.5', 'two', '100000']) {
    const result = await runCli(['serve'], { root: tree.root, env: { SAGEMAKER_MODEL_SERVER_WORKERS: value } });
    t.is(result.code, 2, value);
    t.regex(result.stderr, new RegExp(`INVALID_CONFIG: SAGEMAKER_MODEL_SERVER_WORKERS=${value} must be a whole number from 1 to \\d+`));
  }
});

test('LINEAR_SERVE_BALANCING=reuseport: SO_REUSEPORT where this Node has it, else node:cluster, said in the log', async (t) => {
  const server = await startServer(tree.root, { ...TWO, LINEAR_SERVE_BALANCING: 'reuseport' });
  t.teardown(() => server.stop());
  const fallback = /SO_REUSEPORT needs Node 22\.12 or 23\.1 and later \(this is v[\d.]+\); node:cluster hands out the connections instead/.test(server.logs());
  t.regex(server.logs(), fallback ? /, 2 workers \(node:cluster/ : /, 2 workers \(SO_REUSEPORT/);
  t.log(fallback ? `Node ${process.version}: fell back to node:cluster` : `Node ${process.version}: SO_REUSEPORT`);
  t.is((await fetch(`${server.url}/ping`)).status, 200);
  const answers = await Promise.all(Array.from({ length: 10 }, (_, i) => scoreOnNewConnection(server.url, i)));
  t.deepEqual(answers.map((a) => Number(a.body)), Array.from({ length: 10 }, (_, i) => 3 * i + 1));
  t.is(await server.stop(), 0);
});

test('a bad LINEAR_SERVE_BALANCING fails at startup with INVALID_CONFIG', async (t) => {
  const result = await runCli(['serve'], { root: tree.root, env: { LINEAR_SERVE_BALANCING: 'random' } });
  t.is(result.code, 2);
  t.regex(result.stderr, /INVALID_CONFIG: LINEAR_SERVE_BALANCING=random must be cluster or reuseport/);
});

test('a corrupt model fails startup once with its own error, before any worker starts', async (t) => {
  const corrupt = await makeMlTree({ model: '{"format": "linear-model"' }, t);
  const result = await runCli(['serve'], { root: corrupt.root, env: { SAGEMAKER_MODEL_SERVER_WORKERS: '2' } });
  t.is(result.code, 2);
  t.is(result.stderr.match(/MODEL_INVALID/g)?.length, 1, result.stderr);
  t.notRegex(result.stderr, /worker/);
});

test('a port in use fails startup with the workers\' coded error, and no worker is started again', async (t) => {
  const taken = createServer();
  await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
  t.teardown(() => taken.close());
  const { port } = taken.address() as AddressInfo;
  const result = await runCli(['serve', '--host', '127.0.0.1', '--port', String(port)], { root: tree.root, env: { SAGEMAKER_MODEL_SERVER_WORKERS: '2' } });
  t.is(result.code, 2);
  t.regex(result.stderr, new RegExp(`error INVALID_CONFIG: cannot listen on 127.0.0.1 port ${port}: .*EADDRINUSE`));
  t.notRegex(result.stderr, /replacement/);
});

test('SAGEMAKER_MODEL_SERVER_WORKERS=1 is one process with no primary', async (t) => {
  const server = await startServer(tree.root, { SAGEMAKER_MODEL_SERVER_WORKERS: '1' });
  t.teardown(() => server.stop());
  t.regex(server.logs(), /, 1 worker \(this process\)/);
  const pid = server.child.pid!;
  t.is(readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim(), '');
  t.is((await fetch(`${server.url}/ping`)).status, 200);
});

test('without SAGEMAKER_MODEL_SERVER_WORKERS there is one worker per available core', async (t) => {
  const server = await startServer(tree.root, { SAGEMAKER_MODEL_SERVER_WORKERS: undefined });
  t.teardown(() => server.stop());
  const cores = os.availableParallelism();
  t.regex(server.logs(), cores === 1 ? /, 1 worker \(this process\)/ : new RegExp(`, ${cores} workers \\(`));
});
