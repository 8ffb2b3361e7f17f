/**
 * The summary statistics statsmodels users read (log-likelihood, AIC, BIC,
 * 95% confidence intervals, coefficient p-values, VIFs, and the residual diagnostics: skew,
 * kurtosis, Omnibus, Jarque-Bera, Durbin-Watson), through the real CLI,
 * against statsmodels on the same seeded data (__test__/python/summary.py):
 * OLS, WLS, a fit through the origin, and a channel too large to keep whose
 * diagnostics come from a second pass, or from the row sample by default.
 */
import test, { type ExecutionContext } from 'ava';
import { execFile } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import * as path from 'node:path';
import { makeMlTree, runCli } from './helpers/ml-tree';
import { PYTHON_SCRIPTS, estimatorsPython } from './helpers/python';

const PYTHON = estimatorsPython();
const withPython = 'python' in PYTHON ? test : test.skip;
const NEEDS_PYTHON = 'reason' in PYTHON ? ` (skipped: ${PYTHON.reason})` : '';
const SCRIPT = path.join(PYTHON_SCRIPTS, 'summary.py');

/** The statistics compared, each to 1e-8 relative. */
const PARITY = [
  'log_likelihood',
  'aic',
  'bic',
  'conf_int_lower',
  'conf_int_upper',
  'p_values',
  'vif',
  'skew',
  'kurtosis',
  'omnibus',
  'omnibus_p_value',
  'jarque_bera',
  'jarque_bera_p_value',
  'durbin_watson',
] as const;

function python(args: string[]): Promise<string> {
  if (!('python' in PYTHON)) throw new Error(`no Python: ${PYTHON.reason}`);
  const interpreter = PYTHON.python;
  return new Promise((resolve, reject) => {
    execFile(interpreter, [SCRIPT, ...args], { encoding: 'utf8', maxBuffer: 1 << 26, timeout: 300_000 }, (err, stdout, stderr) =>
      err ? reject(new Error(`summary.py ${args.join(' ')} failed: ${err.message}\n${stderr}`)) : resolve(stdout),
    );
  });
}

interface Trained {
  stdout: string;
  model: { statistics: { residuals: { source: string; rows: number; durbin_watson: number | null; skew: number | null } | null } };
  differences: Record<string, unknown>;
}

async function trainCase(t: ExecutionContext, name: string, extra: Record<string, string> = {}): Promise<Trained> {
  const tree = await makeMlTree({ channels: { train: {} } }, t);
  const settings = JSON.parse(await python(['make', name, tree.channel('train')])) as Record<string, string>;
  await writeFile(path.join(tree.configDir, 'hyperparameters.json'), JSON.stringify({ ...settings, ...extra }));
  const run = await runCli(['train'], { root: tree.root, timeoutMs: 300_000 });
  t.is(run.code, 0, `exit ${run.code}\n${run.stderr.slice(0, 3000)}`);
  const model = JSON.parse(await readFile(tree.modelFile, 'utf8')) as Trained['model'];
  const text = await python(['check', name, tree.channel('train'), tree.modelFile]);
  t.log(text.trim());
  return { stdout: run.stdout, model, differences: JSON.parse(text) as Record<string, unknown> };
}

function assertParity(t: ExecutionContext, differences: Record<string, unknown>): void {
  for (const name of PARITY) {
    const difference = differences[name];
    t.true(typeof difference === 'number' && difference <= 1e-8, `${name}: relative difference ${String(difference)} from statsmodels`);
  }
}

for (const [name, what] of [
  ['ols', 'OLS with an intercept'],
  ['wls', 'WLS (weight_column)'],
  ['origin', 'OLS through the origin (fit_intercept=false)'],
] as const) {
  withPython(`${what}: LL, AIC, BIC, CIs, VIFs, skew, kurtosis, Omnibus, JB, Durbin-Watson match statsmodels to 1e-8${NEEDS_PYTHON}`, async (t) => {
    const { differences, stdout } = await trainCase(t, name);
    assertParity(t, differences);
    t.is(differences.residuals_source, 'exact', 'a channel this small is kept: its diagnostics are of every row');
    t.is(differences.residuals_rows, 400);
    for (const label of ['Log-Likelihood:', 'AIC:', 'BIC:', 'Omnibus:', 'Durbin-Watson:', 'Jarque-Bera (JB):', 'Prob(JB):', 'Skew:', 'Kurtosis:', '[0.025', '0.975]']) {
      t.true(stdout.includes(label), `the summary shows ${label}`);
    }
  });
}

withPython(`a channel too large to keep: residual_diagnostics=exact reads it again and matches statsmodels to 1e-8${NEEDS_PYTHON}`, async (t) => {
  const { differences, stdout } = await trainCase(t, 'large');
  assertParity(t, differences);
  t.is(differences.residuals_source, 'exact');
  t.is(differences.residuals_rows, 120_000);
  t.regex(stdout, /Durbin-Watson:/);
});

withPython(`a channel too large to keep: by default the residual diagnostics come from the row sample, and say so${NEEDS_PYTHON}`, async (t) => {
  const { model, differences } = await trainCase(t, 'large', { residual_diagnostics: 'auto' });
  const residuals = model.statistics.residuals;
  t.is(residuals?.source, 'sample');
  t.is(residuals?.rows, 5000, 'the sample holds 5,000 rows');
  t.is(residuals?.durbin_watson, null, 'a sample has no row order to test');
  t.true(typeof residuals?.skew === 'number' && Number.isFinite(residuals.skew));
  // Model-level statistics need no residuals: still exact.
  for (const name of ['log_likelihood', 'aic', 'bic', 'conf_int_lower', 'conf_int_upper', 'p_values', 'vif']) {
    t.true((differences[name] as number) <= 1e-8, `${name}: ${String(differences[name])}`);
  }
});
