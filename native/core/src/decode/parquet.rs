//! Parquet files to f64 rows. A Parquet file keeps its index (schema, row
//! groups, column chunks) at the end, so it is read by path, never streamed.
//! Every column must be a flat number: DOUBLE, FLOAT (widened exactly),
//! INT32 and INT64 (signed or unsigned, rounded to the nearest double as the
//! same integer written as CSV text would be) or BOOLEAN (0 and 1). Columns
//! may be nullable as long as no value is null. The label is the first column,
//! or the one named by `label_column`, which is moved first.
//!
//! Rows are read a row group at a time, and within one a slice of rows at a
//! time with every column in step, interleaved into one reused row-major
//! buffer: memory holds a slice and one page per column, whatever the size
//! of the file. Positions in messages are 1-based rows of the file and
//! 1-based columns in the file's own order.

use super::{check_distinct_names, sniff, Batch, Decoder, RowSink, Sniffed, SourceSummary, Width, MAX_COLUMNS};
use crate::error::{CoreError, Location};
use parquet::basic::{Compression, ConvertedType, LogicalType, Repetition, Type as PhysicalType};
use parquet::column::reader::{ColumnReader, ColumnReaderImpl};
use parquet::data_type::DataType;
use parquet::errors::ParquetError;
use parquet::file::metadata::ParquetMetaData;
use parquet::file::reader::{FileReader, SerializedFileReader};
use parquet::schema::types::ColumnDescriptor;
use std::fs::File;
use std::io::Read;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::Path;

/// Most rows in one slice of a row group.
const SLICE_ROWS: usize = 1 << 16;

/// Most values in one slice (8 MiB of f64): wide files take fewer rows at a time.
const SLICE_VALUES: usize = 1 << 20;

/// Bytes read from the start of a file to say what it is when it is not Parquet.
const HEAD_BYTES: u64 = 1 << 16;

/// Columns named in full in a message; the rest are counted.
const NAMES_SHOWN: usize = 20;

/// How a column's stored values become f64.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Double,
    Float,
    Int32,
    /// INT32 holding an unsigned integer (UINT_8, UINT_16, UINT_32).
    UInt32,
    Int64,
    /// INT64 holding an unsigned integer (UINT_64).
    UInt64,
    Boolean,
}

/// Where each column of a file goes.
struct Layout {
    /// The file's column for each position of a row (label first when labelled).
    order: Vec<usize>,
    /// Per column of the file, in its order.
    kinds: Vec<Kind>,
    max_def: Vec<i16>,
    /// The file's column names, in its order.
    names: Vec<String>,
}

/// What the parquet crate could not do.
enum Fault {
    /// A feature of the format it does not implement.
    Unsupported(String),
    /// Bytes it cannot decode (or a panic it was stopped in).
    Corrupt(String),
}

/// What went wrong reading one column's slice; positions are 0-based within the slice.
enum Problem {
    Fault(Fault),
    /// The column ended after this many of the slice's rows.
    Short(usize),
    Null(usize),
    NonFinite(usize, f64),
}

impl From<Fault> for Problem {
    fn from(fault: Fault) -> Self {
        Problem::Fault(fault)
    }
}

thread_local! {
    /// Set while this thread is inside [`guard`]: a panic there is an expected
    /// outcome on hostile bytes, reported as a coded error, not a crash to print.
    static GUARDED: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Wraps the process's panic hook once, so panics inside [`guard`] print
/// nothing (the coded error says what happened) and all others print as before.
fn quiet_guarded_panics() {
    static INSTALL: std::sync::Once = std::sync::Once::new();
    INSTALL.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if !GUARDED.with(std::cell::Cell::get) {
                previous(info);
            }
        }));
    });
}

/// Runs a call into the parquet crate, turning its errors, and any panic on
/// hostile bytes, into a [`Fault`].
fn guard<T>(call: impl FnOnce() -> parquet::errors::Result<T>) -> Result<T, Fault> {
    quiet_guarded_panics();
    let outer = GUARDED.with(|g| g.replace(true));
    let outcome = catch_unwind(AssertUnwindSafe(call));
    GUARDED.with(|g| g.set(outer));
    match outcome {
        Ok(Ok(value)) => Ok(value),
        Ok(Err(ParquetError::NYI(message))) => Err(Fault::Unsupported(message)),
        Ok(Err(error)) => Err(Fault::Corrupt(error.to_string())),
        Err(payload) => {
            let message = payload
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| payload.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "the decoder stopped".into());
            Err(Fault::Corrupt(message))
        }
    }
}

/// Reused buffers for one column's slice, one per stored type.
#[derive(Default)]
struct Scratch {
    levels: Vec<i16>,
    doubles: Vec<f64>,
    floats: Vec<f32>,
    ints: Vec<i32>,
    longs: Vec<i64>,
    bools: Vec<bool>,
}

pub struct ParquetReader {
    rule: Width,
    label_column: Option<String>,
    width: Option<usize>,
    /// The first file's source name and column names (label first when labelled).
    header: Option<(String, Vec<String>)>,
    /// The current file's column names (label first when labelled).
    names: Vec<String>,
    source: String,
    has_schema: bool,
    first_data_line: Option<Location>,
    /// Most rows per slice (tests make it small).
    slice_rows: usize,
    /// The current slice, row-major.
    values: Vec<f64>,
    scratch: Scratch,
}

impl ParquetReader {
    pub fn new(rule: Width, label_column: Option<String>) -> Self {
        ParquetReader {
            rule,
            label_column,
            width: match rule {
                Width::Exactly(w) => Some(w),
                _ => None,
            },
            header: None,
            names: Vec::new(),
            source: String::new(),
            has_schema: false,
            first_data_line: None,
            slice_rows: SLICE_ROWS,
            values: Vec::new(),
            scratch: Scratch::default(),
        }
    }

    fn at(&self, row: u64) -> Location {
        Location::row(&self.source, row)
    }

    /// Opens a file and reads its footer: what it is when not Parquet, a
    /// coded error when the footer cannot be read.
    fn open(&self, path: &Path) -> Result<Option<SerializedFileReader<File>>, CoreError> {
        let cannot = |e: std::io::Error| CoreError::Internal(format!("{} cannot be read: {e}", self.source));
        let file = File::open(path).map_err(cannot)?;
        let length = file.metadata().map_err(cannot)?.len();
        if length == 0 {
            return Ok(None);
        }
        let mut head = Vec::new();
        (&file).take(HEAD_BYTES).read_to_end(&mut head).map_err(cannot)?;
        if head.starts_with(b"PARE") {
            return Err(CoreError::UnsupportedFormat(format!(
                "{} is an encrypted Parquet file, which is not read; write it without encryption",
                self.source
            )));
        }
        if !head.starts_with(b"PAR1") {
            let found = match sniff(&head, true) {
                Some(Sniffed::Format(format)) => format.described(),
                Some(Sniffed::Gzip) => "gzip-compressed",
                Some(Sniffed::Text) | None => "text",
            };
            return Err(CoreError::FormatMismatch {
                source: self.source.clone(),
                detail: format!(
                    "it is read as Parquet (the channel's ContentType, or its first file) but its bytes are {found}, \
                     and Parquet files start with PAR1; put one format in a channel and declare it with the ContentType"
                ),
            });
        }
        match guard(|| SerializedFileReader::new(file)) {
            Ok(reader) => Ok(Some(reader)),
            Err(Fault::Unsupported(message)) => Err(CoreError::UnsupportedFormat(format!(
                "{}: its Parquet footer uses a feature that is not read ({message}); write the file again with default options",
                self.source
            ))),
            Err(Fault::Corrupt(message)) => Err(CoreError::Malformed {
                at: Location { source: self.source.clone(), unit: "byte", line: length },
                detail: format!(
                    "the Parquet footer (the schema and index at the end of the file) cannot be read ({message}); \
                     the file is truncated or corrupt, write it again"
                ),
            }),
        }
    }

    /// Checks the schema against the rule and the channel's earlier files,
    /// and says where each column goes.
    fn layout(&mut self, metadata: &ParquetMetaData) -> Result<Layout, CoreError> {
        let schema = metadata.file_metadata().schema_descr();
        let fields = schema.root_schema().get_fields();
        let count = fields.len();
        if count > MAX_COLUMNS && !matches!(self.rule, Width::FeaturesOrLabelled(_)) {
            return Err(CoreError::TooManyColumns { at: self.at(1), got: count, max: MAX_COLUMNS });
        }
        for (j, field) in fields.iter().enumerate() {
            let info = field.get_basic_info();
            if field.is_group() || (info.has_repetition() && info.repetition() == Repetition::REPEATED) {
                return Err(CoreError::UnsupportedFormat(format!(
                    "{}: column {} ('{}') is nested (a list, map or struct), which is not read; \
                     every column must be a single number per row: flatten it into numeric columns, or drop it",
                    self.source,
                    j + 1,
                    field.name()
                )));
            }
        }
        if schema.num_columns() != count {
            return Err(CoreError::Malformed {
                at: self.at(1),
                detail: format!("the schema has {count} fields but {} leaf columns; the file is corrupt", schema.num_columns()),
            });
        }
        let mut kinds = Vec::with_capacity(count);
        let mut max_def = Vec::with_capacity(count);
        for (j, column) in schema.columns().iter().enumerate() {
            kinds.push(kind(column).ok_or_else(|| {
                CoreError::UnsupportedFormat(format!(
                    "{}: column {} ('{}') is {}, which is not read; every column must be a number \
                     (float64, float32, an integer or a boolean): cast it to float64, or drop it",
                    self.source,
                    j + 1,
                    column.name(),
                    describe(column)
                ))
            })?);
            max_def.push(column.max_def_level());
        }
        let names: Vec<String> = fields.iter().map(|field| field.name().to_string()).collect();
        check_distinct_names(&self.source, &names)?;
        let label = self.label_position(&names)?;
        let order: Vec<usize> = match label {
            Some(l) => std::iter::once(l).chain((0..count).filter(|&j| j != l)).collect(),
            None => (0..count).collect(),
        };
        let ordered: Vec<String> = order.iter().map(|&j| names[j].clone()).collect();
        self.check_channel(&ordered)?;
        self.names = ordered;
        Ok(Layout { order, kinds, max_def, names })
    }

    /// The file column holding the label, or `None` when rows have none (scoring).
    fn label_position(&self, names: &[String]) -> Result<Option<usize>, CoreError> {
        let count = names.len();
        let named = self.label_column.as_ref().map(|label| (label, names.iter().position(|n| n == label)));
        match self.rule {
            Width::Any | Width::Exactly(_) => {
                if let Width::Exactly(w) = self.rule {
                    if count != w {
                        return Err(CoreError::DeclaredFeatureMismatch { at: self.at(1), features: w - 1, got: count });
                    }
                }
                match named {
                    None => Ok(Some(0)),
                    Some((_, Some(l))) => Ok(Some(l)),
                    Some((label, None)) => Err(CoreError::HeaderMismatch {
                        source: self.source.clone(),
                        detail: format!(
                            "it has no column named '{label}' (label_column); its columns are {}: name one of them, \
                             or leave label_column out to take the first column as the label",
                            listed(names)
                        ),
                    }),
                }
            }
            Width::FeaturesOrLabelled(p) => match named {
                Some((_, Some(l))) if count == p + 1 => Ok(Some(l)),
                Some((_, Some(_))) => Err(CoreError::FeatureCountMismatch { at: self.at(1), features: p, got: count }),
                _ if count == p + 1 => Ok(Some(0)),
                _ if count == p => Ok(None),
                _ => Err(CoreError::FeatureCountMismatch { at: self.at(1), features: p, got: count }),
            },
        }
    }

    /// The first file fixes the channel's width and names; the later ones
    /// must have the same (scoring matches names per file, so only the width).
    fn check_channel(&mut self, names: &[String]) -> Result<(), CoreError> {
        let Some((first, known)) = &self.header else {
            self.width = Some(names.len());
            self.header = Some((self.source.clone(), names.to_vec()));
            return Ok(());
        };
        let scoring = matches!(self.rule, Width::FeaturesOrLabelled(_));
        if known.len() != names.len() {
            return Err(CoreError::HeaderMismatch {
                source: self.source.clone(),
                detail: format!(
                    "it has {} columns but {first} has {}; every file of a channel needs the same columns{}",
                    names.len(),
                    known.len(),
                    if scoring { " (the label in all of them or in none)" } else { " in the same order" }
                ),
            });
        }
        if !scoring && known.as_slice() != names {
            return Err(CoreError::HeaderMismatch {
                source: self.source.clone(),
                detail: format!(
                    "its columns ({}) differ from the columns of {first} ({}); every file of a channel needs the same columns in the same order",
                    listed(names),
                    listed(known)
                ),
            });
        }
        Ok(())
    }

    /// Refuses compression codecs that are not compiled in, by name, before any row is read.
    fn check_codecs(&self, metadata: &ParquetMetaData, layout: &Layout) -> Result<(), CoreError> {
        for group in metadata.row_groups() {
            for (j, column) in group.columns().iter().enumerate() {
                if let codec @ (Compression::LZO | Compression::BROTLI(_)) = column.compression() {
                    let codec = match codec {
                        Compression::LZO => "LZO",
                        _ => "Brotli",
                    };
                    return Err(CoreError::UnsupportedFormat(format!(
                        "{}: column {} ('{}') is compressed with {codec}, which is not read; write the file with \
                         snappy (the usual default), zstd, gzip, lz4 or no compression",
                        self.source,
                        j + 1,
                        layout.names.get(j).map_or("?", String::as_str)
                    )));
                }
            }
        }
        Ok(())
    }

    /// Reads every row group in slices, each handed to `sink`; the rows read.
    fn read_rows(&mut self, reader: &SerializedFileReader<File>, layout: &Layout, sink: &mut RowSink) -> Result<u64, CoreError> {
        let width = layout.order.len();
        let slice = (SLICE_VALUES / width).clamp(1, self.slice_rows.max(1));
        let mut done_before: u64 = 0;
        for g in 0..reader.num_row_groups() {
            let group = guard(|| reader.get_row_group(g)).map_err(|fault| self.fault(done_before + 1, &format!("row group {}", g + 1), fault))?;
            let rows = usize::try_from(group.metadata().num_rows()).map_err(|_| CoreError::Malformed {
                at: self.at(done_before + 1),
                detail: format!("row group {} says it has {} rows; the file is corrupt", g + 1, group.metadata().num_rows()),
            })?;
            if rows == 0 {
                continue;
            }
            let mut columns = Vec::with_capacity(width);
            for j in 0..width {
                let column =
                    guard(|| group.get_column_reader(j)).map_err(|fault| self.fault(done_before + 1, &self.column_name(layout, j), fault))?;
                columns.push(column);
            }
            let mut done = 0;
            while done < rows {
                crate::cancel::check()?;
                let take = slice.min(rows - done);
                let first_row = done_before + done as u64 + 1;
                self.values.clear();
                self.values.resize(take * width, 0.0);
                for (position, &j) in layout.order.iter().enumerate() {
                    let outcome = read_column(
                        &mut columns[j],
                        layout.kinds[j],
                        layout.max_def[j],
                        take,
                        &mut self.scratch,
                        &mut self.values[position..],
                        width,
                    );
                    if let Err(problem) = outcome {
                        return Err(self.problem(first_row, layout, j, take, problem));
                    }
                }
                if self.first_data_line.is_none() {
                    self.first_data_line = Some(self.at(1));
                }
                sink(Batch { values: &self.values, width, names: Some(&self.names) })?;
                done += take;
            }
            done_before += rows as u64;
        }
        Ok(done_before)
    }

    fn column_name(&self, layout: &Layout, j: usize) -> String {
        format!("column {} ('{}')", j + 1, layout.names[j])
    }

    fn fault(&self, row: u64, what: &str, fault: Fault) -> CoreError {
        match fault {
            Fault::Unsupported(message) => CoreError::UnsupportedFormat(format!(
                "{} row {row}: {what} uses a Parquet feature that is not read ({message}); write the file again with default options",
                self.source
            )),
            Fault::Corrupt(message) => CoreError::Malformed {
                at: self.at(row),
                detail: format!("{what} cannot be decoded ({message}); the file is corrupt or truncated, write it again"),
            },
        }
    }

    /// The error for a problem in column `j` of the slice starting at `first_row`.
    fn problem(&self, first_row: u64, layout: &Layout, j: usize, take: usize, problem: Problem) -> CoreError {
        let column = j + 1;
        match problem {
            Problem::Fault(fault) => self.fault(first_row, &self.column_name(layout, j), fault),
            Problem::Short(got) => CoreError::Malformed {
                at: self.at(first_row + got as u64),
                detail: format!(
                    "{} ends {} row(s) before its row group does; the file is corrupt or truncated, write it again",
                    self.column_name(layout, j),
                    take - got
                ),
            },
            Problem::Null(i) => CoreError::MissingValue { at: self.at(first_row + i as u64), column },
            Problem::NonFinite(i, value) => CoreError::NonFinite { at: self.at(first_row + i as u64), column, text: value.to_string() },
        }
    }
}

/// Names for a message: the first few, then how many more.
fn listed(names: &[String]) -> String {
    let shown = names.iter().take(NAMES_SHOWN).map(String::as_str).collect::<Vec<_>>().join(", ");
    match names.len().checked_sub(NAMES_SHOWN) {
        Some(more) if more > 0 => format!("{shown} and {more} more"),
        _ => shown,
    }
}

/// How a flat column is read, or `None` when it does not hold plain numbers.
fn kind(column: &ColumnDescriptor) -> Option<Kind> {
    use ConvertedType as C;
    let logical = column.logical_type_ref();
    let converted = column.converted_type();
    let integer = |signed: Kind, unsigned: Kind| match (logical, converted) {
        (Some(LogicalType::Integer { is_signed, .. }), _) => Some(if *is_signed { signed } else { unsigned }),
        (Some(_), _) => None,
        (None, C::NONE | C::INT_8 | C::INT_16 | C::INT_32 | C::INT_64) => Some(signed),
        (None, C::UINT_8 | C::UINT_16 | C::UINT_32 | C::UINT_64) => Some(unsigned),
        (None, _) => None,
    };
    let plain = |kind: Kind| (logical.is_none() && converted == C::NONE).then_some(kind);
    match column.physical_type() {
        PhysicalType::DOUBLE => plain(Kind::Double),
        PhysicalType::FLOAT => plain(Kind::Float),
        PhysicalType::INT32 => integer(Kind::Int32, Kind::UInt32),
        PhysicalType::INT64 => integer(Kind::Int64, Kind::UInt64),
        PhysicalType::BOOLEAN => plain(Kind::Boolean),
        PhysicalType::INT96 | PhysicalType::BYTE_ARRAY | PhysicalType::FIXED_LEN_BYTE_ARRAY => None,
    }
}

/// A column type for a message, as its writer would call it.
fn describe(column: &ColumnDescriptor) -> String {
    use ConvertedType as C;
    let physical = column.physical_type();
    match (column.logical_type_ref(), column.converted_type()) {
        (Some(LogicalType::String | LogicalType::Enum | LogicalType::Json), _) | (None, C::UTF8 | C::ENUM | C::JSON) => {
            "text (a string column)".into()
        }
        (Some(LogicalType::Decimal { .. }), _) | (None, C::DECIMAL) => {
            format!("a decimal (precision {}, scale {})", column.type_precision(), column.type_scale())
        }
        (Some(LogicalType::Date), _) | (None, C::DATE) => "a date".into(),
        (Some(LogicalType::Time { .. }), _) | (None, C::TIME_MILLIS | C::TIME_MICROS) => "a time of day".into(),
        (Some(LogicalType::Timestamp { .. }), _) | (None, C::TIMESTAMP_MILLIS | C::TIMESTAMP_MICROS) => "a timestamp".into(),
        (Some(LogicalType::Float16), _) => "a float16".into(),
        (Some(LogicalType::Unknown), _) => "always null (no type)".into(),
        _ if physical == PhysicalType::INT96 => "an INT96 timestamp".into(),
        (Some(logical), _) => format!("{physical} ({logical:?})"),
        (None, C::NONE) => format!("{physical} (bytes)"),
        (None, converted) => format!("{physical} ({converted})"),
    }
}

/// Reads `take` rows of one column into every `width`-th value of `out`
/// (which starts at the column's position in a row).
fn read_column(
    column: &mut ColumnReader,
    kind: Kind,
    max_def: i16,
    take: usize,
    scratch: &mut Scratch,
    out: &mut [f64],
    width: usize,
) -> Result<(), Problem> {
    let levels = &mut scratch.levels;
    match (column, kind) {
        (ColumnReader::DoubleColumnReader(reader), _) => {
            fill(reader, take, max_def, levels, &mut scratch.doubles)?;
            scatter(&scratch.doubles, |v| v, out, width)
        }
        (ColumnReader::FloatColumnReader(reader), _) => {
            fill(reader, take, max_def, levels, &mut scratch.floats)?;
            scatter(&scratch.floats, f64::from, out, width)
        }
        (ColumnReader::Int32ColumnReader(reader), Kind::UInt32) => {
            fill(reader, take, max_def, levels, &mut scratch.ints)?;
            scatter(&scratch.ints, |v| f64::from(v as u32), out, width)
        }
        (ColumnReader::Int32ColumnReader(reader), _) => {
            fill(reader, take, max_def, levels, &mut scratch.ints)?;
            scatter(&scratch.ints, f64::from, out, width)
        }
        (ColumnReader::Int64ColumnReader(reader), Kind::UInt64) => {
            fill(reader, take, max_def, levels, &mut scratch.longs)?;
            scatter(&scratch.longs, |v| v as u64 as f64, out, width)
        }
        (ColumnReader::Int64ColumnReader(reader), _) => {
            fill(reader, take, max_def, levels, &mut scratch.longs)?;
            scatter(&scratch.longs, |v| v as f64, out, width)
        }
        (ColumnReader::BoolColumnReader(reader), _) => {
            fill(reader, take, max_def, levels, &mut scratch.bools)?;
            scatter(&scratch.bools, |v| f64::from(u8::from(v)), out, width)
        }
        _ => Err(Problem::Fault(Fault::Corrupt("its pages are not of the schema's type".into()))),
    }
}

/// Reads the next `take` rows of a flat column into `values`: an error at
/// the first null, or when the column ends first.
fn fill<T: DataType>(
    reader: &mut ColumnReaderImpl<T>,
    take: usize,
    max_def: i16,
    levels: &mut Vec<i16>,
    values: &mut Vec<T::T>,
) -> Result<(), Problem> {
    levels.clear();
    values.clear();
    let mut records = 0;
    while records < take {
        let (got, _, _) = guard(|| reader.read_records(take - records, Some(&mut *levels), None, &mut *values))?;
        if got == 0 {
            return Err(Problem::Short(records));
        }
        records += got;
    }
    if values.len() != take {
        let null = levels.iter().position(|&level| level < max_def);
        return Err(match null {
            Some(row) if max_def > 0 && values.len() < take => Problem::Null(row),
            _ => Problem::Fault(Fault::Corrupt(format!("{} values for {take} rows", values.len()))),
        });
    }
    Ok(())
}

/// Widens a column's values into every `width`-th slot of `out`; NaN and infinities are refused.
fn scatter<V: Copy>(values: &[V], widen: impl Fn(V) -> f64, out: &mut [f64], width: usize) -> Result<(), Problem> {
    for (i, (&value, slot)) in values.iter().zip(out.iter_mut().step_by(width)).enumerate() {
        let x = widen(value);
        if !x.is_finite() {
            return Err(Problem::NonFinite(i, x));
        }
        *slot = x;
    }
    Ok(())
}

impl Decoder for ParquetReader {
    fn begin_source(&mut self, name: &str) {
        self.source = name.to_string();
        self.names.clear();
        self.has_schema = false;
    }

    fn push(&mut self, _bytes: &[u8], _out: &mut Vec<f64>) -> Result<(), CoreError> {
        Err(CoreError::Internal(format!("{}: Parquet is read from files by path, never streamed", self.source)))
    }

    fn end_source(&mut self, _out: &mut Vec<f64>) -> Result<SourceSummary, CoreError> {
        Ok(SourceSummary { empty: true, ..SourceSummary::default() })
    }

    fn width(&self) -> Option<usize> {
        self.width
    }

    fn header(&self) -> Option<&[String]> {
        self.header.as_ref().map(|(_, names)| names.as_slice())
    }

    fn source_has_header(&self) -> bool {
        self.has_schema
    }

    fn first_data_line(&self) -> Option<&Location> {
        self.first_data_line.as_ref()
    }

    fn read_file(&mut self, path: &Path, sink: &mut RowSink) -> Result<SourceSummary, CoreError> {
        let Some(reader) = self.open(path)? else {
            // No bytes at all (a marker object such as _SUCCESS): nothing to read.
            return Ok(SourceSummary { empty: true, ..SourceSummary::default() });
        };
        let metadata = reader.metadata();
        let declared_rows = metadata.file_metadata().num_rows();
        if metadata.file_metadata().schema_descr().num_columns() == 0 {
            if declared_rows == 0 {
                return Ok(SourceSummary { empty: true, ..SourceSummary::default() });
            }
            return Err(CoreError::UnsupportedFormat(format!(
                "{} has {declared_rows} rows but no columns; write the label and the features as columns",
                self.source
            )));
        }
        let layout = self.layout(metadata)?;
        self.has_schema = true;
        self.check_codecs(metadata, &layout)?;
        let rows = self.read_rows(&reader, &layout, sink)?;
        Ok(SourceSummary { rows, had_header: true, empty: rows == 0 })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decode::csv::CsvReader;
    use std::path::PathBuf;

    fn fixture(name: &str) -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/parquet").join(name)
    }

    /// What one file gave: its rows, the rows of each batch, the names each batch carried.
    #[derive(Debug, Default)]
    struct FileRows {
        values: Vec<f64>,
        batches: Vec<usize>,
        names: Option<Vec<String>>,
        width: usize,
        summary: SourceSummary,
    }

    fn read_into(reader: &mut ParquetReader, path: &Path, name: &str) -> Result<FileRows, CoreError> {
        let mut read = FileRows::default();
        reader.begin_source(name);
        read.summary = reader.read_file(path, &mut |batch| {
            assert_eq!(batch.values.len() % batch.width, 0);
            read.values.extend_from_slice(batch.values);
            read.batches.push(batch.values.len() / batch.width);
            read.width = batch.width;
            read.names = batch.names.map(<[String]>::to_vec);
            Ok(())
        })?;
        Ok(read)
    }

    fn read(rule: Width, label: Option<&str>, file: &str) -> Result<FileRows, CoreError> {
        read_into(&mut ParquetReader::new(rule, label.map(String::from)), &fixture(file), file)
    }

    /// The rows and names of a fixture's CSV twin, read by the CSV decoder.
    fn csv(file: &str) -> (Vec<f64>, Vec<String>) {
        let bytes = std::fs::read(fixture(file)).unwrap();
        let mut reader = CsvReader::new(Width::Any, 1);
        let mut out = Vec::new();
        reader.begin_source(file);
        reader.push(&bytes, &mut out).unwrap();
        reader.end_source(&mut out).unwrap();
        (out, reader.header().unwrap().to_vec())
    }

    fn assert_same_bits(got: &[f64], expected: &[f64], what: &str) {
        assert_eq!(got.len(), expected.len(), "{what}: value count");
        for (i, (a, b)) in got.iter().zip(expected).enumerate() {
            assert_eq!(a.to_bits(), b.to_bits(), "{what}: value {i}: {a} vs {b}");
        }
    }

    fn assert_reads_like_csv(parquet: &str, label: Option<&str>, twin: &str) -> FileRows {
        let read = read(Width::Any, label, parquet).unwrap_or_else(|e| panic!("{parquet}: {e}"));
        let (values, names) = csv(twin);
        assert_same_bits(&read.values, &values, parquet);
        assert_eq!(read.names.as_deref(), Some(&names[..]), "{parquet}");
        assert_eq!(read.width, names.len(), "{parquet}");
        assert_eq!(read.summary, SourceSummary { rows: (values.len() / names.len()) as u64, had_header: true, empty: false });
        read
    }

    /// A scratch file that is removed when dropped.
    struct Scratchfile(PathBuf);

    impl Scratchfile {
        fn new(tag: &str, bytes: &[u8]) -> Self {
            let path = std::env::temp_dir().join(format!("linear-parquet-{}-{tag}", std::process::id()));
            std::fs::write(&path, bytes).unwrap();
            Scratchfile(path)
        }
    }

    impl Drop for Scratchfile {
        fn drop(&mut self) {
            let _ = std::fs::remove_file(&self.0);
        }
    }

    #[test]
    fn every_codec_decodes_to_the_rows_of_the_csv_twin() {
        // Their columns are nullable (OPTIONAL, as pyarrow writes them) without a null.
        for file in ["double_snappy.parquet", "double_zstd.parquet", "double_gzip.parquet", "double_lz4.parquet", "double_none.parquet"] {
            assert_reads_like_csv(file, None, "double.csv");
        }
    }

    #[test]
    fn every_numeric_type_widens_to_the_double_its_csv_text_gives() {
        assert_reads_like_csv("mixed_types.parquet", None, "mixed_types.csv");
    }

    #[test]
    fn dictionary_encoded_columns_read_like_plain_ones() {
        assert_reads_like_csv("dictionary.parquet", None, "dictionary.csv");
    }

    #[test]
    fn row_groups_read_in_slices_give_the_same_rows() {
        let (values, names) = csv("row_groups.csv");
        for slice in [1, 7, 37, 48, 49, 1000] {
            let mut reader = ParquetReader::new(Width::Any, None);
            reader.slice_rows = slice;
            let read = read_into(&mut reader, &fixture("row_groups.parquet"), "row_groups.parquet").unwrap();
            assert_same_bits(&read.values, &values, &format!("slices of {slice}"));
            assert_eq!(read.names.as_deref(), Some(&names[..]));
            assert!(read.batches.iter().all(|&rows| rows >= 1 && rows <= slice.min(48)), "slice {slice}: {:?}", read.batches);
            // The row groups hold 48 rows each (the last 8): a slice never spans two.
            let expected_batches: usize = [48, 48, 48, 48, 8].iter().map(|&rows: &usize| rows.div_ceil(slice.min(48))).sum();
            assert_eq!(read.batches.len(), expected_batches, "slice {slice}");
            assert!(reader.values.capacity() <= 2 * slice.min(48) * names.len(), "slice {slice}: the buffer holds one slice");
        }
    }

    #[test]
    fn a_wide_file_takes_fewer_rows_per_slice() {
        let reader = ParquetReader::new(Width::Any, None);
        assert_eq!((SLICE_VALUES / 4096).clamp(1, reader.slice_rows), 256);
        assert_eq!((SLICE_VALUES / 2).clamp(1, reader.slice_rows), SLICE_ROWS);
    }

    #[test]
    fn a_named_label_column_moves_first() {
        assert_reads_like_csv("label_middle.parquet", Some("target"), "label_middle.csv");
        let mut reader = ParquetReader::new(Width::Any, Some("target".into()));
        read_into(&mut reader, &fixture("label_middle.parquet"), "a.parquet").unwrap();
        assert_eq!(reader.header().unwrap(), ["target", "x1", "x2"]);
        assert!(reader.source_has_header());
        assert_eq!(reader.width(), Some(3));
        assert_eq!(reader.first_data_line(), Some(&Location::row("a.parquet", 1)));
    }

    #[test]
    fn a_label_column_missing_from_the_file_names_the_columns_present() {
        for rule in [Width::Any, Width::Exactly(4)] {
            let err = read(rule, Some("target"), "double_snappy.parquet").unwrap_err();
            assert_eq!(err.code(), "HEADER_MISMATCH");
            let text = err.to_string();
            assert!(text.contains("'target'") && text.contains("y, x1, x2, x3") && text.starts_with("double_snappy.parquet"), "{text}");
        }
    }

    #[test]
    fn a_null_names_its_file_row_and_column() {
        let mut reader = ParquetReader::new(Width::Any, None);
        let err = read_into(&mut reader, &fixture("null.parquet"), "train/part-0.parquet").unwrap_err();
        assert_eq!(err, CoreError::MissingValue { at: Location::row("train/part-0.parquet", 7), column: 3 });
        assert!(err.to_string().starts_with("train/part-0.parquet row 7, column 3:"), "{err}");
    }

    #[test]
    fn a_null_in_a_later_slice_counts_rows_from_the_start_of_the_file() {
        for slice in [1, 2, 3] {
            let mut reader = ParquetReader::new(Width::Any, None);
            reader.slice_rows = slice;
            let err = read_into(&mut reader, &fixture("null.parquet"), "n").unwrap_err();
            assert_eq!(err, CoreError::MissingValue { at: Location::row("n", 7), column: 3 }, "slice {slice}");
        }
    }

    #[test]
    fn nan_is_refused_with_its_row_and_column() {
        let err = read(Width::Any, None, "nan.parquet").unwrap_err();
        assert_eq!(err, CoreError::NonFinite { at: Location::row("nan.parquet", 5), column: 2, text: "NaN".into() });
    }

    #[test]
    fn columns_that_are_not_numbers_are_refused_with_the_fix() {
        let cases = [
            ("string.parquet", "column 2 ('city') is text"),
            ("decimal.parquet", "column 2 ('price') is a decimal (precision 10, scale 2)"),
            ("date.parquet", "column 2 ('day') is a date"),
            ("list.parquet", "column 2 ('xs') is nested"),
            ("struct.parquet", "column 2 ('point') is nested"),
        ];
        for (file, needle) in cases {
            let err = read(Width::Any, None, file).unwrap_err();
            assert_eq!(err.code(), "UNSUPPORTED_CONTENT_TYPE", "{file}");
            let text = err.to_string();
            assert!(text.starts_with(file) && text.contains(needle), "{text}");
            assert!(text.contains("cast it to float64") || text.contains("flatten it"), "{text}");
        }
    }

    #[test]
    fn a_codec_that_is_not_compiled_in_is_refused_by_name() {
        let err = read(Width::Any, None, "brotli.parquet").unwrap_err();
        assert_eq!(err.code(), "UNSUPPORTED_CONTENT_TYPE");
        assert!(err.to_string().contains("Brotli") && err.to_string().contains("snappy"), "{err}");
    }

    #[test]
    fn an_empty_file_has_names_but_no_rows() {
        let mut reader = ParquetReader::new(Width::Any, None);
        let read = read_into(&mut reader, &fixture("empty.parquet"), "empty.parquet").unwrap();
        assert_eq!(read.summary, SourceSummary { rows: 0, had_header: true, empty: true });
        assert!(read.batches.is_empty());
        assert_eq!(reader.header().unwrap(), ["y", "x1"]);
        assert_eq!(reader.width(), Some(2));
        assert_eq!(reader.first_data_line(), None);
        // A file of no bytes at all (a marker object) is empty and names nothing.
        let marker = Scratchfile::new("marker", b"");
        let mut reader = ParquetReader::new(Width::Any, None);
        let read = read_into(&mut reader, &marker.0, "_SUCCESS").unwrap();
        assert_eq!(read.summary, SourceSummary { rows: 0, had_header: false, empty: true });
        assert_eq!(reader.header(), None);
    }

    #[test]
    fn files_of_a_channel_need_the_same_columns() {
        let mut reader = ParquetReader::new(Width::Any, None);
        read_into(&mut reader, &fixture("empty.parquet"), "a").unwrap();
        let err = read_into(&mut reader, &fixture("double_snappy.parquet"), "b").unwrap_err();
        assert_eq!(err.code(), "HEADER_MISMATCH");
        assert!(err.to_string().starts_with("b: it has 4 columns but a has 2"), "{err}");

        let mut reader = ParquetReader::new(Width::Any, None);
        let first = read_into(&mut reader, &fixture("double_snappy.parquet"), "a").unwrap();
        let second = read_into(&mut reader, &fixture("double_zstd.parquet"), "b").unwrap();
        assert_same_bits(&first.values, &second.values, "same rows");
        assert_eq!(reader.first_data_line(), Some(&Location::row("a", 1)));
        assert!(reader.source_has_header());
        let err = read_into(&mut reader, &fixture("dictionary.parquet"), "c").unwrap_err();
        assert_eq!(err.code(), "HEADER_MISMATCH");

        let mut reader = ParquetReader::new(Width::Any, None);
        read_into(&mut reader, &fixture("label_middle.parquet"), "a").unwrap();
        let err = read_into(&mut reader, &fixture("row_groups.parquet"), "b").unwrap_err();
        assert_eq!(err.code(), "HEADER_MISMATCH");
        let text = err.to_string();
        assert!(text.starts_with("b: its columns (label, a, b) differ from the columns of a (x1, target, x2)"), "{text}");
    }

    #[test]
    fn feature_dim_must_match_the_schema() {
        assert_eq!(read(Width::Exactly(4), None, "double_snappy.parquet").unwrap().width, 4);
        let err = read(Width::Exactly(3), None, "double_snappy.parquet").unwrap_err();
        assert_eq!(err, CoreError::DeclaredFeatureMismatch { at: Location::row("double_snappy.parquet", 1), features: 2, got: 4 });
    }

    #[test]
    fn scoring_takes_a_label_when_there_is_one_column_more_than_the_features() {
        let (values, names) = csv("double.csv");
        for p in [3, 4] {
            let mut reader = ParquetReader::new(Width::FeaturesOrLabelled(p), None);
            let read = read_into(&mut reader, &fixture("double_snappy.parquet"), "s").unwrap();
            assert_same_bits(&read.values, &values, &format!("p={p}"));
            assert_eq!(read.names.as_deref(), Some(&names[..]));
            assert_eq!(reader.width(), Some(4));
        }
        for p in [2, 5] {
            let err = read(Width::FeaturesOrLabelled(p), None, "double_snappy.parquet").unwrap_err();
            assert_eq!(err, CoreError::FeatureCountMismatch { at: Location::row("double_snappy.parquet", 1), features: p, got: 4 });
        }
        // A named label is taken wherever it is, when the rest are the features.
        let labelled = read(Width::FeaturesOrLabelled(2), Some("target"), "label_middle.parquet").unwrap();
        assert_eq!(labelled.names.unwrap(), ["target", "x1", "x2"]);
        assert_same_bits(&labelled.values, &csv("label_middle.csv").0, "named label");
        let err = read(Width::FeaturesOrLabelled(3), Some("target"), "label_middle.parquet").unwrap_err();
        assert_eq!(err.code(), "FEATURE_COUNT_MISMATCH");
        // Unnamed, or named but absent: by the count alone, the label first.
        for label in [None, Some("nowhere")] {
            let first = read(Width::FeaturesOrLabelled(2), label, "label_middle.parquet").unwrap();
            assert_eq!(first.names.unwrap(), ["x1", "target", "x2"]);
            let features = read(Width::FeaturesOrLabelled(3), label, "label_middle.parquet").unwrap();
            assert_eq!(features.names.unwrap(), ["x1", "target", "x2"]);
            assert_eq!(features.width, 3);
        }
        // Later files keep the width of the first: labelled in all, or in none.
        let mut reader = ParquetReader::new(Width::FeaturesOrLabelled(2), None);
        read_into(&mut reader, &fixture("label_middle.parquet"), "a").unwrap();
        read_into(&mut reader, &fixture("row_groups.parquet"), "b").unwrap();
        let err = read_into(&mut reader, &fixture("empty.parquet"), "c").unwrap_err();
        assert_eq!(err.code(), "HEADER_MISMATCH");
    }

    /// A Parquet file of `columns` REQUIRED doubles and no rows, written here.
    fn wide_schema(columns: usize) -> Vec<u8> {
        use parquet::file::properties::WriterProperties;
        use parquet::file::writer::SerializedFileWriter;
        use parquet::schema::types::Type;
        use std::sync::Arc;
        let fields = (0..columns)
            .map(|j| {
                Arc::new(Type::primitive_type_builder(&format!("c{j}"), PhysicalType::DOUBLE).with_repetition(Repetition::REQUIRED).build().unwrap())
            })
            .collect();
        let schema = Type::group_type_builder("schema").with_fields(fields).build().unwrap();
        let mut bytes = Vec::new();
        let writer = SerializedFileWriter::new(&mut bytes, Arc::new(schema), Arc::new(WriterProperties::builder().build())).unwrap();
        writer.close().unwrap();
        bytes
    }

    #[test]
    fn too_many_columns_are_refused_before_any_row_is_read() {
        let wide = Scratchfile::new("wide", &wide_schema(MAX_COLUMNS + 1));
        for rule in [Width::Any, Width::Exactly(MAX_COLUMNS + 1)] {
            let mut reader = ParquetReader::new(rule, None);
            let err = read_into(&mut reader, &wide.0, "wide.parquet").unwrap_err();
            assert_eq!(err, CoreError::TooManyColumns { at: Location::row("wide.parquet", 1), got: MAX_COLUMNS + 1, max: MAX_COLUMNS });
        }
        let widest = Scratchfile::new("widest", &wide_schema(MAX_COLUMNS));
        let read = read_into(&mut ParquetReader::new(Width::Any, None), &widest.0, "widest.parquet").unwrap();
        assert_eq!(read.summary, SourceSummary { rows: 0, had_header: true, empty: true });
    }

    #[test]
    fn a_file_that_is_not_parquet_says_what_it_is() {
        let err = read(Width::Any, None, "double.csv").unwrap_err();
        assert_eq!(err.code(), "CONTENT_TYPE_MISMATCH");
        assert!(err.to_string().starts_with("double.csv: ") && err.to_string().contains("CSV text"), "{err}");
        let encrypted = Scratchfile::new("encrypted", b"PARE\0\0\0\0PARE");
        let err = read_into(&mut ParquetReader::new(Width::Any, None), &encrypted.0, "e").unwrap_err();
        assert_eq!(err.code(), "UNSUPPORTED_CONTENT_TYPE");
        assert!(err.to_string().contains("encrypted"), "{err}");
    }

    #[test]
    fn a_truncated_file_is_a_coded_error() {
        let bytes = std::fs::read(fixture("double_snappy.parquet")).unwrap();
        for cut in [1, 3, 4, 8, 12, bytes.len() / 2, bytes.len() - 8, bytes.len() - 1] {
            let part = Scratchfile::new(&format!("cut{cut}"), &bytes[..cut]);
            let err = read_into(&mut ParquetReader::new(Width::Any, None), &part.0, "cut.parquet").unwrap_err();
            let text = err.to_string();
            match err.code() {
                "MALFORMED_RECORD" => assert!(text.starts_with(&format!("cut.parquet byte {cut}: the Parquet footer")), "{text}"),
                "CONTENT_TYPE_MISMATCH" => assert!(cut < 4, "{text}"),
                code => panic!("cut at {cut}: {code}: {text}"),
            }
        }
    }

    #[test]
    fn corrupt_bytes_are_coded_errors_never_panics() {
        let bytes = std::fs::read(fixture("double_snappy.parquet")).unwrap();
        let mut refused = 0;
        for position in 0..bytes.len() {
            let mut broken = bytes.clone();
            broken[position] ^= 0x5A;
            let file = Scratchfile::new(&format!("flip{position}"), &broken);
            match read_into(&mut ParquetReader::new(Width::Any, None), &file.0, "broken.parquet") {
                Ok(read) => assert_eq!(read.values.len() % read.width.max(1), 0),
                Err(CoreError::Internal(message)) => panic!("byte {position}: {message}"),
                Err(_) => refused += 1,
            }
        }
        assert!(refused > 0);
    }

    #[test]
    fn streamed_bytes_are_refused() {
        let mut reader = ParquetReader::new(Width::Any, None);
        reader.begin_source("pipe");
        assert_eq!(reader.push(b"PAR1", &mut Vec::new()).unwrap_err().code(), "INTERNAL_ERROR");
    }

    #[test]
    fn a_channel_reads_parquet_by_path_with_its_declared_label() {
        use crate::decode::{ChannelReader, Declared, Format};
        let declared = Declared { format: Some(Format::Parquet), label_column: Some("target".into()), ..Declared::default() };
        let mut channel = ChannelReader::new(Width::Any, 1, declared);
        let mut values = Vec::new();
        let summary = channel
            .read_file(&fixture("label_middle.parquet"), "train/label_middle.parquet", &mut |batch| {
                values.extend_from_slice(batch.values);
                Ok(())
            })
            .unwrap();
        assert_eq!(summary.rows, 10);
        assert_same_bits(&values, &csv("label_middle.csv").0, "channel");
        assert_eq!(channel.header().unwrap(), ["target", "x1", "x2"]);
        assert_eq!(channel.format(), Some(Format::Parquet));
    }

    /// Throughput on a large file: `LINEAR_PARQUET_BENCH=/path/to/file.parquet
    /// cargo test -p linear_core --release -- --ignored --nocapture parquet_throughput`.
    #[test]
    #[ignore]
    fn parquet_throughput() {
        let Ok(path) = std::env::var("LINEAR_PARQUET_BENCH") else {
            return;
        };
        let path = PathBuf::from(path);
        let bytes = std::fs::metadata(&path).unwrap().len();
        let mut reader = ParquetReader::new(Width::Any, None);
        reader.begin_source("bench");
        let start = std::time::Instant::now();
        let mut sum = 0.0;
        let summary = reader
            .read_file(&path, &mut |batch| {
                sum += batch.values.iter().sum::<f64>();
                Ok(())
            })
            .unwrap();
        let seconds = start.elapsed().as_secs_f64();
        let width = reader.width().unwrap();
        println!(
            "{} rows x {width} columns, {:.1} MB on disk, {:.1} MB of f64 in {seconds:.3} s: {:.0} MB/s of f64, {:.2} M rows/s (checksum {sum})",
            summary.rows,
            bytes as f64 / 1e6,
            (summary.rows as f64 * width as f64 * 8.0) / 1e6,
            (summary.rows as f64 * width as f64 * 8.0) / 1e6 / seconds,
            summary.rows as f64 / 1e6 / seconds
        );
    }
}
