//! Applies a fitted model to rows of a channel in any format: predictions, and when the rows carry
//! the label (one column more than the features), the usual metrics. A
//! header row is mapped to the model's features by name, in any order, as
//! serving does.

use crate::dd::Dd;
use crate::decode::{ChannelReader, Declared, Decoder, SourceSummary, Width};
use crate::error::CoreError;
use crate::model::{column_order, Model};
use std::sync::Arc;

#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ScoreMetrics {
    pub n: u64,
    pub mse: f64,
    pub rmse: f64,
    pub mae: f64,
    pub r_squared: f64,
}

pub struct Scorer {
    model: Arc<Model>,
    reader: ChannelReader,
    rows: Vec<f64>,
    /// For each model feature, its column among the current source's header
    /// features; `None` until that source's header was read, and for a source
    /// without one (its columns are in the model's order).
    order: Option<Vec<usize>>,
    features: Vec<f64>,
    source: String,
    /// Data rows of the current source predicted so far.
    source_rows: u64,
    n: u64,
    squared: Dd,
    absolute: Dd,
    label_shift: Option<f64>,
    label_sum: Dd,
    label_squares: Dd,
}

impl Scorer {
    pub fn new(model: Arc<Model>, threads: usize) -> Self {
        Self::with_format(model, threads, Declared::default())
    }

    /// A scorer of a channel declared as `declared`.
    pub fn with_format(model: Arc<Model>, threads: usize, declared: Declared) -> Self {
        let p = model.features();
        Scorer {
            model,
            reader: ChannelReader::new(Width::FeaturesOrLabelled(p), threads, declared),
            rows: Vec::new(),
            order: None,
            features: Vec::with_capacity(p),
            source: String::new(),
            source_rows: 0,
            n: 0,
            squared: Dd::ZERO,
            absolute: Dd::ZERO,
            label_shift: None,
            label_sum: Dd::ZERO,
            label_squares: Dd::ZERO,
        }
    }

    /// `Some(true)` once rows with a label were seen, `Some(false)` without.
    pub fn labelled(&self) -> Option<bool> {
        self.reader.width().map(|w| w == self.model.features() + 1)
    }

    pub fn begin_source(&mut self, name: &str) {
        self.reader.begin_source(name);
        self.source = name.to_string();
        self.source_rows = 0;
        self.order = None;
    }

    /// Every source is a stream of RecordIO frames, one object each (Pipe mode).
    pub fn unwrap_records(&mut self) {
        self.reader.unwrap_records();
    }

    /// Predictions for every complete row in `bytes`.
    pub fn push(&mut self, bytes: &[u8]) -> Result<Vec<f64>, CoreError> {
        let mut rows = std::mem::take(&mut self.rows);
        rows.clear();
        let result = self.reader.push(bytes, &mut rows).and_then(|()| self.predict(&rows, self.reader.width()));
        self.rows = rows;
        result
    }

    pub fn end_source(&mut self) -> Result<(Vec<f64>, SourceSummary), CoreError> {
        let mut rows = std::mem::take(&mut self.rows);
        rows.clear();
        let result = self.reader.end_source(&mut rows).and_then(|summary| Ok((self.predict(&rows, self.reader.width())?, summary)));
        self.rows = rows;
        result
    }

    /// Reads a whole file by path (Parquet): its predictions and summary.
    pub fn read_file(&mut self, path: &std::path::Path, name: &str) -> Result<(Vec<f64>, SourceSummary), CoreError> {
        self.begin_source(name);
        let mut reader = std::mem::replace(&mut self.reader, ChannelReader::new(Width::Any, 1, Declared::default()));
        let mut predictions = Vec::new();
        let result = reader.read_file(path, name, &mut |batch| {
            if let Some(names) = batch.names {
                self.map_header(names)?;
            }
            predictions.extend(self.predict_rows(batch.values, Some(batch.width))?);
            Ok(())
        });
        self.reader = reader;
        result.map(|summary| (predictions, summary))
    }

    fn predict(&mut self, rows: &[f64], width: Option<usize>) -> Result<Vec<f64>, CoreError> {
        self.check_header()?;
        self.predict_rows(rows, width)
    }

    fn check_header(&mut self) -> Result<(), CoreError> {
        if self.order.is_some() || !self.reader.source_has_header() {
            return Ok(());
        }
        match self.reader.header() {
            Some(header) => {
                let header = header.to_vec();
                self.map_header(&header)
            }
            None => Ok(()),
        }
    }

    /// Maps the current source's column names to the model's features, once per source.
    fn map_header(&mut self, header: &[String]) -> Result<(), CoreError> {
        if self.order.is_some() {
            return Ok(());
        }
        let names = &self.model.feature_names;
        let features = if header.len() == names.len() + 1 { &header[1..] } else { header };
        self.order = Some(column_order(names, features, "header")?);
        Ok(())
    }

    /// Predictions of the parsed rows; a non-finite one is refused, naming its row.
    fn predict_rows(&mut self, rows: &[f64], width: Option<usize>) -> Result<Vec<f64>, CoreError> {
        let Some(width) = width else {
            return Ok(Vec::new());
        };
        let labelled = width == self.model.features() + 1;
        let order = self.order.as_deref().filter(|order| order.iter().enumerate().any(|(j, &c)| j != c));
        let mut predictions = Vec::with_capacity(rows.len() / width);
        for row in rows.chunks_exact(width) {
            let (label, mut features) = if labelled { (Some(row[0]), &row[1..]) } else { (None, row) };
            if let Some(order) = order {
                self.features.clear();
                self.features.extend(order.iter().map(|&c| features[c]));
                features = &self.features;
            }
            let prediction = self.model.predict(features);
            self.source_rows += 1;
            if !prediction.is_finite() {
                let record = format!("{}, data row {}", self.source, self.source_rows);
                return Err(CoreError::NonFinitePrediction { record, what: "prediction" });
            }
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
        Ok(predictions)
    }

    /// Metrics over every labelled row so far (`None` without labels).
    /// A metric beyond float64 (squared residuals of labels near 1e155) is
    /// refused rather than reported as infinity. R² is NaN for a constant label.
    pub fn metrics(&self) -> Result<Option<ScoreMetrics>, CoreError> {
        if self.n == 0 {
            return Ok(None);
        }
        let n = self.n as f64;
        let mse = self.squared.to_f64() / n;
        let mae = self.absolute.to_f64() / n;
        if !mse.is_finite() || !mae.is_finite() {
            return Err(CoreError::NonFiniteResult(format!(
                "the mse of the rows scored up to {} is beyond the range of float64 numbers; rescale the label toward units near 1",
                self.source
            )));
        }
        let total = (self.label_squares - self.label_sum * self.label_sum / Dd::from(n)).to_f64();
        Ok(Some(ScoreMetrics {
            n: self.n,
            mse,
            rmse: mse.sqrt(),
            mae,
            r_squared: if total > 0.0 && total.is_finite() { 1.0 - self.squared.to_f64() / total } else { f64::NAN },
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::example_model;

    /// y = 4 + 3 (x - 1), a second feature z with coefficient 0.5.
    fn scorer() -> Scorer {
        Scorer::new(Arc::new(example_model(&[3.0, 0.5], &[1.0, 0.0], 4.0, &["x", "z"], true)), 1)
    }

    #[test]
    fn predicts_and_scores_labelled_rows() {
        let mut scorer = scorer();
        scorer.begin_source("test.csv");
        assert_eq!(scorer.push(b"31,10,0\n8,2,2\n").unwrap(), vec![31.0, 8.0]);
        let (rest, _) = scorer.end_source().unwrap();
        assert!(rest.is_empty());
        assert_eq!(scorer.labelled(), Some(true));
        let m = scorer.metrics().unwrap().unwrap();
        assert_eq!((m.n, m.mse, m.mae, m.r_squared), (2, 0.0, 0.0, 1.0));
    }

    #[test]
    fn unlabelled_rows_give_predictions_only() {
        let mut scorer = scorer();
        scorer.begin_source("test.csv");
        assert_eq!(scorer.push(b"10.0,0").unwrap(), Vec::<f64>::new());
        assert_eq!(scorer.end_source().unwrap().0, vec![31.0]);
        assert_eq!(scorer.labelled(), Some(false));
        assert_eq!(scorer.metrics().unwrap(), None);
    }

    #[test]
    fn a_header_in_another_order_is_mapped_by_name_and_a_foreign_one_refused() {
        let mut scorer = scorer();
        scorer.begin_source("test.csv");
        assert_eq!(scorer.push(b"y,z,x\n33,4,10\n").unwrap(), vec![33.0]);
        assert_eq!(scorer.metrics().unwrap().unwrap().mse, 0.0);
        let mut scorer = self::scorer();
        scorer.begin_source("test.csv");
        assert_eq!(scorer.push(b"z,x\n4,10\n").unwrap(), vec![33.0]);
        let mut scorer = self::scorer();
        scorer.begin_source("test.csv");
        assert_eq!(scorer.push(b"a,b\n4,10\n").unwrap_err().code(), "HEADER_MISMATCH");
    }

    #[test]
    fn a_prediction_that_overflows_is_refused_naming_its_row() {
        let mut scorer = scorer();
        scorer.begin_source("test.csv");
        let err = scorer.push(b"1,2\n1e308,0\n").unwrap_err();
        assert_eq!(err.code(), "NON_FINITE_PREDICTION");
        assert!(err.to_string().starts_with("test.csv, data row 2: the prediction is beyond"), "{err}");
    }

    #[test]
    fn metrics_beyond_float64_are_refused() {
        let mut scorer = scorer();
        scorer.begin_source("valid.csv");
        scorer.push(b"1e200,0,0\n-1e200,1,1\n").unwrap();
        let err = scorer.metrics().unwrap_err();
        assert_eq!(err.code(), "NON_FINITE_RESULT");
        assert!(err.to_string().contains("valid.csv"), "{err}");
    }

    #[test]
    fn a_header_orders_only_its_own_file() {
        let mut scorer = scorer();
        let mut predictions = Vec::new();
        for (name, bytes) in [("0.csv", &b"10,0\n"[..]), ("1.csv", b"z,x\n0,10\n"), ("2.csv", b"10,0\n")] {
            scorer.begin_source(name);
            predictions.extend(scorer.push(bytes).unwrap());
            predictions.extend(scorer.end_source().unwrap().0);
        }
        assert_eq!(predictions, vec![31.0, 31.0, 31.0]);
    }
}
