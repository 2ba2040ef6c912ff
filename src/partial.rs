//! Partial reports: what one shard of the input adds up to, as data that
//! `merge` combines into exactly the report of the whole input.
//!
//! A partial holds the analyzer's state (counters, distinct pairs,
//! per-minute timeline, the timed failures the rules need, the first
//! malformed lines) with the shards it was made from. Merging is the
//! analyzer's own `merge`, so it is associative and commutative: shards are
//! put in order by their ordinals, whatever order the partials come in.
//!
//! `success_after_failures` needs the first success after a run of
//! failures, and which successes matter is known only once every failure
//! is. So a first pass keeps no successes, only each shard's span of them;
//! [`Merged::plan`] lists the windows where a success could matter and the
//! shards whose successes overlap them; those shards are read again with the
//! plan (`report --partial --probe`), keeping the successes inside the
//! windows. A final merge refuses to render while a needed probe is missing.

use std::io::{self, Read, Write};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::analyze::{Analyzer, KeepSuccesses, State, StateError};
use crate::detect::NamedWindows;
use crate::report::FileSummary;
use crate::rules::RuleSet;
use crate::timestamp::Timestamp;

/// Bumped whenever the meaning of a partial's content changes; `merge`
/// refuses partials of another version.
pub const PARTIAL_VERSION: u32 = 1;

/// The version of the tool that made a partial; `merge` refuses others,
/// since the semantics behind the numbers may differ.
pub const TOOL_VERSION: &str = env!("CARGO_PKG_VERSION");

/// One partial report: one JSON line.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Partial {
    pub partial_version: u32,
    pub tool_version: String,
    pub settings: Settings,
    /// The shards it covers, by ordinal.
    pub shards: Vec<Shard>,
    /// The analysis; its file indexes count the files of `shards` in order.
    pub state: State,
}

/// Everything that changes what a record counts for. Partials merge only
/// when these are equal.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Settings {
    pub rules: RuleSet,
    /// `auto`, a built-in format's name, or `file` (then `log_format_file`
    /// holds the format file's text).
    pub log_format: String,
    pub log_format_file: Option<String>,
    /// `--field` overrides, in order.
    pub fields: Vec<(String, String)>,
    pub ip_list: String,
    pub max_line_bytes: u64,
    /// The time range, resolved (nanoseconds).
    pub since: Option<i128>,
    pub until: Option<i128>,
    pub user: Option<String>,
    pub event: Option<String>,
    pub ip: Option<String>,
    pub failed: bool,
    /// `--bucket` in seconds.
    pub bucket_secs: Option<u64>,
    /// Each format tried, with the user names it treats as unauthenticated.
    pub unauthenticated: Vec<(String, Vec<String>)>,
}

/// One piece of the input, as `report --partial` read it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Shard {
    /// Orders shards like the inputs of one `report`.
    pub ordinal: u64,
    pub files: Vec<ShardFile>,
    /// Files of directory inputs that were not logs.
    pub skipped_files: u64,
    /// Inputs that could not be opened or read, as `report` prints them.
    pub errors: Vec<String>,
    /// The first and last timed success of a known user (nanoseconds).
    pub success_span: Option<(i128, i128)>,
    /// The id of the probe plan this shard was read with.
    pub probe: Option<String>,
}

/// One input of a shard, with its counts.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShardFile {
    pub path: String,
    pub format: Option<String>,
    pub compression: Option<String>,
    pub records: u64,
    pub malformed: u64,
    pub skipped: u64,
    pub blank: u64,
    pub unmatched: u64,
    /// The byte range read (`--range`), if not the whole file.
    pub range: Option<(u64, u64)>,
    /// Newlines read: where the next range's lines start.
    pub newlines: u64,
}

impl ShardFile {
    /// The counts of `summary`, read whole or as `range`.
    pub fn new(summary: FileSummary, range: Option<(u64, u64)>, newlines: u64) -> ShardFile {
        ShardFile {
            path: summary.path,
            format: summary.format,
            compression: summary.compression.map(str::to_string),
            records: summary.records,
            malformed: summary.malformed,
            skipped: summary.skipped,
            blank: summary.blank,
            unmatched: summary.unmatched,
            range,
            newlines,
        }
    }

    fn summary(&self) -> FileSummary {
        FileSummary {
            path: self.path.clone(),
            format: self.format.clone(),
            compression: match self.compression.as_deref() {
                Some("gzip") => Some("gzip"),
                Some("zstd") => Some("zstd"),
                _ => None,
            },
            records: self.records,
            malformed: self.malformed,
            skipped: self.skipped,
            blank: self.blank,
            unmatched: self.unmatched,
        }
    }
}

/// The second pass `success_after_failures` needs: the windows where a
/// success could matter, and the shards to read again for them.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Plan {
    pub plan_version: u32,
    pub tool_version: String,
    /// Names the windows: a probed shard records it, the final merge checks it.
    pub id: String,
    pub settings: Settings,
    pub windows: NamedWindows,
    /// Shards whose successes overlap the windows, by ordinal.
    pub probe: Vec<ProbeShard>,
}

/// A shard to read again with `report --partial --probe PLAN`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProbeShard {
    pub ordinal: u64,
    pub paths: Vec<String>,
    pub range: Option<(u64, u64)>,
}

/// Why partials could not be merged.
#[derive(Debug, thiserror::Error)]
pub enum MergeError {
    #[error("no partial reports given")]
    Nothing,
    #[error("{source_name}: not a partial report (made by `report --partial`): {reason}")]
    NotPartial { source_name: String, reason: String },
    #[error(
        "{source_name}: partial report version {found}, this tool reads version {PARTIAL_VERSION}"
    )]
    Version { source_name: String, found: u32 },
    #[error(
        "{source_name}: made by audit-analyze {found}, this is {TOOL_VERSION}: make every partial with one version"
    )]
    Tool { source_name: String, found: String },
    #[error("{source_name}: made with other settings than {first}: {difference}")]
    Settings {
        source_name: String,
        first: String,
        difference: String,
    },
    #[error("shard ordinal {0} appears twice: give every shard its own --ordinal")]
    Ordinal(u64),
    #[error("{source_name}: {error}")]
    State {
        source_name: String,
        error: StateError,
    },
    #[error(
        "success_after_failures needs a second pass over {} shard(s) (ordinals {}): \
         run `audit-analyze merge --plan`, then `report --partial --probe PLAN` on those shards, \
         and merge their new partials instead (or --disable success_after_failures)",
        .0.len(), .0.iter().map(u64::to_string).collect::<Vec<_>>().join(", ")
    )]
    ProbeMissing(Vec<u64>),
    #[error("{source_name}: the plan was made with other settings than this run: {difference}")]
    PlanSettings {
        source_name: String,
        difference: String,
    },
}

/// Writes `partial` as one JSON line.
pub fn write(partial: &Partial, out: &mut impl Write) -> io::Result<()> {
    serde_json::to_writer(&mut *out, partial)?;
    out.write_all(b"\n")
}

/// Writes `value` as one zstd-compressed JSON line.
pub fn write_zstd(value: &impl Serialize, out: &mut impl Write) -> io::Result<()> {
    let mut encoder = zstd::stream::write::Encoder::new(out, 3)?;
    serde_json::to_writer(&mut encoder, value)?;
    encoder.write_all(b"\n")?;
    encoder.finish()?;
    Ok(())
}

/// The text of `bytes`, decompressed when zstd.
fn text(mut reader: impl Read, source_name: &str) -> Result<Vec<u8>, MergeError> {
    let not = |reason: String| MergeError::NotPartial {
        source_name: source_name.to_string(),
        reason,
    };
    let mut bytes = Vec::new();
    reader
        .read_to_end(&mut bytes)
        .map_err(|e| not(e.to_string()))?;
    if bytes.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
        bytes = zstd::stream::decode_all(bytes.as_slice())
            .map_err(|e| not(format!("damaged zstd data: {e}")))?;
    }
    Ok(bytes)
}

/// Every partial in `reader` (one per line, plain or zstd), named
/// `source_name:line` in errors.
pub fn read_all(reader: impl Read, source_name: &str) -> Result<Vec<Partial>, MergeError> {
    let bytes = text(reader, source_name)?;
    let mut out = Vec::new();
    for (i, line) in bytes.split(|&b| b == b'\n').enumerate() {
        let line = line.trim_ascii();
        if line.is_empty() {
            continue;
        }
        let name = format!("{source_name}:{}", i + 1);
        out.push(parse(line, &name)?);
    }
    Ok(out)
}

/// Reads the plan in `reader`, checking it was made for `settings`.
pub fn read_plan(
    reader: impl Read,
    source_name: &str,
    settings: &Settings,
) -> Result<Plan, MergeError> {
    let bytes = text(reader, source_name)?;
    let not = |reason: String| MergeError::NotPartial {
        source_name: source_name.to_string(),
        reason,
    };
    let header: Header = serde_json::from_slice(&bytes).map_err(|e| not(e.to_string()))?;
    check_header(&header, header.plan_version, source_name)?;
    let plan: Plan = serde_json::from_slice(&bytes).map_err(|e| not(e.to_string()))?;
    if let Some(difference) = difference(settings, &plan.settings) {
        return Err(MergeError::PlanSettings {
            source_name: source_name.to_string(),
            difference,
        });
    }
    Ok(plan)
}

/// The keys every version has, read first for a clear message.
#[derive(Deserialize)]
struct Header {
    partial_version: Option<u32>,
    plan_version: Option<u32>,
    tool_version: Option<String>,
}

fn check_header(header: &Header, version: Option<u32>, name: &str) -> Result<(), MergeError> {
    let Some(version) = version else {
        return Err(MergeError::NotPartial {
            source_name: name.to_string(),
            reason: "no version key".into(),
        });
    };
    if version != PARTIAL_VERSION {
        return Err(MergeError::Version {
            source_name: name.to_string(),
            found: version,
        });
    }
    match &header.tool_version {
        Some(v) if v == TOOL_VERSION => Ok(()),
        other => Err(MergeError::Tool {
            source_name: name.to_string(),
            found: other.clone().unwrap_or_else(|| "an unknown version".into()),
        }),
    }
}

fn parse(line: &[u8], name: &str) -> Result<Partial, MergeError> {
    let not = |reason: String| MergeError::NotPartial {
        source_name: name.to_string(),
        reason,
    };
    let header: Header = serde_json::from_slice(line).map_err(|e| not(e.to_string()))?;
    check_header(&header, header.partial_version, name)?;
    serde_json::from_slice(line).map_err(|e| not(e.to_string()))
}

/// The first setting that differs, as `key: a vs b`.
fn difference(a: &Settings, b: &Settings) -> Option<String> {
    fn walk(path: &str, a: &serde_json::Value, b: &serde_json::Value) -> Option<String> {
        use serde_json::Value;
        match (a, b) {
            (Value::Object(x), Value::Object(y)) => {
                let keys: std::collections::BTreeSet<&String> = x.keys().chain(y.keys()).collect();
                keys.into_iter().find_map(|k| {
                    let null = Value::Null;
                    walk(
                        &format!("{path}.{k}"),
                        x.get(k).unwrap_or(&null),
                        y.get(k).unwrap_or(&null),
                    )
                })
            }
            _ if a == b => None,
            _ => Some(format!("{path} is {b} there, {a} here")),
        }
    }
    let a = serde_json::to_value(a).ok()?;
    let b = serde_json::to_value(b).ok()?;
    walk("settings", &a, &b)
}

/// Partials combined: the shards in ordinal order and one analysis over
/// all of them (file indexes count the shards' files in that order).
#[derive(Debug)]
pub struct Merged {
    pub settings: Settings,
    pub shards: Vec<Shard>,
    pub analyzer: Analyzer,
}

/// Merges `partials` (each with the name of where it was read). Refuses
/// partials of another version or other settings, and shards given twice.
pub fn merge(partials: Vec<(String, Partial)>) -> Result<Merged, MergeError> {
    let Some((first_name, first)) = partials.first() else {
        return Err(MergeError::Nothing);
    };
    let settings = first.settings.clone();
    let first_name = first_name.clone();
    for (name, p) in &partials[1..] {
        if let Some(difference) = difference(&settings, &p.settings) {
            return Err(MergeError::Settings {
                source_name: name.clone(),
                first: first_name,
                difference,
            });
        }
    }
    // Each shard's place, and each partial's files in the merged order.
    let mut all: Vec<(u64, usize, usize)> = Vec::new(); // ordinal, partial, shard
    for (p, (_, partial)) in partials.iter().enumerate() {
        for (s, shard) in partial.shards.iter().enumerate() {
            all.push((shard.ordinal, p, s));
        }
    }
    all.sort_unstable();
    if let Some(w) = all.windows(2).find(|w| w[0].0 == w[1].0) {
        return Err(MergeError::Ordinal(w[0].0));
    }
    let mut first_file: Vec<Vec<u32>> = partials
        .iter()
        .map(|(_, p)| vec![0; p.shards.len()])
        .collect();
    let mut next = 0u32;
    for &(_, p, s) in &all {
        first_file[p][s] = next;
        next += partials[p].1.shards[s].files.len() as u32;
    }
    let mut shards: Vec<Option<Shard>> = Vec::new();
    let mut order: Vec<(u64, usize)> = Vec::new();
    let mut analyzer = Analyzer::new();
    for (p, (name, partial)) in partials.into_iter().enumerate() {
        let mut map = Vec::new();
        for (s, shard) in partial.shards.iter().enumerate() {
            let start = first_file[p][s];
            map.extend((0..shard.files.len() as u32).map(|i| start + i));
        }
        let part =
            Analyzer::from_state(partial.state, &map).map_err(|error| MergeError::State {
                source_name: name.clone(),
                error,
            })?;
        analyzer.merge(part);
        for shard in partial.shards {
            order.push((shard.ordinal, shards.len()));
            shards.push(Some(shard));
        }
    }
    order.sort_unstable();
    let shards = order
        .into_iter()
        .filter_map(|(_, i)| shards[i].take())
        .collect();
    Ok(Merged {
        settings,
        shards,
        analyzer,
    })
}

/// Where a file's lines are in the whole file, for the malformed listing.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FilePlace {
    /// The name to print.
    pub name: String,
    /// Lines of the whole file before this shard's first line; unknown when
    /// the ranges before it were not all merged.
    pub lines_before: Option<u64>,
}

impl Merged {
    /// This merge as one partial again (for tree reductions).
    pub fn into_partial(self) -> io::Result<Partial> {
        Ok(Partial {
            partial_version: PARTIAL_VERSION,
            tool_version: TOOL_VERSION.to_string(),
            settings: self.settings,
            shards: self.shards,
            state: self.analyzer.into_state(KeepSuccesses::All)?,
        })
    }

    /// The windows where a success could matter, and the shards whose
    /// successes overlap them and were not read with this plan yet.
    pub fn plan(&self) -> Plan {
        let windows = self.analyzer.success_windows(&self.settings.rules);
        let id = plan_id(&windows);
        let probe = self
            .shards
            .iter()
            .filter(|s| needs_probe(s, &windows, &id))
            .map(|s| ProbeShard {
                ordinal: s.ordinal,
                paths: s.files.iter().map(|f| f.path.clone()).collect(),
                range: s.files.iter().find_map(|f| f.range),
            })
            .collect();
        Plan {
            plan_version: PARTIAL_VERSION,
            tool_version: TOOL_VERSION.to_string(),
            id,
            settings: self.settings.clone(),
            windows,
            probe,
        }
    }

    /// Refuses to go on while a shard still needs its second pass.
    pub fn check_probes(&self) -> Result<(), MergeError> {
        let plan = self.plan();
        if plan.probe.is_empty() {
            Ok(())
        } else {
            Err(MergeError::ProbeMissing(
                plan.probe.iter().map(|p| p.ordinal).collect(),
            ))
        }
    }

    /// Every file read, in order: the summaries for the report (byte ranges
    /// of one file joined back into the file), and for each file index of
    /// the analysis, where its lines are.
    pub fn files(&self) -> (Vec<FileSummary>, Vec<FilePlace>) {
        let mut summaries: Vec<FileSummary> = Vec::new();
        let mut places = Vec::new();
        // The last range read: its path, end and the lines up to its end.
        let mut last: Option<(String, u64, Option<u64>)> = None;
        for f in self.shards.iter().flat_map(|s| &s.files) {
            let Some((start, end)) = f.range else {
                summaries.push(f.summary());
                places.push(FilePlace {
                    name: f.path.clone(),
                    lines_before: Some(0),
                });
                last = None;
                continue;
            };
            let joined = match &last {
                Some((path, prev_end, lines)) if *path == f.path && *prev_end == start => {
                    Some(*lines)
                }
                _ => None,
            };
            let lines_before = match joined {
                Some(lines) => {
                    let s = summaries.last_mut().expect("joined to a summary");
                    s.records += f.records;
                    s.malformed += f.malformed;
                    s.skipped += f.skipped;
                    s.blank += f.blank;
                    s.unmatched += f.unmatched;
                    lines
                }
                None => {
                    summaries.push(f.summary());
                    (start == 0).then_some(0)
                }
            };
            places.push(FilePlace {
                name: match lines_before {
                    Some(_) => f.path.clone(),
                    None => format!("{} (bytes {start}..{end})", f.path),
                },
                lines_before,
            });
            last = Some((f.path.clone(), end, lines_before.map(|l| l + f.newlines)));
        }
        (summaries, places)
    }

    /// Files of directory inputs that were not logs, over every shard.
    pub fn skipped_files(&self) -> u64 {
        self.shards.iter().map(|s| s.skipped_files).sum()
    }

    /// The input errors of every shard, in shard order.
    pub fn errors(&self) -> Vec<&str> {
        self.shards
            .iter()
            .flat_map(|s| s.errors.iter().map(String::as_str))
            .collect()
    }
}

/// Whether `shard` holds successes in `windows` and was not read with them.
fn needs_probe(shard: &Shard, windows: &NamedWindows, id: &str) -> bool {
    let Some((lo, hi)) = shard.success_span else {
        return false;
    };
    let t = Timestamp::saturating_from_nanos;
    shard.probe.as_deref() != Some(id) && windows.overlaps(t(lo), t(hi))
}

/// A name for `windows` that changes whenever they do.
fn plan_id(windows: &NamedWindows) -> String {
    let bytes = serde_json::to_vec(windows).unwrap_or_default();
    Sha256::digest(&bytes)
        .iter()
        .take(16)
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(path: &str, range: Option<(u64, u64)>, newlines: u64, malformed: u64) -> ShardFile {
        ShardFile {
            path: path.into(),
            format: Some("generic".into()),
            compression: None,
            records: 1,
            malformed,
            skipped: 0,
            blank: 0,
            unmatched: 0,
            range,
            newlines,
        }
    }

    fn merged(files: Vec<ShardFile>) -> Merged {
        Merged {
            settings: settings(),
            shards: files
                .into_iter()
                .enumerate()
                .map(|(i, f)| Shard {
                    ordinal: i as u64,
                    files: vec![f],
                    skipped_files: 0,
                    errors: vec![],
                    success_span: None,
                    probe: None,
                })
                .collect(),
            analyzer: Analyzer::new(),
        }
    }

    fn settings() -> Settings {
        Settings {
            rules: RuleSet::default(),
            log_format: "auto".into(),
            log_format_file: None,
            fields: vec![],
            ip_list: "first".into(),
            max_line_bytes: 100,
            since: None,
            until: None,
            user: None,
            event: None,
            ip: None,
            failed: false,
            bucket_secs: None,
            unauthenticated: vec![],
        }
    }

    #[test]
    fn contiguous_ranges_join_into_their_file_and_number_lines_through() {
        let m = merged(vec![
            file("a", None, 9, 0),
            file("big", Some((0, 100)), 7, 1),
            file("big", Some((100, 250)), 5, 2),
            file("big", Some((250, 300)), 0, 0),
            file("c", Some((500, 600)), 3, 0),
        ]);
        let (summaries, places) = m.files();
        let rows: Vec<(&str, u64)> = summaries
            .iter()
            .map(|s| (s.path.as_str(), s.records))
            .collect();
        assert_eq!(rows, [("a", 1), ("big", 3), ("c", 1)]);
        assert_eq!(summaries[1].malformed, 3);
        let before: Vec<Option<u64>> = places.iter().map(|p| p.lines_before).collect();
        assert_eq!(before, [Some(0), Some(0), Some(7), Some(12), None]);
        assert_eq!(places[4].name, "c (bytes 500..600)");
    }

    #[test]
    fn a_gap_between_ranges_keeps_them_apart() {
        let m = merged(vec![
            file("big", Some((0, 100)), 7, 0),
            file("big", Some((200, 300)), 5, 0),
        ]);
        let (summaries, places) = m.files();
        assert_eq!(summaries.len(), 2);
        assert_eq!(places[1].lines_before, None);
    }

    #[test]
    fn the_first_differing_setting_is_named() {
        let a = settings();
        let mut b = settings();
        b.rules.brute_force.threshold = 3;
        assert_eq!(
            difference(&a, &b).unwrap(),
            "settings.rules.brute_force.threshold is 3 there, 10 here"
        );
        assert_eq!(difference(&a, &a.clone()), None);
    }

    #[test]
    fn foreign_and_damaged_lines_are_refused_by_name() {
        let err = read_all(&b"{\"schema_version\":1}\n"[..], "x.json").unwrap_err();
        assert!(
            matches!(&err, MergeError::NotPartial { source_name, .. } if source_name == "x.json:1"),
            "{err}"
        );
        let err = read_all(&b"{\"partial_version\":99}"[..], "y").unwrap_err();
        assert!(
            matches!(err, MergeError::Version { found: 99, .. }),
            "{err}"
        );
        let err = read_all(
            &b"{\"partial_version\":1,\"tool_version\":\"0.0.0\"}"[..],
            "z",
        )
        .unwrap_err();
        assert!(matches!(err, MergeError::Tool { .. }), "{err}");
        let err = read_all(&b"\x28\xb5\x2f\xfd garbage"[..], "w").unwrap_err();
        assert!(err.to_string().contains("damaged zstd"), "{err}");
    }
}
