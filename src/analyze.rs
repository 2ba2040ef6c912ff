//! [`Record`]s → aggregates → [`Report`].
//!
//! An [`Analyzer`] is a fold: `add` takes one record, `merge` takes another
//! analyzer's partial result, so the sequential and any parallel path share
//! the same code. Memory grows with the distinct users, events and ips, the
//! distinct (user, event) pairs, and the timed failures of unknown users
//! kept for the window rules, never with the number of lines.

use std::collections::BTreeMap;
use std::ops::AddAssign;

use rustc_hash::{FxHashMap, FxHashSet};

use crate::detect::{self, BurstRule, Position, TimedEvent};
use crate::parse::{LineError, Record, UserKind};
use crate::report::{
    BurstSettings, EventRow, FileSummary, Report, RuleSettings, SCHEMA_VERSION, Summary, UserRow,
};
use crate::timestamp::Timestamp;

/// How many malformed lines are kept for the stderr listing.
pub const MALFORMED_SHOWN: usize = 10;

/// Names mapped to dense ids, each with its accumulator.
#[derive(Debug)]
struct Table<T> {
    ids: FxHashMap<Box<str>, u32>,
    rows: Vec<(Box<str>, T)>,
}

impl<T: Default> Table<T> {
    fn new() -> Self {
        Table {
            ids: FxHashMap::default(),
            rows: Vec::new(),
        }
    }

    /// The id of `name`, adding it on first sight; allocates only then.
    fn id(&mut self, name: &str) -> u32 {
        if let Some(&id) = self.ids.get(name) {
            return id;
        }
        let id = u32::try_from(self.rows.len()).expect("more than 4 billion distinct names");
        self.ids.insert(name.into(), id);
        self.rows.push((name.into(), T::default()));
        id
    }

    fn stats(&mut self, id: u32) -> &mut T {
        &mut self.rows[id as usize].1
    }

    fn name(&self, id: u32) -> &str {
        &self.rows[id as usize].0
    }
}

/// Per-user counters.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct UserStats {
    pub total: u64,
    pub failures: u64,
    pub first_seen: Option<Timestamp>,
    pub last_seen: Option<Timestamp>,
}

impl UserStats {
    fn add(&mut self, time: Option<Timestamp>, failure: bool) {
        self.total += 1;
        self.failures += u64::from(failure);
        if let Some(t) = time {
            self.first_seen = min_time(self.first_seen, Some(t));
            self.last_seen = max_time(self.last_seen, Some(t));
        }
    }
}

impl AddAssign for UserStats {
    fn add_assign(&mut self, other: UserStats) {
        self.total += other.total;
        self.failures += other.failures;
        self.first_seen = min_time(self.first_seen, other.first_seen);
        self.last_seen = max_time(self.last_seen, other.last_seen);
    }
}

/// Per-event counters.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct EventStats {
    pub total: u64,
    pub failures: u64,
}

impl AddAssign for EventStats {
    fn add_assign(&mut self, other: EventStats) {
        self.total += other.total;
        self.failures += other.failures;
    }
}

/// Counts over everything read.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct Totals {
    records: u64,
    malformed: u64,
    blank: u64,
    skipped: u64,
    untimed: u64,
    failures: u64,
    first: Option<Timestamp>,
    last: Option<Timestamp>,
}

impl AddAssign for Totals {
    fn add_assign(&mut self, o: Totals) {
        self.records += o.records;
        self.malformed += o.malformed;
        self.blank += o.blank;
        self.skipped += o.skipped;
        self.untimed += o.untimed;
        self.failures += o.failures;
        self.first = min_time(self.first, o.first);
        self.last = max_time(self.last, o.last);
    }
}

fn min_time(a: Option<Timestamp>, b: Option<Timestamp>) -> Option<Timestamp> {
    match (a, b) {
        (Some(x), Some(y)) => Some(x.min(y)),
        (x, None) | (None, x) => x,
    }
}

fn max_time(a: Option<Timestamp>, b: Option<Timestamp>) -> Option<Timestamp> {
    a.max(b)
}

/// A line that was not a record, kept for the stderr listing.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MalformedLine {
    pub position: Position,
    pub reason: LineError,
}

/// The partial result of analysing some records.
#[derive(Debug)]
pub struct Analyzer {
    totals: Totals,
    users: Table<UserStats>,
    events: Table<EventStats>,
    ips: Table<()>,
    /// Distinct (user, event) pairs, for the distinct counts both ways.
    user_events: FxHashSet<(u32, u32)>,
    /// Timed failures of unknown users, by ip id, in input order.
    unknown_failures: FxHashMap<u32, Vec<TimedEvent>>,
    /// The first malformed lines in input order.
    malformed: Vec<MalformedLine>,
}

impl Default for Analyzer {
    fn default() -> Self {
        Analyzer::new()
    }
}

impl Analyzer {
    /// An analyzer that has seen nothing.
    pub fn new() -> Analyzer {
        Analyzer {
            totals: Totals::default(),
            users: Table::new(),
            events: Table::new(),
            ips: Table::new(),
            user_events: FxHashSet::default(),
            unknown_failures: FxHashMap::default(),
            malformed: Vec::new(),
        }
    }

    /// Counts one record read at `position`.
    pub fn add(&mut self, record: &Record<'_>, position: Position) {
        let failure = record.outcome.is_failure();
        let t = &mut self.totals;
        t.records += 1;
        t.failures += u64::from(failure);
        match record.time {
            Some(time) => {
                t.first = min_time(t.first, Some(time));
                t.last = max_time(t.last, Some(time));
            }
            None => t.untimed += 1,
        }

        let user = self.users.id(&record.user);
        self.users.stats(user).add(record.time, failure);
        let event = self.events.id(&record.event);
        let stats = self.events.stats(event);
        stats.total += 1;
        stats.failures += u64::from(failure);
        self.user_events.insert((user, event));

        if let (true, UserKind::Unknown, Some(time)) = (failure, record.user_kind, record.time) {
            let ip = self.ips.id(record.ip.as_deref().unwrap_or("-"));
            self.unknown_failures
                .entry(ip)
                .or_default()
                .push(TimedEvent {
                    time,
                    position,
                    event,
                });
        }
    }

    /// Counts a blank line.
    pub fn add_blank(&mut self) {
        self.totals.blank += 1;
    }

    /// Counts a record its format skips.
    pub fn add_skipped(&mut self) {
        self.totals.skipped += 1;
    }

    /// Counts a malformed line, keeping the first few for the listing.
    pub fn add_malformed(&mut self, position: Position, reason: LineError) {
        self.totals.malformed += 1;
        if self.malformed.len() < MALFORMED_SHOWN {
            self.malformed.push(MalformedLine { position, reason });
        }
    }

    /// Folds `other` (records read elsewhere) into this analyzer. The result
    /// is the same as if every record had been added to one analyzer.
    pub fn merge(&mut self, other: Analyzer) {
        self.totals += other.totals;
        let user_ids: Vec<u32> = other
            .users
            .rows
            .into_iter()
            .map(|(name, stats)| {
                let id = self.users.id(&name);
                *self.users.stats(id) += stats;
                id
            })
            .collect();
        let event_ids: Vec<u32> = other
            .events
            .rows
            .into_iter()
            .map(|(name, stats)| {
                let id = self.events.id(&name);
                *self.events.stats(id) += stats;
                id
            })
            .collect();
        let ip_ids: Vec<u32> = other
            .ips
            .rows
            .into_iter()
            .map(|(name, ())| self.ips.id(&name))
            .collect();
        self.user_events.extend(
            other
                .user_events
                .into_iter()
                .map(|(u, e)| (user_ids[u as usize], event_ids[e as usize])),
        );
        for (ip, failures) in other.unknown_failures {
            let mine = self
                .unknown_failures
                .entry(ip_ids[ip as usize])
                .or_default();
            mine.extend(failures.into_iter().map(|f| TimedEvent {
                event: event_ids[f.event as usize],
                ..f
            }));
        }
        self.malformed.extend(other.malformed);
        self.malformed.sort_by_key(|m| m.position);
        self.malformed.truncate(MALFORMED_SHOWN);
    }

    /// The first malformed lines, in input order.
    pub fn malformed_lines(&self) -> &[MalformedLine] {
        &self.malformed
    }

    /// Runs the rules and sorts everything into the final report.
    pub fn finish(
        self,
        files: Vec<FileSummary>,
        skipped_files: u64,
        rule: BurstRule,
        unknown_users: &[String],
    ) -> Report {
        let mut formats: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for f in &files {
            if let Some(format) = &f.format {
                formats
                    .entry(format.clone())
                    .or_default()
                    .push(f.path.clone());
            }
        }
        let mut user_events = vec![0u64; self.users.rows.len()];
        let mut event_users = vec![0u64; self.events.rows.len()];
        for &(u, e) in &self.user_events {
            user_events[u as usize] += 1;
            event_users[e as usize] += 1;
        }

        let ips = &self.ips;
        let events = &self.events;
        let findings = detect::unknown_user_burst(
            rule,
            self.unknown_failures
                .into_iter()
                .map(|(ip, f)| (ips.name(ip), f)),
            |e| events.name(e),
        );

        let mut users: Vec<UserRow> = self
            .users
            .rows
            .iter()
            .zip(user_events)
            .map(|((name, s), events)| UserRow {
                user: name.to_string(),
                total: s.total,
                failures: s.failures,
                first_seen: s.first_seen,
                last_seen: s.last_seen,
                events,
            })
            .collect();
        users.sort_by(|a, b| b.total.cmp(&a.total).then_with(|| a.user.cmp(&b.user)));

        let mut events: Vec<EventRow> = self
            .events
            .rows
            .iter()
            .zip(event_users)
            .map(|((name, s), users)| EventRow {
                event: name.to_string(),
                total: s.total,
                failures: s.failures,
                users,
            })
            .collect();
        events.sort_by(|a, b| b.total.cmp(&a.total).then_with(|| a.event.cmp(&b.event)));

        let t = self.totals;
        Report {
            schema_version: SCHEMA_VERSION,
            summary: Summary {
                files,
                formats,
                records: t.records,
                malformed: t.malformed,
                blank: t.blank,
                skipped: t.skipped,
                skipped_files,
                untimed: t.untimed,
                failures: t.failures,
                first: t.first,
                last: t.last,
            },
            users,
            events,
            findings,
            rules: RuleSettings {
                unknown_user_burst: BurstSettings {
                    threshold: rule.threshold as u64,
                    window: humantime::format_duration(rule.window).to_string(),
                    unknown_users: unknown_users.to_vec(),
                },
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::format::Format;
    use crate::parse::{FieldOverrides, IpList, Parsed, Parser, Scratch, UnknownUsers};

    const RULE: BurstRule = BurstRule {
        threshold: 3,
        window: Duration::from_secs(60),
    };

    fn analyze(lines: &[&str]) -> Analyzer {
        let parser = Parser::new(
            &Format::builtin("generic").unwrap(),
            &FieldOverrides::default(),
            UnknownUsers::new([]),
            IpList::First,
        )
        .unwrap();
        let mut a = Analyzer::new();
        let mut scratch = Scratch::default();
        for (i, line) in lines.iter().enumerate() {
            let position = Position {
                file: 0,
                line: i as u64 + 1,
            };
            match parser.parse(line.as_bytes(), &mut scratch) {
                Ok(Parsed::Record { record, .. }) => a.add(&record, position),
                Ok(Parsed::Skipped) => a.add_skipped(),
                Err(e) => a.add_malformed(position, e),
            }
        }
        a
    }

    fn finish(a: Analyzer) -> Report {
        a.finish(vec![FileSummary::new("x".into())], 0, RULE, &[])
    }

    const LOG: &[&str] = &[
        r#"{"ts":"2023-09-22T10:00:00Z","user_id":"alice","method":"GET","path":"/a/1","status":200}"#,
        r#"{"ts":"2023-09-22T10:00:01Z","user_id":"alice","event_type":"login","outcome":"success"}"#,
        r#"{"ts":"2023-09-22T10:00:02Z","user_id":"bob","method":"GET","path":"/a/2","status":500}"#,
        r#"{"user_id":"bob","method":"GET","path":"/a/3","status":200}"#,
        r#"{"ts":"2023-09-22T10:00:03Z","user_id":"unknown_user","ip":"9.9.9.9","path":"/x"}"#,
        r#"{"ts":"2023-09-22T10:00:04Z","user_id":"unknown_user","ip":"9.9.9.9","path":"/y","status":401}"#,
        r#"not json"#,
        r#"{"ts":"2023-09-22T10:00:05Z","user_id":"unknown_user","ip":"9.9.9.9","path":"/x"}"#,
        r#"{"ts":"2023-09-22T10:00:06Z","user_id":"unknown_user","ip":"8.8.8.8","path":"/x"}"#,
    ];

    #[test]
    fn aggregates_users_events_and_totals() {
        let r = finish(analyze(LOG));
        assert_eq!(
            (
                r.summary.records,
                r.summary.malformed,
                r.summary.untimed,
                r.summary.failures
            ),
            (8, 1, 1, 5)
        );
        assert_eq!(
            r.summary.first.unwrap().to_string(),
            "2023-09-22T10:00:00.000Z"
        );
        assert_eq!(
            r.summary.last.unwrap().to_string(),
            "2023-09-22T10:00:06.000Z"
        );
        let users: Vec<(&str, u64, u64, u64)> = r
            .users
            .iter()
            .map(|u| (u.user.as_str(), u.total, u.failures, u.events))
            .collect();
        assert_eq!(
            users,
            [
                ("unknown_user", 4, 4, 2),
                ("alice", 2, 0, 2),
                ("bob", 2, 1, 1)
            ]
        );
        let events: Vec<(&str, u64, u64, u64)> = r
            .events
            .iter()
            .map(|e| (e.event.as_str(), e.total, e.failures, e.users))
            .collect();
        assert_eq!(
            events,
            [
                ("/x", 3, 3, 1),
                ("GET /a/:id", 3, 1, 2),
                ("/y", 1, 1, 1),
                ("login", 1, 0, 1)
            ]
        );
    }

    #[test]
    fn unknown_failures_pool_per_ip() {
        let r = finish(analyze(LOG));
        assert_eq!(r.findings.len(), 1);
        assert_eq!(
            (r.findings[0].ip.as_str(), r.findings[0].count),
            ("9.9.9.9", 3)
        );
    }

    #[test]
    fn merging_halves_gives_the_whole() {
        let whole = finish(analyze(LOG));
        for cut in 0..=LOG.len() {
            let mut first = analyze(&LOG[..cut]);
            let mut second = analyze(&LOG[cut..]);
            // Positions of the second half continue the first.
            for failures in second.unknown_failures.values_mut() {
                for f in failures {
                    f.position.line += cut as u64;
                }
            }
            for m in &mut second.malformed {
                m.position.line += cut as u64;
            }
            first.merge(second);
            assert_eq!(finish(first), whole, "cut at {cut}");
        }
    }

    #[test]
    fn merge_keeps_the_first_malformed_lines_in_input_order() {
        let bad: Vec<&str> = vec!["x"; 12];
        let mut late = analyze(&bad);
        for m in &mut late.malformed {
            m.position.file = 1;
        }
        let mut early = analyze(&bad[..3]);
        late.merge(analyze(&[]));
        early.merge(late);
        let shown: Vec<(u32, u64)> = early
            .malformed_lines()
            .iter()
            .map(|m| (m.position.file, m.position.line))
            .collect();
        assert_eq!(
            shown,
            [
                (0, 1),
                (0, 2),
                (0, 3),
                (1, 1),
                (1, 2),
                (1, 3),
                (1, 4),
                (1, 5),
                (1, 6),
                (1, 7)
            ]
        );
        assert_eq!(early.totals.malformed, 15);
    }
}
