//! Every way the core can refuse input, each with a stable code and a message
//! that says where the problem is and what to do about it.

use std::fmt;

/// Where in the input a problem was found: a file (or body) and its 1-based line.
#[derive(Clone, Debug, PartialEq)]
pub struct Location {
    pub source: String,
    pub line: u64,
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} line {}", self.source, self.line)
    }
}

#[derive(Clone, Debug, PartialEq)]
pub enum CoreError {
    NonNumeric { at: Location, column: usize, text: String },
    NonFinite { at: Location, column: usize, text: String },
    MissingValue { at: Location, column: usize },
    RaggedRow { at: Location, expected: usize, got: usize },
    FeatureCountMismatch { at: Location, features: usize, got: usize },
    /// Rows differ from the feature count the caller declared (`feature_dim`).
    DeclaredFeatureMismatch { at: Location, features: usize, got: usize },
    HeaderMismatch { source: String, detail: String },
    NonFiniteInput { array: &'static str, row: usize, column: usize, value: f64 },
    TooFewRows { rows: u64, parameters: usize },
    InvalidArgument(String),
}

fn shorten(text: &str) -> String {
    const MAX: usize = 40;
    if text.chars().count() <= MAX {
        text.to_string()
    } else {
        format!("{}...", text.chars().take(MAX).collect::<String>())
    }
}

impl CoreError {
    /// Stable identifier, part of the failure-file and HTTP-error contract.
    pub fn code(&self) -> &'static str {
        match self {
            CoreError::NonNumeric { .. } => "NON_NUMERIC_VALUE",
            CoreError::NonFinite { .. } => "NON_FINITE_VALUE",
            CoreError::MissingValue { .. } => "MISSING_VALUE",
            CoreError::RaggedRow { .. } => "RAGGED_ROW",
            CoreError::FeatureCountMismatch { .. } => "FEATURE_COUNT_MISMATCH",
            CoreError::DeclaredFeatureMismatch { .. } => "FEATURE_DIM_MISMATCH",
            CoreError::HeaderMismatch { .. } => "HEADER_MISMATCH",
            CoreError::NonFiniteInput { .. } => "NON_FINITE_VALUE",
            CoreError::TooFewRows { .. } => "TOO_FEW_ROWS",
            CoreError::InvalidArgument(_) => "INVALID_ARGUMENT",
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
            CoreError::DeclaredFeatureMismatch { at, features, got } => write!(
                f,
                "{at} has {got} columns but feature_dim={features} needs {} (the label plus {features} features); fix feature_dim or the data",
                features + 1
            ),
            CoreError::HeaderMismatch { source, detail } => write!(f, "{source}: {detail}"),
            CoreError::NonFiniteInput { array, row, column, value } => write!(
                f,
                "{array}: row {row}, column {column} is {value}; remove the row or impute the value (NaN and infinity cannot be fitted)"
            ),
            CoreError::TooFewRows { rows, parameters } => write!(
                f,
                "{rows} row(s) cannot determine {parameters} parameter(s); least squares needs at least as many rows as parameters (features plus the intercept)"
            ),
            CoreError::InvalidArgument(message) => f.write_str(message),
        }
    }
}

impl std::error::Error for CoreError {}
