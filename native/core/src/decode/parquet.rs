//! Parquet (placeholder until the decoder lands).
use super::{Decoder, SourceSummary, Width};
use crate::error::{CoreError, Location};

pub struct ParquetReader {
    rule: Width,
    label_column: Option<String>,
}

impl ParquetReader {
    pub fn new(rule: Width, label_column: Option<String>) -> Self {
        ParquetReader { rule, label_column }
    }
}

impl Decoder for ParquetReader {
    fn begin_source(&mut self, _name: &str) {}
    fn push(&mut self, _bytes: &[u8], _out: &mut Vec<f64>) -> Result<(), CoreError> {
        Err(CoreError::UnsupportedFormat(format!("parquet {:?} {:?}", self.rule, self.label_column)))
    }
    fn end_source(&mut self, _out: &mut Vec<f64>) -> Result<SourceSummary, CoreError> {
        Ok(SourceSummary::default())
    }
    fn width(&self) -> Option<usize> {
        None
    }
    fn header(&self) -> Option<&[String]> {
        None
    }
    fn source_has_header(&self) -> bool {
        false
    }
    fn first_data_line(&self) -> Option<&Location> {
        None
    }
}
