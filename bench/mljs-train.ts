/**
 * The path an npm user would take on a training CSV (label first, no header):
 * read the whole file, split it into lines and cells, Number() each cell, and
 * fit with ml-regression-multivariate-linear (default options: intercept and
 * statistics). Prints one JSON line; times exclude node start-up.
 * Usage: node --import tsx bench/mljs-train.ts <csv>
 */
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import MultivariateLinearRegression from 'ml-regression-multivariate-linear';

function parse(csv: string): { x: number[][]; y: number[][] } {
  const x: number[][] = [];
  const y: number[][] = [];
  for (const line of readFileSync(csv, 'utf8').split('\n')) {
    if (line === '') continue;
    const cells = line.split(',').map(Number);
    y.push([cells[0]]);
    x.push(cells.slice(1));
  }
  return { x, y };
}

function main(csv: string): void {
  const started = performance.now();
  const { x, y } = parse(csv);
  const parsed = performance.now();
  const model = new MultivariateLinearRegression(x, y);
  const fitted = performance.now();
  // weights holds the slopes, then the intercept last.
  const weights = model.weights.map((row) => row[0]);
  const result = {
    rows: y.length,
    readSeconds: (parsed - started) / 1000,
    fitSeconds: (fitted - parsed) / 1000,
    coefficients: [weights[weights.length - 1], ...weights.slice(0, -1)],
  };
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

main(process.argv[2]);
