/**
 * Accuracy through the public API (the addon's `fit` and `Trainer`): NIST
 * StRD certified values, offset features, and chunking invariance.
 */
import test from 'ava';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { fit, Trainer, type BindingFit } from '../index';

/** The NIST data vendored for the Rust tests (see its README.md), or LINEAR_NIST_DIR. */
const NIST = process.env.LINEAR_NIST_DIR ?? path.join(__dirname, '..', 'native', 'core', 'tests', 'data', 'nist');

/** Reads one data file; a failure names the path it wanted. */
function readData(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    throw new Error(`cannot read NIST data file ${file}: ${(err as Error).message} (set LINEAR_NIST_DIR to a directory holding NAME.csv and NAME.json)`);
  }
}

/** NIST's log relative error, capped at 15. */
function lre(estimate: number, certified: number): number {
  const err = Math.abs(estimate - certified);
  const value = certified === 0 ? -Math.log10(err) : -Math.log10(err / Math.abs(certified));
  return Number.isNaN(value) ? 0 : Math.min(15, Math.max(0, value));
}

interface Certified {
  intercept: boolean;
  degree?: number;
  certified: { coefficients: number[]; std_errors: number[]; residual_sd: number; r_squared: number };
}

async function fitNist(name: string): Promise<{ fitted: BindingFit; meta: Certified }> {
  const meta = JSON.parse(readData(path.join(NIST, `${name}.json`))) as Certified;
  const rows = readData(path.join(NIST, `${name}.csv`))
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => l.split(',').map(Number));
  const features = meta.degree ?? rows[0].length - 1;
  const x = new Float64Array(rows.length * features);
  const y = new Float64Array(rows.length);
  rows.forEach((r, i) => {
    y[i] = r[0];
    for (let j = 0; j < features; j++) x[i * features + j] = meta.degree ? r[1] ** (j + 1) : r[1 + j];
  });
  return { fitted: await fit(x, y, features, { fitIntercept: meta.intercept }), meta };
}

const DATASETS = ['Norris', 'Pontius', 'NoInt1', 'NoInt2', 'Filip', 'Longley', 'Wampler1', 'Wampler2', 'Wampler3'];

for (const name of DATASETS) {
  test(`NIST ${name}: certified coefficients, standard errors, residual SD and R²`, async (t) => {
    const { fitted, meta } = await fitNist(name);
    const s = fitted.statistics;
    const coef = meta.intercept ? [fitted.intercept, ...fitted.coefficients] : fitted.coefficients;
    const se = meta.intercept ? [s.interceptStdError, ...s.stdErrors] : s.stdErrors;
    const min = (ours: number[], cert: number[]) => Math.min(...ours.map((v, i) => lre(v, cert[i])));
    const scores = {
      coefficients: min(coef, meta.certified.coefficients),
      stdErrors: min(se, meta.certified.std_errors),
      residualSd: lre(s.residualStdError, meta.certified.residual_sd),
      rSquared: lre(s.rSquared, meta.certified.r_squared),
    };
    t.log(`${name}: ${JSON.stringify(scores)} (${fitted.precision})`);
    const bar = name === 'Filip' ? 7 : 9;
    for (const [what, score] of Object.entries(scores)) t.true(score >= bar, `${what} LRE ${score.toFixed(2)} < ${bar}`);
    t.is(s.rank, coef.length, 'no column may be dropped');
  });
}

/** Deterministic normal-ish noise (sum of uniforms from a 32-bit LCG). */
function noise(seed: number): () => number {
  let state = seed >>> 0;
  const uniform = () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state / 2 ** 32;
  };
  return () => uniform() + uniform() + uniform() - 1.5;
}

test('a feature with mean 1e9 (a timestamp) fits as exactly as the same feature centred, on the one-pass path', async (t) => {
  // 600k rows x 2 values is above what is kept for an in-memory extended pass.
  const n = 600_000;
  const next = noise(7);
  const centred = new Float64Array(n);
  const offset = new Float64Array(n);
  const y = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    centred[i] = i - n / 2;
    offset[i] = 1.7e9 + centred[i];
    y[i] = 2.5 + 0.125 * centred[i] + next();
  }
  const a = await fit(centred, y, 1);
  const b = await fit(offset, y, 1);
  t.is(b.precision, 'double');
  const rel = (u: number, v: number) => Math.abs(u - v) / Math.abs(v);
  t.true(rel(b.coefficients[0], a.coefficients[0]) < 1e-13, `slope ${b.coefficients[0]} vs ${a.coefficients[0]}`);
  t.true(rel(b.statistics.stdErrors[0], a.statistics.stdErrors[0]) < 1e-10);
  t.true(rel(b.statistics.residualStdError, a.statistics.residualStdError) < 1e-12);
  // The intercepts differ by exactly slope * 1.7e9.
  t.true(rel(b.intercept, a.intercept - a.coefficients[0] * 1.7e9) < 1e-12);
});

test('results are bit-identical for any chunk size', async (t) => {
  const next = noise(11);
  let csv = 'y,a,b,c\n';
  for (let i = 0; i < 20_000; i++) {
    const a = next() * 10;
    const b = next() + 1e6;
    const c = i % 17;
    csv += `${(3 * a - 2 * b + 0.5 * c + next()).toPrecision(12)},${a.toPrecision(10)},${b.toPrecision(12)},${c}\n`;
  }
  const bytes = Buffer.from(csv);
  const trainWith = async (chunk: number) => {
    const trainer = new Trainer({});
    trainer.beginSource('data.csv');
    for (let at = 0; at < bytes.length; at += chunk) await trainer.push(bytes.subarray(at, at + chunk));
    trainer.endSource();
    const fitted = await trainer.finish();
    if (!fitted) throw new Error('expected a fit');
    return { fitted, names: trainer.featureNames };
  };
  const reference = await trainWith(bytes.length);
  t.deepEqual(reference.names, ['a', 'b', 'c']);
  for (const chunk of [1 << 20, 65_537, 4096, 333]) {
    const other = await trainWith(chunk);
    t.deepEqual(other.fitted.coefficients, reference.fitted.coefficients, `chunk ${chunk}`);
    t.is(other.fitted.intercept, reference.fitted.intercept);
    t.deepEqual(other.fitted.statistics.stdErrors, reference.fitted.statistics.stdErrors);
  }
});

test('collinear and constant columns are reported as aliased, and the rest is still fitted', async (t) => {
  const n = 50;
  const p = 4;
  const x = new Float64Array(n * p);
  const y = new Float64Array(n);
  const next = noise(3);
  for (let i = 0; i < n; i++) {
    const a = next();
    const b = next();
    x.set([a, 2 * a, 5, b], i * p); // second = 2 * first, third constant
    y[i] = 1 + 4 * a - b + 0.01 * next();
  }
  const fitted = await fit(x, y, p);
  t.deepEqual(fitted.aliased, [false, true, true, false]);
  t.is(fitted.statistics.rank, 3);
  t.is(fitted.coefficients[1], 0);
  t.is(fitted.coefficients[2], 0);
  t.true(Math.abs(fitted.coefficients[0] - 4) < 0.05);
  t.true(Number.isNaN(fitted.statistics.stdErrors[1]));
});

test('ridge (l2) matches the closed form with an unpenalised intercept', async (t) => {
  // One centred feature: slope = Sxy / (Sxx + alpha), intercept = ybar - slope * xbar.
  const xs = [1, 2, 3, 4, 5, 6];
  const ys = [2.1, 3.9, 6.2, 7.8, 10.1, 12.2];
  const alpha = 3;
  const mean = (v: number[]) => v.reduce((s, a) => s + a, 0) / v.length;
  const xbar = mean(xs);
  const ybar = mean(ys);
  const sxy = xs.reduce((s, x, i) => s + (x - xbar) * (ys[i] - ybar), 0);
  const sxx = xs.reduce((s, x) => s + (x - xbar) ** 2, 0);
  const slope = sxy / (sxx + alpha);
  const fitted = await fit(new Float64Array(xs), new Float64Array(ys), 1, { l2: alpha });
  t.true(Math.abs(fitted.coefficients[0] - slope) < 1e-14);
  t.true(Math.abs(fitted.intercept - (ybar - slope * xbar)) < 1e-13);
  t.falsy(fitted.inference, 'no OLS standard errors for a ridge fit');
});
