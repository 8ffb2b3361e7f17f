import { ErrorCode, LinearError, clip } from '../errors';
import { isJsonObject, readJsonConfig } from './config';
import type { MlPaths } from './paths';

/** A penalty given as a number, or 'auto': chosen by exact k-fold cross-validation. */
export type Penalty = number | 'auto';

/** Heteroskedasticity-robust covariance estimators (statsmodels' cov_type names). */
export const ROBUST_COVARIANCES = ['HC0', 'HC1', 'HC2', 'HC3'] as const;
export type RobustCovariance = (typeof ROBUST_COVARIANCES)[number];

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
  /** Robust covariance for standard errors, t, p and the F test; absent means classical. */
  robustSe?: RobustCovariance;
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

export interface HyperparameterDoc {
  name: string;
  type: string;
  default: string;
  description: string;
}

/** The supported hyperparameters; the README's table mirrors this one. */
export const HYPERPARAMETER_DOCS = [
  {
    name: 'fit_intercept',
    type: 'boolean',
    default: 'true',
    description: 'Fit an intercept term; false forces the fitted plane through the origin.',
  },
  {
    name: 'use_bias',
    type: 'boolean',
    default: 'true',
    description: "Linear Learner's name for fit_intercept; when both are set they must agree.",
  },
  {
    name: 'l2',
    type: "number >= 0 or 'auto'",
    default: '0',
    description:
      'Ridge penalty alpha: minimises ||y - Xb||^2 + alpha * ||b||^2 with the intercept not penalised, ' +
      "as scikit-learn's Ridge. 0 gives ordinary least squares; auto chooses alpha by exact k-fold cross-validation (cv_folds).",
  },
  {
    name: 'l1',
    type: "number >= 0 or 'auto'",
    default: '0',
    description:
      "Elastic net L1 penalty on scikit-learn ElasticNet's scale: minimises (1/(2n)) ||y - Xb||^2 + l1 ||b||_1 + (wd/2) ||b||^2 " +
      '(intercept not penalised), so l1 = alpha * l1_ratio. auto chooses it by exact k-fold cross-validation.',
  },
  {
    name: 'wd',
    type: "number >= 0 or 'auto'",
    default: '0',
    description:
      'Elastic net L2 penalty (weight decay) on the same scale as l1: wd = alpha * (1 - l1_ratio). ' +
      'Equivalent to l2 = n * wd; set l2 or wd, not both. auto chooses it by exact k-fold cross-validation.',
  },
  {
    name: 'non_negative',
    type: 'boolean',
    default: 'false',
    description: "Constrains every slope to be >= 0 (scikit-learn's positive=True); the intercept stays free.",
  },
  {
    name: 'weight_column',
    type: 'column name or number',
    default: 'none',
    description:
      'A column after the label holding sample weights (weighted least squares, as statsmodels WLS): its header name, ' +
      'or its 1-based number counting the label as column 1. Weight 0 skips a row; negative or missing weights are an error.',
  },
  {
    name: 'cv_folds',
    type: 'integer >= 2',
    default: '5',
    description: 'Folds of the cross-validation behind l2, l1 or wd = auto; row i (0-based, files in sorted order) is in fold i mod cv_folds.',
  },
  {
    name: 'robust_se',
    type: "'HC0', 'HC1', 'HC2', 'HC3' or 'none'",
    default: 'none',
    description:
      "Heteroskedasticity-robust standard errors (statsmodels' cov_type): t, p, confidence intervals and the F test use them. " +
      'Costs a second pass over the training data. Ordinary and weighted least squares only.',
  },
  {
    name: 'feature_dim',
    type: "'auto' or integer > 0",
    default: 'auto',
    description: 'Number of feature columns (the label excluded); when set, training fails if the data differs.',
  },
  {
    name: 'label_column',
    type: 'column name',
    default: 'first column',
    description: 'Parquet channels: the column holding the label, when it is not the first column.',
  },
  {
    name: 'predictor_type',
    type: "'regressor'",
    default: 'regressor',
    description: 'Accepted for Linear Learner compatibility; only regression is fitted.',
  },
  {
    name: 'loss',
    type: "'auto' or 'squared_loss'",
    default: 'auto',
    description: 'Accepted for Linear Learner compatibility; the loss is always squared error.',
  },
] as const satisfies readonly HyperparameterDoc[];

type SupportedName = (typeof HYPERPARAMETER_DOCS)[number]['name'];

const SUPPORTED_NAMES: readonly string[] = HYPERPARAMETER_DOCS.map((doc) => doc.name);

/** Linear Learner knobs that only steer SGD; an exact solve has nothing to tune with them. */
const SGD_ONLY_NAMES: ReadonlySet<string> = new Set([
  'epochs',
  'mini_batch_size',
  'learning_rate',
  'optimizer',
  'momentum',
  'beta_1',
  'beta_2',
  'bias_lr_mult',
  'bias_wd_mult',
  'lr_scheduler_step',
  'lr_scheduler_factor',
  'lr_scheduler_minimum_lr',
  'early_stopping_patience',
  'early_stopping_tolerance',
  'num_models',
  'num_calibration_samples',
  'init_method',
  'init_scale',
  'init_sigma',
  'init_bias',
  'unbias_data',
  'unbias_label',
  'normalize_data',
  'normalize_label',
  'num_point_for_scaler',
  'margin',
]);

const OTHER_LOSS =
  'it belongs to a loss other than squared loss, and only squared loss (ordinary least squares) is fitted';
const CLASSIFIER_ONLY = 'it applies to classifiers, and this container fits regression only';

/** Linear Learner knobs that would change the answer and have no equivalent here yet. */
const UNSUPPORTED_NAMES: ReadonlyMap<string, string> = new Map([
  ['huber_delta', OTHER_LOSS],
  ['quantile', OTHER_LOSS],
  ['loss_insensitivity', OTHER_LOSS],
  ['positive_example_weight_mult', CLASSIFIER_ONLY],
  ['target_recall', CLASSIFIER_ONLY],
  ['target_precision', CLASSIFIER_ONLY],
  ['binary_classifier_model_selection_criteria', CLASSIFIER_ONLY],
  ['num_classes', CLASSIFIER_ONLY],
  ['accuracy_top_k', CLASSIFIER_ONLY],
  ['balance_multiclass_weights', CLASSIFIER_ONLY],
  ['f_beta', CLASSIFIER_ONLY],
]);

const SUGGESTION_CANDIDATES: readonly string[] = [...SUPPORTED_NAMES, ...SGD_ONLY_NAMES];

const FILE_NAME = 'hyperparameters.json';
const DEFAULT_CV_FOLDS = 5;
/** Each fold keeps its own factor: k x O(p^2) memory. */
const MAX_CV_FOLDS = 100;
const MAX_MESSAGE_LENGTH = 900;
/** Room kept for "; and N more" when problems are left out. */
const MORE_SUFFIX_ROOM = 20;
const MAX_SHOWN_LENGTH = 40;

type Scalar = string | number | boolean;

interface Draft {
  fitIntercept?: boolean;
  useBias?: boolean;
  l2?: Penalty;
  l1?: Penalty;
  wd?: Penalty;
  nonNegative?: boolean;
  weightColumn?: string | number;
  cvFolds?: number;
  robustSe?: RobustCovariance | 'none';
  featureDim?: number;
  labelColumn?: string;
}

/**
 * Validates the contents of hyperparameters.json (undefined when the file is
 * absent). Every problem is collected so one failed job reports them all.
 */
export function parseHyperparameters(raw: unknown): ParsedHyperparameters {
  if (raw !== undefined && !isJsonObject(raw)) {
    throw new LinearError(
      ErrorCode.INVALID_CONFIG,
      `${FILE_NAME} must hold a JSON object of name-value pairs, ` +
        `got ${Array.isArray(raw) ? 'an array' : shownRaw(raw)}`,
    );
  }
  const draft: Draft = {};
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
    // SageMaker's tuner and SDK add their own entries; they are not ours to judge.
    if (key.startsWith('_') || key.startsWith('sagemaker_')) continue;
    collect(() => {
      if (readKnownEntry(key, value, draft, warnings)) return;
      const isFirstUnknown = !problems.some((p) => p.code === ErrorCode.UNKNOWN_HYPERPARAMETER);
      throw unknownHyperparameter(key, isFirstUnknown);
    });
  }
  collect(() => checkInterceptAgreement(draft));
  collect(() => checkEstimator(draft));

  if (problems.length > 0) throw combineProblems(problems);
  return {
    hyperparameters: {
      fitIntercept: draft.fitIntercept ?? draft.useBias ?? true,
      l2: draft.l2 ?? 0,
      l1: draft.l1 ?? 0,
      wd: draft.wd ?? 0,
      nonNegative: draft.nonNegative ?? false,
      cvFolds: draft.cvFolds ?? DEFAULT_CV_FOLDS,
      ...(draft.weightColumn === undefined ? {} : { weightColumn: draft.weightColumn }),
      ...(draft.robustSe === undefined || draft.robustSe === 'none' ? {} : { robustSe: draft.robustSe }),
      ...(draft.featureDim === undefined ? {} : { featureDim: draft.featureDim }),
      ...(draft.labelColumn === undefined ? {} : { labelColumn: draft.labelColumn }),
    },
    warnings,
  };
}

export async function readHyperparameters(paths: MlPaths): Promise<ParsedHyperparameters> {
  return parseHyperparameters(await readJsonConfig(paths.config.hyperparameters));
}

/** Applies or warns about one entry; false when the name is not one this container knows. */
function readKnownEntry(key: string, raw: unknown, draft: Draft, warnings: string[]): boolean {
  if (isSupportedName(key)) {
    applySupported(key, decodeValue(key, raw), draft);
    return true;
  }
  if (SGD_ONLY_NAMES.has(key)) {
    const value = decodeValue(key, raw);
    warnings.push(`${key}=${shown(value)} ignored: the least-squares solution is computed exactly, no SGD`);
    return true;
  }
  const reason = UNSUPPORTED_NAMES.get(key);
  if (reason !== undefined) {
    throw unsupported(`${key}=${shownRaw(raw)} is not supported: ${reason}`);
  }
  return false;
}

function isSupportedName(key: string): key is SupportedName {
  return SUPPORTED_NAMES.includes(key);
}

function applySupported(key: SupportedName, value: Scalar, draft: Draft): void {
  switch (key) {
    case 'fit_intercept':
      draft.fitIntercept = toBoolean(key, value);
      return;
    case 'use_bias':
      draft.useBias = toBoolean(key, value);
      return;
    case 'l2':
    case 'l1':
    case 'wd':
      draft[key] = toPenalty(key, value);
      return;
    case 'non_negative':
      draft.nonNegative = toBoolean(key, value);
      return;
    case 'weight_column': {
      const text = String(value).trim();
      if (text === '') throw invalid('weight_column must name a column or give its 1-based number, got an empty string');
      const number = typeof value === 'number' || /^\d+$/.test(text) ? Number(text) : undefined;
      if (number !== undefined && !(Number.isSafeInteger(number) && number >= 2)) {
        throw invalid(`weight_column ${text} is not a column after the label: the label is column 1, so give 2 or more (or the column's header name)`);
      }
      draft.weightColumn = number ?? text;
      return;
    }
    case 'cv_folds': {
      const folds = toFiniteNumber(value);
      if (folds === undefined || !Number.isSafeInteger(folds) || folds < 2 || folds > MAX_CV_FOLDS) {
        throw invalid(`cv_folds must be an integer from 2 to ${MAX_CV_FOLDS}, got '${shown(value)}'`);
      }
      draft.cvFolds = folds;
      return;
    }
    case 'robust_se': {
      const text = String(value).trim();
      const kind = ROBUST_COVARIANCES.find((k) => k === text.toUpperCase());
      if (kind !== undefined) draft.robustSe = kind;
      else if (isWord(value, 'none') || isWord(value, 'nonrobust') || isWord(value, 'false')) draft.robustSe = 'none';
      else throw invalid(`robust_se must be one of ${ROBUST_COVARIANCES.join(', ')} or none, got '${shown(value)}'`);
      return;
    }
    case 'feature_dim': {
      if (isAuto(value)) return;
      const dim = toFiniteNumber(value);
      if (dim === undefined || !Number.isSafeInteger(dim) || dim < 1) {
        throw invalid(`feature_dim must be auto or a positive integer, got '${shown(value)}'`);
      }
      draft.featureDim = dim;
      return;
    }
    case 'label_column': {
      const name = String(value).trim();
      if (name === '') throw invalid('label_column must name a column, got an empty string');
      draft.labelColumn = name;
      return;
    }
    case 'predictor_type':
      if (!isWord(value, 'regressor')) {
        throw unsupported(
          `predictor_type '${shown(value)}' is not supported: this container fits regression only; ` +
            'use predictor_type=regressor',
        );
      }
      return;
    case 'loss':
      if (!isAuto(value) && !isWord(value, 'squared_loss')) {
        throw unsupported(
          `loss '${shown(value)}' is not supported: only squared loss (ordinary least squares) is fitted; ` +
            'use loss=auto or squared_loss',
        );
      }
      return;
  }
}

/**
 * Which estimator the penalties describe, refusing combinations that would be
 * ambiguous: l2 and wd are one penalty on two scales, and the classical
 * covariance a robust one replaces exists only for unpenalised, unconstrained fits.
 */
function checkEstimator(draft: Draft): void {
  const on = (p: Penalty | undefined): boolean => p !== undefined && p !== 0;
  if (on(draft.l2) && on(draft.wd)) {
    throw invalid(
      `l2=${draft.l2} and wd=${draft.wd} are the same ridge penalty on two scales; set only one ` +
        '(l2 = n * wd, n the training rows: l2 pairs with plain least squares, wd with l1 in the elastic net)',
    );
  }
  if (on(draft.l2) && on(draft.l1)) {
    throw invalid(`l1 pairs with wd (the elastic net on scikit-learn ElasticNet's scale); set wd = l2 / n instead of l2=${draft.l2}`);
  }
  const autos = (['l2', 'l1', 'wd'] as const).filter((k) => draft[k] === 'auto');
  if (autos.length > 1) {
    throw unsupported(`${autos.join(' and ')} are all auto: cross-validation chooses one penalty at a time; give the others a number`);
  }
  if (draft.nonNegative && (on(draft.l2) || on(draft.l1) || on(draft.wd))) {
    throw unsupported('non_negative is fitted without penalties: set l1, wd and l2 to 0, or non_negative=false');
  }
  if (draft.robustSe !== undefined && draft.robustSe !== 'none' && (draft.nonNegative || on(draft.l2) || on(draft.l1) || on(draft.wd))) {
    throw unsupported(
      `robust_se=${draft.robustSe} applies to ordinary and weighted least squares; penalised and non-negative fits report no standard errors ` +
        '(their sampling distribution is not the classical one)',
    );
  }
}

function checkInterceptAgreement(draft: Draft): void {
  if (draft.fitIntercept === undefined || draft.useBias === undefined) return;
  if (draft.fitIntercept === draft.useBias) return;
  throw invalid(
    `fit_intercept=${draft.fitIntercept} and use_bias=${draft.useBias} disagree; ` +
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

function toBoolean(key: string, value: Scalar): boolean {
  if (typeof value === 'boolean') return value;
  if (isWord(value, 'true')) return true;
  if (isWord(value, 'false')) return false;
  throw invalid(`${key} must be true or false, got '${shown(value)}'`);
}

/** A decimal number as people write one: `0.5`, `+1`, `.5`, `5.`, `1e-3`. */
const DECIMAL = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

function toFiniteNumber(value: Scalar): number | undefined {
  if (typeof value === 'boolean') return undefined;
  // Number() also reads '' (as 0), '0x10', '0b1' and 'Infinity'; only decimals are values here.
  if (typeof value === 'string' && !DECIMAL.test(value.trim())) return undefined;
  const n = Number(value);
  return Number.isFinite(n) ? n : undefined;
}

function toPenalty(key: string, value: Scalar): Penalty {
  if (isAuto(value)) return 'auto';
  const alpha = toFiniteNumber(value);
  if (alpha === undefined || alpha < 0) {
    throw invalid(`${key} must be a number >= 0 (0 means no penalty) or auto (chosen by cross-validation), got '${shown(value)}'`);
  }
  return alpha;
}

function isAuto(value: Scalar): boolean {
  return isWord(value, 'auto');
}

function isWord(value: Scalar, word: string): boolean {
  return typeof value === 'string' && value.trim().toLowerCase() === word;
}

function unknownHyperparameter(key: string, listSupported: boolean): LinearError {
  const suggestion = closestName(key);
  const hints = [
    ...(suggestion === undefined ? [] : [`did you mean '${suggestion}'?`]),
    ...(listSupported ? [`supported: ${SUPPORTED_NAMES.join(', ')}`] : []),
  ];
  const detail = hints.length > 0 ? ` (${hints.join(' ')})` : '';
  return new LinearError(ErrorCode.UNKNOWN_HYPERPARAMETER, `unknown hyperparameter '${clipValue(key)}'${detail}`);
}

/** The known name the user most likely meant: same letters in another case, else a few typos away. */
function closestName(key: string): string | undefined {
  const lower = key.toLowerCase();
  if (SUGGESTION_CANDIDATES.includes(lower)) return lower;
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const candidate of SUGGESTION_CANDIDATES) {
    // Short names are a few edits from almost anything, so they get a tighter bound.
    const allowed = Math.min(3, Math.floor(candidate.length / 2));
    const distance = levenshtein(lower, candidate);
    if (distance <= allowed && distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  return best;
}

function levenshtein(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const substitution = previous[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1);
      current[j] = Math.min(previous[j] + 1, current[j - 1] + 1, substitution);
    }
    previous = current;
  }
  return previous[b.length];
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

function invalid(message: string): LinearError {
  return new LinearError(ErrorCode.INVALID_HYPERPARAMETER, message);
}

function unsupported(message: string): LinearError {
  return new LinearError(ErrorCode.UNSUPPORTED_HYPERPARAMETER, message);
}

function shown(value: Scalar): string {
  return clipValue(String(value));
}

/** Like `shown`, for a value that may not have been decoded (or be decodable) yet. */
function shownRaw(raw: unknown): string {
  if (typeof raw === 'string') return shown(unwrapJsonString(raw));
  return clipValue(JSON.stringify(raw) ?? String(raw));
}

/** Values may be up to 2500 characters; messages quote only their start. */
function clipValue(text: string): string {
  return clip(text, MAX_SHOWN_LENGTH);
}
