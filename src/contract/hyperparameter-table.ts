/**
 * The hyperparameters: one entry each with its type, default, range or
 * values, whether a tuning job may vary it, its description and its parser.
 * Parsing and defaults (hyperparameters.ts), `linear describe`'s
 * SupportedHyperParameters and the README's table all come from here.
 */
import { ErrorCode, LinearError, clip } from '../errors';

/** A value as hyperparameters.json holds it, after SageMaker's extra JSON quoting is undone. */
export type Scalar = string | number | boolean;

/** A penalty given as a number, or 'auto': chosen by exact k-fold cross-validation. */
export type Penalty = number | 'auto';

/** Heteroskedasticity-robust covariance estimators (statsmodels' cov_type names). */
export const ROBUST_COVARIANCES = ['HC0', 'HC1', 'HC2', 'HC3'] as const;
export type RobustCovariance = (typeof ROBUST_COVARIANCES)[number];

/** Where the residual diagnostics come from when the rows are not in memory: a row sample, or one more pass. */
export const RESIDUAL_DIAGNOSTICS = ['auto', 'exact'] as const;
export type ResidualDiagnostics = (typeof RESIDUAL_DIAGNOSTICS)[number];

/**
 * SageMaker's hyperparameter types, plus boolean (to SageMaker, Categorical
 * true/false). None is Continuous: each real-valued one also takes 'auto'.
 */
export type HyperparameterType = 'boolean' | 'integer' | 'categorical' | 'free text';

export interface Hyperparameter<T = unknown> {
  type: HyperparameterType;
  /** The value when none is given, spelt as SageMaker sends it; absent when there is none. */
  default?: string;
  /** What not giving it means, for hyperparameters without a default. */
  unset?: string;
  /** Integer: the inclusive bounds. */
  range?: { min: number; max: number };
  /** Boolean and categorical: every value. */
  values?: readonly string[];
  /** Free text: what it may hold, in words. */
  accepts?: string;
  /** A tuning job may vary it: it changes the fitted model and has a range or values. */
  tunable: boolean;
  /** For the README and describe; `code` spans are the only markup. */
  description: string;
  /** The value's meaning, or an error naming `name` and the value. */
  parse: (value: Scalar, name: string) => T;
}

/** Each fold keeps its own factor: k x O(p^2) memory. */
const MAX_CV_FOLDS = 100;
const MAX_SHOWN_LENGTH = 40;

const boolean = (e: Pick<Hyperparameter, 'default' | 'unset' | 'tunable' | 'description'>): Hyperparameter<boolean> => ({
  ...e,
  type: 'boolean',
  values: ['true', 'false'],
  parse: toBoolean,
});

const integer = (
  range: { min: number; max: number },
  e: Pick<Hyperparameter, 'default' | 'tunable' | 'description'>,
): Hyperparameter<number> => ({ ...e, type: 'integer', range, parse: (value, name) => toInteger(value, name, range) });

// 'auto' or a number is free text to SageMaker: a Continuous range cannot hold 'auto'.
const penalty = (description: string): Hyperparameter<Penalty> => ({
  type: 'free text',
  default: '0',
  accepts: 'number >= 0 or `auto`',
  tunable: false,
  description,
  parse: toPenalty,
});

export const HYPERPARAMETERS = {
  fit_intercept: boolean({
    default: 'true',
    tunable: true,
    description: 'Fit an intercept; `false` forces the plane through the origin.',
  }),
  use_bias: boolean({
    unset: "`fit_intercept`'s",
    tunable: false,
    description: "Linear Learner's name for `fit_intercept`; if both are set they must agree.",
  }),
  l2: penalty(
    'Ridge penalty alpha in ‖y − Xb‖² + alpha‖b‖², intercept not penalised (as scikit-learn\'s `Ridge`). ' +
      '`0` is ordinary least squares; `auto` chooses it by exact k-fold cross-validation.',
  ),
  l1: penalty(
    'Elastic net L1 penalty: minimises (1/(2n))‖y − Xb‖² + l1‖b‖₁ + (wd/2)‖b‖², intercept not penalised — ' +
      'scikit-learn `ElasticNet` with `l1 = alpha·l1_ratio`. `auto`: cross-validated.',
  ),
  wd: penalty(
    'Elastic net L2 penalty on the same scale, `wd = alpha·(1 − l1_ratio)`; `wd` alone is ridge with `l2 = n·wd`. ' +
      'Set `l2` or `wd`, not both.',
  ),
  non_negative: boolean({
    default: 'false',
    tunable: true,
    description:
      'Slopes constrained to be ≥ 0 (scikit-learn `positive=True`), intercept free; the model lists the constraints that are active.',
  }),
  weight_column: {
    type: 'free text',
    unset: 'none',
    accepts: 'column name or number',
    tunable: false,
    description:
      "Sample weights (weighted least squares, as statsmodels `WLS`): a header name, or the column's 1-based number " +
      'counting the label as 1. Weight 0 skips the row; negative or non-finite is `INVALID_WEIGHT`.',
    parse: toWeightColumn,
  } satisfies Hyperparameter<string | number>,
  cv_folds: integer(
    { min: 2, max: MAX_CV_FOLDS },
    {
      default: '5',
      tunable: true,
      description: 'Folds of the cross-validation behind an `auto` penalty; row i (0-based, files in sorted order) is in fold i mod `cv_folds`.',
    },
  ),
  checkpoint_interval: integer(
    { min: 0, max: 86_400 },
    {
      default: '60',
      // How often progress is saved changes no model.
      tunable: false,
      description:
        'Seconds between checkpoints when the job has a CheckpointConfig (spot training): after a finished file, at most this often, and on SIGTERM; 0 after every file.',
    },
  ),
  robust_se: {
    type: 'categorical',
    default: 'none',
    values: ['none', ...ROBUST_COVARIANCES],
    // Standard errors do not change the predictions a tuning job scores.
    tunable: false,
    description:
      "Heteroskedasticity-robust standard errors (statsmodels' `cov_type`); t, p and the F test use them. One more pass over the data.",
    parse: toRobustCovariance,
  } satisfies Hyperparameter<RobustCovariance | 'none'>,
  residual_diagnostics: {
    type: 'categorical',
    default: 'auto',
    values: RESIDUAL_DIAGNOSTICS,
    // Diagnostics do not change the predictions a tuning job scores.
    tunable: false,
    description:
      "Where model.json's residual diagnostics (skew, kurtosis, omnibus, Jarque-Bera, Durbin-Watson) come from. Always exact when the rows fit in memory or are read again for `robust_se`; otherwise `auto` estimates them from a sample of 5,000 rows (no Durbin-Watson) and `exact` reads the data once more. `exact` is for one instance only.",
    parse: toResidualDiagnostics,
  } satisfies Hyperparameter<ResidualDiagnostics>,
  feature_dim: {
    type: 'free text',
    default: 'auto',
    accepts: '`auto` or integer > 0',
    tunable: false,
    description: 'Number of feature columns (label excluded); training fails if the data differs.',
    parse: toFeatureDim,
  } satisfies Hyperparameter<number | 'auto'>,
  label_column: {
    type: 'free text',
    unset: 'first column',
    accepts: 'column name',
    tunable: false,
    description: 'Parquet channels: the column holding the label, when it is not the first.',
    parse: toLabelColumn,
  } satisfies Hyperparameter<string>,
  predictor_type: {
    type: 'categorical',
    default: 'regressor',
    values: ['regressor'],
    tunable: false,
    description: 'Linear Learner compatibility; only regression is fitted.',
    parse: toPredictorType,
  } satisfies Hyperparameter<'regressor'>,
  loss: {
    type: 'categorical',
    default: 'auto',
    values: ['auto', 'squared_loss'],
    tunable: false,
    description: 'Linear Learner compatibility; the loss is squared error.',
    parse: toLoss,
  } satisfies Hyperparameter<'auto' | 'squared_loss'>,
};

export type HyperparameterName = keyof typeof HYPERPARAMETERS;

/** What each hyperparameter's parser makes of its value. */
export type HyperparameterValues = { [K in HyperparameterName]: ReturnType<(typeof HYPERPARAMETERS)[K]['parse']> };

export const HYPERPARAMETER_NAMES = Object.keys(HYPERPARAMETERS) as HyperparameterName[];

export function isHyperparameterName(name: string): name is HyperparameterName {
  return Object.hasOwn(HYPERPARAMETERS, name);
}

/** The README's table: one row per hyperparameter. */
export function hyperparameterTable(): string {
  const rows = HYPERPARAMETER_NAMES.map((name) => {
    const h: Hyperparameter = HYPERPARAMETERS[name];
    const fallback = h.default === undefined ? h.unset : `\`${h.default}\``;
    return `| \`${name}\` | ${accepted(h)} | ${fallback} | ${h.tunable ? 'yes' : ''} | ${h.description} |`;
  });
  return ['| name | type | default | tunable | meaning |', '|---|---|---|---|---|', ...rows].join('\n');
}

/** The values a hyperparameter takes, in words. */
function accepted(h: Hyperparameter): string {
  switch (h.type) {
    case 'boolean':
      return 'boolean';
    case 'integer':
      return `integer ${h.range?.min}–${h.range?.max}`;
    case 'categorical':
      return (h.values ?? []).map((v) => `\`${v}\``).join(', ');
    case 'free text':
      return h.accepts ?? 'text';
  }
}

function toBoolean(value: Scalar, name: string): boolean {
  if (typeof value === 'boolean') return value;
  if (isWord(value, 'true')) return true;
  if (isWord(value, 'false')) return false;
  throw invalid(`${name} must be true or false, got '${shown(value)}'`);
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

function toPenalty(value: Scalar, name: string): Penalty {
  if (isAuto(value)) return 'auto';
  const alpha = toFiniteNumber(value);
  if (alpha === undefined || alpha < 0) {
    throw invalid(`${name} must be a number >= 0 (0 means no penalty) or auto (chosen by cross-validation), got '${shown(value)}'`);
  }
  return alpha;
}

function toInteger(value: Scalar, name: string, { min, max }: { min: number; max: number }): number {
  const n = toFiniteNumber(value);
  if (n === undefined || !Number.isSafeInteger(n) || n < min || n > max) {
    throw invalid(`${name} must be an integer from ${min} to ${max}, got '${shown(value)}'`);
  }
  return n;
}

function toWeightColumn(value: Scalar): string | number {
  const text = String(value).trim();
  if (text === '') throw invalid('weight_column must name a column or give its 1-based number, got an empty string');
  const number = typeof value === 'number' || /^\d+$/.test(text) ? Number(text) : undefined;
  if (number !== undefined && !(Number.isSafeInteger(number) && number >= 2)) {
    throw invalid(`weight_column ${text} is not a column after the label: the label is column 1, so give 2 or more (or the column's header name)`);
  }
  return number ?? text;
}

function toRobustCovariance(value: Scalar): RobustCovariance | 'none' {
  const kind = ROBUST_COVARIANCES.find((k) => k === String(value).trim().toUpperCase());
  if (kind !== undefined) return kind;
  if (isWord(value, 'none') || isWord(value, 'nonrobust') || isWord(value, 'false')) return 'none';
  throw invalid(`robust_se must be one of ${ROBUST_COVARIANCES.join(', ')} or none, got '${shown(value)}'`);
}

function toResidualDiagnostics(value: Scalar): ResidualDiagnostics {
  const source = RESIDUAL_DIAGNOSTICS.find((v) => isWord(value, v));
  if (source !== undefined) return source;
  throw invalid(`residual_diagnostics must be auto (a row sample when the data is not in memory) or exact (one more pass), got '${shown(value)}'`);
}

function toFeatureDim(value: Scalar): number | 'auto' {
  if (isAuto(value)) return 'auto';
  const dim = toFiniteNumber(value);
  if (dim === undefined || !Number.isSafeInteger(dim) || dim < 1) {
    throw invalid(`feature_dim must be auto or a positive integer, got '${shown(value)}'`);
  }
  return dim;
}

function toLabelColumn(value: Scalar): string {
  const name = String(value).trim();
  if (name === '') throw invalid('label_column must name a column, got an empty string');
  return name;
}

function toPredictorType(value: Scalar): 'regressor' {
  if (isWord(value, 'regressor')) return 'regressor';
  throw unsupported(`predictor_type '${shown(value)}' is not supported: this container fits regression only; use predictor_type=regressor`);
}

function toLoss(value: Scalar): 'auto' | 'squared_loss' {
  if (isAuto(value)) return 'auto';
  if (isWord(value, 'squared_loss')) return 'squared_loss';
  throw unsupported(`loss '${shown(value)}' is not supported: only squared loss (ordinary least squares) is fitted; use loss=auto or squared_loss`);
}

function isAuto(value: Scalar): boolean {
  return isWord(value, 'auto');
}

function isWord(value: Scalar, word: string): boolean {
  return typeof value === 'string' && value.trim().toLowerCase() === word;
}

export function invalid(message: string): LinearError {
  return new LinearError(ErrorCode.INVALID_HYPERPARAMETER, message);
}

export function unsupported(message: string): LinearError {
  return new LinearError(ErrorCode.UNSUPPORTED_HYPERPARAMETER, message);
}

/** Values may be up to 2500 characters; messages quote only their start. */
export function shown(value: Scalar): string {
  return clip(String(value), MAX_SHOWN_LENGTH);
}
