//! The finished analysis: plain data that every renderer reads and none
//! recomputes. Serialised as is, it is the `--format json` document.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::timestamp::Timestamp;

/// Bumped whenever a key of the JSON report changes meaning.
pub const SCHEMA_VERSION: u32 = 1;

/// Everything `report` prints, in output order.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct Report {
    pub schema_version: u32,
    pub summary: Summary,
    /// Every user, by total descending, then name.
    pub users: Vec<UserRow>,
    /// Every event, by total descending, then name.
    pub events: Vec<EventRow>,
    /// Every finding, by first time, then ip.
    pub findings: Vec<Finding>,
    /// The rule settings the findings were computed with.
    pub rules: RuleSettings,
}

/// Counts over the whole input.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct Summary {
    /// The inputs, in the order they were read (`<stdin>` for standard
    /// input; directories as the files read from them).
    pub files: Vec<FileSummary>,
    /// For each format used, the files read as it, in input order.
    pub formats: BTreeMap<String, Vec<String>>,
    /// Records read (JSON objects not skipped by their format).
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
}

/// What was read from one input.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
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
#[derive(Clone, Debug, Serialize, PartialEq)]
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
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct EventRow {
    pub event: String,
    pub total: u64,
    pub failures: u64,
    /// Number of distinct users that had this event.
    pub users: u64,
}

/// How bad a finding is.
#[derive(Clone, Copy, Debug, Serialize, PartialEq, Eq, PartialOrd, Ord)]
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

/// An incident a rule found.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct Finding {
    pub rule: &'static str,
    pub severity: Severity,
    /// The source address the incident came from (`-` when none was logged).
    pub ip: String,
    /// The number of failures in the incident.
    pub count: u64,
    pub first: Timestamp,
    pub last: Timestamp,
    /// The events targeted, by count descending, then name.
    pub targets: Vec<Target>,
}

/// An event targeted during an incident, with how often.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct Target {
    pub event: String,
    pub count: u64,
}

/// The settings of the `unknown_user_burst` rule, echoed so a result can be
/// reproduced.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct RuleSettings {
    pub unknown_user_burst: BurstSettings,
}

/// k failures within w.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct BurstSettings {
    pub threshold: u64,
    /// The window, as `--window` takes it (`10m`, `1h 30m`).
    pub window: String,
    /// The user names treated as unauthenticated.
    pub unknown_users: Vec<String>,
}
