//! The command line: the clap definition, turned once into a checked
//! [`ReportConfig`]. Nothing past this module sees raw arguments.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use clap::{Args, Parser, Subcommand, ValueEnum};
use regex::Regex;

use crate::filter::{FilterSpec, IpPattern, TimeSpec};
use crate::format::ROLE_NAMES;
use crate::input::Source;
use crate::parse::{FieldOverrides, IpList, UnknownUsers};
use crate::report::Severity;
use crate::rules::{RULE_NAMES, RuleSet, Window};
use crate::timeline;

const EXIT_CODES: &str = "\
Exit status:
  0  success
  1  a finding at or above --fail-on
  2  usage error, or an input that cannot be opened or read
  3  --strict and at least one malformed line (wins over 1)";

const REPORT_EXAMPLES: &str = "\
Examples:
  audit-analyze report api.jsonl
  audit-analyze report --format json api.jsonl | jq '.findings'
  cat api.jsonl | audit-analyze report --threshold 10 --window 5m
  audit-analyze report --fail-on high --format markdown logs/*.jsonl >> \"$GITHUB_STEP_SUMMARY\"
  audit-analyze report --since 24h --ip 10.0.0.0/8 --failed api.jsonl
  audit-analyze report --format csv --section users api.jsonl > users.csv";

const MERGE_EXAMPLES: &str = "\
Examples:
  audit-analyze report --partial --ordinal 0 -o a.partial.zst day1.jsonl
  audit-analyze report --partial --ordinal 1 -o b.partial.zst day2.jsonl
  audit-analyze merge --plan a.partial.zst b.partial.zst > plan.json   # probes needed?
  audit-analyze merge --partial a.partial.zst b.partial.zst -o ab.partial.zst
  audit-analyze merge --format json ab.partial.zst";

/// Offline analysis of JSON-lines audit and access logs.
#[derive(Parser, Debug)]
#[command(name = "audit-analyze", version, about, after_help = EXIT_CODES)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,

    /// Colour severities in tables: auto (when stdout is a terminal and NO_COLOR is unset), always, never
    #[arg(long, value_enum, global = true, default_value_t = ColorWhen::Auto, value_name = "WHEN")]
    pub color: ColorWhen,
}

/// When to colour the output.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ColorWhen {
    Auto,
    Always,
    Never,
}

impl ColorWhen {
    /// Whether to colour: `always`, or `auto` on a terminal without a
    /// non-empty `NO_COLOR` (<https://no-color.org>).
    pub fn enabled(self, no_color: Option<&std::ffi::OsStr>, is_terminal: bool) -> bool {
        match self {
            ColorWhen::Always => true,
            ColorWhen::Never => false,
            ColorWhen::Auto => is_terminal && no_color.is_none_or(|v| v.is_empty()),
        }
    }
}

/// The subcommands.
#[derive(Subcommand, Debug)]
pub enum Command {
    /// Per-user and per-event aggregates and findings of JSON-lines logs
    #[command(after_help = format!("{REPORT_EXAMPLES}\n\n{EXIT_CODES}"))]
    Report(Box<ReportArgs>),
    /// Combine partial reports (from `report --partial`) into the report of their whole input
    #[command(after_help = format!("{MERGE_EXAMPLES}\n\n{EXIT_CODES}"))]
    Merge(MergeArgs),
    /// Every detection rule with its description, severity and current settings
    Rules(RulesArgs),
    /// Shell completion script (bash, zsh, fish, powershell, elvish) on stdout
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// The manual page (roff) on stdout: `audit-analyze man > audit-analyze.1`
    Man {
        /// A subcommand's page instead: `audit-analyze man report > audit-analyze-report.1`
        #[arg(value_name = "COMMAND", value_parser = clap::builder::PossibleValuesParser::new(["report", "merge", "rules", "formats", "completions", "schema"]))]
        command: Option<String>,
    },
    /// The JSON Schema of `report --format json` on stdout
    Schema,
    /// List the built-in log formats, or print one as TOML to start your own from
    Formats(FormatsArgs),
}

/// The arguments of `rules`.
#[derive(Args, Debug)]
pub struct RulesArgs {
    /// Output format
    #[arg(long, value_enum, default_value_t = RulesFormat::Table)]
    pub format: RulesFormat,

    #[command(flatten)]
    pub rules: RuleArgs,
}

/// Output formats of `rules`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum RulesFormat {
    Table,
    Json,
}

/// The options that set the rules, shared by `report` and `rules`.
#[derive(Args, Debug)]
pub struct RuleArgs {
    /// unknown_user_burst: failures from one ip that make a burst [default: 5]
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    pub threshold: Option<u64>,

    /// unknown_user_burst: the window the failures must fall in (90s, 10m, 1h, 1h30m) [default: 10m]
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    pub window: Option<Duration>,

    /// Another user name meaning "caller not authenticated" (repeatable); unknown_user always counts
    #[arg(long = "unknown-user", value_name = "NAME")]
    pub unknown_users: Vec<String>,

    /// Rule settings (TOML: per rule enabled, threshold, window, severity, ...); see `audit-analyze rules`
    #[arg(long = "rules", value_name = "FILE")]
    pub rules_file: Option<PathBuf>,

    /// Turn a rule off (repeatable)
    #[arg(long, value_name = "RULE", value_parser = clap::builder::PossibleValuesParser::new(RULE_NAMES))]
    pub disable: Vec<String>,
}

impl RuleArgs {
    /// The rules file (if any), then `--threshold`/`--window`, then `--disable`.
    pub fn rule_set(&self) -> anyhow::Result<RuleSet> {
        let mut rules = match &self.rules_file {
            Some(path) => {
                let text =
                    std::fs::read_to_string(path).with_context(|| format!("{}", path.display()))?;
                RuleSet::from_toml(&path.display().to_string(), &text)?
            }
            None => RuleSet::default(),
        };
        if let Some(t) = self.threshold {
            rules.unknown_user_burst.threshold = t;
        }
        if let Some(w) = self.window {
            rules.unknown_user_burst.window = Window(w);
        }
        for name in &self.disable {
            rules.disable(name)?;
        }
        rules.unknown_users = UnknownUsers::new(self.unknown_users.iter().cloned())
            .names()
            .to_vec();
        Ok(rules)
    }
}

/// The arguments of `formats`.
#[derive(Args, Debug)]
pub struct FormatsArgs {
    /// The format to print (as TOML); none lists them all
    #[arg(value_name = "NAME")]
    pub name: Option<String>,
}

/// `--ip-list`: which address of a comma-separated list is the ip.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum IpListArg {
    /// The first: the address the client claimed (X-Forwarded-For origin)
    First,
    /// The last: the hop closest to the server
    Last,
}

/// Output formats of `report`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    /// Tables for people
    Table,
    /// One JSON document for other tools
    Json,
    /// One JSON object per line, each with a "type"
    Ndjson,
    /// GitHub-flavoured Markdown, for CI job summaries
    Markdown,
    /// One table (--section) as CSV
    Csv,
    /// One self-contained HTML page with charts, for people
    Html,
}

/// The tables `--format csv` can write.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Section {
    Users,
    Events,
    Ips,
    Findings,
    Timeline,
}

/// The arguments of `report`, as typed.
#[derive(Args, Debug)]
pub struct ReportArgs {
    /// Log files or directories to read, in order, as one log; `-` or none reads standard input
    #[arg(value_name = "FILE")]
    pub files: Vec<PathBuf>,

    /// Output format
    #[arg(long, value_enum, default_value_t = OutputFormat::Table)]
    pub format: OutputFormat,

    /// With --format csv: the table to write
    #[arg(long, value_enum, required_if_eq("format", "csv"))]
    pub section: Option<Section>,

    /// Write the report to FILE (atomically: complete or not at all) instead of stdout
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,

    #[command(flatten)]
    pub rules: RuleArgs,

    /// Exit 1 when a finding has this severity or higher (after the full report)
    #[arg(long, value_enum, value_name = "SEVERITY")]
    pub fail_on: Option<Severity>,

    /// Keep records at or after TIME (2023-09-22T10:00:00Z, 2023-09-22, 24h, 7d, today, yesterday; relative to the newest record)
    #[arg(long, value_name = "TIME", value_parser = TimeSpec::parse)]
    pub since: Option<TimeSpec>,

    /// Keep records before TIME (same forms as --since)
    #[arg(long, value_name = "TIME", value_parser = TimeSpec::parse)]
    pub until: Option<TimeSpec>,

    /// Keep records whose user matches REGEX
    #[arg(long, value_name = "REGEX")]
    pub user: Option<Regex>,

    /// Keep records whose event matches REGEX
    #[arg(long, value_name = "REGEX")]
    pub event: Option<Regex>,

    /// Keep records from this ip, or this CIDR block (10.0.0.0/8)
    #[arg(long, value_name = "PATTERN", value_parser = IpPattern::parse)]
    pub ip: Option<IpPattern>,

    /// Aggregate only failures
    #[arg(long)]
    pub failed: bool,

    /// Parsing threads [default: the number of cores]
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    pub threads: Option<u64>,

    /// Timeline bucket width, whole minutes (5m, 1h, 1d) [default: at most ~48 buckets]
    #[arg(long, value_name = "DURATION", value_parser = parse_bucket)]
    pub bucket: Option<Duration>,

    /// Rows per table (and findings) in the table, Markdown and HTML formats; 0 shows all
    #[arg(long, default_value_t = 20, value_name = "N")]
    pub top: usize,

    /// Fail (exit 3) after the report if any line was malformed
    #[arg(long)]
    pub strict: bool,

    /// No progress bar (it shows only on a terminal, for inputs over 100 MB)
    #[arg(long, short = 'q')]
    pub quiet: bool,

    /// Lines longer than this are malformed ("line too long") and skipped unread
    #[arg(long, default_value_t = crate::pipeline::MAX_LINE_BYTES as u64, value_name = "BYTES",
          value_parser = clap::value_parser!(u64).range(1..))]
    pub max_line_bytes: u64,

    /// Log format: auto (detected per file), or a built-in format (see `audit-analyze formats`)
    #[arg(
        long = "log-format",
        value_name = "NAME",
        default_value = "auto",
        conflicts_with = "log_format_file",
        value_parser = log_format_names()
    )]
    pub log_format: String,

    /// Read every file in the format described by this TOML file
    #[arg(long = "log-format-file", value_name = "FILE")]
    pub log_format_file: Option<PathBuf>,

    /// Read ROLE from PATH (repeatable; repeating a role gives alternatives, first usable wins).
    /// Roles: timestamp user event outcome success status ip method path.
    /// PATH: user.username, sourceIPs.0, ["addr.remote"], or a template like "{verb} {objectRef.resource}"
    #[arg(long = "field", value_name = "ROLE=PATH", value_parser = parse_field)]
    pub fields: Vec<(String, String)>,

    /// Which address of a comma-separated ip list is the ip
    #[arg(long = "ip-list", value_enum, default_value_t = IpListArg::First)]
    pub ip_list: IpListArg,

    /// Relative --since/--until count back from TIME instead of the newest record
    #[arg(long, value_name = "TIME", value_parser = parse_anchor)]
    pub anchor: Option<crate::timestamp::Timestamp>,

    /// The name standard input is listed under (instead of <stdin>)
    #[arg(long, value_name = "NAME")]
    pub stdin_name: Option<String>,

    /// Write a partial report (one JSON line; zstd when -o ends in .zst) for `audit-analyze merge`
    #[arg(long, help_heading = "Partial reports",
          conflicts_with_all = ["format", "section", "fail_on", "strict", "top"])]
    pub partial: bool,

    /// This shard's place in the input order (distinct per shard; ties and line order follow it)
    #[arg(
        long,
        value_name = "N",
        requires = "partial",
        default_value_t = 0,
        help_heading = "Partial reports"
    )]
    pub ordinal: u64,

    /// Read only the lines that begin in bytes [START, END) of one uncompressed file
    #[arg(long, value_name = "START:END", requires = "partial", value_parser = parse_range,
          help_heading = "Partial reports")]
    pub range: Option<(u64, u64)>,

    /// Keep the successes inside this plan's windows (from `merge --plan`): the second pass
    #[arg(
        long,
        value_name = "PLAN",
        requires = "partial",
        help_heading = "Partial reports"
    )]
    pub probe: Option<PathBuf>,
}

/// The arguments of `merge`.
#[derive(Args, Debug)]
pub struct MergeArgs {
    /// Files of partial reports (one or more per file, plain or zstd); `-` or none reads standard input
    #[arg(value_name = "PARTIAL")]
    pub files: Vec<PathBuf>,

    /// Write the merged partial report instead of rendering (for tree reductions)
    #[arg(long, conflicts_with_all = ["plan", "format", "section", "fail_on", "strict", "top"])]
    pub partial: bool,

    /// Print the success windows and the shards to re-read with `report --partial --probe`
    #[arg(long, conflicts_with_all = ["format", "section", "fail_on", "strict", "top"])]
    pub plan: bool,

    /// Output format
    #[arg(long, value_enum, default_value_t = OutputFormat::Table)]
    pub format: OutputFormat,

    /// With --format csv: the table to write
    #[arg(long, value_enum, required_if_eq("format", "csv"))]
    pub section: Option<Section>,

    /// Write to FILE (atomically) instead of stdout; a partial is zstd-compressed when FILE ends in .zst
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,

    /// Exit 1 when a finding has this severity or higher
    #[arg(long, value_enum, value_name = "SEVERITY")]
    pub fail_on: Option<Severity>,

    /// Rows per table (and findings) in the table, Markdown and HTML formats; 0 shows all
    #[arg(long, default_value_t = 20, value_name = "N")]
    pub top: usize,

    /// Fail (exit 3) if any line was malformed
    #[arg(long)]
    pub strict: bool,
}

/// What `merge` writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MergeOutput {
    /// The report, rendered.
    Report(OutputFormat),
    /// One merged partial report.
    Partial,
    /// The probe plan.
    Plan,
}

/// Everything `merge` needs, checked.
#[derive(Clone, Debug)]
pub struct MergeConfig {
    pub sources: Vec<Source>,
    pub output_kind: MergeOutput,
    pub section: Option<Section>,
    pub output: Option<PathBuf>,
    pub fail_on: Option<Severity>,
    /// Rows per table; `None` shows all.
    pub top: Option<usize>,
    pub strict: bool,
}

impl MergeArgs {
    /// Checks the arguments.
    pub fn into_config(self) -> MergeConfig {
        MergeConfig {
            sources: sources(self.files),
            output_kind: if self.partial {
                MergeOutput::Partial
            } else if self.plan {
                MergeOutput::Plan
            } else {
                MergeOutput::Report(self.format)
            },
            section: self.section,
            output: self.output,
            fail_on: self.fail_on,
            top: (self.top > 0).then_some(self.top),
            strict: self.strict,
        }
    }
}

/// The files given, `-` as standard input; none means standard input.
fn sources(files: Vec<PathBuf>) -> Vec<Source> {
    if files.is_empty() {
        return vec![Source::Stdin];
    }
    files
        .into_iter()
        .map(|f| {
            if f.as_os_str() == "-" {
                Source::Stdin
            } else {
                Source::Path(f)
            }
        })
        .collect()
}

/// `--anchor`: an absolute time only.
fn parse_anchor(s: &str) -> Result<crate::timestamp::Timestamp, String> {
    match TimeSpec::parse(s)? {
        TimeSpec::At(t) => Ok(t),
        _ => Err(format!(
            "{s:?}: the anchor must be an absolute time (2023-09-22T10:00:00Z)"
        )),
    }
}

/// `--range START:END`, START < END... or equal (an empty shard).
fn parse_range(s: &str) -> Result<(u64, u64), String> {
    let (a, b) = s
        .split_once(':')
        .ok_or_else(|| "expected START:END in bytes, e.g. 0:268435456".to_string())?;
    let n = |t: &str| {
        t.trim()
            .parse::<u64>()
            .map_err(|_| format!("{t:?} is not a byte offset"))
    };
    let (start, end) = (n(a)?, n(b)?);
    if start > end {
        return Err(format!("START ({start}) is after END ({end})"));
    }
    Ok((start, end))
}

/// `auto` and the built-in format names, for `--log-format`.
fn log_format_names() -> clap::builder::PossibleValuesParser {
    clap::builder::PossibleValuesParser::new(
        std::iter::once("auto").chain(crate::format::builtin_names()),
    )
}

fn parse_field(s: &str) -> Result<(String, String), String> {
    let (role, path) = s
        .split_once('=')
        .ok_or_else(|| "expected ROLE=PATH, e.g. user=user.username".to_string())?;
    let role = role.trim();
    if !ROLE_NAMES.contains(&role) {
        return Err(format!(
            "unknown role `{role}` (roles: {})",
            ROLE_NAMES.join(", ")
        ));
    }
    crate::path::Source::parse(path).map_err(|e| e.to_string())?;
    Ok((role.to_string(), path.to_string()))
}

/// Where the log format comes from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LogFormat {
    /// Detected per file.
    Auto,
    /// A built-in format, by name.
    Builtin(String),
    /// A TOML format file.
    File(PathBuf),
}

fn parse_duration(s: &str) -> Result<Duration, String> {
    humantime::parse_duration(s).map_err(|e| format!("{e} (examples: 90s, 10m, 1h, 1h30m)"))
}

fn parse_bucket(s: &str) -> Result<Duration, String> {
    timeline::check_bucket(parse_duration(s)?)
}

/// Everything `report` needs, checked.
#[derive(Clone, Debug)]
pub struct ReportConfig {
    pub sources: Vec<Source>,
    pub format: OutputFormat,
    pub section: Option<Section>,
    /// Where the report goes; `None` is standard output.
    pub output: Option<PathBuf>,
    pub rules: RuleSet,
    pub unknown_users: UnknownUsers,
    /// Rows per table; `None` shows all.
    pub top: Option<usize>,
    pub strict: bool,
    /// No progress bar.
    pub quiet: bool,
    pub fail_on: Option<Severity>,
    pub filter: FilterSpec,
    pub bucket: Option<Duration>,
    /// Parsing threads, at least 1.
    pub threads: usize,
    /// The longest line read; longer ones are malformed.
    pub max_line_bytes: usize,
    pub log_format: LogFormat,
    pub fields: FieldOverrides,
    pub ip_list: IpList,
    /// The name standard input is listed under.
    pub stdin_name: Option<String>,
    /// Set when a partial report is wanted instead of a rendered one.
    pub partial: Option<PartialConfig>,
}

/// What `report --partial` needs besides the report's own settings.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PartialConfig {
    pub ordinal: u64,
    /// Byte range of the one (uncompressed) input.
    pub range: Option<(u64, u64)>,
    /// The probe plan file of the second pass.
    pub probe: Option<PathBuf>,
}

impl ReportArgs {
    /// Checks the arguments, reads the rules file and resolves defaults.
    pub fn into_config(self) -> anyhow::Result<ReportConfig> {
        let sources = sources(self.files);
        let partial = self.partial.then_some(PartialConfig {
            ordinal: self.ordinal,
            range: self.range,
            probe: self.probe,
        });
        let relative = [&self.since, &self.until]
            .into_iter()
            .flatten()
            .any(TimeSpec::is_relative);
        if partial.is_some() && relative && self.anchor.is_none() {
            anyhow::bail!(
                "a relative --since/--until needs --anchor TIME with --partial: \
                 every shard must count back from the same time"
            );
        }
        if partial.as_ref().is_some_and(|p| p.range.is_some())
            && !matches!(sources.as_slice(), [Source::Path(_)])
        {
            anyhow::bail!("--range reads a byte range of one file: give exactly one file");
        }
        Ok(ReportConfig {
            stdin_name: self.stdin_name,
            partial,
            sources,
            format: self.format,
            section: self.section,
            output: self.output,
            rules: self.rules.rule_set()?,
            unknown_users: UnknownUsers::new(self.rules.unknown_users),
            top: (self.top > 0).then_some(self.top),
            strict: self.strict,
            quiet: self.quiet,
            fail_on: self.fail_on,
            filter: FilterSpec {
                since: self.since,
                until: self.until,
                user: self.user,
                event: self.event,
                ip: self.ip,
                failed: self.failed,
                anchor: self.anchor,
            },
            bucket: self.bucket,
            threads: match self.threads {
                Some(n) => usize::try_from(n).unwrap_or(usize::MAX),
                None => std::thread::available_parallelism().map_or(1, |n| n.get()),
            },
            max_line_bytes: usize::try_from(self.max_line_bytes).unwrap_or(usize::MAX),
            log_format: match (self.log_format_file, self.log_format.as_str()) {
                (Some(file), _) => LogFormat::File(file),
                (None, "auto") => LogFormat::Auto,
                (None, name) => LogFormat::Builtin(name.to_string()),
            },
            fields: FieldOverrides {
                fields: self.fields,
            },
            ip_list: match self.ip_list {
                IpListArg::First => IpList::First,
                IpListArg::Last => IpList::Last,
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    use super::*;

    #[test]
    fn clap_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    fn report(args: &[&str]) -> Result<ReportConfig, clap::Error> {
        let cli = Cli::try_parse_from(["audit-analyze", "report"].iter().chain(args))?;
        let Command::Report(args) = cli.command else {
            unreachable!()
        };
        Ok(args.into_config().unwrap())
    }

    #[test]
    fn defaults() {
        let c = report(&[]).unwrap();
        assert_eq!(c.sources, [Source::Stdin]);
        assert_eq!(c.format, OutputFormat::Table);
        assert_eq!(c.rules, RuleSet::default());
        assert_eq!(c.fail_on, None);
        assert_eq!(c.top, Some(20));
        assert!(!c.strict);
        assert_eq!(c.max_line_bytes, 16 * 1024 * 1024);
        assert_eq!(c.unknown_users.names(), ["unknown_user"]);
    }

    #[test]
    fn window_forms() {
        for (text, secs) in [("90s", 90), ("10m", 600), ("1h", 3600), ("1h30m", 5400)] {
            assert_eq!(
                report(&["--window", text])
                    .unwrap()
                    .rules
                    .unknown_user_burst
                    .window,
                Window(Duration::from_secs(secs))
            );
        }
        assert!(report(&["--window", "ten"]).is_err());
    }

    #[test]
    fn threshold_must_be_positive() {
        assert!(report(&["--threshold", "0"]).is_err());
        assert!(report(&["--threshold", "-1"]).is_err());
    }

    #[test]
    fn dash_is_stdin_and_order_is_kept() {
        let c = report(&["b.jsonl", "-", "a.jsonl"]).unwrap();
        assert_eq!(
            c.sources,
            [
                Source::Path("b.jsonl".into()),
                Source::Stdin,
                Source::Path("a.jsonl".into())
            ]
        );
    }

    #[test]
    fn csv_needs_a_section() {
        assert!(report(&["--format", "csv"]).is_err());
        assert_eq!(
            report(&["--format", "csv", "--section", "ips"])
                .unwrap()
                .section,
            Some(Section::Ips)
        );
    }

    #[test]
    fn disable_takes_rule_names_only() {
        assert!(
            !report(&["--disable", "brute_force"])
                .unwrap()
                .rules
                .brute_force
                .enabled
        );
        assert!(report(&["--disable", "brute_farce"]).is_err());
    }

    #[test]
    fn bucket_must_be_whole_minutes() {
        assert_eq!(
            report(&["--bucket", "1h"]).unwrap().bucket,
            Some(Duration::from_secs(3600))
        );
        assert!(report(&["--bucket", "90s"]).is_err());
    }

    #[test]
    fn max_line_bytes_must_be_positive() {
        assert_eq!(
            report(&["--max-line-bytes", "10"]).unwrap().max_line_bytes,
            10
        );
        assert!(report(&["--max-line-bytes", "0"]).is_err());
    }

    #[test]
    fn colour_follows_the_flag_no_color_and_the_terminal() {
        let off = Some(std::ffi::OsStr::new("1"));
        let empty = Some(std::ffi::OsStr::new(""));
        assert!(ColorWhen::Auto.enabled(None, true));
        assert!(ColorWhen::Auto.enabled(empty, true));
        assert!(!ColorWhen::Auto.enabled(off, true));
        assert!(!ColorWhen::Auto.enabled(None, false));
        assert!(ColorWhen::Always.enabled(off, false));
        assert!(!ColorWhen::Never.enabled(None, true));
        let cli = Cli::try_parse_from(["audit-analyze", "report", "--color", "never"]).unwrap();
        assert_eq!(cli.color, ColorWhen::Never);
        assert!(Cli::try_parse_from(["audit-analyze", "report", "--color", "sometimes"]).is_err());
    }

    #[test]
    fn format_options() {
        let c = report(&[]).unwrap();
        assert_eq!(c.log_format, LogFormat::Auto);
        assert_eq!(c.ip_list, IpList::First);
        let c = report(&["--log-format", "k8s-audit", "--ip-list", "last"]).unwrap();
        assert_eq!(c.log_format, LogFormat::Builtin("k8s-audit".into()));
        assert_eq!(c.ip_list, IpList::Last);
        let c = report(&["--log-format-file", "f.toml"]).unwrap();
        assert_eq!(c.log_format, LogFormat::File("f.toml".into()));
        assert!(report(&["--log-format", "generic", "--log-format-file", "f.toml"]).is_err());
        assert!(report(&["--log-format", "k8s"]).is_err());
    }

    #[test]
    fn fields_are_checked() {
        let c = report(&[
            "--field",
            "user=user.username",
            "--field",
            r#"ip=["addr.remote"]"#,
            "--field",
            "user=sub",
        ])
        .unwrap();
        assert_eq!(
            c.fields.fields,
            [
                ("user".to_string(), "user.username".to_string()),
                ("ip".into(), r#"["addr.remote"]"#.into()),
                ("user".into(), "sub".into())
            ]
        );
        assert!(report(&["--field", "who=x"]).is_err());
        assert!(report(&["--field", "user"]).is_err());
        assert!(report(&["--field", "user=a..b"]).is_err());
    }

    #[test]
    fn top_zero_means_all() {
        assert_eq!(report(&["--top", "0"]).unwrap().top, None);
    }

    #[test]
    fn unknown_user_names_add_up() {
        let c = report(&["--unknown-user", "anonymous", "--unknown-user", "-"]).unwrap();
        assert_eq!(c.unknown_users.names(), ["unknown_user", "anonymous", "-"]);
    }
}
