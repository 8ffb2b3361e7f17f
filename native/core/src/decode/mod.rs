//! Input formats: bytes in, rows of f64 out (label first when the data has
//! one), with locations for errors. Each format is one [`Decoder`]; a
//! [`ChannelReader`] picks the decoder for a channel from its declared content
//! type or, when none was declared, from the first bytes of each source, and
//! holds the channel's width and names across sources. Training, scoring and
//! serving all read through it.

pub mod csv;
mod eisel_lemire;
pub mod libsvm;
pub mod parquet;
pub mod recordio;

use crate::error::{CoreError, Location};
use std::path::Path;

/// Which row widths a channel accepts.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Width {
    /// Whatever the first data row has (training without `feature_dim`).
    Any,
    Exactly(usize),
    /// `p` features, or `p + 1` columns with the label first (scoring).
    FeaturesOrLabelled(usize),
}

/// What one source (file, object or body) contained.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct SourceSummary {
    pub rows: u64,
    pub had_header: bool,
    /// No data and no header at all.
    pub empty: bool,
}

impl SourceSummary {
    fn add(&mut self, other: SourceSummary) {
        self.rows += other.rows;
        self.had_header |= other.had_header;
        self.empty &= other.empty;
    }
}

/// Most columns (label included) a row may have: the exact fit keeps several
/// square factors of this width in memory (`fit::solver_memory`: 136·k²
/// bytes, 2.3 GB at this limit), so wider data is refused before any is
/// kept; narrower data is checked against the container's memory. Sparse
/// formats are refused here on their declared width, before a row is built.
pub const MAX_COLUMNS: usize = 4096;

/// Refuses a header or schema that names two columns alike: features are matched by name.
pub fn check_distinct_names(source: &str, names: &[String]) -> Result<(), CoreError> {
    for (j, name) in names.iter().enumerate() {
        if let Some(first) = names[..j].iter().position(|other| other == name) {
            return Err(CoreError::HeaderMismatch {
                source: source.to_string(),
                detail: format!(
                    "columns {} and {} are both named '{name}'; give every column its own name (features are matched by name)",
                    first + 1,
                    j + 1
                ),
            });
        }
    }
    Ok(())
}

/// One input format. Sources arrive one after another, each in chunks of any
/// size; the width, once fixed by the first row (or the rule), holds for
/// every later row and source.
pub trait Decoder: Send {
    /// Names the next source in messages; positions restart.
    fn begin_source(&mut self, name: &str);
    /// Decodes every complete row in `bytes`, appending row-major values to `out`.
    fn push(&mut self, bytes: &[u8], out: &mut Vec<f64>) -> Result<(), CoreError>;
    /// Ends the current source: a row still open is completed, or an error if it cannot be.
    fn end_source(&mut self, out: &mut Vec<f64>) -> Result<SourceSummary, CoreError>;
    /// Values per row, once fixed.
    fn width(&self) -> Option<usize>;
    /// Column names (label first when labelled) from the first source that had them.
    fn header(&self) -> Option<&[String]>;
    /// Whether the current source named its columns.
    fn source_has_header(&self) -> bool;
    /// Where the row that fixed the width was.
    fn first_data_line(&self) -> Option<&Location>;
    /// The width rows will have once every source was seen, for a format that
    /// only learns it at the end (libsvm without `feature_dim`); `None` for the rest.
    fn surveyed_width(&self) -> Option<usize> {
        None
    }
    /// Whether this decoder must see every source once before it can give rows.
    fn needs_survey(&self) -> bool {
        false
    }
    /// Reads a whole file by path (formats that need random access, Parquet),
    /// handing rows to `sink` a batch at a time.
    fn read_file(&mut self, path: &Path, _sink: &mut RowSink) -> Result<SourceSummary, CoreError> {
        Err(CoreError::Internal(format!("{} is streamed, not read by path", path.display())))
    }
}

/// Rows read by path, a batch at a time.
pub struct Batch<'a> {
    /// Row-major values, label first when labelled.
    pub values: &'a [f64],
    /// Values per row.
    pub width: usize,
    /// Column names (label first when labelled), when the file names them.
    pub names: Option<&'a [String]>,
}

/// Takes the batches of a file read by path.
pub type RowSink<'a> = dyn FnMut(Batch<'_>) -> Result<(), CoreError> + 'a;

/// The formats a channel or body can be in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Csv,
    Libsvm,
    RecordIo,
    Parquet,
}

impl Format {
    /// The content type users declare for it.
    pub fn media_type(self) -> &'static str {
        match self {
            Format::Csv => "text/csv",
            Format::Libsvm => "text/libsvm",
            Format::RecordIo => "application/x-recordio-protobuf",
            Format::Parquet => "application/x-parquet",
        }
    }

    /// What its bytes look like, for messages.
    pub fn described(self) -> &'static str {
        match self {
            Format::Csv => "CSV text",
            Format::Libsvm => "libsvm text",
            Format::RecordIo => "RecordIO-protobuf",
            Format::Parquet => "Parquet",
        }
    }

    pub fn from_name(name: &str) -> Option<Format> {
        match name {
            "csv" => Some(Format::Csv),
            "libsvm" => Some(Format::Libsvm),
            "recordio-protobuf" => Some(Format::RecordIo),
            "parquet" => Some(Format::Parquet),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Format::Csv => "csv",
            Format::Libsvm => "libsvm",
            Format::RecordIo => "recordio-protobuf",
            Format::Parquet => "parquet",
        }
    }
}

/// What the first bytes of a source say it is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Sniffed {
    Gzip,
    Format(Format),
    /// Text whose first line reads as CSV and as libsvm alike (a lone number).
    Text,
}

impl Sniffed {
    pub fn name(self) -> &'static str {
        match self {
            Sniffed::Gzip => "gzip",
            Sniffed::Format(format) => format.name(),
            Sniffed::Text => "text",
        }
    }
}

/// Little-endian 0xCED7230A, the first bytes of every RecordIO record.
pub const RECORDIO_MAGIC: [u8; 4] = [0x0A, 0x23, 0xD7, 0xCE];
const PARQUET_MAGIC: &[u8] = b"PAR1";
const GZIP_MAGIC: &[u8] = &[0x1F, 0x8B];
/// Text is classified on its first non-blank line, looked for this far.
const SNIFF_TEXT_BYTES: usize = 1 << 16;

/// The format of a source from its first bytes, or `None` when more bytes are
/// needed (`complete`: there are no more).
pub fn sniff(head: &[u8], complete: bool) -> Option<Sniffed> {
    for (magic, found) in
        [(&RECORDIO_MAGIC[..], Sniffed::Format(Format::RecordIo)), (PARQUET_MAGIC, Sniffed::Format(Format::Parquet)), (GZIP_MAGIC, Sniffed::Gzip)]
    {
        if head.starts_with(magic) {
            return Some(found);
        }
        if !complete && magic.starts_with(head) {
            return None;
        }
    }
    // Text: the first non-blank line decides, once it is complete (or as far
    // as it goes when the source ends or the line runs past the sniff window).
    let window = &head[..head.len().min(SNIFF_TEXT_BYTES)];
    let settled = complete || head.len() >= SNIFF_TEXT_BYTES;
    let mut rest = window;
    loop {
        let (line, complete_line) = match memchr::memchr(b'\n', rest) {
            Some(end) => (&rest[..end], true),
            None => (rest, false),
        };
        if !complete_line && !settled {
            return None;
        }
        if !line.iter().all(u8::is_ascii_whitespace) {
            return Some(sniff_text_line(line));
        }
        if !complete_line {
            return Some(Sniffed::Format(Format::Csv));
        }
        rest = &rest[line.len() + 1..];
    }
}

/// CSV when the line has a comma (or quotes), libsvm when a token after the
/// first is `index:value`, else either.
fn sniff_text_line(line: &[u8]) -> Sniffed {
    if line.contains(&b',') || line.contains(&b'"') {
        return Sniffed::Format(Format::Csv);
    }
    let mut tokens = line.split(|b| b.is_ascii_whitespace()).filter(|t| !t.is_empty());
    tokens.next();
    match tokens.next() {
        Some(token) if token.contains(&b':') => Sniffed::Format(Format::Libsvm),
        Some(_) => Sniffed::Format(Format::Csv),
        None => Sniffed::Text,
    }
}

/// How a channel or body was declared.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Declared {
    /// From the content type; `None` sniffs each source.
    pub format: Option<Format>,
    /// CSV `header=present|absent`; `None` decides from the first line.
    pub header: Option<bool>,
    /// libsvm indices start at 0 instead of 1.
    pub zero_based: bool,
    /// Parquet: the name of the column holding the label, when not the first.
    pub label_column: Option<String>,
}

fn decoder_for(format: Format, rule: Width, threads: usize, declared: &Declared) -> Box<dyn Decoder> {
    match format {
        Format::Csv => Box::new(csv::CsvReader::with_header(rule, threads, declared.header)),
        Format::Libsvm => Box::new(libsvm::LibsvmReader::new(rule, declared.zero_based)),
        Format::RecordIo => Box::new(recordio::RecordIoReader::with_threads(rule, threads)),
        Format::Parquet => Box::new(parquet::ParquetReader::new(rule, declared.label_column.clone())),
    }
}

/// A channel's sources, whatever their format: the first source fixes the
/// format (declared or sniffed), and every later one must be in it too.
pub struct ChannelReader {
    rule: Width,
    threads: usize,
    declared: Declared,
    decoder: Option<Box<dyn Decoder>>,
    format: Option<Format>,
    source: String,
    /// First bytes of the current source, until its format is known.
    head: Vec<u8>,
    sniffed: bool,
    /// Sources are streams of RecordIO frames, each frame one object (Pipe
    /// mode's RecordWrapperType=RecordIO): each payload is read as a source.
    wrapped: Option<recordio::Frames>,
    /// The current wrapped source, summed over its objects.
    summary: SourceSummary,
}

impl ChannelReader {
    pub fn new(rule: Width, threads: usize, declared: Declared) -> Self {
        ChannelReader {
            rule,
            threads,
            declared,
            decoder: None,
            format: None,
            source: String::new(),
            head: Vec::new(),
            sniffed: false,
            wrapped: None,
            summary: SourceSummary::default(),
        }
    }

    /// Reads every later source as RecordIO frames holding one object each.
    pub fn unwrap_records(&mut self) {
        self.wrapped = Some(recordio::Frames::new());
    }

    /// The channel's format once its first source was sniffed.
    pub fn format(&self) -> Option<Format> {
        self.format
    }

    fn decoder(&self) -> Option<&dyn Decoder> {
        self.decoder.as_deref()
    }

    /// Checks the sniffed format of a source against the declared one and the
    /// channel's, and makes the channel's decoder on the first source.
    fn choose(&mut self, found: Sniffed) -> Result<(), CoreError> {
        let format = match (found, self.declared.format) {
            (Sniffed::Text, Some(declared @ (Format::Csv | Format::Libsvm))) => declared,
            (Sniffed::Text, _) => self.format.unwrap_or(Format::Csv),
            (Sniffed::Format(found), Some(declared)) if found != declared => {
                return Err(CoreError::FormatMismatch {
                    source: self.source.clone(),
                    detail: format!(
                        "the channel's ContentType is {} but the bytes are {}; fix the ContentType (or leave it out to detect the format)",
                        declared.media_type(),
                        found.described()
                    ),
                });
            }
            (Sniffed::Format(found), _) => found,
            // Files and pipes are inflated before they get here; a request body
            // or an object inside a RecordIO-wrapped pipe is not.
            (Sniffed::Gzip, _) => {
                return Err(CoreError::UnsupportedFormat(format!(
                    "{} is gzip-compressed where compressed data is not read (a request body, or an object inside a RecordIO-wrapped pipe); send it uncompressed",
                    self.source
                )));
            }
        };
        match self.format {
            Some(known) if known != format => Err(CoreError::FormatMismatch {
                source: self.source.clone(),
                detail: format!(
                    "its bytes are {} but the channel's first source was {}; put one format in a channel",
                    format.described(),
                    known.described()
                ),
            }),
            Some(_) => Ok(()),
            None => {
                self.format = Some(format);
                self.decoder = Some(decoder_for(format, self.rule, self.threads, &self.declared));
                Ok(())
            }
        }
    }

    fn inner_begin(&mut self, name: &str) {
        self.source = name.to_string();
        self.head.clear();
        self.sniffed = false;
    }

    fn inner_push(&mut self, bytes: &[u8], out: &mut Vec<f64>) -> Result<(), CoreError> {
        if self.sniffed {
            return self.active()?.push(bytes, out);
        }
        self.head.extend_from_slice(bytes);
        match sniff(&self.head, false) {
            None => Ok(()),
            Some(found) => self.release_head(found, out),
        }
    }

    fn release_head(&mut self, found: Sniffed, out: &mut Vec<f64>) -> Result<(), CoreError> {
        self.choose(found)?;
        if self.format == Some(Format::Parquet) {
            return Err(CoreError::UnsupportedFormat(format!(
                "{} is Parquet, which is read from files (File or FastFile mode) because its index is at the end; \
                 set the channel's TrainingInputMode to File or FastFile, or send CSV or RecordIO-protobuf",
                self.source
            )));
        }
        self.sniffed = true;
        let head = std::mem::take(&mut self.head);
        let name = self.source.clone();
        let decoder = self.active()?;
        decoder.begin_source(&name);
        decoder.push(&head, out)
    }

    fn inner_end(&mut self, out: &mut Vec<f64>) -> Result<SourceSummary, CoreError> {
        if !self.sniffed {
            // Nothing but blanks: no format to check, nothing to read.
            if self.head.iter().all(u8::is_ascii_whitespace) {
                return Ok(SourceSummary { empty: true, ..SourceSummary::default() });
            }
            let found = sniff(&self.head, true).expect("complete bytes always sniff");
            self.release_head(found, out)?;
        }
        self.sniffed = false;
        self.active()?.end_source(out)
    }

    fn active(&mut self) -> Result<&mut Box<dyn Decoder>, CoreError> {
        self.decoder.as_mut().ok_or_else(|| CoreError::Internal("no decoder before the first source was sniffed".into()))
    }

    /// Reads a file that needs random access (Parquet) by path, rows to `sink`.
    pub fn read_file(&mut self, path: &Path, name: &str, sink: &mut RowSink) -> Result<SourceSummary, CoreError> {
        self.inner_begin(name);
        self.choose(Sniffed::Format(Format::Parquet))?;
        let decoder = self.active()?;
        decoder.begin_source(name);
        decoder.read_file(path, sink)
    }
}

impl Decoder for ChannelReader {
    fn begin_source(&mut self, name: &str) {
        self.summary = SourceSummary { empty: true, ..SourceSummary::default() };
        if let Some(frames) = self.wrapped.as_mut() {
            self.source = name.to_string();
            frames.begin_source(name);
            return;
        }
        self.inner_begin(name);
    }

    fn push(&mut self, bytes: &[u8], out: &mut Vec<f64>) -> Result<(), CoreError> {
        let Some(mut frames) = self.wrapped.take() else {
            return self.inner_push(bytes, out);
        };
        let outer = self.source.clone();
        let result = frames.push(bytes, &mut |event| self.object_event(&outer, event, out));
        self.wrapped = Some(frames);
        result
    }

    fn end_source(&mut self, out: &mut Vec<f64>) -> Result<SourceSummary, CoreError> {
        match self.wrapped.as_mut() {
            Some(frames) => {
                frames.end_source()?;
                Ok(self.summary)
            }
            None => self.inner_end(out),
        }
    }

    fn width(&self) -> Option<usize> {
        self.decoder().and_then(|d| d.width())
    }

    fn header(&self) -> Option<&[String]> {
        self.decoder().and_then(|d| d.header())
    }

    fn source_has_header(&self) -> bool {
        self.decoder().is_some_and(|d| d.source_has_header())
    }

    fn first_data_line(&self) -> Option<&Location> {
        self.decoder().and_then(|d| d.first_data_line())
    }

    fn surveyed_width(&self) -> Option<usize> {
        self.decoder().and_then(|d| d.surveyed_width())
    }

    fn needs_survey(&self) -> bool {
        self.decoder().is_some_and(|d| d.needs_survey())
    }
}

impl ChannelReader {
    /// Each frame of a wrapped stream is one object, read as its own source.
    fn object_event(&mut self, outer: &str, event: recordio::FrameEvent<'_>, out: &mut Vec<f64>) -> Result<(), CoreError> {
        match event {
            recordio::FrameEvent::Start { record, .. } => {
                self.inner_begin(&format!("{outer} object {record}"));
                Ok(())
            }
            recordio::FrameEvent::Data(bytes) => self.inner_push(bytes, out),
            recordio::FrameEvent::End => {
                let summary = self.inner_end(out)?;
                self.summary.add(summary);
                Ok(())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_bytes_name_the_format() {
        let cases: [(&[u8], Sniffed); 8] = [
            (&[0x0A, 0x23, 0xD7, 0xCE, 0, 0], Sniffed::Format(Format::RecordIo)),
            (b"PAR1\x15\x04", Sniffed::Format(Format::Parquet)),
            (&[0x1F, 0x8B, 8, 0], Sniffed::Gzip),
            (b"y,x\n1,2\n", Sniffed::Format(Format::Csv)),
            (b"\n  \n1 1:2 3:4\n", Sniffed::Format(Format::Libsvm)),
            (b"1 2\n", Sniffed::Format(Format::Csv)),
            (b"7\n8\n", Sniffed::Text),
            (b"", Sniffed::Format(Format::Csv)),
        ];
        for (head, expected) in cases {
            assert_eq!(sniff(head, true), Some(expected), "{head:?}");
        }
    }

    #[test]
    fn a_head_cut_short_waits_for_more_bytes() {
        assert_eq!(sniff(&[0x0A, 0x23], false), None);
        assert_eq!(sniff(b"PA", false), None);
        assert_eq!(sniff(b"1 1:2", false), None, "the first line may go on");
        assert_eq!(sniff(b"1 1:2\n", false), Some(Sniffed::Format(Format::Libsvm)));
        assert_eq!(sniff(b"1,2", true), Some(Sniffed::Format(Format::Csv)));
    }

    fn read(declared: Declared, sources: &[(&str, &[u8])]) -> Result<(Vec<f64>, ChannelReader), CoreError> {
        let mut reader = ChannelReader::new(Width::Any, 1, declared);
        let mut out = Vec::new();
        for (name, bytes) in sources {
            reader.begin_source(name);
            for chunk in bytes.chunks(1) {
                reader.push(chunk, &mut out)?;
            }
            reader.end_source(&mut out)?;
        }
        Ok((out, reader))
    }

    #[test]
    fn a_declared_type_that_contradicts_the_bytes_names_both() {
        let declared = Declared { format: Some(Format::RecordIo), ..Declared::default() };
        let err = read(declared, &[("train/a.csv", b"1,2\n")]).err().unwrap();
        assert_eq!(err.code(), "CONTENT_TYPE_MISMATCH");
        let text = err.to_string();
        assert!(text.contains("train/a.csv") && text.contains("application/x-recordio-protobuf") && text.contains("CSV text"), "{text}");
    }

    #[test]
    fn one_format_per_channel() {
        let err = read(Declared::default(), &[("a.csv", b"1,2\n"), ("b.svm", b"1 1:2\n")]).err().unwrap();
        assert_eq!(err.code(), "CONTENT_TYPE_MISMATCH");
        assert!(err.to_string().contains("b.svm"), "{err}");
    }

    #[test]
    fn sniffed_csv_reads_byte_by_byte_as_csv() {
        let (out, reader) = read(Declared::default(), &[("a.csv", b"y,x\n1,2\n3,4\n"), ("b.csv", b"5,6")]).unwrap();
        assert_eq!(out, vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);
        assert_eq!(reader.header(), Some(&["y".to_string(), "x".to_string()][..]));
        assert_eq!(reader.format(), Some(Format::Csv));
    }

    /// A RecordIO frame around each payload, as Pipe mode's RecordWrapperType=RecordIO sends objects.
    fn framed(objects: &[&[u8]]) -> Vec<u8> {
        let mut out = Vec::new();
        for payload in objects {
            out.extend_from_slice(&RECORDIO_MAGIC);
            out.extend_from_slice(&(payload.len() as u32).to_le_bytes());
            out.extend_from_slice(payload);
            out.resize(out.len().next_multiple_of(4), 0);
        }
        out
    }

    #[test]
    fn wrapped_objects_are_sources_each_with_its_own_header() {
        let stream = framed(&[b"y,x\n1,2\n3,4\n", b"y,x\n5,6", b"", b"y,x\n7,8\n"]);
        let mut reader = ChannelReader::new(Width::Any, 1, Declared::default());
        reader.unwrap_records();
        let mut out = Vec::new();
        reader.begin_source("train_0");
        for chunk in stream.chunks(3) {
            reader.push(chunk, &mut out).unwrap();
        }
        let summary = reader.end_source(&mut out).unwrap();
        assert_eq!(out, vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0]);
        assert_eq!((summary.rows, summary.had_header, summary.empty), (4, true, false));
        assert_eq!(reader.header(), Some(&["y".to_string(), "x".to_string()][..]));
    }

    #[test]
    fn a_bad_row_in_a_wrapped_object_names_the_object() {
        let stream = framed(&[b"1,2\n", b"3,4\n5,x\n"]);
        let mut reader = ChannelReader::new(Width::Any, 1, Declared::default());
        reader.unwrap_records();
        reader.begin_source("train_0");
        let err = reader.push(&stream, &mut Vec::new()).unwrap_err();
        assert_eq!(err.code(), "NON_NUMERIC_VALUE");
        assert!(err.to_string().starts_with("train_0 object 2 line 2, column 2"), "{err}");
    }

    #[test]
    fn gzip_where_nothing_inflates_it_is_refused_with_the_fix() {
        let err = read(Declared::default(), &[("body", &[0x1F, 0x8B, 8, 0, 0, 0])]).err().unwrap();
        assert_eq!(err.code(), "UNSUPPORTED_CONTENT_TYPE");
        assert!(err.to_string().starts_with("body is gzip-compressed") && err.to_string().contains("uncompressed"), "{err}");
    }

    #[test]
    fn parquet_bytes_in_a_stream_are_refused_with_the_fix() {
        let err = read(Declared::default(), &[("pipe", b"PAR1\x15\x04....")]).err().unwrap();
        assert_eq!(err.code(), "UNSUPPORTED_CONTENT_TYPE");
        assert!(err.to_string().contains("File or FastFile"), "{err}");
    }
}
