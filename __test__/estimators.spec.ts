/**
 * The estimators beyond OLS and ridge, through the real CLI, against
 * independent references (scikit-learn, scipy, statsmodels, numpy) computed
 * by __test__/python/estimators.py on the same seeded data: elastic net and
 * lasso (plus their KKT conditions), non-negative least squares, sample
 * weights, HC0-HC3 robust standard errors and the exact cross-validation
 * curve of l2=auto and l1=auto. Then the refusals a user gets for settings
 * that do not go together.
 */
import test, { type ExecutionContext } from 'ava';
import { execFile } from 'node:child_process';
import { copyFile, mkdir, readFile, writeFile } from 'node:fs/promises';
import * as path from 'node:path';
import { makeMlTree, runCli, type CliResult, type MlTree } from './helpers/ml-tree';
import { PYTHON_SCRIPTS, estimatorsPython } from './helpers/python';

const PYTHON = estimatorsPython();
const withPython = 'python' in PYTHON ? test : test.skip;
const NEEDS_PYTHON = 'reason' in PYTHON ? ` (skipped: ${PYTHON.reason})` : '';
const SCRIPT = path.join(PYTHON_SCRIPTS, 'estimators.py');

function python(args: string[]): Promise<string> {
  if (!('python' in PYTHON)) throw new Error(`no Python: ${PYTHON.reason}`);
  const interpreter = PYTHON.python;
  return new Promise((resolve, reject) => {
    execFile(interpreter, [SCRIPT, ...args], { encoding: 'utf8', maxBuffer: 1 << 26, timeout: 300_000 }, (err, stdout, stderr) =>
      err ? reject(new Error(`estimators.py ${args.join(' ')} failed: ${err.message}\n${stderr}`)) : resolve(stdout),
    );
  });
}

function describe(r: CliResult): string {
  return `exit ${r.code}\n--- stdout ---\n${r.stdout.slice(0, 3000)}\n--- stderr ---\n${r.stderr.slice(0, 3000)}`;
}

interface Trained {
  tree: MlTree;
  run: CliResult;
  model: Record<string, unknown>;
}

/** Writes the case's data, trains on it with the case's settings (plus `extra`), and returns the model. */
async function train(t: ExecutionContext, name: string, extra: Record<string, string> = {}, validation = false): Promise<Trained> {
  const tree = await makeMlTree({ channels: { train: {} } }, t);
  const settings = JSON.parse(await python(['make', name, tree.channel('train')])) as Record<string, string>;
  const hyperparameters = { ...settings, ...extra };
  await writeFile(path.join(tree.configDir, 'hyperparameters.json'), JSON.stringify(hyperparameters));
  if (validation) {
    await mkdir(tree.channel('validation'));
    await copyFile(path.join(tree.channel('train'), 'train.csv'), path.join(tree.channel('validation'), 'validation.csv'));
  }
  const run = await runCli(['train'], { root: tree.root, timeoutMs: 300_000 });
  t.is(run.code, 0, describe(run));
  const model = JSON.parse(await readFile(tree.modelFile, 'utf8')) as Record<string, unknown>;
  return { tree, run, model };
}

/** How the model compares with the references (logged, so a run shows the figures). */
async function compare(t: ExecutionContext, name: string, trained: Trained): Promise<Record<string, number & unknown>> {
  const text = await python(['check', name, trained.tree.channel('train'), trained.tree.modelFile]);
  t.log(text.trim());
  return JSON.parse(text) as Record<string, number & unknown>;
}

withPython(`lasso (l1) matches scikit-learn Lasso at tol 1e-14 and meets its KKT conditions${NEEDS_PYTHON}`, async (t) => {
  const trained = await train(t, 'lasso');
  const r = await compare(t, 'lasso', trained);
  t.true(r.kkt <= 1e-9, `KKT residual ${r.kkt}`);
  t.true(r.coefficients <= 1e-8, `coefficients differ by ${r.coefficients} (relative)`);
  t.true(r.intercept <= 1e-8, `intercept differs by ${r.intercept}`);
  t.true(r.zeros > 0, 'a lasso this strong sets some coefficients to exactly 0');
  t.is(r.zeros, r.reference_zeros, 'the same coefficients are exactly zero');
  t.regex(trained.run.stdout, /Elastic net \(l1=0\.1, wd=0\)/);
  t.regex(trained.run.stdout, /not reported for penalised or constrained fits/);
});

withPython(`elastic net (l1, wd) matches scikit-learn ElasticNet at tol 1e-14 and meets its KKT conditions${NEEDS_PYTHON}`, async (t) => {
  const trained = await train(t, 'elastic_net');
  const r = await compare(t, 'elastic_net', trained);
  t.true(r.kkt <= 1e-9, `KKT residual ${r.kkt}`);
  t.true(r.coefficients <= 1e-8, `coefficients differ by ${r.coefficients} (relative)`);
  t.true(r.intercept <= 1e-8, `intercept differs by ${r.intercept}`);
  const statistics = trained.model.statistics as { std_errors: { coefficients: unknown[] } };
  t.true(statistics.std_errors.coefficients.every((v) => v === null), 'penalised fits carry no classical standard errors');
  t.is(trained.model.inference, null);
});

withPython(`non_negative matches scipy nnls on centred data and scikit-learn positive=True${NEEDS_PYTHON}`, async (t) => {
  const trained = await train(t, 'non_negative');
  const r = (await compare(t, 'non_negative', trained)) as unknown as { coefficients: number; intercept: number; sklearn: number; at_bound: boolean[] };
  t.true(r.coefficients <= 1e-8, `coefficients differ from nnls by ${r.coefficients}`);
  t.true(r.intercept <= 1e-8, `intercept differs by ${r.intercept}`);
  t.true(r.sklearn <= 1e-6, `coefficients differ from scikit-learn by ${r.sklearn}`);
  t.deepEqual(trained.model.at_bound, r.at_bound, 'the active constraints are the ones nnls leaves at 0');
  t.true(r.at_bound.some((b) => b), 'the case has negative true slopes, so some constraints are active');
  t.regex(trained.run.stdout, /Non-negative least squares/);
});

withPython(`weight_column gives statsmodels WLS coefficients (1e-10) and standard errors (1e-8), and weighted validation metrics${NEEDS_PYTHON}`, async (t) => {
  const trained = await train(t, 'weights', {}, true);
  const r = await compare(t, 'weights', trained);
  t.true(r.coefficients <= 1e-10, `coefficients differ by ${r.coefficients}`);
  t.true(r.std_errors <= 1e-8, `standard errors differ by ${r.std_errors}`);
  t.true(r.r_squared <= 1e-10, `R-squared differs by ${r.r_squared}`);
  const statistics = trained.model.statistics as { n: number };
  t.is(statistics.n, r.n, 'n counts the rows with positive weight');
  const validationMse = Number(/^validation:mse=(.*)$/m.exec(trained.run.stdout)?.[1]);
  t.true(Math.abs(validationMse - r.weighted_mse) <= 1e-10 * r.weighted_mse, `validation mse ${validationMse} vs Σw·r²/Σw ${r.weighted_mse}`);
  t.deepEqual(trained.model.weight_column, { name: 'w', column: 4 });
  t.deepEqual(trained.model.feature_names, ['x1', 'x2', 'x3', 'x4', 'x5', 'x6', 'x7', 'x8'], 'the weight column is not a feature');
  // The same column by number (the label is column 1) gives the same model.
  const byNumber = await train(t, 'weights', { weight_column: '4' });
  t.deepEqual(byNumber.model.coefficients, trained.model.coefficients);
});

for (const kind of ['HC0', 'HC1', 'HC2', 'HC3']) {
  withPython(`robust_se=${kind} matches statsmodels OLS(cov_type='${kind}') to 1e-8${NEEDS_PYTHON}`, async (t) => {
    const trained = await train(t, 'robust', { robust_se: kind });
    const r = await compare(t, 'robust', trained);
    t.true(r.coefficients <= 1e-10, `coefficients differ by ${r.coefficients}`);
    t.true(r.std_errors <= 1e-8, `standard errors differ by ${r.std_errors}`);
    t.true(r.p_values <= 1e-6, `p-values differ by ${r.p_values}`);
    t.true(r.f_statistic <= 1e-8, `F differs by ${r.f_statistic}`);
    t.regex(trained.run.stdout, new RegExp(`Covariance Type:\\s+${kind}`));
  });
}

withPython(`l2=auto: the CV curve equals a direct fold-wise computation (1e-8) and the choice is its argmin${NEEDS_PYTHON}`, async (t) => {
  const trained = await train(t, 'ridge_cv');
  const r = await compare(t, 'ridge_cv', trained);
  t.true(r.grid_size >= 20, `grid of ${r.grid_size}`);
  t.true(r.mse <= 1e-8, `CV curve differs by ${r.mse}`);
  t.is(r.chosen_index, r.argmin);
  t.true(r.fitted_penalty as unknown as boolean, 'the model is fitted with the chosen l2');
  t.true(r.coefficients <= 1e-8, `coefficients differ from Ridge(alpha=chosen) by ${r.coefficients}`);
  t.regex(trained.run.stdout, /Model:\s+Ridge/);
  t.regex(trained.run.stdout, /cross-validation/i);
});

withPython(`l1=auto: the lasso CV curve equals scikit-learn Lasso fitted fold by fold (1e-8)${NEEDS_PYTHON}`, async (t) => {
  const trained = await train(t, 'lasso_cv');
  const r = await compare(t, 'lasso_cv', trained);
  t.true(r.mse <= 1e-8, `CV curve differs by ${r.mse}`);
  t.is(r.chosen_index, r.argmin);
  t.true(r.fitted_penalty as unknown as boolean, 'the model is fitted with the chosen l1');
  t.true(r.coefficients <= 1e-8, `coefficients differ from Lasso(alpha=chosen) by ${r.coefficients}`);
});

// ---------------------------------------------------------------------------
// Settings that do not go together, and bad weights.

const GOOD = 'y,x1,w,x2\n1,0,1,3\n4,1,2,1\n7,2,1,4\n10,3,0.5,2\n12,4,1,9\n';

async function failure(t: ExecutionContext, hyperparameters: Record<string, string>, data = GOOD): Promise<string> {
  const tree = await makeMlTree({ hyperparameters, channels: { train: { 'a.csv': data } } }, t);
  const run = await runCli(['train'], { root: tree.root });
  t.is(run.code, 2, describe(run));
  return readFile(tree.failureFile, 'utf8');
}

test('l2 and wd together are refused with the conversion between them', async (t) => {
  const message = await failure(t, { l2: '1', wd: '0.1' });
  t.regex(message, /^INVALID_HYPERPARAMETER: /);
  t.true(message.includes('l2 = n * wd'), message);
});

test('robust_se with a penalty is refused, saying why', async (t) => {
  const message = await failure(t, { l2: '1', robust_se: 'HC3' });
  t.regex(message, /^UNSUPPORTED_HYPERPARAMETER: .*robust_se=HC3/);
});

test('a negative weight is INVALID_WEIGHT naming the file and line', async (t) => {
  const message = await failure(t, { weight_column: 'w' }, 'y,x1,w,x2\n1,0,1,3\n4,1,-2,1\n7,2,1,4\n10,3,1,2\n');
  t.regex(message, /^INVALID_WEIGHT: /);
  t.true(message.includes('a.csv') && message.includes('-2'), message);
});

test('a weight column that is not in the header is HEADER_MISMATCH with the names there are', async (t) => {
  const message = await failure(t, { weight_column: 'weight' });
  t.regex(message, /^HEADER_MISMATCH: .*weight/);
  t.true(message.includes('w'), message);
});

test('a validation channel without the weight column the model was trained with is HEADER_MISMATCH naming it', async (t) => {
  const tree = await makeMlTree(
    { hyperparameters: { weight_column: 'w' }, channels: { train: { 'a.csv': GOOD }, validation: { 'v.csv': 'y,x1,x2\n1,0,3\n4,1,1\n' } } },
    t,
  );
  const run = await runCli(['train'], { root: tree.root });
  t.is(run.code, 2, describe(run));
  const message = await readFile(tree.failureFile, 'utf8');
  t.regex(message, /^HEADER_MISMATCH: .*sample weights in column 'w'/);
});
