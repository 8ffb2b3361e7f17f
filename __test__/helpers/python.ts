/**
 * Test-only Pythons for reference answers and reference files (never a
 * product dependency), virtualenvs under __test__/.venv made by
 * scripts/test-python.sh (npm test runs it first):
 *
 * - `NUMPY`: numpy alone, at __test__/.venv.
 * - `formatsPython()`: numpy, scipy, pyarrow and the SageMaker Python SDK v2
 *   (its `sagemaker.amazon.common` writes and reads real RecordIO-protobuf),
 *   at __test__/.venv/formats.
 * - `estimatorsPython()`: numpy, scipy, scikit-learn and statsmodels (reference
 *   estimators), at __test__/.venv/estimators.
 * - `botocorePython()`: botocore, whose SageMaker service model is the
 *   reference for CreateAlgorithm requests, and regex for its patterns, at
 *   __test__/.venv/botocore.
 *
 * All are decided before tests are registered, so tests that need them are
 * registered as skipped, with the reason, where they cannot be had.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import * as path from 'node:path';

const VENV = path.join(__dirname, '..', '.venv');
const PYTHON = path.join(VENV, 'bin', 'python');
export const PYTHON_SCRIPTS = path.join(__dirname, '..', 'python');

/** A Python to run, or why there is none. */
export type PythonAvailability = { python: string } | { reason: string };

/** Runs a command; null when it succeeded, else the last line it printed. */
function run(command: string, args: string[], timeout = 300_000, env?: NodeJS.ProcessEnv): string | null {
  const result = spawnSync(command, args, { encoding: 'utf8', timeout, ...(env ? { env: { ...process.env, ...env } } : {}) });
  if (result.status === 0) return null;
  return (result.stderr || result.stdout || String(result.error ?? `exit ${result.status}`)).trim().split('\n').slice(-1)[0];
}

const MAKE_THEM = 'run bash scripts/test-python.sh (npm test does) to make it';

function setUp(): PythonAvailability {
  if (!existsSync(PYTHON)) return { reason: `no test Python at ${VENV}; ${MAKE_THEM}` };
  const failed = run(PYTHON, ['-c', 'import numpy']);
  return failed === null ? { python: PYTHON } : { reason: `numpy does not import in ${VENV} (${failed}); ${MAKE_THEM}` };
}

export const NUMPY = setUp();

/** Silences the SDK's v2 deprecation notice, which would otherwise fill stderr on every run. */
export const FORMATS_PYTHON_ENV: NodeJS.ProcessEnv = { SAGEMAKER_SUPPRESS_V2_WARNING: '1' };

/** A virtualenv under __test__/.venv whose imports are checked once per process, on first use. */
function virtualenv(name: string, imports: string, what: string, env?: NodeJS.ProcessEnv): () => PythonAvailability {
  const dir = path.join(VENV, name);
  const python = path.join(dir, 'bin', 'python');
  let checked: PythonAvailability | undefined;
  return () => {
    checked ??= ((): PythonAvailability => {
      if (!existsSync(python)) return { reason: `no test Python with ${what} at ${dir}; ${MAKE_THEM}` };
      const failed = run(python, ['-c', imports], 120_000, env);
      return failed === null ? { python } : { reason: `${what} do not import in ${dir} (${failed}); ${MAKE_THEM}` };
    })();
    return checked;
  };
}

/** The Python with the SageMaker SDK, scipy and pyarrow. */
export const formatsPython = virtualenv(
  'formats',
  'import numpy, scipy.sparse, pyarrow.parquet; from sagemaker.amazon.common import read_records, write_numpy_to_dense_tensor, write_spmatrix_to_sparse_tensor',
  'the SageMaker SDK, scipy or pyarrow',
  FORMATS_PYTHON_ENV,
);

/** The Python with scikit-learn, statsmodels and scipy. */
export const estimatorsPython = virtualenv('estimators', 'import numpy, scipy.optimize, sklearn.linear_model, statsmodels.api', 'scikit-learn, statsmodels or scipy');

/** The Python with botocore (its SageMaker service model) and regex. */
export const botocorePython = virtualenv('botocore', 'import botocore.session, botocore.validate, regex', 'botocore or regex');
