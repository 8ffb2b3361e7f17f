/**
 * Training end to end: `linear train` through the real CLI on generated CSVs,
 * next to `wc -l`, pandas + scikit-learn (and numpy lstsq on the same array),
 * polars/pyarrow's multi-threaded readers and ml-regression-multivariate-linear,
 * all on the same page-cached file in the same run.
 */
import * as path from 'node:path';
import { relativeDifference } from '../lib/accuracy';
import type { Bench } from '../lib/context';
import { fileBytes, MB, sizeLabel, trainingCsv } from '../lib/data';
import { num, ratio, err, type Table } from '../lib/format';
import { mlTree, readModel, trainWithCli } from '../lib/ml-tree';
import { attempt, cell, detail, skip, valueOf, type Outcome } from '../lib/outcome';
import { DATA_DIR, tsNodeArgs } from '../lib/paths';
import { measure, rssMethod, run } from '../lib/processes';
import { pythonJson } from '../lib/python';

interface Case {
  features: number;
  megabytes: number;
}

const QUICK_CASES: Case[] = [
  { features: 10, megabytes: 10 },
  { features: 10, megabytes: 100 },
];
const FULL_CASES: Case[] = [
  ...[1, 10, 100].flatMap((features) => [10, 100, 1000].map((megabytes) => ({ features, megabytes }))),
  { features: 10, megabytes: 2000 },
  { features: 10, megabytes: 4000 },
];

/** mljs holds the whole text, then number[][] (RSS ~17x the file): larger files would only measure swapping or an OOM. */
const MLJS_MAX_MB = 100;
/** pandas + scikit-learn peak at ~5x the file (then lstsq copies it again): 4 GB would not fit in 24 GiB. */
const PANDAS_MAX_MB = 2000;
/** Small files are timed best of 3; a 1 GB run is long enough to be stable once. */
const REPEAT_MAX_MB = 100;
const AGREEMENT_TOLERANCE = 1e-6;

interface SklearnJson {
  rows: number;
  readSeconds: number;
  fitSeconds: number;
  peakRssMb: number;
  lstsqSeconds: number;
  sklearn: number[];
  lstsq: number[];
}

interface MljsJson {
  rows: number;
  readSeconds: number;
  fitSeconds: number;
  coefficients: number[];
}

interface Mljs {
  seconds: number;
  peakRssMb: number | null;
  beta: number[];
}

interface Ours {
  seconds: number;
  peakRssMb: number | null;
  rows: number;
  beta: number[];
}

export interface TrainingRow {
  features: number;
  megabytes: number;
  bytes: number;
  ours: Ours;
  wc: Outcome<number>;
  sklearn: Outcome<SklearnJson>;
  polars: Outcome<number>;
  pyarrow: Outcome<number>;
  mljs: Outcome<Mljs>;
}

export interface TrainingResults {
  table: Table;
  rows: TrainingRow[];
}

const caseName = (c: Case) => `p${c.features}-${c.megabytes}MB`;

async function ours(c: Case, csv: string, repeats: number): Promise<Ours> {
  const root = await mlTree(caseName(c), csv);
  let best: Ours | undefined;
  for (let i = 0; i < repeats; i++) {
    const measured = await trainWithCli(root);
    if (!best || measured.wallS < best.seconds) best = { seconds: measured.wallS, peakRssMb: measured.peakRssMb, ...(await readModel(root)) };
  }
  if (!best) throw new Error('at least one training run is needed');
  return best;
}

/** The first read page-caches the file, so every tool after it reads from memory. */
async function wcLines(csv: string): Promise<number> {
  await run('wc', ['-l', csv]);
  const times: number[] = [];
  for (let i = 0; i < 3; i++) times.push((await run('wc', ['-l', csv])).wallS);
  return Math.min(...times);
}

function sklearn(bench: Bench, c: Case, csv: string): Promise<Outcome<SklearnJson>> {
  if (c.megabytes > PANDAS_MAX_MB) return Promise.resolve(skip(`> ${sizeLabel(PANDAS_MAX_MB)}`));
  return attempt(bench.python.missing('numpy', 'pandas', 'scikit-learn'), () => pythonJson<SklearnJson>(bench.python, 'train_sklearn.py', [csv]));
}

const READERS = ['polars', 'pyarrow'] as const;
type Reader = (typeof READERS)[number];
type ReadTimes = Partial<Record<Reader, { seconds: number }>>;

/** Both readers in one Python process; each is skipped on its own when it did not install. */
async function fastReaders(bench: Bench, csv: string, columns: number): Promise<Record<Reader, Outcome<number>>> {
  const available = READERS.filter((r) => bench.python.missing(r) === null);
  const read = await attempt(available.length === 0 ? 'neither polars nor pyarrow installed' : null, () =>
    pythonJson<ReadTimes>(bench.python, 'read_csv_fast.py', [csv, String(columns), ...available]),
  );
  const outcome = (reader: Reader): Outcome<number> => {
    const missing = bench.python.missing(reader);
    if (missing !== null) return skip(missing);
    if (!read.ok) return read;
    const time = read.value[reader];
    return time ? { ok: true, value: time.seconds } : skip('no result');
  };
  return { polars: outcome('polars'), pyarrow: outcome('pyarrow') };
}

async function mljs(c: Case, csv: string): Promise<Outcome<Mljs>> {
  if (c.megabytes > MLJS_MAX_MB) return skip(`> ${MLJS_MAX_MB} MB`);
  return attempt(null, async () => {
    // The default heap limit is below what a 100 MB file needs as number[][].
    const measured = await measure(process.execPath, ['--max-old-space-size=16384', ...tsNodeArgs('mljs-train.ts', csv)]);
    const result = JSON.parse(measured.stdout) as MljsJson;
    return { seconds: result.readSeconds + result.fitSeconds, peakRssMb: measured.peakRssMb, beta: result.coefficients };
  });
}

/**
 * Before anything is timed: our coefficients must match scikit-learn's (or
 * mljs's where Python is missing) on the smallest file of each width.
 */
async function checkAgreement(bench: Bench, c: Case, csv: string): Promise<void> {
  const mine = await ours(c, csv, 1);
  const reference = await sklearn(bench, c, csv);
  const mlPeer = await mljs(c, csv);
  const peers: [string, number[] | undefined][] = [
    ['scikit-learn', valueOf(reference)?.sklearn],
    ['numpy lstsq', valueOf(reference)?.lstsq],
    ['mljs', valueOf(mlPeer)?.beta],
  ];
  const differences = peers.filter((p): p is [string, number[]] => p[1] !== undefined).map(([name, beta]) => [name, relativeDifference(mine.beta, beta)] as const);
  bench.log(`agreement p=${c.features} ${sizeLabel(c.megabytes)}: max relative difference of ours vs ${differences.map(([n, d]) => `${n} ${err(d)}`).join(', ') || 'no peer (none available)'}`);
  const judged = differences[0];
  // Written as !(d <= tol) so that a NaN difference fails too.
  if (judged && !(judged[1] <= AGREEMENT_TOLERANCE)) {
    throw new Error(`ours and ${judged[0]} disagree on ${path.basename(csv)}: max relative difference ${err(judged[1])} > ${AGREEMENT_TOLERANCE}; not timing a wrong answer`);
  }
}

async function measureCase(bench: Bench, c: Case, csv: string): Promise<TrainingRow> {
  const wc = await attempt(null, () => wcLines(csv));
  const row: TrainingRow = {
    features: c.features,
    megabytes: c.megabytes,
    bytes: await fileBytes(csv),
    wc,
    ours: await ours(c, csv, c.megabytes <= REPEAT_MAX_MB ? 3 : 1),
    sklearn: await sklearn(bench, c, csv),
    mljs: await mljs(c, csv),
    ...(await fastReaders(bench, csv, c.features + 1)),
  };
  bench.log(
    `train p=${c.features} ${sizeLabel(c.megabytes)}: ours ${num(row.ours.seconds)} s (${num(row.bytes / MB / row.ours.seconds)} MB/s, ${num(row.ours.peakRssMb)} MB RSS)` +
      `, pandas+sklearn ${cell(row.sklearn, (s) => `${num(s.readSeconds + s.fitSeconds)} s`)}, mljs ${cell(row.mljs, (m) => `${num(m.seconds)} s`)}`,
  );
  return row;
}

const sklearnSeconds = (s: SklearnJson) => s.readSeconds + s.fitSeconds;

function tableRow(r: TrainingRow): string[] {
  const mb = r.bytes / MB;
  const sk = valueOf(r.sklearn);
  return [
    String(r.features),
    sizeLabel(r.megabytes),
    num(r.ours.rows),
    num(r.ours.seconds),
    num(mb / r.ours.seconds),
    num(r.ours.rows / r.ours.seconds),
    num(r.ours.peakRssMb),
    cell(r.wc, num),
    cell(r.sklearn, (s) => num(sklearnSeconds(s))),
    detail(r.sklearn, (s) => num(s.peakRssMb)),
    detail(r.sklearn, (s) => num(s.lstsqSeconds)),
    cell(r.polars, num),
    cell(r.pyarrow, num),
    cell(r.mljs, (m) => num(m.seconds)),
    detail(r.mljs, (m) => num(m.peakRssMb)),
    ratio(valueOf(r.wc), r.ours.seconds),
    ratio(sk && sklearnSeconds(sk), r.ours.seconds),
    ratio(valueOf(r.mljs)?.seconds, r.ours.seconds),
    detail(r.sklearn, (s) => err(relativeDifference(r.ours.beta, s.sklearn))),
  ];
}

function trainingTable(rows: TrainingRow[]): Table {
  return {
    title: 'Training end to end (`linear train` on a CSV, label first)',
    columns: [
      'p', 'size', 'rows', 'ours s', 'ours MB/s', 'ours rows/s', 'ours RSS MB',
      'wc -l s', 'pandas+sklearn s', 'its RSS MB', 'numpy lstsq s', 'polars read s', 'pyarrow read s', 'mljs s', 'mljs RSS MB',
      'vs wc -l', 'vs pandas+sklearn', 'vs mljs', 'Δ vs sklearn',
    ],
    rows: rows.map(tableRow),
    notes: [
      '- MB = 10^6 bytes. Files are page-cached (read by `wc -l` first); files over 64 MB repeat one generated 64 MB block.',
      `- ours: wall time of the whole \`node dist/main.js train\` process (start-up, parse, fit, statistics, model.json), peak RSS by ${rssMethod()}; best of 3 up to ${REPEAT_MAX_MB} MB, one run above.`,
      '- Peers are timed inside their process (read + fit, no interpreter start-up or imports), which favours them.',
      `- pandas+sklearn: \`pd.read_csv(header=None)\` + \`LinearRegression().fit\`, skipped above ${sizeLabel(PANDAS_MAX_MB)} (it peaks at ~5x the file); its RSS is VmHWM right after the fit.`,
      '- numpy lstsq: `np.linalg.lstsq` on the array pandas loaded, with an intercept column (solve only).',
      '- polars / pyarrow: multi-threaded `read_csv` into float64 columns, no fit: the fastest-parser reference.',
      `- mljs: \`fs.readFileSync\`, split, \`Number\`, then \`new MultivariateLinearRegression(x, y)\` (defaults); skipped above ${MLJS_MAX_MB} MB (RSS ~17x the file).`,
      '- vs X: X\'s time / our time (above 1: ours is faster). Δ vs sklearn: max |ours − sklearn| / max |sklearn| over intercept and slopes.',
    ],
  };
}

export async function runTraining(bench: Bench): Promise<TrainingResults> {
  const cases = bench.quick ? QUICK_CASES : FULL_CASES;
  bench.log(`training: preparing ${cases.length} CSV files in ${path.relative(process.cwd(), DATA_DIR)}`);
  const files = new Map<Case, string>();
  for (const c of cases) files.set(c, await trainingCsv(c.features, c.megabytes));

  for (const features of new Set(cases.map((c) => c.features))) {
    const smallest = cases.filter((c) => c.features === features).sort((a, b) => a.megabytes - b.megabytes)[0];
    await checkAgreement(bench, smallest, files.get(smallest)!);
  }
  const rows: TrainingRow[] = [];
  for (const c of cases) rows.push(await measureCase(bench, c, files.get(c)!));
  return { table: trainingTable(rows), rows };
}
