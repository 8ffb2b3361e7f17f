/**
 * A training CSV's rows in the other input formats (gzip CSV, libsvm,
 * RecordIO-protobuf, Parquet), written by bench/python/convert_formats.py with
 * the tools a SageMaker user writes them with, and kept next to the CSV
 * (bench/data, named after it, so keyed by its size and seed) for later runs.
 */
import { existsSync } from 'node:fs';
import * as path from 'node:path';
import type { Bench } from './context';
import { csvBlock } from './data';
import { num } from './format';
import { attempt, skip, type Outcome } from './outcome';
import { pythonJson, type PythonPackage } from './python';

export const CONVERTED = ['csv.gz', 'libsvm', 'recordio', 'parquet'] as const;
export type Converted = (typeof CONVERTED)[number];

/** What each writer needs besides Python (the rows are parsed with pyarrow into a numpy array). */
const NEEDS: Record<Converted, PythonPackage[]> = {
  'csv.gz': [],
  libsvm: ['numpy', 'pyarrow', 'scikit-learn'],
  recordio: ['numpy', 'pyarrow', 'sagemaker'],
  parquet: ['numpy', 'pyarrow'],
};

interface ConvertJson {
  rows: number;
  unitRows: number;
  copies: number;
  rest: number;
  seconds: number;
  formats: Partial<Record<Converted, { ok: true; seconds: number; bytes: number } | { ok: false; error: string }>>;
}

/** Where the `format` copy of `csv` is kept. */
export function convertedPath(csv: string, format: Converted): string {
  return `${csv.replace(/\.csv$/, '')}.${format}`;
}

/**
 * The `formats` copies of `csv` (made of whole copies of its generated block,
 * then a prefix), each a path or why it could not be made. Copies already on
 * disk are reused; the others are made in one Python process.
 */
export async function convertedFiles(
  bench: Bench,
  csv: string,
  block: { features: number; seed: number },
  formats: readonly Converted[],
): Promise<Map<Converted, Outcome<string>>> {
  const result = new Map<Converted, Outcome<string>>();
  const wanted: Converted[] = [];
  for (const format of formats) {
    const file = convertedPath(csv, format);
    const missing = bench.python.missing(...NEEDS[format]);
    if (existsSync(file)) result.set(format, { ok: true, value: file });
    else if (missing !== null) result.set(format, skip(missing));
    else if (bench.python.python === null) result.set(format, skip('no Python venv'));
    else wanted.push(format);
  }
  if (wanted.length === 0) return result;

  bench.log(`formats: writing ${wanted.join(', ')} from ${path.basename(csv)} (once; kept for later runs)`);
  const blockCsv = await csvBlock(block.features, block.seed);
  const converted = await attempt(null, () =>
    pythonJson<ConvertJson>(bench.python, 'convert_formats.py', [blockCsv, csv, ...wanted.map((f) => `${f}=${convertedPath(csv, f)}`)]),
  );
  for (const format of wanted) {
    if (!converted.ok) {
      result.set(format, converted);
      continue;
    }
    const done = converted.value.formats[format];
    if (done?.ok) {
      bench.log(`formats: ${format} written in ${num(done.seconds)} s (${num(done.bytes / 1e6)} MB)`);
      result.set(format, { ok: true, value: convertedPath(csv, format) });
    } else {
      result.set(format, { ok: false, cell: `failed: writing it: ${(done?.error ?? 'no result').slice(0, 200)}` });
    }
  }
  if (converted.ok) {
    const c = converted.value;
    bench.log(`formats: ${num(c.rows)} rows = ${c.copies} x ${num(c.unitRows)} block rows + ${num(c.rest)}, converted in ${num(c.seconds)} s`);
  }
  return result;
}
