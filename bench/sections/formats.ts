/**
 * Training by input format: `linear train` through the real CLI on the same
 * rows written as CSV, gzip CSV, libsvm, RecordIO-protobuf and Parquet (File
 * mode), and as CSV and RecordIO-protobuf through a Pipe-mode FIFO. Every
 * format must give the CSV's model bit for bit: the values are the same
 * float64 numbers in the same order.
 */
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import * as path from 'node:path';
import type { Bench } from '../lib/context';
import { BLOCK_MB, fileBytes, MB, sizeLabel, trainingCsv } from '../lib/data';
import { err, num, type Table } from '../lib/format';
import { convertedFiles, CONVERTED, type Converted } from '../lib/format-files';
import { mlTree, readModel, trainWithCli } from '../lib/ml-tree';
import { attempt, cell, detail, valueOf, type Outcome } from '../lib/outcome';
import { OUT_DIR } from '../lib/paths';
import { daemon, rssMethod, run } from '../lib/processes';

const FEATURES = 10;
const SEED = 1;
const QUICK_MB = 20;
const FULL_MB = 1000;
/** Small files are timed best of 3 (as in the training section); a 1 GB run is long enough to be stable once. */
const REPEAT_MAX_MB = 100;
/** Between SIGTERM and SIGKILL for a FIFO writer still running when training ended (it failed early). */
const WRITER_GRACE_MS = 2000;

type Mode = 'File' | 'Pipe';

interface Variant {
  format: string;
  mode: Mode;
  /** The CSV itself, or one of its converted copies. */
  source: 'csv' | Converted;
  /** hyperparameters.json, as SageMaker writes it (string values). */
  hyperparameters?: Record<string, string>;
}

const VARIANTS: Variant[] = [
  { format: 'CSV', mode: 'File', source: 'csv' },
  { format: 'gzip CSV', mode: 'File', source: 'csv.gz' },
  { format: 'libsvm', mode: 'File', source: 'libsvm' },
  { format: `libsvm, feature_dim=${FEATURES}`, mode: 'File', source: 'libsvm', hyperparameters: { feature_dim: String(FEATURES) } },
  { format: 'RecordIO-protobuf', mode: 'File', source: 'recordio' },
  { format: 'Parquet', mode: 'File', source: 'parquet' },
  { format: 'CSV', mode: 'Pipe', source: 'csv' },
  { format: 'RecordIO-protobuf', mode: 'Pipe', source: 'recordio' },
];

interface Measured {
  seconds: number;
  peakRssMb: number | null;
  rows: number;
  /** Intercept first, then the slopes, as model.json has them. */
  beta: number[];
}

interface FormatRow {
  variant: Variant;
  bytes: number | null;
  ours: Outcome<Measured>;
}

export interface FormatResults {
  table: Table;
  rows: FormatRow[];
}

const slug = (v: Variant) => `formats-${v.source.replace('.', '-')}-${v.mode.toLowerCase()}${v.hyperparameters ? '-hp' : ''}`;

/** A tree whose `train` channel is in Pipe mode, its epoch-0 FIFO made as SageMaker makes it. */
async function pipeTree(name: string): Promise<{ root: string; fifo: string }> {
  const root = path.join(OUT_DIR, 'trees', name);
  await rm(root, { recursive: true, force: true });
  await mkdir(path.join(root, 'input', 'config'), { recursive: true });
  await mkdir(path.join(root, 'input', 'data'), { recursive: true });
  await writeFile(path.join(root, 'input', 'config', 'inputdataconfig.json'), JSON.stringify({ train: { TrainingInputMode: 'Pipe' } }));
  const fifo = path.join(root, 'input', 'data', 'train_0');
  await run('mkfifo', [fifo]);
  return { root, fifo };
}

/**
 * One training run; in Pipe mode `cat file > fifo` runs alongside (the
 * shell opens the FIFO before cat starts, so the reader is never left
 * waiting for a writer that failed to start).
 */
async function trainOnce(root: string, pipe: { file: string; fifo: string } | null): Promise<Measured> {
  const writer = pipe && daemon('sh', ['-c', 'exec cat -- "$0" > "$1"', pipe.file, pipe.fifo]);
  try {
    const measured = await trainWithCli(root);
    return { seconds: measured.wallS, peakRssMb: measured.peakRssMb, ...(await readModel(root)) };
  } finally {
    // Still running only when training ended before reading the whole pipe.
    await writer?.stop(WRITER_GRACE_MS);
  }
}

/**
 * Why a run failed, in the CLI's words: the FailureReason it wrote to
 * output/failure (paths shown relative to the tree), else the tail of its stderr.
 */
async function failureReason(root: string, error: unknown): Promise<Error> {
  const message = error instanceof Error ? error.message : String(error);
  const failed = /failed \(([^)]*)\): (.*)$/s.exec(message);
  const written = await readFile(path.join(root, 'output', 'failure'), 'utf8').catch(() => null);
  if (!failed) return new Error(message);
  const said = written?.trim().split('\n')[0].replaceAll(`${root}/`, '') ?? failed[2];
  return new Error(`${failed[1]}, ${said}`);
}

async function measureVariant(v: Variant, file: string, repeats: number): Promise<Measured> {
  // Page-caches the file, so every run (and the FIFO's writer) reads it from memory.
  await run('wc', ['-l', file]);
  const tree = v.mode === 'Pipe' ? await pipeTree(slug(v)) : { root: await mlTree(slug(v), file), fifo: null };
  if (v.hyperparameters) {
    await mkdir(path.join(tree.root, 'input', 'config'), { recursive: true });
    await writeFile(path.join(tree.root, 'input', 'config', 'hyperparameters.json'), JSON.stringify(v.hyperparameters));
  }
  let best: Measured | undefined;
  for (let i = 0; i < repeats; i++) {
    const measured = await trainOnce(tree.root, tree.fifo === null ? null : { file, fifo: tree.fifo }).catch(async (e: unknown) => Promise.reject(await failureReason(tree.root, e)));
    if (!best || measured.seconds < best.seconds) best = measured;
  }
  if (!best) throw new Error('at least one training run is needed');
  return best;
}

/** 'yes' when intercept and every coefficient are the very same float64 as the CSV run's. */
function sameModel(row: FormatRow, reference: FormatRow): string {
  if (row === reference) return 'reference';
  const mine = valueOf(row.ours);
  const csv = valueOf(reference.ours);
  if (!mine) return '–';
  if (!csv) return 'n/a (the CSV run failed)';
  if (mine.rows !== csv.rows) return `no: ${num(mine.rows)} rows vs ${num(csv.rows)}`;
  if (mine.beta.length !== csv.beta.length) return `no: ${mine.beta.length - 1} features vs ${csv.beta.length - 1}`;
  if (mine.beta.every((b, i) => Object.is(b, csv.beta[i]))) return 'yes';
  const largest = Math.max(...mine.beta.map((b, i) => Math.abs(b - csv.beta[i])));
  return `no: max |Δ| ${err(largest)}`;
}

function tableRow(row: FormatRow, reference: FormatRow): string[] {
  const mb = row.bytes === null ? null : row.bytes / MB;
  return [
    row.variant.format,
    row.variant.mode,
    mb === null ? '–' : `${num(mb)} MB`,
    detail(row.ours, (m) => num(m.rows)),
    cell(row.ours, (m) => num(m.seconds)),
    detail(row.ours, (m) => (mb === null ? 'n/a' : num(mb / m.seconds))),
    detail(row.ours, (m) => num(m.rows / m.seconds)),
    detail(row.ours, (m) => num(m.peakRssMb)),
    sameModel(row, reference),
  ];
}

function formatsTable(rows: FormatRow[], megabytes: number, repeats: number): Table {
  const reference = rows[0];
  return {
    title: `Training by input format (\`linear train\`, the same ${sizeLabel(megabytes)} of CSV rows in each format, p = ${FEATURES})`,
    columns: ['format', 'mode', 'file size', 'rows', 'ours s', 'MB/s', 'rows/s', 'peak RSS MB', 'same model as CSV'],
    rows: rows.map((r) => tableRow(r, reference)),
    notes: [
      `- The CSV is the training section's p = ${FEATURES} file (label first, no header, 6 significant digits; files over ${BLOCK_MB} MB repeat one generated ${BLOCK_MB} MB block, then a prefix of it).`,
      '- The other files hold the same rows in the same order, written once by bench/python/convert_formats.py with the tools a SageMaker user has and kept in bench/data:',
      '  the block\'s rows are parsed (pyarrow), written once per format and repeated as the CSV repeats them. gzip CSV: the CSV through Python\'s `gzip` at level 6 (the `gzip` command\'s default), one member;',
      '  libsvm: scikit-learn `dump_svmlight_file(zero_based=False)` (1-based indices, `%.16g`, which gives back every value exactly); RecordIO-protobuf: the SageMaker SDK v2\'s',
      '  `sagemaker.amazon.common.write_numpy_to_dense_tensor` (one record per row, float64 features and label); Parquet: pyarrow `ParquetWriter`, snappy, one row group per block copy.',
      '- No ContentType is declared: each format is recognised from its first bytes. File mode: the file alone in `input/data/train`.',
      `- libsvm: without \`feature_dim\` the file is read twice (a first pass learns how wide the rows are); with the hyperparameter \`feature_dim=${FEATURES}\` it is read once.`,
      '- Pipe mode: inputdataconfig `{"train": {"TrainingInputMode": "Pipe"}}` and a FIFO `input/data/train_0` (mkfifo), fed by `cat file > fifo` started with the CLI: the time includes',
      '  that writer running on the same cores, and the copy of the stream that Pipe mode keeps on local disk (in case a second pass is needed).',
      `- ours s: wall time of the whole \`node dist/main.js train\` process, file page-cached (read by \`wc -l\` first), ${repeats > 1 ? 'best of 3' : 'one run'}; peak RSS of that process by ${rssMethod()}.`,
      '- MB/s: the file as stored (compressed bytes for gzip) per second. MB = 10^6 bytes.',
      '- same model as CSV: intercept and coefficients of model.json compared bit for bit with the CSV File-mode run; otherwise the largest absolute difference.',
    ],
  };
}

export async function runFormats(bench: Bench): Promise<FormatResults> {
  const megabytes = bench.quick ? QUICK_MB : FULL_MB;
  const repeats = megabytes <= REPEAT_MAX_MB ? 3 : 1;
  const csv = await trainingCsv(FEATURES, megabytes, SEED);
  const needed = CONVERTED.filter((f) => VARIANTS.some((v) => v.source === f));
  const converted = await convertedFiles(bench, csv, { features: FEATURES, seed: SEED }, needed);
  const rows: FormatRow[] = [];
  for (const variant of VARIANTS) {
    const file: Outcome<string> = variant.source === 'csv' ? { ok: true, value: csv } : converted.get(variant.source)!;
    if (!file.ok) {
      rows.push({ variant, bytes: null, ours: file });
      continue;
    }
    const ours = await attempt(null, () => measureVariant(variant, file.value, repeats));
    const row: FormatRow = { variant, bytes: await fileBytes(file.value), ours };
    rows.push(row);
    const bytes = row.bytes ?? 0;
    bench.log(`formats ${variant.format} (${variant.mode}): ${cell(ours, (m) => `${num(m.seconds)} s, ${num(bytes / MB / m.seconds)} MB/s, ${num(m.peakRssMb)} MB RSS`)}`);
  }
  return { table: formatsTable(rows, megabytes, repeats), rows };
}
