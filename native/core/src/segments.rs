//! Segments: the unit of an exact reduction that does not care who read what.
//!
//! A segment is one source (a file, a pipe). Its rows fold into lanes that
//! restart at its first row, its lanes merge in a fixed order into its own
//! triangle, and segments merge in the order of their names (the order in
//! which one host lists a channel's files). So the factor of a channel
//! depends only on the files and their names: one host reading every file,
//! several hosts each reading some (a segment's state travels in the wire
//! format below), or a job resumed after its k-th file give the same bits.
//!
//! Every segment is reduced in one basis (the [`Shift`] of the first rows of
//! the first segment that has rows), so their triangles merge as they are.

use crate::accumulate::{Design, Shift};
use crate::dd::Dd;
use crate::error::CoreError;
use crate::scalar::Scalar;
use crate::tsqr::Triangle;

/// One source's rows, reduced.
#[derive(Clone, Debug)]
pub struct Segment<T> {
    /// The source's name, as the channel's listing orders it.
    pub name: String,
    /// Rows folded in (those of positive weight).
    pub rows: u64,
    /// Σ w of those rows, summed in row order from 0.
    pub weight: f64,
    pub triangle: Triangle<T>,
}

/// Segments merged in order: the running state of a channel's factor.
#[derive(Clone, Debug)]
pub struct Reduction<T> {
    pub triangle: Option<Triangle<T>>,
    pub rows: u64,
    pub weight: f64,
}

impl<T: Scalar> Default for Reduction<T> {
    fn default() -> Self {
        Reduction { triangle: None, rows: 0, weight: 0.0 }
    }
}

impl<T: Scalar> Reduction<T> {
    /// Merges the next segment in order; a segment without rows changes nothing.
    /// A merge a stop (SIGTERM) cuts short is not kept (answers false): a
    /// checkpoint taken then still holds the segments before it, whole.
    pub fn add(&mut self, segment: Segment<T>) -> bool {
        if segment.rows == 0 {
            return true;
        }
        match self.triangle.as_mut() {
            Some(triangle) => {
                let mut merged = triangle.clone();
                merged.merge(&segment.triangle);
                if crate::cancel::requested() {
                    return false;
                }
                *triangle = merged;
            }
            None => self.triangle = Some(segment.triangle),
        }
        self.rows += segment.rows;
        self.weight += segment.weight;
        true
    }

    /// The reduction of `segments` from any number of hosts, in the order of
    /// their names; a name seen twice (a file read by two hosts) is refused.
    pub fn of(mut segments: Vec<Segment<T>>) -> Result<Self, CoreError> {
        segments.sort_by(|a, b| listing_order(&a.name, &b.name));
        if let Some(pair) = segments.windows(2).find(|pair| pair[0].name == pair[1].name) {
            return Err(CoreError::InvalidArgument(format!(
                "{} was read twice (by two hosts, or listed twice); each file of a channel must be read by one host",
                pair[0].name
            )));
        }
        let mut reduction = Reduction::default();
        for segment in segments {
            if !reduction.add(segment) {
                return Err(CoreError::Terminated);
            }
        }
        Ok(reduction)
    }
}

/// The order of a channel's listing: names compared by UTF-16 code units,
/// as JavaScript's default sort compares them.
pub fn listing_order(a: &str, b: &str) -> std::cmp::Ordering {
    a.encode_utf16().cmp(b.encode_utf16())
}

/// What one host sends: the segments of one pass over its share of a channel.
#[derive(Clone, Debug)]
pub struct HostState<T> {
    pub design: Design,
    pub shift: Shift,
    /// Data rows read, rows of weight 0 included (they decide whether the
    /// data is small enough to always get the extended pass).
    pub rows_read: u64,
    pub segments: Vec<Segment<T>>,
}

/// The wire form of a segment's numbers.
pub trait WireScalar: Scalar {
    /// 1 for f64, 2 for double-double.
    const KIND: u8;
    fn write(self, out: &mut Vec<u8>);
    fn read(input: &mut Reader<'_>) -> Result<Self, CoreError>;
}

impl WireScalar for f64 {
    const KIND: u8 = 1;
    fn write(self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.to_le_bytes());
    }
    fn read(input: &mut Reader<'_>) -> Result<Self, CoreError> {
        input.f64()
    }
}

impl WireScalar for Dd {
    const KIND: u8 = 2;
    fn write(self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.hi.to_le_bytes());
        out.extend_from_slice(&self.lo.to_le_bytes());
    }
    fn read(input: &mut Reader<'_>) -> Result<Self, CoreError> {
        Ok(Dd::new(input.f64()?, input.f64()?))
    }
}

/// "LNSG": linear segments.
const MAGIC: &[u8; 4] = b"LNSG";
/// Bumped whenever the layout or the meaning of a field changes.
pub const WIRE_VERSION: u16 = 1;

impl<T: WireScalar> HostState<T> {
    /// Little-endian, versioned, ending in a CRC-32 of everything before it.
    pub fn encode(&self) -> Vec<u8> {
        let k = self.design.columns();
        let mut out = Vec::with_capacity(64 + self.segments.len() * (k * (k + 1) / 2 * 16 + 64));
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&WIRE_VERSION.to_le_bytes());
        out.push(T::KIND);
        out.push(u8::from(self.design.fit_intercept));
        out.extend_from_slice(&(self.design.features as u64).to_le_bytes());
        for v in self.shift.center.iter().chain(&self.shift.scale) {
            out.extend_from_slice(&v.to_le_bytes());
        }
        out.extend_from_slice(&self.rows_read.to_le_bytes());
        out.extend_from_slice(&(self.segments.len() as u64).to_le_bytes());
        for segment in &self.segments {
            out.extend_from_slice(&(segment.name.len() as u64).to_le_bytes());
            out.extend_from_slice(segment.name.as_bytes());
            out.extend_from_slice(&segment.rows.to_le_bytes());
            out.extend_from_slice(&segment.weight.to_le_bytes());
            for i in 0..k {
                for j in i..k {
                    segment.triangle.get(i, j).write(&mut out);
                }
            }
        }
        let crc = crc32fast::hash(&out);
        out.extend_from_slice(&crc.to_le_bytes());
        out
    }

    /// The state `encode` wrote; anything else (truncated, corrupt, another
    /// version or precision) is refused with what was wrong.
    pub fn decode(bytes: &[u8], from: &str) -> Result<Self, CoreError> {
        let bad = |what: String| CoreError::Internal(format!("the factor state from {from} {what}"));
        if bytes.len() < MAGIC.len() + 4 || &bytes[..4] != MAGIC {
            return Err(bad("is not a factor state (no LNSG header)".into()));
        }
        let (body, crc) = bytes.split_at(bytes.len() - 4);
        if crc32fast::hash(body) != u32::from_le_bytes(crc.try_into().expect("four bytes")) {
            return Err(bad("fails its checksum (corrupted in transit or on disk)".into()));
        }
        let mut input = Reader { bytes: &body[4..], from };
        let version = u16::from_le_bytes(input.take(2)?.try_into().expect("two bytes"));
        if version != WIRE_VERSION {
            return Err(bad(format!("is of format version {version}; this build reads version {WIRE_VERSION} (run one image on every host)")));
        }
        let kind = input.take(1)?[0];
        if kind != T::KIND {
            return Err(bad(format!("holds numbers of kind {kind} where kind {} was expected (the hosts are in different passes)", T::KIND)));
        }
        let fit_intercept = input.take(1)?[0] == 1;
        let features = input.u64()? as usize;
        if features > 1 << 20 {
            return Err(bad(format!("claims {features} features")));
        }
        let design = Design { features, fit_intercept };
        let width = design.width();
        let center = (0..width).map(|_| input.f64()).collect::<Result<Vec<_>, _>>()?;
        let scale = (0..width).map(|_| input.f64()).collect::<Result<Vec<_>, _>>()?;
        let rows_read = input.u64()?;
        let count = input.u64()?;
        let k = design.columns();
        let mut segments = Vec::new();
        for _ in 0..count {
            let length = input.u64()? as usize;
            let name = String::from_utf8(input.take(length)?.to_vec()).map_err(|_| bad("names a segment in invalid UTF-8".into()))?;
            let (rows, weight) = (input.u64()?, input.f64()?);
            let mut upper = Vec::with_capacity(k * (k + 1) / 2);
            for _ in 0..k * (k + 1) / 2 {
                upper.push(T::read(&mut input)?);
            }
            segments.push(Segment { name, rows, weight, triangle: Triangle::from_upper(k, &upper) });
        }
        if !input.bytes.is_empty() {
            return Err(bad(format!("has {} bytes after its last segment", input.bytes.len())));
        }
        Ok(HostState { design, shift: Shift { center, scale }, rows_read, segments })
    }
}

/// Reads a state's fields in order, refusing to run past its end.
pub struct Reader<'a> {
    bytes: &'a [u8],
    from: &'a str,
}

impl<'a> Reader<'a> {
    pub(crate) fn new(bytes: &'a [u8], from: &'a str) -> Self {
        Reader { bytes, from }
    }

    /// Bytes not read yet.
    pub(crate) fn rest(&self) -> usize {
        self.bytes.len()
    }

    pub(crate) fn take(&mut self, n: usize) -> Result<&[u8], CoreError> {
        if self.bytes.len() < n {
            return Err(CoreError::Internal(format!("the factor state from {} is truncated", self.from)));
        }
        let (head, rest) = self.bytes.split_at(n);
        self.bytes = rest;
        Ok(head)
    }

    pub(crate) fn u64(&mut self) -> Result<u64, CoreError> {
        Ok(u64::from_le_bytes(self.take(8)?.try_into().expect("eight bytes")))
    }

    pub(crate) fn f64(&mut self) -> Result<f64, CoreError> {
        Ok(f64::from_le_bytes(self.take(8)?.try_into().expect("eight bytes")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::accumulate::Accumulator;
    use crate::testing::Lcg;

    fn rows(n: usize, p: usize, seed: u64) -> Vec<f64> {
        let mut rng = Lcg::new(seed);
        (0..n * (p + 1)).map(|_| rng.normal() * 3.0 + 10.0).collect()
    }

    fn bits<T: Scalar>(t: &Triangle<T>) -> Vec<(u64, u64)> {
        t.entries().iter().map(|v| (v.to_dd().hi.to_bits(), v.to_dd().lo.to_bits())).collect()
    }

    /// Files of these row counts, read in order by one accumulator.
    fn one_host<T: Scalar>(design: Design, files: &[(String, Vec<f64>)], threads: usize) -> crate::accumulate::Factor<T> {
        let mut acc = Accumulator::<T>::new(design, threads);
        for (name, raw) in files {
            for piece in raw.chunks(97 * design.width()) {
                acc.push_rows(piece);
            }
            acc.end_segment(name);
        }
        acc.finish()
    }

    fn files(design: Design, sizes: &[usize]) -> Vec<(String, Vec<f64>)> {
        sizes.iter().enumerate().map(|(i, &n)| (format!("part-{i:02}.csv"), rows(n, design.features, 40 + i as u64))).collect()
    }

    /// The files dealt to hosts as `owner` says, each host keeping its segments.
    fn many_hosts<T: WireScalar>(design: Design, files: &[(String, Vec<f64>)], owner: &[usize], hosts: usize, shift: &Shift) -> Reduction<T> {
        let mut all = Vec::new();
        for host in 0..hosts {
            let mut acc = Accumulator::<T>::with_shift(design, 1 + host % 3, shift.clone());
            acc.keep_segments();
            for ((name, raw), _) in files.iter().zip(owner).filter(|(_, &o)| o == host) {
                acc.push_rows(raw);
                acc.end_segment(name);
            }
            let state = HostState { design, shift: shift.clone(), rows_read: 0, segments: acc.take_segments() };
            let wire = state.encode();
            all.extend(HostState::<T>::decode(&wire, "host").unwrap().segments);
        }
        // Arrival order must not matter.
        all.reverse();
        Reduction::of(all).unwrap()
    }

    #[test]
    fn any_split_of_the_files_over_hosts_gives_one_hosts_bits() {
        let design = Design { features: 4, fit_intercept: true };
        let files = files(design, &[100, 0, 1030, 7, 256, 600, 0, 333]);
        let reference = one_host::<f64>(design, &files, 2);
        let rows: u64 = files.iter().map(|(_, raw)| (raw.len() / design.width()) as u64).sum();
        assert_eq!(reference.rows, rows);
        for (hosts, owner) in
            [(1, vec![0; 8]), (2, vec![0, 1, 0, 1, 1, 0, 0, 1]), (3, vec![2, 2, 1, 1, 1, 1, 1, 2]), (3, vec![1, 1, 1, 1, 2, 2, 2, 2])]
        {
            let merged = many_hosts::<f64>(design, &files, &owner, hosts, &reference.shift);
            assert_eq!((merged.rows, merged.weight), (reference.rows, reference.weight), "{owner:?}");
            assert_eq!(bits(merged.triangle.as_ref().unwrap()), bits(&reference.triangle), "{owner:?}");
        }
        let reference = one_host::<Dd>(design, &files, 3);
        let merged = many_hosts::<Dd>(design, &files, &[0, 1, 2, 0, 1, 2, 0, 1], 3, &reference.shift);
        assert_eq!(bits(merged.triangle.as_ref().unwrap()), bits(&reference.triangle));
    }

    #[test]
    fn the_shift_comes_from_the_first_file_with_rows() {
        let design = Design { features: 2, fit_intercept: true };
        let files = files(design, &[0, 10, 500]);
        let factor = one_host::<f64>(design, &files, 1);
        assert_eq!(factor.shift, Shift::from_first_rows(design, &files[1].1));
    }

    #[test]
    fn damaged_or_foreign_states_are_refused() {
        let design = Design { features: 2, fit_intercept: true };
        let files = files(design, &[300]);
        let factor = one_host::<f64>(design, &files, 1);
        let mut acc = Accumulator::<f64>::with_shift(design, 1, factor.shift.clone());
        acc.keep_segments();
        acc.push_rows(&files[0].1);
        acc.end_segment("a.csv");
        let wire = HostState { design, shift: factor.shift, rows_read: 300, segments: acc.take_segments() }.encode();
        assert_eq!(HostState::<f64>::decode(&wire, "algo-2").unwrap().rows_read, 300);
        let mut flipped = wire.clone();
        flipped[40] ^= 1;
        assert!(HostState::<f64>::decode(&flipped, "algo-2").unwrap_err().to_string().contains("checksum"));
        assert!(HostState::<f64>::decode(&wire[..wire.len() - 9], "algo-2").is_err());
        assert!(HostState::<Dd>::decode(&wire, "algo-2").unwrap_err().to_string().contains("kind"));
        let twice = [HostState::<f64>::decode(&wire, "a").unwrap().segments, HostState::<f64>::decode(&wire, "b").unwrap().segments].concat();
        assert!(Reduction::of(twice).unwrap_err().to_string().contains("a.csv was read twice"));
    }

    #[test]
    fn listing_order_is_javascripts() {
        let mut names = vec!["b", "a/z", "a", "\u{FF21}", "\u{1F600}", "B"];
        names.sort_by(|a, b| listing_order(a, b));
        assert_eq!(names, vec!["B", "a", "a/z", "b", "\u{1F600}", "\u{FF21}"]);
    }
}
