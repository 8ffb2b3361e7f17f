//! `model/model.json`: the one definition of the artifact that training
//! writes and `test`, scoring and `serve` load. Its schema (the serde types
//! below, from which the TypeScript view `src/model/document.ts` is
//! generated), its version, how a [`Fit`] becomes one, and every check a
//! model must pass live here, so a file is either a model all three commands
//! accept or refused by all three with the same message.

use crate::cv::Selection;
use crate::dd::Dd;
use crate::distributions::student_t_central;
use crate::error::CoreError;
use crate::robust::CovarianceType;
use crate::solve::Fit;
use serde::{Deserialize, Serialize};
use serde_json::Value;
#[cfg(test)]
use ts_rs::TS;

pub const FORMAT: &str = "linear-model";
pub const VERSION: u32 = 1;

/// A statistic that is not defined for this fit (e.g. no residual degrees of freedom) is null.
pub type Stat = Option<f64>;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(test, derive(TS))]
#[serde(deny_unknown_fields)]
pub struct PerParameter {
    /// Null when the model has no intercept.
    pub intercept: Stat,
    pub coefficients: Vec<Stat>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(test, derive(TS))]
#[serde(deny_unknown_fields)]
pub struct Statistics {
    #[cfg_attr(test, ts(type = "number"))]
    pub n: u64,
    /// Estimated parameters, intercept included.
    pub rank: usize,
    pub df_model: f64,
    pub df_resid: f64,
    pub r_squared: Stat,
    pub adj_r_squared: Stat,
    pub mse: f64,
    pub rmse: f64,
    pub residual_std_error: Stat,
    pub f_statistic: Stat,
    pub f_p_value: Stat,
    pub std_errors: PerParameter,
    pub t_values: PerParameter,
    pub p_values: PerParameter,
    /// 2-norm condition number of the design as given, intercept column included.
    pub condition_number: Stat,
    /// "double" (one f64 pass) or "extended" (double-double factorisation).
    pub precision: String,
    /// What the standard errors, t, p and F come from: "nonrobust" (classical) or "HC0".."HC3" (statsmodels' cov_type).
    #[serde(default = "nonrobust")]
    pub covariance_type: String,
    /// statsmodels' llf: least-squares fits (OLS, and WLS when Σ ln w of the
    /// rows was at hand); null for ridge, elastic net and non-negative fits.
    #[serde(default)]
    pub log_likelihood: Stat,
    /// −2·llf + 2k and −2·llf + ln(n)·k, k the rank (df_model + the constant).
    #[serde(default)]
    pub aic: Stat,
    #[serde(default)]
    pub bic: Stat,
    /// 95% intervals coef ∓ t(0.975, df_resid)·se (statsmodels' conf_int()),
    /// robust when the standard errors are; null without standard errors.
    #[serde(default)]
    pub conf_int: Option<ConfidenceIntervals>,
    /// Variance inflation factor per feature: statsmodels'
    /// variance_inflation_factor(exog, j) with exog the design and its
    /// constant column when fitted (1/(1 − R²_j), R²_j centred with a constant,
    /// uncentred without). Weighted fits: the auxiliary regressions are WLS
    /// with the fit's weights (weighted R²). Null for aliased features and
    /// fits without standard errors; empty in models written before it was recorded.
    #[serde(default)]
    pub vif: Vec<Stat>,
    /// Normality and autocorrelation of the (whitened, √w·e) residuals; null when not computed.
    #[serde(default)]
    pub residuals: Option<ResidualDiagnostics>,
}

/// Confidence intervals of the parameters at `level`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(test, derive(TS))]
#[serde(deny_unknown_fields)]
pub struct ConfidenceIntervals {
    /// 0.95.
    pub level: f64,
    pub lower: PerParameter,
    pub upper: PerParameter,
}

/// The residuals' diagnostics of statsmodels' OLS summary, on its `wresid`
/// (√w·e; rows of weight 0 left out): scipy's biased skew and Pearson
/// kurtosis, the omnibus test (scipy.stats.normaltest, D'Agostino–Pearson K²,
/// null below 8 rows), Jarque–Bera and Durbin–Watson.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(test, derive(TS))]
#[serde(deny_unknown_fields)]
pub struct ResidualDiagnostics {
    /// "exact": every training row; "sample": the row sample (estimates).
    pub source: String,
    /// The rows the residuals come from.
    #[cfg_attr(test, ts(type = "number"))]
    pub rows: u64,
    pub skew: Stat,
    /// Pearson's (3 for a normal), not the excess.
    pub kurtosis: Stat,
    pub omnibus: Stat,
    pub omnibus_p_value: Stat,
    pub jarque_bera: Stat,
    pub jarque_bera_p_value: Stat,
    /// Σ(e_t − e_{t−1})²/Σe_t² with rows in reading order (files in the
    /// order they were streamed); null for a sample.
    pub durbin_watson: Stat,
}

impl From<&crate::diagnostics::ResidualDiagnostics> for ResidualDiagnostics {
    fn from(d: &crate::diagnostics::ResidualDiagnostics) -> Self {
        ResidualDiagnostics {
            source: d.source.name().into(),
            rows: d.rows,
            skew: stat(d.skew),
            kurtosis: stat(d.kurtosis),
            omnibus: stat(d.omnibus),
            omnibus_p_value: stat(d.omnibus_p_value),
            jarque_bera: stat(d.jarque_bera),
            jarque_bera_p_value: stat(d.jarque_bera_p_value),
            durbin_watson: stat(d.durbin_watson),
        }
    }
}

/// The 95% intervals of statsmodels' conf_int(): estimate ∓ t(0.975, df_resid)·se.
fn confidence_intervals(fit: &Fit) -> Option<ConfidenceIntervals> {
    let s = &fit.statistics;
    let lead = fit.design.fit_intercept;
    let any = s.std_errors.iter().chain(lead.then_some(&s.intercept_std_error)).any(|se| se.is_finite());
    if !any || s.df_resid.is_nan() || s.df_resid <= 0.0 {
        return None;
    }
    let level = 0.95;
    let t = student_t_central(level, s.df_resid);
    let bound = |estimate: f64, se: f64, sign: f64| if se.is_finite() { stat(estimate + sign * t * se) } else { None };
    let side = |sign: f64| PerParameter {
        intercept: if lead { bound(fit.intercept, s.intercept_std_error, sign) } else { None },
        coefficients: fit.coefficients.iter().zip(&s.std_errors).map(|(&b, &se)| bound(b, se, sign)).collect(),
    };
    Some(ConfidenceIntervals { level, lower: side(-1.0), upper: side(1.0) })
}

fn nonrobust() -> String {
    CovarianceType::Classical.name().into()
}

/// The training data's column of sample weights.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(test, derive(TS))]
#[serde(deny_unknown_fields)]
pub struct WeightColumn {
    pub name: String,
    /// 1-based, the label being column 1: where `test` and scored channels find the weights.
    pub column: usize,
}

/// The exact k-fold cross-validation that chose a penalty given as `auto`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(test, derive(TS))]
#[serde(deny_unknown_fields)]
pub struct CrossValidation {
    /// "l2", "l1" or "wd".
    pub parameter: String,
    pub folds: usize,
    /// The penalties tried, decreasing.
    pub grid: Vec<f64>,
    /// Mean over the folds of each held-out fold's mse, per grid value.
    pub mse: Vec<f64>,
    /// Standard error of that mean (standard deviation over the folds / √folds).
    pub standard_error: Vec<f64>,
    /// The grid value of least CV mse: the model was refitted on all rows with it.
    pub chosen: f64,
    /// The largest penalty whose CV mse is within one standard error of the least.
    pub one_standard_error: f64,
}

/// Where the training rows were read: one entry per host of the job.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(test, derive(TS))]
#[serde(deny_unknown_fields)]
pub struct Training {
    /// The train channel's S3DataDistributionType: "FullyReplicated" or "ShardedByS3Key".
    pub distribution: String,
    pub hosts: Vec<HostShare>,
}

/// The rows (of every weight) and stored bytes of the train channel one host read.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(test, derive(TS))]
#[serde(deny_unknown_fields)]
pub struct HostShare {
    pub host: String,
    #[cfg_attr(test, ts(type = "number"))]
    pub rows: u64,
    #[cfg_attr(test, ts(type = "number"))]
    pub bytes: u64,
}

/// Predictions are c0 + b0' + Σ b_j (x_j − c_j): evaluated in the basis the
/// fit was shifted to, so offset features cancel no digits.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(test, derive(TS))]
#[serde(deny_unknown_fields)]
pub struct Prediction {
    pub center: Vec<f64>,
    pub center_label: f64,
    pub centered_intercept: f64,
}

/// Cov(b') = sigma2 · R⁻¹R⁻ᵀ over `parameters` (design indices, 0 = the
/// intercept when fitted) in the shifted basis: standard errors and
/// intervals of predictions.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(test, derive(TS))]
#[serde(deny_unknown_fields)]
pub struct Inference {
    pub parameters: Vec<usize>,
    /// R⁻¹, row-major upper triangle, `parameters.len()` square.
    pub covariance_factor: Vec<f64>,
    pub sigma2: f64,
    pub df_resid: f64,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(test, derive(TS))]
#[serde(deny_unknown_fields)]
#[cfg_attr(test, ts(rename = "ModelDocument"))]
pub struct Model {
    /// Always "linear-model".
    pub format: String,
    pub version: u32,
    pub fit_intercept: bool,
    /// Ridge penalty on ‖y − Xb‖² + l2‖b‖² (scikit-learn Ridge); 0 when not used.
    pub l2: f64,
    /// Elastic net penalties on (1/(2n))‖y − Xb‖² + l1‖b‖₁ + (wd/2)‖b‖² (scikit-learn ElasticNet); 0 when not used.
    #[serde(default)]
    pub l1: f64,
    #[serde(default)]
    pub wd: f64,
    /// Slopes were constrained to be >= 0.
    #[serde(default)]
    pub non_negative: bool,
    /// Non-negative fits: true where a slope is held at 0 by its constraint; empty otherwise.
    #[serde(default)]
    pub at_bound: Vec<bool>,
    /// Null when unweighted.
    #[serde(default)]
    pub weight_column: Option<WeightColumn>,
    pub label_name: String,
    pub feature_names: Vec<String>,
    /// The names came from a header row (else they are x1..xp).
    pub feature_names_from_header: bool,
    pub intercept: f64,
    pub coefficients: Vec<f64>,
    /// True where a feature is a linear combination of earlier ones; its coefficient is 0.
    pub aliased: Vec<bool>,
    pub statistics: Statistics,
    pub prediction: Prediction,
    /// Null for penalised and non-negative fits and fits without residual degrees of freedom.
    pub inference: Option<Inference>,
    /// Null unless a penalty was given as auto.
    #[serde(default)]
    pub cv: Option<CrossValidation>,
    /// Null in models written before it was recorded.
    #[serde(default)]
    pub training: Option<Training>,
}

impl From<&Selection> for CrossValidation {
    fn from(selection: &Selection) -> Self {
        let curve = &selection.curve;
        CrossValidation {
            parameter: selection.penalty.name().into(),
            folds: curve.folds,
            grid: curve.grid.clone(),
            mse: curve.mse.clone(),
            standard_error: curve.standard_error.clone(),
            chosen: selection.chosen(),
            one_standard_error: curve.grid[curve.one_standard_error],
        }
    }
}

/// What the data called its columns.
#[derive(Clone, Debug, PartialEq)]
pub struct Names {
    pub label: String,
    pub features: Vec<String>,
    pub from_header: bool,
    pub weight_column: Option<WeightColumn>,
}

fn stat(value: f64) -> Stat {
    value.is_finite().then_some(value)
}

fn invalid(source: &str, detail: impl std::fmt::Display) -> CoreError {
    CoreError::ModelInvalid(format!("{source} is not a valid linear model: {detail}; train again to replace it"))
}

impl Model {
    /// The artifact for a fit. Refuses (NON_FINITE_RESULT) when a number
    /// that predictions or the covariance rely on is not finite: a model
    /// the job cannot stand behind is never written.
    pub fn from_fit(fit: &Fit, names: Names) -> Result<Model, CoreError> {
        let s = &fit.statistics;
        let lead = fit.design.fit_intercept;
        let per_parameter = |intercept: f64, coefficients: &[f64]| PerParameter {
            intercept: if lead { stat(intercept) } else { None },
            coefficients: coefficients.iter().map(|&v| stat(v)).collect(),
        };
        let (l1, wd) = fit.estimator.elastic_net();
        let model = Model {
            format: FORMAT.into(),
            version: VERSION,
            fit_intercept: lead,
            l2: fit.estimator.l2(),
            l1,
            wd,
            non_negative: fit.estimator.is_non_negative(),
            at_bound: fit.estimator.at_bound().to_vec(),
            weight_column: names.weight_column,
            label_name: names.label,
            feature_names: names.features,
            feature_names_from_header: names.from_header,
            intercept: fit.intercept,
            coefficients: fit.coefficients.clone(),
            aliased: fit.aliased.clone(),
            statistics: Statistics {
                n: s.n,
                rank: s.rank,
                df_model: s.df_model,
                df_resid: s.df_resid,
                r_squared: stat(s.r_squared),
                adj_r_squared: stat(s.adj_r_squared),
                mse: s.mse,
                rmse: s.rmse,
                residual_std_error: stat(s.residual_std_error),
                f_statistic: stat(s.f_statistic),
                f_p_value: stat(s.f_p_value),
                std_errors: per_parameter(s.intercept_std_error, &s.std_errors),
                t_values: per_parameter(s.intercept_t_value, &s.t_values),
                p_values: per_parameter(s.intercept_p_value, &s.p_values),
                condition_number: stat(s.condition_number),
                precision: fit.precision.name().into(),
                covariance_type: fit.covariance.name().into(),
                log_likelihood: stat(s.log_likelihood),
                aic: stat(s.aic),
                bic: stat(s.bic),
                conf_int: confidence_intervals(fit),
                vif: s.vif.iter().map(|&v| stat(v)).collect(),
                residuals: fit.residuals.as_ref().map(ResidualDiagnostics::from),
            },
            prediction: Prediction { center: fit.center.clone(), center_label: fit.center_label, centered_intercept: fit.centered_intercept },
            inference: fit.inference.as_ref().map(|i| Inference {
                parameters: i.parameters.clone(),
                covariance_factor: i.covariance_factor.clone(),
                sigma2: i.sigma2,
                df_resid: i.df_resid,
            }),
            cv: fit.cv.as_ref().map(CrossValidation::from),
            training: None,
        };
        if let Some(what) = model.first_non_finite() {
            return Err(CoreError::NonFiniteResult(format!(
                "the fit's {what} is beyond the range of float64 numbers, so no model was written; rescale the label and \
                 features toward units near 1 (a label near 1e200, say, has an mse near 1e400)"
            )));
        }
        model.check().map_err(|detail| CoreError::Internal(format!("the fitted model is inconsistent: {detail}")))?;
        Ok(model)
    }

    /// Parses and checks model.json bytes; `source` names the file in messages.
    pub fn parse(bytes: &[u8], source: &str) -> Result<Model, CoreError> {
        // The envelope first, so another format or version is named as such
        // rather than as the fields it does not have.
        let value: Value = serde_json::from_slice(bytes).map_err(|e| {
            if e.is_eof() {
                invalid(source, format!("it is truncated (the JSON ends at line {}, column {})", e.line(), e.column()))
            } else {
                invalid(source, format!("it is not JSON ({e})"))
            }
        })?;
        let Value::Object(fields) = &value else {
            return Err(invalid(source, "it is not a JSON object"));
        };
        if fields.get("format").and_then(Value::as_str) != Some(FORMAT) {
            return Err(invalid(source, format!("\"format\" must be \"{FORMAT}\"")));
        }
        match fields.get("version") {
            Some(v) if v.as_u64() == Some(u64::from(VERSION)) => {}
            Some(v) => return Err(invalid(source, format!("version {v} is not supported (this program reads version {VERSION})"))),
            None => return Err(invalid(source, "it has no \"version\"")),
        }
        // The path names the field at fault: "coefficients[1]: invalid type ...".
        let model: Model = serde_path_to_error::deserialize(value).map_err(|e| match e.path().to_string().as_str() {
            "." => invalid(source, e.inner()),
            path => invalid(source, format!("{path}: {}", e.inner())),
        })?;
        if let Some(what) = model.first_non_finite() {
            return Err(invalid(source, format!("its {what} is not a finite number")));
        }
        model.check().map_err(|detail| invalid(source, detail))?;
        Ok(model)
    }

    /// Pretty-printed JSON, verified to load back as this same model with
    /// the code `test` and `serve` use.
    pub fn to_json(&self) -> Result<String, CoreError> {
        let text = serde_json::to_string_pretty(self).map_err(|e| CoreError::Internal(format!("the model does not serialise: {e}")))?;
        let again = Model::parse(text.as_bytes(), "the serialised model")?;
        if again != *self {
            return Err(CoreError::Internal("the serialised model does not load back as the same model".into()));
        }
        Ok(text + "\n")
    }

    pub fn features(&self) -> usize {
        self.coefficients.len()
    }

    /// Prediction for one row of features, accumulated in double-double.
    pub fn predict(&self, features: &[f64]) -> f64 {
        let p = &self.prediction;
        let mut acc = Dd::from(p.center_label).add_f64(p.centered_intercept);
        for ((&x, &c), &b) in features.iter().zip(&p.center).zip(&self.coefficients) {
            acc += Dd::difference(x, c) * Dd::from(b);
        }
        acc.to_f64()
    }

    /// The first number serde's types cannot rule out (it would be written
    /// as null, or never parses back) that is NaN or infinite, by its name.
    fn first_non_finite(&self) -> Option<String> {
        let bad = |v: &f64| !v.is_finite();
        if bad(&self.intercept) {
            return Some("intercept".into());
        }
        if let Some(j) = self.coefficients.iter().position(bad) {
            return Some(format!("coefficient of {}", self.feature_names.get(j).map_or("a feature", String::as_str)));
        }
        let p = &self.prediction;
        if p.center.iter().any(bad) || bad(&p.center_label) || bad(&p.centered_intercept) {
            return Some("prediction shift".into());
        }
        let s = &self.statistics;
        for (name, v) in
            [("l2", self.l2), ("l1", self.l1), ("wd", self.wd), ("mse", s.mse), ("rmse", s.rmse), ("df_model", s.df_model), ("df_resid", s.df_resid)]
        {
            if bad(&v) {
                return Some(name.into());
            }
        }
        if let Some(cv) = &self.cv {
            if cv.grid.iter().chain(&cv.mse).chain(&cv.standard_error).chain([&cv.chosen, &cv.one_standard_error]).any(bad) {
                return Some("cross-validation curve".into());
            }
        }
        let i = self.inference.as_ref()?;
        if i.covariance_factor.iter().any(bad) || bad(&i.sigma2) || bad(&i.df_resid) {
            return Some("covariance of the estimates".into());
        }
        None
    }

    /// Shapes and relations between the fields (every number is finite here).
    fn check(&self) -> Result<(), String> {
        let p = self.features();
        let q = p + usize::from(self.fit_intercept);
        let s = &self.statistics;
        let lengths = [
            ("feature_names", self.feature_names.len()),
            ("aliased", self.aliased.len()),
            ("prediction.center", self.prediction.center.len()),
            ("statistics.std_errors.coefficients", s.std_errors.coefficients.len()),
            ("statistics.t_values.coefficients", s.t_values.coefficients.len()),
            ("statistics.p_values.coefficients", s.p_values.coefficients.len()),
        ];
        let intervals = s.conf_int.iter().flat_map(|c| [c.lower.coefficients.len(), c.upper.coefficients.len()]);
        if let Some(n) = intervals.chain([s.vif.len()].into_iter().filter(|&n| n > 0)).find(|&n| n != p) {
            return Err(format!("\"statistics.conf_int\" or \"statistics.vif\" has {n} entries for {p} coefficients"));
        }
        if let Some(r) = &s.residuals {
            if !["exact", "sample"].contains(&r.source.as_str()) {
                return Err(format!("statistics.residuals.source \"{}\" is neither \"exact\" nor \"sample\"", r.source));
            }
        }
        if let Some((name, n)) = lengths.iter().find(|(_, n)| *n != p) {
            return Err(format!("\"{name}\" has {n} entries for {p} coefficients"));
        }
        if p == 0 && !self.fit_intercept {
            return Err("it has neither coefficients nor an intercept".into());
        }
        for (name, v) in [("l2", self.l2), ("l1", self.l1), ("wd", self.wd)] {
            if v < 0.0 {
                return Err(format!("\"{name}\" is {v}, below 0"));
            }
        }
        if self.at_bound.len() != if self.non_negative { p } else { 0 } {
            return Err(format!("\"at_bound\" has {} entries; a non-negative fit has one per coefficient, others none", self.at_bound.len()));
        }
        if let Some(j) = (0..self.at_bound.len()).find(|&j| self.at_bound[j] && self.coefficients[j] != 0.0) {
            return Err(format!("feature {} is held at its bound but its coefficient is {}", j + 1, self.coefficients[j]));
        }
        if self.non_negative && self.coefficients.iter().any(|&b| b < 0.0) {
            return Err("a non-negative fit has a negative coefficient".into());
        }
        if !["nonrobust", "HC0", "HC1", "HC2", "HC3"].contains(&s.covariance_type.as_str()) {
            return Err(format!("covariance_type \"{}\" is none of nonrobust, HC0, HC1, HC2, HC3", s.covariance_type));
        }
        if let Some(t) = &self.training {
            if t.hosts.is_empty() || !["FullyReplicated", "ShardedByS3Key"].contains(&t.distribution.as_str()) {
                return Err("training must name FullyReplicated or ShardedByS3Key and at least one host".into());
            }
            if t.hosts.iter().map(|h| h.rows).sum::<u64>() < s.n {
                return Err(format!("training.hosts read fewer rows than the fit's n ({})", s.n));
            }
        }
        if let Some(w) = &self.weight_column {
            if w.column < 2 {
                return Err(format!("weight_column.column is {}, but column 1 is the label", w.column));
            }
        }
        let penalised = self.l2 > 0.0 || self.l1 > 0.0 || self.wd > 0.0;
        if self.l2 > 0.0 && (self.l1 > 0.0 || self.wd > 0.0) {
            return Err("it has both a ridge penalty (l2) and elastic net penalties (l1, wd); a fit has one or the other".into());
        }
        if self.non_negative && penalised {
            return Err("a non-negative fit has no penalties, but l2, l1 or wd is set".into());
        }
        if self.inference.is_some() && (penalised || self.non_negative) {
            return Err("penalised and non-negative fits have no classical covariance, but inference is set".into());
        }
        if let Some(cv) = &self.cv {
            let g = cv.grid.len();
            let fitted = match cv.parameter.as_str() {
                "l2" => Some(self.l2),
                "l1" => Some(self.l1),
                "wd" => Some(self.wd),
                _ => None,
            };
            if cv.folds < 2 || g == 0 || cv.mse.len() != g || cv.standard_error.len() != g || fitted.is_none() {
                return Err("cv must name l2, l1 or wd, have folds >= 2 and one mse and standard error per grid value".into());
            }
            if !cv.grid.contains(&cv.chosen) || !cv.grid.contains(&cv.one_standard_error) || fitted != Some(cv.chosen) {
                return Err(format!(
                    "cv.chosen ({}) and cv.one_standard_error must be values of cv.grid, and the model's {} must be cv.chosen",
                    cv.chosen, cv.parameter
                ));
            }
        }
        if let Some(j) = (0..p).find(|&j| self.aliased[j] && self.coefficients[j] != 0.0) {
            return Err(format!("feature {} is aliased but its coefficient is {}", j + 1, self.coefficients[j]));
        }
        if !self.fit_intercept && (self.intercept != 0.0 || self.prediction.centered_intercept != 0.0) {
            return Err("it has no intercept (fit_intercept is false) but a non-zero intercept".into());
        }
        let aliased = self.aliased.iter().filter(|&&a| a).count();
        if s.rank != q - aliased {
            return Err(format!("rank {} is not the {} estimated parameters", s.rank, q - aliased));
        }
        if s.n < s.rank as u64 {
            return Err(format!("{} rows cannot determine rank {}", s.n, s.rank));
        }
        if !["double", "extended"].contains(&s.precision.as_str()) {
            return Err(format!("precision \"{}\" is neither \"double\" nor \"extended\"", s.precision));
        }
        if let Some(i) = &self.inference {
            let r = i.parameters.len();
            if r != s.rank || i.parameters.windows(2).any(|w| w[0] >= w[1]) || i.parameters.iter().any(|&j| j >= q) {
                return Err(format!("inference.parameters must be the {} estimated parameters' indices, increasing, below {q}", s.rank));
            }
            if i.covariance_factor.len() != r * r {
                return Err(format!("inference.covariance_factor has {} entries, not {r} x {r}", i.covariance_factor.len()));
            }
            if i.sigma2 < 0.0 || i.df_resid <= 0.0 {
                return Err("inference needs sigma2 >= 0 and df_resid > 0".into());
            }
        }
        Ok(())
    }
}

/// For each of `names`, the column of `header` that holds it: a header in
/// any order is mapped by name, as `serve` and `test` both do.
pub fn column_order(names: &[String], header: &[String], source: &str) -> Result<Vec<usize>, CoreError> {
    let order: Option<Vec<usize>> = names.iter().map(|name| header.iter().position(|h| h == name)).collect();
    match order {
        Some(order) if header.len() == names.len() => Ok(order),
        _ => Err(CoreError::HeaderMismatch {
            source: source.into(),
            detail: format!(
                "the header names ({}) are not the model's features ({}) in some order; rename the columns or drop the header",
                header.join(","),
                names.join(",")
            ),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fit::{fit_arrays, FitOptions};

    fn fitted() -> Model {
        let x = [0.0, 1.0, 2.0, 3.0, 4.0];
        let y = [1.0, 4.1, 6.9, 10.2, 13.0];
        let fit = fit_arrays(&x, &y, 1, FitOptions::default(), 1).unwrap();
        Model::from_fit(&fit, Names { label: "y".into(), features: vec!["x".into()], from_header: true, weight_column: None }).unwrap()
    }

    #[test]
    fn a_fitted_model_round_trips_through_json() {
        let model = fitted();
        let text = model.to_json().unwrap();
        assert_eq!(Model::parse(text.as_bytes(), "m").unwrap(), model);
        assert!(text.contains("\"format\": \"linear-model\""));
    }

    fn refused(text: &str) -> String {
        let err = Model::parse(text.as_bytes(), "model.json").unwrap_err();
        assert_eq!(err.code(), "MODEL_INVALID", "{err}");
        err.to_string()
    }

    fn edited(edit: impl FnOnce(&mut Value)) -> String {
        let mut value: Value = serde_json::from_str(&fitted().to_json().unwrap()).unwrap();
        edit(&mut value);
        value.to_string()
    }

    #[test]
    fn malformed_truncated_and_foreign_files_are_refused_with_the_reason() {
        let text = fitted().to_json().unwrap();
        assert!(refused(&text[..text.len() / 2]).contains("truncated"));
        assert!(refused("not json").contains("not JSON"));
        assert!(refused("[1]").contains("not a JSON object"));
        assert!(refused(r#"{"format":"other"}"#).contains("\"format\" must be"));
        assert!(refused(&edited(|v| v["version"] = 2.into())).contains("version 2 is not supported"));
    }

    /// A change to a valid model file.
    type Edit = Box<dyn FnOnce(&mut Value)>;

    #[test]
    fn wrong_types_missing_fields_and_inconsistencies_are_refused() {
        let cases: Vec<(Edit, &str)> = vec![
            (Box::new(|v| v["coefficients"] = "x".into()), "invalid type"),
            (Box::new(|v| v["inference"]["sigma2"] = "x".into()), "invalid type"),
            (Box::new(|v| v.as_object_mut().unwrap().remove("prediction").map(drop).unwrap()), "missing field `prediction`"),
            (Box::new(|v| v["extra"] = 1.into()), "unknown field `extra`"),
            (Box::new(|v| v["feature_names"] = serde_json::json!(["a", "b"])), "2 entries for 1 coefficients"),
            (Box::new(|v| v["inference"]["covariance_factor"] = serde_json::json!([1.0])), "covariance_factor has 1 entries"),
            (Box::new(|v| v["inference"]["parameters"] = serde_json::json!([1, 0])), "inference.parameters"),
            (Box::new(|v| v["statistics"]["rank"] = 5.into()), "rank 5"),
            (Box::new(|v| v["aliased"] = serde_json::json!([true])), "aliased but its coefficient"),
            (Box::new(|v| v["statistics"]["precision"] = "single".into()), "precision"),
            (Box::new(|v| v["l1"] = 0.5.into()), "no classical covariance"),
            (Box::new(|v| v["statistics"]["covariance_type"] = "HC9".into()), "covariance_type"),
            (Box::new(|v| v["at_bound"] = serde_json::json!([true])), "\"at_bound\" has 1 entries"),
            (Box::new(|v| v["weight_column"] = serde_json::json!({"name": "y", "column": 1})), "column 1 is the label"),
            (
                Box::new(|v| {
                    v["inference"] = Value::Null;
                    v["l2"] = 2.0.into();
                    v["cv"] = serde_json::json!({"parameter": "l2", "folds": 5, "grid": [1.0], "mse": [1.0], "standard_error": [0.1], "chosen": 1.0, "one_standard_error": 1.0});
                }),
                "must be cv.chosen",
            ),
        ];
        for (edit, needle) in cases {
            let message = refused(&edited(edit));
            assert!(message.contains(needle), "{message} should say {needle}");
            assert!(message.starts_with("model.json is not a valid linear model"), "{message}");
        }
    }

    #[test]
    fn a_model_without_the_estimator_fields_loads_as_least_squares() {
        let text = edited(|v| {
            let fields = v.as_object_mut().unwrap();
            for name in ["l1", "wd", "non_negative", "at_bound", "weight_column", "cv"] {
                fields.remove(name);
            }
            let statistics = v["statistics"].as_object_mut().unwrap();
            for name in ["covariance_type", "log_likelihood", "aic", "bic", "conf_int", "vif", "residuals"] {
                statistics.remove(name);
            }
        });
        let model = Model::parse(text.as_bytes(), "old.json").unwrap();
        assert_eq!((model.l1, model.wd, model.non_negative, model.statistics.covariance_type.as_str()), (0.0, 0.0, false, "nonrobust"));
    }

    #[test]
    fn confidence_intervals_are_the_estimates_plus_minus_t_standard_errors() {
        let model = fitted();
        let s = &model.statistics;
        let c = s.conf_int.as_ref().unwrap();
        // scipy.stats.t.ppf(0.975, 3) = 3.182446305284263.
        let t = 3.182_446_305_284_263;
        let (b, se) = (model.coefficients[0], s.std_errors.coefficients[0].unwrap());
        assert!((c.lower.coefficients[0].unwrap() - (b - t * se)).abs() <= 1e-13 * b.abs());
        assert!((c.upper.coefficients[0].unwrap() - (b + t * se)).abs() <= 1e-13 * b.abs());
        let (b0, se0) = (model.intercept, s.std_errors.intercept.unwrap());
        assert!((c.lower.intercept.unwrap() - (b0 - t * se0)).abs() <= 1e-13 * (b0.abs() + t * se0));
        assert_eq!(c.level, 0.95);
        assert!(s.log_likelihood.is_some() && s.vif.len() == 1 && s.residuals.as_ref().unwrap().source == "exact");
        // Penalised: no likelihood, no intervals.
        let x = [0.0, 1.0, 2.0, 3.0, 4.0];
        let y = [1.0, 4.1, 6.9, 10.2, 13.0];
        let options = FitOptions { penalties: crate::estimator::Penalties { l2: 1.0, ..Default::default() }, ..FitOptions::default() };
        let ridge = fit_arrays(&x, &y, 1, options, 1).unwrap();
        let ridge = Model::from_fit(&ridge, Names { label: "y".into(), features: vec!["x".into()], from_header: true, weight_column: None }).unwrap();
        let s = &ridge.statistics;
        assert!(s.log_likelihood.is_none() && s.aic.is_none() && s.conf_int.is_none() && s.residuals.is_some());
    }

    #[test]
    fn a_non_finite_fit_is_refused_not_written() {
        let x = [0.0, 1.0, 2.0];
        let y = [1.0, 2.0, 3.0];
        let mut fit = fit_arrays(&x, &y, 1, FitOptions::default(), 1).unwrap();
        fit.coefficients[0] = f64::NAN;
        let err =
            Model::from_fit(&fit, Names { label: "y".into(), features: vec!["x".into()], from_header: false, weight_column: None }).unwrap_err();
        assert_eq!(err.code(), "NON_FINITE_RESULT");
        assert!(err.to_string().contains("coefficient of x"), "{err}");
    }

    #[test]
    fn headers_map_by_name_in_any_order() {
        let names = ["a".to_string(), "b".to_string()];
        assert_eq!(column_order(&names, &["b".into(), "a".into()], "h").unwrap(), vec![1, 0]);
        assert_eq!(column_order(&names, &["a".into(), "c".into()], "h").unwrap_err().code(), "HEADER_MISMATCH");
    }

    /// The TypeScript view of the schema, `src/model/document.ts`, is generated from these types.
    #[test]
    fn the_typescript_view_of_the_schema_is_current() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../src/model/document.ts");
        let generated = typescript_view();
        if std::env::var_os("LINEAR_UPDATE_SCHEMA").is_some() {
            std::fs::write(&path, &generated).unwrap();
        }
        let committed = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(committed == generated, "{} is stale: run LINEAR_UPDATE_SCHEMA=1 cargo test -p linear_core model", path.display());
    }

    fn typescript_view() -> String {
        let cfg = ts_rs::Config::default();
        let declarations = [
            Model::decl(&cfg),
            Statistics::decl(&cfg),
            PerParameter::decl(&cfg),
            Prediction::decl(&cfg),
            Inference::decl(&cfg),
            WeightColumn::decl(&cfg),
            CrossValidation::decl(&cfg),
            Training::decl(&cfg),
            HostShare::decl(&cfg),
            ConfidenceIntervals::decl(&cfg),
            ResidualDiagnostics::decl(&cfg),
        ];
        let mut text = String::from(
            "// Generated from native/core/src/model.rs (the schema's one owner) by its tests:\n\
             // LINEAR_UPDATE_SCHEMA=1 cargo test -p linear_core model. Do not edit.\n\n",
        );
        for declaration in declarations {
            text.push_str("export ");
            text.push_str(&declaration);
            text.push_str("\n\n");
        }
        text.truncate(text.trim_end().len());
        text.push('\n');
        text
    }
}
