/** Where the bench reads and writes; everything but RESULTS.md is gitignored. */
import * as path from 'node:path';

export const REPO_ROOT = path.resolve(__dirname, '..', '..');
export const BENCH_DIR = path.join(REPO_ROOT, 'bench');
export const CLI = path.join(REPO_ROOT, 'dist', 'main.js');
/** Generated inputs, reused between runs when the same size and seed exist. */
export const DATA_DIR = path.join(BENCH_DIR, 'data');
/** SageMaker trees, models, logs and quick-mode results of the last run. */
export const OUT_DIR = path.join(BENCH_DIR, 'out');
export const VENV_DIR = path.join(BENCH_DIR, '.venv');
export const PYTHON_DIR = path.join(BENCH_DIR, 'python');
export const RESULTS_FILE = path.join(BENCH_DIR, 'RESULTS.md');
export const QUICK_RESULTS_FILE = path.join(OUT_DIR, 'RESULTS-quick.md');

/** Runs a TypeScript helper in a fresh node, as `npm run bench` runs the driver. */
export function tsNodeArgs(script: string, ...args: string[]): string[] {
  return ['--import', 'tsx', path.join(BENCH_DIR, script), ...args];
}
