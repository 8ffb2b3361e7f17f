//! Checkpoints: where a pass over a channel stands after its last finished
//! source (file), so a stopped job (managed spot capacity) resumes there.
//! Sources are segments merged in order ([`crate::segments`]), so the
//! sources after the checkpoint merge onto the same prefix: a resumed job's
//! model has the bits of an uninterrupted one.
//!
//! The file holds a fingerprint of what it was made for (the caller's: the
//! data's names and sizes, the hyperparameters, the host), the pass, how
//! many sources are done, the header, the state in the wire format of
//! [`crate::segments::HostState`] and the row sample
//! ([`crate::diagnostics::SampleState`]); it ends in a CRC-32.

use crate::error::CoreError;
use crate::segments::Reader;

const MAGIC: &[u8; 4] = b"LNCK";
const VERSION: u16 = 2;

/// Which pass a checkpoint is in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Pass {
    /// The first, f64 pass.
    First,
    /// The extended-precision pass.
    Extended,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Checkpoint {
    pub fingerprint: String,
    pub pass: Pass,
    /// Sources of the pass finished, in the order they are read.
    pub sources_done: u64,
    /// The header row of the data (the sources skipped on resume are not read again).
    pub header: Option<Vec<String>>,
    /// A `HostState` encoding of the segments ended so far.
    pub state: Vec<u8>,
    /// A `SampleState` encoding of the row sample at the same boundary.
    pub sample: Vec<u8>,
}

fn put_bytes(out: &mut Vec<u8>, bytes: &[u8]) {
    out.extend_from_slice(&(bytes.len() as u64).to_le_bytes());
    out.extend_from_slice(bytes);
}

impl Checkpoint {
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.state.len() + 256);
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&VERSION.to_le_bytes());
        put_bytes(&mut out, self.fingerprint.as_bytes());
        out.push(match self.pass {
            Pass::First => 1,
            Pass::Extended => 2,
        });
        out.extend_from_slice(&self.sources_done.to_le_bytes());
        match &self.header {
            None => out.extend_from_slice(&u64::MAX.to_le_bytes()),
            Some(names) => {
                out.extend_from_slice(&(names.len() as u64).to_le_bytes());
                names.iter().for_each(|name| put_bytes(&mut out, name.as_bytes()));
            }
        }
        put_bytes(&mut out, &self.state);
        put_bytes(&mut out, &self.sample);
        let crc = crc32fast::hash(&out);
        out.extend_from_slice(&crc.to_le_bytes());
        out
    }

    /// The checkpoint `encode` wrote; a damaged or foreign file is refused with what was wrong.
    pub fn decode(bytes: &[u8], from: &str) -> Result<Checkpoint, CoreError> {
        let bad = |what: &str| CoreError::InvalidArgument(format!("{from} {what}"));
        if bytes.len() < 10 || &bytes[..4] != MAGIC {
            return Err(bad("is not a checkpoint of this program"));
        }
        let (body, crc) = bytes.split_at(bytes.len() - 4);
        if crc32fast::hash(body) != u32::from_le_bytes(crc.try_into().expect("four bytes")) {
            return Err(bad("fails its checksum (cut short, or damaged)"));
        }
        let mut input = Reader::new(&body[4..], from);
        let version = u16::from_le_bytes(input.take(2)?.try_into().expect("two bytes"));
        if version != VERSION {
            return Err(bad(&format!("is of checkpoint version {version}; this build writes version {VERSION}")));
        }
        let text = |input: &mut Reader<'_>| -> Result<String, CoreError> {
            let length = input.u64()? as usize;
            String::from_utf8(input.take(length)?.to_vec()).map_err(|_| bad("holds text that is not UTF-8"))
        };
        let fingerprint = text(&mut input)?;
        let pass = match input.take(1)?[0] {
            1 => Pass::First,
            2 => Pass::Extended,
            other => return Err(bad(&format!("names pass {other}"))),
        };
        let sources_done = input.u64()?;
        let header = match input.u64()? {
            u64::MAX => None,
            count if count as usize <= input.rest() => Some((0..count).map(|_| text(&mut input)).collect::<Result<Vec<_>, _>>()?),
            _ => return Err(bad("is truncated")),
        };
        let length = input.u64()? as usize;
        let state = input.take(length)?.to_vec();
        let length = input.u64()? as usize;
        let sample = input.take(length)?.to_vec();
        if input.rest() != 0 {
            return Err(bad("has bytes after its row sample"));
        }
        Ok(Checkpoint { fingerprint, pass, sources_done, header, state, sample })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_checkpoint_round_trips_and_damage_is_refused() {
        let checkpoint = Checkpoint {
            fingerprint: "abc".into(),
            pass: Pass::Extended,
            sources_done: 3,
            header: Some(vec!["y".into(), "x".into()]),
            state: vec![1, 2, 3],
            sample: vec![4, 5],
        };
        let bytes = checkpoint.encode();
        assert_eq!(Checkpoint::decode(&bytes, "c").unwrap(), checkpoint);
        let none = Checkpoint { header: None, ..checkpoint };
        assert_eq!(Checkpoint::decode(&none.encode(), "c").unwrap(), none);
        let mut damaged = bytes.clone();
        damaged[12] ^= 4;
        assert!(Checkpoint::decode(&damaged, "c").unwrap_err().to_string().contains("checksum"));
        assert!(Checkpoint::decode(&bytes[..bytes.len() - 1], "c").is_err());
        assert!(Checkpoint::decode(b"PK\x03\x04 not ours", "c").unwrap_err().to_string().contains("not a checkpoint"));
    }
}
