/**
 * Widths around the block size and powers of two, against numpy's lstsq on
 * well-conditioned data: no width has a limit of its own (a 1,024-feature
 * limit once gave null models), and wide fits finish in a test's time.
 */
import test from 'ava';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { makeMlTree, runCli } from './helpers/ml-tree';
import { NUMPY, PYTHON_SCRIPTS } from './helpers/python';

/** `rows` rows of `features` integers in [-50, 50] and a label with one decimal of noise. */
function wideCsv(features: number, rows: number, seed: number): string {
  let state = seed;
  const next = () => (state = (state * 1103515245 + 12345) % 2147483648) % 101;
  const lines: string[] = [];
  for (let i = 0; i < rows; i++) {
    const x = Array.from({ length: features }, () => next() - 50);
    const y = x.reduce((sum, v, j) => sum + ((j % 7) - 3) * v, 0) + (next() - 50) / 10;
    lines.push(`${y.toFixed(1)},${x.join(',')}`);
  }
  return `${lines.join('\n')}\n`;
}

interface Reference {
  intercept: number;
  coefficients: number[];
  condition_number: number;
}

const WIDTHS = [255, 256, 257, 1023, 1024, 1025, 2048];
const register = 'python' in NUMPY ? test : test.skip;
const skipped = 'reason' in NUMPY ? ` (skipped: ${NUMPY.reason})` : '';

for (const features of WIDTHS) {
  register(`${features} features match numpy lstsq${skipped}`, async (t) => {
    // The widest take minutes on two cores today (the extended pass; wide-data speed is its own work).
    t.timeout(1_800_000);
    // Twice as many rows as features keeps the data well conditioned (κ about 60 with the intercept column).
    const rows = features > 512 ? 2 * features : features + 300;
    const tree = await makeMlTree({ channels: { train: { 'wide.csv': wideCsv(features, rows, features) } } }, t);
    const trained = await runCli(['train'], { root: tree.root, timeoutMs: 1_790_000 });
    t.is(trained.code, 0, trained.stderr);
    const model = JSON.parse(readFileSync(tree.modelFile, 'utf8'));
    const python = (NUMPY as { python: string }).python;
    const reference = JSON.parse(
      execFileSync(python, [path.join(PYTHON_SCRIPTS, 'lstsq.py'), path.join(tree.channel('train'), 'wide.csv')], { encoding: 'utf8', maxBuffer: 1 << 26 }),
    ) as Reference;
    t.is(model.statistics.rank, features + 1);
    t.false(model.aliased.some(Boolean));
    const ours = [model.intercept, ...model.coefficients];
    const theirs = [reference.intercept, ...reference.coefficients];
    const scale = Math.max(...theirs.map(Math.abs));
    const worst = Math.max(...ours.map((b: number, j: number) => Math.abs(b - theirs[j])));
    // numpy's own error is about κ·ε relative: a few 1e-14 here.
    t.true(worst <= 1e-11 * scale, `largest difference ${worst} (coefficients up to ${scale}); κ = ${reference.condition_number}`);
    t.true(Math.abs(model.statistics.condition_number / reference.condition_number - 1) < 1e-8, `condition number ${model.statistics.condition_number} vs ${reference.condition_number}`);
    t.log(`${features} features x ${rows} rows: ${trained.stderr.match(/fitted .*/)?.[0]}; largest difference ${worst.toExponential(2)}`);
  });
}
