/**
 * Widths around the block size, the blocked update's threshold (512 columns)
 * and powers of two, up to the most features a channel may have, against
 * numpy's lstsq: no width has a limit of its own (a 1,024-feature limit once
 * gave null models), and wide fits finish in seconds. One case has barely
 * more rows than features, the shape whose f64 factor is least certain
 * (it is refined from the rows in memory).
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

/** Twice as many rows as features keeps the data well conditioned (κ about 60 with the intercept column). */
const CASES = [255, 256, 257, 509, 510, 1023, 1024, 1025, 2048, 4095]
  .map((features) => ({ features, rows: features > 512 ? 2 * features : features + 300 }))
  .concat([{ features: 2000, rows: 2100 }]);
const register = 'python' in NUMPY ? test : test.skip;
const skipped = 'reason' in NUMPY ? ` (skipped: ${NUMPY.reason})` : '';

for (const { features, rows } of CASES) {
  register(`${features} features, ${rows} rows match numpy lstsq${skipped}`, async (t) => {
    // The widest, 4,095 features, takes about 25 s to train and as long for numpy to read and solve on two cores.
    t.timeout(600_000);
    const tree = await makeMlTree({ channels: { train: { 'wide.csv': wideCsv(features, rows, features) } } }, t);
    const trained = await runCli(['train'], { root: tree.root, timeoutMs: 590_000 });
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
