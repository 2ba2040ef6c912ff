//! The detection rules: which runs of timed events make an incident.
//!
//! Every windowed rule uses the same sliding window ([`incidents`]); a rule
//! is one function that picks its events, groups them and turns each
//! incident into a [`Finding`].

use std::ops::Range;
use std::time::Duration;

use rustc_hash::FxHashMap;

use crate::report::{Finding, Severity, Target};
use crate::timestamp::Timestamp;

/// Where a record stood in the input: file order, then line order. Keeps
/// ties in input order when events are sorted by time.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Position {
    pub file: u32,
    pub line: u64,
}

/// A timed event kept for a windowed rule.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TimedEvent {
    pub time: Timestamp,
    pub position: Position,
    /// Index into the analyzer's event names.
    pub event: u32,
}

/// The settings of `unknown_user_burst`: `threshold` failures within `window`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BurstRule {
    pub threshold: usize,
    pub window: Duration,
}

/// The incidents in `times` (sorted ascending): index j qualifies when
/// `times[j + k - 1] - times[j] <= window`; its run is `j..j + k`; runs that
/// share an element join into one incident.
pub fn incidents(times: &[Timestamp], k: usize, window: Duration) -> Vec<Range<usize>> {
    let mut out: Vec<Range<usize>> = Vec::new();
    if k == 0 || times.len() < k {
        return out;
    }
    let window = window.as_nanos() as i128;
    for j in 0..=times.len() - k {
        if times[j + k - 1].nanos() - times[j].nanos() <= window {
            match out.last_mut() {
                Some(last) if j < last.end => last.end = j + k,
                _ => out.push(j..j + k),
            }
        }
    }
    out
}

/// `unknown_user_burst`: an ip sending repeated failures without a valid
/// identity (forged, expired or stolen-and-revoked tokens).
///
/// `groups` holds, per ip, the timed failures of unknown users in input
/// order; `event_name` resolves event indexes.
pub fn unknown_user_burst<'n>(
    rule: BurstRule,
    groups: impl IntoIterator<Item = (&'n str, Vec<TimedEvent>)>,
    event_name: impl Fn(u32) -> &'n str,
) -> Vec<Finding> {
    let mut findings = Vec::new();
    for (ip, mut failures) in groups {
        failures.sort_by_key(|f| (f.time, f.position));
        let times: Vec<Timestamp> = failures.iter().map(|f| f.time).collect();
        for run in incidents(&times, rule.threshold, rule.window) {
            let run = &failures[run];
            findings.push(Finding {
                rule: "unknown_user_burst",
                severity: Severity::High,
                ip: ip.to_string(),
                count: run.len() as u64,
                first: run[0].time,
                last: run[run.len() - 1].time,
                targets: targets(run, &event_name),
            });
        }
    }
    findings.sort_by(|a, b| (a.first, &a.ip).cmp(&(b.first, &b.ip)));
    findings
}

/// The events of an incident with their counts, most targeted first.
fn targets<'n>(run: &[TimedEvent], event_name: &impl Fn(u32) -> &'n str) -> Vec<Target> {
    let mut counts: FxHashMap<u32, u64> = FxHashMap::default();
    for e in run {
        *counts.entry(e.event).or_default() += 1;
    }
    let mut targets: Vec<Target> = counts
        .into_iter()
        .map(|(event, count)| Target {
            event: event_name(event).to_string(),
            count,
        })
        .collect();
    targets.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.event.cmp(&b.event)));
    targets
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: i128 = 1_000_000;

    fn at(ms: i128) -> Timestamp {
        Timestamp::from_nanos(1_695_377_730_000 * MS + ms * MS).unwrap()
    }

    fn times(ms: &[i128]) -> Vec<Timestamp> {
        ms.iter().map(|&m| at(m)).collect()
    }

    const TEN_MIN: Duration = Duration::from_secs(600);
    const W: i128 = 600_000; // ten minutes in ms

    #[test]
    fn exactly_k_within_exactly_w_qualify() {
        let t = times(&[0, 1, 2, 3, W]);
        assert_eq!(incidents(&t, 5, TEN_MIN), vec![0..5]);
    }

    #[test]
    fn w_plus_one_millisecond_does_not() {
        let t = times(&[0, 1, 2, 3, W + 1]);
        assert_eq!(incidents(&t, 5, TEN_MIN), Vec::<Range<usize>>::new());
    }

    #[test]
    fn fewer_than_k_never_qualify() {
        assert!(incidents(&times(&[0, 1, 2, 3]), 5, TEN_MIN).is_empty());
        assert!(incidents(&[], 5, TEN_MIN).is_empty());
    }

    #[test]
    fn overlapping_runs_join_into_one_incident() {
        // Runs 0..5 and 1..6 share failures: one incident of 6.
        let t = times(&[0, 1, 2, 3, 4, 5]);
        assert_eq!(incidents(&t, 5, TEN_MIN), vec![0..6]);
    }

    #[test]
    fn a_run_that_only_touches_the_next_is_separate() {
        // k = 2: runs 0..2 and 2..4 share nothing; 1..3 does not qualify.
        let t = times(&[0, 10, W * 2, W * 2 + 10]);
        assert_eq!(incidents(&t, 2, Duration::from_secs(1)), vec![0..2, 2..4]);
    }

    #[test]
    fn non_qualifying_tail_is_not_included() {
        // 0..5 qualifies, 1..6 does not (t[5]-t[1] > w): the 6th stays out.
        let t = times(&[0, 1, 2, 3, 4, W + 2]);
        assert_eq!(incidents(&t, 5, TEN_MIN), vec![0..5]);
    }

    #[test]
    fn two_separate_bursts() {
        let t = times(&[
            0,
            1,
            2,
            3,
            4,
            5 * W,
            5 * W + 1,
            5 * W + 2,
            5 * W + 3,
            5 * W + 4,
        ]);
        assert_eq!(incidents(&t, 5, TEN_MIN), vec![0..5, 5..10]);
    }

    #[test]
    fn threshold_one_makes_every_failure_its_own_incident() {
        let t = times(&[0, 0, 7]);
        assert_eq!(incidents(&t, 1, TEN_MIN), vec![0..1, 1..2, 2..3]);
    }

    fn ev(ms: i128, line: u64, event: u32) -> TimedEvent {
        TimedEvent {
            time: at(ms),
            position: Position { file: 0, line },
            event,
        }
    }

    #[test]
    fn burst_findings_carry_count_span_and_targets() {
        let names = ["GET /a", "POST /b", "GET /c"];
        let group = vec![
            ev(4, 5, 1),
            ev(0, 1, 0),
            ev(1, 2, 1),
            ev(2, 3, 2),
            ev(3, 4, 0),
            ev(90 * W, 6, 0),
        ];
        let rule = BurstRule {
            threshold: 5,
            window: TEN_MIN,
        };
        let findings = unknown_user_burst(rule, [("198.51.100.7", group)], |i| names[i as usize]);
        assert_eq!(findings.len(), 1);
        let f = &findings[0];
        assert_eq!(
            (f.rule, f.severity, f.ip.as_str(), f.count),
            ("unknown_user_burst", Severity::High, "198.51.100.7", 5)
        );
        assert_eq!((f.first, f.last), (at(0), at(4)));
        let targets: Vec<(&str, u64)> = f
            .targets
            .iter()
            .map(|t| (t.event.as_str(), t.count))
            .collect();
        assert_eq!(targets, [("GET /a", 2), ("POST /b", 2), ("GET /c", 1)]);
    }

    #[test]
    fn ties_keep_input_order() {
        // Same time for all: the first five in input order form the run's start;
        // with all six inside the window they join into one incident of six.
        let names = ["a", "b"];
        let group = vec![
            ev(0, 2, 1),
            ev(0, 1, 0),
            ev(0, 3, 0),
            ev(0, 4, 0),
            ev(0, 5, 0),
            ev(0, 6, 1),
        ];
        let rule = BurstRule {
            threshold: 5,
            window: Duration::ZERO,
        };
        let findings = unknown_user_burst(rule, [("-", group)], |i| names[i as usize]);
        assert_eq!(findings[0].count, 6);
    }

    #[test]
    fn findings_sorted_by_first_then_ip() {
        let rule = BurstRule {
            threshold: 1,
            window: TEN_MIN,
        };
        let groups = vec![
            ("b", vec![ev(5, 1, 0)]),
            ("c", vec![ev(0, 2, 0)]),
            ("a", vec![ev(5, 3, 0)]),
        ];
        let findings = unknown_user_burst(rule, groups, |_| "x");
        let order: Vec<&str> = findings.iter().map(|f| f.ip.as_str()).collect();
        assert_eq!(order, ["c", "a", "b"]);
    }
}
