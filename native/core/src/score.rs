//! Applies a fitted model to rows of a channel in any format: predictions, and when the rows carry
//! the label (one column more than the features), the usual metrics. A
//! header row is mapped to the model's features by name, in any order, as
//! serving does. A model trained with a weight column scores rows that carry
//! it at the same position, with weighted metrics (rows of weight 0 predicted
//! but not scored).

use crate::dd::Dd;
use crate::decode::{ChannelReader, Declared, Decoder, SourceSummary, Width};
use crate::error::{CoreError, Location};
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
    /// Index of the weight in the raw layout `[label, x1..xp]` (>= 1): in
    /// rows without the label it is one less.
    weight_column: Option<usize>,
    /// A row's features without its label and weight.
    stripped: Vec<f64>,
    source: String,
    /// Data rows of the current source predicted so far.
    source_rows: u64,
    n: u64,
    /// Σw, Σw·r², Σw·|r|; label sums are weighted too.
    weight_sum: Dd,
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
        Self::build(model, threads, declared, None)
    }

    /// A scorer of rows that carry a sample weight at `weight_column` of the
    /// raw layout `[label, x1..xp]` (where the model was trained with it);
    /// `None` is [`Self::with_format`].
    pub fn with_weight_column(model: Arc<Model>, threads: usize, declared: Declared, weight_column: Option<usize>) -> Result<Self, CoreError> {
        let p = model.features();
        if let Some(column) = weight_column.filter(|&c| c == 0 || c > p + 1) {
            return Err(CoreError::InvalidArgument(format!(
                "weight_column {column} is not a column after the label of rows with the label, {p} feature(s) and the weight"
            )));
        }
        Ok(Self::build(model, threads, declared, weight_column))
    }

    fn build(model: Arc<Model>, threads: usize, declared: Declared, weight_column: Option<usize>) -> Self {
        let p = model.features();
        let columns = p + usize::from(weight_column.is_some());
        Scorer {
            model,
            reader: ChannelReader::new(Width::FeaturesOrLabelled(columns), threads, declared),
            rows: Vec::new(),
            order: None,
            features: Vec::with_capacity(p),
            weight_column,
            stripped: Vec::with_capacity(p),
            source: String::new(),
            source_rows: 0,
            n: 0,
            weight_sum: Dd::ZERO,
            squared: Dd::ZERO,
            absolute: Dd::ZERO,
            label_shift: None,
            label_sum: Dd::ZERO,
            label_squares: Dd::ZERO,
        }
    }

    /// `Some(true)` once rows with a label were seen, `Some(false)` without.
    pub fn labelled(&self) -> Option<bool> {
        self.reader.width().map(|w| self.has_label(w))
    }

    /// Whether rows of `width` values start with the label.
    fn has_label(&self, width: usize) -> bool {
        width == self.model.features() + 1 + usize::from(self.weight_column.is_some())
    }

    /// Where the weight is in a row of `width` values, when there is one.
    fn weight_at(&self, width: usize) -> Option<usize> {
        let labelled = self.has_label(width);
        self.weight_column.map(|c| if labelled { c } else { c - 1 })
    }

    /// The decoders count the weight column as a feature: their width errors say otherwise.
    fn reader_error(&self, error: CoreError) -> CoreError {
        if self.weight_column.is_some() {
            error.with_weight_column()
        } else {
            error
        }
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
        let result = self.reader.push(bytes, &mut rows).map_err(|e| self.reader_error(e)).and_then(|()| self.predict(&rows, self.reader.width()));
        self.rows = rows;
        result
    }

    pub fn end_source(&mut self) -> Result<(Vec<f64>, SourceSummary), CoreError> {
        let mut rows = std::mem::take(&mut self.rows);
        rows.clear();
        let result = self
            .reader
            .end_source(&mut rows)
            .map_err(|e| self.reader_error(e))
            .and_then(|summary| Ok((self.predict(&rows, self.reader.width())?, summary)));
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
        result.map(|summary| (predictions, summary)).map_err(|e| self.reader_error(e))
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
        let mut features = header.to_vec();
        // A header finds the weights by the name they were trained under, wherever they are.
        if let (Some(_), Some(trained)) = (self.weight_column, self.model.weight_column.as_ref()) {
            let Some(at) = header.iter().position(|h| *h == trained.name) else {
                return Err(CoreError::HeaderMismatch {
                    source: self.source.clone(),
                    detail: format!(
                        "the model was trained with sample weights in column '{}', which this header ({}) does not have; \
                         add the weight column (it weighs the metrics)",
                        trained.name,
                        header.join(",")
                    ),
                });
            };
            self.weight_column = Some(if self.has_label(header.len()) { at } else { at + 1 });
        }
        if let Some(at) = self.weight_at(header.len()).filter(|&at| at < features.len()) {
            features.remove(at);
        }
        if features.len() == names.len() + 1 {
            features.remove(0);
        }
        self.order = Some(column_order(names, &features, "header")?);
        Ok(())
    }

    /// Predictions of the parsed rows; a non-finite one is refused, naming its row.
    fn predict_rows(&mut self, rows: &[f64], width: Option<usize>) -> Result<Vec<f64>, CoreError> {
        let Some(width) = width else {
            return Ok(Vec::new());
        };
        let labelled = self.has_label(width);
        let weight_at = self.weight_at(width);
        let order = self.order.as_deref().filter(|order| order.iter().enumerate().any(|(j, &c)| j != c));
        let mut predictions = Vec::with_capacity(rows.len() / width);
        for row in rows.chunks_exact(width) {
            self.source_rows += 1;
            let weight = weight_at.map_or(1.0, |at| row[at]);
            if !(weight >= 0.0 && weight.is_finite()) {
                let at = Location::data_row(&self.source, self.source_rows);
                return Err(CoreError::InvalidWeight { at, column: weight_at.map(|at| at + 1), value: weight });
            }
            let (label, mut features) = if labelled { (Some(row[0]), &row[1..]) } else { (None, row) };
            if let Some(at) = weight_at {
                let at = at - usize::from(labelled);
                self.stripped.clear();
                self.stripped.extend_from_slice(&features[..at]);
                self.stripped.extend_from_slice(&features[at + 1..]);
                features = &self.stripped;
            }
            if let Some(order) = order {
                self.features.clear();
                self.features.extend(order.iter().map(|&c| features[c]));
                features = &self.features;
            }
            let prediction = self.model.predict(features);
            if !prediction.is_finite() {
                let record = format!("{}, data row {}", self.source, self.source_rows);
                return Err(CoreError::NonFinitePrediction { record, what: "prediction" });
            }
            if let Some(y) = label.filter(|_| weight > 0.0) {
                let w = Dd::from(weight);
                let residual = Dd::difference(y, prediction);
                self.weight_sum += w;
                self.squared += w * residual * residual;
                self.absolute += w * residual.abs();
                let shift = *self.label_shift.get_or_insert(y);
                let d = Dd::difference(y, shift);
                self.label_sum += w * d;
                self.label_squares += w * d * d;
                self.n += 1;
            }
            predictions.push(prediction);
        }
        Ok(predictions)
    }

    /// Metrics over every labelled row so far (`None` without labels):
    /// weighted means (Σw·r²/Σw, Σw·|r|/Σw, R² about the weighted mean label)
    /// when rows carry weights, `n` counting those of positive weight.
    /// A metric beyond float64 (squared residuals of labels near 1e155) is
    /// refused rather than reported as infinity. R² is NaN for a constant label.
    pub fn metrics(&self) -> Result<Option<ScoreMetrics>, CoreError> {
        if self.n == 0 {
            return Ok(None);
        }
        // Σw rounded once: n itself for unit weights, so unweighted metrics keep their bits.
        let total_weight = self.weight_sum.to_f64();
        let mse = self.squared.to_f64() / total_weight;
        let mae = self.absolute.to_f64() / total_weight;
        if !mse.is_finite() || !mae.is_finite() {
            return Err(CoreError::NonFiniteResult(format!(
                "the mse of the rows scored up to {} is beyond the range of float64 numbers; rescale the label toward units near 1",
                self.source
            )));
        }
        let total = (self.label_squares - self.label_sum * self.label_sum / self.weight_sum).to_f64();
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

    /// [`scorer`]'s model, on rows carrying a weight at column 2 of `[label, x, z]`.
    fn weighted_scorer() -> Scorer {
        let model = Arc::new(example_model(&[3.0, 0.5], &[1.0, 0.0], 4.0, &["x", "z"], true));
        Scorer::with_weight_column(model, 1, Declared::default(), Some(2)).unwrap()
    }

    #[test]
    fn weighted_rows_give_weighted_metrics() {
        let mut scorer = weighted_scorer();
        scorer.begin_source("test.csv");
        // Residuals 1, -3, (weight 0: predicted, not scored), 0.5.
        let predictions = scorer.push(b"y,x,w,z\n32,10,2,0\n5,2,0.5,2\n100,0,0,0\n6.5,1,1.5,4\n").unwrap();
        assert_eq!(predictions, vec![31.0, 8.0, 1.0, 6.0]);
        let (y, w, r) = ([32.0, 5.0, 6.5], [2.0, 0.5, 1.5], [1.0, -3.0, 0.5]);
        let total: f64 = w.iter().sum();
        let mse = (0..3).map(|i| w[i] * r[i] * r[i]).sum::<f64>() / total;
        let mae = (0..3).map(|i| w[i] * f64::abs(r[i])).sum::<f64>() / total;
        let mean = (0..3).map(|i| w[i] * y[i]).sum::<f64>() / total;
        let tss = (0..3).map(|i| w[i] * (y[i] - mean).powi(2)).sum::<f64>();
        let m = scorer.metrics().unwrap().unwrap();
        assert_eq!(m.n, 3);
        for (got, expected) in [(m.mse, mse), (m.rmse, mse.sqrt()), (m.mae, mae), (m.r_squared, 1.0 - mse * total / tss)] {
            assert!((got - expected).abs() <= 1e-15 * expected.abs(), "{got} vs {expected}");
        }
    }

    #[test]
    fn the_weight_column_is_dropped_by_position_with_or_without_a_label() {
        let mut scorer = weighted_scorer();
        scorer.begin_source("test.csv");
        assert_eq!(scorer.push(b"y,z,w,x\n33,4,1,10\n").unwrap(), vec![33.0]);
        assert_eq!(scorer.metrics().unwrap().unwrap().mse, 0.0);
        let mut scorer = weighted_scorer();
        scorer.begin_source("test.csv");
        assert_eq!(scorer.push(b"10,1,0\n2,3,2\n").unwrap(), vec![31.0, 8.0]);
        assert_eq!((scorer.labelled(), scorer.metrics().unwrap()), (Some(false), None));
    }

    #[test]
    fn bad_weights_and_widths_are_refused_naming_the_weight_column() {
        let mut scorer = weighted_scorer();
        scorer.begin_source("test.csv");
        let err = scorer.push(b"31,10,1,0\n5,2,-2,2\n").unwrap_err();
        assert_eq!(err.code(), "INVALID_WEIGHT");
        assert!(err.to_string().starts_with("test.csv data row 2, column 3: the weight -2 is negative"), "{err}");
        let mut scorer = weighted_scorer();
        scorer.begin_source("test.csv");
        let err = scorer.push(b"10,0\n").unwrap_err();
        assert_eq!(err.code(), "FEATURE_COUNT_MISMATCH");
        assert!(err.to_string().contains("the model has 2 feature(s) and was trained with a weight column; send 3 values"), "{err}");
        let model = Arc::new(example_model(&[3.0, 0.5], &[1.0, 0.0], 4.0, &["x", "z"], true));
        for column in [0, 4] {
            assert!(Scorer::with_weight_column(model.clone(), 1, Declared::default(), Some(column)).is_err(), "{column}");
        }
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
