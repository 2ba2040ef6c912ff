//! [`Record`]s → aggregates → [`Report`].
//!
//! An [`Analyzer`] is a fold: `add` takes one record, `merge` takes another
//! analyzer's partial result, so the sequential and any parallel path share
//! the same code. Memory grows with the distinct users, events and ips, the
//! distinct (user, event) and (ip, user) pairs, the minutes that have
//! records (timeline), and the timed records the rules need: failures of
//! unknown users, authentication and authorization failures of known users
//! (delta-encoded, [`crate::evidence`]), and successes of known users (for
//! `success_after_failures`; on disk once there are many, [`crate::spill`]).

use std::collections::BTreeMap;
use std::io;
use std::ops::AddAssign;

use rustc_hash::{FxHashMap, FxHashSet};

use std::time::Duration;

use crate::detect::{self, Evidence, EvidenceSet, Names, Position, SuccessWindows};
use crate::parse::{LineError, Outcome, Record, UserKind};
use crate::report::{
    EventRow, FileSummary, IpRow, Report, SCHEMA_VERSION, Summary, TimeRange, UserRow,
};
use crate::rules::RuleSet;
use crate::spill::{IdMaps, SuccessLog};
use crate::timeline;
use crate::timestamp::Timestamp;

/// How many malformed lines are kept for the stderr listing.
pub const MALFORMED_SHOWN: usize = 10;

/// Names mapped to dense ids, each with its accumulator.
#[derive(Debug)]
struct Table<T> {
    ids: FxHashMap<Key, u32>,
    rows: Vec<(Box<str>, T)>,
}

/// A name as a key of [`Table::ids`], looked up by its bytes. Names of up
/// to 22 bytes (most user names, every IPv4 address) are kept inside the
/// hash table's slot, so comparing one costs no second memory access.
#[derive(Clone, Debug)]
enum Key {
    Inline(u8, [u8; 22]),
    Heap(Box<[u8]>),
}

impl Key {
    fn new(name: &str) -> Key {
        let b = name.as_bytes();
        match u8::try_from(b.len()) {
            Ok(len) if b.len() <= 22 => {
                let mut bytes = [0u8; 22];
                bytes[..b.len()].copy_from_slice(b);
                Key::Inline(len, bytes)
            }
            _ => Key::Heap(b.into()),
        }
    }

    fn bytes(&self) -> &[u8] {
        match self {
            Key::Inline(len, bytes) => &bytes[..*len as usize],
            Key::Heap(b) => b,
        }
    }
}

impl std::borrow::Borrow<[u8]> for Key {
    fn borrow(&self) -> &[u8] {
        self.bytes()
    }
}

impl PartialEq for Key {
    fn eq(&self, other: &Key) -> bool {
        self.bytes() == other.bytes()
    }
}

impl Eq for Key {}

/// As the bytes hash, so that lookups by `&[u8]` find it.
impl std::hash::Hash for Key {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.bytes().hash(state);
    }
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
        if let Some(&id) = self.ids.get(name.as_bytes()) {
            return id;
        }
        let id = u32::try_from(self.rows.len()).expect("more than 4 billion distinct names");
        self.ids.insert(Key::new(name), id);
        self.rows.push((name.into(), T::default()));
        id
    }

    fn stats(&mut self, id: u32) -> &mut T {
        &mut self.rows[id as usize].1
    }

    /// Adds `other`'s rows into this table; returns, for each of `other`'s
    /// ids, the id it has here.
    fn merge(&mut self, other: Table<T>) -> Vec<u32>
    where
        T: AddAssign,
    {
        other
            .rows
            .into_iter()
            .map(|(name, stats)| {
                let id = self.id(&name);
                *self.stats(id) += stats;
                id
            })
            .collect()
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

/// Per-ip counters.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct IpStats {
    pub seen: UserStats,
    pub unknown_user_failures: u64,
}

impl AddAssign for IpStats {
    fn add_assign(&mut self, other: IpStats) {
        self.seen += other.seen;
        self.unknown_user_failures += other.unknown_user_failures;
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
    filtered_out: u64,
    first: Option<Timestamp>,
    last: Option<Timestamp>,
}

impl AddAssign for Totals {
    fn add_assign(&mut self, o: Totals) {
        self.records += o.records;
        self.filtered_out += o.filtered_out;
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
    ips: Table<IpStats>,
    /// Distinct (user, event) pairs, for the distinct counts both ways.
    user_events: FxHashSet<(u32, u32)>,
    /// Distinct (ip, user) pairs.
    ip_users: FxHashSet<(u32, u32)>,
    /// Records and failures per minute since the epoch.
    minutes: FxHashMap<i64, timeline::Counts>,
    /// The timed failures the rules need.
    evidence: EvidenceSet,
    /// The timed successes of known users (for `success_after_failures`).
    successes: SuccessLog,
    /// The first malformed lines in input order.
    malformed: Vec<MalformedLine>,
    /// Saves hash lookups on records like the ones before them.
    recent: Recent,
}

/// What spares `add` most hash-table lookups (each a likely cache miss on a
/// big log): indexed by user or ip id, and only ever a shortcut. A missing
/// entry means "unknown" and an entry is true of the sets it speaks of,
/// which only grow, so any analyzer may start with an empty `Recent`.
#[derive(Debug, Default)]
struct Recent {
    /// Per user: bit `e` set when (user, event `e`) is in `user_events`,
    /// for the first 64 events.
    user_events: Vec<u64>,
    /// Per ip: a user that (ip, user) is in `ip_users` for.
    ip_user: Vec<u32>,
    /// Per user: the ip of their last record, with its name (compared
    /// before use; kept here so that comparing reads no other memory).
    user_ip: Vec<(u32, Key)>,
}

/// No id yet.
const NONE: u32 = u32::MAX;

/// The entry for `id`, growing `v` with `fill` to reach it.
fn slot<T: Clone>(v: &mut Vec<T>, id: u32, fill: T) -> &mut T {
    let i = id as usize;
    if i >= v.len() {
        v.resize(i + 1, fill);
    }
    &mut v[i]
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
            ip_users: FxHashSet::default(),
            minutes: FxHashMap::default(),
            evidence: EvidenceSet::default(),
            successes: SuccessLog::default(),
            malformed: Vec::new(),
            recent: Recent::default(),
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
                self.minutes
                    .entry(timeline::minute_of(time))
                    .or_default()
                    .add(failure);
            }
            None => t.untimed += 1,
        }

        let user = self.users.id(&record.user);
        self.users.stats(user).add(record.time, failure);
        let event = self.events.id(&record.event);
        let stats = self.events.stats(event);
        stats.total += 1;
        stats.failures += u64::from(failure);
        let bits = slot(&mut self.recent.user_events, user, 0);
        let bit = 1u64.checked_shl(event).unwrap_or(0);
        if *bits & bit == 0 {
            self.user_events.insert((user, event));
            *bits |= bit;
        }

        let ip_name = record.ip.as_deref().unwrap_or("-");
        let last_ip = slot(
            &mut self.recent.user_ip,
            user,
            (NONE, Key::Inline(0, [0; 22])),
        );
        let ip = if last_ip.0 != NONE && last_ip.1.bytes() == ip_name.as_bytes() {
            last_ip.0
        } else {
            let ip = self.ips.id(ip_name);
            *last_ip = (ip, Key::new(ip_name));
            ip
        };
        let ip_stats = self.ips.stats(ip);
        ip_stats.seen.add(record.time, failure);
        let unknown_failure = failure && record.user_kind == UserKind::Unknown;
        ip_stats.unknown_user_failures += u64::from(unknown_failure);
        let paired = slot(&mut self.recent.ip_user, ip, NONE);
        if *paired != user {
            self.ip_users.insert((ip, user));
            *paired = user;
        }

        let Some(time) = record.time else { return };
        let evidence = Evidence {
            time,
            position,
            user,
            ip,
            event,
        };
        let list = match (record.user_kind, record.outcome) {
            (UserKind::Unknown, o) if o.is_failure() => &mut self.evidence.unknown_failures,
            (UserKind::Known, Outcome::AuthenticationFailure) => &mut self.evidence.authn_failures,
            (UserKind::Known, Outcome::AuthorizationFailure) => &mut self.evidence.authz_failures,
            (UserKind::Known, Outcome::Success) => return self.successes.push(evidence),
            _ => return,
        };
        list.push(evidence);
    }

    /// The time of the newest timed record so far (relative `--since` and
    /// `--until` count back from it).
    pub fn newest(&self) -> Option<Timestamp> {
        self.totals.last
    }

    /// Counts a record that the filters left out.
    pub fn add_filtered_out(&mut self) {
        self.totals.filtered_out += 1;
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
        let user_ids = self.users.merge(other.users);
        let event_ids = self.events.merge(other.events);
        let ip_ids = self.ips.merge(other.ips);
        self.user_events.extend(
            other
                .user_events
                .into_iter()
                .map(|(u, e)| (user_ids[u as usize], event_ids[e as usize])),
        );
        self.ip_users.extend(
            other
                .ip_users
                .into_iter()
                .map(|(i, u)| (ip_ids[i as usize], user_ids[u as usize])),
        );
        for (minute, counts) in other.minutes {
            *self.minutes.entry(minute).or_default() += counts;
        }
        let maps = IdMaps {
            users: &user_ids,
            ips: &ip_ids,
            events: &event_ids,
        };
        self.evidence
            .append_mapped(other.evidence, |e| maps.apply(e));
        self.successes.merge(other.successes, &maps);
        self.malformed.extend(other.malformed);
        self.malformed.sort_by_key(|m| m.position);
        self.malformed.truncate(MALFORMED_SHOWN);
    }

    /// The first malformed lines, in input order.
    pub fn malformed_lines(&self) -> &[MalformedLine] {
        &self.malformed
    }

    /// Runs the rules and sorts everything into the final report. Fails only
    /// if the successes kept on disk cannot be read back.
    pub fn finish(
        mut self,
        files: Vec<FileSummary>,
        skipped_files: u64,
        settings: &FinishSettings,
    ) -> io::Result<Report> {
        // Needs no order; `detect::run` sorts the evidence itself.
        let windows = SuccessWindows::new(&settings.rules, &self.evidence);
        if !windows.is_empty() {
            self.evidence.successes =
                std::mem::take(&mut self.successes).select(windows.contains_fn())?;
        }
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
        let mut ip_users = vec![0u64; self.ips.rows.len()];
        for &(i, _) in &self.ip_users {
            ip_users[i as usize] += 1;
        }

        let names = Names {
            users: self.users.rows.iter().map(|(n, _)| &**n).collect(),
            ips: self.ips.rows.iter().map(|(n, _)| &**n).collect(),
            events: self.events.rows.iter().map(|(n, _)| &**n).collect(),
        };
        let findings = detect::run(&settings.rules, self.evidence, &names);

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

        let mut ips: Vec<IpRow> = self
            .ips
            .rows
            .iter()
            .zip(ip_users)
            .map(|((name, s), users)| IpRow {
                ip: name.to_string(),
                total: s.seen.total,
                failures: s.seen.failures,
                unknown_user_failures: s.unknown_user_failures,
                users,
                first_seen: s.seen.first_seen,
                last_seen: s.seen.last_seen,
            })
            .collect();
        ips.sort_by(|a, b| b.total.cmp(&a.total).then_with(|| a.ip.cmp(&b.ip)));

        let t = self.totals;
        Ok(Report {
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
                filtered_out: t.filtered_out,
                range: settings.range,
            },
            users,
            events,
            ips,
            findings,
            timeline: timeline::build(&self.minutes, settings.bucket),
            rules: settings.rules.clone(),
        })
    }
}

/// What `finish` needs besides the data: the rules, the timeline's bucket
/// width (`None` chooses one), and the time range to echo.
#[derive(Clone, Debug, Default)]
pub struct FinishSettings {
    pub rules: RuleSet,
    pub bucket: Option<Duration>,
    pub range: TimeRange,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::Format;
    use crate::parse::{FieldOverrides, IpList, Parsed, Parser, Scratch, UnknownUsers};

    fn analyze(lines: &[&str]) -> Analyzer {
        analyze_from(lines, 1)
    }

    /// Analyses `lines`, numbering them from `first_line`.
    fn analyze_from(lines: &[&str], first_line: u64) -> Analyzer {
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
                line: i as u64 + first_line,
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
        let mut rules = RuleSet::default();
        rules.unknown_user_burst.threshold = 3;
        a.finish(
            vec![FileSummary::new("x".into())],
            0,
            &FinishSettings {
                rules,
                ..Default::default()
            },
        )
        .unwrap()
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
            (r.findings[0].ip.as_deref(), r.findings[0].count),
            (Some("9.9.9.9"), 3)
        );
    }

    #[test]
    fn merging_halves_gives_the_whole() {
        let whole = finish(analyze(LOG));
        for cut in 0..=LOG.len() {
            let mut first = analyze(&LOG[..cut]);
            first.merge(analyze_from(&LOG[cut..], cut as u64 + 1));
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
