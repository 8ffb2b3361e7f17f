/**
 * The Python peers: a venv at bench/.venv with the packages of
 * bench/python/requirements.txt, created on the first run and reused while the
 * requirements are unchanged. Anything missing becomes a reason that the
 * affected rows print instead of numbers.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readFile, rm, writeFile } from 'node:fs/promises';
import * as path from 'node:path';
import { PYTHON_DIR, VENV_DIR } from './paths';
import { run } from './processes';

export type PythonPackage = 'numpy' | 'pandas' | 'scikit-learn' | 'polars' | 'pyarrow' | 'flask' | 'gunicorn' | 'sagemaker';

export interface PythonEnv {
  /** The venv's interpreter, null when there is none. */
  python: string | null;
  version: string | null;
  packages: Partial<Record<PythonPackage, string>>;
  blas: string | null;
  /** Seconds the venv took to set up in this run, null when it was reused. */
  setupSeconds: number | null;
  /** Why a package is unavailable, for the rows that need it. */
  missing(...needed: PythonPackage[]): string | null;
}

const REQUIREMENTS = path.join(PYTHON_DIR, 'requirements.txt');
/** Holds the requirements the venv was completed with; absent while it is incomplete. */
const READY_MARKER = path.join(VENV_DIR, '.bench-requirements');
const VENV_PYTHON = path.join(VENV_DIR, 'bin', 'python');
/** The scripts import each other; bytecode caches would litter bench/python. */
export const PYTHON_ENV = { PYTHONDONTWRITEBYTECODE: '1' };
/** pip retries a dead registry for minutes by default; one short retry is enough to know. */
const PIP_FLAGS = ['install', '--quiet', '--disable-pip-version-check', '--retries', '1', '--timeout', '30'];

function systemPython(): string | null {
  return spawnSync('python3', ['--version']).status === 0 ? 'python3' : null;
}

async function isReady(requirements: string): Promise<boolean> {
  return existsSync(VENV_PYTHON) && existsSync(READY_MARKER) && (await readFile(READY_MARKER, 'utf8')) === requirements;
}

function packageNames(requirements: string): string[] {
  return requirements
    .split('\n')
    .map((line) => line.replace(/#.*/, '').trim())
    .filter((line) => line !== '');
}

/** Installs everything at once; when that fails, package by package so the rest still run. */
async function install(requirements: string): Promise<string | null> {
  if (!existsSync(VENV_PYTHON)) await run('python3', ['-m', 'venv', VENV_DIR]);
  try {
    await run(VENV_PYTHON, ['-m', 'pip', ...PIP_FLAGS, '-r', REQUIREMENTS]);
    return null;
  } catch (err) {
    for (const name of packageNames(requirements)) {
      await run(VENV_PYTHON, ['-m', 'pip', ...PIP_FLAGS, name]).catch(() => undefined);
    }
    return (err as Error).message;
  }
}

interface Versions {
  python: string;
  packages: Record<PythonPackage, string | null>;
  blas: string | null;
}

async function versions(): Promise<Versions> {
  const { stdout } = await run(VENV_PYTHON, [path.join(PYTHON_DIR, 'versions.py')]);
  return JSON.parse(stdout) as Versions;
}

function unavailable(reason: string): PythonEnv {
  return { python: null, version: null, packages: {}, blas: null, setupSeconds: null, missing: () => reason };
}

interface Setup {
  /** Null when the venv was reused. */
  seconds: number | null;
  /** Why pip failed, when some package did not install. */
  installError: string | null;
}

/** Creates or completes the venv; throws when there can be no venv at all. */
async function ensureVenv(log: (line: string) => void): Promise<Setup> {
  const requirements = await readFile(REQUIREMENTS, 'utf8');
  if (await isReady(requirements)) return { seconds: null, installError: null };
  log(`setting up the Python peers in ${path.relative(process.cwd(), VENV_DIR)} (first run only)...`);
  const started = Date.now();
  await rm(READY_MARKER, { force: true });
  const installError = await install(requirements);
  if (installError === null) await writeFile(READY_MARKER, requirements);
  const seconds = (Date.now() - started) / 1000;
  log(`venv set up in ${seconds.toFixed(0)} s${installError ? ` (incomplete: ${installError})` : ''}`);
  return { seconds, installError };
}

function available(found: Versions, setup: Setup): PythonEnv {
  const packages: Partial<Record<PythonPackage, string>> = {};
  for (const [name, version] of Object.entries(found.packages)) if (version !== null) packages[name as PythonPackage] = version;
  const missing = (...needed: PythonPackage[]) => {
    const absent = needed.filter((name) => packages[name] === undefined);
    if (absent.length === 0) return null;
    return `${absent.join(', ')} not installed${setup.installError ? ' (pip could not reach PyPI or failed)' : ''}`;
  };
  return { python: VENV_PYTHON, version: found.python, packages, blas: found.blas, setupSeconds: setup.seconds, missing };
}

export async function pythonEnv(log: (line: string) => void): Promise<PythonEnv> {
  if (systemPython() === null) return unavailable('python3 not found');
  let setup: Setup;
  try {
    setup = await ensureVenv(log);
  } catch (err) {
    return unavailable(`could not create the venv: ${(err as Error).message}`);
  }
  try {
    return available(await versions(), setup);
  } catch (err) {
    return unavailable(`the venv's python does not run: ${(err as Error).message}`);
  }
}

/** Runs one of bench/python/*.py in the venv; its last stdout line is the JSON answer. */
export async function pythonJson<T>(env: PythonEnv, script: string, args: string[]): Promise<T> {
  if (env.python === null) throw new Error('no Python venv');
  const { stdout } = await run(env.python, [path.join(PYTHON_DIR, script), ...args], { env: PYTHON_ENV });
  return JSON.parse(stdout.trim().split('\n').pop() ?? '') as T;
}
