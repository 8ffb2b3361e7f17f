/**
 * Reads hyperparameters.json: each entry through its parser in the table
 * (hyperparameter-table.ts), Linear Learner's other names through their
 * lists (linear-learner.ts), then the checks across entries. Every problem is
 * collected so one failed job reports them all.
 */
import { closestName } from '../did-you-mean';
import { ErrorCode, LinearError } from '../errors';
import { isJsonObject, readJsonConfig } from './config';
import {
  HYPERPARAMETERS,
  HYPERPARAMETER_NAMES,
  invalid,
  isHyperparameterName,
  shown,
  unsupported,
  type Hyperparameter,
  type HyperparameterName,
  type HyperparameterValues,
  type Penalty,
  type RobustCovariance,
  type Scalar,
} from './hyperparameter-table';
import { IGNORED, REFUSED } from './linear-learner';
import type { MlPaths } from './paths';

export type { Penalty, RobustCovariance } from './hyperparameter-table';

export interface Hyperparameters {
  /** Fit an intercept term; false forces the fitted plane through the origin. */
  fitIntercept: boolean;
  /** Ridge penalty alpha in ||y - Xb||^2 + alpha * ||b||^2; the intercept is not penalised. */
  l2: Penalty;
  /** Elastic net (scikit-learn ElasticNet's scale): (1/(2n))||y - Xb||^2 + l1 ||b||_1 + (wd/2) ||b||^2. */
  l1: Penalty;
  wd: Penalty;
  /** Slopes constrained to be >= 0 (the intercept is free). */
  nonNegative: boolean;
  /** A column after the label holding each row's weight: a header name or a 1-based column number. */
  weightColumn?: string | number;
  /** Folds of the cross-validation that chooses an 'auto' penalty. */
  cvFolds: number;
  /** Seconds between checkpoints (jobs with a CheckpointConfig). */
  checkpointInterval: number;
  /** Robust covariance for standard errors, t, p and the F test; absent means classical. */
  robustSe?: RobustCovariance;
  /** 'exact': a pass over the rows computes the residual diagnostics when they are not in memory; absent means 'auto' (a row sample). */
  residualDiagnostics?: 'exact';
  /** Expected number of feature columns, checked against the data; absent means 'auto'. */
  featureDim?: number;
  /** Parquet: the column holding the label, when it is not the first. */
  labelColumn?: string;
}

export interface ParsedHyperparameters {
  hyperparameters: Hyperparameters;
  /** One line per accepted-but-ignored setting, for the training log. */
  warnings: string[];
}

/** The values given in the file, by name. */
type Given = Partial<HyperparameterValues>;

const FILE_NAME = 'hyperparameters.json';
const MAX_MESSAGE_LENGTH = 900;
/** Room kept for "; and N more" when problems are left out. */
const MORE_SUFFIX_ROOM = 20;

const SUGGESTION_CANDIDATES: readonly string[] = [...HYPERPARAMETER_NAMES, ...IGNORED];

/** Each default through its own parser, so a default the parser refuses fails at once. */
const DEFAULTS = Object.fromEntries(
  HYPERPARAMETER_NAMES.flatMap((name) => {
    const h: Hyperparameter = HYPERPARAMETERS[name];
    return h.default === undefined ? [] : [[name, h.parse(h.default, name)]];
  }),
) as Given;

/** Validates the contents of hyperparameters.json (undefined when the file is absent). */
export function parseHyperparameters(raw: unknown): ParsedHyperparameters {
  if (raw !== undefined && !isJsonObject(raw)) {
    throw new LinearError(
      ErrorCode.INVALID_CONFIG,
      `${FILE_NAME} must hold a JSON object of name-value pairs, ` +
        `got ${Array.isArray(raw) ? 'an array' : shownRaw(raw)}`,
    );
  }
  const given: Given = {};
  const warnings: string[] = [];
  const problems: LinearError[] = [];
  const collect = (check: () => void): void => {
    try {
      check();
    } catch (err) {
      if (!(err instanceof LinearError)) throw err;
      problems.push(err);
    }
  };

  for (const [key, value] of Object.entries(raw ?? {})) {
    // SageMaker's tuner (_tuning_objective_metric) and SDK add their own entries; they are not ours to judge.
    if (key.startsWith('_') || key.startsWith('sagemaker_')) continue;
    collect(() => {
      if (readKnownEntry(key, value, given, warnings)) return;
      const isFirstUnknown = !problems.some((p) => p.code === ErrorCode.UNKNOWN_HYPERPARAMETER);
      throw unknownHyperparameter(key, isFirstUnknown);
    });
  }
  collect(() => checkInterceptAgreement(given));
  readLinearLearnerDefaults(given, warnings);
  collect(() => checkEstimator(given));

  if (problems.length > 0) throw combineProblems(problems);
  const robustSe = setting(given, 'robust_se');
  const featureDim = setting(given, 'feature_dim');
  return {
    hyperparameters: {
      fitIntercept: given.fit_intercept ?? given.use_bias ?? setting(given, 'fit_intercept'),
      l2: setting(given, 'l2'),
      l1: setting(given, 'l1'),
      wd: setting(given, 'wd'),
      nonNegative: setting(given, 'non_negative'),
      cvFolds: setting(given, 'cv_folds'),
      checkpointInterval: setting(given, 'checkpoint_interval'),
      ...(given.weight_column === undefined ? {} : { weightColumn: given.weight_column }),
      ...(robustSe === 'none' ? {} : { robustSe }),
      ...(setting(given, 'residual_diagnostics') === 'exact' ? { residualDiagnostics: 'exact' as const } : {}),
      ...(featureDim === 'auto' ? {} : { featureDim }),
      ...(given.label_column === undefined ? {} : { labelColumn: given.label_column }),
    },
    warnings,
  };
}

export async function readHyperparameters(paths: MlPaths): Promise<ParsedHyperparameters> {
  return parseHyperparameters(await readJsonConfig(paths.config.hyperparameters));
}

/** The value given, else the table's default. */
function setting<K extends HyperparameterName>(given: Given, name: K): HyperparameterValues[K] {
  const value = given[name] ?? DEFAULTS[name];
  if (value === undefined) throw new Error(`the hyperparameter table gives ${name} no default`);
  return value as HyperparameterValues[K];
}

/** Applies or warns about one entry; false when the name is not one this container knows. */
function readKnownEntry(key: string, raw: unknown, given: Given, warnings: string[]): boolean {
  if (isHyperparameterName(key)) {
    apply(given, key, decodeValue(key, raw));
    return true;
  }
  if (IGNORED.includes(key)) {
    const value = decodeValue(key, raw);
    warnings.push(`${key}=${shown(value)} ignored: the least-squares solution is computed exactly, no SGD`);
    return true;
  }
  const reason = REFUSED.get(key);
  if (reason !== undefined) {
    throw unsupported(`${key}=${shownRaw(raw)} is not supported: ${reason}`);
  }
  return false;
}

function apply<K extends HyperparameterName>(given: Given, name: K, value: Scalar): void {
  given[name] = HYPERPARAMETERS[name].parse(value, name) as HyperparameterValues[K];
}

/**
 * Linear Learner's documented defaults are l1=auto and wd=auto, and a job
 * ported from it may send both: there they mean "no tuned penalty", so here
 * too (with a warning), rather than a refusal. One auto alone is a request to
 * cross-validate it, said in the log.
 */
function readLinearLearnerDefaults(given: Given, warnings: string[]): void {
  if (given.l1 === 'auto' && given.wd === 'auto') {
    given.l1 = 0;
    given.wd = 0;
    warnings.push(
      "l1=auto and wd=auto (Linear Learner's defaults) ignored: no elastic net penalty is applied; give one of them a number to cross-validate the other",
    );
    return;
  }
  const auto = (['l2', 'l1', 'wd'] as const).filter((k) => given[k] === 'auto');
  if (auto.length === 1) warnings.push(`${auto[0]}=auto: ${auto[0]} is chosen by ${given.cv_folds ?? DEFAULTS.cv_folds}-fold cross-validation`);
}

/**
 * Which estimator the penalties describe, refusing combinations that would be
 * ambiguous: l2 and wd are one penalty on two scales, and the classical
 * covariance a robust one replaces exists only for unpenalised, unconstrained fits.
 */
function checkEstimator(given: Given): void {
  const on = (p: Penalty | undefined): boolean => p !== undefined && p !== 0;
  if (on(given.l2) && on(given.wd)) {
    throw invalid(
      `l2=${given.l2} and wd=${given.wd} are the same ridge penalty on two scales; set only one ` +
        '(l2 = n * wd, n the training rows: l2 pairs with plain least squares, wd with l1 in the elastic net)',
    );
  }
  if (on(given.l2) && on(given.l1)) {
    throw invalid(`l1 pairs with wd (the elastic net on scikit-learn ElasticNet's scale); set wd = l2 / n instead of l2=${given.l2}`);
  }
  const penalised = on(given.l2) || on(given.l1) || on(given.wd);
  if (given.non_negative && penalised) {
    throw unsupported('non_negative is fitted without penalties: set l1, wd and l2 to 0, or non_negative=false');
  }
  if (given.robust_se !== undefined && given.robust_se !== 'none' && (given.non_negative || penalised)) {
    throw unsupported(
      `robust_se=${given.robust_se} applies to ordinary and weighted least squares; penalised and non-negative fits report no standard errors ` +
        '(their sampling distribution is not the classical one)',
    );
  }
}

function checkInterceptAgreement(given: Given): void {
  if (given.fit_intercept === undefined || given.use_bias === undefined) return;
  if (given.fit_intercept === given.use_bias) return;
  throw invalid(
    `fit_intercept=${given.fit_intercept} and use_bias=${given.use_bias} disagree; ` +
      "set only one of them (use_bias is Linear Learner's name for fit_intercept)",
  );
}

/**
 * SageMaker passes every value as a string, which the SDK sometimes JSON-encodes
 * once more ("\"true\""); hand-written files may hold plain JSON values. Other
 * text is kept as written so messages quote the user's own spelling.
 */
function decodeValue(key: string, raw: unknown): Scalar {
  if (typeof raw === 'number' || typeof raw === 'boolean') return raw;
  if (typeof raw !== 'string') {
    throw invalid(`${key} must be a string, number or boolean, got ${shownRaw(raw)}`);
  }
  return unwrapJsonString(raw);
}

function unwrapJsonString(text: string): string {
  try {
    const value: unknown = JSON.parse(text);
    return typeof value === 'string' ? value : text;
  } catch {
    return text;
  }
}

function unknownHyperparameter(key: string, listSupported: boolean): LinearError {
  const suggestion = closestName(key, SUGGESTION_CANDIDATES);
  const hints = [
    ...(suggestion === undefined ? [] : [`did you mean '${suggestion}'?`]),
    ...(listSupported ? [`supported: ${HYPERPARAMETER_NAMES.join(', ')}`] : []),
  ];
  const detail = hints.length > 0 ? ` (${hints.join(' ')})` : '';
  return new LinearError(ErrorCode.UNKNOWN_HYPERPARAMETER, `unknown hyperparameter '${shown(key)}'${detail}`);
}

/** One error for all problems, with the first problem's code, kept short enough for FailureReason. */
function combineProblems(problems: LinearError[]): LinearError {
  const header = problems.length === 1 ? `${FILE_NAME}: ` : `${problems.length} problems in ${FILE_NAME}: `;
  const budget = MAX_MESSAGE_LENGTH - header.length - MORE_SUFFIX_ROOM;
  const listed: string[] = [];
  let used = 0;
  for (const problem of problems) {
    const cost = problem.message.length + (listed.length > 0 ? 2 : 0);
    if (listed.length > 0 && used + cost > budget) break;
    listed.push(problem.message);
    used += cost;
  }
  const omitted = problems.length - listed.length;
  const more = omitted > 0 ? `; and ${omitted} more` : '';
  return new LinearError(problems[0].code, `${header}${listed.join('; ')}${more}`);
}

/** Like `shown`, for a value that may not have been decoded (or be decodable) yet. */
function shownRaw(raw: unknown): string {
  if (typeof raw === 'string') return shown(unwrapJsonString(raw));
  return shown(JSON.stringify(raw) ?? String(raw));
}
