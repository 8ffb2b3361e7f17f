//! RecordIO-protobuf: the SageMaker built-in algorithms' binary format.
//!
//! Framing (DMLC's RecordIO, little-endian): a u32 magic `0xCED7230A`, a u32
//! whose low 29 bits are the payload length and whose top 3 bits say whether
//! the payload is a whole record (0) or the first, a middle or the last part
//! of one (1, 2, 3), the payload, and zero padding to a multiple of 4 bytes.
//! The parts of a multipart record are joined with the magic bytes put back
//! between them (the writer split the record where they occurred).
//!
//! [`Frames`] streams the payloads of a byte stream as events without holding
//! a record whole (Pipe mode wraps each S3 object, of any size, in one
//! record). [`RecordIoReader`] reads each payload as an `aialgs.data.Record`
//! protobuf: the features from `features["values"]`, the label from
//! `label["values"]`, each a float32, float64 or int32 tensor, dense or
//! sparse (keys and a shape), one row per record or several under a
//! `[rows, columns]` shape.

use super::{Decoder, SourceSummary, Width, MAX_COLUMNS, RECORDIO_MAGIC};
use crate::error::{CoreError, Location};
use prost::encoding::{DecodeContext, WireType};
use prost::{DecodeError, Message};

const MAGIC: u32 = 0xCED7_230A;
const HEADER_BYTES: usize = 8;
/// The low 29 bits of the second header word: the payload length.
const LENGTH_MASK: u32 = (1 << 29) - 1;
/// Largest record payload (all parts together) read into memory: records
/// hold a row (or a few) each, so a bigger one is not data this reads.
const MAX_RECORD_BYTES: usize = 64 << 20;
/// Most values (rows times columns) one record may expand to: a sparse shape
/// can describe any number of zeros in a few bytes.
const MAX_RECORD_VALUES: usize = MAX_RECORD_BYTES / 8;
/// Records decoded between checks for a stop request.
const CANCEL_EVERY: u64 = 1 << 16;
/// The tensor types read, for messages.
const READ_TYPES: &str = "float32, float64 or int32 tensor";

// The protobuf messages of `aialgs.data.Record` (SageMaker's record.proto).
// The tensors are derived; `Value`, the map entries and `Record` are read
// by hand on prost's field decoders, so that a record's tensors decode into
// the buffers of the record before (no allocation per record once they have
// grown) and entries under keys other than `values` are dropped as they are
// read. Fields not read (`uid`, `metadata`, `configuration`, the contents
// of `Bytes`) are skipped.

#[derive(Clone, PartialEq, Message)]
struct Float32Tensor {
    #[prost(float, repeated, tag = "1")]
    values: Vec<f32>,
    #[prost(uint64, repeated, tag = "2")]
    keys: Vec<u64>,
    #[prost(uint64, repeated, tag = "3")]
    shape: Vec<u64>,
}

#[derive(Clone, PartialEq, Message)]
struct Float64Tensor {
    #[prost(double, repeated, tag = "1")]
    values: Vec<f64>,
    #[prost(uint64, repeated, tag = "2")]
    keys: Vec<u64>,
    #[prost(uint64, repeated, tag = "3")]
    shape: Vec<u64>,
}

#[derive(Clone, PartialEq, Message)]
struct Int32Tensor {
    #[prost(int32, repeated, tag = "1")]
    values: Vec<i32>,
    #[prost(uint64, repeated, tag = "2")]
    keys: Vec<u64>,
    #[prost(uint64, repeated, tag = "3")]
    shape: Vec<u64>,
}

/// `Bytes` is recognised (to name it in messages) but its contents are skipped.
#[derive(Clone, PartialEq, Message)]
struct BytesTensor {}

/// Which field of `Value`'s oneof was read (the last one, as protobuf has it).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
enum Held {
    #[default]
    Nothing,
    Float32,
    Float64,
    Int32,
    Bytes,
}

/// A `Value` (`oneof { float32_tensor = 2; float64_tensor = 3; int32_tensor
/// = 7; bytes = 9 }`) with a buffer for each tensor type, kept from value
/// to value: a tensor is cleared when it is first read into.
#[derive(Clone, Debug, Default, PartialEq)]
struct Value {
    held: Held,
    float32: Float32Tensor,
    float64: Float64Tensor,
    int32: Int32Tensor,
}

impl Message for Value {
    fn encode_raw(&self, buf: &mut impl prost::bytes::BufMut) {
        use prost::encoding::message::encode;
        match self.held {
            Held::Nothing => {}
            Held::Float32 => encode(2, &self.float32, buf),
            Held::Float64 => encode(3, &self.float64, buf),
            Held::Int32 => encode(7, &self.int32, buf),
            Held::Bytes => encode(9, &BytesTensor {}, buf),
        }
    }

    fn merge_field(&mut self, tag: u32, wire_type: WireType, buf: &mut impl prost::bytes::Buf, ctx: DecodeContext) -> Result<(), DecodeError> {
        use prost::encoding::{message::merge, skip_field};
        let held = match tag {
            2 => Held::Float32,
            3 => Held::Float64,
            7 => Held::Int32,
            9 => Held::Bytes,
            _ => return skip_field(wire_type, tag, buf, ctx),
        };
        // Another field of the oneof replaces the one held; the same one merges.
        if held != self.held {
            self.held = held;
            match held {
                Held::Float32 => self.float32.clear(),
                Held::Float64 => self.float64.clear(),
                Held::Int32 => self.int32.clear(),
                Held::Bytes | Held::Nothing => {}
            }
        }
        match held {
            Held::Float32 => merge(wire_type, &mut self.float32, buf, ctx),
            Held::Float64 => merge(wire_type, &mut self.float64, buf, ctx),
            Held::Int32 => merge(wire_type, &mut self.int32, buf, ctx),
            Held::Bytes | Held::Nothing => merge(wire_type, &mut BytesTensor {}, buf, ctx),
        }
    }

    fn encoded_len(&self) -> usize {
        use prost::encoding::message::encoded_len;
        match self.held {
            Held::Nothing => 0,
            Held::Float32 => encoded_len(2, &self.float32),
            Held::Float64 => encoded_len(3, &self.float64),
            Held::Int32 => encoded_len(7, &self.int32),
            Held::Bytes => encoded_len(9, &BytesTensor {}),
        }
    }

    fn clear(&mut self) {
        self.held = Held::Nothing;
    }
}

/// One entry of a `map<string, Value>` (`key = 1`, `value = 2`): a map is
/// encoded as repeated entries, which the Spark SDK writes as such. An
/// entry without a value holds an empty `Value`.
#[derive(Clone, Debug, Default, PartialEq)]
struct Entry {
    key: String,
    /// Boxed, to be swapped with the record's cheaply.
    value: Box<Value>,
}

impl Message for Entry {
    fn encode_raw(&self, buf: &mut impl prost::bytes::BufMut) {
        prost::encoding::string::encode(1, &self.key, buf);
        prost::encoding::message::encode(2, &*self.value, buf);
    }

    fn merge_field(&mut self, tag: u32, wire_type: WireType, buf: &mut impl prost::bytes::Buf, ctx: DecodeContext) -> Result<(), DecodeError> {
        match tag {
            1 => prost::encoding::string::merge(wire_type, &mut self.key, buf, ctx),
            2 => prost::encoding::message::merge(wire_type, &mut *self.value, buf, ctx),
            _ => prost::encoding::skip_field(wire_type, tag, buf, ctx),
        }
    }

    fn encoded_len(&self) -> usize {
        prost::encoding::string::encoded_len(1, &self.key) + prost::encoding::message::encoded_len(2, &*self.value)
    }

    fn clear(&mut self) {
        self.key.clear();
        self.value.clear();
    }
}

/// How many names of other features a message lists.
const NAMES_SHOWN: usize = 5;

/// `aialgs.data.Record` (`map<string, Value> features = 1; map<string,
/// Value> label = 2`) as read: `features["values"]` and `label["values"]`,
/// a key given twice taking its last value, as in a map. Entries under
/// other keys are counted and dropped as they are read, so a record of many
/// tiny entries takes no more memory than its bytes.
#[derive(Debug, Default)]
struct Record {
    features: Option<Box<Value>>,
    label: Option<Box<Value>>,
    /// Features under other keys: how many, and the first few names.
    other_features: usize,
    other_names: Vec<String>,
    /// The entry being read.
    entry: Entry,
    /// Values put aside, their buffers kept for the next records.
    #[allow(clippy::vec_box, reason = "boxed values are moved between the record and the entry by pointer")]
    spare: Vec<Box<Value>>,
}

impl Record {
    /// Reads a payload, field by field as `Message::merge` does.
    fn read(&mut self, mut buf: &[u8]) -> Result<(), DecodeError> {
        use prost::encoding::{decode_key, message, skip_field};
        for value in [self.features.take(), self.label.take()].into_iter().flatten() {
            self.spare.push(value);
        }
        self.other_features = 0;
        self.other_names.clear();
        let context = DecodeContext::default();
        while !buf.is_empty() {
            let (tag, wire_type) = decode_key(&mut buf)?;
            if tag != 1 && tag != 2 {
                skip_field(wire_type, tag, &mut buf, context.clone())?;
                continue;
            }
            self.entry.clear();
            message::merge(wire_type, &mut self.entry, &mut buf, context.clone())?;
            if self.entry.key == "values" {
                let slot = if tag == 1 { &mut self.features } else { &mut self.label };
                let mut value = slot.take().or_else(|| self.spare.pop()).unwrap_or_default();
                std::mem::swap(&mut value, &mut self.entry.value);
                *slot = Some(value);
            } else if tag == 1 {
                self.other_features += 1;
                if self.other_names.len() < NAMES_SHOWN {
                    self.other_names.push(format!("{:?}", self.entry.key.chars().take(40).collect::<String>()));
                }
            }
        }
        Ok(())
    }
}

/// What the events of [`Frames`] are, in order: `Start`, any number of
/// `Data`, `End`, for each record.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FrameEvent<'a> {
    /// A record begins: its 1-based number in the source and the byte offset of its header.
    Start { record: u64, offset: u64 },
    /// Payload bytes of the current record (a multipart record's parts are
    /// joined by the magic bytes, as DMLC writes them).
    Data(&'a [u8]),
    /// The current record is complete.
    End,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Phase {
    Header,
    Payload,
    Padding,
}

/// The framing state of one source, carried across chunks: at most a
/// partial 8-byte header, never payload.
#[derive(Debug)]
struct Framer {
    source: String,
    /// Bytes of the source consumed.
    offset: u64,
    /// Records begun (the current one's number once it began).
    records: u64,
    /// Where the current record's (first) header is.
    record_offset: u64,
    header: [u8; HEADER_BYTES],
    have: usize,
    phase: Phase,
    /// Payload bytes of the current part still to come.
    left: u32,
    /// The current part's payload length.
    length: u32,
    padding: u32,
    /// A multipart record is open: its last part is still to come.
    open: bool,
    /// Parts of the current record so far.
    parts: u64,
    /// The current part is the record's last.
    ends: bool,
}

impl Framer {
    fn new() -> Self {
        Framer {
            source: String::new(),
            offset: 0,
            records: 0,
            record_offset: 0,
            header: [0; HEADER_BYTES],
            have: 0,
            phase: Phase::Header,
            left: 0,
            length: 0,
            padding: 0,
            open: false,
            parts: 0,
            ends: false,
        }
    }

    fn begin(&mut self, name: &str) {
        let mut source = std::mem::take(&mut self.source);
        source.clear();
        source.push_str(name);
        *self = Framer { source, ..Framer::new() };
    }

    /// The record a problem is in: the one open, or else the one whose header is being read.
    fn current(&self) -> (u64, u64) {
        if self.phase == Phase::Header && !self.open {
            (self.records + 1, self.offset - self.have as u64)
        } else {
            (self.records, self.record_offset)
        }
    }

    fn malformed(&self, detail: String) -> CoreError {
        CoreError::Malformed { at: Location::record(&self.source, self.current().0), detail }
    }

    /// Where the record just read (or being read) is.
    fn at(&self) -> At<'_> {
        At { source: &self.source, record: self.records, offset: self.record_offset }
    }

    fn bad_record(&self, detail: String) -> CoreError {
        self.at().bad_record(detail)
    }

    /// The next event from `bytes` (consuming them), or `None` once they are
    /// used up without completing one.
    fn next<'a>(&mut self, bytes: &mut &'a [u8]) -> Result<Option<FrameEvent<'a>>, CoreError> {
        loop {
            match self.phase {
                Phase::Header => {
                    if bytes.is_empty() {
                        return Ok(None);
                    }
                    let before = self.have;
                    let take = (HEADER_BYTES - before).min(bytes.len());
                    self.header[before..before + take].copy_from_slice(&bytes[..take]);
                    self.have += take;
                    self.offset += take as u64;
                    *bytes = &bytes[take..];
                    if before < 4 && self.have >= 4 && self.header[..4] != RECORDIO_MAGIC {
                        return Err(self.bad_magic());
                    }
                    if self.have < HEADER_BYTES {
                        return Ok(None);
                    }
                    return self.begin_part().map(Some);
                }
                Phase::Payload => {
                    if self.left == 0 {
                        self.phase = Phase::Padding;
                        continue;
                    }
                    if bytes.is_empty() {
                        return Ok(None);
                    }
                    let take = (self.left as usize).min(bytes.len());
                    let (data, rest) = bytes.split_at(take);
                    *bytes = rest;
                    self.left -= take as u32;
                    self.offset += take as u64;
                    return Ok(Some(FrameEvent::Data(data)));
                }
                Phase::Padding => {
                    let take = (self.padding as usize).min(bytes.len());
                    *bytes = &bytes[take..];
                    self.padding -= take as u32;
                    self.offset += take as u64;
                    if self.padding > 0 {
                        return Ok(None);
                    }
                    self.phase = Phase::Header;
                    if self.ends {
                        self.ends = false;
                        return Ok(Some(FrameEvent::End));
                    }
                }
            }
        }
    }

    fn bad_magic(&self) -> CoreError {
        let at = self.offset - self.have as u64;
        let found: Vec<String> = self.header[..4].iter().map(|b| format!("{b:02X}")).collect();
        self.malformed(format!(
            "expected the RecordIO magic number (bytes 0A 23 D7 CE) at byte offset {at} but found {}; \
             the data is not RecordIO-protobuf, or the record before it has a wrong length",
            found.join(" ")
        ))
    }

    /// A complete header: checks its part flag against the record open, and
    /// gives the event it starts with (the magic bytes that joined two parts).
    fn begin_part(&mut self) -> Result<FrameEvent<'static>, CoreError> {
        let at = self.offset - HEADER_BYTES as u64;
        self.have = 0;
        let word = u32::from_le_bytes([self.header[4], self.header[5], self.header[6], self.header[7]]);
        debug_assert_eq!(u32::from_le_bytes([self.header[0], self.header[1], self.header[2], self.header[3]]), MAGIC);
        let length = word & LENGTH_MASK;
        let flag = word >> 29;
        let event = match (flag, self.open) {
            (0 | 1, false) => {
                self.records += 1;
                self.record_offset = at;
                self.parts = 1;
                self.open = flag == 1;
                self.ends = flag == 0;
                FrameEvent::Start { record: self.records, offset: at }
            }
            (2 | 3, true) => {
                self.parts += 1;
                self.open = flag == 2;
                self.ends = flag == 3;
                FrameEvent::Data(&RECORDIO_MAGIC)
            }
            (0 | 1, true) => {
                return Err(self.malformed(format!(
                    "a new record begins at byte offset {at} while the multipart record that began at byte offset {} \
                     still lacks its last part (after {} part(s)); the data is cut or misassembled",
                    self.record_offset, self.parts
                )));
            }
            (2 | 3, false) => {
                return Err(self.malformed(format!(
                    "byte offset {at} holds a {} part of a multipart record (flag {flag}) without its first part before it",
                    if flag == 2 { "middle" } else { "last" }
                )));
            }
            _ => {
                return Err(self.malformed(format!(
                    "the header at byte offset {at} has part flag {flag}; RecordIO flags are 0 (a whole record) to 3 (a last part)"
                )));
            }
        };
        self.phase = Phase::Payload;
        self.length = length;
        self.left = length;
        self.padding = length.next_multiple_of(4) - length;
        Ok(event)
    }

    /// The source is complete: a record cut short is an error.
    fn finish(&self) -> Result<(), CoreError> {
        let (record, at) = self.current();
        let what = match self.phase {
            Phase::Header if self.have == 0 && !self.open => return Ok(()),
            Phase::Header if self.have == 0 => format!("after part {} of the record's parts, before its last part", self.parts),
            Phase::Header => format!("after {} of the 8 bytes of a header", self.have),
            Phase::Payload => format!("{} bytes short of the end of a {}-byte payload", self.left, self.length),
            Phase::Padding => format!("inside the zero padding after a {}-byte payload", self.length),
        };
        Err(CoreError::Malformed {
            at: Location::record(&self.source, record),
            detail: format!("truncated: the data ends {what}; the record starts at byte offset {at} (the file or stream was cut short)"),
        })
    }
}

/// RecordIO framing: record payloads out of a byte stream, streamed (a
/// record may be larger than any chunk).
#[derive(Debug)]
pub struct Frames {
    framer: Framer,
}

impl Default for Frames {
    fn default() -> Self {
        Frames::new()
    }
}

impl Frames {
    pub fn new() -> Self {
        Frames { framer: Framer::new() }
    }

    /// Names the next source in messages; record numbers and offsets restart.
    pub fn begin_source(&mut self, name: &str) {
        self.framer.begin(name);
    }

    /// Hands `each` the events found in `bytes`, in order; payload bytes as
    /// they arrive (a record's `Data` may come in several pieces).
    pub fn push(&mut self, mut bytes: &[u8], each: &mut dyn FnMut(FrameEvent<'_>) -> Result<(), CoreError>) -> Result<(), CoreError> {
        while let Some(event) = self.framer.next(&mut bytes)? {
            each(event)?;
        }
        Ok(())
    }

    /// Ends the source: a record cut short is an error naming its number and offset.
    pub fn end_source(&mut self) -> Result<(), CoreError> {
        let result = self.framer.finish();
        let name = std::mem::take(&mut self.framer.source);
        self.framer.begin(&name);
        result
    }
}

/// A tensor's values, whatever their type.
#[derive(Clone, Copy)]
enum Numbers<'a> {
    F32(&'a [f32]),
    F64(&'a [f64]),
    I32(&'a [i32]),
}

impl Numbers<'_> {
    fn len(self) -> usize {
        match self {
            Numbers::F32(v) => v.len(),
            Numbers::F64(v) => v.len(),
            Numbers::I32(v) => v.len(),
        }
    }
}

/// A number type of a tensor, widened exactly to f64.
trait Number: Copy {
    fn wide(self) -> f64;
}

impl Number for f32 {
    fn wide(self) -> f64 {
        f64::from(self)
    }
}

impl Number for f64 {
    fn wide(self) -> f64 {
        self
    }
}

impl Number for i32 {
    fn wide(self) -> f64 {
        f64::from(self)
    }
}

#[derive(Clone, Copy)]
struct View<'a> {
    values: Numbers<'a>,
    keys: &'a [u64],
    shape: &'a [u64],
}

/// A read tensor of a value, or what the value holds instead.
fn view(value: &Value) -> Result<View<'_>, &'static str> {
    match value.held {
        Held::Float32 => Ok(View { values: Numbers::F32(&value.float32.values), keys: &value.float32.keys, shape: &value.float32.shape }),
        Held::Float64 => Ok(View { values: Numbers::F64(&value.float64.values), keys: &value.float64.keys, shape: &value.float64.shape }),
        Held::Int32 => Ok(View { values: Numbers::I32(&value.int32.values), keys: &value.int32.keys, shape: &value.int32.shape }),
        Held::Bytes => Err("a bytes tensor"),
        Held::Nothing => Err("no tensor"),
    }
}

/// How a features tensor lays out its rows.
#[derive(Clone, Copy, Debug)]
struct Layout {
    rows: usize,
    columns: usize,
    sparse: bool,
}

fn to_usize(n: u64) -> usize {
    usize::try_from(n).unwrap_or(usize::MAX)
}

/// A record's place in its source, for messages: its number and the byte offset of its header.
#[derive(Clone, Copy, Debug)]
struct At<'a> {
    source: &'a str,
    record: u64,
    offset: u64,
}

impl At<'_> {
    fn here(&self) -> Location {
        Location::record(self.source, self.record)
    }

    /// A problem with the contents of the record.
    fn bad_record(&self, detail: String) -> CoreError {
        CoreError::Malformed { at: self.here(), detail: format!("{detail} (the record starts at byte offset {})", self.offset) }
    }
}

/// Reads RecordIO-protobuf records as rows (label first when the records have one).
#[derive(Debug)]
pub struct RecordIoReader {
    framer: Framer,
    /// The current record's payload, when it spans chunks.
    payload: Vec<u8>,
    /// Payload bytes of the current record so far.
    record_bytes: usize,
    /// Reused between records.
    record: Record,
    rows: Rows,
    threads: usize,
    /// One record buffer per extra thread, kept between chunks.
    scratch: Vec<Record>,
}

/// What turns records into rows: the width rule and what the records so far fixed.
#[derive(Clone, Debug)]
struct Rows {
    rule: Width,
    width: Option<usize>,
    first: Option<Location>,
    /// Rows of the current source.
    count: u64,
    labels: Vec<f64>,
    keys: Vec<u64>,
}

/// A record whose payload lies whole in the current chunk, and where it is.
struct Whole<'a> {
    payload: &'a [u8],
    record: u64,
    offset: u64,
}

/// Below this many whole records in a chunk they are decoded on the calling thread.
const PARALLEL_MIN_RECORDS: usize = 4096;

/// Decodes one complete payload into rows (nothing is appended on error).
fn decode_record(record: &mut Record, rows: &mut Rows, payload: &[u8], at: At<'_>, out: &mut Vec<f64>) -> Result<(), CoreError> {
    if at.record.is_multiple_of(CANCEL_EVERY) {
        crate::cancel::check()?;
    }
    if let Err(e) = record.read(payload) {
        return Err(at.bad_record(format!("the payload is not a valid protobuf Record: {e}")));
    }
    let before = out.len();
    let result = rows.of(record, &at, out);
    if result.is_err() {
        out.truncate(before);
    }
    result
}

/// Decodes `records` in order into `out`, stopping at the first error.
fn decode_in_order(record: &mut Record, rows: &mut Rows, source: &str, records: &[Whole<'_>], out: &mut Vec<f64>) -> Result<(), CoreError> {
    for whole in records {
        decode_record(record, rows, whole.payload, At { source, record: whole.record, offset: whole.offset }, out)?;
    }
    Ok(())
}

impl RecordIoReader {
    pub fn new(rule: Width) -> Self {
        Self::with_threads(rule, 1)
    }

    /// A reader that decodes the records of a large chunk on up to `threads` threads, in order.
    pub fn with_threads(rule: Width, threads: usize) -> Self {
        RecordIoReader {
            framer: Framer::new(),
            payload: Vec::new(),
            record_bytes: 0,
            record: Record::default(),
            rows: Rows {
                rule,
                width: match rule {
                    Width::Exactly(w) => Some(w),
                    _ => None,
                },
                first: None,
                count: 0,
                labels: Vec::new(),
                keys: Vec::new(),
            },
            threads: threads.max(1),
            scratch: Vec::new(),
        }
    }

    /// Decodes the whole records of a chunk, in order: on several threads
    /// once the first record fixed the width (each thread a contiguous run,
    /// appended in order, so the rows are the serial ones), else here.
    fn decode_whole(&mut self, records: &[Whole<'_>], out: &mut Vec<f64>) -> Result<(), CoreError> {
        let source = self.framer.source.as_str();
        if self.threads == 1 || records.len() < PARALLEL_MIN_RECORDS || self.rows.first.is_none() {
            return decode_in_order(&mut self.record, &mut self.rows, source, records, out);
        }
        let per = records.len().div_ceil(self.threads);
        let (head, tail) = records.split_at(per);
        let parts: Vec<&[Whole<'_>]> = tail.chunks(per).collect();
        self.scratch.resize_with(parts.len(), Record::default);
        let rows = &self.rows;
        let (first, rest) = std::thread::scope(|scope| {
            let handles: Vec<_> = parts
                .iter()
                .zip(self.scratch.iter_mut())
                .map(|(part, record)| {
                    let mut rows = Rows { count: 0, ..rows.clone() };
                    scope.spawn(move || {
                        let mut values = Vec::new();
                        let result = decode_in_order(record, &mut rows, source, part, &mut values);
                        (result, rows.count, values)
                    })
                })
                .collect();
            let mut own = Rows { count: 0, ..rows.clone() };
            let first = decode_in_order(&mut self.record, &mut own, source, head, out).map(|()| own.count);
            (first, handles.into_iter().map(|h| h.join().expect("record decoding thread panicked")).collect::<Vec<_>>())
        });
        self.rows.count += first?;
        for (result, count, values) in rest {
            out.extend_from_slice(&values);
            result?;
            self.rows.count += count;
        }
        Ok(())
    }
}

impl Rows {
    fn training(&self) -> bool {
        !matches!(self.rule, Width::FeaturesOrLabelled(_))
    }

    fn of(&mut self, record: &Record, at: &At<'_>, out: &mut Vec<f64>) -> Result<(), CoreError> {
        let features = match &record.features {
            Some(value) => {
                view(value).map_err(|held| at.bad_record(format!("features[\"values\"] holds {held}; features are read from a {READ_TYPES}")))?
            }
            None => return Err(missing_features(record, at)),
        };
        let label = match &record.label {
            Some(value) => {
                Some(view(value).map_err(|held| at.bad_record(format!("label[\"values\"] holds {held}; labels are read from a {READ_TYPES}")))?)
            }
            None => None,
        };
        if label.is_none() && self.training() {
            return Err(at.bad_record(
                "the record has no label[\"values\"]; training records need label[\"values\"] with one value per row \
                 (write_numpy_to_dense_tensor and write_spmatrix_to_sparse_tensor write it when given labels)"
                    .into(),
            ));
        }
        let layout = self.layout(features, at)?;
        let width = self.settle(layout.columns, label.is_some(), at)?;
        if layout.rows > MAX_RECORD_VALUES || layout.rows.saturating_mul(width) > MAX_RECORD_VALUES {
            return Err(at.bad_record(format!(
                "its shape describes {} rows of {width} values, more than {MAX_RECORD_VALUES} values in one record; write a row (or a few) per record",
                layout.rows
            )));
        }
        self.labels.clear();
        if let Some(label) = label {
            self.read_labels(label, layout.rows, at)?;
        }
        if layout.sparse {
            self.check_keys(features, layout, at)?;
        }
        let labels = label.map(|_| &self.labels[..]);
        let before = out.len();
        let emitted = if layout.sparse {
            match features.values {
                Numbers::F32(v) => emit_sparse(v, features.keys, layout, labels, out),
                Numbers::F64(v) => emit_sparse(v, features.keys, layout, labels, out),
                Numbers::I32(v) => emit_sparse(v, features.keys, layout, labels, out),
            }
        } else {
            match features.values {
                Numbers::F32(v) => emit_dense(v, layout, labels, out),
                Numbers::F64(v) => emit_dense(v, layout, labels, out),
                Numbers::I32(v) => emit_dense(v, layout, labels, out),
            }
        };
        if let Err((column, value)) = emitted {
            out.truncate(before);
            return Err(CoreError::NonFinite { at: at.here(), column, text: value.to_string() });
        }
        self.count += layout.rows as u64;
        Ok(())
    }

    /// Rows and columns of a features tensor from its shape (or the rule, for
    /// a sparse one without), checked against its values and keys.
    fn layout(&self, t: View<'_>, at: &At<'_>) -> Result<Layout, CoreError> {
        let values = t.values.len();
        let sparse = !t.keys.is_empty() || (values == 0 && !t.shape.is_empty());
        let (rows, columns) = match *t.shape {
            [] if sparse => match self.rule {
                Width::Exactly(w) => (1, w.saturating_sub(1)),
                Width::FeaturesOrLabelled(p) => (1, p),
                Width::Any => {
                    return Err(at.bad_record(
                        "features[\"values\"] is sparse (it has keys) but has no shape, so the number of features is unknown; \
                         set the feature_dim hyperparameter (or write the shape, as write_spmatrix_to_sparse_tensor does)"
                            .into(),
                    ));
                }
            },
            [] => (1, values),
            [columns] => (1, to_usize(columns)),
            [rows, columns] => (to_usize(rows), to_usize(columns)),
            _ => {
                return Err(at.bad_record(format!(
                    "features[\"values\"] has a shape of {} dimensions; rows are read from a shape [columns] or [rows, columns]",
                    t.shape.len()
                )));
            }
        };
        if sparse {
            if t.keys.len() != values {
                return Err(at.bad_record(format!(
                    "features[\"values\"] has {} keys but {values} values; a sparse tensor needs one value per key",
                    t.keys.len()
                )));
            }
        } else if rows.checked_mul(columns) != Some(values) {
            return Err(at.bad_record(format!(
                "features[\"values\"] has {values} values but its shape {:?} needs {}",
                t.shape,
                (rows as u128) * (columns as u128)
            )));
        }
        Ok(Layout { rows, columns, sparse })
    }

    /// Checks a record's width against the rule and the records before it
    /// (fixing the width on the first), before anything of that width is made.
    fn settle(&mut self, columns: usize, labelled: bool, at: &At<'_>) -> Result<usize, CoreError> {
        let got = columns.saturating_add(usize::from(labelled));
        match self.rule {
            Width::Any => match self.width {
                Some(expected) if expected != got => return Err(CoreError::RaggedRow { at: at.here(), expected, got }),
                Some(_) => {}
                None if got > MAX_COLUMNS => return Err(CoreError::TooManyColumns { at: at.here(), got, max: MAX_COLUMNS }),
                None => self.width = Some(got),
            },
            Width::Exactly(w) => {
                if got != w {
                    return Err(CoreError::DeclaredFeatureMismatch { at: at.here(), features: w.saturating_sub(1), got });
                }
                if w > MAX_COLUMNS {
                    return Err(CoreError::TooManyColumns { at: at.here(), got, max: MAX_COLUMNS });
                }
            }
            Width::FeaturesOrLabelled(p) => {
                if columns != p {
                    return Err(CoreError::FeatureCountMismatch { at: at.here(), features: p, got });
                }
                match self.width {
                    // The first record said whether records carry a label; the rest must agree.
                    Some(expected) if expected != got => return Err(CoreError::RaggedRow { at: at.here(), expected, got }),
                    Some(_) => {}
                    None => self.width = Some(got),
                }
            }
        }
        if self.first.is_none() {
            self.first = Some(at.here());
        }
        Ok(got)
    }

    /// The label tensor as one finite value per row, into `self.labels`.
    fn read_labels(&mut self, label: View<'_>, rows: usize, at: &At<'_>) -> Result<(), CoreError> {
        if !label.keys.is_empty() {
            return Err(at.bad_record("label[\"values\"] is sparse (it has keys); labels are read as a dense tensor, one value per row".into()));
        }
        if label.values.len() != rows {
            return Err(at.bad_record(format!(
                "label[\"values\"] has {} values but the record has {rows} row(s); {}records need label[\"values\"] with one value per row",
                label.values.len(),
                if self.training() { "training " } else { "labelled " }
            )));
        }
        match label.values {
            Numbers::F32(v) => self.labels.extend(v.iter().map(|&x| x.wide())),
            Numbers::F64(v) => self.labels.extend_from_slice(v),
            Numbers::I32(v) => self.labels.extend(v.iter().map(|&x| x.wide())),
        }
        if let Some(&bad) = self.labels.iter().find(|x| !x.is_finite()) {
            return Err(CoreError::NonFinite { at: at.here(), column: 1, text: bad.to_string() });
        }
        Ok(())
    }

    /// Sparse keys must each name a distinct cell of the shape.
    fn check_keys(&mut self, t: View<'_>, layout: Layout, at: &At<'_>) -> Result<(), CoreError> {
        // Bounded by MAX_RECORD_VALUES, so no overflow.
        let cells = (layout.rows * layout.columns) as u64;
        if let Some(&key) = t.keys.iter().find(|&&k| k >= cells) {
            return Err(at.bad_record(format!(
                "features[\"values\"] has key {key}, outside its {} row(s) of {} column(s) (keys count from 0)",
                layout.rows, layout.columns
            )));
        }
        if t.keys.windows(2).all(|pair| pair[0] < pair[1]) {
            return Ok(());
        }
        self.keys.clear();
        self.keys.extend_from_slice(t.keys);
        self.keys.sort_unstable();
        if let Some(pair) = self.keys.windows(2).find(|pair| pair[0] == pair[1]) {
            return Err(at.bad_record(format!("features[\"values\"] has key {} twice; each key names one column", pair[0])));
        }
        Ok(())
    }
}

/// The error for a record without `features["values"]`, naming the features it has.
fn missing_features(record: &Record, at: &At<'_>) -> CoreError {
    let named = record.other_names.join(", ");
    let has = match record.other_features {
        0 => "the record has no features".to_string(),
        n if n > record.other_names.len() => format!("the record's features are {named}, ... ({n} in all)"),
        _ => format!("the record's features are {named}"),
    };
    at.bad_record(format!("{has}, without features[\"values\"]; features are read from features[\"values\"], a {READ_TYPES}"))
}

/// Appends dense rows (label first when given); on a non-finite value, its
/// 1-based column and the value.
fn emit_dense<T: Number>(values: &[T], layout: Layout, labels: Option<&[f64]>, out: &mut Vec<f64>) -> Result<(), (usize, f64)> {
    let lead = usize::from(labels.is_some());
    out.reserve(layout.rows * (layout.columns + lead));
    if layout.columns == 0 {
        if let Some(labels) = labels {
            out.extend_from_slice(labels);
        }
        return Ok(());
    }
    for (r, row) in values.chunks_exact(layout.columns).enumerate() {
        if let Some(labels) = labels {
            out.push(labels[r]);
        }
        let start = out.len();
        out.extend(row.iter().map(|&x| x.wide()));
        if let Some(j) = out[start..].iter().position(|x| !x.is_finite()) {
            return Err((lead + j + 1, out[start + j]));
        }
    }
    Ok(())
}

/// Appends sparse rows (zeros where no key is): keys checked to be in range and distinct.
fn emit_sparse<T: Number>(values: &[T], keys: &[u64], layout: Layout, labels: Option<&[f64]>, out: &mut Vec<f64>) -> Result<(), (usize, f64)> {
    let lead = usize::from(labels.is_some());
    let width = layout.columns + lead;
    let base = out.len();
    out.resize(base + layout.rows * width, 0.0);
    if let Some(labels) = labels {
        for (r, &label) in labels.iter().enumerate() {
            out[base + r * width] = label;
        }
    }
    for (&key, &value) in keys.iter().zip(values) {
        let key = key as usize;
        let (row, column) = (key / layout.columns, key % layout.columns);
        let x = value.wide();
        if !x.is_finite() {
            return Err((lead + column + 1, x));
        }
        out[base + row * width + lead + column] = x;
    }
    Ok(())
}

impl Decoder for RecordIoReader {
    fn begin_source(&mut self, name: &str) {
        self.framer.begin(name);
        self.rows.count = 0;
        self.payload.clear();
        self.record_bytes = 0;
    }

    fn push(&mut self, mut bytes: &[u8], out: &mut Vec<f64>) -> Result<(), CoreError> {
        // A payload wholly inside this chunk is decoded where it lies, after
        // the framing pass over the chunk; only one that spans chunks is
        // gathered in `self.payload`. Errors come in byte order: a framing
        // error is reported after the records before it are decoded.
        let mut held: Option<&[u8]> = None;
        let mut whole: Vec<Whole<'_>> = Vec::new();
        let framing = loop {
            let event = match self.framer.next(&mut bytes) {
                Ok(Some(event)) => event,
                Ok(None) => break Ok(()),
                Err(e) => break Err(e),
            };
            match event {
                FrameEvent::Start { .. } => {
                    self.payload.clear();
                    self.record_bytes = 0;
                }
                FrameEvent::Data(data) => {
                    self.record_bytes += data.len();
                    if self.record_bytes > MAX_RECORD_BYTES {
                        break Err(self
                            .framer
                            .bad_record(format!("the record is larger than {} MiB; records hold a row (or a few) each", MAX_RECORD_BYTES >> 20)));
                    }
                    if self.payload.is_empty() && held.is_none() {
                        held = Some(data);
                    } else {
                        if let Some(earlier) = held.take() {
                            self.payload.extend_from_slice(earlier);
                        }
                        self.payload.extend_from_slice(data);
                    }
                }
                FrameEvent::End => {
                    let (record, offset) = (self.framer.records, self.framer.record_offset);
                    if let Some(payload) = held.take() {
                        whole.push(Whole { payload, record, offset });
                        continue;
                    }
                    self.decode_whole(&whole, out)?;
                    whole.clear();
                    let payload = std::mem::take(&mut self.payload);
                    let at = At { source: &self.framer.source, record, offset };
                    let result = decode_record(&mut self.record, &mut self.rows, &payload, at, out);
                    self.payload = payload;
                    self.payload.clear();
                    result?;
                }
            }
        };
        self.decode_whole(&whole, out)?;
        framing?;
        if let Some(earlier) = held {
            self.payload.extend_from_slice(earlier);
        }
        Ok(())
    }

    fn end_source(&mut self, _out: &mut Vec<f64>) -> Result<SourceSummary, CoreError> {
        let result = self.framer.finish();
        let summary = SourceSummary { rows: self.rows.count, had_header: false, empty: self.framer.records == 0 };
        let name = std::mem::take(&mut self.framer.source);
        self.begin_source(&name);
        result.map(|()| summary)
    }

    fn width(&self) -> Option<usize> {
        self.rows.width
    }

    fn header(&self) -> Option<&[String]> {
        None
    }

    fn source_has_header(&self) -> bool {
        false
    }

    fn first_data_line(&self) -> Option<&Location> {
        self.rows.first.as_ref()
    }
}

/// Appends one RecordIO record whose `label` map holds each field as a
/// one-value float32 tensor (Linear Learner's response: `label["score"]`),
/// and no features.
pub fn write_label_record(out: &mut Vec<u8>, fields: &[(&str, f64)]) {
    use prost::encoding::{encode_key, encode_varint, encoded_len_varint, WireType};
    const DELIMITED: WireType = WireType::LengthDelimited;
    // Float32Tensor { values: [v] } (packed: key, length 4, four bytes).
    const TENSOR: u64 = 1 + 1 + 4;
    // Value { float32_tensor = 2 }.
    const VALUE: u64 = 1 + 1 + TENSOR;
    let entry = |name: &str| {
        let name = name.len() as u64;
        1 + encoded_len_varint(name) as u64 + name + 1 + 1 + VALUE
    };
    let length: u64 = fields.iter().map(|(name, _)| 1 + encoded_len_varint(entry(name)) as u64 + entry(name)).sum();
    debug_assert!(length <= u64::from(LENGTH_MASK), "a label record of {length} bytes");
    out.extend_from_slice(&RECORDIO_MAGIC);
    out.extend_from_slice(&(length as u32 & LENGTH_MASK).to_le_bytes());
    for (name, value) in fields {
        // label (field 2) map entry: key = 1, value = 2.
        encode_key(2, DELIMITED, out);
        encode_varint(entry(name), out);
        encode_key(1, DELIMITED, out);
        encode_varint(name.len() as u64, out);
        out.extend_from_slice(name.as_bytes());
        encode_key(2, DELIMITED, out);
        encode_varint(VALUE, out);
        encode_key(2, DELIMITED, out);
        encode_varint(TENSOR, out);
        encode_key(1, DELIMITED, out);
        encode_varint(4, out);
        out.extend_from_slice(&(*value as f32).to_le_bytes());
    }
    let padding = (length.next_multiple_of(4) - length) as usize;
    out.extend_from_slice(&[0u8; 3][..padding]);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decode::csv::CsvReader;
    use crate::decode::{ChannelReader, Declared, Format};

    // `Record` as protobuf's own derive reads and writes it (maps as
    // repeated entries): test data is written, and `write_label_record`'s
    // output read, with these, independently of the reader's messages.

    #[derive(Clone, PartialEq, Message)]
    struct WireBytes {
        #[prost(bytes = "vec", repeated, tag = "1")]
        value: Vec<Vec<u8>>,
        #[prost(string, optional, tag = "2")]
        content_type: Option<String>,
    }

    #[derive(Clone, PartialEq, prost::Oneof)]
    enum WireTensor {
        #[prost(message, tag = "2")]
        Float32(Float32Tensor),
        #[prost(message, tag = "3")]
        Float64(Float64Tensor),
        #[prost(message, tag = "7")]
        Int32(Int32Tensor),
        #[prost(message, tag = "9")]
        Bytes(WireBytes),
    }

    #[derive(Clone, PartialEq, Message)]
    struct WireValue {
        #[prost(oneof = "WireTensor", tags = "2, 3, 7, 9")]
        tensor: Option<WireTensor>,
    }

    #[derive(Clone, PartialEq, Message)]
    struct WireEntry {
        #[prost(string, tag = "1")]
        key: String,
        #[prost(message, optional, tag = "2")]
        value: Option<WireValue>,
    }

    #[derive(Clone, PartialEq, Message)]
    struct WireRecord {
        #[prost(message, repeated, tag = "1")]
        features: Vec<WireEntry>,
        #[prost(message, repeated, tag = "2")]
        label: Vec<WireEntry>,
        #[prost(string, optional, tag = "3")]
        uid: Option<String>,
    }

    fn fixture(name: &str) -> Vec<u8> {
        let path = format!("{}/tests/data/recordio/{name}", env!("CARGO_MANIFEST_DIR"));
        std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
    }

    type Decoded = (Vec<u64>, SourceSummary);

    /// Decodes one source in chunks of `chunk` bytes; values as bits.
    fn decode_in(bytes: &[u8], rule: Width, chunk: usize) -> Result<Decoded, CoreError> {
        let mut reader = RecordIoReader::new(rule);
        let mut out = Vec::new();
        reader.begin_source("data.pbr");
        for piece in bytes.chunks(chunk.max(1)) {
            reader.push(piece, &mut out)?;
        }
        let summary = reader.end_source(&mut out)?;
        Ok((bits(&out), summary))
    }

    /// Decodes whole and in several chunkings, which must all agree (rows or error).
    fn decode(bytes: &[u8], rule: Width) -> Result<Decoded, CoreError> {
        let whole = decode_in(bytes, rule, bytes.len());
        for chunk in [1, 3, 8, 13] {
            assert_eq!(decode_in(bytes, rule, chunk), whole, "chunk size {chunk}");
        }
        whole
    }

    fn bits(values: &[f64]) -> Vec<u64> {
        values.iter().map(|v| v.to_bits()).collect()
    }

    fn csv_bits(name: &str) -> Vec<u64> {
        let mut reader = CsvReader::new(Width::Any, 1);
        let mut out = Vec::new();
        reader.begin_source(name);
        reader.push(&fixture(name), &mut out).unwrap();
        reader.end_source(&mut out).unwrap();
        bits(&out)
    }

    fn tensor32(values: &[f32], keys: &[u64], shape: &[u64]) -> WireValue {
        let t = Float32Tensor { values: values.to_vec(), keys: keys.to_vec(), shape: shape.to_vec() };
        WireValue { tensor: Some(WireTensor::Float32(t)) }
    }

    fn tensor64(values: &[f64], keys: &[u64], shape: &[u64]) -> WireValue {
        let t = Float64Tensor { values: values.to_vec(), keys: keys.to_vec(), shape: shape.to_vec() };
        WireValue { tensor: Some(WireTensor::Float64(t)) }
    }

    fn entry(key: &str, value: WireValue) -> WireEntry {
        WireEntry { key: key.to_string(), value: Some(value) }
    }

    /// One RecordIO part holding `payload`.
    fn frame(out: &mut Vec<u8>, payload: &[u8], flag: u32) {
        out.extend_from_slice(&RECORDIO_MAGIC);
        out.extend_from_slice(&(payload.len() as u32 | flag << 29).to_le_bytes());
        out.extend_from_slice(payload);
        out.resize(out.len().next_multiple_of(4), 0);
    }

    fn record(features: Vec<WireEntry>, label: Vec<WireEntry>) -> Vec<u8> {
        let mut out = Vec::new();
        frame(&mut out, &WireRecord { features, label, uid: None }.encode_to_vec(), 0);
        out
    }

    /// A record of one dense float64 row, with a label when given.
    fn row(features: &[f64], label: Option<f64>) -> Vec<u8> {
        let label = label.map(|y| entry("values", tensor64(&[y], &[], &[]))).into_iter().collect();
        record(vec![entry("values", tensor64(features, &[], &[]))], label)
    }

    fn expect_err(result: Result<Decoded, CoreError>, code: &str, needles: &[&str]) -> CoreError {
        let err = result.expect_err("an error");
        assert_eq!(err.code(), code, "{err}");
        let text = err.to_string();
        for needle in needles {
            assert!(text.contains(needle), "{text}\n lacks: {needle}");
        }
        err
    }

    #[test]
    fn sdk_written_fixtures_read_bit_for_bit_as_their_csv() {
        for (name, rows) in [("dense_f64", 6), ("dense_f32", 5), ("dense_i32", 4), ("sparse_f64", 5), ("sparse_f32", 4)] {
            let (values, summary) = decode(&fixture(&format!("{name}.pbr")), Width::Any).unwrap();
            assert_eq!(values, csv_bits(&format!("{name}.csv")), "{name}");
            assert_eq!(summary, SourceSummary { rows, had_header: false, empty: false }, "{name}");
            // feature_dim and scoring with labels read the same rows.
            let width = values.len() / rows as usize;
            assert_eq!(decode(&fixture(&format!("{name}.pbr")), Width::Exactly(width)).unwrap().0, values, "{name}");
            assert_eq!(decode(&fixture(&format!("{name}.pbr")), Width::FeaturesOrLabelled(width - 1)).unwrap().0, values, "{name}");
        }
    }

    /// Decodes with `threads` threads in chunks of `chunk` bytes.
    fn decode_threads(bytes: &[u8], rule: Width, threads: usize, chunk: usize) -> Result<Decoded, CoreError> {
        let mut reader = RecordIoReader::with_threads(rule, threads);
        let mut out = Vec::new();
        reader.begin_source("data.pbr");
        for piece in bytes.chunks(chunk) {
            reader.push(piece, &mut out)?;
        }
        let summary = reader.end_source(&mut out)?;
        Ok((bits(&out), summary))
    }

    #[test]
    fn records_decoded_on_several_threads_are_the_serial_rows_and_errors() {
        let mut rng = crate::testing::Lcg::new(41);
        let mut stream = Vec::new();
        for i in 0..20_000 {
            let features: Vec<f64> = (0..4).map(|_| rng.normal()).collect();
            stream.extend(row(&features, Some(i as f64)));
        }
        let serial = decode_threads(&stream, Width::Any, 1, stream.len()).unwrap();
        assert_eq!(serial.1.rows, 20_000);
        for (threads, chunk) in [(2, stream.len()), (3, stream.len()), (3, 100_003), (4, 1 << 16)] {
            assert_eq!(decode_threads(&stream, Width::Any, threads, chunk).unwrap(), serial, "{threads} threads, chunks of {chunk}");
        }
        // A bad payload deep in the stream, then bad framing further on: the
        // first in byte order is reported, with the same record, on any thread count.
        let bad_at = 15_000;
        let mut broken = Vec::new();
        for (i, record) in stream.chunks(stream.len() / 20_000).enumerate() {
            if i == bad_at {
                frame(&mut broken, &[0xFF; 12], 0);
            } else if i == 18_000 {
                broken.extend_from_slice(b"junk");
            } else {
                broken.extend_from_slice(record);
            }
        }
        let serial = decode_threads(&broken, Width::Any, 1, broken.len()).unwrap_err();
        assert!(serial.to_string().starts_with("data.pbr record 15001: the payload is not a valid protobuf Record"), "{serial}");
        for threads in [2, 3] {
            assert_eq!(decode_threads(&broken, Width::Any, threads, broken.len()).unwrap_err(), serial);
        }
    }

    #[test]
    fn unlabelled_records_are_scored_but_not_trained_on() {
        let bytes = fixture("dense_unlabelled.pbr");
        let (values, summary) = decode(&bytes, Width::FeaturesOrLabelled(2)).unwrap();
        assert_eq!(values, csv_bits("dense_unlabelled.csv"));
        assert_eq!(summary.rows, 3);
        for rule in [Width::Any, Width::Exactly(3)] {
            expect_err(decode(&bytes, rule), "MALFORMED_RECORD", &["data.pbr record 1:", "training records need label[\"values\"]"]);
        }
    }

    #[test]
    fn the_reader_keeps_its_width_and_first_record_across_sources() {
        let mut reader = RecordIoReader::new(Width::Any);
        let mut out = Vec::new();
        reader.begin_source("empty.pbr");
        reader.push(b"", &mut out).unwrap();
        assert_eq!(reader.end_source(&mut out).unwrap(), SourceSummary { rows: 0, had_header: false, empty: true });
        assert_eq!((reader.width(), reader.first_data_line()), (None, None));
        reader.begin_source("a.pbr");
        reader.push(&[row(&[1.0, 2.0], Some(3.0)), row(&[4.0, 5.0], Some(6.0))].concat(), &mut out).unwrap();
        assert_eq!(reader.end_source(&mut out).unwrap().rows, 2);
        assert_eq!(out, [3.0, 1.0, 2.0, 6.0, 4.0, 5.0]);
        assert_eq!(reader.width(), Some(3));
        assert_eq!(reader.first_data_line(), Some(&Location::record("a.pbr", 1)));
        assert_eq!((reader.header(), reader.source_has_header()), (None, false));
        reader.begin_source("b.pbr");
        let err = reader.push(&row(&[1.0], Some(2.0)), &mut out).unwrap_err();
        assert_eq!(err, CoreError::RaggedRow { at: Location::record("b.pbr", 1), expected: 3, got: 2 });
    }

    #[test]
    fn the_channel_reader_sniffs_recordio_and_unwraps_pipe_records() {
        let read = |reader: &mut ChannelReader, bytes: &[u8]| {
            let mut out = Vec::new();
            reader.begin_source("pipe");
            for piece in bytes.chunks(1) {
                reader.push(piece, &mut out).unwrap();
            }
            let summary = reader.end_source(&mut out).unwrap();
            (bits(&out), summary.rows)
        };
        let mut reader = ChannelReader::new(Width::Any, 1, Declared::default());
        assert_eq!(read(&mut reader, &fixture("sparse_f64.pbr")), (csv_bits("sparse_f64.csv"), 5));
        assert_eq!(reader.format(), Some(Format::RecordIo));
        // Pipe mode with RecordWrapperType=RecordIO: each object is one record.
        let mut wrapped = Vec::new();
        frame(&mut wrapped, b"1,2\n3,4\n", 0);
        frame(&mut wrapped, b"5,6", 0);
        let mut reader = ChannelReader::new(Width::Any, 1, Declared::default());
        reader.unwrap_records();
        assert_eq!(read(&mut reader, &wrapped), (bits(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0]), 3));
        let mut wrapped = Vec::new();
        frame(&mut wrapped, &fixture("dense_f64.pbr"), 0);
        let mut reader = ChannelReader::new(Width::Any, 1, Declared::default());
        reader.unwrap_records();
        assert_eq!(read(&mut reader, &wrapped), (csv_bits("dense_f64.csv"), 6));
    }

    /// Each event's kind and, for `Data`, its bytes.
    type Events = Vec<(String, Vec<u8>)>;

    /// Events with consecutive `Data` joined, and the largest `Data` piece seen.
    fn frame_events(bytes: &[u8], chunk: usize) -> (Events, usize, Result<(), CoreError>) {
        let mut frames = Frames::new();
        frames.begin_source("stream");
        let mut events: Events = Vec::new();
        let mut largest = 0;
        let mut each = |event: FrameEvent<'_>| {
            match event {
                FrameEvent::Start { record, offset } => events.push((format!("start {record} at {offset}"), Vec::new())),
                FrameEvent::Data(data) => {
                    largest = largest.max(data.len());
                    assert!(!data.is_empty());
                    match events.last_mut() {
                        Some((kind, joined)) if kind == "data" => joined.extend_from_slice(data),
                        _ => events.push(("data".into(), data.to_vec())),
                    }
                }
                FrameEvent::End => events.push(("end".into(), Vec::new())),
            }
            Ok(())
        };
        for piece in bytes.chunks(chunk) {
            if let Err(e) = frames.push(piece, &mut each) {
                return (events, largest, Err(e));
            }
        }
        let end = frames.end_source();
        (events, largest, end)
    }

    #[test]
    fn frames_stream_records_byte_by_byte_with_numbers_and_offsets() {
        let mut bytes = Vec::new();
        frame(&mut bytes, b"", 0); // 8 bytes
        frame(&mut bytes, b"a", 0); // 12
        frame(&mut bytes, b"bcdef", 0); // 16
        frame(&mut bytes, b"ghij", 0); // 12
        frame(&mut bytes, b"kl", 1); // 12
        frame(&mut bytes, b"mno", 2); // 12
        frame(&mut bytes, b"p", 3); // 12
        frame(&mut bytes, b"qrstuvw", 0);
        let expected: Events = [
            ("start 1 at 0", &b""[..]),
            ("end", b""),
            ("start 2 at 8", b""),
            ("data", b"a"),
            ("end", b""),
            ("start 3 at 20", b""),
            ("data", b"bcdef"),
            ("end", b""),
            ("start 4 at 36", b""),
            ("data", b"ghij"),
            ("end", b""),
            ("start 5 at 48", b""),
            ("data", b"kl\x0A\x23\xD7\xCEmno\x0A\x23\xD7\xCEp"),
            ("end", b""),
            ("start 6 at 84", b""),
            ("data", b"qrstuvw"),
            ("end", b""),
        ]
        .iter()
        .map(|(kind, data)| (kind.to_string(), data.to_vec()))
        .collect();
        for chunk in [1, 2, 5, bytes.len()] {
            let (events, largest, end) = frame_events(&bytes, chunk);
            assert_eq!(events, expected, "chunk size {chunk}");
            assert!(largest <= chunk.max(4), "chunk size {chunk}: a Data piece of {largest} bytes");
            end.unwrap();
        }
        // Cut anywhere inside a record: every event before it, then the cut named.
        let (events, _, end) = frame_events(&bytes[..30], 1);
        assert_eq!(events[..6], expected[..6]);
        assert_eq!(events[6..], [("data".to_string(), b"bc".to_vec())]);
        let err = end.unwrap_err();
        assert_eq!(err.code(), "MALFORMED_RECORD");
        assert!(err.to_string().starts_with("stream record 3: truncated: the data ends 3 bytes short of the end of a 5-byte payload"), "{err}");
        assert!(err.to_string().contains("byte offset 20"), "{err}");
    }

    #[test]
    fn a_large_record_passes_through_frames_in_pieces() {
        let payload: Vec<u8> = (0..(3 << 20) + 3).map(|i| (i % 251) as u8).collect();
        let mut bytes = Vec::new();
        frame(&mut bytes, &payload, 0);
        let mut frames = Frames::default();
        frames.begin_source("object");
        let (mut seen, mut pieces) = (0usize, 0usize);
        for piece in bytes.chunks(4096) {
            frames
                .push(piece, &mut |event| {
                    if let FrameEvent::Data(data) = event {
                        assert!(data.len() <= 4096);
                        assert_eq!(data, &payload[seen..seen + data.len()]);
                        seen += data.len();
                        pieces += 1;
                    }
                    Ok(())
                })
                .unwrap();
        }
        frames.end_source().unwrap();
        assert_eq!(seen, payload.len());
        assert!(pieces > 700, "{pieces}");
    }

    #[test]
    fn errors_from_the_callback_stop_the_frames() {
        let mut bytes = Vec::new();
        frame(&mut bytes, b"abc", 0);
        frame(&mut bytes, b"def", 0);
        let mut frames = Frames::new();
        frames.begin_source("s");
        let mut ends = 0;
        let err = frames
            .push(&bytes, &mut |event| match event {
                FrameEvent::End => {
                    ends += 1;
                    Err(CoreError::Terminated)
                }
                _ => Ok(()),
            })
            .unwrap_err();
        assert_eq!((err, ends), (CoreError::Terminated, 1));
    }

    #[test]
    fn multipart_records_rejoin_with_the_magic_bytes_between_parts() {
        // A float32 whose bytes are the magic: a writer splits the record there.
        let magic_value = f32::from_le_bytes(RECORDIO_MAGIC);
        let payload = WireRecord {
            features: vec![entry("values", tensor32(&[1.5, magic_value, 2.5, magic_value, -3.0], &[], &[]))],
            label: vec![entry("values", tensor32(&[7.0], &[], &[]))],
            uid: Some("multipart".into()),
        }
        .encode_to_vec();
        let cuts: Vec<usize> = payload.windows(4).enumerate().filter(|(_, w)| *w == RECORDIO_MAGIC).map(|(i, _)| i).collect();
        assert_eq!(cuts.len(), 2);
        let mut bytes = row(&[0.0; 5], Some(0.0));
        frame(&mut bytes, &payload[..cuts[0]], 1);
        frame(&mut bytes, &payload[cuts[0] + 4..cuts[1]], 2);
        frame(&mut bytes, &payload[cuts[1] + 4..], 3);
        bytes.extend_from_slice(&row(&[1.0; 5], Some(1.0)));
        let (values, summary) = decode(&bytes, Width::Any).unwrap();
        let middle = [7.0, 1.5, f64::from(magic_value), 2.5, f64::from(magic_value), -3.0];
        assert_eq!(values, bits(&[&[0.0; 6][..], &middle, &[1.0; 6]].concat()));
        assert_eq!(summary.rows, 3);
    }

    #[test]
    fn framing_errors_name_the_record_and_the_bytes() {
        let good = row(&[1.0], Some(2.0));
        // Where the second record starts.
        let second = format!("byte offset {}", good.len());
        let mut bad_magic = good.clone();
        bad_magic.extend_from_slice(b"1,2,3\n4,5,6\n");
        expect_err(
            decode(&bad_magic, Width::Any),
            "MALFORMED_RECORD",
            &["data.pbr record 2:", &format!("at {second} but found 31 2C 32 2C"), "not RecordIO-protobuf"],
        );
        let mut flag = good.clone();
        frame(&mut flag, b"abcd", 5);
        expect_err(decode(&flag, Width::Any), "MALFORMED_RECORD", &["record 2:", &format!("{second} has part flag 5")]);
        let mut orphan = good.clone();
        frame(&mut orphan, b"abcd", 3);
        expect_err(decode(&orphan, Width::Any), "MALFORMED_RECORD", &["record 2:", "last part", "without its first part"]);
        let mut unfinished = good.clone();
        frame(&mut unfinished, b"abcd", 1);
        frame(&mut unfinished, b"efgh", 2);
        expect_err(decode(&unfinished, Width::Any), "MALFORMED_RECORD", &["record 2:", "truncated", "after part 2", &second]);
        unfinished.extend_from_slice(&good);
        expect_err(
            decode(&unfinished, Width::Any),
            "MALFORMED_RECORD",
            &["record 2:", &format!("a new record begins at byte offset {}", good.len() + 24), &format!("began at {second}")],
        );
    }

    /// Where each record of a stream begins, and where the stream ends.
    fn boundaries(bytes: &[u8]) -> Vec<usize> {
        let mut at = vec![0];
        let mut pos = 0;
        while pos < bytes.len() {
            let word = u32::from_le_bytes(bytes[pos + 4..pos + 8].try_into().unwrap());
            pos += 8 + ((word & LENGTH_MASK) as usize).next_multiple_of(4);
            at.push(pos);
        }
        at
    }

    #[test]
    fn a_source_cut_at_any_byte_is_truncated_at_its_record() {
        let bytes = fixture("dense_f64.pbr");
        let starts = boundaries(&bytes);
        assert_eq!(starts.len(), 7);
        for cut in 0..=bytes.len() {
            let result = decode(&bytes[..cut], Width::Any);
            match starts.iter().position(|&s| s == cut) {
                Some(records) => assert_eq!(result.unwrap().1.rows, records as u64, "cut at {cut}"),
                None => {
                    let record = starts.iter().filter(|&&s| s < cut).count();
                    let at = starts[record - 1];
                    let needles = [format!("data.pbr record {record}: truncated"), format!("the record starts at byte offset {at}")];
                    expect_err(result, "MALFORMED_RECORD", &[&needles[0], &needles[1]]);
                }
            }
        }
    }

    #[test]
    fn payloads_that_are_not_protobuf_are_malformed_records() {
        let mut bytes = row(&[1.0], Some(2.0));
        // features (field 1, length-delimited) with a length varint that never ends.
        frame(&mut bytes, &[0x0A, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF], 0);
        expect_err(
            decode(&bytes, Width::Any),
            "MALFORMED_RECORD",
            &[
                "data.pbr record 2:",
                "not a valid protobuf Record",
                "invalid varint",
                &format!("starts at byte offset {}", row(&[1.0], Some(2.0)).len()),
            ],
        );
        let mut bytes = Vec::new();
        frame(&mut bytes, b"1,2,3\n", 0);
        expect_err(decode(&bytes, Width::Any), "MALFORMED_RECORD", &["record 1:", "not a valid protobuf Record"]);
    }

    #[test]
    fn only_numeric_tensors_under_values_are_read() {
        let label = || vec![entry("values", tensor64(&[1.0], &[], &[]))];
        let bytes_tensor =
            WireValue { tensor: Some(WireTensor::Bytes(WireBytes { value: vec![b"1,2".to_vec()], content_type: Some("text/csv".into()) })) };
        let cases: [(Vec<u8>, &[&str]); 7] = [
            (record(vec![entry("values", bytes_tensor.clone())], label()), &["features[\"values\"] holds a bytes tensor", READ_TYPES]),
            (record(vec![entry("values", WireValue { tensor: None })], label()), &["holds no tensor"]),
            (
                record(vec![entry("x", tensor64(&[1.0], &[], &[])), entry("y", tensor64(&[1.0], &[], &[]))], label()),
                &["features are \"x\", \"y\", without features[\"values\"]"],
            ),
            (record(vec![], label()), &["the record has no features, without features[\"values\"]"]),
            (
                record((0..7).map(|i| entry(&format!("x{i}"), tensor64(&[1.0], &[], &[]))).collect(), label()),
                &["features are \"x0\", \"x1\", \"x2\", \"x3\", \"x4\", ... (7 in all), without"],
            ),
            (record(vec![WireEntry { key: "values".into(), value: None }], label()), &["features[\"values\"] holds no tensor"]),
            (
                record(vec![entry("values", tensor64(&[1.0], &[], &[]))], vec![entry("values", bytes_tensor)]),
                &["label[\"values\"] holds a bytes tensor"],
            ),
        ];
        for (bytes, needles) in cases {
            let mut needles = needles.to_vec();
            needles.push("data.pbr record 1:");
            expect_err(decode(&bytes, Width::Any), "MALFORMED_RECORD", &needles);
        }
        // Linear Learner's own response shape is not training data.
        let mut scores = Vec::new();
        write_label_record(&mut scores, &[("score", 1.0)]);
        expect_err(decode(&scores, Width::Any), "MALFORMED_RECORD", &["the record has no features"]);
    }

    #[test]
    fn a_repeated_map_key_takes_its_last_value_and_unpacked_values_read() {
        let bytes = record(
            vec![entry("values", tensor64(&[1.0, 2.0], &[], &[])), entry("values", tensor64(&[3.0, 4.0, 5.0], &[], &[]))],
            vec![entry("values", tensor64(&[9.0], &[], &[])), entry("other", tensor64(&[8.0], &[], &[]))],
        );
        assert_eq!(decode(&bytes, Width::Any).unwrap().0, bits(&[9.0, 3.0, 4.0, 5.0]));

        #[derive(Clone, PartialEq, Message)]
        struct UnpackedTensor {
            #[prost(int32, repeated, packed = "false", tag = "1")]
            values: Vec<i32>,
        }
        #[derive(Clone, PartialEq, Message)]
        struct UnpackedValue {
            #[prost(message, optional, tag = "7")]
            int32_tensor: Option<UnpackedTensor>,
        }
        #[derive(Clone, PartialEq, Message)]
        struct UnpackedEntry {
            #[prost(string, tag = "1")]
            key: String,
            #[prost(message, optional, tag = "2")]
            value: Option<UnpackedValue>,
        }
        #[derive(Clone, PartialEq, Message)]
        struct UnpackedRecord {
            #[prost(message, repeated, tag = "1")]
            features: Vec<UnpackedEntry>,
            #[prost(message, repeated, tag = "2")]
            label: Vec<UnpackedEntry>,
        }
        let value = |values: &[i32]| Some(UnpackedValue { int32_tensor: Some(UnpackedTensor { values: values.to_vec() }) });
        let unpacked = UnpackedRecord {
            features: vec![UnpackedEntry { key: "values".into(), value: value(&[-4, 5]) }],
            label: vec![UnpackedEntry { key: "values".into(), value: value(&[6]) }],
        };
        let mut bytes = Vec::new();
        frame(&mut bytes, &unpacked.encode_to_vec(), 0);
        assert_eq!(decode(&bytes, Width::Any).unwrap().0, bits(&[6.0, -4.0, 5.0]));
    }

    #[test]
    fn values_merge_as_protobuf_merges_them() {
        // One entry written in pieces: its fields merge, and of a oneof the last one read holds.
        let merged = |pieces: &[WireValue]| {
            let mut body = Vec::new();
            for value in pieces {
                body.extend_from_slice(&WireEntry { key: "values".into(), value: Some(value.clone()) }.encode_to_vec());
            }
            let mut payload = Vec::new();
            prost::encoding::encode_key(1, WireType::LengthDelimited, &mut payload);
            prost::encoding::encode_varint(body.len() as u64, &mut payload);
            payload.extend_from_slice(&body);
            payload
                .extend_from_slice(&WireRecord { label: vec![entry("values", tensor64(&[9.0], &[], &[]))], ..WireRecord::default() }.encode_to_vec());
            let mut bytes = Vec::new();
            frame(&mut bytes, &payload, 0);
            decode(&bytes, Width::Any).map(|(values, _)| values)
        };
        let f32s = |v: &[f32]| tensor32(v, &[], &[]);
        let f64s = |v: &[f64]| tensor64(v, &[], &[]);
        assert_eq!(merged(&[f64s(&[1.0, 2.0]), f64s(&[3.0])]), Ok(bits(&[9.0, 1.0, 2.0, 3.0])));
        assert_eq!(merged(&[f32s(&[1.0]), f64s(&[2.0, 2.5])]), Ok(bits(&[9.0, 2.0, 2.5])));
        assert_eq!(merged(&[f32s(&[1.0]), f64s(&[2.0]), f32s(&[3.0, 4.0])]), Ok(bits(&[9.0, 3.0, 4.0])));
        // Buffers are reused from record to record: nothing of one shows in the next.
        let mut bytes = Vec::new();
        let mut expected = Vec::new();
        for (i, rows) in [3u64, 1, 2, 0, 2, 1, 3].into_iter().enumerate() {
            let x: Vec<f64> = (0..2 * rows).map(|j| (10 * i) as f64 + j as f64).collect();
            let y: Vec<f32> = (0..rows).map(|r| -(r as f32) - i as f32).collect();
            let features = match i % 3 {
                0 => tensor64(&x, &[], &[rows, 2]),
                1 => tensor32(&x.iter().map(|&v| v as f32).collect::<Vec<_>>(), &[], &[rows, 2]),
                _ => tensor64(&x, &(0..2 * rows).rev().collect::<Vec<_>>(), &[rows, 2]),
            };
            bytes.extend_from_slice(&record(vec![entry("values", features)], vec![entry("values", tensor32(&y, &[], &[]))]));
            for r in 0..rows as usize {
                let row = if i % 3 == 2 { [x[2 * rows as usize - 1 - 2 * r], x[2 * rows as usize - 2 - 2 * r]] } else { [x[2 * r], x[2 * r + 1]] };
                expected.extend_from_slice(&[f64::from(y[r]), row[0], row[1]]);
            }
        }
        assert_eq!(decode(&bytes, Width::Any).unwrap(), (bits(&expected), SourceSummary { rows: 12, had_header: false, empty: false }));
    }

    #[test]
    fn shapes_lay_out_several_rows_in_one_record() {
        let label = vec![entry("values", tensor32(&[10.0, 20.0], &[], &[]))];
        let dense = record(vec![entry("values", tensor64(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0], &[], &[2, 3]))], label.clone());
        let expected = bits(&[10.0, 1.0, 2.0, 3.0, 20.0, 4.0, 5.0, 6.0]);
        assert_eq!(decode(&dense, Width::Any).unwrap(), (expected, SourceSummary { rows: 2, had_header: false, empty: false }));
        let sparse = record(vec![entry("values", tensor32(&[7.0, 8.0], &[5, 1], &[2, 3]))], label.clone());
        assert_eq!(decode(&sparse, Width::Any).unwrap().0, bits(&[10.0, 0.0, 8.0, 0.0, 20.0, 0.0, 0.0, 7.0]));
        // A sparse record without values is all zeros.
        let zeros = record(vec![entry("values", tensor32(&[], &[], &[2, 2]))], label.clone());
        assert_eq!(decode(&zeros, Width::Any).unwrap().0, bits(&[10.0, 0.0, 0.0, 20.0, 0.0, 0.0]));
        let one_label = record(vec![entry("values", tensor64(&[1.0; 6], &[], &[2, 3]))], vec![entry("values", tensor32(&[1.0], &[], &[]))]);
        expect_err(decode(&one_label, Width::Any), "MALFORMED_RECORD", &["label[\"values\"] has 1 values but the record has 2 row(s)"]);
        let short = record(vec![entry("values", tensor64(&[1.0; 5], &[], &[2, 3]))], label.clone());
        expect_err(decode(&short, Width::Any), "MALFORMED_RECORD", &["has 5 values but its shape [2, 3] needs 6"]);
        let cube = record(vec![entry("values", tensor64(&[1.0; 8], &[], &[2, 2, 2]))], label);
        expect_err(decode(&cube, Width::Any), "MALFORMED_RECORD", &["shape of 3 dimensions"]);
    }

    #[test]
    fn sparse_keys_must_be_distinct_in_range_and_one_per_value() {
        let label = || vec![entry("values", tensor64(&[1.0], &[], &[]))];
        let sparse = |values: &[f64], keys: &[u64]| record(vec![entry("values", tensor64(values, keys, &[4]))], label());
        assert_eq!(decode(&sparse(&[5.0, 6.0], &[3, 0]), Width::Any).unwrap().0, bits(&[1.0, 6.0, 0.0, 0.0, 5.0]));
        expect_err(decode(&sparse(&[5.0], &[4]), Width::Any), "MALFORMED_RECORD", &["key 4, outside its 1 row(s) of 4 column(s)"]);
        expect_err(decode(&sparse(&[5.0, 6.0, 7.0], &[2, 0, 2]), Width::Any), "MALFORMED_RECORD", &["key 2 twice"]);
        expect_err(decode(&sparse(&[5.0], &[1, 2]), Width::Any), "MALFORMED_RECORD", &["2 keys but 1 values"]);
        let label_keys = record(vec![entry("values", tensor64(&[1.0], &[], &[]))], vec![entry("values", tensor64(&[1.0], &[0], &[1]))]);
        expect_err(decode(&label_keys, Width::Any), "MALFORMED_RECORD", &["label[\"values\"] is sparse"]);
    }

    #[test]
    fn sparse_records_without_a_shape_need_feature_dim() {
        let bytes = record(vec![entry("values", tensor32(&[2.0], &[1], &[]))], vec![entry("values", tensor32(&[3.0], &[], &[]))]);
        expect_err(decode(&bytes, Width::Any), "MALFORMED_RECORD", &["record 1:", "no shape", "set the feature_dim hyperparameter"]);
        assert_eq!(decode(&bytes, Width::Exactly(4)).unwrap().0, bits(&[3.0, 0.0, 2.0, 0.0]));
        assert_eq!(decode(&bytes, Width::FeaturesOrLabelled(2)).unwrap().0, bits(&[3.0, 0.0, 2.0]));
        expect_err(decode(&bytes, Width::Exactly(2)), "MALFORMED_RECORD", &["key 1, outside its 1 row(s) of 1 column(s)"]);
    }

    #[test]
    fn huge_shapes_are_refused_before_anything_of_their_size_is_made() {
        let label = || vec![entry("values", tensor32(&[3.0], &[], &[]))];
        for columns in [10_000_000u64, 1 << 40, u64::MAX] {
            let bytes = record(vec![entry("values", tensor32(&[2.0], &[5], &[columns]))], label());
            let got = to_usize(columns).saturating_add(1);
            let err = CoreError::TooManyColumns { at: Location::record("data.pbr", 1), got, max: MAX_COLUMNS };
            assert_eq!(decode(&bytes, Width::Any), Err(err.clone()));
            assert_eq!(decode(&bytes, Width::Exactly(got)), Err(err));
            expect_err(decode(&bytes, Width::Exactly(5)), "FEATURE_DIM_MISMATCH", &["feature_dim=4"]);
            expect_err(decode(&bytes, Width::FeaturesOrLabelled(5)), "FEATURE_COUNT_MISMATCH", &["record 1 has"]);
        }
        let sparse = record(vec![entry("values", tensor32(&[], &[], &[MAX_COLUMNS as u64 - 1]))], label());
        assert_eq!(decode(&sparse, Width::Any).unwrap().0.len(), MAX_COLUMNS);
        for rows in [1u64 << 40, u64::MAX] {
            let zeros = record(vec![entry("values", tensor32(&[], &[], &[rows, 3]))], vec![]);
            expect_err(decode(&zeros, Width::FeaturesOrLabelled(3)), "MALFORMED_RECORD", &["rows of 3 values", "write a row (or a few) per record"]);
            let zeros = record(vec![entry("values", tensor32(&[], &[], &[rows, 0]))], vec![]);
            expect_err(decode(&zeros, Width::FeaturesOrLabelled(0)), "MALFORMED_RECORD", &["rows of 0 values"]);
        }
    }

    #[test]
    fn a_record_larger_than_the_limit_is_refused_as_it_arrives() {
        let mut reader = RecordIoReader::new(Width::Any);
        let mut out = Vec::new();
        reader.begin_source("big.pbr");
        let mut header = RECORDIO_MAGIC.to_vec();
        header.extend_from_slice(&((MAX_RECORD_BYTES as u32) + 1).to_le_bytes());
        reader.push(&header, &mut out).unwrap();
        let chunk = vec![0u8; 1 << 20];
        let mut outcome = Ok(());
        for _ in 0..=(MAX_RECORD_BYTES >> 20) {
            outcome = reader.push(&chunk, &mut out);
            if outcome.is_err() {
                break;
            }
        }
        let err = outcome.unwrap_err();
        assert_eq!(err.code(), "MALFORMED_RECORD");
        assert!(err.to_string().starts_with("big.pbr record 1: the record is larger than 64 MiB"), "{err}");
    }

    #[test]
    fn non_finite_values_name_their_column() {
        let label = || vec![entry("values", tensor32(&[1.0], &[], &[]))];
        let cases: [(Vec<u8>, usize, &str); 5] = [
            (row(&[1.0, f64::NAN, 3.0], Some(0.0)), 3, "NaN"),
            (row(&[1.0, 2.0, f64::INFINITY], Some(0.0)), 4, "inf"),
            (row(&[1.0, 2.0, 3.0], Some(f64::NEG_INFINITY)), 1, "-inf"),
            (record(vec![entry("values", tensor32(&[1.0, f32::NAN], &[0, 2], &[3]))], label()), 4, "NaN"),
            (record(vec![entry("values", tensor32(&[1.0, 2.0, 3.0], &[], &[]))], vec![entry("values", tensor32(&[f32::NAN], &[], &[]))]), 1, "NaN"),
        ];
        for (bad, column, text) in cases {
            // After a good record, whose rows stay.
            let bytes = [row(&[0.0; 3], Some(0.0)), bad].concat();
            let err = CoreError::NonFinite { at: Location::record("data.pbr", 2), column, text: text.to_string() };
            assert_eq!(decode(&bytes, Width::Any), Err(err));
            let mut reader = RecordIoReader::new(Width::Any);
            let mut out = Vec::new();
            reader.begin_source("data.pbr");
            assert!(reader.push(&bytes, &mut out).is_err());
            assert_eq!(out, [0.0; 4]);
        }
        // Scoring without a label counts features from column 1.
        let unlabelled = record(vec![entry("values", tensor64(&[1.0, f64::NAN], &[], &[]))], vec![]);
        let err = decode(&unlabelled, Width::FeaturesOrLabelled(2)).unwrap_err();
        assert!(err.to_string().starts_with("data.pbr record 1, column 2: 'NaN'"), "{err}");
    }

    #[test]
    fn widths_follow_the_rule() {
        let two = row(&[1.0, 2.0], Some(3.0));
        let three = row(&[1.0, 2.0, 3.0], Some(4.0));
        expect_err(decode(&two, Width::Exactly(4)), "FEATURE_DIM_MISMATCH", &["data.pbr record 1 has 3 columns but feature_dim=3 needs 4"]);
        expect_err(decode(&[two.clone(), three.clone()].concat(), Width::Any), "RAGGED_ROW", &["record 2 has 4 columns but earlier rows have 3"]);
        expect_err(decode(&three, Width::FeaturesOrLabelled(2)), "FEATURE_COUNT_MISMATCH", &["record 1 has 4 columns but the model has 2"]);
        let unlabelled = record(vec![entry("values", tensor64(&[5.0, 6.0], &[], &[]))], vec![]);
        let (values, _) = decode(&[unlabelled.clone(), unlabelled.clone()].concat(), Width::FeaturesOrLabelled(2)).unwrap();
        assert_eq!(values, bits(&[5.0, 6.0, 5.0, 6.0]));
        let (values, _) = decode(&[two.clone(), two.clone()].concat(), Width::FeaturesOrLabelled(2)).unwrap();
        assert_eq!(values, bits(&[3.0, 1.0, 2.0, 3.0, 1.0, 2.0]));
        expect_err(
            decode(&[unlabelled.clone(), two.clone()].concat(), Width::FeaturesOrLabelled(2)),
            "RAGGED_ROW",
            &["record 2 has 3 columns but earlier rows have 2"],
        );
        expect_err(
            decode(&[two, unlabelled].concat(), Width::FeaturesOrLabelled(2)),
            "RAGGED_ROW",
            &["record 2 has 2 columns but earlier rows have 3"],
        );
        let mut reader = RecordIoReader::new(Width::Exactly(4));
        assert_eq!(reader.width(), Some(4));
        let mut out = Vec::new();
        reader.begin_source("x");
        reader.push(&three, &mut out).unwrap();
        assert_eq!(reader.first_data_line(), Some(&Location::record("x", 1)));
    }

    /// Reads a record written by [`write_label_record`]: its label entries.
    fn label_entries(bytes: &[u8]) -> Vec<(String, Vec<f32>)> {
        assert_eq!(bytes[..4], RECORDIO_MAGIC);
        let length = u32::from_le_bytes(bytes[4..8].try_into().unwrap()) as usize;
        assert_eq!(bytes.len(), 8 + length.next_multiple_of(4));
        assert!(bytes[8 + length..].iter().all(|&b| b == 0));
        let record = WireRecord::decode(&bytes[8..8 + length]).unwrap();
        assert!(record.features.is_empty());
        record
            .label
            .into_iter()
            .map(|e| match e.value.and_then(|v| v.tensor) {
                Some(WireTensor::Float32(t)) => {
                    assert!(t.keys.is_empty() && t.shape.is_empty());
                    (e.key, t.values)
                }
                other => panic!("{other:?}"),
            })
            .collect()
    }

    #[test]
    fn label_records_round_trip_through_the_record_messages() {
        let fields = [("score", 1.0 / 3.0), ("standard_error", 0.25), ("confidence_lower", -12345.678), ("a", 0.0)];
        for n in 0..=fields.len() {
            let mut out = vec![0xAB];
            write_label_record(&mut out, &fields[..n]);
            let expected: Vec<(String, Vec<f32>)> = fields[..n].iter().map(|(k, v)| (k.to_string(), vec![*v as f32])).collect();
            assert_eq!(label_entries(&out[1..]), expected);
        }
        let long = "x".repeat(300);
        let mut out = Vec::new();
        write_label_record(&mut out, &[(&long, 2.0), ("score", -1.0)]);
        assert_eq!(label_entries(&out), vec![(long, vec![2.0]), ("score".to_string(), vec![-1.0])]);
        let (events, _, end) = frame_events(&[out.clone(), out].concat(), 1);
        assert_eq!(events.iter().filter(|(kind, _)| kind == "end").count(), 2);
        end.unwrap();
    }

    #[test]
    fn label_records_are_the_bytes_the_sdk_writes() {
        let expected = fixture("scores.pbr");
        let text = String::from_utf8(fixture("scores.csv")).unwrap();
        let mut out = Vec::new();
        for line in text.lines() {
            write_label_record(&mut out, &[("score", line.parse().unwrap())]);
        }
        assert_eq!(out, expected);
    }

    /// Every mutation of valid data gives rows or a coded error, never a panic,
    /// and the same in any chunking.
    #[test]
    fn mutated_data_never_panics() {
        let mut sources: Vec<(Vec<u8>, Width)> = Vec::new();
        for (name, width) in [("dense_f64", 5), ("dense_f32", 4), ("dense_i32", 6), ("sparse_f64", 8), ("sparse_f32", 10), ("scores", 1)] {
            let bytes = fixture(&format!("{name}.pbr"));
            sources.push((bytes.clone(), Width::Any));
            sources.push((bytes, Width::FeaturesOrLabelled(width - 1)));
        }
        let payload = WireRecord {
            features: vec![entry("values", tensor32(&[1.5, f32::from_le_bytes(RECORDIO_MAGIC), 2.5], &[4, 1, 7], &[3, 3]))],
            label: vec![entry("values", tensor64(&[1.0, 2.0, 3.0], &[], &[]))],
            uid: Some("x".into()),
        }
        .encode_to_vec();
        let cut = payload.windows(4).position(|w| w == RECORDIO_MAGIC).unwrap();
        let mut multipart = Vec::new();
        frame(&mut multipart, &payload[..cut], 1);
        frame(&mut multipart, &payload[cut + 4..], 3);
        assert_eq!(decode(&multipart, Width::Any).unwrap().1.rows, 3);
        sources.push((multipart, Width::Any));
        let mut rng = crate::testing::Lcg::new(5);
        let check = |bytes: &[u8], rule: Width| {
            let whole = decode_in(bytes, rule, bytes.len());
            if let Err(e) = &whole {
                assert!(crate::error::CODES.contains(&e.code()) && e.code() != "INTERNAL_ERROR", "{e}");
            }
            for chunk in [1, 5] {
                assert_eq!(decode_in(bytes, rule, chunk), whole, "chunk size {chunk}");
            }
        };
        for (bytes, rule) in &sources {
            for cut in 0..bytes.len() {
                check(&bytes[..cut], *rule);
            }
            for bit in 0..bytes.len() * 8 {
                let mut flipped = bytes.clone();
                flipped[bit / 8] ^= 1 << (bit % 8);
                check(&flipped, *rule);
            }
            for _ in 0..500 {
                let mut mangled = bytes.clone();
                for _ in 0..1 + rng.next_u64() % 4 {
                    let at = (rng.next_u64() % mangled.len() as u64) as usize;
                    mangled[at] = rng.next_u64() as u8;
                }
                check(&mangled, *rule);
            }
        }
    }
}
