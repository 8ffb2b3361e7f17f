//! N-API glue for linear_core: `Binding`-shaped objects in, core types out.
//! Long work runs as `AsyncTask`s on the libuv pool so the JS thread keeps
//! reading the next chunk; every error crosses as `CODE: message`.

use linear_core::accumulate::Shift;
use linear_core::checkpoint::Pass;
use linear_core::cv::{Tuned, Tuning};
use linear_core::decode::{sniff, Declared, Format, SourceSummary};
use linear_core::estimator::Penalties;
use linear_core::fit::{fit_arrays, DiagnosticsSource, FitOptions, NextPass, StreamingFit};
use linear_core::model::{HostShare, Model as CoreModel, Training};
use linear_core::predict::{BodyFormat, Invocation, Predictor as CorePredictor, ResponseFormat};
use linear_core::robust::CovarianceType;
use linear_core::score::{ScoreMetrics, Scorer as CoreScorer};
use linear_core::solve::Fit;
use linear_core::CoreError;
use napi::bindgen_prelude::*;
use napi_derive::napi;
use std::sync::{Arc, Mutex, MutexGuard};

fn threads() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

fn to_napi(error: CoreError) -> Error {
    Error::new(Status::InvalidArg, format!("{}: {}", error.code(), error))
}

fn lock<T>(inner: &Mutex<T>) -> Result<MutexGuard<'_, T>> {
    inner.lock().map_err(|_| Error::new(Status::GenericFailure, "INTERNAL_ERROR: an earlier call failed mid-way".to_string()))
}

/// Every error code the core can report (the CLI's catalogue must hold each).
#[napi]
pub fn error_codes() -> Vec<String> {
    linear_core::error::CODES.iter().map(|c| c.to_string()).collect()
}

/// Stops every running and future native computation (SIGTERM): they end
/// with TERMINATED at their next step.
#[napi]
pub fn cancel() {
    linear_core::cancel::request();
}

/// How to fit.
#[napi(object)]
#[derive(Clone)]
pub struct BindingFitOptions {
    /// Fit an intercept (default true).
    pub fit_intercept: Option<bool>,
    /// Ridge penalty alpha >= 0 on the slopes, as scikit-learn's Ridge (default 0).
    pub l2: Option<f64>,
    /// Elastic net penalties on scikit-learn ElasticNet's scale (default 0).
    pub l1: Option<f64>,
    pub wd: Option<f64>,
    /// Slopes constrained to be >= 0 (default false).
    pub non_negative: Option<bool>,
    /// "l2", "l1" or "wd": chosen by exact k-fold cross-validation over `cvFolds` folds (default 5).
    pub tune: Option<String>,
    pub cv_folds: Option<u32>,
    /// "HC0".."HC3": robust standard errors from a second pass (default classical).
    pub robust_se: Option<String>,
    /// Streamed rows: the 1-based column (the label is 1) or the header name of the sample weights.
    pub weight_column: Option<u32>,
    pub weight_column_name: Option<String>,
    /// Always factor in double-double (~32 digits) instead of deciding from
    /// the f64 pass's error estimate (default false).
    pub extended: Option<bool>,
    /// Bytes the solver may hold; wider data is refused with NOT_ENOUGH_MEMORY
    /// before it is allocated (default: no limit).
    pub memory_limit: Option<f64>,
    /// "auto" (default): residual diagnostics exact when the rows are in
    /// memory or read again anyway, else estimated from the row sample;
    /// "exact": a pass over the rows computes them when needed.
    pub residual_diagnostics: Option<String>,
}

impl TryFrom<&BindingFitOptions> for FitOptions {
    type Error = Error;

    fn try_from(o: &BindingFitOptions) -> Result<Self> {
        let penalties =
            Penalties { l2: o.l2.unwrap_or(0.0), l1: o.l1.unwrap_or(0.0), wd: o.wd.unwrap_or(0.0), non_negative: o.non_negative.unwrap_or(false) };
        let tuning = match &o.tune {
            Some(name) => Some(Tuning { penalty: Tuned::from_name(name).map_err(to_napi)?, folds: o.cv_folds.unwrap_or(5) as usize }),
            None => None,
        };
        let covariance = o.robust_se.as_deref().map_or(Ok(CovarianceType::Classical), CovarianceType::from_name).map_err(to_napi)?;
        Ok(FitOptions {
            fit_intercept: o.fit_intercept.unwrap_or(true),
            penalties,
            covariance,
            tuning,
            extended: o.extended.unwrap_or(false),
            memory_limit: o.memory_limit.map(|bytes| bytes as u64),
            weight_column: o.weight_column.map(|column| (column as usize).saturating_sub(1)),
            residual_diagnostics: o
                .residual_diagnostics
                .as_deref()
                .map_or(Ok(DiagnosticsSource::Auto), DiagnosticsSource::from_name)
                .map_err(to_napi)?,
        })
    }
}

/// Fit statistics; NaN where a value is not defined (e.g. no residual degrees of freedom).
#[napi(object)]
pub struct BindingStatistics {
    pub n: f64,
    /// Estimated parameters, intercept included.
    pub rank: u32,
    pub df_model: f64,
    pub df_resid: f64,
    pub rss: f64,
    pub tss: f64,
    pub r_squared: f64,
    pub adj_r_squared: f64,
    pub mse: f64,
    pub rmse: f64,
    pub residual_std_error: f64,
    pub f_statistic: f64,
    pub f_p_value: f64,
    pub intercept_std_error: f64,
    pub intercept_t_value: f64,
    pub intercept_p_value: f64,
    pub std_errors: Vec<f64>,
    pub t_values: Vec<f64>,
    pub p_values: Vec<f64>,
    /// 2-norm condition number of the design as given, intercept column included.
    pub condition_number: f64,
}

/// Covariance of the estimates in the shifted basis: sigma2 · R⁻¹R⁻ᵀ.
#[napi(object)]
pub struct BindingInference {
    /// Design indices (0 = intercept when fitted) of the estimated parameters.
    pub parameters: Vec<u32>,
    /// R⁻¹, row-major, rank x rank upper triangle (a typed array: at a few
    /// thousand features it has millions of entries).
    pub covariance_factor: Float64Array,
    pub sigma2: f64,
    pub df_resid: f64,
}

#[napi(object)]
pub struct BindingFit {
    pub fit_intercept: bool,
    /// The estimator's penalties (0 where unused) and constraint.
    pub l2: f64,
    pub l1: f64,
    pub wd: f64,
    pub non_negative: bool,
    /// Non-negative fits: true where a slope is held at 0 by its constraint.
    pub at_bound: Vec<bool>,
    /// "nonrobust" or "HC0".."HC3": what the standard errors come from.
    pub covariance_type: String,
    pub intercept: f64,
    pub coefficients: Vec<f64>,
    /// True where a feature is a linear combination of earlier ones (coefficient 0).
    pub aliased: Vec<bool>,
    /// Shifts c1..cp of the features; predictions are c0 + b0' + Σ b_j (x_j - c_j).
    pub center: Vec<f64>,
    pub center_label: f64,
    pub centered_intercept: f64,
    /// "double" (one f64 pass) or "extended" (double-double factorisation).
    pub precision: String,
    /// Estimated relative error of the f64 solution (decides the extended pass).
    pub estimated_error: f64,
    pub statistics: BindingStatistics,
    /// Absent for ridge fits and fits without residual degrees of freedom.
    pub inference: Option<BindingInference>,
}

impl From<Fit> for BindingFit {
    fn from(fit: Fit) -> Self {
        let s = fit.statistics;
        let (l1, wd) = fit.estimator.elastic_net();
        BindingFit {
            fit_intercept: fit.design.fit_intercept,
            l2: fit.estimator.l2(),
            l1,
            wd,
            non_negative: fit.estimator.is_non_negative(),
            at_bound: fit.estimator.at_bound().to_vec(),
            covariance_type: fit.covariance.name().to_string(),
            intercept: fit.intercept,
            coefficients: fit.coefficients,
            aliased: fit.aliased,
            center: fit.center,
            center_label: fit.center_label,
            centered_intercept: fit.centered_intercept,
            precision: fit.precision.name().to_string(),
            estimated_error: fit.estimated_error,
            statistics: BindingStatistics {
                n: s.n as f64,
                rank: s.rank as u32,
                df_model: s.df_model,
                df_resid: s.df_resid,
                rss: s.rss,
                tss: s.tss,
                r_squared: s.r_squared,
                adj_r_squared: s.adj_r_squared,
                mse: s.mse,
                rmse: s.rmse,
                residual_std_error: s.residual_std_error,
                f_statistic: s.f_statistic,
                f_p_value: s.f_p_value,
                intercept_std_error: s.intercept_std_error,
                intercept_t_value: s.intercept_t_value,
                intercept_p_value: s.intercept_p_value,
                std_errors: s.std_errors,
                t_values: s.t_values,
                p_values: s.p_values,
                condition_number: s.condition_number,
            },
            inference: fit.inference.map(|i| BindingInference {
                parameters: i.parameters.iter().map(|&p| p as u32).collect(),
                covariance_factor: Float64Array::new(i.covariance_factor),
                sigma2: i.sigma2,
                df_resid: i.df_resid,
            }),
        }
    }
}

pub struct FitTask {
    x: Float64Array,
    y: Float64Array,
    features: u32,
    /// Options that do not convert are refused when the task runs.
    options: Result<FitOptions>,
}

impl Task for FitTask {
    type Output = Fit;
    type JsValue = BindingFit;

    fn compute(&mut self) -> Result<Fit> {
        let options = self.options.as_ref().map_err(|e| Error::new(e.status, e.reason.clone()))?;
        fit_arrays(&self.x, &self.y, self.features as usize, *options, threads()).map_err(to_napi)
    }

    fn resolve(&mut self, _env: Env, fit: Fit) -> Result<BindingFit> {
        Ok(fit.into())
    }
}

/// Least squares on in-memory data, off the JS thread: `x` is row-major
/// (`y.length` rows of `features` values), `y` the labels.
#[napi(ts_return_type = "Promise<BindingFit>")]
pub fn fit(x: Float64Array, y: Float64Array, features: u32, options: Option<BindingFitOptions>) -> AsyncTask<FitTask> {
    let options = options.as_ref().map_or_else(|| Ok(FitOptions::default()), FitOptions::try_from);
    AsyncTask::new(FitTask { x, y, features, options })
}

/// `fit` on the calling thread.
#[napi]
pub fn fit_sync(x: Float64Array, y: Float64Array, features: u32, options: Option<BindingFitOptions>) -> Result<BindingFit> {
    let options = options.as_ref().map_or_else(|| Ok(FitOptions::default()), FitOptions::try_from);
    let mut task = FitTask { x, y, features, options };
    let fit = task.compute()?;
    Ok(fit.into())
}

#[napi(object)]
pub struct BindingSourceSummary {
    /// Data rows (header excluded).
    pub rows: f64,
    pub had_header: bool,
    /// The source had no non-blank line.
    pub empty: bool,
}

impl From<SourceSummary> for BindingSourceSummary {
    fn from(s: SourceSummary) -> Self {
        BindingSourceSummary { rows: s.rows as f64, had_header: s.had_header, empty: s.empty }
    }
}

/// How a channel's data is declared (inputdataconfig.json's ContentType and
/// its parameters, and the format hyperparameters).
#[napi(object)]
#[derive(Clone, Default)]
pub struct BindingChannelFormat {
    /// "csv" | "libsvm" | "recordio-protobuf" | "parquet"; absent: sniff each source.
    pub format: Option<String>,
    /// CSV header=present (true) or absent (false); absent: decide from the first line.
    pub header: Option<bool>,
    /// libsvm indices start at 0.
    pub zero_based: Option<bool>,
    /// Parquet column holding the label, when not the first.
    pub label_column: Option<String>,
    /// Each source is a stream of RecordIO frames, one object each (Pipe mode, RecordWrapperType=RecordIO).
    pub unwrap_records: Option<bool>,
}

impl TryFrom<&BindingChannelFormat> for Declared {
    type Error = Error;
    fn try_from(b: &BindingChannelFormat) -> Result<Declared> {
        let format = match b.format.as_deref() {
            None => None,
            Some(name) => {
                Some(Format::from_name(name).ok_or_else(|| Error::new(Status::InvalidArg, format!("INTERNAL_ERROR: unknown format '{name}'")))?)
            }
        };
        Ok(Declared { format, header: b.header, zero_based: b.zero_based.unwrap_or(false), label_column: b.label_column.clone() })
    }
}

/// What the first bytes of a source are: "gzip", "csv", "libsvm",
/// "recordio-protobuf", "parquet" or "text" (CSV or libsvm alike); null when
/// more bytes are needed and `complete` is false.
#[napi]
pub fn sniff_format(head: &[u8], complete: bool) -> Option<String> {
    sniff(head, complete).map(|found| found.name().to_string())
}

/// Where the training rows were read (model.json's `training`).
#[napi(object)]
pub struct BindingTraining {
    pub distribution: String,
    pub hosts: Vec<BindingHostShare>,
}

#[napi(object)]
pub struct BindingHostShare {
    pub host: String,
    pub rows: f64,
    pub bytes: f64,
}

/// The basis of a factor: `shift` is `[center..., scale...]`, from the first
/// rows of `source`, whose header (label first) is `header`.
#[napi(object)]
pub struct BindingBasis {
    pub shift: Float64Array,
    pub source: String,
    pub header: Option<Vec<String>>,
}

/// Where a resumed fit stands: its pass ("first" or "extended") and the sources of it already read.
#[napi(object)]
pub struct BindingResumePoint {
    pub pass: String,
    pub sources_done: f64,
}

/// A deterministic sample of the training rows (of weight > 0), in reading order.
#[napi(object)]
pub struct BindingSample {
    /// The fixed seed of the draw.
    pub seed: f64,
    /// Training rows the sample was drawn from (the leader's own on several hosts).
    pub rows: f64,
    /// Labels of the sampled rows.
    pub actual: Float64Array,
    /// The model's predictions for them.
    pub fitted: Float64Array,
    /// Their sample weights; null when unweighted.
    pub weights: Option<Float64Array>,
}

/// A host's state as the leader received it.
#[napi(object)]
pub struct BindingHostState {
    pub host: String,
    pub state: Buffer,
}

/// Streams a channel's bytes (label first) into an exact least-squares fit.
#[napi]
pub struct Trainer {
    inner: Arc<Mutex<StreamingFit>>,
}

pub struct TrainerPush {
    inner: Arc<Mutex<StreamingFit>>,
    chunk: Buffer,
}

impl Task for TrainerPush {
    type Output = ();
    type JsValue = ();

    fn compute(&mut self) -> Result<()> {
        lock(&self.inner)?.push(&self.chunk).map_err(to_napi)
    }

    fn resolve(&mut self, _env: Env, _: ()) -> Result<()> {
        Ok(())
    }
}

pub struct TrainerReadFile {
    inner: Arc<Mutex<StreamingFit>>,
    path: String,
    name: String,
}

impl Task for TrainerReadFile {
    type Output = SourceSummary;
    type JsValue = BindingSourceSummary;

    fn compute(&mut self) -> Result<SourceSummary> {
        lock(&self.inner)?.read_file(std::path::Path::new(&self.path), &self.name).map_err(to_napi)
    }

    fn resolve(&mut self, _env: Env, summary: SourceSummary) -> Result<BindingSourceSummary> {
        Ok(summary.into())
    }
}

pub struct TrainerFinish {
    inner: Arc<Mutex<StreamingFit>>,
    /// The leader of several hosts: the other hosts' states, by host.
    others: Option<Vec<(String, Vec<u8>)>>,
}

impl Task for TrainerFinish {
    type Output = Option<Fit>;
    type JsValue = Option<BindingFit>;

    fn compute(&mut self) -> Result<Option<Fit>> {
        let mut inner = lock(&self.inner)?;
        match &self.others {
            Some(others) => inner.finish_with(others),
            None => inner.finish(),
        }
        .map_err(to_napi)
    }

    fn resolve(&mut self, _env: Env, fit: Option<Fit>) -> Result<Option<BindingFit>> {
        Ok(fit.map(Into::into))
    }
}

#[napi]
impl Trainer {
    /// `expectedFeatures` fixes the row width (label + features) when known.
    #[napi(constructor)]
    pub fn new(options: BindingFitOptions, expected_features: Option<u32>, format: Option<BindingChannelFormat>) -> Result<Self> {
        let format = format.unwrap_or_default();
        let declared = Declared::try_from(&format)?;
        let mut inner = StreamingFit::with_format(FitOptions::try_from(&options)?, expected_features.map(|p| p as usize), threads(), declared)
            .map_err(to_napi)?;
        if let Some(name) = &options.weight_column_name {
            inner.weigh_by(name);
        }
        if format.unwrap_records == Some(true) {
            inner.unwrap_records();
        }
        Ok(Trainer { inner: Arc::new(Mutex::new(inner)) })
    }

    /// Reads a whole file by path (Parquet, which needs random access).
    #[napi(ts_return_type = "Promise<BindingSourceSummary>")]
    pub fn read_file(&self, path: String, name: String) -> AsyncTask<TrainerReadFile> {
        AsyncTask::new(TrainerReadFile { inner: self.inner.clone(), path, name })
    }

    /// Why the last `finish` answered null: "rows" (the first pass learnt the
    /// width only), "extended" (f64 could not certify the answer),
    /// "refinement" (nor for a wide design, which is refined instead) or
    /// "residuals" (robust standard errors and/or exact residual diagnostics).
    #[napi(getter)]
    pub fn next_pass(&self) -> Result<Option<String>> {
        Ok(lock(&self.inner)?.next_pass().map(|pass| {
            match pass {
                NextPass::Rows => "rows",
                NextPass::Extended => "extended",
                NextPass::Refinement => "refinement",
                NextPass::Residuals => "residuals",
            }
            .to_string()
        }))
    }

    /// Names the next source (a file) in error messages; resets line numbers.
    #[napi]
    pub fn begin_source(&self, name: String) -> Result<()> {
        lock(&self.inner)?.begin_source(&name);
        Ok(())
    }

    /// Parses and accumulates a chunk of bytes; await it before the next push.
    #[napi(ts_return_type = "Promise<void>")]
    pub fn push(&self, chunk: Buffer) -> AsyncTask<TrainerPush> {
        AsyncTask::new(TrainerPush { inner: self.inner.clone(), chunk })
    }

    /// Ends the current source (its last line may lack a newline).
    #[napi]
    pub fn end_source(&self) -> Result<BindingSourceSummary> {
        lock(&self.inner)?.end_source().map(Into::into).map_err(to_napi)
    }

    /// The fit, or null when the sources must be streamed again after
    /// `startNextPass()` (see `nextPass`).
    #[napi(ts_return_type = "Promise<BindingFit | null>")]
    pub fn finish(&self) -> AsyncTask<TrainerFinish> {
        AsyncTask::new(TrainerFinish { inner: self.inner.clone(), others: None })
    }

    /// The model artifact of the finished fit (refused when a number in it is
    /// not finite), with where its rows were read.
    #[napi]
    pub fn model(&self, training: BindingTraining) -> Result<Model> {
        let mut model = lock(&self.inner)?.model().map_err(to_napi)?;
        model.training = Some(Training {
            distribution: training.distribution,
            hosts: training.hosts.into_iter().map(|h| HostShare { host: h.host, rows: h.rows as u64, bytes: h.bytes as u64 }).collect(),
        });
        Ok(Model { inner: Arc::new(model) })
    }

    /// Several hosts: the basis this host's first source with rows gave; null
    /// until known (stream until it is).
    #[napi(getter)]
    pub fn basis(&self) -> Result<Option<BindingBasis>> {
        let inner = lock(&self.inner)?;
        let basis = inner.shift().map_err(to_napi)?.map(|(shift, source)| BindingBasis {
            shift: Float64Array::new([shift.center.clone(), shift.scale.clone()].concat()),
            source: source.to_string(),
            header: inner.header_row(),
        });
        Ok(basis)
    }

    /// Several hosts: read this host's share in the job's basis (`shift` of
    /// the host that read the job's first source with rows), naming the
    /// columns by that source's header. Call before the first source.
    #[napi]
    pub fn join(&self, shift: Float64Array, header: Option<Vec<String>>) -> Result<()> {
        let values = shift.to_vec();
        let (center, scale) = values.split_at(values.len() / 2);
        lock(&self.inner)?.join(Shift { center: center.to_vec(), scale: scale.to_vec() }, header).map_err(to_napi)
    }

    /// Several hosts: this host's state for the pass under way (a worker sends it to the leader).
    #[napi]
    pub fn state(&self) -> Result<Buffer> {
        Ok(lock(&self.inner)?.state().map_err(to_napi)?.into())
    }

    /// Several hosts, the leader: `finish` with the other hosts' states.
    #[napi(ts_return_type = "Promise<BindingFit | null>")]
    pub fn finish_with(&self, states: Vec<BindingHostState>) -> AsyncTask<TrainerFinish> {
        let others = states.into_iter().map(|s| (s.host, s.state.to_vec())).collect();
        AsyncTask::new(TrainerFinish { inner: self.inner.clone(), others: Some(others) })
    }

    /// Where the pass under way stands after its last finished source, for a
    /// job made of `fingerprint`; null when there is nothing to keep.
    #[napi]
    pub fn checkpoint(&self, fingerprint: String) -> Result<Option<Buffer>> {
        Ok(lock(&self.inner)?.checkpoint(&fingerprint).map(Into::into))
    }

    /// Continues from a checkpoint made for `fingerprint` (`from` names it in errors).
    #[napi]
    pub fn resume(&self, checkpoint: &[u8], fingerprint: String, from: String) -> Result<BindingResumePoint> {
        let (pass, sources_done) = lock(&self.inner)?.resume(checkpoint, &fingerprint, &from).map_err(to_napi)?;
        let pass = match pass {
            Pass::First => "first",
            Pass::Extended => "extended",
        };
        Ok(BindingResumePoint { pass: pass.to_string(), sources_done: sources_done as f64 })
    }

    /// Several hosts, a worker: start the pass the leader asked for ("extended").
    #[napi]
    pub fn follow(&self, pass: String) -> Result<()> {
        if pass != "extended" {
            return Err(Error::new(Status::InvalidArg, format!("INTERNAL_ERROR: hosts share extended passes only, not '{pass}'")));
        }
        lock(&self.inner)?.follow(NextPass::Extended).map_err(to_napi)
    }

    /// Starts the pass `finish` asked for; stream every source again.
    #[napi]
    pub fn start_next_pass(&self) -> Result<()> {
        lock(&self.inner)?.start_next_pass().map_err(to_napi)
    }

    #[napi(getter)]
    pub fn rows(&self) -> Result<f64> {
        Ok(lock(&self.inner)?.rows() as f64)
    }

    /// Up to 5,000 training rows drawn uniformly with a fixed seed (the same
    /// rows for any chunking), with the fitted model's predictions; null
    /// before the fit (or when no pass read the rows from the first).
    #[napi]
    pub fn sample(&self) -> Result<Option<BindingSample>> {
        Ok(lock(&self.inner)?.sample().map(|s| BindingSample {
            seed: s.seed as f64,
            rows: s.rows as f64,
            actual: Float64Array::new(s.actual),
            fitted: Float64Array::new(s.fitted),
            weights: s.weights.map(Float64Array::new),
        }))
    }

    /// Feature names from the header row, or x1..xp.
    #[napi(getter)]
    pub fn feature_names(&self) -> Result<Vec<String>> {
        Ok(lock(&self.inner)?.feature_names())
    }

    #[napi(getter)]
    pub fn label_name(&self) -> Result<String> {
        Ok(lock(&self.inner)?.label_name())
    }

    #[napi(getter)]
    pub fn has_header(&self) -> Result<bool> {
        Ok(lock(&self.inner)?.has_header())
    }
}

/// A model/model.json, parsed and checked once by the core; `test`,
/// scoring and `serve` all predict from it.
#[napi]
pub struct Model {
    inner: Arc<CoreModel>,
}

#[napi]
impl Model {
    /// Parses and checks the bytes of a model file (MODEL_INVALID naming `source` and the problem).
    #[napi(factory)]
    pub fn parse(json: &[u8], source: String) -> Result<Model> {
        let model = CoreModel::parse(json, &source).map_err(to_napi)?;
        Ok(Model { inner: Arc::new(model) })
    }

    /// The file's text, verified to load back as this model.
    #[napi]
    pub fn to_json(&self) -> Result<String> {
        self.inner.to_json().map_err(to_napi)
    }
}

#[napi(object)]
pub struct BindingScoreMetrics {
    pub n: f64,
    pub mse: f64,
    pub rmse: f64,
    pub mae: f64,
    pub r_squared: f64,
}

impl From<ScoreMetrics> for BindingScoreMetrics {
    fn from(m: ScoreMetrics) -> Self {
        BindingScoreMetrics { n: m.n as f64, mse: m.mse, rmse: m.rmse, mae: m.mae, r_squared: m.r_squared }
    }
}

#[napi(object)]
pub struct BindingSourceEnd {
    pub predictions: Float64Array,
    pub summary: BindingSourceSummary,
}

/// Streams a channel's rows (features, or label then features) through a model.
#[napi]
pub struct Scorer {
    inner: Arc<Mutex<CoreScorer>>,
}

pub struct ScorerPush {
    inner: Arc<Mutex<CoreScorer>>,
    chunk: Buffer,
}

impl Task for ScorerPush {
    type Output = Vec<f64>;
    type JsValue = Float64Array;

    fn compute(&mut self) -> Result<Vec<f64>> {
        lock(&self.inner)?.push(&self.chunk).map_err(to_napi)
    }

    fn resolve(&mut self, _env: Env, predictions: Vec<f64>) -> Result<Float64Array> {
        Ok(Float64Array::new(predictions))
    }
}

pub struct ScorerReadFile {
    inner: Arc<Mutex<CoreScorer>>,
    path: String,
    name: String,
}

impl Task for ScorerReadFile {
    type Output = (Vec<f64>, SourceSummary);
    type JsValue = BindingSourceEnd;

    fn compute(&mut self) -> Result<(Vec<f64>, SourceSummary)> {
        lock(&self.inner)?.read_file(std::path::Path::new(&self.path), &self.name).map_err(to_napi)
    }

    fn resolve(&mut self, _env: Env, (predictions, summary): (Vec<f64>, SourceSummary)) -> Result<BindingSourceEnd> {
        Ok(BindingSourceEnd { predictions: Float64Array::new(predictions), summary: summary.into() })
    }
}

#[napi]
impl Scorer {
    #[napi(constructor)]
    pub fn new(model: &Model, format: Option<BindingChannelFormat>) -> Result<Self> {
        let format = format.unwrap_or_default();
        // A model trained with weights scores rows that carry them where training found them.
        let weights = model.inner.weight_column.as_ref().map(|w| w.column - 1);
        let mut inner = CoreScorer::with_weight_column(model.inner.clone(), threads(), Declared::try_from(&format)?, weights).map_err(to_napi)?;
        if format.unwrap_records == Some(true) {
            inner.unwrap_records();
        }
        Ok(Scorer { inner: Arc::new(Mutex::new(inner)) })
    }

    /// Predictions of a whole file read by path (Parquet).
    #[napi(ts_return_type = "Promise<BindingSourceEnd>")]
    pub fn read_file(&self, path: String, name: String) -> AsyncTask<ScorerReadFile> {
        AsyncTask::new(ScorerReadFile { inner: self.inner.clone(), path, name })
    }

    #[napi]
    pub fn begin_source(&self, name: String) -> Result<()> {
        lock(&self.inner)?.begin_source(&name);
        Ok(())
    }

    /// Predictions for the complete rows of a chunk.
    #[napi(ts_return_type = "Promise<Float64Array>")]
    pub fn push(&self, chunk: Buffer) -> AsyncTask<ScorerPush> {
        AsyncTask::new(ScorerPush { inner: self.inner.clone(), chunk })
    }

    #[napi]
    pub fn end_source(&self) -> Result<BindingSourceEnd> {
        let (predictions, summary) = lock(&self.inner)?.end_source().map_err(to_napi)?;
        Ok(BindingSourceEnd { predictions: Float64Array::new(predictions), summary: summary.into() })
    }

    /// True once labelled rows were seen, false for feature-only rows, null before any row.
    #[napi(getter)]
    pub fn labelled(&self) -> Result<Option<bool>> {
        Ok(lock(&self.inner)?.labelled())
    }

    /// Metrics over the labelled rows so far, null without labels.
    #[napi]
    pub fn metrics(&self) -> Result<Option<BindingScoreMetrics>> {
        Ok(lock(&self.inner)?.metrics().map_err(to_napi)?.map(Into::into))
    }
}

/// One invocation: body format ("csv" | "json" | "jsonlines" | "libsvm" |
/// "recordio-protobuf") and response format ("csv" | "json" | "jsonlines" |
/// "recordio-protobuf").
#[napi(object)]
pub struct BindingInvocation {
    pub body: String,
    pub response: String,
    /// Rows carry the label first (Content-Type parameter label_size=1).
    pub labelled: bool,
    /// Central probability of prediction intervals, e.g. 0.95.
    pub intervals: Option<f64>,
}

fn unknown_format(name: &str) -> Error {
    Error::new(Status::InvalidArg, format!("INTERNAL_ERROR: unknown format '{name}'"))
}

fn body_format(name: &str) -> Result<BodyFormat> {
    match name {
        "csv" => Ok(BodyFormat::Csv),
        "json" => Ok(BodyFormat::Json),
        "jsonlines" => Ok(BodyFormat::JsonLines),
        "libsvm" => Ok(BodyFormat::Libsvm),
        "recordio-protobuf" => Ok(BodyFormat::RecordIo),
        other => Err(unknown_format(other)),
    }
}

fn response_format(name: &str) -> Result<ResponseFormat> {
    match name {
        "csv" => Ok(ResponseFormat::Csv),
        "json" => Ok(ResponseFormat::Json),
        "jsonlines" => Ok(ResponseFormat::JsonLines),
        "recordio-protobuf" => Ok(ResponseFormat::RecordIo),
        other => Err(unknown_format(other)),
    }
}

impl TryFrom<&BindingInvocation> for Invocation {
    type Error = Error;
    fn try_from(b: &BindingInvocation) -> Result<Invocation> {
        Ok(Invocation { body: body_format(&b.body)?, response: response_format(&b.response)?, labelled: b.labelled, intervals: b.intervals })
    }
}

/// Decodes request bodies, predicts and encodes responses, all natively.
#[napi]
pub struct Predictor {
    inner: Arc<CorePredictor>,
}

pub struct Invoke {
    inner: Arc<CorePredictor>,
    body: Buffer,
    invocation: Invocation,
}

impl Task for Invoke {
    type Output = Vec<u8>;
    type JsValue = Buffer;

    fn compute(&mut self) -> Result<Vec<u8>> {
        self.inner.invoke(&self.body, &self.invocation).map_err(to_napi)
    }

    fn resolve(&mut self, _env: Env, bytes: Vec<u8>) -> Result<Buffer> {
        Ok(bytes.into())
    }
}

#[napi]
impl Predictor {
    #[napi(constructor)]
    pub fn new(model: &Model) -> Self {
        Predictor { inner: Arc::new(CorePredictor::new(model.inner.clone(), threads())) }
    }

    /// The response body for a request body, on the calling thread (small bodies).
    #[napi]
    pub fn invoke_sync(&self, body: &[u8], invocation: BindingInvocation) -> Result<Buffer> {
        let invocation = Invocation::try_from(&invocation)?;
        self.inner.invoke(body, &invocation).map(Into::into).map_err(to_napi)
    }

    /// The same off the JS thread (large bodies).
    #[napi(ts_return_type = "Promise<Buffer>")]
    pub fn invoke(&self, body: Buffer, invocation: BindingInvocation) -> Result<AsyncTask<Invoke>> {
        let invocation = Invocation::try_from(&invocation)?;
        Ok(AsyncTask::new(Invoke { inner: self.inner.clone(), body, invocation }))
    }
}
