/**
 * A test-only Python with numpy, for reference answers (never a product
 * dependency): a virtualenv at __test__/.venv, made on first use and reused.
 * Decided when a spec loads, so tests that need it are registered as skipped,
 * with the reason, where it cannot be had.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import * as path from 'node:path';

const VENV = path.join(__dirname, '..', '.venv');
const PYTHON = path.join(VENV, 'bin', 'python');
export const PYTHON_SCRIPTS = path.join(__dirname, '..', 'python');

function run(command: string, args: string[]): string | null {
  const result = spawnSync(command, args, { encoding: 'utf8', timeout: 300_000 });
  if (result.status === 0) return null;
  return (result.stderr || result.stdout || String(result.error ?? `exit ${result.status}`)).trim().split('\n').slice(-1)[0];
}

function setUp(): { python: string } | { reason: string } {
  const hasNumpy = () => existsSync(PYTHON) && run(PYTHON, ['-c', 'import numpy']) === null;
  if (hasNumpy()) return { python: PYTHON };
  const made = run('python3', ['-m', 'venv', VENV]);
  if (made !== null) return { reason: `no Python virtualenv (${made})` };
  const installed = run(PYTHON, ['-m', 'pip', 'install', '--quiet', '--disable-pip-version-check', '--retries', '1', '--timeout', '30', 'numpy']);
  if (installed !== null || !hasNumpy()) return { reason: `numpy could not be installed (${installed ?? 'import failed'})` };
  return { python: PYTHON };
}

export const NUMPY = setUp();
