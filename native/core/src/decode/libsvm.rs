//! libsvm text: `label index:value ...` (placeholder until the decoder lands).
use super::{Decoder, SourceSummary, Width};
use crate::error::{CoreError, Location};

pub struct LibsvmReader {
    rule: Width,
    zero_based: bool,
}

impl LibsvmReader {
    pub fn new(rule: Width, zero_based: bool) -> Self {
        LibsvmReader { rule, zero_based }
    }
}

impl Decoder for LibsvmReader {
    fn begin_source(&mut self, _name: &str) {}
    fn push(&mut self, _bytes: &[u8], _out: &mut Vec<f64>) -> Result<(), CoreError> {
        Err(CoreError::UnsupportedFormat(format!("libsvm {:?} {}", self.rule, self.zero_based)))
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
