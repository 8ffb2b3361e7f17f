// Generated from native/core/src/model.rs (the schema's one owner) by its tests:
// LINEAR_UPDATE_SCHEMA=1 cargo test -p linear_core model. Do not edit.

export type ModelDocument = { 
/**
 * Always "linear-model".
 */
format: string, version: number, fit_intercept: boolean, 
/**
 * Ridge penalty on ‖y − Xb‖² + l2‖b‖² (scikit-learn Ridge); 0 when not used.
 */
l2: number, 
/**
 * Elastic net penalties on (1/(2n))‖y − Xb‖² + l1‖b‖₁ + (wd/2)‖b‖² (scikit-learn ElasticNet); 0 when not used.
 */
l1: number, wd: number, 
/**
 * Slopes were constrained to be >= 0.
 */
non_negative: boolean, 
/**
 * Non-negative fits: true where a slope is held at 0 by its constraint; empty otherwise.
 */
at_bound: Array<boolean>, 
/**
 * Null when unweighted.
 */
weight_column: WeightColumn | null, label_name: string, feature_names: Array<string>, 
/**
 * The names came from a header row (else they are x1..xp).
 */
feature_names_from_header: boolean, intercept: number, coefficients: Array<number>, 
/**
 * True where a feature is a linear combination of earlier ones; its coefficient is 0.
 */
aliased: Array<boolean>, statistics: Statistics, prediction: Prediction, 
/**
 * Null for penalised and non-negative fits and fits without residual degrees of freedom.
 */
inference: Inference | null, 
/**
 * Null unless a penalty was given as auto.
 */
cv: CrossValidation | null, 
/**
 * Null in models written before it was recorded.
 */
training: Training | null, };

export type Statistics = { n: number, 
/**
 * Estimated parameters, intercept included.
 */
rank: number, df_model: number, df_resid: number, r_squared: number | null, adj_r_squared: number | null, mse: number, rmse: number, residual_std_error: number | null, f_statistic: number | null, f_p_value: number | null, std_errors: PerParameter, t_values: PerParameter, p_values: PerParameter, 
/**
 * 2-norm condition number of the design as given, intercept column included.
 */
condition_number: number | null, 
/**
 * "double" (one f64 pass) or "extended" (double-double factorisation).
 */
precision: string, 
/**
 * What the standard errors, t, p and F come from: "nonrobust" (classical) or "HC0".."HC3" (statsmodels' cov_type).
 */
covariance_type: string, 
/**
 * statsmodels' llf: least-squares fits (OLS, and WLS when Σ ln w of the
 * rows was at hand); null for ridge, elastic net and non-negative fits.
 */
log_likelihood: number | null, 
/**
 * −2·llf + 2k and −2·llf + ln(n)·k, k the rank (df_model + the constant).
 */
aic: number | null, bic: number | null, 
/**
 * 95% intervals coef ∓ t(0.975, df_resid)·se (statsmodels' conf_int()),
 * robust when the standard errors are; null without standard errors.
 */
conf_int: ConfidenceIntervals | null, 
/**
 * Variance inflation factor per feature: statsmodels'
 * variance_inflation_factor(exog, j) with exog the design and its
 * constant column when fitted (1/(1 − R²_j), R²_j centred with a constant,
 * uncentred without). Weighted fits: the auxiliary regressions are WLS
 * with the fit's weights (weighted R²). Null for aliased features and
 * fits without standard errors; empty in models written before it was recorded.
 */
vif: Array<number | null>, 
/**
 * Normality and autocorrelation of the (whitened, √w·e) residuals; null when not computed.
 */
residuals: ResidualDiagnostics | null, };

export type PerParameter = { 
/**
 * Null when the model has no intercept.
 */
intercept: number | null, coefficients: Array<number | null>, };

export type Prediction = { center: Array<number>, center_label: number, centered_intercept: number, };

export type Inference = { parameters: Array<number>, 
/**
 * R⁻¹, row-major upper triangle, `parameters.len()` square.
 */
covariance_factor: Array<number>, sigma2: number, df_resid: number, };

export type WeightColumn = { name: string, 
/**
 * 1-based, the label being column 1: where `test` and scored channels find the weights.
 */
column: number, };

export type CrossValidation = { 
/**
 * "l2", "l1" or "wd".
 */
parameter: string, folds: number, 
/**
 * The penalties tried, decreasing.
 */
grid: Array<number>, 
/**
 * Mean over the folds of each held-out fold's mse, per grid value.
 */
mse: Array<number>, 
/**
 * Standard error of that mean (standard deviation over the folds / √folds).
 */
standard_error: Array<number>, 
/**
 * The grid value of least CV mse: the model was refitted on all rows with it.
 */
chosen: number, 
/**
 * The largest penalty whose CV mse is within one standard error of the least.
 */
one_standard_error: number, };

export type Training = { 
/**
 * The train channel's S3DataDistributionType: "FullyReplicated" or "ShardedByS3Key".
 */
distribution: string, hosts: Array<HostShare>, };

export type HostShare = { host: string, rows: number, bytes: number, };

export type ConfidenceIntervals = { 
/**
 * 0.95.
 */
level: number, lower: PerParameter, upper: PerParameter, };

export type ResidualDiagnostics = { 
/**
 * "exact": every training row; "sample": the row sample (estimates).
 */
source: string, 
/**
 * The rows the residuals come from.
 */
rows: number, skew: number | null, 
/**
 * Pearson's (3 for a normal), not the excess.
 */
kurtosis: number | null, omnibus: number | null, omnibus_p_value: number | null, jarque_bera: number | null, jarque_bera_p_value: number | null, 
/**
 * Σ(e_t − e_{t−1})²/Σe_t² with rows in reading order (files in the
 * order they were streamed); null for a sample.
 */
durbin_watson: number | null, };
