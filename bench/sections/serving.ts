/**
 * Serving: `linear serve` on a p=10 model and the Flask + scikit-learn peer on
 * a model fitted to the same CSV, under the same autocannon loads: single-row
 * CSV and JSON requests at several concurrencies, then batch CSV bodies. Then
 * serving on every core: ours against bare `node:http` (the ceiling) with one
 * worker and with all, with few connections, and pinned to one core or two.
 */
import { readFile } from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { relativeDifference } from '../lib/accuracy';
import type { Bench } from '../lib/context';
import { trainingCsv } from '../lib/data';
import { factor, num, type Table } from '../lib/format';
import { load, type LoadRequest, type LoadResult } from '../lib/load';
import { mlTree, readModel, trainWithCli, type TrainedModel } from '../lib/ml-tree';
import { attempt, cell, detail, skip, valueOf, type Outcome } from '../lib/outcome';
import { OUT_DIR } from '../lib/paths';
import { hasTaskset, pinnedTo } from '../lib/processes';
import { pythonJson } from '../lib/python';
import { startBare, startFlask, startOurs, type Placement, type Server } from '../lib/servers';

const FEATURES = 10;
const MIB = 1024 * 1024;
const AGREEMENT_TOLERANCE = 1e-9;
const loadSeconds = (quick: boolean) => (quick ? 3 : 10);

interface Workload {
  name: string;
  batch: boolean;
  request: LoadRequest;
  /** The feature rows in the body, to check the answers against. */
  rows: number[][];
  connections: number[];
}

export interface ServingRow {
  workload: string;
  batch: boolean;
  connections: number;
  ours: LoadResult;
  flask: Outcome<LoadResult>;
}

export interface ServingResults {
  table: Table;
  rows: ServingRow[];
  /** Serving on every core: ours against bare node:http, by workers, connections and CPUs. */
  cores: Table;
  scaling: ScalingRow[];
}

const csvRequest = (body: string): LoadRequest => ({ contentType: 'text/csv', accept: 'text/csv', body: Buffer.from(body) });

/** Feature-only lines (the label dropped) of the training CSV, as many as a body of `bytes` can hold. */
function featureLines(csv: string, bytes: number): string[] {
  const lines: string[] = [];
  let size = 0;
  for (const line of csv.split('\n')) {
    const features = line.slice(line.indexOf(',') + 1);
    if (line === '' || size + features.length + 1 > bytes) break;
    lines.push(features);
    size += features.length + 1;
  }
  return lines;
}

function workloads(csv: string, quick: boolean): Workload[] {
  const [first] = featureLines(csv, 1000);
  const firstRow = first.split(',').map(Number);
  const batch = (mib: number): Workload => {
    const lines = featureLines(csv, mib * MIB);
    return {
      name: `CSV, ${mib} MiB (${num(lines.length)} rows)`,
      batch: true,
      request: csvRequest(`${lines.join('\n')}\n`),
      rows: lines.map((l) => l.split(',').map(Number)),
      connections: quick ? [2] : [2, 4],
    };
  };
  return [
    { name: 'CSV, 1 row', batch: false, request: csvRequest(`${first}\n`), rows: [firstRow], connections: [1, 16, 64] },
    {
      name: 'JSON, 1 row',
      batch: false,
      request: { contentType: 'application/json', accept: 'application/json', body: Buffer.from(JSON.stringify({ instances: [firstRow] })) },
      rows: [firstRow],
      connections: [1, 16, 64],
    },
    batch(1),
    batch(6),
  ];
}

/** Both servers answer CSV with one number a line and JSON with {"predictions": [{"score"}]}. */
function predictions(request: LoadRequest, body: string): number[] {
  if (request.accept === 'text/csv') return body.trim().split('\n').map(Number);
  return (JSON.parse(body) as { predictions: { score: number }[] }).predictions.map((p) => p.score);
}

/** Every workload once, checked against the model's own arithmetic, before anything is timed. */
async function verify(name: string, server: Server, model: TrainedModel, list: Workload[]): Promise<void> {
  for (const w of list) {
    const response = await fetch(`${server.url}/invocations`, {
      method: 'POST',
      headers: { 'content-type': w.request.contentType, accept: w.request.accept },
      body: w.request.body,
    });
    const text = await response.text();
    if (!response.ok) throw new Error(`${name} answered ${response.status} to ${w.name}: ${text.slice(0, 200)}`);
    const expected = w.rows.map((row) => row.reduce((sum, x, j) => sum + model.beta[j + 1] * x, model.beta[0]));
    const difference = relativeDifference(predictions(w.request, text), expected);
    if (!(difference <= AGREEMENT_TOLERANCE)) throw new Error(`${name}'s predictions for ${w.name} are off by ${difference} (relative)`);
  }
}

async function loadServer(bench: Bench, name: string, server: Server, list: Workload[]): Promise<LoadResult[]> {
  const seconds = loadSeconds(bench.quick);
  // A JIT and connection warm-up that is not measured.
  await load(server.url, list[0].request, 16, 1);
  const results: LoadResult[] = [];
  for (const w of list) {
    for (const c of w.connections) {
      const r = await load(server.url, w.request, c, seconds);
      const shown = w.batch ? `${num(r.megabytesPerSecond)} MB/s` : `${num(r.requestsPerSecond)} req/s`;
      bench.log(`serve ${name} ${w.name} c=${c}: ${shown}, p50 ${num(r.p50Ms)} ms, p99 ${num(r.p99Ms)} ms${r.failures ? `, ${r.failures} failures` : ''}`);
      results.push(r);
    }
  }
  return results;
}

async function withServer<T>(start: () => Promise<Server>, use: (server: Server) => Promise<T>): Promise<T> {
  const server = await start();
  try {
    return await use(server);
  } finally {
    await server.stop();
  }
}

async function flaskModel(bench: Bench, csv: string): Promise<string> {
  const pickle = path.join(OUT_DIR, 'serve-sklearn.pkl');
  await pythonJson(bench.python, 'train_sklearn.py', [csv, pickle]);
  return pickle;
}

async function flaskLoads(bench: Bench, csvFile: string, model: TrainedModel, list: Workload[]): Promise<Outcome<LoadResult[]>> {
  const interpreter = bench.python.python;
  const missing = bench.python.missing('flask', 'gunicorn', 'scikit-learn', 'pandas');
  if (missing !== null || interpreter === null) return skip(missing ?? 'no Python venv');
  return attempt(null, async () => {
    const pickle = await flaskModel(bench, csvFile);
    return withServer(() => startFlask(interpreter, pickle), async (server) => {
      await verify('flask', server, model, list);
      return loadServer(bench, 'flask', server, list);
    });
  });
}

const rate = (batch: boolean, r: LoadResult) => (batch ? r.megabytesPerSecond : r.requestsPerSecond);

function tableRow(row: ServingRow): string[] {
  const unit = row.batch ? 'MB/s' : 'req/s';
  const flask = valueOf(row.flask);
  return [
    row.workload,
    String(row.connections),
    `${num(rate(row.batch, row.ours))} ${unit}`,
    num(row.ours.p50Ms),
    num(row.ours.p99Ms),
    cell(row.flask, (f) => `${num(rate(row.batch, f))} ${unit}`),
    detail(row.flask, (f) => num(f.p50Ms)),
    detail(row.flask, (f) => num(f.p99Ms)),
    factor(rate(row.batch, row.ours), flask && rate(row.batch, flask)),
    `${row.ours.failures} / ${detail(row.flask, (f) => String(f.failures))}`,
  ];
}

function servingTable(rows: ServingRow[], seconds: number): Table {
  return {
    title: 'Serving (POST /invocations, p=10 model)',
    columns: ['request', 'connections', 'ours', 'ours p50 ms', 'ours p99 ms', 'flask+sklearn', 'flask p50 ms', 'flask p99 ms', 'vs flask', 'failures ours / flask'],
    rows: rows.map(tableRow),
    notes: [
      `- autocannon (in the bench's own process, on the same ${os.availableParallelism()} cores as the server) for ${seconds} s per row after a 1 s warm-up; latencies of every 2xx response, nearest-rank percentiles.`,
      '- CSV requests accept text/csv (one prediction a line); JSON requests send {"instances": [[...]]} and accept application/json. Batch bodies are feature rows of the training CSV; MB/s counts request body bytes (1 MB = 10^6 bytes).',
      `- ours: \`node dist/main.js serve\` with its default workers, one per core (${os.availableParallelism()} here). flask+sklearn: bench/python/flask_server.py, the AWS bring-your-own pattern (pandas.read_csv of the body, \`model.predict\`), gunicorn with 2 sync workers, which close the connection after every response.`,
      '- Both servers\' answers were checked against the model before timing. vs flask: our rate / its rate.',
    ],
  };
}

/** One row of the every-core table. */
export interface ScalingRow {
  server: 'bare node:http' | 'ours';
  workers: number;
  /** How connections reach the workers (the mechanism ours chose); '–' for one process. */
  balancing: string;
  /** taskset lists; 'any' when not pinned. */
  serverCpus: string;
  loadCpus: string;
  connections: number;
  result: LoadResult;
  /** CPU seconds the server's processes used during the run. */
  serverCpuSeconds: number | null;
}

interface ScalingCase {
  server: ScalingRow['server'];
  workers: number;
  connections: number;
  serverCpus?: string;
  loadCpus?: string;
}

/** What ours says it does with several workers: 'cluster' or 'reusePort' (its start line). */
function balancingOf(logs: string): string {
  const match = /\d+ workers \((node:cluster|SO_REUSEPORT)/.exec(logs);
  if (!match) throw new Error(`the start line of ours names no balancing:\n${logs.slice(-2000)}`);
  return match[1] === 'SO_REUSEPORT' ? 'reusePort' : 'cluster';
}

/**
 * The cases: ceiling and ours at 64 connections with one worker and with all;
 * as many connections as workers (a front end keeping few connections open);
 * and, with taskset, the server on one core then two, with the load generator
 * on the cores left (on 2 cores there are none left: it shares one).
 */
function scalingCases(cores: number): ScalingCase[] {
  const cases: ScalingCase[] = [];
  for (const workers of cores > 1 ? [1, cores] : [1]) {
    cases.push({ server: 'bare node:http', workers, connections: 64 }, { server: 'ours', workers, connections: 64 });
  }
  if (cores > 1) {
    cases.push(
      { server: 'bare node:http', workers: cores, connections: cores },
      { server: 'ours', workers: cores, connections: cores },
      { server: 'ours', workers: 1, connections: cores },
    );
  }
  if (hasTaskset && cores > 1) {
    const load = cores >= 4 ? `2-${cores - 1}` : String(cores - 1);
    cases.push(
      { server: 'bare node:http', workers: 1, connections: 64, serverCpus: '0', loadCpus: load },
      { server: 'ours', workers: 1, connections: 64, serverCpus: '0', loadCpus: load },
      { server: 'ours', workers: 2, connections: 64, serverCpus: '0,1', loadCpus: load },
    );
  }
  return cases;
}

async function measureCase(bench: Bench, root: string, request: LoadRequest, balancing: string, c: ScalingCase): Promise<ScalingRow> {
  const placement: Placement = { workers: c.workers, cpus: c.serverCpus };
  const start = () => (c.server === 'ours' ? startOurs(root, placement) : startBare(c.workers, balancing, c.serverCpus));
  const seconds = loadSeconds(bench.quick);
  return withServer(start, async (server) => {
    const measure = async () => {
      await load(server.url, request, c.connections, 1);
      const before = server.cpuSeconds();
      const result = await load(server.url, request, c.connections, seconds);
      const after = server.cpuSeconds();
      return { result, serverCpuSeconds: before === null || after === null ? null : after - before };
    };
    const { result, serverCpuSeconds } = c.loadCpus === undefined ? await measure() : await pinnedTo(c.loadCpus, measure);
    const row: ScalingRow = {
      server: c.server,
      workers: c.workers,
      balancing: c.workers > 1 ? balancing : '–',
      serverCpus: c.serverCpus ?? 'any',
      loadCpus: c.loadCpus ?? 'any',
      connections: c.connections,
      result,
      serverCpuSeconds,
    };
    bench.log(
      `serve ${c.server} ${c.workers} worker(s) on CPUs ${row.serverCpus}, load on ${row.loadCpus}, c=${c.connections}: ` +
        `${num(result.requestsPerSecond)} req/s, p99 ${num(result.p99Ms)} ms, server ${num(cpuPerRequest(serverCpuSeconds, result))} µs CPU/req, load ${num(cpuPerRequest(result.loadCpuSeconds, result))} µs CPU/req`,
    );
    return row;
  });
}

/** CPU microseconds per answered request. */
function cpuPerRequest(cpuSeconds: number | null, r: LoadResult): number | null {
  return cpuSeconds === null || r.requests === 0 ? null : (cpuSeconds * 1e6) / r.requests;
}

const sameSetup = (a: ScalingRow, b: ScalingRow) => a.workers === b.workers && a.connections === b.connections && a.serverCpus === b.serverCpus && a.loadCpus === b.loadCpus;

function scalingTable(rows: ScalingRow[], cores: number, seconds: number): Table {
  const bare = (row: ScalingRow) => rows.find((r) => r.server === 'bare node:http' && sameSetup(r, row));
  const busy = (r: ScalingRow) => (r.serverCpuSeconds === null ? null : (r.serverCpuSeconds + r.result.loadCpuSeconds) / r.result.seconds);
  const pinned = rows.filter((r) => r.server === 'ours' && r.serverCpus !== 'any');
  const [oneCore, twoCores] = [pinned.find((r) => r.workers === 1), pinned.find((r) => r.workers === 2)];
  const at64 = (server: ScalingRow['server'], workers: number) =>
    rows.find((r) => r.server === server && r.workers === workers && r.connections === 64 && r.serverCpus === 'any');
  const oursAt64 = (workers: number) => at64('ours', workers);
  const scaling = (a?: ScalingRow, b?: ScalingRow) => factor(b?.result.requestsPerSecond, a?.result.requestsPerSecond);
  return {
    title: `Serving on every core (single-row CSV, p=10 model, ${cores} cores)`,
    columns: ['server', 'workers', 'balancing', 'server CPUs', 'load CPUs', 'connections', 'req/s', 'p99 ms', 'vs bare', 'server µs CPU/req', 'load µs CPU/req', 'cores busy'],
    rows: rows.map((r) => {
      const ceiling = r.server === 'ours' ? bare(r) : undefined;
      return [
        r.server,
        String(r.workers),
        r.balancing,
        r.serverCpus,
        r.loadCpus,
        String(r.connections),
        num(r.result.requestsPerSecond),
        num(r.result.p99Ms),
        ceiling ? factor(r.result.requestsPerSecond, ceiling.result.requestsPerSecond) : '–',
        num(cpuPerRequest(r.serverCpuSeconds, r.result)),
        num(cpuPerRequest(r.result.loadCpuSeconds, r.result)),
        num(busy(r)),
      ];
    }),
    notes: [
      `- Same request as "CSV, 1 row" above; ${seconds} s per row after a 1 s warm-up, a fresh server per row. bare node:http (bench/bare-http.ts) reads each body and answers a fixed one, with the same worker count and balancing as ours.`,
      '- server/load CPUs: taskset lists (any = not pinned); the load generator is autocannon in the bench process. µs CPU/req: CPU time of the server\'s processes (from /proc) or of the bench process, over the requests answered. cores busy: both together, over the wall time.',
      `- ${cores} workers / 1 worker at 64 connections, unpinned: ours ${scaling(oursAt64(1), oursAt64(cores))}, bare node:http ${scaling(at64('bare node:http', 1), at64('bare node:http', cores))}` +
        (oneCore && twoCores ? `; server on CPUs ${twoCores.serverCpus} / CPU ${oneCore.serverCpus} with the load generator on CPU ${oneCore.loadCpus}: ${scaling(oneCore, twoCores)}.` : '.') +
        (cores <= 2 ? ' With 2 cores the load generator has no core of its own once the server has both: the rate is bound by the CPU both need per request (server + load µs CPU/req).' : ''),
    ],
  };
}

async function runScaling(bench: Bench, root: string, request: LoadRequest): Promise<ScalingRow[]> {
  const cores = os.availableParallelism();
  // Ours decides how connections reach its workers; the ceiling is measured the same way.
  const balancing = cores > 1 ? await withServer(() => startOurs(root, { workers: 2 }), async (server) => balancingOf(server.logs())) : '–';
  const rows: ScalingRow[] = [];
  for (const c of scalingCases(cores)) rows.push(await measureCase(bench, root, request, balancing, c));
  return rows;
}

export async function runServing(bench: Bench): Promise<ServingResults> {
  const csvFile = await trainingCsv(FEATURES, 10);
  const root = await mlTree('serve-p10', csvFile);
  await trainWithCli(root);
  const model = await readModel(root);
  const list = workloads(await readFile(csvFile, 'utf8'), bench.quick);

  const ours = await withServer(() => startOurs(root), async (server) => {
    await verify('ours', server, model, list);
    return loadServer(bench, 'ours', server, list);
  });
  const flask = await flaskLoads(bench, csvFile, model, list);

  const cases = list.flatMap((w) => w.connections.map((connections) => ({ w, connections })));
  const rows = cases.map(({ w, connections }, i): ServingRow => ({
    workload: w.name,
    batch: w.batch,
    connections,
    ours: ours[i],
    flask: flask.ok ? { ok: true, value: flask.value[i] } : flask,
  }));
  const scaling = await runScaling(bench, root, list[0].request);
  return { table: servingTable(rows, loadSeconds(bench.quick)), rows, cores: scalingTable(scaling, os.availableParallelism(), loadSeconds(bench.quick)), scaling };
}
