//! Applies a fitted model to CSV rows: predictions, and when the rows carry
//! the label (one column more than the features), the usual metrics.

use crate::csv::{CsvReader, SourceSummary, Width};
use crate::dd::Dd;
use crate::error::CoreError;

/// The parts of a model that predictions need (see `solve::Fit::center`).
#[derive(Clone, Debug, PartialEq)]
pub struct ScoringModel {
    pub coefficients: Vec<f64>,
    pub center: Vec<f64>,
    pub center_label: f64,
    pub centered_intercept: f64,
    /// Names to check a header row against, when training had a header.
    pub feature_names: Option<Vec<String>>,
}

impl ScoringModel {
    #[track_caller]
    pub fn validate(&self) -> Result<(), CoreError> {
        let p = self.coefficients.len();
        let finite = self.coefficients.iter().chain(&self.center).all(|v| v.is_finite())
            && self.center_label.is_finite()
            && self.centered_intercept.is_finite();
        if self.center.len() != p || !finite || self.feature_names.as_ref().is_some_and(|n| n.len() != p) {
            return Err(CoreError::InvalidArgument(
                "the model's coefficients, center and feature names must be finite and of one length".into(),
            ));
        }
        Ok(())
    }

    /// Prediction for one row of features, accumulated in double-double.
    pub fn predict(&self, features: &[f64]) -> f64 {
        let mut acc = Dd::from(self.center_label).add_f64(self.centered_intercept);
        for ((&x, &c), &b) in features.iter().zip(&self.center).zip(&self.coefficients) {
            acc += Dd::difference(x, c) * Dd::from(b);
        }
        acc.to_f64()
    }
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ScoreMetrics {
    pub n: u64,
    pub mse: f64,
    pub rmse: f64,
    pub mae: f64,
    pub r_squared: f64,
}

pub struct Scorer {
    model: ScoringModel,
    reader: CsvReader,
    rows: Vec<f64>,
    header_checked: bool,
    n: u64,
    squared: Dd,
    absolute: Dd,
    label_shift: Option<f64>,
    label_sum: Dd,
    label_squares: Dd,
}

impl Scorer {
    pub fn new(model: ScoringModel, threads: usize) -> Result<Self, CoreError> {
        model.validate()?;
        let p = model.coefficients.len();
        Ok(Scorer {
            model,
            reader: CsvReader::new(Width::FeaturesOrLabelled(p), threads),
            rows: Vec::new(),
            header_checked: false,
            n: 0,
            squared: Dd::ZERO,
            absolute: Dd::ZERO,
            label_shift: None,
            label_sum: Dd::ZERO,
            label_squares: Dd::ZERO,
        })
    }

    /// `Some(true)` once rows with a label were seen, `Some(false)` without.
    pub fn labelled(&self) -> Option<bool> {
        self.reader.width().map(|w| w == self.model.coefficients.len() + 1)
    }

    pub fn begin_source(&mut self, name: &str) {
        self.reader.begin_source(name);
    }

    /// Predictions for every complete row in `bytes`.
    pub fn push(&mut self, bytes: &[u8]) -> Result<Vec<f64>, CoreError> {
        self.rows.clear();
        self.reader.push(bytes, &mut self.rows)?;
        self.check_header()?;
        Ok(self.predict_rows())
    }

    pub fn end_source(&mut self) -> Result<(Vec<f64>, SourceSummary), CoreError> {
        self.rows.clear();
        let summary = self.reader.end_source(&mut self.rows)?;
        self.check_header()?;
        Ok((self.predict_rows(), summary))
    }

    fn check_header(&mut self) -> Result<(), CoreError> {
        if self.header_checked {
            return Ok(());
        }
        let (Some(header), Some(expected)) = (self.reader.header(), self.model.feature_names.as_ref()) else {
            return Ok(());
        };
        self.header_checked = true;
        let features = if header.len() == expected.len() + 1 { &header[1..] } else { header };
        if features != expected.as_slice() {
            return Err(CoreError::HeaderMismatch {
                source: "header".into(),
                detail: format!(
                    "the columns ({}) are not the model's features ({}); send the features in the order the model was trained on",
                    features.join(","),
                    expected.join(",")
                ),
            });
        }
        Ok(())
    }

    fn predict_rows(&mut self) -> Vec<f64> {
        let Some(width) = self.reader.width() else {
            return Vec::new();
        };
        let labelled = width == self.model.coefficients.len() + 1;
        let mut predictions = Vec::with_capacity(self.rows.len() / width);
        for row in self.rows.chunks_exact(width) {
            let (label, features) = if labelled { (Some(row[0]), &row[1..]) } else { (None, row) };
            let prediction = self.model.predict(features);
            if let Some(y) = label {
                let residual = Dd::difference(y, prediction);
                self.squared += residual * residual;
                self.absolute += residual.abs();
                let shift = *self.label_shift.get_or_insert(y);
                let d = Dd::difference(y, shift);
                self.label_sum += d;
                self.label_squares += d * d;
                self.n += 1;
            }
            predictions.push(prediction);
        }
        predictions
    }

    /// Metrics over every labelled row so far (`None` without labels).
    pub fn metrics(&self) -> Option<ScoreMetrics> {
        if self.n == 0 {
            return None;
        }
        let n = self.n as f64;
        let mse = self.squared.to_f64() / n;
        let total = (self.label_squares - self.label_sum * self.label_sum / Dd::from(n)).to_f64();
        Some(ScoreMetrics {
            n: self.n,
            mse,
            rmse: mse.sqrt(),
            mae: self.absolute.to_f64() / n,
            r_squared: if total > 0.0 { 1.0 - self.squared.to_f64() / total } else { f64::NAN },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn model() -> ScoringModel {
        ScoringModel {
            coefficients: vec![3.0],
            center: vec![1.0],
            center_label: 4.0,
            centered_intercept: 0.0,
            feature_names: None,
        }
    }

    #[test]
    fn predicts_and_scores_labelled_rows() {
        let mut scorer = Scorer::new(model(), 1).unwrap();
        scorer.begin_source("test.csv");
        assert_eq!(scorer.push(b"31,10\n7,2\n").unwrap(), vec![31.0, 7.0]);
        let (rest, _) = scorer.end_source().unwrap();
        assert!(rest.is_empty());
        assert_eq!(scorer.labelled(), Some(true));
        let m = scorer.metrics().unwrap();
        assert_eq!((m.n, m.mse, m.mae, m.r_squared), (2, 0.0, 0.0, 1.0));
    }

    #[test]
    fn unlabelled_rows_give_predictions_only() {
        let mut scorer = Scorer::new(model(), 1).unwrap();
        scorer.begin_source("test.csv");
        assert_eq!(scorer.push(b"10.0").unwrap(), Vec::<f64>::new());
        assert_eq!(scorer.end_source().unwrap().0, vec![31.0]);
        assert_eq!(scorer.labelled(), Some(false));
        assert_eq!(scorer.metrics(), None);
    }
}
