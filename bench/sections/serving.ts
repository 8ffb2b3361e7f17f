/**
 * Serving: `linear serve` on a p=10 model and the Flask + scikit-learn peer on
 * a model fitted to the same CSV, under the same autocannon loads: single-row
 * CSV and JSON requests at several concurrencies, then batch CSV bodies.
 */
import { readFile } from 'node:fs/promises';
import * as path from 'node:path';
import { relativeDifference } from '../lib/accuracy';
import type { Bench } from '../lib/context';
import { trainingCsv } from '../lib/data';
import { factor, num, type Table } from '../lib/format';
import { load, type LoadRequest, type LoadResult } from '../lib/load';
import { mlTree, readModel, trainWithCli, type TrainedModel } from '../lib/ml-tree';
import { attempt, cell, detail, skip, valueOf, type Outcome } from '../lib/outcome';
import { OUT_DIR } from '../lib/paths';
import { pythonJson } from '../lib/python';
import { startFlask, startOurs, type Server } from '../lib/servers';

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
      `- autocannon (in the bench's own process, on the same 2 cores as the server) for ${seconds} s per row after a 1 s warm-up; latencies of every 2xx response, nearest-rank percentiles.`,
      '- CSV requests accept text/csv (one prediction a line); JSON requests send {"instances": [[...]]} and accept application/json. Batch bodies are feature rows of the training CSV; MB/s counts request body bytes (1 MB = 10^6 bytes).',
      '- ours: `node dist/main.js serve` (one process). flask+sklearn: bench/python/flask_server.py, the AWS bring-your-own pattern (pandas.read_csv of the body, `model.predict`), gunicorn with 2 sync workers, which close the connection after every response.',
      '- Both servers\' answers were checked against the model before timing. vs flask: our rate / its rate.',
    ],
  };
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
  return { table: servingTable(rows, loadSeconds(bench.quick)), rows };
}
