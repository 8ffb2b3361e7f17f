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

/// What [`Frames`] finds in a stream, in order.
pub enum FrameEvent<'a> {
    /// A record begins: its 1-based number in the source and the byte offset of its header.
    Start { record: u64, offset: u64 },
    /// Payload bytes of the current record (a multipart record's parts are
    /// joined by the magic bytes, as DMLC writes them).
    Data(&'a [u8]),
    /// The current record is complete.
    End,
}

/// RecordIO framing: record payloads out of a byte stream, streamed (a
/// record may be larger than any chunk).
pub struct Frames {}

impl Frames {
    #[allow(clippy::new_without_default)]
    pub fn new() -> Self {
        Frames {}
    }
    pub fn begin_source(&mut self, _name: &str) {}
    pub fn push(&mut self, _bytes: &[u8], _each: &mut dyn FnMut(FrameEvent<'_>) -> Result<(), CoreError>) -> Result<(), CoreError> {
        Err(CoreError::UnsupportedFormat("frames".into()))
    }
    /// Ends the source: a record cut short is an error naming its number and offset.
    pub fn end_source(&mut self) -> Result<(), CoreError> {
        Ok(())
    }
}

/// Appends one RecordIO record whose `label` map holds each field as a one-value float32 tensor.
pub fn write_label_record(_out: &mut Vec<u8>, _fields: &[(&str, f64)]) {}
