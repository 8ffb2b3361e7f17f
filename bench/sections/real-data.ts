/**
 * Real-world CSVs: one p = 10 training set spelled as users' files spell it
 * (the generator's 6 significant digits, pandas `to_csv` of float64 and of
 * float32), then laid out as one file, 1,000 files or gzip. Each spelling is
 * trained on one core and on all of them, next to polars' reader alone and
 * pandas + scikit-learn on the same page-cached file.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readdir, rename } from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import type { Bench } from '../lib/context';
import { fileBytes, MB, type NumberShape, shapedCsv, sizeLabel, splitCsv, trainingCsv } from '../lib/data';
import { num, ratio, type Table } from '../lib/format';
import { mlTree, readModel } from '../lib/ml-tree';
import { attempt, cell, skip, valueOf, type Outcome } from '../lib/outcome';
import { CLI } from '../lib/paths';
import { measure, rssMethod, run } from '../lib/processes';
import { pythonJson } from '../lib/python';

const FEATURES = 10;
const FULL_MB = 1000;
const QUICK_MB = 100;
const FILES = 1000;

type Spelling = 'six digits' | NumberShape;
const SPELLINGS: Spelling[] = ['six digits', 'doubles', 'float32'];
const SPELLING_LABEL: Record<Spelling, string> = {
  'six digits': 'bench generator, 6 significant digits',
  doubles: 'pandas to_csv of float64 (up to 17 digits)',
  float32: 'pandas to_csv of float32 (up to 9 digits)',
};

interface Trained {
  seconds: number;
  peakRssMb: number | null;
  rows: number;
}

export interface RealDataRow {
  spelling: Spelling;
  layout: 'one file' | `${number} files` | 'gzip';
  storedBytes: number;
  /** Bytes of CSV text, uncompressed. */
  textBytes: number;
  ours: Trained;
  oneCore: Outcome<Trained>;
  polars: Outcome<number>;
  sklearn: Outcome<number>;
}

export interface RealDataResults {
  table: Table;
  rows: RealDataRow[];
  cores: number;
}

/** Best of `repeats` whole `linear train` runs, optionally on the first core alone. */
async function train(name: string, files: string | string[], repeats: number, oneCore = false): Promise<Trained> {
  const root = await mlTree(name, files);
  let best: Trained | undefined;
  for (let i = 0; i < repeats; i++) {
    const args = [CLI, 'train', '--ml-root', root];
    const measured = oneCore ? await measure('taskset', ['-c', '0', process.execPath, ...args]) : await measure(process.execPath, args);
    if (!best || measured.wallS < best.seconds) best = { seconds: measured.wallS, peakRssMb: measured.peakRssMb, rows: (await readModel(root)).rows };
  }
  if (!best) throw new Error('at least one training run is needed');
  return best;
}

/** The gzip command's default level, as a user would compress a file; kept next to it. */
async function gzipped(csv: string): Promise<string> {
  const file = `${csv}.gz`;
  if (!existsSync(file)) {
    await run('sh', ['-c', 'gzip -6 -c "$0" > "$0.gz.tmp"', csv]);
    await rename(`${file}.tmp`, file);
  }
  return file;
}

/** Reads the files once, so every run after reads them from memory. */
async function pageCache(files: string[]): Promise<void> {
  await run('sh', ['-c', 'cat "$@" > /dev/null', 'sh', ...files]);
}

const taskset = promisify(execFile)('taskset', ['-c', '0', 'true']).then(
  () => null,
  () => 'taskset is not installed',
);

async function polarsRead(bench: Bench, csv: string): Promise<Outcome<number>> {
  return attempt(bench.python.missing('polars'), async () => {
    const read = await pythonJson<{ polars: { seconds: number } }>(bench.python, 'read_csv_fast.py', [csv, String(FEATURES + 1), 'polars']);
    return read.polars.seconds;
  });
}

async function pandasSklearn(bench: Bench, csv: string): Promise<Outcome<number>> {
  return attempt(bench.python.missing('numpy', 'pandas', 'scikit-learn'), async () => {
    const fit = await pythonJson<{ readSeconds: number; fitSeconds: number }>(bench.python, 'train_sklearn.py', [csv]);
    return fit.readSeconds + fit.fitSeconds;
  });
}

async function csvOf(bench: Bench, spelling: Spelling, megabytes: number): Promise<string> {
  if (spelling === 'six digits') return trainingCsv(FEATURES, megabytes);
  if (bench.python.python === null) throw new Error('no Python venv to write pandas-spelled files');
  return shapedCsv(bench.python.python, spelling, FEATURES, megabytes);
}

export async function runRealData(bench: Bench): Promise<RealDataResults> {
  const megabytes = bench.quick ? QUICK_MB : FULL_MB;
  const repeats = bench.quick ? 3 : 2;
  const cores = os.availableParallelism();
  const noTaskset = await taskset;
  const rows: RealDataRow[] = [];
  for (const spelling of bench.python.missing('numpy', 'pandas') === null ? SPELLINGS : (['six digits'] as Spelling[])) {
    const csv = await csvOf(bench, spelling, megabytes);
    await pageCache([csv]);
    const bytes = await fileBytes(csv);
    const name = `real-${spelling.replace(' ', '-')}-${megabytes}MB`;
    const row: RealDataRow = {
      spelling,
      layout: 'one file',
      storedBytes: bytes,
      textBytes: bytes,
      ours: await train(name, csv, repeats),
      oneCore: cores > 1 ? await attempt(noTaskset, () => train(name, csv, repeats, true)) : skip('one core only'),
      polars: await polarsRead(bench, csv),
      sklearn: await pandasSklearn(bench, csv),
    };
    bench.log(`real data ${spelling} ${sizeLabel(megabytes)}: ours ${num(row.ours.seconds)} s, 1 core ${cell(row.oneCore, (t) => `${num(t.seconds)} s`)}, polars ${cell(row.polars, num)} s, pandas+sklearn ${cell(row.sklearn, num)} s`);
    rows.push(row);
    if (spelling !== 'six digits') continue;
    const dir = await splitCsv(csv, FILES);
    const parts = (await readdir(dir)).sort().map((f) => path.join(dir, f));
    await pageCache(parts);
    rows.push({ ...row, layout: `${FILES} files`, ours: await train(`${name}-files`, parts, repeats), ...ONE_FILE_ONLY });
    const gz = await gzipped(csv);
    await pageCache([gz]);
    rows.push({ ...row, layout: 'gzip', storedBytes: await fileBytes(gz), ours: await train(`${name}-gzip`, gz, repeats), ...ONE_FILE_ONLY });
    bench.log(`real data ${spelling}: ${FILES} files ${num(rows[rows.length - 2].ours.seconds)} s, gzip ${num(rows[rows.length - 1].ours.seconds)} s`);
  }
  return { table: realDataTable(rows, megabytes, repeats, cores), rows, cores };
}

/** Peers and one-core runs are measured on the plain file of each spelling only. */
const NOT_MEASURED = '–';
const ONE_FILE_ONLY = { oneCore: skip<Trained>(NOT_MEASURED), polars: skip<number>(NOT_MEASURED), sklearn: skip<number>(NOT_MEASURED) };

/** All cores' speed over one core's. */
export const coreSpeedUp = (r: RealDataRow) => {
  const one = valueOf(r.oneCore);
  return one ? one.seconds / r.ours.seconds : null;
};

function realDataTable(rows: RealDataRow[], megabytes: number, repeats: number, cores: number): Table {
  const plain = (spelling: Spelling) => rows.find((r) => r.spelling === spelling && r.layout === 'one file');
  return {
    title: `Real-world CSVs (\`linear train\`, p = ${FEATURES}, ${sizeLabel(megabytes)} of CSV text, ${cores} cores)`,
    columns: ['numbers', 'layout', 'stored MB', 'rows', 'ours s', 'MB/s of text', 'ours RSS MB', 'ours on 1 core s', `1 → ${cores} cores`, 'polars read s', 'pandas+sklearn s', 'vs polars read', 'vs pandas+sklearn', 'vs one plain file'],
    rows: rows.map((r) => {
      const shown = <T>(o: Outcome<T>, render: (value: T) => string) => (r.layout === 'one file' ? cell(o, render) : NOT_MEASURED);
      return [
        SPELLING_LABEL[r.spelling],
        r.layout,
        num(r.storedBytes / MB),
        num(r.ours.rows),
        num(r.ours.seconds),
        num(r.textBytes / MB / r.ours.seconds),
        num(r.ours.peakRssMb),
        shown(r.oneCore, (t) => num(t.seconds)),
        r.oneCore.ok ? `${num(coreSpeedUp(r))}×` : NOT_MEASURED,
        shown(r.polars, num),
        shown(r.sklearn, num),
        r.polars.ok ? ratio(r.polars.value, r.ours.seconds) : NOT_MEASURED,
        r.sklearn.ok ? ratio(r.sklearn.value, r.ours.seconds) : NOT_MEASURED,
        r.layout === 'one file' ? 'reference' : ratio(plain(r.spelling)?.ours.seconds, r.ours.seconds),
      ];
    }),
    notes: [
      '- Each spelling is one 64 MB block of p = 10 rows (label first, no header) repeated to the size: the training section\'s 6-digit block, and blocks `pandas.DataFrame.to_csv` writes from a float64 and a float32 frame (bench/python/write_number_shapes.py). Longer numbers mean fewer rows in the same bytes.',
      `- ours: wall time of the whole \`node dist/main.js train\` process (start-up, parse, fit, statistics, model.json, report), best of ${repeats}; peak RSS by ${rssMethod()}. Files are page-cached first.`,
      `- ours on 1 core: the same run under \`taskset -c 0\` (the process sees one core and sizes its threads to it); 1 → ${cores} cores is its time over the all-core time.`,
      `- ${FILES} files: the 6-digit file cut at line ends into ${FILES} files of about ${num(megabytes / FILES)} MB, one channel. gzip: that file through \`gzip -6\`; MB/s counts the uncompressed text.`,
      '- polars read: `pl.read_csv` into float64 columns on every core, no fit, timed inside its process (the fastest-reader reference); pandas+sklearn: `pd.read_csv` + `LinearRegression().fit`, timed inside its process.',
      '- vs X: X\'s time / our time (above 1: ours is faster). vs one plain file: that spelling\'s one-file time / this layout\'s time.',
    ],
  };
}
