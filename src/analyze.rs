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

use serde::{Deserialize, Serialize};

use crate::detect::{self, Evidence, EvidenceSet, NamedWindows, Names, Position, SuccessWindows};
use crate::evidence::EvidenceList;
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
    /// Why it is not a record, as printed.
    pub reason: String,
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
    /// Whether successes are kept at all (a partial report without a probe
    /// plan needs none).
    keep_successes: bool,
    /// The earliest and latest timed success of a known user: a shard whose
    /// span misses every candidate window needs no second pass.
    success_span: Option<(Timestamp, Timestamp)>,
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
        Analyzer::keeping_successes(true)
    }

    /// An analyzer that has seen nothing and keeps the successes of known
    /// users only if `keep` (their span is always kept).
    pub fn keeping_successes(keep: bool) -> Analyzer {
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
            keep_successes: keep,
            success_span: None,
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
            (UserKind::Known, Outcome::Success) => {
                self.success_span = Some(match self.success_span {
                    Some((lo, hi)) => (lo.min(time), hi.max(time)),
                    None => (time, time),
                });
                if self.keep_successes {
                    self.successes.push(evidence);
                }
                return;
            }
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
            self.malformed.push(MalformedLine {
                position,
                reason: reason.to_string(),
            });
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
        self.success_span = match (self.success_span, other.success_span) {
            (Some((a, b)), Some((c, d))) => Some((a.min(c), b.max(d))),
            (x, None) | (None, x) => x,
        };
        self.malformed.extend(other.malformed);
        self.malformed.sort_by_key(|m| m.position);
        self.malformed.truncate(MALFORMED_SHOWN);
    }

    /// How many lines were malformed (listed or not).
    pub fn malformed_count(&self) -> u64 {
        self.totals.malformed
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

/// A user row of a partial: name, total, failures, first seen, last seen.
pub type UserRowState = (String, u64, u64, Option<i128>, Option<i128>);

/// An ip row of a partial: name, total, failures, first seen, last seen,
/// unknown-user failures.
pub type IpRowState = (String, u64, u64, Option<i128>, Option<i128>, u64);

/// One timed record as a partial report stores it: time in nanoseconds,
/// file index, line, user, ip and event ids.
pub type EvidenceRow = (i128, u32, u64, u32, u32, u32);

/// The timed records of a partial, kept delta-encoded as the analyzer keeps
/// them: written as [`EvidenceRow`]s straight from the list, read back
/// straight into a list, so neither side holds them as 48-byte rows.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Rows(pub EvidenceList);

impl Eq for Rows {}

impl Serialize for Rows {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeSeq;
        let mut seq = s.serialize_seq(Some(self.0.len()))?;
        for e in self.0.iter() {
            let row: EvidenceRow = (
                e.time.nanos(),
                e.position.file,
                e.position.line,
                e.user,
                e.ip,
                e.event,
            );
            seq.serialize_element(&row)?;
        }
        seq.end()
    }
}

impl<'de> Deserialize<'de> for Rows {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Rows, D::Error> {
        struct RowsVisitor;
        impl<'de> serde::de::Visitor<'de> for RowsVisitor {
            type Value = Rows;

            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a list of [time, file, line, user, ip, event] rows")
            }

            fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Rows, A::Error> {
                let mut list = EvidenceList::default();
                while let Some((t, file, line, user, ip, event)) =
                    seq.next_element::<EvidenceRow>()?
                {
                    let time = Timestamp::from_nanos(t).ok_or_else(|| {
                        serde::de::Error::custom(format!("time {t} out of range"))
                    })?;
                    list.push(Evidence {
                        time,
                        position: Position { file, line },
                        user,
                        ip,
                        event,
                    });
                }
                Ok(Rows(list))
            }
        }
        d.deserialize_seq(RowsVisitor)
    }
}

/// An analyzer's content as plain data, for partial reports. Rows are
/// sorted (names, then pairs and records), so the same records give the
/// same bytes whatever the thread count. Ids index the name lists; file
/// indexes are those of the partial that holds the state.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct State {
    /// records, malformed, blank, skipped, untimed, failures, filtered_out.
    pub counts: [u64; 7],
    pub first: Option<i128>,
    pub last: Option<i128>,
    pub users: Vec<UserRowState>,
    /// Name, total, failures.
    pub events: Vec<(String, u64, u64)>,
    pub ips: Vec<IpRowState>,
    pub user_events: Vec<(u32, u32)>,
    pub ip_users: Vec<(u32, u32)>,
    /// Minute since the epoch, records, failures.
    pub minutes: Vec<(i64, u64, u64)>,
    pub unknown_failures: Rows,
    pub authn_failures: Rows,
    pub authz_failures: Rows,
    /// Successes inside a probe plan's windows (none without a plan).
    pub successes: Rows,
    /// File index, line, reason.
    pub malformed: Vec<(u32, u64, String)>,
}

/// Which successes of known users a partial report keeps.
#[derive(Clone, Copy, Debug)]
pub enum KeepSuccesses<'a> {
    /// None: the first pass.
    None,
    /// Those inside a probe plan's windows: the second pass.
    Within(&'a NamedWindows),
    /// All that are held (merging partials that kept some).
    All,
}

/// A state that does not hold together (a damaged or forged partial).
#[derive(Debug, thiserror::Error)]
#[error("inconsistent partial report: {0}")]
pub struct StateError(String);

fn nanos(t: Option<Timestamp>) -> Option<i128> {
    t.map(Timestamp::nanos)
}

fn time(n: Option<i128>) -> Result<Option<Timestamp>, StateError> {
    n.map(|n| Timestamp::from_nanos(n).ok_or_else(|| StateError(format!("time {n} out of range"))))
        .transpose()
}

/// Checks that a state's counters add up as an analyzer's do: every
/// table's totals sum to the records, the timeline to the timed records,
/// failures never exceed totals. Then no sum over the state can overflow,
/// and a forged partial cannot make the numbers of a report disagree.
fn check_counts(state: &State) -> Result<(), StateError> {
    let [records, _, _, _, untimed, failures, _] = state.counts;
    let sum = |what: &str, values: &mut dyn Iterator<Item = (u64, u64)>| {
        let mut total = 0u64;
        let mut failed = 0u64;
        for (t, f) in values {
            if f > t {
                return Err(StateError(format!("{what}: more failures than records")));
            }
            total = total
                .checked_add(t)
                .ok_or_else(|| StateError(format!("{what}: too many")))?;
            failed = failed
                .checked_add(f)
                .ok_or_else(|| StateError(format!("{what}: too many")))?;
        }
        Ok((total, failed))
    };
    let want = (records, failures);
    let timed = records
        .checked_sub(untimed)
        .ok_or_else(|| StateError("more untimed records than records".into()))?;
    let checks = [
        (
            "users",
            sum("users", &mut state.users.iter().map(|u| (u.1, u.2)))?,
            want,
        ),
        (
            "events",
            sum("events", &mut state.events.iter().map(|e| (e.1, e.2)))?,
            want,
        ),
        (
            "ips",
            sum("ips", &mut state.ips.iter().map(|i| (i.1, i.2)))?,
            want,
        ),
        (
            "minutes",
            (
                sum("minutes", &mut state.minutes.iter().map(|m| (m.1, m.2)))?.0,
                0,
            ),
            (timed, 0),
        ),
    ];
    if state.ips.iter().any(|i| i.5 > i.2) {
        return Err(StateError(
            "an ip has more unknown-user failures than failures".into(),
        ));
    }
    match checks.iter().find(|(_, got, want)| got != want) {
        Some((what, got, want)) => Err(StateError(format!(
            "the {what} add up to {got:?} (records, failures), not {want:?}"
        ))),
        None => Ok(()),
    }
}

/// The ids of `rows` sorted by name: (rows in name order, old id → new id).
fn by_name<T>(rows: Vec<(Box<str>, T)>) -> (Vec<(Box<str>, T)>, Vec<u32>) {
    let mut order: Vec<usize> = (0..rows.len()).collect();
    order.sort_by(|&a, &b| rows[a].0.cmp(&rows[b].0));
    let mut map = vec![0u32; rows.len()];
    for (new, &old) in order.iter().enumerate() {
        map[old] = new as u32;
    }
    let mut slots: Vec<Option<(Box<str>, T)>> = rows.into_iter().map(Some).collect();
    let sorted = order.iter().filter_map(|&old| slots[old].take()).collect();
    (sorted, map)
}

impl Analyzer {
    /// Gives the files records were read from new numbers (`files[old]`):
    /// merging partials numbers files as they arrive, before every shard's
    /// place is known. Fails only if kept successes cannot be read back.
    pub fn renumber_files(&mut self, files: &[u32]) -> io::Result<()> {
        // Partials given in ordinal order keep their numbers: nothing to
        // rewrite.
        if files.iter().enumerate().all(|(i, &f)| i as u32 == f) {
            return Ok(());
        }
        let renumber = |e: Evidence| Evidence {
            position: Position {
                file: files[e.position.file as usize],
                line: e.position.line,
            },
            ..e
        };
        let evidence = &mut self.evidence;
        for list in [
            &mut evidence.unknown_failures,
            &mut evidence.authn_failures,
            &mut evidence.authz_failures,
        ] {
            *list = list.iter().map(renumber).collect();
        }
        for e in std::mem::take(&mut self.successes).select(|_| true)? {
            self.successes.push(renumber(e));
        }
        for m in &mut self.malformed {
            m.position.file = files[m.position.file as usize];
        }
        self.malformed.sort_by_key(|m| m.position);
        Ok(())
    }

    /// The earliest and latest timed success of a known user.
    pub fn success_span(&self) -> Option<(Timestamp, Timestamp)> {
        self.success_span
    }

    /// The windows in which a success could matter to
    /// `success_after_failures`, by user and ip name.
    pub fn success_windows(&self, rules: &RuleSet) -> NamedWindows {
        let names = Names {
            users: self.users.rows.iter().map(|(n, _)| &**n).collect(),
            ips: self.ips.rows.iter().map(|(n, _)| &**n).collect(),
            events: self.events.rows.iter().map(|(n, _)| &**n).collect(),
        };
        SuccessWindows::new(rules, &self.evidence).named(&names)
    }

    /// This analyzer as plain data, with the successes `keep` says. Fails
    /// only if kept successes cannot be read back from disk.
    pub fn into_state(self, keep: KeepSuccesses<'_>) -> io::Result<State> {
        let successes = match keep {
            KeepSuccesses::All => self.successes.select(|_| true)?,
            KeepSuccesses::Within(named) => {
                let windows = SuccessWindows::from_named(
                    named,
                    |u| self.users.ids.get(u.as_bytes()).copied(),
                    |i| self.ips.ids.get(i.as_bytes()).copied(),
                );
                self.successes.select(|e| windows.contains(e))?
            }
            KeepSuccesses::None => Vec::new(),
        };
        let (users, user_map) = by_name(self.users.rows);
        let (events, event_map) = by_name(self.events.rows);
        let (ips, ip_map) = by_name(self.ips.rows);
        // Grouped by ip, then by time and position: an order fixed by the
        // records alone, whatever order the threads added them in.
        let rows = |list: &mut dyn Iterator<Item = Evidence>| {
            let mapped: EvidenceList = list
                .map(|e| Evidence {
                    user: user_map[e.user as usize],
                    ip: ip_map[e.ip as usize],
                    event: event_map[e.event as usize],
                    ..e
                })
                .collect();
            let mut sorted = EvidenceList::default();
            mapped.groups(
                |e| e.ip,
                |_, group| group.iter().for_each(|e| sorted.push(*e)),
            );
            Rows(sorted)
        };
        let pairs = |set: FxHashSet<(u32, u32)>, a: &[u32], b: &[u32]| {
            let mut out: Vec<(u32, u32)> = set
                .into_iter()
                .map(|(x, y)| (a[x as usize], b[y as usize]))
                .collect();
            out.sort_unstable();
            out
        };
        let mut minutes: Vec<(i64, u64, u64)> = self
            .minutes
            .into_iter()
            .map(|(m, c)| (m, c.records, c.failures))
            .collect();
        minutes.sort_unstable();
        let t = self.totals;
        Ok(State {
            counts: [
                t.records,
                t.malformed,
                t.blank,
                t.skipped,
                t.untimed,
                t.failures,
                t.filtered_out,
            ],
            first: nanos(t.first),
            last: nanos(t.last),
            user_events: pairs(self.user_events, &user_map, &event_map),
            ip_users: pairs(self.ip_users, &ip_map, &user_map),
            users: users
                .into_iter()
                .map(|(n, s)| {
                    let (first, last) = (nanos(s.first_seen), nanos(s.last_seen));
                    (n.into(), s.total, s.failures, first, last)
                })
                .collect(),
            events: events
                .into_iter()
                .map(|(n, s)| (n.into(), s.total, s.failures))
                .collect(),
            ips: ips
                .into_iter()
                .map(|(n, s)| {
                    let (first, last) = (nanos(s.seen.first_seen), nanos(s.seen.last_seen));
                    let (total, failures) = (s.seen.total, s.seen.failures);
                    (
                        n.into(),
                        total,
                        failures,
                        first,
                        last,
                        s.unknown_user_failures,
                    )
                })
                .collect(),
            minutes,
            unknown_failures: rows(&mut self.evidence.unknown_failures.iter()),
            authn_failures: rows(&mut self.evidence.authn_failures.iter()),
            authz_failures: rows(&mut self.evidence.authz_failures.iter()),
            successes: rows(&mut successes.into_iter()),
            malformed: self
                .malformed
                .into_iter()
                .map(|m| (m.position.file, m.position.line, m.reason))
                .collect(),
        })
    }

    /// An analyzer holding `state`, its file indexes mapped through `files`
    /// (the state's file index → the index wanted). Every id and index is
    /// checked: a damaged partial is an error, never a panic.
    pub fn from_state(state: State, files: &[u32]) -> Result<Analyzer, StateError> {
        let mut a = Analyzer::new();
        let [
            records,
            malformed,
            blank,
            skipped,
            untimed,
            failures,
            filtered_out,
        ] = state.counts;
        a.totals = Totals {
            records,
            malformed,
            blank,
            skipped,
            untimed,
            failures,
            filtered_out,
            first: time(state.first)?,
            last: time(state.last)?,
        };
        check_counts(&state)?;
        let table = |what: &str, names: Vec<&str>| -> Result<(), StateError> {
            let mut seen = FxHashSet::default();
            match names.into_iter().find(|n| !seen.insert(*n)) {
                Some(n) => Err(StateError(format!("{what} {n:?} twice"))),
                None => Ok(()),
            }
        };
        table("user", state.users.iter().map(|u| u.0.as_str()).collect())?;
        table("event", state.events.iter().map(|e| e.0.as_str()).collect())?;
        table("ip", state.ips.iter().map(|i| i.0.as_str()).collect())?;
        for (name, total, failures, first, last) in state.users {
            let id = a.users.id(&name);
            *a.users.stats(id) = UserStats {
                total,
                failures,
                first_seen: time(first)?,
                last_seen: time(last)?,
            };
        }
        for (name, total, failures) in state.events {
            let id = a.events.id(&name);
            *a.events.stats(id) = EventStats { total, failures };
        }
        for (name, total, failures, first, last, unknown) in state.ips {
            let id = a.ips.id(&name);
            *a.ips.stats(id) = IpStats {
                seen: UserStats {
                    total,
                    failures,
                    first_seen: time(first)?,
                    last_seen: time(last)?,
                },
                unknown_user_failures: unknown,
            };
        }
        let (users, events, ips) = (
            a.users.rows.len() as u32,
            a.events.rows.len() as u32,
            a.ips.rows.len() as u32,
        );
        let check = |what: &str, id: u32, len: u32| {
            if id < len {
                Ok(id)
            } else {
                Err(StateError(format!("{what} id {id} of {len}")))
            }
        };
        for (u, e) in state.user_events {
            a.user_events
                .insert((check("user", u, users)?, check("event", e, events)?));
        }
        for (i, u) in state.ip_users {
            a.ip_users
                .insert((check("ip", i, ips)?, check("user", u, users)?));
        }
        let minutes = timeline::minute_of(Timestamp::saturating_from_nanos(i128::MIN))
            ..=timeline::minute_of(Timestamp::saturating_from_nanos(i128::MAX));
        for (minute, records, failures) in state.minutes {
            if !minutes.contains(&minute) {
                return Err(StateError(format!("minute {minute} out of range")));
            }
            *a.minutes.entry(minute).or_default() += timeline::Counts { records, failures };
        }
        let file = |f: u32| {
            files
                .get(f as usize)
                .copied()
                .ok_or_else(|| StateError(format!("file index {f} of {}", files.len())))
        };
        let evidence = |rows: Rows| -> Result<EvidenceList, StateError> {
            let mut list = EvidenceList::default();
            for e in rows.0.iter() {
                list.push(Evidence {
                    position: Position {
                        file: file(e.position.file)?,
                        line: e.position.line,
                    },
                    user: check("user", e.user, users)?,
                    ip: check("ip", e.ip, ips)?,
                    event: check("event", e.event, events)?,
                    time: e.time,
                });
            }
            Ok(list)
        };
        a.evidence.unknown_failures = evidence(state.unknown_failures)?;
        a.evidence.authn_failures = evidence(state.authn_failures)?;
        a.evidence.authz_failures = evidence(state.authz_failures)?;
        for e in evidence(state.successes)?.iter() {
            a.successes.push(e);
        }
        for (f, line, reason) in state.malformed {
            a.malformed.push(MalformedLine {
                position: Position {
                    file: file(f)?,
                    line,
                },
                reason,
            });
        }
        a.malformed.sort_by_key(|m| m.position);
        a.malformed.truncate(MALFORMED_SHOWN);
        Ok(a)
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
