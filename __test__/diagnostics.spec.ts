/**
 * The training report's inputs: the row sample `Trainer.sample()` hands to the
 * charts, and the statsmodels-style statistics `linear train` writes into
 * model.json (log-likelihood, AIC, BIC, intervals, VIF, residual diagnostics).
 */
import test from 'ava';
import { readFile } from 'node:fs/promises';
import { makeMlTree, runCli } from './helpers/ml-tree';
import { Trainer } from '../src/native';

/** y = 1 + 2a − b + noise, with a and c correlated; deterministic. */
function rows(n: number, weights = false): string {
  let state = 7;
  const next = () => {
    state = (state * 1103515245 + 12345) % 2147483648;
    return state / 2147483648 - 0.5;
  };
  const lines = [weights ? 'y,a,b,c,w' : 'y,a,b,c'];
  for (let i = 0; i < n; i++) {
    const a = next();
    const b = next();
    const c = a + 0.5 * next();
    const y = 1 + 2 * a - b + 0.3 * c + next();
    lines.push([y, a, b, c, ...(weights ? [1 + (i % 3)] : [])].join(','));
  }
  return `${lines.join('\n')}\n`;
}

test('Trainer.sample is null before the fit, then the rows in reading order with the predictions', async (t) => {
  const trainer = new Trainer({ fitIntercept: true });
  trainer.beginSource('memory');
  await trainer.push(Buffer.from('1,0\n3,1\n5,2\n7.5,3\n'));
  trainer.endSource();
  t.is(trainer.sample(), null);
  const fit = await trainer.finish();
  const sample = trainer.sample();
  t.truthy(fit && sample);
  t.is(sample?.rows, 4);
  t.true(Number.isSafeInteger(sample?.seed));
  t.deepEqual(Array.from(sample?.actual ?? []), [1, 3, 5, 7.5]);
  t.is(sample?.fitted.length, 4);
  t.true(sample?.fitted instanceof Float64Array);
  t.is(sample?.weights, null);
  const predicted = [0, 1, 2, 3].map((x) => (fit?.intercept ?? 0) + (fit?.coefficients[0] ?? 0) * x);
  sample?.fitted.forEach((v, i) => t.true(Math.abs(v - predicted[i]) < 1e-12));
});

test('Trainer.sample keeps the weights of a weighted fit', async (t) => {
  const trainer = new Trainer({ fitIntercept: true, weightColumnName: 'w' });
  trainer.beginSource('memory');
  await trainer.push(Buffer.from(rows(30, true)));
  trainer.endSource();
  await trainer.finish();
  const sample = trainer.sample();
  t.is(sample?.rows, 30);
  t.deepEqual(Array.from(sample?.weights ?? []).slice(0, 4), [1, 2, 3, 1]);
});

for (const [name, hyperparameters, source] of [
  ['a small CSV (rows in memory)', {}, 'exact'],
  ['weights and robust standard errors', { weight_column: 'w', robust_se: 'HC1' }, 'exact'],
  ['residual_diagnostics=exact', { residual_diagnostics: 'exact' }, 'exact'],
] as const) {
  test(`linear train fills every statistic of the report: ${name}`, async (t) => {
    const weighted = 'weight_column' in hyperparameters;
    const tree = await makeMlTree({ hyperparameters, channels: { train: { 'data.csv': rows(80, weighted) } } }, t);
    const result = await runCli(['train'], { root: tree.root });
    t.is(result.code, 0, result.stderr);
    const s = JSON.parse(await readFile(tree.modelFile, 'utf8')).statistics;
    for (const key of ['log_likelihood', 'aic', 'bic']) t.is(typeof s[key], 'number', key);
    t.is(s.conf_int.level, 0.95);
    t.true(s.conf_int.lower.coefficients.every((v: number, j: number) => v < s.conf_int.upper.coefficients[j]));
    t.is(s.vif.length, 3);
    t.true(s.vif[0] > 1 && s.vif[2] > 1);
    t.is(s.residuals.source, source);
    t.is(s.residuals.rows, 80);
    for (const key of ['skew', 'kurtosis', 'omnibus', 'omnibus_p_value', 'jarque_bera', 'jarque_bera_p_value', 'durbin_watson']) {
      t.is(typeof s.residuals[key], 'number', key);
    }
  });
}

test('residual_diagnostics refuses other values with the usual coded error', async (t) => {
  const tree = await makeMlTree({ hyperparameters: { residual_diagnostics: 'sometimes' }, channels: { train: { 'data.csv': rows(10) } } }, t);
  const result = await runCli(['train'], { root: tree.root });
  t.not(result.code, 0);
  t.regex(await readFile(tree.failureFile, 'utf8'), /INVALID_HYPERPARAMETER[\s\S]*residual_diagnostics must be auto/);
});

test('residual_diagnostics=exact reads data not kept in memory once more; auto estimates from the sample', async (t) => {
  // 270,000 rows x 4 values: beyond the 2^20 values kept in memory.
  const csv = rows(270_000);
  for (const [setting, source, rows] of [
    ['exact', 'exact', 270_000],
    ['auto', 'sample', 5_000],
  ] as const) {
    const tree = await makeMlTree({ hyperparameters: { residual_diagnostics: setting }, channels: { train: { 'data.csv': csv } } }, t);
    const result = await runCli(['train'], { root: tree.root, timeoutMs: 120_000 });
    t.is(result.code, 0, result.stderr);
    t.is(result.stdout.includes('exact residual diagnostics') || result.stderr.includes('exact residual diagnostics'), setting === 'exact');
    const s = JSON.parse(await readFile(tree.modelFile, 'utf8')).statistics;
    t.is(s.residuals.source, source);
    t.is(s.residuals.rows, rows);
    t.is(s.residuals.durbin_watson === null, setting === 'auto');
  }
});
