//! Streaming CSV to f64 rows. Bytes arrive in arbitrary chunks (a file read,
//! a pipe, an HTTP body); a line cut by a chunk boundary is carried over. A
//! UTF-8 byte-order mark at the start of a source is skipped. The first
//! non-blank line of each source is a header when none of its cells is a
//! number. Cells may be quoted (a quoted cell may hold commas, so `"1,5"` is
//! one cell, and not a number). Complete lines are parsed on several threads,
//! in order.

use super::eisel_lemire::decimal_to_double;
use super::{check_distinct_names, Decoder, SourceSummary, Width, MAX_COLUMNS};
use crate::error::{CoreError, Location};
use memchr::{memchr, memchr_iter, memrchr};

/// Below this many bytes a chunk is parsed on the calling thread.
const PARALLEL_MIN_BYTES: usize = 1 << 16;

/// Longest line carried between chunks. Rows of [`MAX_COLUMNS`] numbers fit
/// many times over; a longer line is not CSV (or has no line breaks), and
/// holding it would let one file take any amount of memory.
pub const MAX_LINE_BYTES: usize = 64 << 20;

const BOM: &[u8] = b"\xEF\xBB\xBF";

enum CellError {
    NonNumeric { column: usize, text: String },
    NonFinite { column: usize, text: String },
    Missing { column: usize },
    Width { got: usize },
}

#[derive(Debug)]
pub struct CsvReader {
    rule: Width,
    /// `header=present|absent` from the content type; `None` decides from the first line.
    declared_header: Option<bool>,
    width: Option<usize>,
    header: Option<(String, Vec<String>)>,
    threads: usize,
    source: String,
    line: u64,
    carry: Vec<u8>,
    /// Up to the first three bytes of a source, until it is known whether they are a BOM.
    head: Vec<u8>,
    /// Whether the current source's first bytes have been checked for a BOM.
    started: bool,
    awaiting_first_line: bool,
    summary: SourceSummary,
    first_data_line: Option<Location>,
    /// Per-thread row buffers, kept between chunks.
    scratch: Vec<Vec<f64>>,
}

impl CsvReader {
    pub fn new(rule: Width, threads: usize) -> Self {
        Self::with_header(rule, threads, None)
    }

    /// A reader told whether each source starts with a header (`None`: decide from its first line).
    pub fn with_header(rule: Width, threads: usize, declared_header: Option<bool>) -> Self {
        CsvReader {
            rule,
            declared_header,
            width: match rule {
                Width::Exactly(w) => Some(w),
                _ => None,
            },
            header: None,
            threads: threads.max(1),
            source: String::new(),
            line: 0,
            carry: Vec::new(),
            head: Vec::new(),
            started: false,
            awaiting_first_line: true,
            summary: SourceSummary::default(),
            first_data_line: None,
            scratch: Vec::new(),
        }
    }

    /// Columns per row, once the first data row (or the rule) fixed it.
    pub fn width(&self) -> Option<usize> {
        self.width
    }

    /// Where the first data row was (the one that fixed the width).
    pub fn first_data_line(&self) -> Option<&Location> {
        self.first_data_line.as_ref()
    }

    /// Whether the current source began with a header row.
    pub fn source_has_header(&self) -> bool {
        self.summary.had_header
    }

    /// Names from the first header row seen, if any.
    pub fn header(&self) -> Option<&[String]> {
        self.header.as_ref().map(|(_, names)| names.as_slice())
    }

    pub fn begin_source(&mut self, name: &str) {
        self.source = name.to_string();
        self.line = 0;
        self.carry.clear();
        self.head.clear();
        self.started = false;
        self.awaiting_first_line = true;
        self.summary = SourceSummary::default();
    }

    /// Parses every complete line in `bytes`, appending row-major values to `out`.
    pub fn push(&mut self, bytes: &[u8], out: &mut Vec<f64>) -> Result<(), CoreError> {
        if self.started {
            return self.push_lines(bytes, out);
        }
        // The first three bytes of a source decide whether it starts with a
        // BOM; they may arrive one chunk at a time.
        let take = (BOM.len() - self.head.len()).min(bytes.len());
        self.head.extend_from_slice(&bytes[..take]);
        if self.head.len() < BOM.len() && BOM.starts_with(&self.head) {
            return Ok(());
        }
        self.release_head(out)?;
        self.push_lines(&bytes[take..], out)
    }

    /// Passes on the held first bytes of a source, without a BOM.
    fn release_head(&mut self, out: &mut Vec<f64>) -> Result<(), CoreError> {
        self.started = true;
        let head = std::mem::take(&mut self.head);
        let kept = if head == BOM { &[][..] } else { &head[..] };
        self.push_lines(kept, out)
    }

    fn push_lines(&mut self, mut bytes: &[u8], out: &mut Vec<f64>) -> Result<(), CoreError> {
        if bytes.is_empty() {
            return Ok(());
        }
        if !self.carry.is_empty() {
            match memchr(b'\n', bytes) {
                None => {
                    self.carry.extend_from_slice(bytes);
                    return self.check_carry();
                }
                Some(end) => {
                    let mut line = std::mem::take(&mut self.carry);
                    line.extend_from_slice(&bytes[..end]);
                    self.take_line(&line, out)?;
                    bytes = &bytes[end + 1..];
                }
            }
        }
        let complete = match memrchr(b'\n', bytes) {
            None => {
                self.carry.extend_from_slice(bytes);
                return self.check_carry();
            }
            Some(last) => {
                self.carry.extend_from_slice(&bytes[last + 1..]);
                &bytes[..=last]
            }
        };
        self.take_lines(complete, out)?;
        self.check_carry()
    }

    /// A line still without its end may not grow past [`MAX_LINE_BYTES`].
    fn check_carry(&self) -> Result<(), CoreError> {
        if self.carry.len() > MAX_LINE_BYTES {
            return Err(CoreError::LineTooLong { at: self.at(self.line + 1), max: MAX_LINE_BYTES });
        }
        Ok(())
    }

    /// Ends the current source: its last line may lack a newline.
    pub fn end_source(&mut self, out: &mut Vec<f64>) -> Result<SourceSummary, CoreError> {
        if !self.started {
            self.release_head(out)?;
        }
        self.started = false;
        if !self.carry.is_empty() {
            let line = std::mem::take(&mut self.carry);
            self.take_line(&line, out)?;
        }
        let mut summary = self.summary;
        summary.empty = self.awaiting_first_line;
        self.summary = SourceSummary::default();
        self.line = 0;
        Ok(summary)
    }

    fn at(&self, line: u64) -> Location {
        Location::line(&self.source, line)
    }

    /// Complete lines (each ending in '\n'): a serial prefix until the header
    /// question and the width are settled, then the bulk, in parallel.
    fn take_lines(&mut self, mut bytes: &[u8], out: &mut Vec<f64>) -> Result<(), CoreError> {
        while !bytes.is_empty() && (self.awaiting_first_line || self.first_data_line.is_none()) {
            let end = memchr(b'\n', bytes).unwrap_or(bytes.len() - 1);
            self.take_line(&bytes[..end], out)?;
            bytes = &bytes[end + 1..];
        }
        if bytes.is_empty() {
            return Ok(());
        }
        let width = self.width.expect("width is settled before the bulk");
        let parts = split_at_lines(bytes, if bytes.len() < PARALLEL_MIN_BYTES { 1 } else { self.threads });
        let (first, rest) = parts.split_first().expect("non-empty bytes give a part");
        // The first part parses straight into `out` on this thread; the others
        // into reused buffers on their own threads, appended in order after.
        let mut scratch = std::mem::take(&mut self.scratch);
        scratch.resize_with(rest.len(), Vec::new);
        let before = out.len();
        let (head, tail) = std::thread::scope(|scope| {
            let handles: Vec<_> = rest
                .iter()
                .zip(scratch.iter_mut())
                .map(|(part, buffer)| {
                    buffer.clear();
                    scope.spawn(move || parse_lines(part, width, buffer))
                })
                .collect();
            let head = parse_lines(first, width, out);
            (head, handles.into_iter().map(|h| h.join().expect("parser thread panicked")).collect::<Vec<_>>())
        });
        let mut outcome = Ok(());
        for (index, (part_lines, result)) in std::iter::once(head).chain(tail).enumerate() {
            if index > 0 {
                out.extend_from_slice(&scratch[index - 1]);
            }
            if let Err((at, cell)) = result {
                outcome = Err(self.cell_error(self.line + at + 1, cell));
                break;
            }
            self.line += part_lines;
        }
        self.summary.rows += ((out.len() - before) / width) as u64;
        self.scratch = scratch;
        outcome
    }

    fn take_line(&mut self, line: &[u8], out: &mut Vec<f64>) -> Result<(), CoreError> {
        self.line += 1;
        if is_blank(line) {
            return Ok(());
        }
        if self.awaiting_first_line {
            self.awaiting_first_line = false;
            if let Some(encoding) = foreign_encoding(line) {
                return Err(CoreError::UnsupportedEncoding { source: self.source.clone(), encoding });
            }
            if self.declared_header.unwrap_or_else(|| is_header(line)) {
                self.summary.had_header = true;
                let cells = count_cells(line);
                if cells > self.header_limit() {
                    return Err(CoreError::TooManyColumns { at: self.at(self.line), got: cells, max: MAX_COLUMNS });
                }
                return self.record_header(header_names(line));
            }
        }
        if self.first_data_line.is_none() {
            self.settle_width(line)?;
        }
        self.take_line_with_width(line, out)
    }

    /// Most names a header may have before its names are even collected.
    fn header_limit(&self) -> usize {
        match self.rule {
            Width::Any => MAX_COLUMNS,
            Width::Exactly(w) => w.max(MAX_COLUMNS),
            Width::FeaturesOrLabelled(p) => (p + 1).max(MAX_COLUMNS),
        }
    }

    /// The first data row: checks its width against the rule, the header and
    /// [`MAX_COLUMNS`], and fixes the width for the rows after it.
    fn settle_width(&mut self, line: &[u8]) -> Result<(), CoreError> {
        let width = count_cells(line);
        let accepted = match self.rule {
            Width::Any => true,
            Width::Exactly(w) => w == width,
            Width::FeaturesOrLabelled(p) => width == p || width == p + 1,
        };
        if !accepted {
            return Err(self.width_error(self.line, width));
        }
        if width > MAX_COLUMNS && !matches!(self.rule, Width::FeaturesOrLabelled(_)) {
            return Err(CoreError::TooManyColumns { at: self.at(self.line), got: width, max: MAX_COLUMNS });
        }
        if let Some((_, names)) = &self.header {
            if names.len() != width {
                return Err(self.header_width_error(names.len(), width));
            }
        }
        self.width = Some(width);
        self.first_data_line = Some(self.at(self.line));
        Ok(())
    }

    fn take_line_with_width(&mut self, line: &[u8], out: &mut Vec<f64>) -> Result<(), CoreError> {
        let width = self.width.expect("width is settled");
        match parse_row(line, width, out) {
            Ok(()) => {
                self.summary.rows += 1;
                Ok(())
            }
            Err(cell) => Err(self.cell_error(self.line, cell)),
        }
    }

    fn record_header(&mut self, names: Vec<String>) -> Result<(), CoreError> {
        match (self.rule, self.width) {
            // feature_dim fixed the width before any row: the header is the first to disagree.
            (Width::Exactly(w), _) if names.len() != w => {
                return Err(CoreError::DeclaredFeatureMismatch { at: self.at(self.line), features: w - 1, got: names.len() });
            }
            (_, Some(width)) if names.len() != width => return Err(self.header_width_error(names.len(), width)),
            _ => {}
        }
        check_distinct_names(&self.source, &names)?;
        match &self.header {
            None => {
                self.header = Some((self.source.clone(), names));
                Ok(())
            }
            Some((first, known)) if *known != names => Err(CoreError::HeaderMismatch {
                source: self.source.clone(),
                detail: format!(
                    "its header ({}) differs from the header of {first} ({}); every file of a channel needs the same columns in the same order",
                    names.join(","),
                    known.join(",")
                ),
            }),
            Some(_) => Ok(()),
        }
    }

    fn header_width_error(&self, names: usize, width: usize) -> CoreError {
        CoreError::HeaderMismatch {
            source: self.source.clone(),
            detail: format!("the header has {names} names but the rows have {width} columns; give one name per column"),
        }
    }

    /// A row whose cell count breaks the channel's rule.
    fn width_error(&self, line: u64, got: usize) -> CoreError {
        let at = self.at(line);
        match (self.rule, self.width) {
            (Width::Exactly(w), _) => CoreError::DeclaredFeatureMismatch { at, features: w - 1, got },
            (Width::FeaturesOrLabelled(p), _) if got != p && got != p + 1 => CoreError::FeatureCountMismatch { at, features: p, got },
            (_, expected) => CoreError::RaggedRow { at, expected: expected.unwrap_or(got), got },
        }
    }

    fn cell_error(&self, line: u64, cell: CellError) -> CoreError {
        let at = self.at(line);
        match cell {
            CellError::NonNumeric { column, text } => CoreError::NonNumeric { at, column, text },
            CellError::NonFinite { column, text } => CoreError::NonFinite { at, column, text },
            CellError::Missing { column } => CoreError::MissingValue { at, column },
            CellError::Width { got } => self.width_error(line, got),
        }
    }
}

impl Decoder for CsvReader {
    fn begin_source(&mut self, name: &str) {
        CsvReader::begin_source(self, name);
    }

    fn push(&mut self, bytes: &[u8], out: &mut Vec<f64>) -> Result<(), CoreError> {
        CsvReader::push(self, bytes, out)
    }

    fn end_source(&mut self, out: &mut Vec<f64>) -> Result<SourceSummary, CoreError> {
        CsvReader::end_source(self, out)
    }

    fn width(&self) -> Option<usize> {
        self.width
    }

    fn header(&self) -> Option<&[String]> {
        CsvReader::header(self)
    }

    fn source_has_header(&self) -> bool {
        self.summary.had_header
    }

    fn first_data_line(&self) -> Option<&Location> {
        self.first_data_line.as_ref()
    }
}

/// Exact powers of ten representable in f64 (10^22 is the largest).
const POW10: [f64; 23] =
    [1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22];

/// Clinger's fast path for the common cell (`-12.5`, `3e-4`): when the
/// decimal significand fits in 53 bits and the power of ten is exact, one
/// correctly rounded multiply or divide gives the correctly rounded value.
/// Longer significands of up to 19 digits (`-25.955436840452171`) take
/// Eisel and Lemire's 128-bit product. Anything else goes to the general parser.
#[inline(always)]
pub(super) fn parse_number(s: &[u8]) -> Option<(f64, usize)> {
    simple_number(s).or_else(|| fallback(s))
}

/// ASCII '0' in each byte of a word.
const ZEROS: u64 = 0x3030_3030_3030_3030;

/// Powers of ten that fit a u64 digit group.
const POW10_INT: [u64; 9] = [1, 10, 100, 1_000, 10_000, 100_000, 1_000_000, 10_000_000, 100_000_000];

/// Appends the digits at `s[i..]` to `mantissa` (wrapping past 19 digits,
/// which the caller refuses) and answers where they end. Eight bytes at a
/// time: a decimal cell costs a few word operations, not a loop per digit.
#[inline(always)]
fn digit_run(s: &[u8], mut i: usize, mantissa: &mut u64) -> usize {
    while let Some(bytes) = s.get(i..i + 8) {
        let word = u64::from_le_bytes(bytes.try_into().expect("eight bytes"));
        let count = leading_digits(word);
        if count > 0 {
            *mantissa = mantissa.wrapping_mul(POW10_INT[count]).wrapping_add(digits_value(word, count));
            i += count;
        }
        if count < 8 {
            return i;
        }
    }
    while i < s.len() && s[i].is_ascii_digit() {
        *mantissa = mantissa.wrapping_mul(10).wrapping_add(u64::from(s[i] - b'0'));
        i += 1;
    }
    i
}

/// How many of a little-endian word's first bytes are ASCII digits. A byte
/// is flagged when above '9' (the add sets its top bit) or below '0' (the
/// subtract does); carries and borrows only reach bytes after the first
/// flagged one, which are not counted.
#[inline(always)]
fn leading_digits(word: u64) -> usize {
    let flagged = (word.wrapping_add(0x4646_4646_4646_4646) | word.wrapping_sub(ZEROS)) & 0x8080_8080_8080_8080;
    (flagged.trailing_zeros() / 8) as usize
}

/// The number the first `count` (1..=8) digit bytes of `word` spell: they are
/// moved to the low end of an eight-digit group (zeros before them) and
/// combined in pairs, fours and eights by three multiplies.
#[inline(always)]
fn digits_value(word: u64, count: usize) -> u64 {
    let digits = word.wrapping_sub(ZEROS) << (8 * (8 - count));
    let pairs = digits.wrapping_mul(10).wrapping_add(digits >> 8);
    let low = (pairs & 0x0000_00FF_0000_00FF).wrapping_mul(0x000F_4240_0000_0064);
    let high = ((pairs >> 16) & 0x0000_00FF_0000_00FF).wrapping_mul(0x0000_2710_0000_0001);
    u64::from(low.wrapping_add(high).wrapping_shr(32) as u32)
}

/// The fast path alone: `None` for anything it cannot round exactly.
#[inline(always)]
fn simple_number(s: &[u8]) -> Option<(f64, usize)> {
    let mut i = 0;
    let negative = match s.first() {
        Some(b'-') => {
            i = 1;
            true
        }
        Some(b'+') => {
            i = 1;
            false
        }
        _ => false,
    };
    let mut mantissa: u64 = 0;
    let start = i;
    i = digit_run(s, i, &mut mantissa);
    let mut digits = i - start;
    let mut scale: i64 = 0;
    if i < s.len() && s[i] == b'.' {
        let fraction = i + 1;
        i = digit_run(s, fraction, &mut mantissa);
        digits += i - fraction;
        scale = -((i - fraction) as i64);
    }
    if digits == 0 || digits > 19 {
        return None;
    }
    if i < s.len() && (s[i] == b'e' || s[i] == b'E') {
        let mut j = i + 1;
        let exp_negative = match s.get(j) {
            Some(b'-') => {
                j += 1;
                true
            }
            Some(b'+') => {
                j += 1;
                false
            }
            _ => false,
        };
        let exp_start = j;
        let mut exponent: i64 = 0;
        while j < s.len() && s[j].is_ascii_digit() && j - exp_start < 6 {
            exponent = exponent * 10 + i64::from(s[j] - b'0');
            j += 1;
        }
        if j == exp_start || (j < s.len() && s[j].is_ascii_digit()) {
            return None;
        }
        scale += if exp_negative { -exponent } else { exponent };
        i = j;
    }
    let value = if mantissa <= 1 << 53 && (-22..=22).contains(&scale) {
        let m = mantissa as f64;
        if scale >= 0 {
            m * POW10[scale as usize]
        } else {
            m / POW10[(-scale) as usize]
        }
    } else {
        decimal_to_double(mantissa, scale)?
    };
    Some((if negative { -value } else { value }, i))
}

fn fallback(s: &[u8]) -> Option<(f64, usize)> {
    match fast_float2::parse_partial::<f64, _>(s) {
        Ok((value, used)) if used > 0 => Some((value, used)),
        _ => None,
    }
}

fn is_blank(line: &[u8]) -> bool {
    line.iter().all(|b| b.is_ascii_whitespace())
}

/// Splits complete lines into up to `parts` pieces, each ending at a newline.
fn split_at_lines(bytes: &[u8], parts: usize) -> Vec<&[u8]> {
    let mut pieces = Vec::with_capacity(parts);
    let mut rest = bytes;
    for remaining in (1..=parts).rev() {
        if remaining == 1 || rest.is_empty() {
            break;
        }
        let target = rest.len() / remaining;
        match memchr(b'\n', &rest[target..]) {
            Some(offset) => {
                let (head, tail) = rest.split_at(target + offset + 1);
                pieces.push(head);
                rest = tail;
            }
            None => break,
        }
    }
    if !rest.is_empty() {
        pieces.push(rest);
    }
    pieces
}

/// Parses complete lines into `values`: the line count, or the 0-based
/// index of the bad line. The common row is parsed where it lies, its end
/// found by the number parser; only an unusual one is cut out first.
fn parse_lines(bytes: &[u8], width: usize, values: &mut Vec<f64>) -> (u64, Result<(), (u64, CellError)>) {
    let mut start = 0;
    let mut lines = 0u64;
    while start < bytes.len() {
        let rest = &bytes[start..];
        let end = match parse_plain_line(rest, width, values) {
            Some(end) => end,
            None => {
                let end = memchr(b'\n', rest).unwrap_or(rest.len());
                let line = &rest[..end];
                if !is_blank(line) {
                    if let Err(cell) = parse_row(line, width, values) {
                        return (lines, Err((lines, cell)));
                    }
                }
                end
            }
        };
        start += end + 1;
        lines += 1;
    }
    (lines, Ok(()))
}

fn trim(mut s: &[u8]) -> &[u8] {
    while let [first, rest @ ..] = s {
        if first.is_ascii_whitespace() {
            s = rest;
        } else {
            break;
        }
    }
    while let [rest @ .., last] = s {
        if last.is_ascii_whitespace() {
            s = rest;
        } else {
            break;
        }
    }
    s
}

/// The first position at or after `from` that is not a space or a tab.
fn skip_blanks(line: &[u8], from: usize) -> usize {
    from + line[from.min(line.len())..].iter().take_while(|&&b| b == b' ' || b == b'\t').count()
}

fn unquote(s: &[u8]) -> &[u8] {
    match s {
        [b'"', inner @ .., b'"'] => inner,
        _ => s,
    }
}

/// Where the cell starting at `start` ends: the comma after it, or the end of
/// the line. A quoted cell runs to its closing quote (`""` inside is a quote),
/// so it may hold commas; an unclosed quote ends at the next comma.
fn cell_end(line: &[u8], start: usize) -> usize {
    let mut i = skip_blanks(line, start);
    if line.get(i) == Some(&b'"') {
        let mut j = i + 1;
        loop {
            match memchr(b'"', &line[j..]) {
                Some(q) if line.get(j + q + 1) == Some(&b'"') => j += q + 2,
                Some(q) => {
                    i = j + q + 1;
                    break;
                }
                None => break,
            }
        }
    }
    memchr(b',', &line[i..]).map_or(line.len(), |e| i + e)
}

/// The cells of a line, as byte ranges (quote-aware).
fn cells(line: &[u8]) -> impl Iterator<Item = &[u8]> {
    let mut start = Some(0);
    std::iter::from_fn(move || {
        let s = start?;
        let end = cell_end(line, s);
        start = (end < line.len()).then_some(end + 1);
        Some(&line[s..end])
    })
}

fn count_cells(line: &[u8]) -> usize {
    if memchr(b'"', line).is_none() {
        return memchr_iter(b',', line).count() + 1;
    }
    cells(line).count()
}

/// A cell as text for messages: trimmed, unquoted, `""` read as `"`.
fn cell_string(cell: &[u8]) -> String {
    let inner = unquote(trim(cell));
    let text = String::from_utf8_lossy(inner);
    if inner.len() < cell.len() && text.contains("\"\"") {
        text.replace("\"\"", "\"")
    } else {
        text.into_owned()
    }
}

fn cell_text(line: &[u8], start: usize) -> String {
    cell_string(&line[start..cell_end(line, start)])
}

/// The common row: `width` plain finite numbers separated by commas, then
/// `\n` or `\r\n`. Answers where its `\n` is; anything unusual answers
/// `None` with `out` untouched, for `parse_row` and its exact errors.
#[inline(always)]
fn parse_plain_line(bytes: &[u8], width: usize, out: &mut Vec<f64>) -> Option<usize> {
    let before = out.len();
    let mut pos = 0;
    for column in 0..width {
        match plain_number(&bytes[pos..]) {
            Some((value, used)) => {
                out.push(value);
                pos += used;
            }
            None => break,
        }
        match bytes.get(pos) {
            Some(b',') if column + 1 < width => pos += 1,
            Some(b'\n') if column + 1 == width => return Some(pos),
            Some(b'\r') if column + 1 == width && bytes.get(pos + 1) == Some(&b'\n') => return Some(pos + 1),
            _ => break,
        }
    }
    out.truncate(before);
    None
}

/// A finite number at the start of `s`: the fast path, or the general parser
/// for long mantissas and large exponents (no error is reported from here).
#[inline(always)]
fn plain_number(s: &[u8]) -> Option<(f64, usize)> {
    match simple_number(s) {
        Some(found) => Some(found),
        None => fallback(s).filter(|(value, _)| value.is_finite()),
    }
}

/// Parses one data row of exactly `width` cells into `out` (nothing is
/// appended on error).
fn parse_row(line: &[u8], width: usize, out: &mut Vec<f64>) -> Result<(), CellError> {
    let line = match line.last() {
        Some(b'\r') => &line[..line.len() - 1],
        _ => line,
    };
    let before = out.len();
    let fail = |out: &mut Vec<f64>, e: CellError| {
        out.truncate(before);
        Err(e)
    };
    let len = line.len();
    let mut pos = 0;
    let mut column = 0;
    loop {
        pos = skip_blanks(line, pos);
        let start = pos;
        if column == width {
            return fail(out, CellError::Width { got: width + count_cells(&line[start..]) });
        }
        column += 1;
        let quoted = pos < len && line[pos] == b'"';
        if quoted {
            pos += 1;
            pos = skip_blanks(line, pos);
        }
        match parse_number(&line[pos..]) {
            Some((value, used)) => {
                pos += used;
                pos = skip_blanks(line, pos);
                if quoted {
                    // A quoted number ends at its closing quote: `"1,5"` or `"1` is not a number.
                    if pos < len && line[pos] == b'"' {
                        pos += 1;
                    } else {
                        return fail(out, CellError::NonNumeric { column, text: cell_text(line, start) });
                    }
                }
                pos = skip_blanks(line, pos);
                if pos < len && line[pos] != b',' {
                    return fail(out, CellError::NonNumeric { column, text: cell_text(line, start) });
                }
                if !value.is_finite() {
                    return fail(out, CellError::NonFinite { column, text: cell_text(line, start) });
                }
                out.push(value);
                if pos >= len {
                    break;
                }
                pos += 1;
            }
            _ => {
                let text = cell_text(line, start);
                if text.is_empty() {
                    if column == 1 && pos >= len {
                        break;
                    }
                    return fail(out, CellError::Missing { column });
                }
                return fail(out, CellError::NonNumeric { column, text });
            }
        }
    }
    if column != width {
        return fail(out, CellError::Width { got: column });
    }
    Ok(())
}

fn is_number(cell: &[u8]) -> bool {
    matches!(parse_number(cell), Some((_, used)) if used == cell.len())
}

/// Whether a first line is a header: none of its cells is a number.
fn is_header(line: &[u8]) -> bool {
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    !cells(line).any(|c| is_number(unquote(trim(c))))
}

/// What a first line that cannot be UTF-8 CSV is: UTF-16 text (its byte-order
/// mark, or the NULs between ASCII letters) or binary data.
fn foreign_encoding(line: &[u8]) -> Option<&'static str> {
    if line.starts_with(b"\xFF\xFE") || line.starts_with(b"\xFE\xFF") {
        return Some("UTF-16 text");
    }
    let nuls = line.iter().filter(|&&b| b == 0).count();
    if nuls == 0 {
        return None;
    }
    // UTF-16 without a mark puts a NUL beside every ASCII character.
    Some(if nuls * 3 >= line.len() { "UTF-16 text" } else { "binary data" })
}

/// The names of a header row (see [`is_header`]); blank names become `column<i>`.
fn header_names(line: &[u8]) -> Vec<String> {
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    cells(line)
        .enumerate()
        .map(|(i, c)| {
            let name = cell_string(c).trim().to_string();
            if name.is_empty() {
                format!("column{}", i + 1)
            } else {
                name
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read_all(chunks: &[&[u8]], rule: Width) -> Result<(Vec<f64>, CsvReader), CoreError> {
        let mut reader = CsvReader::new(rule, 2);
        let mut out = Vec::new();
        reader.begin_source("data.csv");
        for chunk in chunks {
            reader.push(chunk, &mut out)?;
        }
        reader.end_source(&mut out)?;
        Ok((out, reader))
    }

    #[test]
    fn numbers_parse_to_the_correctly_rounded_double() {
        let cells = crate::testing::number_spellings(17, 20_000);
        for cell in &cells {
            let (value, used) = parse_number(cell.as_bytes()).unwrap();
            assert_eq!(used, cell.len(), "{cell}");
            assert_eq!(value.to_bits(), cell.parse::<f64>().unwrap().to_bits(), "{cell}");
        }
    }

    /// The value and length of the longest start of `text` the standard library reads as a number.
    fn longest_number_prefix(text: &str) -> Option<(f64, usize)> {
        (1..=text.len()).rev().filter(|&end| text.is_char_boundary(end)).find_map(|end| text[..end].parse::<f64>().ok().map(|v| (v, end)))
    }

    #[test]
    fn digit_runs_of_any_length_end_at_the_first_other_byte() {
        // Eight bytes at a time: each run length against each kind of byte
        // after it (above '9', below '0', non-ASCII), mid-buffer and at its end.
        let digits = "98765432109876543210";
        for length in 1..=digits.len() {
            for whole in [&digits[..length], "0"] {
                let cell = if whole == "0" { format!("0.{}", &digits[..length]) } else { whole.to_string() };
                for after in ["", ",1", "\n", ":", "/", "\u{e9}", "\u{ff}x", "e", "e2,", "E-3\n", ".", "-"] {
                    let text = format!("{cell}{after}");
                    let expected = longest_number_prefix(&text);
                    let got = parse_number(text.as_bytes());
                    assert_eq!(got.map(|(v, used)| (v.to_bits(), used)), expected.map(|(v, used)| (v.to_bits(), used)), "{text:?}");
                }
            }
        }
    }

    #[test]
    fn rows_survive_any_chunking() {
        let text = b"y,x1,x2\r\n1,2,3\n4.5, -5e-1 ,\"6\"\n\n7,8,9";
        let (whole, reader) = read_all(&[text], Width::Any).unwrap();
        assert_eq!(whole, vec![1.0, 2.0, 3.0, 4.5, -0.5, 6.0, 7.0, 8.0, 9.0]);
        assert_eq!(reader.header().unwrap(), ["y", "x1", "x2"]);
        for size in 1..text.len() {
            let chunks: Vec<&[u8]> = text.chunks(size).collect();
            assert_eq!(read_all(&chunks, Width::Any).unwrap().0, whole, "chunk size {size}");
        }
    }

    #[test]
    fn parallel_parse_matches_serial_and_reports_the_right_line() {
        let mut text = String::new();
        for i in 0..60_000 {
            text.push_str(&format!("{},{}.25,{}\n", i, i * 3, i % 7));
        }
        let (values, _) = read_all(&[text.as_bytes()], Width::Any).unwrap();
        assert_eq!(values.len(), 180_000);
        assert_eq!(values[3 * 59_999 + 1], 59_999.0 * 3.0 + 0.25);
        let bad = text.replacen("45000,135000.25", "45000,oops", 1);
        let err = read_all(&[bad.as_bytes()], Width::Any).unwrap_err();
        assert_eq!(err.code(), "NON_NUMERIC_VALUE");
        assert!(err.to_string().starts_with("data.csv line 45001, column 2: 'oops'"), "{err}");
    }

    #[test]
    fn bad_cells_name_line_and_column() {
        let cases: [(&[u8], &str, &str); 7] = [
            (b"1,2\n3,abc\n", "NON_NUMERIC_VALUE", "line 2, column 2: 'abc'"),
            (b"1,2\n3,4x\n", "NON_NUMERIC_VALUE", "'4x'"),
            (b"1,2\nNaN,4\n", "NON_FINITE_VALUE", "line 2, column 1: 'NaN'"),
            (b"1,2\n3,inf\n", "NON_FINITE_VALUE", "'inf'"),
            (b"1,2\n3,\n", "MISSING_VALUE", "line 2, column 2"),
            (b"1,2\n3,4,5\n", "RAGGED_ROW", "has 3 columns but earlier rows have 2"),
            (b"1,2\n3\n", "RAGGED_ROW", "has 1 columns"),
        ];
        for (text, code, needle) in cases {
            let err = read_all(&[text], Width::Any).unwrap_err();
            assert_eq!(err.code(), code, "{err}");
            assert!(err.to_string().contains(needle), "{err} lacks {needle}");
        }
    }

    #[test]
    fn scoring_accepts_features_or_labelled_rows() {
        let (values, reader) = read_all(&[b"10.0\n"], Width::FeaturesOrLabelled(1)).unwrap();
        assert_eq!((values, reader.width()), (vec![10.0], Some(1)));
        let (_, reader) = read_all(&[b"31,10\n"], Width::FeaturesOrLabelled(1)).unwrap();
        assert_eq!(reader.width(), Some(2));
        let err = read_all(&[b"1,2,3\n"], Width::FeaturesOrLabelled(1)).unwrap_err();
        assert_eq!(err.code(), "FEATURE_COUNT_MISMATCH");
    }

    #[test]
    fn headers_must_agree_with_rows_and_each_other() {
        let err = read_all(&[b"y,x\n1,2,3\n"], Width::Any).unwrap_err();
        assert_eq!(err.code(), "HEADER_MISMATCH");
        let mut reader = CsvReader::new(Width::Any, 1);
        let mut out = Vec::new();
        reader.begin_source("a.csv");
        reader.push(b"y,x\n1,2\n", &mut out).unwrap();
        reader.end_source(&mut out).unwrap();
        reader.begin_source("b.csv");
        let err = reader.push(b"y,z\n1,2\n", &mut out).unwrap_err();
        assert!(err.to_string().contains("differs from the header of a.csv"), "{err}");
    }

    #[test]
    fn header_only_and_empty_sources_are_summarised() {
        let mut reader = CsvReader::new(Width::Any, 1);
        let mut out = Vec::new();
        reader.begin_source("h.csv");
        reader.push(b"y,x\n", &mut out).unwrap();
        let s = reader.end_source(&mut out).unwrap();
        assert_eq!(s, SourceSummary { rows: 0, had_header: true, empty: false });
        reader.begin_source("e.csv");
        reader.push(b"\n\n", &mut out).unwrap();
        assert!(reader.end_source(&mut out).unwrap().empty);
    }

    #[test]
    fn duplicate_header_names_are_refused_naming_both_columns() {
        let err = read_all(&[b"y,x,z,x\n1,2,3,4\n"], Width::Any).unwrap_err();
        assert_eq!(err.code(), "HEADER_MISMATCH");
        assert!(err.to_string().contains("columns 2 and 4 are both named 'x'"), "{err}");
    }

    #[test]
    fn utf16_and_binary_sources_are_named_as_such_and_control_bytes_are_escaped() {
        let utf16: Vec<u8> = "y,x\n1,2\n".encode_utf16().flat_map(u16::to_le_bytes).collect();
        for (bytes, what) in [
            ([&b"\xFF\xFE"[..], &utf16].concat(), "UTF-16 text"),
            (utf16.clone(), "UTF-16 text"),
            (b"\x1f\x00\x00\x07\x01PK\x03\x04 some zip\n".to_vec(), "binary data"),
        ] {
            let err = read_all(&[&bytes], Width::Any).unwrap_err();
            assert_eq!(err.code(), "UNSUPPORTED_ENCODING", "{err}");
            assert!(err.to_string().contains(what), "{err}");
        }
        let err = read_all(&[b"1,2\n3,a\x1b[31m\n"], Width::Any).unwrap_err();
        assert!(err.to_string().contains("'a\\u{1b}[31m'"), "{err}");
    }

    #[test]
    fn a_bom_is_skipped_before_numbers_and_header_names_in_any_chunking() {
        for (text, header) in
            [(&b"\xEF\xBB\xBFy,x\r\n1,2\r\n3,4\r\n"[..], Some(vec!["y".to_string(), "x".to_string()])), (&b"\xEF\xBB\xBF1,2\n3,4"[..], None)]
        {
            for size in 1..text.len() {
                let chunks: Vec<&[u8]> = text.chunks(size).collect();
                let (values, reader) = read_all(&chunks, Width::Any).unwrap();
                assert_eq!(values, vec![1.0, 2.0, 3.0, 4.0], "chunk size {size}");
                assert_eq!(reader.header().map(<[String]>::to_vec), header, "chunk size {size}");
            }
        }
        // Only at the start of a source: a BOM mid-file is a bad cell.
        let err = read_all(&[b"1,2\n\xEF\xBB\xBF3,4\n"], Width::Any).unwrap_err();
        assert_eq!(err.code(), "NON_NUMERIC_VALUE", "{err}");
        // Shorter sources than a BOM still parse.
        assert_eq!(read_all(&[b"7"], Width::Any).unwrap().0, vec![7.0]);
        assert_eq!(read_all(&[b"7", b"\n"], Width::Any).unwrap().0, vec![7.0]);
    }

    #[test]
    fn quoted_cells_may_hold_commas_and_are_numbers_only_when_closed() {
        let (values, reader) = read_all(&[b"\"price, $\",\" x \"\"1\"\" \"\n\" 2.5 \",\"3\"\n"], Width::Any).unwrap();
        assert_eq!(values, vec![2.5, 3.0]);
        assert_eq!(reader.header().unwrap(), ["price, $", "x \"1\""]);
        let cases: [(&[u8], &str); 5] = [
            (b"1,2\n4,\"1,5\"\n", "line 2, column 2: '1,5'"),
            (b"1,\"0\"\n4,\"1.234,5\"\n", "line 2, column 2: '1.234,5'"),
            (b"4,\"1,5\"\n", "line 1, column 2: '1,5'"),
            (b"1,2\n4,\"1\n", "line 2, column 2: '\"1'"),
            (b"1,2\n4,0x10\n", "line 2, column 2: '0x10'"),
        ];
        for (text, needle) in cases {
            let err = read_all(&[text], Width::Any).unwrap_err();
            assert_eq!(err.code(), "NON_NUMERIC_VALUE", "{err}");
            assert!(err.to_string().contains(needle), "{err} lacks {needle}");
        }
    }

    #[test]
    fn feature_dim_against_a_header_names_feature_dim_and_the_header_columns() {
        let err = read_all(&[b"y,a,b\n1,2,3\n"], Width::Exactly(4)).unwrap_err();
        assert_eq!(err.code(), "FEATURE_DIM_MISMATCH", "{err}");
        assert!(err.to_string().contains("data.csv line 1 has 3 columns but feature_dim=3 needs 4"), "{err}");
        let (values, reader) = read_all(&[b"y,a,b\n1,2,3\n"], Width::Exactly(3)).unwrap();
        assert_eq!((values.len(), reader.header().unwrap().len()), (3, 3));
        let err = read_all(&[b"y,a,b\n1,2,3,4\n"], Width::Exactly(3)).unwrap_err();
        assert!(err.to_string().contains("line 2 has 4 columns but feature_dim=2 needs 3"), "{err}");
    }

    #[test]
    fn rows_and_headers_wider_than_the_fit_can_hold_are_refused_early() {
        let row = |cells: usize, cell: &str| format!("{}\n", vec![cell; cells].join(","));
        let (values, _) = read_all(&[row(MAX_COLUMNS, "1").as_bytes()], Width::Any).unwrap();
        assert_eq!(values.len(), MAX_COLUMNS);
        for (text, rule) in [
            (row(MAX_COLUMNS + 1, "1"), Width::Any),
            (row(MAX_COLUMNS + 1, "1"), Width::Exactly(MAX_COLUMNS + 1)),
            (row(MAX_COLUMNS * 10, "name"), Width::Any),
        ] {
            let err = read_all(&[text.as_bytes()], rule).unwrap_err();
            assert_eq!(err.code(), "TOO_MANY_COLUMNS", "{err}");
            assert!(err.to_string().contains("line 1 has"), "{err}");
        }
    }

    #[test]
    fn a_line_without_end_stops_at_the_carry_limit() {
        let mut reader = CsvReader::new(Width::Any, 1);
        let mut out = Vec::new();
        reader.begin_source("blob");
        reader.push(b"1,2\n", &mut out).unwrap();
        let err = crate::testing::push_endless_line(MAX_LINE_BYTES, |chunk| reader.push(chunk, &mut out));
        assert_eq!(err.code(), "LINE_TOO_LONG");
        assert!(err.to_string().starts_with("blob line 2 runs past 64 MiB"), "{err}");
    }
}
