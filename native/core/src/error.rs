//! Every way the core can refuse input, each with a stable code and a message
//! that says where the problem is and what to do about it.

use std::fmt;

/// Where in the input a problem was found: a file (or body) and its 1-based line.
#[derive(Clone, Debug, PartialEq)]
pub struct Location {
    pub source: String,
    /// What is counted: "line" (text), "record" (RecordIO), "row" (Parquet),
    /// "data row" (rows after any header), "index" (0-based, in an array).
    pub unit: &'static str,
    pub line: u64,
}

impl Location {
    pub fn line(source: &str, line: u64) -> Self {
        Location { source: source.to_string(), unit: "line", line }
    }

    pub fn record(source: &str, record: u64) -> Self {
        Location { source: source.to_string(), unit: "record", line: record }
    }

    pub fn row(source: &str, row: u64) -> Self {
        Location { source: source.to_string(), unit: "row", line: row }
    }

    /// A row counted among a source's data rows (header and blank lines not
    /// counted), where the decoders no longer know its line.
    pub fn data_row(source: &str, row: u64) -> Self {
        Location { source: source.to_string(), unit: "data row", line: row }
    }

    /// An element of an in-memory array, 0-based as the caller indexes it.
    pub fn index(array: &str, index: u64) -> Self {
        Location { source: array.to_string(), unit: "index", line: index }
    }
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {} {}", self.source, self.unit, self.line)
    }
}

/// What is wrong with one JSON instance of a request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InstanceProblem {
    Malformed,
    NonNumeric,
    NonFinite,
    Missing,
    FeatureCount,
    UnknownFeature,
}

#[derive(Clone, Debug, PartialEq)]
pub enum CoreError {
    NonNumeric {
        at: Location,
        column: usize,
        text: String,
    },
    NonFinite {
        at: Location,
        column: usize,
        text: String,
    },
    MissingValue {
        at: Location,
        column: usize,
    },
    RaggedRow {
        at: Location,
        expected: usize,
        got: usize,
    },
    FeatureCountMismatch {
        at: Location,
        features: usize,
        got: usize,
    },
    /// Rows differ from the feature count the caller declared (`feature_dim`).
    DeclaredFeatureMismatch {
        at: Location,
        features: usize,
        got: usize,
    },
    /// A row whose width is not the label, the features and the weight column:
    /// `declared` when the feature count is the caller's `feature_dim`, not a model's.
    WeightedWidthMismatch {
        at: Location,
        features: usize,
        got: usize,
        declared: bool,
    },
    /// On several hosts: rows whose width is not that of the job's first
    /// source with rows (read on any host), which fixed the design.
    JobWidthMismatch {
        at: Location,
        expected: usize,
        got: usize,
    },
    /// A sample weight that is negative, NaN or infinite; `column` (1-based)
    /// is the weight_column of streamed rows, `None` for an array of weights.
    InvalidWeight {
        at: Location,
        column: Option<usize>,
        value: f64,
    },
    HeaderMismatch {
        source: String,
        detail: String,
    },
    NonFiniteInput {
        array: &'static str,
        row: usize,
        column: usize,
        value: f64,
    },
    TooFewRows {
        rows: u64,
        parameters: usize,
    },
    /// A row (or header) wider than the fit can hold in memory.
    TooManyColumns {
        at: Location,
        got: usize,
        max: usize,
    },
    /// A line that grew past the longest one carried, without a line break.
    LineTooLong {
        at: Location,
        max: usize,
    },
    /// Rows have one column more than the features and the request did not say it is a label.
    UnexpectedLabel {
        at: Location,
        features: usize,
    },
    /// The request said rows carry a label, but they have only the features.
    MissingLabel {
        at: Location,
        features: usize,
    },
    /// A JSON or JSON Lines record that is not a valid instance.
    Instance {
        code: InstanceProblem,
        index: usize,
        detail: String,
    },
    MalformedJson {
        record: Option<usize>,
        line: usize,
        column: usize,
        message: String,
    },
    EmptyRequest,
    /// Intervals were asked of a model that stores no standard errors, or at a bad level.
    Intervals(String),
    InvalidArgument(String),
    /// A prediction (or its interval) that overflows f64: `record` names the row.
    NonFinitePrediction {
        record: String,
        what: &'static str,
    },
    /// A source that is not UTF-8 text: UTF-16, or binary data.
    UnsupportedEncoding {
        source: String,
        encoding: &'static str,
    },
    /// The solver for this many features needs more memory than there is.
    NotEnoughMemory {
        features: usize,
        needed: u64,
        available: u64,
    },
    /// Stopped on request (SIGTERM) before finishing.
    Terminated,
    /// A model file that is not a model this program can use.
    ModelInvalid(String),
    /// A fit whose numbers are not all finite: refused, never written.
    NonFiniteResult(String),
    /// A declared content type that contradicts a source's bytes, or a
    /// channel whose sources are in different formats.
    FormatMismatch {
        source: String,
        detail: String,
    },
    /// Data in a format (or a shape of it) that is not read: what and the fix.
    UnsupportedFormat(String),
    /// A record or line that cannot be decoded: bad framing, protobuf,
    /// tensor or libsvm syntax. `detail` says what, and where in bytes when known.
    Malformed {
        at: Location,
        detail: String,
    },
    /// A broken invariant: a bug, not a problem with the input.
    Internal(String),
}

/// The start of a cell for a message, control characters (NUL, tabs, escape
/// sequences) shown as escapes so the message stays one readable line.
fn shorten(text: &str) -> String {
    const MAX: usize = 40;
    let mut shown = String::new();
    for c in text.chars().take(MAX) {
        if c.is_control() {
            shown.extend(c.escape_default());
        } else {
            shown.push(c);
        }
    }
    if text.chars().count() > MAX {
        shown.push_str("...");
    }
    shown
}

/// Every code [`CoreError::code`] can return; the CLI's error catalogue must hold each one.
pub const CODES: &[&str] = &[
    "NON_NUMERIC_VALUE",
    "NON_FINITE_VALUE",
    "MISSING_VALUE",
    "RAGGED_ROW",
    "FEATURE_COUNT_MISMATCH",
    "FEATURE_DIM_MISMATCH",
    "INVALID_WEIGHT",
    "HEADER_MISMATCH",
    "TOO_FEW_ROWS",
    "TOO_MANY_COLUMNS",
    "LINE_TOO_LONG",
    "MALFORMED_REQUEST",
    "UNKNOWN_FEATURE",
    "MALFORMED_JSON",
    "EMPTY_REQUEST",
    "INVALID_INTERVALS",
    "INVALID_ARGUMENT",
    "NON_FINITE_PREDICTION",
    "UNSUPPORTED_ENCODING",
    "NOT_ENOUGH_MEMORY",
    "TERMINATED",
    "MODEL_INVALID",
    "NON_FINITE_RESULT",
    "CONTENT_TYPE_MISMATCH",
    "UNSUPPORTED_CONTENT_TYPE",
    "MALFORMED_RECORD",
    "INTERNAL_ERROR",
];

impl CoreError {
    /// Stable identifier, part of the failure-file and HTTP-error contract.
    pub fn code(&self) -> &'static str {
        match self {
            CoreError::NonNumeric { .. } => "NON_NUMERIC_VALUE",
            CoreError::NonFinite { .. } => "NON_FINITE_VALUE",
            CoreError::MissingValue { .. } => "MISSING_VALUE",
            CoreError::RaggedRow { .. } | CoreError::JobWidthMismatch { .. } => "RAGGED_ROW",
            CoreError::FeatureCountMismatch { .. } => "FEATURE_COUNT_MISMATCH",
            CoreError::DeclaredFeatureMismatch { .. } => "FEATURE_DIM_MISMATCH",
            CoreError::WeightedWidthMismatch { declared: true, .. } => "FEATURE_DIM_MISMATCH",
            CoreError::WeightedWidthMismatch { declared: false, .. } => "FEATURE_COUNT_MISMATCH",
            CoreError::InvalidWeight { .. } => "INVALID_WEIGHT",
            CoreError::HeaderMismatch { .. } => "HEADER_MISMATCH",
            CoreError::NonFiniteInput { .. } => "NON_FINITE_VALUE",
            CoreError::TooFewRows { .. } => "TOO_FEW_ROWS",
            CoreError::TooManyColumns { .. } => "TOO_MANY_COLUMNS",
            CoreError::LineTooLong { .. } => "LINE_TOO_LONG",
            CoreError::UnexpectedLabel { .. } => "FEATURE_COUNT_MISMATCH",
            CoreError::MissingLabel { .. } => "FEATURE_COUNT_MISMATCH",
            CoreError::Instance { code, .. } => match code {
                InstanceProblem::Malformed => "MALFORMED_REQUEST",
                InstanceProblem::NonNumeric => "NON_NUMERIC_VALUE",
                InstanceProblem::NonFinite => "NON_FINITE_VALUE",
                InstanceProblem::Missing => "MISSING_VALUE",
                InstanceProblem::FeatureCount => "FEATURE_COUNT_MISMATCH",
                InstanceProblem::UnknownFeature => "UNKNOWN_FEATURE",
            },
            CoreError::MalformedJson { .. } => "MALFORMED_JSON",
            CoreError::EmptyRequest => "EMPTY_REQUEST",
            CoreError::Intervals(_) => "INVALID_INTERVALS",
            CoreError::InvalidArgument(_) => "INVALID_ARGUMENT",
            CoreError::NonFinitePrediction { .. } => "NON_FINITE_PREDICTION",
            CoreError::UnsupportedEncoding { .. } => "UNSUPPORTED_ENCODING",
            CoreError::NotEnoughMemory { .. } => "NOT_ENOUGH_MEMORY",
            CoreError::Terminated => "TERMINATED",
            CoreError::ModelInvalid(_) => "MODEL_INVALID",
            CoreError::NonFiniteResult(_) => "NON_FINITE_RESULT",
            CoreError::FormatMismatch { .. } => "CONTENT_TYPE_MISMATCH",
            CoreError::UnsupportedFormat(_) => "UNSUPPORTED_CONTENT_TYPE",
            CoreError::Malformed { .. } => "MALFORMED_RECORD",
            CoreError::Internal(_) => "INTERNAL_ERROR",
        }
    }
}

impl CoreError {
    /// The decoders count every column after the label as a feature; with a
    /// weight column one of them is the weight, and the message must say so.
    pub(crate) fn with_weight_column(self) -> CoreError {
        match self {
            CoreError::DeclaredFeatureMismatch { at, features, got } => {
                CoreError::WeightedWidthMismatch { at, features: features.saturating_sub(1), got, declared: true }
            }
            CoreError::FeatureCountMismatch { at, features, got } => {
                CoreError::WeightedWidthMismatch { at, features: features.saturating_sub(1), got, declared: false }
            }
            other => other,
        }
    }
}

impl fmt::Display for CoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CoreError::NonNumeric { at, column, text } => write!(
                f,
                "{at}, column {column}: '{}' is not a number; every cell must be a decimal number (label in column 1, features after it)",
                shorten(text)
            ),
            CoreError::NonFinite { at, column, text } => write!(
                f,
                "{at}, column {column}: '{}' is not a finite number; remove the row or impute the value (NaN and infinity cannot be fitted)",
                shorten(text)
            ),
            CoreError::MissingValue { at, column } => write!(
                f,
                "{at}, column {column}: the cell is empty; remove the row or impute the value"
            ),
            CoreError::RaggedRow { at, expected, got } => write!(
                f,
                "{at} has {got} columns but earlier rows have {expected}; every row needs the same columns (label first, then the features)"
            ),
            CoreError::FeatureCountMismatch { at, features, got } => write!(
                f,
                "{at} has {got} columns but the model has {features} feature(s); send {features} features per row (or {} with the label first)",
                features + 1
            ),
            CoreError::JobWidthMismatch { at, expected, got } => write!(
                f,
                "{at} has {got} columns but the job's first file with rows has {expected}; every file, on every host, needs the label and the same features"
            ),
            CoreError::DeclaredFeatureMismatch { at, features, got } => write!(
                f,
                "{at} has {got} columns but feature_dim={features} needs {} (the label plus {features} features); fix feature_dim or the data",
                features + 1
            ),
            CoreError::WeightedWidthMismatch { at, features, got, declared: true } => write!(
                f,
                "{at} has {got} columns but feature_dim={features} with a weight_column needs {} (the label, {features} features and the weight); \
                 fix feature_dim, weight_column or the data",
                features + 2
            ),
            CoreError::WeightedWidthMismatch { at, features, got, declared: false } => write!(
                f,
                "{at} has {got} columns but the model has {features} feature(s) and was trained with a weight column; \
                 send {} values per row (the features and the weight), or {} with the label first",
                features + 1,
                features + 2
            ),
            CoreError::InvalidWeight { at, column, value } => {
                let what = if value.is_finite() { "negative" } else { "not a finite number" };
                match column {
                    Some(column) => write!(
                        f,
                        "{at}, column {column}: the weight {value} is {what}; weights (weight_column) must be finite numbers >= 0, \
                         and a weight of 0 skips the row; fix the value, drop the row, or check that weight_column names the right column"
                    ),
                    None => write!(f, "{at}: the weight {value} is {what}; weights must be finite numbers >= 0 (0 leaves the row out)"),
                }
            }
            CoreError::HeaderMismatch { source, detail } => write!(f, "{source}: {detail}"),
            CoreError::NonFiniteInput { array, row, column, value } => write!(
                f,
                "{array}: row {row}, column {column} is {value}; remove the row or impute the value (NaN and infinity cannot be fitted)"
            ),
            CoreError::TooFewRows { rows, parameters } => write!(
                f,
                "{rows} row(s) cannot determine {parameters} parameter(s); least squares needs at least as many rows as parameters (features plus the intercept)"
            ),
            CoreError::TooManyColumns { at, got, max } => write!(
                f,
                "{at} has {got} columns; at most {max} (the label and {} features) are read, because the exact fit keeps square factors of the columns in memory; select or combine features first",
                max - 1
            ),
            CoreError::LineTooLong { at, max } => write!(
                f,
                "{at} runs past {} MiB without a line break; rows must end with a newline (is this a CSV file?)",
                max >> 20
            ),
            CoreError::UnexpectedLabel { at, features } => write!(
                f,
                "{at} has {} columns, one more than the model's {features} feature(s); if the first column is the label, add label_size=1 to the Content-Type, otherwise send {features} values per row",
                features + 1
            ),
            CoreError::MissingLabel { at, features } => write!(
                f,
                "{at} has {features} columns but the request says the first is a label (label_size=1); send the label and then {features} feature(s), or drop label_size"
            ),
            CoreError::Instance { index, detail, .. } => write!(f, "instance {index}: {detail}"),
            CoreError::MalformedJson { record, line, column, message } => match record {
                Some(r) => write!(f, "record {r} is not valid JSON (column {column}): {message}"),
                None => write!(f, "the body is not valid JSON (line {line}, column {column}): {message}"),
            },
            CoreError::EmptyRequest => f.write_str("the request has no rows; send at least one row of features"),
            CoreError::Intervals(message) => f.write_str(message),
            CoreError::NonFinitePrediction { record, what } => write!(
                f,
                "{record}: the {what} is beyond the range of float64 numbers (its features are too large for this model's coefficients); check the record's values and units"
            ),
            CoreError::UnsupportedEncoding { source, encoding } => write!(
                f,
                "{source} starts like {encoding}, not UTF-8 CSV; save it as UTF-8 (or ASCII) CSV with the label in the first column"
            ),
            CoreError::NotEnoughMemory { features, needed, available } => write!(
                f,
                "{features} features need about {:.2} GB for the exact solver (it grows with the square of the feature count) but {:.2} GB \
                 are available; use an instance type with more memory, or fewer features",
                *needed as f64 / 1e9,
                *available as f64 / 1e9
            ),
            CoreError::Terminated => f.write_str("stopped on request before finishing"),
            CoreError::FormatMismatch { source, detail } => write!(f, "{source}: {detail}"),
            CoreError::Malformed { at, detail } => write!(f, "{at}: {detail}"),
            CoreError::InvalidArgument(message)
            | CoreError::ModelInvalid(message)
            | CoreError::NonFiniteResult(message)
            | CoreError::UnsupportedFormat(message)
            | CoreError::Internal(message) => f.write_str(message),
        }
    }
}

impl std::error::Error for CoreError {}

#[cfg(test)]
mod tests {
    use super::*;

    /// One error of every variant (and every instance problem): add the new
    /// one here when a variant is added, so its code is checked against [`CODES`].
    fn one_of_each() -> Vec<CoreError> {
        let at = || Location::line("s", 1);
        let mut all = vec![
            CoreError::NonNumeric { at: at(), column: 1, text: "a".into() },
            CoreError::NonFinite { at: at(), column: 1, text: "nan".into() },
            CoreError::MissingValue { at: at(), column: 1 },
            CoreError::RaggedRow { at: at(), expected: 2, got: 3 },
            CoreError::FeatureCountMismatch { at: at(), features: 1, got: 3 },
            CoreError::DeclaredFeatureMismatch { at: at(), features: 1, got: 3 },
            CoreError::WeightedWidthMismatch { at: at(), features: 1, got: 4, declared: true },
            CoreError::WeightedWidthMismatch { at: at(), features: 1, got: 4, declared: false },
            CoreError::JobWidthMismatch { at: at(), expected: 3, got: 4 },
            CoreError::InvalidWeight { at: at(), column: Some(3), value: -1.0 },
            CoreError::HeaderMismatch { source: "s".into(), detail: "d".into() },
            CoreError::NonFiniteInput { array: "x", row: 0, column: 0, value: f64::NAN },
            CoreError::TooFewRows { rows: 1, parameters: 2 },
            CoreError::TooManyColumns { at: at(), got: 5000, max: 4096 },
            CoreError::LineTooLong { at: at(), max: 1 << 26 },
            CoreError::UnexpectedLabel { at: at(), features: 1 },
            CoreError::MissingLabel { at: at(), features: 1 },
            CoreError::MalformedJson { record: None, line: 1, column: 1, message: "m".into() },
            CoreError::EmptyRequest,
            CoreError::Intervals("i".into()),
            CoreError::InvalidArgument("a".into()),
            CoreError::NonFinitePrediction { record: "record 1".into(), what: "score" },
            CoreError::UnsupportedEncoding { source: "s".into(), encoding: "binary data" },
            CoreError::NotEnoughMemory { features: 9, needed: 2, available: 1 },
            CoreError::Terminated,
            CoreError::ModelInvalid("m".into()),
            CoreError::NonFiniteResult("n".into()),
            CoreError::FormatMismatch { source: "s".into(), detail: "d".into() },
            CoreError::UnsupportedFormat("u".into()),
            CoreError::Malformed { at: Location::record("s", 1), detail: "d".into() },
            CoreError::Internal("i".into()),
        ];
        use InstanceProblem::*;
        for code in [Malformed, NonNumeric, NonFinite, Missing, FeatureCount, UnknownFeature] {
            all.push(CoreError::Instance { code, index: 1, detail: "d".into() });
        }
        all
    }

    #[test]
    fn every_code_is_listed_and_every_listed_code_is_used() {
        let used: Vec<&str> = one_of_each().iter().map(CoreError::code).collect();
        for code in &used {
            assert!(CODES.contains(code), "{code} is missing from CODES");
        }
        for code in CODES {
            assert!(used.contains(code), "{code} is listed but no error has it");
        }
    }
}
