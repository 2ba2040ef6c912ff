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

use std::io::{self, BufRead, Read, Write};

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
    #[error("{source_name}: too large to merge with the others: {reason}")]
    TooLarge { source_name: String, reason: String },
    #[error("reading back the successes kept in a temporary file: {0}")]
    Spill(#[source] io::Error),
}

impl MergeError {
    fn not_partial(source_name: &str, reason: impl Into<String>) -> MergeError {
        MergeError::NotPartial {
            source_name: source_name.to_string(),
            reason: reason.into(),
        }
    }
}

/// `reader` decompressed when its first bytes are zstd's magic, and
/// whether they were.
fn decompressed<'a>(
    reader: impl Read + 'a,
    source_name: &str,
) -> Result<(Box<dyn BufRead + 'a>, bool), MergeError> {
    let mut raw = io::BufReader::with_capacity(1 << 16, reader);
    let head = raw
        .fill_buf()
        .map_err(|e| MergeError::not_partial(source_name, e.to_string()))?;
    if !head.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
        return Ok((Box::new(raw), false));
    }
    let decoder = zstd::stream::read::Decoder::with_buffer(raw)
        .map_err(|e| MergeError::not_partial(source_name, format!("damaged zstd data: {e}")))?;
    Ok((
        Box::new(io::BufReader::with_capacity(1 << 16, decoder)),
        true,
    ))
}

/// A read error of `source_name`, named as damage when it is compressed.
fn read_error(source_name: &str, e: io::Error, compressed: bool) -> MergeError {
    match compressed {
        true => MergeError::not_partial(source_name, format!("damaged zstd data: {e}")),
        false => MergeError::not_partial(source_name, e.to_string()),
    }
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

/// Calls `each` on every partial in `reader` (plain or zstd; partials one
/// after another, white space between them), named `source_name (partial
/// N)` in errors. Reads as it goes: one partial's text is never held whole.
pub fn read_each(
    reader: impl Read,
    source_name: &str,
    mut each: impl FnMut(String, Partial) -> Result<(), MergeError>,
) -> Result<(), MergeError> {
    let (mut reader, compressed) = decompressed(reader, source_name)?;
    for n in 1.. {
        // Skip the white space between partials (and a Hadoop tab).
        loop {
            let buf = reader
                .fill_buf()
                .map_err(|e| read_error(source_name, e, compressed))?;
            if buf.is_empty() {
                return Ok(());
            }
            let blank = buf.iter().take_while(|b| b.is_ascii_whitespace()).count();
            if blank == 0 {
                break;
            }
            reader.consume(blank);
        }
        let name = format!("{source_name} (partial {n})");
        // The version keys come first: check them before reading the rest.
        let mut head = Vec::with_capacity(HEAD);
        (&mut reader)
            .take(HEAD as u64)
            .read_to_end(&mut head)
            .map_err(|e| read_error(&name, e, compressed))?;
        check_header(&header_of(&head), &name)?;
        let mut text = io::Cursor::new(head).chain(&mut reader);
        let partial = Partial::deserialize(&mut serde_json::Deserializer::from_reader(&mut text))
            .map_err(|e| MergeError::not_partial(&name, e.to_string()))?;
        // What the head read past this partial belongs to the next one.
        let (rest, _) = text.into_inner();
        let position = rest.position() as usize;
        let rest = rest.into_inner().split_off(position.min(HEAD));
        if !rest.is_empty() {
            reader = Box::new(io::BufReader::new(io::Cursor::new(rest).chain(reader)));
        }
        each(name, partial)?;
    }
    Ok(())
}

/// Bytes read ahead for the version keys.
const HEAD: usize = 256;

/// Reads the plan in `reader`, checking it was made for `settings`.
pub fn read_plan(
    reader: impl Read,
    source_name: &str,
    settings: &Settings,
) -> Result<Plan, MergeError> {
    let (mut reader, compressed) = decompressed(reader, source_name)?;
    let mut bytes = Vec::new();
    reader
        .read_to_end(&mut bytes)
        .map_err(|e| read_error(source_name, e, compressed))?;
    check_header(&header_of(&bytes), source_name)?;
    let plan: Plan = serde_json::from_slice(&bytes)
        .map_err(|e| MergeError::not_partial(source_name, e.to_string()))?;
    if let Some(difference) = difference(settings, &plan.settings) {
        return Err(MergeError::PlanSettings {
            source_name: source_name.to_string(),
            difference,
        });
    }
    Ok(plan)
}

/// The version keys every partial and plan starts with, as written by
/// this tool: `{"partial_version":1,"tool_version":"…"` (or
/// `plan_version`). Read from the first bytes alone, so a partial of
/// another version is named as such before its content is parsed.
#[derive(Debug, Default, PartialEq, Eq)]
struct Header {
    version: Option<u32>,
    tool_version: Option<String>,
}

fn header_of(head: &[u8]) -> Header {
    let text = String::from_utf8_lossy(&head[..head.len().min(HEAD)]);
    let text = text.trim_start();
    let after = |key: &str| text.find(key).map(|i| &text[i + key.len()..]);
    let version = ["{\"partial_version\":", "{\"plan_version\":"]
        .iter()
        .filter(|k| text.starts_with(**k))
        .find_map(|k| after(k))
        .and_then(|rest| {
            let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
            rest[..digits].parse().ok()
        });
    let tool_version = after(",\"tool_version\":\"")
        .and_then(|rest| rest.split_once('"'))
        .map(|(v, _)| v.to_string());
    Header {
        version,
        tool_version,
    }
}

fn check_header(header: &Header, name: &str) -> Result<(), MergeError> {
    let Some(version) = header.version else {
        return Err(MergeError::not_partial(
            name,
            "it does not start with {\"partial_version\": …",
        ));
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

/// Merges partials one at a time (each rebuilt and folded in as it is
/// read), so memory holds the merge so far and one partial. Refuses
/// partials of other settings, and shards given twice.
#[derive(Debug, Default)]
pub struct Merger {
    /// The settings of the first partial, and where it came from.
    first: Option<(String, Settings)>,
    /// The shards so far, each with the number its first file got here.
    shards: Vec<(Shard, u32)>,
    files: u32,
    /// Every count of the partials so far, summed: each must fit.
    counts: [u64; 7],
    analyzer: Analyzer,
}

impl Merger {
    /// Folds in one partial, read from `source_name`.
    pub fn add(&mut self, source_name: String, partial: Partial) -> Result<(), MergeError> {
        match &self.first {
            None => self.first = Some((source_name.clone(), partial.settings)),
            Some((first, settings)) => {
                if let Some(difference) = difference(settings, &partial.settings) {
                    return Err(MergeError::Settings {
                        source_name,
                        first: first.clone(),
                        difference,
                    });
                }
            }
        }
        for (sum, n) in self.counts.iter_mut().zip(partial.state.counts) {
            *sum = sum.checked_add(n).ok_or_else(|| MergeError::TooLarge {
                source_name: source_name.clone(),
                reason: "its counts with the others' pass 2^64".into(),
            })?;
        }
        // Files are numbered in arrival order for now; `finish` puts them
        // in ordinal order.
        let count: usize = partial.shards.iter().map(|s| s.files.len()).sum();
        let start = self.files;
        self.files = u32::try_from(count)
            .ok()
            .and_then(|c| start.checked_add(c))
            .ok_or_else(|| MergeError::TooLarge {
                source_name: source_name.clone(),
                reason: "more than 4 294 967 295 files in all".into(),
            })?;
        let map: Vec<u32> = (start..self.files).collect();
        let part = Analyzer::from_state(partial.state, &map)
            .map_err(|error| MergeError::State { source_name, error })?;
        self.analyzer.merge(part);
        let mut next = start;
        for shard in partial.shards {
            let first_file = next;
            next += shard.files.len() as u32;
            self.shards.push((shard, first_file));
        }
        Ok(())
    }

    /// The merge: shards in ordinal order, files numbered in that order.
    pub fn finish(mut self) -> Result<Merged, MergeError> {
        let Some((_, settings)) = self.first else {
            return Err(MergeError::Nothing);
        };
        self.shards.sort_by_key(|(s, _)| s.ordinal);
        if let Some(w) = self
            .shards
            .windows(2)
            .find(|w| w[0].0.ordinal == w[1].0.ordinal)
        {
            return Err(MergeError::Ordinal(w[0].0.ordinal));
        }
        let mut renumber = vec![0u32; self.files as usize];
        let mut next = 0u32;
        for (shard, first_file) in &self.shards {
            for i in 0..shard.files.len() as u32 {
                renumber[(first_file + i) as usize] = next;
                next += 1;
            }
        }
        let mut analyzer = self.analyzer;
        analyzer
            .renumber_files(&renumber)
            .map_err(MergeError::Spill)?;
        Ok(Merged {
            settings,
            shards: self.shards.into_iter().map(|(s, _)| s).collect(),
            analyzer,
        })
    }
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
                    // Saturating: the counts of a forged partial must not
                    // overflow.
                    s.records = s.records.saturating_add(f.records);
                    s.malformed = s.malformed.saturating_add(f.malformed);
                    s.skipped = s.skipped.saturating_add(f.skipped);
                    s.blank = s.blank.saturating_add(f.blank);
                    s.unmatched = s.unmatched.saturating_add(f.unmatched);
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
            last = Some((
                f.path.clone(),
                end,
                lines_before.map(|l| l.saturating_add(f.newlines)),
            ));
        }
        (summaries, places)
    }

    /// Files of directory inputs that were not logs, over every shard.
    pub fn skipped_files(&self) -> u64 {
        self.shards
            .iter()
            .fold(0u64, |sum, s| sum.saturating_add(s.skipped_files))
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
        let read = |bytes: &[u8], name: &str| read_each(bytes, name, |_, _| Ok(()));
        let err = read(b"{\"schema_version\":1}\n", "x.json").unwrap_err();
        assert!(
            matches!(&err, MergeError::NotPartial { source_name, .. } if source_name == "x.json (partial 1)"),
            "{err}"
        );
        let err = read(b"{\"partial_version\":99,\"tool_version\":\"9\"}", "y").unwrap_err();
        assert!(
            matches!(err, MergeError::Version { found: 99, .. }),
            "{err}"
        );
        let err = read(b"{\"partial_version\":1,\"tool_version\":\"0.0.0\"}", "z").unwrap_err();
        assert!(matches!(err, MergeError::Tool { .. }), "{err}");
        let err = read(b"\x28\xb5\x2f\xfd garbage", "w").unwrap_err();
        assert!(err.to_string().contains("damaged zstd"), "{err}");
        // Nothing but white space: no partial, no error.
        read(b" \n\t\n", "v").unwrap();
    }
}
