//! The successes of known users, kept on disk once there are many.
//!
//! `success_after_failures` needs the first success after a run of
//! failures, but which successes matter is known only once every failure
//! has been read. Keeping every success in memory would make memory grow
//! with the input, so past [`SPILL_AT`] records they are appended to an
//! anonymous temporary file (40 bytes each) and read back once at the end,
//! keeping only those inside a candidate window.

use std::fs::File;
use std::io::{self, BufReader, BufWriter, Read, Seek, Write};

use crate::detect::{Evidence, Position};
use crate::timestamp::Timestamp;

/// Records kept in memory before they go to disk.
pub const SPILL_AT: usize = 1 << 16;
const RECORD: usize = 40;

/// Successes in memory and on disk. Ids in a spilled segment are mapped to
/// the owning analyzer's ids through the segment's tables (merging
/// analyzers composes them instead of rewriting the file).
#[derive(Debug, Default)]
pub struct SuccessLog {
    memory: Vec<Evidence>,
    /// The file this log appends to, and how many records it holds.
    own: Option<(BufWriter<File>, u64)>,
    /// Files of merged-in logs, with their id maps.
    merged: Vec<Segment>,
}

#[derive(Debug)]
struct Segment {
    file: BufWriter<File>,
    records: u64,
    users: Vec<u32>,
    ips: Vec<u32>,
    events: Vec<u32>,
}

/// How one analyzer's ids map onto another's.
pub struct IdMaps<'a> {
    pub users: &'a [u32],
    pub ips: &'a [u32],
    pub events: &'a [u32],
}

impl IdMaps<'_> {
    /// `e` with its ids mapped.
    pub fn apply(&self, e: Evidence) -> Evidence {
        Evidence {
            user: self.users[e.user as usize],
            ip: self.ips[e.ip as usize],
            event: self.events[e.event as usize],
            ..e
        }
    }
}

impl SuccessLog {
    /// Keeps one success.
    pub fn push(&mut self, e: Evidence) {
        self.memory.push(e);
        if self.memory.len() >= SPILL_AT {
            self.spill();
        }
    }

    /// Moves the in-memory records to the file (creating it on first use).
    /// If no temporary file can be had, the records simply stay in memory.
    fn spill(&mut self) {
        if self.own.is_none() {
            match tempfile::tempfile() {
                Ok(f) => self.own = Some((BufWriter::with_capacity(1 << 16, f), 0)),
                Err(_) => return,
            }
        }
        let (writer, count) = self.own.as_mut().expect("created above");
        let mut written = 0;
        for e in &self.memory {
            if writer.write_all(&encode(e)).is_err() {
                break;
            }
            written += 1;
        }
        *count += written as u64;
        self.memory.drain(..written);
    }

    /// Takes `other`'s successes, mapping its ids through `maps`.
    pub fn merge(&mut self, other: SuccessLog, maps: &IdMaps) {
        for e in other.memory {
            self.push(maps.apply(e));
        }
        if let Some((file, records)) = other.own {
            self.merged.push(Segment {
                file,
                records,
                users: maps.users.to_vec(),
                ips: maps.ips.to_vec(),
                events: maps.events.to_vec(),
            });
        }
        for s in other.merged {
            self.merged.push(Segment {
                users: s.users.iter().map(|&u| maps.users[u as usize]).collect(),
                ips: s.ips.iter().map(|&i| maps.ips[i as usize]).collect(),
                events: s.events.iter().map(|&e| maps.events[e as usize]).collect(),
                ..s
            });
        }
    }

    /// Every success for which `keep` says yes, in no particular order.
    pub fn select(self, keep: impl Fn(&Evidence) -> bool) -> io::Result<Vec<Evidence>> {
        let mut out: Vec<Evidence> = self.memory.into_iter().filter(|e| keep(e)).collect();
        let mut read = |file: BufWriter<File>,
                        records: u64,
                        map: &dyn Fn(Evidence) -> Evidence|
         -> io::Result<()> {
            let mut file = file.into_inner().map_err(|e| e.into_error())?;
            file.rewind()?;
            let mut reader = BufReader::with_capacity(1 << 16, file);
            let mut buf = [0u8; RECORD];
            for _ in 0..records {
                reader.read_exact(&mut buf)?;
                let e = map(decode(&buf));
                if keep(&e) {
                    out.push(e);
                }
            }
            Ok(())
        };
        if let Some((file, records)) = self.own {
            read(file, records, &|e| e)?;
        }
        for s in self.merged {
            let maps = IdMaps {
                users: &s.users,
                ips: &s.ips,
                events: &s.events,
            };
            read(s.file, s.records, &|e| maps.apply(e))?;
        }
        Ok(out)
    }
}

fn encode(e: &Evidence) -> [u8; RECORD] {
    let mut b = [0u8; RECORD];
    b[0..16].copy_from_slice(&e.time.nanos().to_le_bytes());
    b[16..20].copy_from_slice(&e.position.file.to_le_bytes());
    b[20..28].copy_from_slice(&e.position.line.to_le_bytes());
    b[28..32].copy_from_slice(&e.user.to_le_bytes());
    b[32..36].copy_from_slice(&e.ip.to_le_bytes());
    b[36..40].copy_from_slice(&e.event.to_le_bytes());
    b
}

fn decode(b: &[u8; RECORD]) -> Evidence {
    let u32_at = |i: usize| u32::from_le_bytes(b[i..i + 4].try_into().expect("4 bytes"));
    Evidence {
        time: Timestamp::saturating_from_nanos(i128::from_le_bytes(
            b[0..16].try_into().expect("16 bytes"),
        )),
        position: Position {
            file: u32_at(16),
            line: u64::from_le_bytes(b[20..28].try_into().expect("8 bytes")),
        },
        user: u32_at(28),
        ip: u32_at(32),
        event: u32_at(36),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(i: u64) -> Evidence {
        Evidence {
            time: Timestamp::from_nanos(i128::from(i) * 1_000_000_007 - 5).unwrap(),
            position: Position {
                file: (i % 3) as u32,
                line: i,
            },
            user: (i % 7) as u32,
            ip: (i % 5) as u32,
            event: (i % 2) as u32,
        }
    }

    #[test]
    fn records_round_trip() {
        for i in [0, 1, 12345, u32::MAX as u64] {
            assert_eq!(decode(&encode(&ev(i))), ev(i));
        }
    }

    #[test]
    fn spilled_and_memory_records_all_come_back() {
        let mut log = SuccessLog::default();
        let n = SPILL_AT as u64 * 2 + 17;
        for i in 0..n {
            log.push(ev(i));
        }
        assert!(log.memory.len() < SPILL_AT);
        let mut got = log.select(|e| e.user == 3).unwrap();
        got.sort_by_key(|e| e.position.line);
        let want: Vec<Evidence> = (0..n).map(ev).filter(|e| e.user == 3).collect();
        assert_eq!(got, want);
    }

    #[test]
    fn merged_segments_map_their_ids() {
        let mut theirs = SuccessLog::default();
        for i in 0..SPILL_AT as u64 + 3 {
            theirs.push(ev(i));
        }
        // Their user u is our user u + 100, etc.
        let users: Vec<u32> = (0..7).map(|u| u + 100).collect();
        let ips: Vec<u32> = (0..5).map(|i| i + 200).collect();
        let events: Vec<u32> = vec![1, 0];
        let mut ours = SuccessLog::default();
        ours.push(ev(999));
        ours.merge(
            theirs,
            &IdMaps {
                users: &users,
                ips: &ips,
                events: &events,
            },
        );
        let got = ours.select(|_| true).unwrap();
        assert_eq!(got.len(), SPILL_AT + 4);
        assert!(
            got.iter()
                .filter(|e| e.position.line != 999)
                .all(|e| e.user >= 100 && e.ip >= 200)
        );
        let e5 = got.iter().find(|e| e.position.line == 5).unwrap();
        assert_eq!((e5.user, e5.ip, e5.event), (5 + 100, 200, 0));
    }
}
