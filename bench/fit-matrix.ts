/**
 * Our in-memory fit through the library API on the bench's matrix files: the
 * best of up to 3 timed `fit` calls within about 2 s (the default path, which
 * picks double or double-double itself), then the `extended: true` fit that is
 * the accuracy reference for every method. Prints one JSON line.
 * Usage: node --import tsx bench/fit-matrix.ts <x.f64> <y.f64> <p>
 */
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { fit, type BindingFit } from '../index';

/** A Float64Array over the file's bytes; copied only if the Buffer is not 8-byte aligned. */
function float64s(file: string): Float64Array {
  const bytes = readFileSync(file);
  if (bytes.byteOffset % 8 === 0) return new Float64Array(bytes.buffer, bytes.byteOffset, bytes.length / 8);
  return new Float64Array(new Uint8Array(bytes).buffer);
}

const parameters = (f: BindingFit) => [f.intercept, ...f.coefficients];

/** The same rule as bench/python/fit_matrix.py: repeat short solves, run long ones once. */
const MAX_REPEATS = 3;
const BUDGET_SECONDS = 2;

async function main(xFile: string, yFile: string, p: number): Promise<void> {
  const x = float64s(xFile);
  const y = float64s(yFile);
  const times: number[] = [];
  let fitted: BindingFit | undefined;
  while (!fitted || (times.length < MAX_REPEATS && times.reduce((a, b) => a + b) < BUDGET_SECONDS)) {
    const started = performance.now();
    fitted = await fit(x, y, p);
    times.push((performance.now() - started) / 1000);
  }
  const started = performance.now();
  const reference = await fit(x, y, p, { extended: true });
  const result = {
    seconds: Math.min(...times),
    precision: fitted.precision,
    conditionNumber: fitted.statistics.conditionNumber,
    beta: parameters(fitted),
    extendedSeconds: (performance.now() - started) / 1000,
    reference: parameters(reference),
  };
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

const [xFile, yFile, p] = process.argv.slice(2);
main(xFile, yFile, Number(p)).catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? err.stack : String(err)}\n`);
  process.exitCode = 1;
});
