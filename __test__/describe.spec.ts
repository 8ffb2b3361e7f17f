/**
 * `linear describe` through the real CLI: its output is a CreateAlgorithm
 * request botocore's SageMaker model accepts, its metric definitions match
 * the lines a real training run prints, `train` takes every declared default
 * and refuses a value outside each declared range, and objective_loss is the
 * objective the README defines.
 */
import test, { type ExecutionContext } from 'ava';
import { execFile, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { HYPERPARAMETER_NAMES } from '../src/contract/hyperparameter-table';
import { CLI, REPO_ROOT, makeMlTree, runCli, type CliResult } from './helpers/ml-tree';
import { PYTHON_SCRIPTS, botocorePython } from './helpers/python';

const BOTOCORE = botocorePython();
const withBotocore = 'python' in BOTOCORE ? test : test.skip;
const NEEDS_BOTOCORE = 'reason' in BOTOCORE ? ` (skipped: ${BOTOCORE.reason})` : '';

const IMAGE = '123456789012.dkr.ecr.us-east-1.amazonaws.com/linear:0.1.0';

interface HyperparameterSpec {
  Name: string;
  Type: string;
  Range?: { IntegerParameterRangeSpecification?: { MinValue: string; MaxValue: string }; CategoricalParameterRangeSpecification?: { Values: string[] } };
  IsTunable: boolean;
  IsRequired?: boolean;
  DefaultValue?: string;
}

interface Spec {
  TrainingSpecification: {
    TrainingImage: string;
    SupportedHyperParameters: HyperparameterSpec[];
    SupportedTrainingInstanceTypes: string[];
    SupportsDistributedTraining: boolean;
    MetricDefinitions: { Name: string; Regex: string }[];
    TrainingChannels: { Name: string; IsRequired: boolean; SupportedContentTypes: string[]; SupportedInputModes: string[] }[];
    SupportedTuningJobObjectiveMetrics: { Type: string; MetricName: string }[];
  };
  InferenceSpecification: { Containers: { Image: string }[]; SupportedTransformInstanceTypes: string[]; SupportedRealtimeInferenceInstanceTypes: string[] };
}

/** `linear describe <args>`, which takes no --ml-root. */
function describeCli(args: string[]): Promise<CliResult> {
  return new Promise((resolve) => {
    execFile(process.execPath, [CLI, 'describe', ...args], { cwd: REPO_ROOT, encoding: 'utf8' }, (err, stdout, stderr) => {
      const code = err === null ? 0 : typeof err.code === 'number' ? err.code : 1;
      resolve({ code, signal: null, stdout, stderr });
    });
  });
}

async function describeSpec(args: string[] = ['--image', IMAGE]): Promise<Spec> {
  const result = await describeCli(args);
  if (result.code !== 0) throw new Error(`describe failed: ${result.stderr}`);
  return JSON.parse(result.stdout) as Spec;
}

/** botocore's verdict on a CreateAlgorithm request: '' when it passes, else one problem per line. */
function createAlgorithmProblems(request: unknown): string {
  if (!('python' in BOTOCORE)) throw new Error(BOTOCORE.reason);
  const result = spawnSync(BOTOCORE.python, [path.join(PYTHON_SCRIPTS, 'create_algorithm.py')], { input: JSON.stringify(request), encoding: 'utf8' });
  if (result.status !== 0 && result.stdout.trim() === '') throw new Error(`create_algorithm.py failed: ${result.stderr}`);
  return result.stdout.trim();
}

const request = (spec: object) => ({ AlgorithmName: 'linear', AlgorithmDescription: 'Exact least-squares linear regression', ...spec });

withBotocore(`describe's output passes botocore's CreateAlgorithm validation${NEEDS_BOTOCORE}`, async (t) => {
  const spec = await describeSpec();
  t.is(createAlgorithmProblems(request(spec)), '');
  const chosen = await describeSpec(['--image', IMAGE, '--instance-types', 'ml.m5.large,ml.c5.xlarge', 'ml.r6i.large']);
  t.deepEqual(chosen.TrainingSpecification.SupportedTrainingInstanceTypes, ['ml.m5.large', 'ml.c5.xlarge', 'ml.r6i.large']);
  t.is(createAlgorithmProblems(request(chosen)), '');
  // The check is not vacuous: what the service would refuse, it refuses.
  const unknownType = structuredClone(spec);
  unknownType.InferenceSpecification.SupportedTransformInstanceTypes.push('ml.t2.medium');
  t.regex(createAlgorithmProblems(request(unknownType)), /'ml\.t2\.medium' is not one of TransformInstanceType's values/);
  const noImage = structuredClone(spec) as { TrainingSpecification: Partial<Spec['TrainingSpecification']> };
  delete noImage.TrainingSpecification.TrainingImage;
  t.regex(createAlgorithmProblems(request(noImage)), /Missing required parameter in TrainingSpecification: "TrainingImage"/);
});

test('describe: the image, the table, channels, at most 20 metric definitions and the tuning objectives', async (t) => {
  const { TrainingSpecification: training, InferenceSpecification: inference } = await describeSpec();
  t.is(training.TrainingImage, IMAGE);
  t.deepEqual(inference.Containers, [{ Image: IMAGE }]);
  t.true(training.SupportsDistributedTraining);
  t.deepEqual(
    training.SupportedHyperParameters.map((h) => h.Name),
    HYPERPARAMETER_NAMES,
  );
  for (const h of training.SupportedHyperParameters) {
    t.true((h.DefaultValue === undefined) !== (h.IsRequired === undefined), `${h.Name}: a DefaultValue or IsRequired, never both`);
    t.not(h.IsRequired, true, h.Name);
    if (h.Type === 'FreeText') t.false(h.IsTunable, `${h.Name}: a tuning job cannot range over free text`);
  }
  t.deepEqual(
    training.TrainingChannels.map((c) => [c.Name, c.IsRequired]),
    [
      ['train', true],
      ['validation', false],
      ['test', false],
    ],
  );
  for (const channel of training.TrainingChannels) {
    t.true(['text/csv', 'text/libsvm', 'application/x-recordio-protobuf', 'application/x-parquet'].every((type) => channel.SupportedContentTypes.includes(type)));
  }
  const names = training.MetricDefinitions.map((d) => d.Name);
  t.true(names.length <= 20, `${names.length} metric definitions; a tuning job takes 20`);
  t.is(new Set(names).size, names.length);
  const objectives = training.SupportedTuningJobObjectiveMetrics;
  t.deepEqual(
    objectives.map((o) => `${o.MetricName} ${o.Type}`).sort(),
    ['validation:absolute_loss Minimize', 'validation:mse Minimize', 'validation:objective_loss Minimize', 'validation:r2 Maximize', 'validation:rmse Minimize'],
  );
  for (const o of objectives) t.true(names.includes(o.MetricName), o.MetricName);
});

test('describe: --instance-types must look like instance types, --image must be one token; without --image stderr says the image is a placeholder', async (t) => {
  const bad = await describeCli(['--instance-types', 'm5.large']);
  t.is(bad.code, 2);
  t.regex(bad.stderr, /'m5\.large' is not an instance type such as ml\.m5\.large/);
  const spaced = await describeCli(['--image', 'my image']);
  t.is(spaced.code, 2);
  t.regex(spaced.stderr, /an image URI has no spaces/);
  const placeholder = await describeCli([]);
  t.is(placeholder.code, 0);
  t.regex(placeholder.stderr, /no --image: the specification names <account>\.dkr\.ecr\.<region>\.amazonaws\.com\/linear:latest/);
  const help = await describeCli(['--help']);
  t.is(help.code, 0);
  t.regex(help.stdout, /--image <uri>/);
});

/** Rows of y = 2 + 0.5a − 3b + noise, label first. */
function rows(from: number, to: number): number[][] {
  return Array.from({ length: to - from }, (_, i) => {
    const a = from + i;
    const b = (a * 7) % 11;
    return [2 + 0.5 * a - 3 * b + ((a * 13) % 5) / 10, a, b];
  });
}

const csv = (data: number[][]) => `${data.map((r) => r.join(',')).join('\n')}\n`;
const TRAIN_ROWS = rows(0, 60);
const VALIDATION_ROWS = rows(60, 80);

async function train(t: ExecutionContext, hyperparameters: Record<string, string>, withScored = true) {
  const tree = await makeMlTree(
    {
      hyperparameters,
      channels: {
        train: { 'a.csv': csv(TRAIN_ROWS) },
        ...(withScored ? { validation: { 'v.csv': csv(VALIDATION_ROWS) }, test: { 't.csv': csv(rows(80, 90)) } } : {}),
      },
    },
    t,
  );
  const result = await runCli(['train'], { root: tree.root });
  return { tree, result };
}

test('every metric definition captures a number from a real training run with validation and test channels; no line holds a tab', async (t) => {
  const [spec, { result }] = await Promise.all([describeSpec(), train(t, { l2: '0.5' })]);
  t.is(result.code, 0, result.stderr);
  for (const { Name, Regex } of spec.TrainingSpecification.MetricDefinitions) {
    const matches = [...result.stdout.matchAll(new RegExp(Regex, 'g'))];
    t.is(matches.length, 1, `${Name}: ${Regex}`);
    t.true(Number.isFinite(Number(matches[0]?.[1])), `${Name} captured '${matches[0]?.[1]}'`);
  }
  // CloudWatch shows a tab as #011, which no regex written for a space would match.
  t.false(result.stdout.includes('\t'));
  t.false(result.stderr.includes('\t'));
});

/** Σ over rows of the residual's square, and the model's slopes. */
function residualSquares(model: { intercept: number; coefficients: number[] }, data: number[][]): number {
  return data.reduce((sum, [y, ...x]) => {
    const r = y - model.intercept - x.reduce((s, v, j) => s + v * model.coefficients[j], 0);
    return sum + r * r;
  }, 0);
}

/** The value printed in a short metric line, as printed. */
const printed = (stdout: string, name: string) => new RegExp(`^${name}=(.*)$`, 'm').exec(stdout)?.[1] ?? '';

const squares = (b: number[]) => b.reduce((s, v) => s + v * v, 0);
const absolutes = (b: number[]) => b.reduce((s, v) => s + Math.abs(v), 0);

/** The README's objective_loss for each kind of fit, from a channel's mse and the slopes. */
const OBJECTIVES: [string, Record<string, string>, (mse: number, b: number[]) => number][] = [
  ['least squares', {}, (mse) => mse],
  ['ridge', { l2: '2' }, (mse, b) => mse + (2 * squares(b)) / TRAIN_ROWS.length],
  ['elastic net', { l1: '0.05', wd: '0.1' }, (mse, b) => mse / 2 + 0.05 * absolutes(b) + (0.1 / 2) * squares(b)],
];

for (const [label, hyperparameters, objective] of OBJECTIVES) {
  test(`objective_loss of ${label} is its objective at the fitted coefficients, for train and validation`, async (t) => {
    const { tree, result } = await train(t, hyperparameters);
    t.is(result.code, 0, result.stderr);
    const model = JSON.parse(readFileSync(tree.modelFile, 'utf8'));
    for (const [channel, data] of [
      ['train', TRAIN_ROWS],
      ['validation', VALIDATION_ROWS],
    ] as const) {
      const expected = objective(residualSquares(model, data) / data.length, model.coefficients);
      const reported = printed(result.stdout, `${channel}:objective_loss`);
      t.true(Math.abs(Number(reported) - expected) <= 1e-9 * expected, `${channel}: ${reported} vs ${expected}`);
      t.true(result.stdout.split('\n').includes(`#quality_metric: host=algo-1, ${channel} objective_loss <loss>=${reported}`));
    }
  });
}

test('train takes every declared default at once (SageMaker sends them all) and fits as with none', async (t) => {
  const spec = await describeSpec();
  const defaults = Object.fromEntries(
    spec.TrainingSpecification.SupportedHyperParameters.flatMap((h) => (h.DefaultValue === undefined ? [] : [[h.Name, h.DefaultValue]])),
  );
  const [given, none] = await Promise.all([train(t, defaults, false), train(t, {}, false)]);
  t.is(given.result.code, 0, given.result.stderr);
  t.is(none.result.code, 0, none.result.stderr);
  t.deepEqual(JSON.parse(readFileSync(given.tree.modelFile, 'utf8')), JSON.parse(readFileSync(none.tree.modelFile, 'utf8')));
  // With every default sent, fit_intercept=false must still be possible: use_bias has no default to contradict it.
  const noIntercept = await train(t, { ...defaults, fit_intercept: 'false' }, false);
  t.is(noIntercept.result.code, 0, noIntercept.result.stderr);
});

test('train refuses a value outside each declared range, naming the hyperparameter', async (t) => {
  const spec = await describeSpec();
  const outside = spec.TrainingSpecification.SupportedHyperParameters.flatMap((h) => {
    const integers = h.Range?.IntegerParameterRangeSpecification;
    if (integers) return [Number(integers.MinValue) - 1, Number(integers.MaxValue) + 1].map((v) => [h.Name, String(v)] as const);
    return h.Range?.CategoricalParameterRangeSpecification ? [[h.Name, 'maybe'] as const] : [];
  });
  t.true(outside.length > 0);
  await Promise.all(
    outside.map(async ([name, value]) => {
      const { tree, result } = await train(t, { [name]: value }, false);
      t.is(result.code, 2, `${name}=${value}: ${result.stderr}`);
      const failure = readFileSync(tree.failureFile, 'utf8');
      t.regex(failure, /^(INVALID|UNSUPPORTED)_HYPERPARAMETER: hyperparameters\.json: /, `${name}=${value}`);
      t.true(failure.includes(name) && failure.includes(value), `${name}=${value}: ${failure}`);
    }),
  );
});
