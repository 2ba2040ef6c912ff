//! The rules' timed failures, kept delta-encoded in memory.
//!
//! A log of many gigabytes holds millions of failures the rules need (one
//! in twenty records of an API under a forged-token attack). As plain
//! [`Evidence`] they take 48 bytes each; an [`EvidenceList`] stores each as
//! its difference from the one before (time, file and line as signed
//! variable-length integers, times in whole milliseconds or microseconds
//! when they are, ids as variable-length integers): about 8 bytes for
//! typical logs, in chunks, so a list never needs a copy of itself to grow.
//! The rules read the records back one group (ip or user) at a time, never
//! the whole list at once.

use crate::detect::{Evidence, Position};
use crate::timestamp::Timestamp;

/// Bytes per chunk of encoded records.
const CHUNK: usize = 64 * 1024;
/// The longest encoded record: 11 bytes of time, 5 of file, 10 of line,
/// 5 per id.
const MAX_RECORD: usize = 11 + 5 + 10 + 3 * 5;
/// At most this many records are decoded at once when grouping (plus the
/// largest group, which the rules need whole).
const DECODED_AT_ONCE: usize = 1 << 17;

/// What the next record is encoded against.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct Previous {
    nanos: i128,
    file: u32,
    line: u64,
}

/// Timed records, delta-encoded, in the order they were pushed.
#[derive(Clone, Debug, Default)]
pub struct EvidenceList {
    chunks: Vec<Vec<u8>>,
    len: usize,
    last: Previous,
}

impl EvidenceList {
    /// Appends one record.
    pub fn push(&mut self, e: Evidence) {
        let mut buf = [0u8; MAX_RECORD];
        let mut last = self.last;
        let n = encode(&mut last, &e, &mut buf);
        match self.chunks.last_mut() {
            Some(chunk) if chunk.len() + n <= chunk.capacity() => {
                chunk.extend_from_slice(&buf[..n]);
                self.last = last;
            }
            _ => {
                // Each chunk starts afresh, so chunks decode on their own.
                self.last = Previous::default();
                let n = encode(&mut self.last, &e, &mut buf);
                let mut chunk = Vec::with_capacity(CHUNK);
                chunk.extend_from_slice(&buf[..n]);
                self.chunks.push(chunk);
            }
        }
        self.len += 1;
    }

    /// How many records the list holds.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the list holds no record.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The records, in the order they were pushed.
    pub fn iter(&self) -> impl Iterator<Item = Evidence> + '_ {
        self.chunks.iter().flat_map(|chunk| decode_chunk(chunk))
    }

    /// The encoded chunks, each decodable on its own by [`decode_chunk`].
    pub fn chunks(&self) -> &[Vec<u8>] {
        &self.chunks
    }

    /// Appends `other`'s records, each passed through `map`, freeing
    /// `other`'s chunks as they are read.
    pub fn append_mapped(&mut self, other: EvidenceList, map: impl Fn(Evidence) -> Evidence) {
        for chunk in other.chunks {
            let mut last = Previous::default();
            let mut at = 0;
            while at < chunk.len() {
                self.push(map(decode(&mut last, &chunk, &mut at)));
            }
        }
    }

    /// Calls `f` with each group of records sharing `key`, in time order
    /// (ties in input order, then in the order pushed), groups by key.
    /// Decodes a part of the keys at a time, so at most about
    /// 2^17 records (and the largest group) are held decoded.
    pub fn groups(&self, key: impl Fn(&Evidence) -> u32, mut f: impl FnMut(u32, &[Evidence])) {
        let parts = self.len.div_ceil(DECODED_AT_ONCE).max(1) as u32;
        // Sized exactly, so no part is held twice while growing.
        let mut sizes = vec![0usize; parts as usize];
        if parts > 1 {
            for e in self.iter() {
                sizes[(key(&e) % parts) as usize] += 1;
            }
        } else {
            sizes[0] = self.len;
        }
        for p in 0..parts {
            let mut part: Vec<Evidence> = Vec::with_capacity(sizes[p as usize]);
            part.extend(self.iter().filter(|e| key(e) % parts == p));
            part.sort_by_key(|e| (key(e), e.time, e.position));
            for group in part.chunk_by(|a, b| key(a) == key(b)) {
                f(key(&group[0]), group);
            }
        }
    }
}

impl FromIterator<Evidence> for EvidenceList {
    fn from_iter<I: IntoIterator<Item = Evidence>>(iter: I) -> EvidenceList {
        let mut list = EvidenceList::default();
        for e in iter {
            list.push(e);
        }
        list
    }
}

impl From<Vec<Evidence>> for EvidenceList {
    fn from(v: Vec<Evidence>) -> EvidenceList {
        v.into_iter().collect()
    }
}

/// Two lists are equal when they hold the same records in the same order.
impl PartialEq for EvidenceList {
    fn eq(&self, other: &EvidenceList) -> bool {
        self.len == other.len && self.iter().eq(other.iter())
    }
}

/// The records of one chunk of an [`EvidenceList`] (as
/// [`EvidenceList::chunks`] gives them), in order.
pub fn decode_chunk(chunk: &[u8]) -> impl Iterator<Item = Evidence> + '_ {
    let mut last = Previous::default();
    let mut at = 0;
    std::iter::from_fn(move || (at < chunk.len()).then(|| decode(&mut last, chunk, &mut at)))
}

/// Time steps that are whole milliseconds or microseconds (most logs write
/// no finer) are stored divided, with the unit in the low two bits.
const UNITS: [i128; 3] = [1, 1_000, 1_000_000];

fn encode(last: &mut Previous, e: &Evidence, out: &mut [u8; MAX_RECORD]) -> usize {
    let nanos = e.time.nanos();
    let step = nanos - last.nanos;
    let unit = if step % UNITS[2] == 0 {
        2
    } else if step % UNITS[1] == 0 {
        1
    } else {
        0
    };
    let mut n = 0;
    put(
        out,
        &mut n,
        (zigzag(step / UNITS[unit]) << 2) | unit as u128,
    );
    put(
        out,
        &mut n,
        zigzag(i128::from(e.position.file) - i128::from(last.file)),
    );
    put(
        out,
        &mut n,
        zigzag(i128::from(e.position.line) - i128::from(last.line)),
    );
    for id in [e.user, e.ip, e.event] {
        put(out, &mut n, u128::from(id));
    }
    *last = Previous {
        nanos,
        file: e.position.file,
        line: e.position.line,
    };
    n
}

fn decode(last: &mut Previous, chunk: &[u8], at: &mut usize) -> Evidence {
    let time = take(chunk, at);
    let unit = (time & 3) as usize;
    let nanos = last.nanos + unzigzag(time >> 2) * UNITS[unit.min(2)];
    let file = (i128::from(last.file) + unzigzag(take(chunk, at))) as u32;
    let line = (i128::from(last.line) + unzigzag(take(chunk, at))) as u64;
    let user = take(chunk, at) as u32;
    let ip = take(chunk, at) as u32;
    let event = take(chunk, at) as u32;
    *last = Previous { nanos, file, line };
    Evidence {
        time: Timestamp::saturating_from_nanos(nanos),
        position: Position { file, line },
        user,
        ip,
        event,
    }
}

fn zigzag(v: i128) -> u128 {
    ((v << 1) ^ (v >> 127)) as u128
}

fn unzigzag(v: u128) -> i128 {
    (v >> 1) as i128 ^ -((v & 1) as i128)
}

/// Writes `v` as a LEB128 variable-length integer.
fn put(out: &mut [u8], n: &mut usize, mut v: u128) {
    while v >= 0x80 {
        out[*n] = (v as u8) | 0x80;
        *n += 1;
        v >>= 7;
    }
    out[*n] = v as u8;
    *n += 1;
}

/// Reads a LEB128 variable-length integer written by [`put`].
fn take(chunk: &[u8], at: &mut usize) -> u128 {
    // Nearly every value fits in one or two bytes: 64-bit arithmetic for
    // the first nine (63 bits), 128-bit only beyond.
    let mut v = 0u64;
    for shift in (0..63).step_by(7) {
        let byte = chunk[*at];
        *at += 1;
        v |= u64::from(byte & 0x7f) << shift;
        if byte < 0x80 {
            return u128::from(v);
        }
    }
    let mut v = u128::from(v);
    let mut shift = 63;
    loop {
        let byte = chunk[*at];
        *at += 1;
        v |= u128::from(byte & 0x7f) << shift;
        if byte < 0x80 {
            return v;
        }
        shift += 7;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(nanos: i128, file: u32, line: u64, user: u32, ip: u32, event: u32) -> Evidence {
        Evidence {
            time: Timestamp::from_nanos(nanos).unwrap(),
            position: Position { file, line },
            user,
            ip,
            event,
        }
    }

    #[test]
    fn records_come_back_exactly() {
        let min = -62_167_219_200 * 1_000_000_000;
        let max = 253_402_300_800 * 1_000_000_000 - 1;
        let records = vec![
            ev(1_695_377_730_123_000_000, 0, 1, 0, 0, 0),
            ev(1_695_377_730_123_000_001, 0, 2, 3, 4, 5),
            ev(1_695_377_730_000_000_000, 2, 1, 9, 9, 9),
            ev(min, u32::MAX, u64::MAX, u32::MAX, u32::MAX, u32::MAX),
            ev(max, 0, 0, 1, 2, 3),
            ev(min, 7, u64::MAX, 0, 0, 0),
            ev(0, 0, 0, 0, 0, 0),
            ev(-1_500, 1, 5, 0, 1, 0),
        ];
        let list: EvidenceList = records.clone().into();
        assert_eq!(list.len(), records.len());
        assert_eq!(list.iter().collect::<Vec<_>>(), records);
    }

    #[test]
    fn many_records_span_chunks_and_append_with_a_map() {
        let records: Vec<Evidence> = (0..50_000u64)
            .map(|i| {
                ev(
                    1_700_000_000_000_000_000 + i128::from(i) * 17_000_000 - i128::from(i % 3),
                    (i / 10_000) as u32,
                    i * 20 + 1,
                    (i % 13) as u32,
                    (i % 2_000) as u32,
                    (i % 8) as u32,
                )
            })
            .collect();
        let list: EvidenceList = records.clone().into();
        assert!(list.chunks.len() > 1);
        assert_eq!(list.iter().collect::<Vec<_>>(), records);
        let mut mine: EvidenceList = records[..10].to_vec().into();
        mine.append_mapped(list, |e| Evidence { ip: e.ip + 1, ..e });
        let want: Vec<Evidence> = records[..10]
            .iter()
            .copied()
            .chain(records.iter().map(|e| Evidence { ip: e.ip + 1, ..*e }))
            .collect();
        assert_eq!(mine.iter().collect::<Vec<_>>(), want);
    }

    #[test]
    fn groups_are_whole_and_in_time_then_input_order() {
        // More records than are decoded at once, so several parts are read.
        let n = DECODED_AT_ONCE as u64 * 2 + 5;
        let records: Vec<Evidence> = (0..n)
            .map(|i| ev(i128::from((n - i) / 3), 0, i, 0, (i % 5) as u32, 0))
            .collect();
        let list: EvidenceList = records.clone().into();
        let mut seen = Vec::new();
        list.groups(
            |e| e.ip,
            |ip, group| {
                let mut want: Vec<Evidence> =
                    records.iter().filter(|e| e.ip == ip).copied().collect();
                want.sort_by_key(|e| (e.time, e.position));
                assert_eq!(group, &want[..]);
                seen.push(ip);
            },
        );
        seen.sort_unstable();
        assert_eq!(seen, [0, 1, 2, 3, 4]);
    }
}
