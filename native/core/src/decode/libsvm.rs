//! libsvm text (`text/libsvm`) to f64 rows. One row per line:
//! `label index:value index:value ...`, tokens separated by spaces or tabs,
//! a `#` starting a comment that runs to the end of the line. Indices count
//! from 1 (from 0 when the data is declared zero-based), need not ascend, and
//! a feature a line leaves out is 0. Rows come out dense: the label, then one
//! value per feature.
//!
//! The width is the label plus the largest index. When nothing declared it
//! (training without `feature_dim`) it is known only once every source was
//! read, so the decoder asks for a survey: the first pass checks every line
//! and gives no rows, and the rows come in a second pass with the surveyed
//! width as the rule (see `StreamingFit`).
//!
//! Lines are parsed on the calling thread, one pass over the bytes; a line cut
//! by a chunk boundary is carried over, so any chunking gives the same rows
//! and the same errors.

use super::csv::{parse_number, MAX_LINE_BYTES};
use super::{Decoder, SourceSummary, Width, MAX_COLUMNS};
use crate::error::{CoreError, Location};
use memchr::{memchr, memchr_iter, memrchr};

const BOM: &[u8] = b"\xEF\xBB\xBF";

/// Most features a surveyed line may reach: with the label, [`MAX_COLUMNS`].
const SURVEY_FEATURES: usize = MAX_COLUMNS - 1;

/// Indices with more significant digits are beyond any width (and could overflow u64).
const MAX_INDEX_DIGITS: usize = 18;

/// How rows are laid out once the rule or the first data line fixed it.
#[derive(Clone, Copy, Debug, PartialEq)]
struct Layout {
    features: usize,
    labelled: bool,
}

impl Layout {
    fn width(self) -> usize {
        self.features + usize::from(self.labelled)
    }
}

/// What is wrong with one token; the reader adds the line and the fix.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Fault {
    /// The label or a value is not a number.
    NotANumber,
    NotFinite,
    /// A token after the label without `:`.
    NoColon,
    /// The text before `:` is not a whole number.
    BadIndex,
    /// Index 0 where indices count from 1.
    ZeroIndex,
    /// A `qid:` ranking group.
    Qid,
    /// The line already had this feature.
    Repeated,
    /// A feature beyond what the rule allows: the features its index implies.
    Beyond {
        features: usize,
    },
    /// A training line whose first token is a feature, not the label.
    NoLabel,
}

/// A refused token: its 1-based position on the line and its bytes.
#[derive(Clone, Copy, Debug)]
struct Refused {
    token: usize,
    start: usize,
    fault: Fault,
}

fn refuse(token: usize, start: usize, fault: Fault) -> Refused {
    Refused { token, start, fault }
}

#[inline(always)]
fn is_separator(b: u8) -> bool {
    // Spaces and tabs; a `\r` before the newline (and other ASCII blanks)
    // separates like them.
    b == b' ' || b == b'\t' || b == b'\r' || b == b'\x0c'
}

#[inline(always)]
fn skip_separators(line: &[u8], mut pos: usize) -> usize {
    while pos < line.len() && is_separator(line[pos]) {
        pos += 1;
    }
    pos
}

#[inline(always)]
fn token_end(line: &[u8], mut pos: usize) -> usize {
    while pos < line.len() && !is_separator(line[pos]) {
        pos += 1;
    }
    pos
}

/// A whole token as a finite number.
#[inline(always)]
fn whole_number(token: &[u8]) -> Result<f64, Fault> {
    match parse_number(token) {
        Some((value, used)) if used == token.len() => {
            if value.is_finite() {
                Ok(value)
            } else {
                Err(Fault::NotFinite)
            }
        }
        _ => Err(Fault::NotANumber),
    }
}

/// Why a token with no valid `index:` prefix was refused.
#[cold]
fn index_fault(token: &[u8]) -> Fault {
    if token.starts_with(b"qid:") {
        Fault::Qid
    } else if memchr(b':', token).is_none() {
        Fault::NoColon
    } else {
        Fault::BadIndex
    }
}

/// The `index:value` tokens of one line from `pos` on (`token` tokens came
/// before): each value goes to `row[feature]` when a row is given, zeros
/// stay where no index names a feature. `limit` features are allowed;
/// `seen[feature] == stamp` marks a feature this line already had (the
/// caller gives each line a new stamp). Returns the features the line
/// implies: its largest feature + 1, or 0 without any.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn parse_features(
    line: &[u8],
    mut pos: usize,
    mut token: usize,
    mut row: Option<&mut [f64]>,
    limit: usize,
    zero_based: bool,
    seen: &mut [u64],
    stamp: u64,
) -> Result<usize, Refused> {
    let len = line.len();
    let mut implied = 0usize;
    loop {
        pos = skip_separators(line, pos);
        if pos >= len {
            return Ok(implied);
        }
        token += 1;
        let start = pos;
        while pos < len && line[pos] == b'0' {
            pos += 1;
        }
        let significant = pos;
        let mut index: u64 = 0;
        while pos < len && line[pos].is_ascii_digit() {
            index = index.wrapping_mul(10).wrapping_add(u64::from(line[pos] - b'0'));
            pos += 1;
        }
        if pos == start || pos >= len || line[pos] != b':' {
            return Err(refuse(token, start, index_fault(&line[start..token_end(line, start)])));
        }
        if pos - significant > MAX_INDEX_DIGITS {
            // Beyond any width; wrapped digits must not land inside it.
            index = u64::MAX;
        }
        pos += 1;
        let feature = if zero_based {
            index
        } else if index == 0 {
            return Err(refuse(token, start, Fault::ZeroIndex));
        } else {
            index - 1
        };
        let feature = usize::try_from(feature).unwrap_or(usize::MAX);
        if feature >= limit {
            return Err(refuse(token, start, Fault::Beyond { features: feature.saturating_add(1) }));
        }
        let value = match parse_number(&line[pos..]) {
            Some((value, used)) if pos + used == len || is_separator(line[pos + used]) => {
                pos += used;
                value
            }
            _ => return Err(refuse(token, start, Fault::NotANumber)),
        };
        if !value.is_finite() {
            return Err(refuse(token, start, Fault::NotFinite));
        }
        if seen[feature] == stamp {
            return Err(refuse(token, start, Fault::Repeated));
        }
        seen[feature] = stamp;
        if let Some(row) = row.as_deref_mut() {
            row[feature] = value;
        }
        implied = implied.max(feature + 1);
    }
}

/// User text for a message: at most 40 characters, control characters escaped.
fn shown(bytes: &[u8]) -> String {
    const MAX: usize = 40;
    let text = String::from_utf8_lossy(bytes);
    let mut out = String::new();
    for c in text.chars().take(MAX) {
        if c.is_control() {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    if text.chars().count() > MAX {
        out.push_str("...");
    }
    out
}

/// Decodes libsvm sources into dense rows (see the module notes): with
/// `Width::Any` it only surveys, and [`Decoder::surveyed_width`] gives the
/// width for the pass that reads the rows.
#[derive(Debug)]
pub struct LibsvmReader {
    rule: Width,
    zero_based: bool,
    /// Fixed by the rule (`Exactly`) or by the first data line (`FeaturesOrLabelled`);
    /// `None` while surveying.
    layout: Option<Layout>,
    source: String,
    line: u64,
    /// The start of a line whose newline has not arrived yet.
    carry: Vec<u8>,
    summary: SourceSummary,
    first_data_line: Option<Location>,
    /// Survey: the most features a line implied, once a data line was seen.
    widest: Option<usize>,
    /// Per feature, the stamp of the last line that had it (repeats within a line).
    seen: Vec<u64>,
    stamp: u64,
}

impl LibsvmReader {
    /// A reader of rows of `rule`'s width; indices count from 0 when `zero_based`, else from 1.
    pub fn new(rule: Width, zero_based: bool) -> Self {
        let layout = match rule {
            Width::Exactly(w) => Some(Layout { features: w.saturating_sub(1), labelled: true }),
            _ => None,
        };
        LibsvmReader {
            rule,
            zero_based,
            layout,
            source: String::new(),
            line: 0,
            carry: Vec::new(),
            summary: SourceSummary::default(),
            first_data_line: None,
            widest: None,
            seen: Vec::new(),
            stamp: 0,
        }
    }

    fn at(&self, line: u64) -> Location {
        Location::line(&self.source, line)
    }

    /// A line still without its end may not grow past [`MAX_LINE_BYTES`].
    fn check_carry(&self) -> Result<(), CoreError> {
        if self.carry.len() > MAX_LINE_BYTES {
            return Err(CoreError::LineTooLong { at: self.at(self.line + 1), max: MAX_LINE_BYTES });
        }
        Ok(())
    }

    /// Complete lines, each ending in '\n'.
    fn take_lines(&mut self, bytes: &[u8], out: &mut Vec<f64>) -> Result<(), CoreError> {
        // Most files have no comments: then no line is searched for one.
        let comments = memchr(b'#', bytes).is_some();
        let mut start = 0;
        for end in memchr_iter(b'\n', bytes) {
            self.take_line(&bytes[start..end], comments, out)?;
            start = end + 1;
        }
        Ok(())
    }

    /// One line (without its '\n'): blank, a comment, or a data line.
    fn take_line(&mut self, line: &[u8], comments: bool, out: &mut Vec<f64>) -> Result<(), CoreError> {
        self.line += 1;
        if line.len() > MAX_LINE_BYTES {
            return Err(CoreError::LineTooLong { at: self.at(self.line), max: MAX_LINE_BYTES });
        }
        let mut line = line;
        if self.line == 1 {
            line = line.strip_prefix(BOM).unwrap_or(line);
        }
        if comments {
            if let Some(hash) = memchr(b'#', line) {
                line = &line[..hash];
            }
        }
        let start = skip_separators(line, 0);
        if start == line.len() {
            return Ok(());
        }
        let first_end = token_end(line, start);
        let labelled = memchr(b':', &line[start..first_end]).is_none();
        let layout = match self.rule {
            Width::Any => return self.survey_line(line, start, first_end, labelled),
            Width::Exactly(w) => {
                if w > MAX_COLUMNS {
                    return Err(CoreError::TooManyColumns { at: self.at(self.line), got: w, max: MAX_COLUMNS });
                }
                if !labelled {
                    return Err(self.refused(line, refuse(1, start, Self::first_token_fault(&line[start..first_end]))));
                }
                Layout { features: w.saturating_sub(1), labelled: true }
            }
            Width::FeaturesOrLabelled(p) => match self.layout {
                Some(layout) if layout.labelled != labelled => return Err(self.label_disagrees(line, start, first_end, labelled)),
                Some(layout) => layout,
                None => {
                    let layout = Layout { features: p, labelled };
                    self.layout = Some(layout);
                    layout
                }
            },
        };
        self.dense_line(line, start, first_end, layout, out)
    }

    /// Why a training line's first token, which has a ':', is not its label.
    fn first_token_fault(token: &[u8]) -> Fault {
        if token.starts_with(b"qid:") {
            Fault::Qid
        } else {
            Fault::NoLabel
        }
    }

    fn next_stamp(&mut self, features: usize) -> u64 {
        if self.seen.len() < features {
            self.seen.resize(features, 0);
        }
        self.stamp += 1;
        self.stamp
    }

    fn count_data_line(&mut self) {
        self.summary.rows += 1;
        if self.first_data_line.is_none() {
            self.first_data_line = Some(self.at(self.line));
        }
    }

    /// A line of the survey: checked completely, its features counted, nothing kept.
    fn survey_line(&mut self, line: &[u8], start: usize, first_end: usize, labelled: bool) -> Result<(), CoreError> {
        if !labelled {
            return Err(self.refused(line, refuse(1, start, Self::first_token_fault(&line[start..first_end]))));
        }
        whole_number(&line[start..first_end]).map_err(|fault| self.refused(line, refuse(1, start, fault)))?;
        let stamp = self.next_stamp(SURVEY_FEATURES);
        let implied = parse_features(line, first_end, 1, None, SURVEY_FEATURES, self.zero_based, &mut self.seen, stamp)
            .map_err(|refused| self.refused(line, refused))?;
        self.widest = Some(self.widest.unwrap_or(0).max(implied));
        self.count_data_line();
        Ok(())
    }

    /// A line read into a dense row of `layout`'s width.
    fn dense_line(&mut self, line: &[u8], start: usize, first_end: usize, layout: Layout, out: &mut Vec<f64>) -> Result<(), CoreError> {
        let row_start = out.len();
        out.resize(row_start + layout.width(), 0.0);
        let (pos, token) = if layout.labelled {
            match whole_number(&line[start..first_end]) {
                Ok(label) => out[row_start] = label,
                Err(fault) => {
                    out.truncate(row_start);
                    return Err(self.refused(line, refuse(1, start, fault)));
                }
            }
            (first_end, 1)
        } else {
            (start, 0)
        };
        let stamp = self.next_stamp(layout.features);
        let row = &mut out[row_start + usize::from(layout.labelled)..];
        if let Err(refused) = parse_features(line, pos, token, Some(row), layout.features, self.zero_based, &mut self.seen, stamp) {
            out.truncate(row_start);
            return Err(self.refused(line, refused));
        }
        self.count_data_line();
        Ok(())
    }

    /// The error for a refused token of the current line.
    #[cold]
    fn refused(&self, line: &[u8], refused: Refused) -> CoreError {
        let at = self.at(self.line);
        let bytes = &line[refused.start..token_end(line, refused.start)];
        let text = String::from_utf8_lossy(bytes).into_owned();
        let k = refused.token;
        let first = if self.zero_based { 0 } else { 1 };
        let malformed = |detail: String| CoreError::Malformed { at: at.clone(), detail };
        match refused.fault {
            Fault::NotANumber => CoreError::NonNumeric { at, column: k, text },
            Fault::NotFinite => CoreError::NonFinite { at, column: k, text },
            Fault::NoColon => malformed(format!(
                "token {k} ('{}') is not index:value; a libsvm line is the label, then index:value pairs separated by spaces",
                shown(bytes)
            )),
            Fault::BadIndex => {
                let index = &bytes[..memchr(b':', bytes).unwrap_or(bytes.len())];
                malformed(format!(
                    "token {k} ('{}'): '{}' is not a feature index; indices are whole numbers counting from {first}",
                    shown(bytes),
                    shown(index)
                ))
            }
            Fault::ZeroIndex => malformed(format!(
                "token {k} ('{}') has index 0 but indices count from 1; if the data numbers its features from 0, declare the channel's ContentType as text/libsvm;zero_based=true, otherwise number them from 1",
                shown(bytes)
            )),
            Fault::Qid => malformed(format!(
                "token {k} ('{}') is a ranking group (qid), which regression does not use; remove the qid:N tokens",
                shown(bytes)
            )),
            Fault::Repeated => {
                let index = &bytes[..memchr(b':', bytes).unwrap_or(bytes.len())];
                malformed(format!(
                    "token {k} ('{}') repeats index {}; each feature may appear once per line",
                    shown(bytes),
                    shown(index)
                ))
            }
            Fault::NoLabel => malformed(format!(
                "token {k} ('{}') is index:value but a training line starts with its label; write label index:value index:value ...",
                shown(bytes)
            )),
            Fault::Beyond { features } => match (self.rule, self.layout) {
                (Width::Exactly(w), _) => CoreError::DeclaredFeatureMismatch { at, features: w.saturating_sub(1), got: features.saturating_add(1) },
                (Width::FeaturesOrLabelled(p), layout) => CoreError::FeatureCountMismatch {
                    at,
                    features: p,
                    got: features.saturating_add(usize::from(layout.is_some_and(|l| l.labelled))),
                },
                (Width::Any, _) => CoreError::TooManyColumns { at, got: features.saturating_add(1), max: MAX_COLUMNS },
            },
        }
    }

    /// A scoring line that has a label when the first data line had none, or the reverse.
    #[cold]
    fn label_disagrees(&self, line: &[u8], start: usize, first_end: usize, labelled: bool) -> CoreError {
        let first = self.first_data_line.as_ref().map_or_else(|| "the first data line".to_string(), Location::to_string);
        let token = shown(&line[start..first_end]);
        let detail = if labelled {
            format!("it starts with a label ('{token}') but {first} has none; either every line starts with its label or none does")
        } else {
            format!("it has no label (its first token '{token}' is index:value) but {first} starts with one; either every line starts with its label or none does")
        };
        CoreError::Malformed { at: self.at(self.line), detail }
    }
}

impl Decoder for LibsvmReader {
    fn begin_source(&mut self, name: &str) {
        self.source = name.to_string();
        self.line = 0;
        self.carry.clear();
        self.summary = SourceSummary::default();
    }

    fn push(&mut self, mut bytes: &[u8], out: &mut Vec<f64>) -> Result<(), CoreError> {
        if !self.carry.is_empty() {
            let Some(end) = memchr(b'\n', bytes) else {
                self.carry.extend_from_slice(bytes);
                return self.check_carry();
            };
            // The carried line is completed in its own buffer, kept for the next one.
            let mut line = std::mem::take(&mut self.carry);
            line.extend_from_slice(&bytes[..end]);
            let result = self.take_line(&line, true, out);
            line.clear();
            self.carry = line;
            result?;
            bytes = &bytes[end + 1..];
        }
        match memrchr(b'\n', bytes) {
            None => self.carry.extend_from_slice(bytes),
            Some(last) => {
                self.take_lines(&bytes[..=last], out)?;
                self.carry.extend_from_slice(&bytes[last + 1..]);
            }
        }
        self.check_carry()
    }

    fn end_source(&mut self, out: &mut Vec<f64>) -> Result<SourceSummary, CoreError> {
        if !self.carry.is_empty() {
            let line = std::mem::take(&mut self.carry);
            let result = self.take_line(&line, true, out);
            self.carry = line;
            self.carry.clear();
            result?;
        }
        let mut summary = self.summary;
        summary.empty = summary.rows == 0;
        self.summary = SourceSummary::default();
        self.line = 0;
        Ok(summary)
    }

    fn width(&self) -> Option<usize> {
        self.layout.map(Layout::width)
    }

    fn header(&self) -> Option<&[String]> {
        None
    }

    fn source_has_header(&self) -> bool {
        false
    }

    fn first_data_line(&self) -> Option<&Location> {
        self.first_data_line.as_ref()
    }

    fn surveyed_width(&self) -> Option<usize> {
        match self.rule {
            Width::Any => self.widest.map(|features| features + 1),
            _ => None,
        }
    }

    fn needs_survey(&self) -> bool {
        self.rule == Width::Any
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decode::csv::CsvReader;
    use crate::decode::{ChannelReader, Declared, Format};
    use crate::error::CODES;
    use crate::testing::Lcg;

    type Read = (Vec<f64>, Vec<SourceSummary>, LibsvmReader);

    /// Reads `sources` in chunks of `chunk` bytes.
    fn read_chunked(rule: Width, zero_based: bool, sources: &[(&str, &[u8])], chunk: usize) -> Result<Read, CoreError> {
        let mut reader = LibsvmReader::new(rule, zero_based);
        let mut out = Vec::new();
        let mut summaries = Vec::new();
        for (name, bytes) in sources {
            reader.begin_source(name);
            for piece in bytes.chunks(chunk.max(1)) {
                reader.push(piece, &mut out)?;
            }
            summaries.push(reader.end_source(&mut out)?);
        }
        Ok((out, summaries, reader))
    }

    fn read(rule: Width, text: &[u8]) -> Result<Read, CoreError> {
        read_chunked(rule, false, &[("data.svm", text)], usize::MAX)
    }

    fn values(rule: Width, text: &[u8]) -> Vec<f64> {
        read(rule, text).unwrap().0
    }

    fn error(rule: Width, text: &[u8]) -> CoreError {
        match read(rule, text) {
            Ok((out, ..)) => panic!("{:?} read as {out:?}", String::from_utf8_lossy(text)),
            Err(err) => err,
        }
    }

    fn bits(values: &[f64]) -> Vec<u64> {
        values.iter().map(|v| v.to_bits()).collect()
    }

    #[test]
    fn numbers_give_the_same_bits_as_csv() {
        let cells = crate::testing::number_spellings(29, 6_000);
        let mut rng = Lcg::new(31);
        let features = 4;
        let (mut csv, mut svm) = (String::new(), String::new());
        for row in cells.chunks_exact(features + 1) {
            csv.push_str(&row.join(","));
            csv.push('\n');
            svm.push_str(&row[0]);
            // Indices in a shuffled order, separated by spaces or tabs.
            let rotate = (rng.uniform() * features as f64) as usize;
            for j in (0..features).map(|j| (j + rotate) % features) {
                svm.push_str(if rng.uniform() < 0.5 { " " } else { "\t" });
                svm.push_str(&format!("{}:{}", j + 1, row[j + 1]));
            }
            svm.push('\n');
        }
        let mut reader = CsvReader::new(Width::Any, 1);
        let mut expected = Vec::new();
        reader.begin_source("data.csv");
        reader.push(csv.as_bytes(), &mut expected).unwrap();
        reader.end_source(&mut expected).unwrap();
        assert_eq!(expected.len(), cells.len() / (features + 1) * (features + 1));
        let got = values(Width::Exactly(features + 1), svm.as_bytes());
        assert_eq!(bits(&got), bits(&expected));
        let scored = values(Width::FeaturesOrLabelled(features), svm.as_bytes());
        assert_eq!(bits(&scored), bits(&expected));
    }

    #[test]
    fn indices_count_from_one_or_from_zero_and_missing_features_are_zero() {
        let text = b"7 3:1.5 1:-2\n8\n9 2:4\n";
        assert_eq!(values(Width::Exactly(4), text), [7.0, -2.0, 0.0, 1.5, 8.0, 0.0, 0.0, 0.0, 9.0, 0.0, 4.0, 0.0]);
        let (out, ..) = read_chunked(Width::Exactly(4), true, &[("zero.svm", b"7 2:1.5 0:-2\n8\n9 1:4\n")], usize::MAX).unwrap();
        assert_eq!(out, [7.0, -2.0, 0.0, 1.5, 8.0, 0.0, 0.0, 0.0, 9.0, 0.0, 4.0, 0.0]);
        // A wider declared width pads with zeros.
        assert_eq!(values(Width::Exactly(5), b"1 2:3\n"), [1.0, 0.0, 3.0, 0.0, 0.0]);
    }

    #[test]
    fn the_survey_checks_every_line_keeps_nothing_and_learns_the_width() {
        let sources: [(&str, &[u8]); 3] = [("a.svm", b"1 1:10 3:30\n2 2:20\n"), ("b.svm", b"\n# only a comment\n"), ("c.svm", b"3\n4 5:50 1:1")];
        let (out, summaries, survey) = read_chunked(Width::Any, false, &sources, usize::MAX).unwrap();
        assert!(out.is_empty(), "the survey gives no rows");
        assert!(survey.needs_survey());
        assert_eq!(survey.width(), None);
        assert_eq!(survey.surveyed_width(), Some(6));
        assert_eq!(survey.first_data_line(), Some(&Location::line("a.svm", 1)));
        assert_eq!(summaries.iter().map(|s| (s.rows, s.empty)).collect::<Vec<_>>(), [(2, false), (0, true), (2, false)]);
        // The second pass, as StreamingFit runs it: the surveyed width is the rule.
        let (rows, again, reader) = read_chunked(Width::Exactly(6), false, &sources, usize::MAX).unwrap();
        assert!(!reader.needs_survey());
        assert_eq!((reader.width(), reader.surveyed_width()), (Some(6), None));
        assert_eq!(again, summaries);
        #[rustfmt::skip]
        let expected = [
            1.0, 10.0, 0.0, 30.0, 0.0, 0.0,
            2.0, 0.0, 20.0, 0.0, 0.0, 0.0,
            3.0, 0.0, 0.0, 0.0, 0.0, 0.0,
            4.0, 1.0, 0.0, 0.0, 0.0, 50.0,
        ];
        assert_eq!(rows, expected);
        // Nothing but labels still counts rows (and gives a width of 1); no data gives no width.
        assert_eq!(read(Width::Any, b"1\n2\n").unwrap().2.surveyed_width(), Some(1));
        assert_eq!(read(Width::Any, b"\n# nothing\n").unwrap().2.surveyed_width(), None);
        // Errors surface in the survey, with their line.
        let err = error(Width::Any, b"1 1:2\n2 2:x\n");
        assert!(err.to_string().starts_with("data.svm line 2, column 2: '2:x'"), "{err}");
    }

    #[test]
    fn training_without_feature_dim_surveys_then_fits() {
        use crate::fit::{FitOptions, NextPass, StreamingFit};
        // y = 1 + 2·x1 − x2, the features written in either order.
        let mut text = String::new();
        for i in 0..40 {
            let (a, b) = (i as f64 * 0.5, ((i * 7) % 11) as f64);
            let y = 1.0 + 2.0 * a - b;
            text.push_str(&format!("{y} 2:{b}\t1:{a}\n"));
        }
        let declared = Declared { format: Some(Format::Libsvm), ..Declared::default() };
        let mut fit = StreamingFit::with_format(FitOptions::default(), None, 1, declared).unwrap();
        let stream = |fit: &mut StreamingFit| {
            fit.begin_source("train.svm");
            for chunk in text.as_bytes().chunks(97) {
                fit.push(chunk).unwrap();
            }
            fit.end_source().unwrap()
        };
        assert_eq!(stream(&mut fit).rows, 40);
        assert!(fit.finish().unwrap().is_none(), "the first pass only surveys");
        assert_eq!(fit.next_pass(), Some(NextPass::Rows));
        fit.start_next_pass().unwrap();
        stream(&mut fit);
        let model = fit.finish().unwrap().expect("the second pass fits");
        assert_eq!(model.coefficients.len(), 2);
        assert!((model.intercept - 1.0).abs() < 1e-12 && (model.coefficients[0] - 2.0).abs() < 1e-12, "{model:?}");
        assert!((model.coefficients[1] + 1.0).abs() < 1e-12, "{model:?}");
    }

    #[test]
    fn bad_tokens_name_the_line_the_token_and_the_fix() {
        let any = Width::Any;
        let exact = Width::Exactly(4);
        let cases: [(Width, &[u8], &str, &str); 16] = [
            (exact, b"1 1:2\n2 3:abc\n", "NON_NUMERIC_VALUE", "data.svm line 2, column 2: '3:abc' is not a number"),
            (exact, b"1 1:2\n2 2:4 1:\n", "NON_NUMERIC_VALUE", "data.svm line 2, column 3: '1:'"),
            (exact, b"1 1:2x\n", "NON_NUMERIC_VALUE", "line 1, column 2: '1:2x'"),
            (exact, b"abc 1:2\n", "NON_NUMERIC_VALUE", "line 1, column 1: 'abc'"),
            (exact, b"1 1:2\n2 2:NaN\n", "NON_FINITE_VALUE", "data.svm line 2, column 2: '2:NaN'"),
            (any, b"inf 1:2\n", "NON_FINITE_VALUE", "line 1, column 1: 'inf'"),
            (any, b"1 1:1e400\n", "NON_FINITE_VALUE", "'1:1e400'"),
            (exact, b"1 x:1\n", "MALFORMED_RECORD", "data.svm line 1: token 2 ('x:1'): 'x' is not a feature index"),
            (any, b"1 -1:1\n", "MALFORMED_RECORD", "token 2 ('-1:1'): '-1' is not a feature index; indices are whole numbers counting from 1"),
            (any, b"1 2:1 3\n", "MALFORMED_RECORD", "data.svm line 1: token 3 ('3') is not index:value"),
            (exact, b"1 1:2\n\n2 0:5\n", "MALFORMED_RECORD", "data.svm line 3: token 2 ('0:5') has index 0 but indices count from 1; if the data numbers its features from 0, declare the channel's ContentType as text/libsvm;zero_based=true"),
            (any, b"1 2:5 1:1 2:6\n", "MALFORMED_RECORD", "data.svm line 1: token 4 ('2:6') repeats index 2; each feature may appear once per line"),
            (exact, b"3 qid:1 1:2\n", "MALFORMED_RECORD", "data.svm line 1: token 2 ('qid:1') is a ranking group (qid), which regression does not use; remove the qid:N tokens"),
            (any, b"qid:1 1:2\n", "MALFORMED_RECORD", "token 1 ('qid:1') is a ranking group"),
            (any, b"1:2 2:3\n", "MALFORMED_RECORD", "data.svm line 1: token 1 ('1:2') is index:value but a training line starts with its label"),
            (exact, b"1 1:2\n4 1:1\x1b[0m\n", "NON_NUMERIC_VALUE", "line 2, column 2: '1:1\\u{1b}[0m'"),
        ];
        for (rule, text, code, needle) in cases {
            let err = error(rule, text);
            assert_eq!(err.code(), code, "{err}");
            assert!(err.to_string().contains(needle), "{err}\nlacks {needle}");
        }
        // Zero-based data may use index 0, and its messages say so.
        let err = read_chunked(Width::Any, true, &[("z.svm", b"1 0:1 a:2\n")], usize::MAX).unwrap_err();
        assert!(err.to_string().contains("counting from 0"), "{err}");
    }

    #[test]
    fn an_index_beyond_the_width_names_the_line_and_the_limit() {
        let err = error(Width::Exactly(4), b"1 1:1\n2 3:1 4:1\n");
        assert_eq!(err.code(), "FEATURE_DIM_MISMATCH");
        assert!(err.to_string().starts_with("data.svm line 2 has 5 columns but feature_dim=3 needs 4"), "{err}");
        let err = read_chunked(Width::Exactly(4), true, &[("z.svm", b"1 3:1\n")], usize::MAX).unwrap_err();
        assert!(err.to_string().starts_with("z.svm line 1 has 5 columns but feature_dim=3"), "{err}");
        let err = error(Width::FeaturesOrLabelled(2), b"1 1:1\n1 3:1\n");
        assert_eq!(err.code(), "FEATURE_COUNT_MISMATCH");
        assert!(err.to_string().starts_with("data.svm line 2 has 4 columns but the model has 2 feature(s)"), "{err}");
        let err = error(Width::FeaturesOrLabelled(2), b"1:1 9:1\n");
        assert!(err.to_string().starts_with("data.svm line 1 has 9 columns but the model has 2 feature(s)"), "{err}");
        // The survey refuses a width beyond MAX_COLUMNS at the line that reaches it.
        let widest = format!("1 {}:1\n", MAX_COLUMNS - 1);
        assert_eq!(read(Width::Any, widest.as_bytes()).unwrap().2.surveyed_width(), Some(MAX_COLUMNS));
        let err = error(Width::Any, format!("{widest}2 {}:1\n", MAX_COLUMNS).as_bytes());
        assert_eq!(err.code(), "TOO_MANY_COLUMNS");
        assert!(err.to_string().starts_with(&format!("data.svm line 2 has {} columns; at most {MAX_COLUMNS}", MAX_COLUMNS + 1)), "{err}");
        for index in ["99999999999999999999999999", "18446744073709551617", "1000000000000000000"] {
            let err = error(Width::Any, format!("1 {index}:1\n").as_bytes());
            assert_eq!(err.code(), "TOO_MANY_COLUMNS", "{err}");
        }
        // Leading zeros do not make an index large.
        assert_eq!(values(Width::Exactly(3), b"1 0000000000000000000000002:5\n"), [1.0, 0.0, 5.0]);
        let err = error(Width::Exactly(MAX_COLUMNS + 1), b"1 1:1\n");
        assert_eq!(err.code(), "TOO_MANY_COLUMNS", "{err}");
    }

    #[test]
    fn scoring_reads_lines_with_or_without_labels_but_not_both() {
        let (out, _, reader) = read(Width::FeaturesOrLabelled(3), b"2:5 1:4\n3:6\n").unwrap();
        assert_eq!((out, reader.width()), (vec![4.0, 5.0, 0.0, 0.0, 0.0, 6.0], Some(3)));
        let (out, _, reader) = read(Width::FeaturesOrLabelled(3), b"9 2:5\n8\n").unwrap();
        assert_eq!((out, reader.width()), (vec![9.0, 0.0, 5.0, 0.0, 8.0, 0.0, 0.0, 0.0], Some(4)));
        let err = error(Width::FeaturesOrLabelled(3), b"2:5\n\n7 1:1\n");
        assert_eq!(err.code(), "MALFORMED_RECORD");
        assert!(err.to_string().starts_with("data.svm line 3: it starts with a label ('7') but data.svm line 1 has none"), "{err}");
        let err = error(Width::FeaturesOrLabelled(3), b"7 1:1\n2:5\n");
        assert!(
            err.to_string().contains("line 2: it has no label (its first token '2:5' is index:value) but data.svm line 1 starts with one"),
            "{err}"
        );
        // The first line of the channel decides, across sources.
        let err = read_chunked(Width::FeaturesOrLabelled(1), false, &[("a", b"1 1:1\n"), ("b", b"1:1\n")], usize::MAX).unwrap_err();
        assert!(err.to_string().starts_with("b line 1: it has no label"), "{err}");
        // Sniffed through a channel, as scoring and serving read it.
        let mut channel = ChannelReader::new(Width::FeaturesOrLabelled(2), 1, Declared::default());
        let mut out = Vec::new();
        channel.begin_source("body");
        channel.push(b"3 2:1.5\n", &mut out).unwrap();
        channel.end_source(&mut out).unwrap();
        assert_eq!((channel.format(), channel.width(), out), (Some(Format::Libsvm), Some(3), vec![3.0, 0.0, 1.5]));
    }

    #[test]
    fn comments_tabs_carriage_returns_and_a_bom_are_read_through() {
        let text = b"\xEF\xBB\xBF# made by hand\r\n1\t1:2  2:3 # trailing note\r\n \t\r\n2 2:4#tight\r\n#\n3 1:1\r";
        let (out, summaries, reader) = read(Width::Exactly(3), text).unwrap();
        assert_eq!(out, [1.0, 2.0, 3.0, 2.0, 0.0, 4.0, 3.0, 1.0, 0.0]);
        assert_eq!(summaries, [SourceSummary { rows: 3, had_header: false, empty: false }]);
        assert_eq!((reader.first_data_line(), reader.header(), reader.source_has_header()), (Some(&Location::line("data.svm", 2)), None, false));
        // A BOM is skipped only at the start of a source.
        let err = error(Width::Exactly(3), b"1 1:2\n\xEF\xBB\xBF2 1:1\n");
        assert_eq!(err.code(), "NON_NUMERIC_VALUE", "{err}");
    }

    /// Texts that read, and texts that fail, in every rule.
    fn samples() -> Vec<(Width, &'static [u8])> {
        vec![
            (Width::Exactly(4), b"1 1:2 3:4\r\n\n# c\n2\t2:5 # x\n3 3:1e-3\n4"),
            (Width::Any, b"1 1:2 3:4\r\n\n2\t2:5 9:1\n3"),
            (Width::FeaturesOrLabelled(3), b"1:2 3:4\n\n2:5\r\n3:7"),
            (Width::FeaturesOrLabelled(3), b"5 1:2 3:4\n6\n"),
            (Width::Exactly(4), b"1 1:2\n2 2:3\n3 3:abc\n4 1:1\n"),
            (Width::Exactly(4), b"1 1:2\n2 2:3 2:4\n"),
            (Width::Exactly(4), b"1 1:2\n2 5:3\n"),
            (Width::Any, b"1 1:2\n2 qid:3 1:1\n"),
            (Width::Any, b"1 1:2\n\n2 0:3\n"),
            (Width::FeaturesOrLabelled(3), b"1:2\n1 1:2"),
            (Width::Exactly(4), b"1 1:2\n2 1:nan"),
        ]
    }

    #[test]
    fn any_chunking_gives_the_same_rows_and_errors() {
        for (rule, text) in samples() {
            let whole = read_chunked(rule, false, &[("s.svm", text)], usize::MAX).map(|(out, summaries, _)| (bits(&out), summaries));
            for size in 1..text.len() {
                let chunked = read_chunked(rule, false, &[("s.svm", text)], size).map(|(out, summaries, _)| (bits(&out), summaries));
                assert_eq!(chunked, whole, "{:?} in chunks of {size}", String::from_utf8_lossy(text));
            }
        }
    }

    #[test]
    fn a_line_without_end_stops_at_the_carry_limit() {
        let mut reader = LibsvmReader::new(Width::Any, false);
        let mut out = Vec::new();
        reader.begin_source("blob");
        reader.push(b"1 1:2\n", &mut out).unwrap();
        let err = crate::testing::push_endless_line(MAX_LINE_BYTES, |chunk| reader.push(chunk, &mut out));
        assert_eq!(err.code(), "LINE_TOO_LONG");
        assert!(err.to_string().starts_with("blob line 2 runs past 64 MiB"), "{err}");
        // The same line whole in one chunk is refused the same way.
        let mut text = b"1 1:2\n".to_vec();
        text.resize(text.len() + MAX_LINE_BYTES + 1, b'7');
        text.push(b'\n');
        assert_eq!(read_chunked(Width::Any, false, &[("blob", &text)], usize::MAX).unwrap_err(), err);
    }

    #[test]
    fn random_bytes_and_truncations_never_panic_and_do_not_depend_on_chunks() {
        let mut rng = Lcg::new(31);
        let alphabet = b"0123456789012345:::...   \t\t\n\n\r#-+eEqidnaNinfx\xEF\xBB\xBF\x00";
        let rules = [Width::Any, Width::Exactly(4), Width::FeaturesOrLabelled(3)];
        let check = |text: &[u8], rng: &mut Lcg| {
            for rule in rules {
                let zero_based = rng.uniform() < 0.5;
                let whole = read_chunked(rule, zero_based, &[("f.svm", text)], usize::MAX);
                if let Err(err) = &whole {
                    assert!(CODES.contains(&err.code()) && err.code() != "INTERNAL_ERROR", "{err}");
                }
                let size = 1 + (rng.uniform() * 16.0) as usize;
                let chunked = read_chunked(rule, zero_based, &[("f.svm", text)], size);
                let outcome = |r: &Result<Read, CoreError>| r.as_ref().map(|(out, s, _)| (bits(out), s.clone())).map_err(Clone::clone);
                assert_eq!(outcome(&chunked), outcome(&whole), "{:?}", String::from_utf8_lossy(text));
            }
        };
        for _ in 0..3_000 {
            let len = (rng.uniform() * 60.0) as usize;
            let text: Vec<u8> = (0..len)
                .map(|_| if rng.uniform() < 0.9 { alphabet[(rng.uniform() * alphabet.len() as f64) as usize] } else { rng.next_u64() as u8 })
                .collect();
            check(&text, &mut rng);
        }
        for (_, text) in samples() {
            for end in 0..=text.len() {
                check(&text[..end], &mut rng);
            }
        }
    }
}
