//! RecordIO-protobuf (placeholder until the decoder lands).
use super::{Decoder, SourceSummary, Width};
use crate::error::{CoreError, Location};

pub struct RecordIoReader {
    rule: Width,
}

impl RecordIoReader {
    pub fn new(rule: Width) -> Self {
        RecordIoReader { rule }
    }
}

impl Decoder for RecordIoReader {
    fn begin_source(&mut self, _name: &str) {}
    fn push(&mut self, _bytes: &[u8], _out: &mut Vec<f64>) -> Result<(), CoreError> {
        Err(CoreError::UnsupportedFormat(format!("recordio {:?}", self.rule)))
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

/// RecordIO framing: whole record payloads out of a byte stream.
pub struct Frames {}

impl Frames {
    pub fn new() -> Self {
        Frames {}
    }
    pub fn begin_source(&mut self, _name: &str) {}
    pub fn push(&mut self, _bytes: &[u8], _each: &mut dyn FnMut(&[u8], u64) -> Result<(), CoreError>) -> Result<(), CoreError> {
        Err(CoreError::UnsupportedFormat("frames".into()))
    }
    pub fn end_source(&mut self) -> Result<(), CoreError> {
        Ok(())
    }
}

/// Appends one RecordIO record whose `label` map holds each field as a one-value float32 tensor.
pub fn write_label_record(_out: &mut Vec<u8>, _fields: &[(&str, f64)]) {}
