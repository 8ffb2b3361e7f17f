/**
 * Wide data: hundreds to thousands of features with n = 2p and n = 50p rows
 * (and the issue's p = 800, n = 900 and p = 2,000, n = 2,100), `linear train`
 * end to end next to numpy's lstsq and scikit-learn's LinearRegression on the
 * same data (their read excluded), with each one's largest coefficient error
 * against an extended-precision reference (bench/python/wide_fit.py). Time
 * per (n·p² + p³) shows how the cost grows; CPU % whether both cores work.
 */
import * as path from 'node:path';
import type { Bench } from '../lib/context';
import { fileBytes, MB, wideCsv } from '../lib/data';
import { err, num, type Table } from '../lib/format';
import { mlTree, trainWithCli } from '../lib/ml-tree';
import { attempt, cell, detail, skip, valueOf, type Outcome } from '../lib/outcome';
import type { MeasuredResult } from '../lib/processes';
import { pythonJson } from '../lib/python';

interface WideCase {
  features: number;
  rows: number;
}

/** The most features a channel may have (4,096 columns with the label). */
const MAX_FEATURES = 4095;

const QUICK_CASES: WideCase[] = [
  { features: 100, rows: 200 },
  { features: 500, rows: 1000 },
  { features: 800, rows: 900 },
];
const FULL_CASES: WideCase[] = [
  ...[100, 500, 1000, 2000, MAX_FEATURES].flatMap((features) => [2, 50].map((perFeature) => ({ features, rows: perFeature * features }))),
  { features: 800, rows: 900 },
  { features: 2000, rows: 2100 },
].sort((a, b) => a.features - b.features || a.rows - b.rows);

/** Why a case is not run; null when it is. */
function tooLarge(c: WideCase): string | null {
  // 205k x 4,096: a 2.9 GB CSV, 6.7 GB as float64; the peers and the reference hold several copies.
  return c.features * c.rows > 400e6 ? `${num((c.features * c.rows * 8) / 1e9)} GB as float64; the peers and the reference need several copies, beyond this machine's memory` : null;
}

interface PeersJson {
  lstsqSeconds: number;
  sklearnSeconds: number;
  errors: { ours: number; lstsq: number; sklearn: number };
  kernel: string;
}

export interface WideRow extends WideCase {
  bytes: number;
  ours: Outcome<MeasuredResult>;
  peers: Outcome<PeersJson>;
}

export interface WideResults {
  table: Table;
  rows: WideRow[];
}

/** n·p² + p³ with k = p + 2 columns (intercept and label): the work the fit cannot avoid. */
export function wideWork(c: WideCase): number {
  const k = c.features + 2;
  return c.rows * k * k + k * k * k;
}

async function runCase(bench: Bench, c: WideCase): Promise<WideRow> {
  const python = bench.python.python;
  const reason = tooLarge(c);
  if (python === null || reason !== null) {
    const why = reason ?? 'no Python venv to write the data';
    return { ...c, bytes: 0, ours: skip(why), peers: skip(why) };
  }
  const csv = await wideCsv(python, c.features, c.rows);
  const root = await mlTree(`wide-p${c.features}-n${c.rows}`, csv);
  const ours = await attempt(null, () => trainWithCli(root));
  const peers: Outcome<PeersJson> = ours.ok
    ? await attempt(bench.python.missing('numpy', 'pandas', 'scikit-learn'), () =>
        pythonJson<PeersJson>(bench.python, 'wide_fit.py', ['peers', csv, path.join(root, 'model', 'model.json')]),
      )
    : skip('linear train failed');
  bench.log(`wide p=${c.features} n=${c.rows}: ours ${cell(ours, (m) => `${num(m.wallS)} s`)}, lstsq ${cell(peers, (p) => `${num(p.lstsqSeconds)} s`)}`);
  return { ...c, bytes: await fileBytes(csv), ours, peers };
}

export async function runWide(bench: Bench): Promise<WideResults> {
  const rows: WideRow[] = [];
  for (const c of bench.quick ? QUICK_CASES : FULL_CASES) rows.push(await runCase(bench, c));
  const kernel = rows.map((r) => valueOf(r.peers)?.kernel).find((k) => k !== undefined);
  return {
    rows,
    table: {
      title: 'Wide data (end to end; the peers from an array in memory)',
      columns: [
        'p',
        'n',
        'CSV MB',
        'linear train s',
        'CPU %',
        'peak RSS MB',
        'numpy lstsq s',
        'sklearn s',
        'ours / lstsq',
        'ns per (n·k² + k³)',
        'error ours',
        'error lstsq',
        'error sklearn',
      ],
      rows: rows.map((r) => [
        r.features.toLocaleString('en-US'),
        r.rows.toLocaleString('en-US'),
        r.bytes > 0 ? num(r.bytes / MB) : '–',
        cell(r.ours, (m) => num(m.wallS)),
        detail(r.ours, (m) => num(m.cpuPercent)),
        detail(r.ours, (m) => num(m.peakRssMb)),
        cell(r.peers, (p) => num(p.lstsqSeconds)),
        detail(r.peers, (p) => num(p.sklearnSeconds)),
        detail(r.peers, (p) => (r.ours.ok ? `${num(r.ours.value.wallS / p.lstsqSeconds)}x` : '–')),
        detail(r.ours, (m) => num((m.wallS * 1e9) / wideWork(r))),
        detail(r.peers, (p) => err(p.errors.ours)),
        detail(r.peers, (p) => err(p.errors.lstsq)),
        detail(r.peers, (p) => err(p.errors.sklearn)),
      ]),
      notes: [
        '- Data: random integers in [-50, 50], y = Σ ((j mod 7) − 3)·x_j + noise with one decimal; k = p + 2 (intercept, label).',
        '- linear train: the whole process (start-up, reading the CSV, fit, model.json and the report). numpy lstsq (with a column of ones) and scikit-learn LinearRegression: the fit alone, from arrays already in memory.',
        '- Error: largest |b − b_ref| over the largest |b_ref|, intercept included, against a reference from numpy QR refined three times with residuals and the solution in long double (x87, 64-bit significand).',
        `- numpy's BLAS, with OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE unset: ${kernel ?? 'not measured'}.`,
      ],
    },
  };
}
