//! The successes of known users, kept on disk once there are many.
//!
//! `success_after_failures` needs the first success after a run of
//! failures, but which successes matter is known only once every failure
//! has been read. Keeping every success in memory would make memory grow
//! with the input, so past [`SPILL_AT`] records they are appended to an
//! anonymous temporary file, delta-encoded as in [`EvidenceList`] (about
//! 8 bytes each), and read back once at the end, keeping only those inside
//! a candidate window.

use std::fs::File;
use std::io::{self, BufReader, BufWriter, Read, Seek, Write};

use crate::detect::Evidence;
use crate::evidence::{EvidenceList, decode_chunk};

/// Records kept in memory before they go to disk.
pub const SPILL_AT: usize = 1 << 16;

/// Successes in memory and on disk. Ids in a spilled segment are mapped to
/// the owning analyzer's ids through the segment's tables (merging
/// analyzers composes them instead of rewriting the file).
#[derive(Debug, Default)]
pub struct SuccessLog {
    memory: EvidenceList,
    /// The file this log appends to, and how many chunks it holds whole
    /// (each a byte length, 4 bytes little-endian, and the chunk).
    own: Option<(BufWriter<File>, u64)>,
    /// Set when writing failed: from then on records stay in memory.
    unwritable: bool,
    /// Files of merged-in logs, with their id maps.
    merged: Vec<Segment>,
}

#[derive(Debug)]
struct Segment {
    file: BufWriter<File>,
    chunks: u64,
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
        if self.memory.len() >= SPILL_AT && !self.unwritable {
            self.spill();
        }
    }

    /// Moves the in-memory records to the file (creating it on first use).
    /// If no temporary file can be had, or writing fails, the records
    /// simply stay in memory (a chunk cut short is not counted, so it is
    /// never read back).
    fn spill(&mut self) {
        if self.own.is_none() {
            match tempfile::tempfile() {
                Ok(f) => self.own = Some((BufWriter::with_capacity(1 << 16, f), 0)),
                Err(_) => {
                    self.unwritable = true;
                    return;
                }
            }
        }
        let (writer, count) = self.own.as_mut().expect("created above");
        let mut written = 0;
        for chunk in self.memory.chunks() {
            let len = u32::try_from(chunk.len()).expect("chunks are 64 KiB");
            let ok =
                writer.write_all(&len.to_le_bytes()).is_ok() && writer.write_all(chunk).is_ok();
            if !ok {
                self.unwritable = true;
                break;
            }
            written += 1;
        }
        *count += written;
        if !self.unwritable {
            self.memory = EvidenceList::default();
        } else if written > 0 {
            // Keep only the records of the chunks not written whole.
            let rest: EvidenceList = self.memory.chunks()[written as usize..]
                .iter()
                .flat_map(|c| decode_chunk(c))
                .collect();
            self.memory = rest;
        }
    }

    /// Takes `other`'s successes, mapping its ids through `maps`.
    pub fn merge(&mut self, other: SuccessLog, maps: &IdMaps) {
        for e in other.memory.iter() {
            self.push(maps.apply(e));
        }
        if let Some((file, chunks)) = other.own {
            self.merged.push(Segment {
                file,
                chunks,
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
        let mut out: Vec<Evidence> = self.memory.iter().filter(|e| keep(e)).collect();
        let mut read = |file: BufWriter<File>,
                        chunks: u64,
                        map: &dyn Fn(Evidence) -> Evidence|
         -> io::Result<()> {
            let mut file = file.into_inner().map_err(|e| e.into_error())?;
            file.rewind()?;
            let mut reader = BufReader::with_capacity(1 << 16, file);
            let mut chunk = Vec::new();
            for _ in 0..chunks {
                let mut len = [0u8; 4];
                reader.read_exact(&mut len)?;
                chunk.resize(u32::from_le_bytes(len) as usize, 0);
                reader.read_exact(&mut chunk)?;
                out.extend(decode_chunk(&chunk).map(map).filter(|e| keep(e)));
            }
            Ok(())
        };
        if let Some((file, chunks)) = self.own {
            read(file, chunks, &|e| e)?;
        }
        for s in self.merged {
            let maps = IdMaps {
                users: &s.users,
                ips: &s.ips,
                events: &s.events,
            };
            read(s.file, s.chunks, &|e| maps.apply(e))?;
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::detect::Position;
    use crate::timestamp::Timestamp;

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
    fn spilled_and_memory_records_all_come_back() {
        let mut log = SuccessLog::default();
        let n = SPILL_AT as u64 * 2 + 17;
        for i in 0..n {
            log.push(ev(i));
        }
        assert!(log.memory.len() < SPILL_AT);
        assert!(log.own.as_ref().is_some_and(|(_, chunks)| *chunks > 1));
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
