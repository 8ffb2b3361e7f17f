/**
 * model/model.json: what training writes and serving loads. Written
 * atomically (temp file + rename) so a failed or stopped run never leaves a
 * partial model. NaN statistics (undefined, e.g. no residual degrees of
 * freedom) are stored as null.
 */
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import type { MlPaths } from '../contract/paths';
import { ErrorCode, LinearError, systemErrorReason } from '../errors';
import type { NativeFit, PredictorModel, ScoringModel } from '../native';

export const MODEL_FORMAT = 'linear-model';
export const MODEL_VERSION = 1;

type Stat = number | null;

export interface PerParameter {
  intercept: Stat;
  coefficients: Stat[];
}

export interface Model {
  format: typeof MODEL_FORMAT;
  version: typeof MODEL_VERSION;
  fit_intercept: boolean;
  l2: number;
  label_name: string;
  feature_names: string[];
  /** Whether the names came from a header row (then a scoring header is checked against them). */
  feature_names_from_header: boolean;
  intercept: number;
  coefficients: number[];
  /** True where a feature is a linear combination of earlier ones; its coefficient is 0. */
  aliased: boolean[];
  statistics: {
    n: number;
    rank: number;
    df_model: number;
    df_resid: number;
    r_squared: Stat;
    adj_r_squared: Stat;
    mse: number;
    rmse: number;
    residual_std_error: Stat;
    f_statistic: Stat;
    f_p_value: Stat;
    std_errors: PerParameter;
    t_values: PerParameter;
    p_values: PerParameter;
    condition_number: Stat;
    /** "double" (one f64 pass) or "extended" (double-double factorisation). */
    precision: string;
  };
  /** Predictions are c0 + b0' + Σ b_j (x_j - c_j): shifted so offset features cancel no digits. */
  prediction: {
    center: number[];
    center_label: number;
    centered_intercept: number;
  };
  /**
   * For standard errors and intervals of predictions: Cov(b') = sigma2 · R⁻¹R⁻ᵀ
   * over `parameters` (design indices, 0 = intercept when fitted) in the
   * shifted basis. Null for ridge fits and fits without residual degrees of freedom.
   */
  inference: {
    parameters: number[];
    covariance_factor: number[];
    sigma2: number;
    df_resid: number;
  } | null;
}

const stat = (v: number): Stat => (Number.isFinite(v) ? v : null);

export interface ModelNames {
  labelName: string;
  featureNames: string[];
  fromHeader: boolean;
}

export function modelFromFit(fit: NativeFit, names: ModelNames): Model {
  const s = fit.statistics;
  const perParameter = (intercept: number, coefficients: number[]): PerParameter => ({
    intercept: fit.fitIntercept ? stat(intercept) : null,
    coefficients: coefficients.map(stat),
  });
  return {
    format: MODEL_FORMAT,
    version: MODEL_VERSION,
    fit_intercept: fit.fitIntercept,
    l2: fit.l2,
    label_name: names.labelName,
    feature_names: names.featureNames,
    feature_names_from_header: names.fromHeader,
    intercept: fit.intercept,
    coefficients: fit.coefficients,
    aliased: fit.aliased,
    statistics: {
      n: s.n,
      rank: s.rank,
      df_model: s.dfModel,
      df_resid: s.dfResid,
      r_squared: stat(s.rSquared),
      adj_r_squared: stat(s.adjRSquared),
      mse: s.mse,
      rmse: s.rmse,
      residual_std_error: stat(s.residualStdError),
      f_statistic: stat(s.fStatistic),
      f_p_value: stat(s.fPValue),
      std_errors: perParameter(s.interceptStdError, s.stdErrors),
      t_values: perParameter(s.interceptTValue, s.tValues),
      p_values: perParameter(s.interceptPValue, s.pValues),
      condition_number: stat(s.conditionNumber),
      precision: fit.precision,
    },
    prediction: {
      center: fit.center,
      center_label: fit.centerLabel,
      centered_intercept: fit.centeredIntercept,
    },
    inference: fit.inference
      ? {
          parameters: fit.inference.parameters,
          covariance_factor: fit.inference.covarianceFactor,
          sigma2: fit.inference.sigma2,
          df_resid: fit.inference.dfResid,
        }
      : null,
  };
}

export function scoringModel(model: Model): ScoringModel {
  return {
    coefficients: model.coefficients,
    center: model.prediction.center,
    centerLabel: model.prediction.center_label,
    centeredIntercept: model.prediction.centered_intercept,
    featureNames: model.feature_names_from_header ? model.feature_names : undefined,
  };
}

export function predictorModel(model: Model): PredictorModel {
  return {
    coefficients: model.coefficients,
    center: model.prediction.center,
    centerLabel: model.prediction.center_label,
    centeredIntercept: model.prediction.centered_intercept,
    featureNames: model.feature_names,
    fitIntercept: model.fit_intercept,
    inference: model.inference
      ? {
          parameters: model.inference.parameters,
          covarianceFactor: model.inference.covariance_factor,
          sigma2: model.inference.sigma2,
          dfResid: model.inference.df_resid,
        }
      : undefined,
  };
}

/** Writes model.json via a temp file and rename, so readers never see half a model. */
export async function writeModel(paths: MlPaths, model: Model): Promise<void> {
  await fs.mkdir(paths.modelDir, { recursive: true });
  const temp = path.join(paths.modelDir, `.model.json.${process.pid}.tmp`);
  try {
    await fs.writeFile(temp, `${JSON.stringify(model, null, 2)}\n`);
    await fs.rename(temp, paths.modelFile);
  } catch (err) {
    await fs.rm(temp, { force: true });
    throw new LinearError(ErrorCode.UNWRITABLE_OUTPUT, `cannot write ${paths.modelFile}: ${systemErrorReason(err)}`);
  }
}

function invalid(file: string, why: string): LinearError {
  return new LinearError(ErrorCode.MODEL_INVALID, `${file} is not a valid linear model: ${why}; train again to replace it`);
}

const isNumberArray = (v: unknown, length: number): v is number[] =>
  Array.isArray(v) && v.length === length && v.every((x) => typeof x === 'number' && Number.isFinite(x));

/** Loads and checks model.json (what prediction relies on must be present and finite). */
export async function loadModel(paths: MlPaths): Promise<Model> {
  const file = paths.modelFile;
  let text: string;
  try {
    text = await fs.readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new LinearError(ErrorCode.MODEL_NOT_FOUND, `no model at ${file}; run train first (it writes model/model.json)`);
    }
    throw new LinearError(ErrorCode.UNREADABLE_FILE, `cannot read ${file}: ${systemErrorReason(err)}`);
  }
  let model: Model;
  try {
    model = JSON.parse(text) as Model;
  } catch {
    throw invalid(file, 'it is not JSON');
  }
  if (typeof model !== 'object' || model === null || model.format !== MODEL_FORMAT) {
    throw invalid(file, `"format" must be "${MODEL_FORMAT}"`);
  }
  if (model.version !== MODEL_VERSION) throw invalid(file, `version ${String(model.version)} is not supported (expected ${MODEL_VERSION})`);
  const p = Array.isArray(model.coefficients) ? model.coefficients.length : -1;
  if (!isNumberArray(model.coefficients, p)) throw invalid(file, '"coefficients" must be an array of finite numbers');
  if (!Array.isArray(model.feature_names) || model.feature_names.length !== p || !model.feature_names.every((n) => typeof n === 'string')) {
    throw invalid(file, `"feature_names" must hold ${p} names`);
  }
  const prediction = model.prediction;
  if (
    typeof prediction !== 'object' || prediction === null ||
    !isNumberArray(prediction.center, p) ||
    !isNumberArray([prediction.center_label, prediction.centered_intercept], 2)
  ) {
    throw invalid(file, '"prediction" must hold center (one per feature), center_label and centered_intercept');
  }
  if (typeof model.intercept !== 'number' || typeof model.fit_intercept !== 'boolean') {
    throw invalid(file, '"intercept" and "fit_intercept" are required');
  }
  return model;
}
