/**
 * In-memory fit through the library API: our `fit` on a Float64Array against
 * numpy's lstsq and normal equations on the very same matrix (read from the
 * same binary files), each timed and each judged against our double-double
 * `fit(..., { extended: true })`.
 */
import { relativeDifference } from '../lib/accuracy';
import type { Bench } from '../lib/context';
import { matrixFiles, matrixName, type MatrixSpec } from '../lib/data';
import { err, num, ratio, type Table } from '../lib/format';
import { attempt, cell, detail, valueOf, type Outcome } from '../lib/outcome';
import { tsNodeArgs } from '../lib/paths';
import { run } from '../lib/processes';
import { pythonJson } from '../lib/python';

/** p=100 stays well-conditioned in both modes: it is the row the in-memory target is judged on. */
const QUICK_SPECS: MatrixSpec[] = [
  { n: 1e5, p: 10, kind: 'correlated', seed: 2 },
  { n: 1e5, p: 100, kind: 'independent', seed: 1 },
];
const FULL_SPECS: MatrixSpec[] = [
  { n: 1e6, p: 10, kind: 'independent', seed: 1 },
  { n: 1e6, p: 100, kind: 'independent', seed: 1 },
  { n: 1e5, p: 200, kind: 'correlated', seed: 2 },
  { n: 1e7, p: 10, kind: 'independent', seed: 1 },
];

interface OursJson {
  seconds: number;
  precision: string;
  conditionNumber: number;
  beta: number[];
  extendedSeconds: number;
  reference: number[];
}

interface Solve {
  seconds: number;
  beta: number[];
}

interface NumpyJson {
  lstsq: Solve;
  normal: Solve;
}

export interface InMemoryRow {
  spec: MatrixSpec;
  ours: OursJson;
  numpy: Outcome<NumpyJson>;
}

export interface InMemoryResults {
  table: Table;
  rows: InMemoryRow[];
}

/** Flops of one solve by the QR convention, 2·n·k² with k = p + 1 columns (intercept included), for every method alike. */
const flops = (spec: MatrixSpec) => 2 * spec.n * (spec.p + 1) ** 2;
const gflops = (spec: MatrixSpec, seconds: number) => flops(spec) / seconds / 1e9;

async function measureSpec(bench: Bench, spec: MatrixSpec): Promise<InMemoryRow> {
  const files = await matrixFiles(spec);
  const { stdout } = await run(process.execPath, tsNodeArgs('fit-matrix.ts', files.x, files.y, String(spec.p)));
  const ours = JSON.parse(stdout) as OursJson;
  const numpy = await attempt(bench.python.missing('numpy'), () =>
    pythonJson<NumpyJson>(bench.python, 'fit_matrix.py', [files.x, files.y, String(spec.n), String(spec.p)]),
  );
  const lstsq = valueOf(numpy)?.lstsq;
  bench.log(
    `fit ${matrixName(spec)}: ours ${num(ours.seconds)} s (${ours.precision}, error ${err(relativeDifference(ours.beta, ours.reference))})` +
      (lstsq ? `, numpy lstsq ${num(lstsq.seconds)} s (error ${err(relativeDifference(lstsq.beta, ours.reference))})` : ''),
  );
  return { spec, ours, numpy };
}

/** The skip reason, if any, goes in the first numpy cell only. */
function solveCells(row: InMemoryRow, solve: (n: NumpyJson) => Solve, first: boolean): string[] {
  return [
    (first ? cell : detail)(row.numpy, (n) => num(solve(n).seconds)),
    detail(row.numpy, (n) => num(gflops(row.spec, solve(n).seconds))),
    detail(row.numpy, (n) => err(relativeDifference(solve(n).beta, row.ours.reference))),
  ];
}

function tableRow(row: InMemoryRow): string[] {
  const { spec, ours } = row;
  const numpy = valueOf(row.numpy);
  return [
    num(spec.n),
    String(spec.p),
    spec.kind,
    num(ours.conditionNumber),
    num(ours.seconds),
    num(gflops(spec, ours.seconds)),
    err(relativeDifference(ours.beta, ours.reference)),
    ours.precision,
    ...solveCells(row, (n) => n.lstsq, true),
    ...solveCells(row, (n) => n.normal, false),
    ratio(numpy?.lstsq.seconds, ours.seconds),
    ratio(numpy?.normal.seconds, ours.seconds),
    num(ours.extendedSeconds),
  ];
}

function inMemoryTable(rows: InMemoryRow[]): Table {
  return {
    title: 'In-memory fit (library `fit` on a Float64Array vs numpy on the same matrix)',
    columns: [
      'n', 'p', 'data', 'κ', 'ours s', 'ours GFLOP/s', 'ours error', 'ours precision',
      'lstsq s', 'lstsq GFLOP/s', 'lstsq error', 'normal eq s', 'normal eq GFLOP/s', 'normal eq error',
      'vs lstsq', 'vs normal eq', 'ours extended s',
    ],
    rows: rows.map(tableRow),
    notes: [
      '- Every fit has an intercept: ours through `fitIntercept` (default), numpy through a column of ones prepended to X (not timed).',
      '- Time: the solve alone, best of up to 3 runs within about 2 s (a solve longer than that runs once). ours: `await fit(x, y, p)` from a fresh node process; lstsq: `np.linalg.lstsq(X1, y, rcond=None)`; normal eq: `np.linalg.solve(X1.T @ X1, X1.T @ y)` (forming the Gram matrix included).',
      '- GFLOP/s: 2·n·(p+1)² flops per solve for every method (the QR convention), so it is a speed scale, not the flops each method executes.',
      '- error: max |β − β_ref| / max |β_ref| over intercept and slopes, where β_ref is ours with `extended: true` (double-double, ~32 digits); 0 means equal to the last bit.',
      '- κ: 2-norm condition number of the design with its intercept column, as our fit reports it. "correlated": every column is a shared factor plus 1e-3 of its own noise.',
      '- ours precision: what the default path used (`double`, or `extended` when its error estimate asked for it). ours extended s: the reference fit\'s time.',
    ],
  };
}

export async function runInMemory(bench: Bench): Promise<InMemoryResults> {
  const specs = bench.quick ? QUICK_SPECS : FULL_SPECS;
  const rows: InMemoryRow[] = [];
  for (const spec of specs) rows.push(await measureSpec(bench, spec));
  return { table: inMemoryTable(rows), rows };
}
