/**
 * Seeded inputs, kept in bench/data and reused between runs. Each file is
 * written under a temporary name and renamed when complete, so an interrupted
 * run never leaves a truncated file that a later run would trust.
 */
import { existsSync } from 'node:fs';
import { mkdir, open, readFile, rename, rm, stat, writeFile, type FileHandle } from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { DATA_DIR, PYTHON_DIR, tsNodeArgs } from './paths';
import { run } from './processes';
import { PYTHON_ENV } from './python';

/** The generator runs at ~15 MB/s, so larger files repeat one generated block. */
export const BLOCK_MB = 64;

export const MB = 1e6;

/** FileHandle.write may write less than asked; a short write would corrupt the data silently. */
async function writeAll(handle: FileHandle, bytes: Uint8Array): Promise<void> {
  for (let done = 0; done < bytes.length; ) done += (await handle.write(bytes, done)).bytesWritten;
}

async function complete(file: string, write: (tmp: string) => Promise<void>): Promise<string> {
  if (existsSync(file)) return file;
  await mkdir(path.dirname(file), { recursive: true });
  const tmp = `${file}.tmp`;
  await write(tmp);
  await rename(tmp, file);
  return file;
}

/** The generated block that every training CSV of this width and seed is made of. */
export function csvBlock(features: number, seed: number): Promise<string> {
  const file = path.join(DATA_DIR, `block-p${features}-seed${seed}.csv`);
  return complete(file, async (tmp) => {
    await run(process.execPath, tsNodeArgs('generate-csv.ts', tmp, String(BLOCK_MB), String(features), String(seed)));
  });
}

export function sizeLabel(megabytes: number): string {
  return megabytes >= 1000 ? `${megabytes / 1000} GB` : `${megabytes} MB`;
}

/**
 * A CSV of about `megabytes` MB (label first, no header): a prefix of the
 * generated block, or whole copies of it plus a prefix. Repeated rows change
 * nothing about the cost of a least-squares pass, and the fit stays exact.
 */
export async function trainingCsv(features: number, megabytes: number, seed = 1): Promise<string> {
  const file = path.join(DATA_DIR, `train-p${features}-${megabytes}MB-seed${seed}.csv`);
  return repeatedCsv(file, await csvBlock(features, seed), megabytes);
}

/** How users' files spell numbers, besides the generator's 6 significant digits. */
export type NumberShape = 'doubles' | 'float32';

/**
 * A CSV of about `megabytes` MB as pandas writes a float64 (`doubles`) or
 * float32 frame: a {@link BLOCK_MB} block written once by Python, repeated.
 */
export async function shapedCsv(python: string, shape: NumberShape, features: number, megabytes: number, seed = 1): Promise<string> {
  const block = await complete(path.join(DATA_DIR, `block-${shape}-p${features}-seed${seed}.csv`), async (tmp) => {
    await run(python, [path.join(PYTHON_DIR, 'write_number_shapes.py'), tmp, shape, String(BLOCK_MB), String(features), String(seed)], { env: PYTHON_ENV });
  });
  return repeatedCsv(path.join(DATA_DIR, `train-${shape}-p${features}-${megabytes}MB-seed${seed}.csv`), block, megabytes);
}

/**
 * Wide data as the bench's wide section uses it: `rows` rows of `features`
 * random integers in [-50, 50] and a label with one decimal of noise
 * (bench/python/wide_fit.py), kept for later runs.
 */
export async function wideCsv(python: string, features: number, rows: number, seed = 1): Promise<string> {
  return complete(path.join(DATA_DIR, `wide-p${features}-n${rows}-seed${seed}.csv`), async (tmp) => {
    await run(python, [path.join(PYTHON_DIR, 'wide_fit.py'), 'generate', String(features), String(rows), String(seed), tmp], { env: PYTHON_ENV });
  });
}

/** `block`'s rows repeated (then a prefix of them) to about `megabytes` MB, kept as `file`. */
function repeatedCsv(file: string, block: string, megabytes: number): Promise<string> {
  return complete(file, async (tmp) => {
    const rows = await readFile(block);
    const out = await open(tmp, 'w');
    try {
      let left = megabytes * MB;
      while (left > 0) {
        const piece = left >= rows.length ? rows : rows.subarray(0, rows.lastIndexOf(0x0a, left - 1) + 1);
        if (piece.length === 0) break;
        await writeAll(out, piece);
        left -= piece.length;
      }
    } finally {
      await out.close();
    }
  });
}

/**
 * `csv` cut at line ends into `count` files of about equal size, in a
 * directory kept next to it (a channel of many objects).
 */
export async function splitCsv(csv: string, count: number): Promise<string> {
  const dir = `${csv.replace(/\.csv$/, '')}-in-${count}-files`;
  if (existsSync(dir)) return dir;
  const tmp = `${dir}.tmp`;
  await rm(tmp, { recursive: true, force: true });
  await mkdir(tmp, { recursive: true });
  const bytes = await readFile(csv);
  let start = 0;
  for (let i = 0; i < count; i++) {
    const target = Math.round(((i + 1) * bytes.length) / count);
    const end = i === count - 1 ? bytes.length : bytes.indexOf(0x0a, Math.max(start, target - 1)) + 1 || bytes.length;
    await writeFile(path.join(tmp, `part-${String(i).padStart(5, '0')}.csv`), bytes.subarray(start, end));
    start = end;
  }
  await rename(tmp, dir);
  return dir;
}

export async function fileBytes(file: string): Promise<number> {
  return (await stat(file)).size;
}

/**
 * A 32-bit integer hash of a Weyl sequence: fast, and no state but one integer.
 * The seed picks the (odd) step, so different seeds give different sequences
 * rather than shifted copies of one. Its period, 2^32, exceeds every matrix here.
 */
function uniformSource(seed: number): () => number {
  const step = (Math.imul(seed, 0x9e3779b9) | 1) >>> 0;
  let state = 0;
  return () => {
    state = (state + step) >>> 0;
    let z = state;
    z = Math.imul(z ^ (z >>> 16), 0x21f0aaad);
    z = Math.imul(z ^ (z >>> 15), 0x735a2d97);
    return ((z ^ (z >>> 15)) >>> 0) / 2 ** 32;
  };
}

export interface MatrixSpec {
  n: number;
  p: number;
  /**
   * 'independent': x_ij uniform in [-1, 1). 'correlated': every column is one
   * shared factor plus 1e-3 of its own noise, so the design is ill-conditioned
   * (kappa ~1e4..1e5) and the methods' accuracy differs visibly.
   */
  kind: 'independent' | 'correlated';
  seed: number;
}

export interface MatrixFiles {
  /** Row-major n x p, Float64 little-endian (what numpy's fromfile reads). */
  x: string;
  y: string;
}

export function matrixName(spec: MatrixSpec): string {
  return `n${spec.n}-p${spec.p}-${spec.kind}-seed${spec.seed}`;
}

const CHUNK_ROWS = 1 << 16;

/** y = 1 + Σ x_j / (j+1) + noise in [-0.05, 0.05): slopes of different sizes, an intercept, a residual. */
export async function matrixFiles(spec: MatrixSpec): Promise<MatrixFiles> {
  const base = path.join(DATA_DIR, `matrix-${matrixName(spec)}`);
  const files = { x: `${base}.x.f64`, y: `${base}.y.f64` };
  if (existsSync(files.x) && existsSync(files.y)) return files;
  // Float64Array writes the platform's byte order; numpy reads the files as '<f8'.
  if (os.endianness() !== 'LE') throw new Error('matrix files are written little-endian; this platform is big-endian');
  await mkdir(DATA_DIR, { recursive: true });
  const uniform = uniformSource(spec.seed);
  const [xOut, yOut] = [await open(`${files.x}.tmp`, 'w'), await open(`${files.y}.tmp`, 'w')];
  try {
    for (let first = 0; first < spec.n; first += CHUNK_ROWS) {
      const rows = Math.min(CHUNK_ROWS, spec.n - first);
      const x = new Float64Array(rows * spec.p);
      const y = new Float64Array(rows);
      for (let i = 0; i < rows; i++) {
        const factor = 2 * uniform() - 1;
        let label = 1 + 0.1 * (uniform() - 0.5);
        for (let j = 0; j < spec.p; j++) {
          const own = 2 * uniform() - 1;
          const value = spec.kind === 'correlated' ? factor + 1e-3 * own : own;
          x[i * spec.p + j] = value;
          label += value / (j + 1);
        }
        y[i] = label;
      }
      await writeAll(xOut, new Uint8Array(x.buffer));
      await writeAll(yOut, new Uint8Array(y.buffer));
    }
  } finally {
    await Promise.all([xOut.close(), yOut.close()]);
  }
  await rename(`${files.x}.tmp`, files.x);
  await rename(`${files.y}.tmp`, files.y);
  return files;
}
