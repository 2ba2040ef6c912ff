//! The finished analysis: plain data that every renderer reads and none
//! recomputes. Serialised as is, it is the `--format json` document.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::rules::RuleSet;
use crate::timestamp::Timestamp;

/// Bumped whenever a key of the JSON report changes meaning.
pub const SCHEMA_VERSION: u32 = 1;

/// Everything `report` prints, in output order.
#[derive(Clone, Debug, Serialize, PartialEq, schemars::JsonSchema)]
pub struct Report {
    pub schema_version: u32,
    pub summary: Summary,
    /// Every user, by total descending, then name.
    pub users: Vec<UserRow>,
    /// Every event, by total descending, then name.
    pub events: Vec<EventRow>,
    /// Every source ip (`-` for records without one), by total descending, then ip.
    pub ips: Vec<IpRow>,
    /// Every finding, by first time, then ip, then user, then rule.
    pub findings: Vec<Finding>,
    /// Records and failures per time bucket, from the first bucket with a
    /// record to the last, empty buckets included.
    pub timeline: Timeline,
    /// The rule settings the findings were computed with.
    pub rules: RuleSet,
}

/// Counts over the whole input.
#[derive(Clone, Debug, Serialize, PartialEq, schemars::JsonSchema)]
pub struct Summary {
    /// The inputs, in the order they were read (`<stdin>` for standard
    /// input; directories as the files read from them).
    pub files: Vec<FileSummary>,
    /// For each format used, the files read as it, in input order.
    pub formats: BTreeMap<String, Vec<String>>,
    /// Records read (JSON objects not skipped by their format) that passed the filters.
    pub records: u64,
    /// Lines that were not records (bad JSON, bad UTF-8, not an object, too long).
    pub malformed: u64,
    /// Lines holding only white space.
    pub blank: u64,
    /// Records their format skips (non-final stages, non-access records,
    /// requests whose response was read).
    pub skipped: u64,
    /// Files in directory inputs that were not log files.
    pub skipped_files: u64,
    /// Records without a usable timestamp.
    pub untimed: u64,
    /// Records that are failures.
    pub failures: u64,
    pub first: Option<Timestamp>,
    pub last: Option<Timestamp>,
    /// Records left out by `--since`, `--until`, `--user`, `--event`, `--ip`, `--failed`.
    pub filtered_out: u64,
    /// The effective time range of `--since` / `--until`, when given.
    pub range: TimeRange,
}

/// A time range; either end may be open.
#[derive(Clone, Copy, Debug, Default, Serialize, PartialEq, schemars::JsonSchema)]
pub struct TimeRange {
    pub since: Option<Timestamp>,
    pub until: Option<Timestamp>,
}

/// What was read from one input.
#[derive(Clone, Debug, Serialize, PartialEq, Eq, schemars::JsonSchema)]
pub struct FileSummary {
    pub path: String,
    /// The format it was read as; `null` when it could not be opened.
    pub format: Option<String>,
    /// `gzip`, `zstd`, or `null` when not compressed.
    pub compression: Option<&'static str>,
    pub records: u64,
    pub malformed: u64,
    pub skipped: u64,
    pub blank: u64,
    /// Records in which no role found a value at all.
    pub unmatched: u64,
}

impl FileSummary {
    /// An input about to be read.
    pub fn new(path: String) -> FileSummary {
        FileSummary {
            path,
            format: None,
            compression: None,
            records: 0,
            malformed: 0,
            skipped: 0,
            blank: 0,
            unmatched: 0,
        }
    }
}

/// One user's activity.
#[derive(Clone, Debug, Serialize, PartialEq, schemars::JsonSchema)]
pub struct UserRow {
    pub user: String,
    pub total: u64,
    pub failures: u64,
    pub first_seen: Option<Timestamp>,
    pub last_seen: Option<Timestamp>,
    /// Number of distinct events this user had.
    pub events: u64,
}

/// One event's activity.
#[derive(Clone, Debug, Serialize, PartialEq, schemars::JsonSchema)]
pub struct EventRow {
    pub event: String,
    pub total: u64,
    pub failures: u64,
    /// Number of distinct users that had this event.
    pub users: u64,
}

/// One source address's activity.
#[derive(Clone, Debug, Serialize, PartialEq, schemars::JsonSchema)]
pub struct IpRow {
    pub ip: String,
    pub total: u64,
    pub failures: u64,
    /// Failures of unknown (unauthenticated) users from this ip.
    pub unknown_user_failures: u64,
    /// Number of distinct users seen from this ip.
    pub users: u64,
    pub first_seen: Option<Timestamp>,
    pub last_seen: Option<Timestamp>,
}

/// How bad a finding is.
#[derive(
    Clone,
    Copy,
    Debug,
    Serialize,
    serde::Deserialize,
    schemars::JsonSchema,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    clap::ValueEnum,
)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Low,
    Medium,
    High,
    Critical,
}

impl Severity {
    /// The lower-case name used in JSON and tables.
    pub fn name(self) -> &'static str {
        match self {
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
            Severity::Critical => "critical",
        }
    }
}

/// An incident a rule found. `ip` is set for ip-keyed rules, `user` (with
/// the `ips` involved) for user-keyed ones; the rest is rule-specific.
#[derive(Clone, Debug, Serialize, PartialEq, schemars::JsonSchema)]
pub struct Finding {
    pub rule: &'static str,
    pub severity: Severity,
    /// Always present (as issue 2's schema promises); `null` for user-keyed rules.
    pub ip: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    /// The ips involved, sorted (user-keyed rules).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ips: Option<Vec<String>>,
    /// The number of failures in the incident (distinct users for `password_spray`).
    pub count: u64,
    pub first: Timestamp,
    pub last: Timestamp,
    /// The events targeted, by count descending, then name.
    pub targets: Vec<Target>,
    /// `password_spray`: the number of failures.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failures: Option<u64>,
    /// `password_spray`: the users tried (at most 20, sorted).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub users: Option<Vec<String>>,
    /// `success_after_failures`: the success that followed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub success: Option<SuccessRef>,
}

/// An event targeted during an incident, with how often.
#[derive(Clone, Debug, Serialize, PartialEq, schemars::JsonSchema)]
pub struct Target {
    pub event: String,
    pub count: u64,
}

/// The success that followed a run of failures.
#[derive(Clone, Debug, Serialize, PartialEq, schemars::JsonSchema)]
pub struct SuccessRef {
    pub time: Timestamp,
    pub user: String,
    pub ip: String,
    pub event: String,
}

/// Records and failures per bucket.
#[derive(Clone, Debug, Serialize, PartialEq, schemars::JsonSchema)]
pub struct Timeline {
    /// The bucket width, as `--bucket` takes it.
    pub bucket: String,
    pub buckets: Vec<Bucket>,
}

/// One time bucket, aligned to the UTC epoch.
#[derive(Clone, Debug, Serialize, PartialEq, schemars::JsonSchema)]
pub struct Bucket {
    pub start: Timestamp,
    pub records: u64,
    pub failures: u64,
}
