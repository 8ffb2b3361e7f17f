// Generated from native/core/src/model.rs (the schema's one owner) by its tests:
// LINEAR_UPDATE_SCHEMA=1 cargo test -p linear_core model. Do not edit.

export type ModelDocument = { 
/**
 * Always "linear-model".
 */
format: string, version: number, fit_intercept: boolean, l2: number, label_name: string, feature_names: Array<string>, 
/**
 * The names came from a header row (else they are x1..xp).
 */
feature_names_from_header: boolean, intercept: number, coefficients: Array<number>, 
/**
 * True where a feature is a linear combination of earlier ones; its coefficient is 0.
 */
aliased: Array<boolean>, statistics: Statistics, prediction: Prediction, 
/**
 * Null for ridge fits and fits without residual degrees of freedom.
 */
inference: Inference | null, };

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
precision: string, };

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
