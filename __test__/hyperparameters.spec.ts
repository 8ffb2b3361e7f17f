import test from 'ava';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { HYPERPARAMETER_NAMES } from '../src/contract/hyperparameter-table';
import { parseHyperparameters, readHyperparameters } from '../src/contract/hyperparameters';
import { IGNORED, REFUSED } from '../src/contract/linear-learner';
import { mlPaths } from '../src/contract/paths';
import { ErrorCode, LinearError, failureLine } from '../src/errors';
import { README, withSections } from '../scripts/docs';
import { FORMATS_PYTHON_ENV, PYTHON_SCRIPTS, formatsPython } from './helpers/python';

const SDK = formatsPython();
const withSdk = 'python' in SDK ? test : test.skip;
const NEEDS_SDK = 'reason' in SDK ? ` (skipped: ${SDK.reason})` : '';

/** What an empty hyperparameters.json means. */
const DEFAULTS = { fitIntercept: true, l2: 0, l1: 0, wd: 0, nonNegative: false, cvFolds: 5, checkpointInterval: 60 };

function parseError(raw: unknown): LinearError {
  try {
    parseHyperparameters(raw);
  } catch (err) {
    if (err instanceof LinearError) return err;
    throw err;
  }
  throw new Error(`expected ${JSON.stringify(raw)} to be rejected`);
}

withSdk(`every Linear Learner hyperparameter of the SageMaker Python SDK is in the table, ignored or refused, and the lists hold no other${NEEDS_SDK}`, (t) => {
  if (!('python' in SDK)) return;
  const output = execFileSync(SDK.python, [path.join(PYTHON_SCRIPTS, 'linear_learner.py')], { encoding: 'utf8', env: { ...process.env, ...FORMATS_PYTHON_ENV } });
  // The SDK prints its own notices on stdout first.
  const sdkNames = JSON.parse(output.trim().split('\n').at(-1) ?? '[]') as string[];
  t.true(sdkNames.includes('use_lr_scheduler'), 'the SDK declares use_lr_scheduler');
  const known = new Set<string>([...HYPERPARAMETER_NAMES, ...IGNORED, ...REFUSED.keys()]);
  t.deepEqual(sdkNames.filter((name) => !known.has(name)), [], 'SDK names this container does not know');
  t.deepEqual([...IGNORED, ...REFUSED.keys()].filter((name) => !sdkNames.includes(name)), [], 'listed names the SDK does not declare');
});

test("the README's hyperparameter table is the table (npm run docs regenerates it)", (t) => {
  const readme = readFileSync(README, 'utf8');
  t.is(readme, withSections(readme));
  for (const name of HYPERPARAMETER_NAMES) t.regex(readme, new RegExp(`^\\| \`${name}\` \\|`, 'm'));
});

test('a missing file or an empty object gives the defaults', (t) => {
  const expected = { hyperparameters: DEFAULTS, warnings: [] };
  t.deepEqual(parseHyperparameters(undefined), expected);
  t.deepEqual(parseHyperparameters({}), expected);
});

test('booleans are read case-insensitively, JSON-encoded or plain', (t) => {
  const cases: Array<[unknown, boolean]> = [
    ['True', true],
    ['false', false],
    [' FALSE ', false],
    ['"true"', true],
    ['"False"', false],
    [true, true],
    [false, false],
  ];
  for (const [value, expected] of cases) {
    t.is(parseHyperparameters({ fit_intercept: value }).hyperparameters.fitIntercept, expected, String(value));
  }
});

test('numbers are read from plain and JSON-encoded strings and from JSON numbers', (t) => {
  for (const value of ['0.5', '"0.5"', 0.5, '5e-1', ' 0.5 ']) {
    t.is(parseHyperparameters({ l2: value }).hyperparameters.l2, 0.5, String(value));
  }
});

test('use_bias is an alias of fit_intercept', (t) => {
  t.false(parseHyperparameters({ use_bias: 'False' }).hyperparameters.fitIntercept);
  t.false(parseHyperparameters({ use_bias: 'false', fit_intercept: 'false' }).hyperparameters.fitIntercept);
});

test('fit_intercept and use_bias that disagree are rejected', (t) => {
  const err = parseError({ fit_intercept: 'true', use_bias: 'false' });
  t.is(err.code, ErrorCode.INVALID_HYPERPARAMETER);
  t.regex(err.message, /fit_intercept=true and use_bias=false disagree/);
});

test('a boolean that is not true or false is rejected with the value', (t) => {
  const err = parseError({ fit_intercept: 'yes' });
  t.is(err.code, ErrorCode.INVALID_HYPERPARAMETER);
  t.is(err.message, "hyperparameters.json: fit_intercept must be true or false, got 'yes'");
});

test('l2 must be a finite number >= 0', (t) => {
  for (const value of ['-1', 'abc', 'NaN', 'Infinity', '-Infinity', '1e400', '', 'true']) {
    const err = parseError({ l2: value });
    t.is(err.code, ErrorCode.INVALID_HYPERPARAMETER, value);
    t.true(err.message.includes(`l2 must be a number >= 0`), value);
    t.true(err.message.includes(`got '`), value);
  }
  t.is(parseHyperparameters({ l2: '0' }).hyperparameters.l2, 0);
});

test('feature_dim is auto or a positive integer', (t) => {
  t.is(parseHyperparameters({ feature_dim: 'auto' }).hyperparameters.featureDim, undefined);
  t.is(parseHyperparameters({ feature_dim: '"AUTO"' }).hyperparameters.featureDim, undefined);
  t.is(parseHyperparameters({ feature_dim: '7' }).hyperparameters.featureDim, 7);
  for (const value of ['0', '-3', '2.5', 'seven']) {
    const err = parseError({ feature_dim: value });
    t.is(err.code, ErrorCode.INVALID_HYPERPARAMETER, value);
    t.regex(err.message, /feature_dim must be auto or a positive integer/);
  }
});

test('predictor_type must be regressor', (t) => {
  t.deepEqual(parseHyperparameters({ predictor_type: 'regressor' }).warnings, []);
  t.notThrows(() => parseHyperparameters({ predictor_type: 'Regressor' }));
  const err = parseError({ predictor_type: 'binary_classifier' });
  t.is(err.code, ErrorCode.UNSUPPORTED_HYPERPARAMETER);
  t.regex(err.message, /predictor_type 'binary_classifier' is not supported: this container fits regression only/);
});

test('loss must be auto or squared_loss', (t) => {
  t.notThrows(() => parseHyperparameters({ loss: 'auto' }));
  t.notThrows(() => parseHyperparameters({ loss: 'squared_loss' }));
  for (const loss of ['absolute_loss', 'huber_loss', 'quantile_loss', 'eps_insensitive_squared_loss']) {
    const err = parseError({ loss });
    t.is(err.code, ErrorCode.UNSUPPORTED_HYPERPARAMETER, loss);
    t.regex(err.message, /only squared loss \(ordinary least squares\) is fitted/);
  }
});

test('every SGD-only knob is accepted with a warning', (t) => {
  // The list itself is checked against the SageMaker SDK's LinearLearner below.
  for (const knob of IGNORED) {
    const { hyperparameters, warnings } = parseHyperparameters({ [knob]: '500' });
    t.deepEqual(hyperparameters, DEFAULTS, knob);
    t.deepEqual(warnings, [`${knob}=500 ignored: the least-squares solution is computed exactly, no SGD`]);
  }
});

test('SGD-only knobs tolerate any scalar value', (t) => {
  const { warnings } = parseHyperparameters({ optimizer: 'adam', normalize_data: true, learning_rate: 'auto' });
  t.is(warnings.length, 3);
});

test('l1, wd and l2 take numbers >= 0 or auto', (t) => {
  for (const knob of ['l1', 'wd', 'l2'] as const) {
    t.is(parseHyperparameters({ [knob]: '0.25' }).hyperparameters[knob], 0.25, knob);
    t.is(parseHyperparameters({ [knob]: 'AUTO' }).hyperparameters[knob], 'auto', knob);
    const err = parseError({ [knob]: '-1' });
    t.is(err.code, ErrorCode.INVALID_HYPERPARAMETER);
    t.regex(err.message, new RegExp(`${knob} must be a number >= 0 .* or auto`));
  }
  t.deepEqual(parseHyperparameters({ l1: '0.1', wd: '0.2' }).hyperparameters, { ...DEFAULTS, l1: 0.1, wd: 0.2 });
});

test("l2 with wd or l1 is refused with the conversion; two autos are refused, but Linear Learner's l1=auto, wd=auto mean no penalty", (t) => {
  const both = parseError({ l2: '1', wd: '0.1' });
  t.is(both.code, ErrorCode.INVALID_HYPERPARAMETER);
  t.true(both.message.includes('l2 = n * wd'), both.message);
  t.regex(parseError({ l2: '1', l1: '0.1' }).message, /set wd = l2 \/ n/);
  t.notThrows(() => parseHyperparameters({ l2: '1', wd: '0' }), 'a zero penalty is no penalty');
  const autos = parseError({ l1: '0.1', wd: 'auto', l2: 'auto' });
  t.is(autos.code, ErrorCode.INVALID_HYPERPARAMETER);
  const linearLearner = parseHyperparameters({ l1: 'auto', wd: 'auto' });
  t.deepEqual(linearLearner.hyperparameters, DEFAULTS);
  t.regex(linearLearner.warnings[0], /^l1=auto and wd=auto \(Linear Learner's defaults\) ignored: no elastic net penalty/);
  t.deepEqual(parseHyperparameters({ l1: 'auto', cv_folds: '4' }).warnings, ['l1=auto: l1 is chosen by 4-fold cross-validation']);
  const l2AndL1 = parseError({ l1: 'auto', l2: 'auto' });
  t.is(l2AndL1.code, ErrorCode.INVALID_HYPERPARAMETER, l2AndL1.message);
});

test('non_negative, cv_folds, robust_se and weight_column parse and check their values', (t) => {
  const h = parseHyperparameters({ cv_folds: '10', robust_se: 'hc3', weight_column: 'w' }).hyperparameters;
  t.deepEqual(h, { ...DEFAULTS, cvFolds: 10, robustSe: 'HC3', weightColumn: 'w' });
  t.true(parseHyperparameters({ non_negative: 'True' }).hyperparameters.nonNegative);
  t.is(parseHyperparameters({ weight_column: '3' }).hyperparameters.weightColumn, 3);
  t.is(parseHyperparameters({ robust_se: 'none' }).hyperparameters.robustSe, undefined);
  t.regex(parseError({ weight_column: '1' }).message, /the label is column 1/);
  t.regex(parseError({ cv_folds: '1' }).message, /cv_folds must be an integer from 2 to 100/);
  t.regex(parseError({ robust_se: 'HC4' }).message, /robust_se must be one of HC0, HC1, HC2, HC3 or none/);
  t.regex(parseError({ non_negative: 'true', l1: '0.1' }).message, /non_negative is fitted without penalties/);
  t.regex(parseError({ robust_se: 'HC1', l2: 'auto' }).message, /robust_se=HC1 applies to ordinary and weighted least squares/);
});

test('knobs for other losses and for classifiers are rejected', (t) => {
  for (const knob of ['huber_delta', 'quantile', 'loss_insensitivity']) {
    const err = parseError({ [knob]: '0.5' });
    t.is(err.code, ErrorCode.UNSUPPORTED_HYPERPARAMETER, knob);
    t.regex(err.message, /only squared loss/);
  }
  for (const knob of ['target_recall', 'num_classes', 'f_beta', 'binary_classifier_model_selection_criteria']) {
    const err = parseError({ [knob]: '3' });
    t.is(err.code, ErrorCode.UNSUPPORTED_HYPERPARAMETER, knob);
    t.regex(err.message, /regression only/);
  }
});

test('an unknown name gets a did-you-mean and the supported list', (t) => {
  const err = parseError({ fit_intercep: 'true' });
  t.is(err.code, ErrorCode.UNKNOWN_HYPERPARAMETER);
  t.is(
    err.message,
    "hyperparameters.json: unknown hyperparameter 'fit_intercep' (did you mean 'fit_intercept'? " +
      'supported: fit_intercept, use_bias, l2, l1, wd, non_negative, weight_column, cv_folds, checkpoint_interval, robust_se, residual_diagnostics, feature_dim, label_column, predictor_type, loss)',
  );
  t.regex(parseError({ Epochs: '3' }).message, /did you mean 'epochs'\?/);
  t.regex(parseError({ 'mini-batch-size': '3' }).message, /did you mean 'mini_batch_size'\?/);
  t.notRegex(parseError({ colour: 'red' }).message, /did you mean/);
});

test('all problems are reported together, under the first problem code', (t) => {
  const err = parseError({ fit_intercep: 'true', fit_intercept: 'yes', l2: '-1' });
  t.is(err.code, ErrorCode.UNKNOWN_HYPERPARAMETER);
  t.is(
    err.message,
    "3 problems in hyperparameters.json: unknown hyperparameter 'fit_intercep' (did you mean 'fit_intercept'? " +
      'supported: fit_intercept, use_bias, l2, l1, wd, non_negative, weight_column, cv_folds, checkpoint_interval, robust_se, residual_diagnostics, feature_dim, label_column, predictor_type, loss); ' +
      "fit_intercept must be true or false, got 'yes'; " +
      "l2 must be a number >= 0 (0 means no penalty) or auto (chosen by cross-validation), got '-1'",
  );
});

test('the supported list is given once however many names are unknown', (t) => {
  const err = parseError({ alpha: '1', beta: '2' });
  t.is(err.message.split('supported:').length, 2);
});

test('a flood of problems is summarised within one failure line', (t) => {
  const raw = Object.fromEntries(Array.from({ length: 60 }, (_, i) => [`unknown_knob_${i}`, 'x'.repeat(2500)]));
  const err = parseError(raw);
  t.true(err.message.length <= 900, String(err.message.length));
  t.regex(err.message, /^60 problems in hyperparameters\.json: .*; and \d+ more$/);
  const line = failureLine(err);
  t.false(line.includes('\n'));
  t.true(line.startsWith('UNKNOWN_HYPERPARAMETER: 60 problems'));
});

test('SageMaker and tuner entries are ignored', (t) => {
  const parsed = parseHyperparameters({
    _tuning_objective_metric: 'validation:mse',
    sagemaker_program: 'train.py',
    sagemaker_submit_directory: 's3://bucket/code',
    sagemaker_estimator_class_name: '"Estimator"',
  });
  t.deepEqual(parsed, { hyperparameters: DEFAULTS, warnings: [] });
});

test('values that are not scalars are rejected', (t) => {
  const err = parseError({ l2: [1, 2] });
  t.is(err.code, ErrorCode.INVALID_HYPERPARAMETER);
  t.regex(err.message, /l2 must be a string, number or boolean, got \[1,2\]/);
});

test('a top level that is not an object is an invalid config', (t) => {
  t.is(parseError(['l2', '1']).code, ErrorCode.INVALID_CONFIG);
  t.is(parseError('l2=1').code, ErrorCode.INVALID_CONFIG);
});

async function mlTree(t: { teardown(fn: () => Promise<void>): void }, hyperparameters?: string) {
  const root = await mkdtemp(path.join(os.tmpdir(), 'linear-hp-'));
  t.teardown(() => rm(root, { recursive: true, force: true }));
  const paths = mlPaths(root);
  if (hyperparameters !== undefined) {
    await mkdir(path.dirname(paths.config.hyperparameters), { recursive: true });
    await writeFile(paths.config.hyperparameters, hyperparameters);
  }
  return paths;
}

test('readHyperparameters reads the file SageMaker writes', async (t) => {
  const paths = await mlTree(t, JSON.stringify({ fit_intercept: 'False', l2: '0.25', epochs: '15' }));
  const { hyperparameters, warnings } = await readHyperparameters(paths);
  t.deepEqual(hyperparameters, { ...DEFAULTS, fitIntercept: false, l2: 0.25 });
  t.is(warnings.length, 1);
});

test('readHyperparameters gives the defaults when the file is missing', async (t) => {
  const paths = await mlTree(t);
  t.deepEqual(await readHyperparameters(paths), { hyperparameters: DEFAULTS, warnings: [] });
});

test('readHyperparameters names the file when it is not JSON', async (t) => {
  const paths = await mlTree(t, '{"l2": "1",}');
  const err = await t.throwsAsync(readHyperparameters(paths), { instanceOf: LinearError });
  t.is(err?.code, ErrorCode.INVALID_CONFIG);
  t.true(err?.message.startsWith(`${paths.config.hyperparameters} is not valid JSON`));
});
