//! Records and failures per time bucket, so a person sees when something
//! happened. Counts are kept per minute since the epoch and coarsened into
//! buckets of a fixed ladder of widths, aligned to the UTC epoch.

use std::ops::AddAssign;
use std::time::Duration;

use rustc_hash::FxHashMap;

use crate::report::{Bucket, Timeline};
use crate::timestamp::Timestamp;

const MINUTE_NANOS: i128 = 60_000_000_000;

/// The bucket widths, in minutes, chosen from when `--bucket` is not given.
const LADDER: [i64; 7] = [1, 5, 15, 60, 6 * 60, 24 * 60, 7 * 24 * 60];
/// Automatic buckets stop growing once there are at most this many.
const AUTO_MAX_BUCKETS: i64 = 48;
/// A given `--bucket` is widened (doubled) until there are at most this many.
const MAX_BUCKETS: i64 = 10_000;

/// Records and failures in one minute or bucket.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counts {
    pub records: u64,
    pub failures: u64,
}

impl Counts {
    /// Counts one record.
    pub fn add(&mut self, failure: bool) {
        self.records += 1;
        self.failures += u64::from(failure);
    }
}

impl AddAssign for Counts {
    fn add_assign(&mut self, o: Counts) {
        self.records += o.records;
        self.failures += o.failures;
    }
}

/// The minute since the epoch that `t` falls in.
pub fn minute_of(t: Timestamp) -> i64 {
    // 64-bit division when it fits (every year from 1678 to 2261).
    match i64::try_from(t.nanos()) {
        Ok(nanos) => nanos.div_euclid(MINUTE_NANOS as i64),
        Err(_) => t.nanos().div_euclid(MINUTE_NANOS) as i64,
    }
}

/// Checks a `--bucket` width: a whole number of minutes, at least one.
pub fn check_bucket(width: Duration) -> Result<Duration, String> {
    if width.as_secs() >= 60 && width.as_nanos().is_multiple_of(60_000_000_000) {
        Ok(width)
    } else {
        Err("must be a whole number of minutes (1m, 5m, 1h, 1d, ...)".to_string())
    }
}

/// Coarsens per-minute counts into buckets of `width` (or a width chosen so
/// there are at most 48 buckets), every bucket from the first to the last.
pub fn build(minutes: &FxHashMap<i64, Counts>, width: Option<Duration>) -> Timeline {
    let (Some(&lo), Some(&hi)) = (minutes.keys().min(), minutes.keys().max()) else {
        let width = width.map_or(60, |w| (w.as_secs() / 60) as i64);
        return Timeline {
            bucket: format_minutes(width),
            buckets: Vec::new(),
        };
    };
    let span = |w: i64| hi.div_euclid(w) - lo.div_euclid(w) + 1;
    let mut width = match width {
        Some(w) => (w.as_secs() / 60).max(1) as i64,
        None => {
            let mut w = LADDER
                .into_iter()
                .find(|&w| span(w) <= AUTO_MAX_BUCKETS)
                .unwrap_or(LADDER[6]);
            while span(w) > AUTO_MAX_BUCKETS {
                w *= 2;
            }
            w
        }
    };
    while span(width) > MAX_BUCKETS {
        width *= 2;
    }
    let first = lo.div_euclid(width);
    let mut counts = vec![Counts::default(); span(width) as usize];
    for (&minute, &c) in minutes {
        counts[(minute.div_euclid(width) - first) as usize] += c;
    }
    let buckets = counts
        .into_iter()
        .enumerate()
        .map(|(i, c)| Bucket {
            // A bucket aligned to the epoch may start before the year 0000.
            start: Timestamp::saturating_from_nanos(
                i128::from((first + i as i64) * width) * MINUTE_NANOS,
            ),
            records: c.records,
            failures: c.failures,
        })
        .collect();
    Timeline {
        bucket: format_minutes(width),
        buckets,
    }
}

fn format_minutes(m: i64) -> String {
    humantime::format_duration(Duration::from_secs(m.max(0) as u64 * 60)).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn minutes(v: &[(i64, u64, u64)]) -> FxHashMap<i64, Counts> {
        v.iter()
            .map(|&(m, records, failures)| (m, Counts { records, failures }))
            .collect()
    }

    #[test]
    fn auto_width_keeps_at_most_48_buckets() {
        // Three hours: 5-minute buckets (36), not 1-minute (180).
        let base = 28_256_160; // 2023-09-22T08:00Z in minutes
        let t = build(&minutes(&[(base, 1, 0), (base + 179, 2, 1)]), None);
        assert_eq!(t.bucket, "5m");
        assert_eq!(t.buckets.len(), 36);
        assert_eq!(t.buckets[0].start.to_string(), "2023-09-22T08:00:00.000Z");
        assert_eq!((t.buckets[35].records, t.buckets[35].failures), (2, 1));
        assert!(t.buckets[1..35].iter().all(|b| b.records == 0));
    }

    #[test]
    fn given_width_is_used_and_aligned_to_the_epoch() {
        let base = 28_256_160 + 30; // 08:30
        let t = build(
            &minutes(&[(base, 1, 1), (base + 40, 1, 0)]),
            Some(Duration::from_secs(3600)),
        );
        assert_eq!(t.bucket, "1h");
        let starts: Vec<String> = t.buckets.iter().map(|b| b.start.to_string()).collect();
        assert_eq!(
            starts,
            ["2023-09-22T08:00:00.000Z", "2023-09-22T09:00:00.000Z"]
        );
    }

    #[test]
    fn huge_spans_are_widened_not_exploded() {
        let t = build(
            &minutes(&[(-1_000_000_000, 1, 0), (1_000_000_000, 1, 0)]),
            Some(Duration::from_secs(60)),
        );
        assert!(t.buckets.len() as i64 <= MAX_BUCKETS);
        let t = build(
            &minutes(&[(-1_000_000_000, 1, 0), (1_000_000_000, 1, 0)]),
            None,
        );
        assert!(t.buckets.len() as i64 <= AUTO_MAX_BUCKETS);
        assert_eq!(t.buckets.iter().map(|b| b.records).sum::<u64>(), 2);
    }

    #[test]
    fn a_bucket_before_year_0_starts_at_year_0() {
        let year0 = minute_of(Timestamp::parse_str("0000-01-01T00:00:00Z").unwrap());
        let t = build(
            &minutes(&[(year0, 1, 0)]),
            Some(Duration::from_secs(7 * 24 * 3600)),
        );
        assert_eq!(t.buckets[0].start.to_string(), "0000-01-01T00:00:00.000Z");
    }

    #[test]
    fn empty_input_has_no_buckets() {
        assert!(build(&FxHashMap::default(), None).buckets.is_empty());
    }

    #[test]
    fn bucket_widths_are_whole_minutes() {
        assert!(check_bucket(Duration::from_secs(300)).is_ok());
        assert!(check_bucket(Duration::from_secs(90)).is_err());
        assert!(check_bucket(Duration::from_secs(30)).is_err());
    }
}
