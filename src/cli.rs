//! The command line: the clap definition, turned once into a checked
//! [`ReportConfig`]. Nothing past this module sees raw arguments.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::detect::BurstRule;
use crate::format::ROLE_NAMES;
use crate::input::Source;
use crate::parse::{FieldOverrides, IpList, UnknownUsers};

const EXIT_CODES: &str = "\
Exit status:
  0  success
  2  usage error, or an input that cannot be opened or read
  3  --strict and at least one malformed line";

const REPORT_EXAMPLES: &str = "\
Examples:
  audit-analyze report api.jsonl
  audit-analyze report --format json api.jsonl | jq '.findings'
  cat api.jsonl | audit-analyze report --threshold 10 --window 5m
  audit-analyze report --unknown-user anonymous --strict logs/*.jsonl";

/// Offline analysis of JSON-lines audit and access logs.
#[derive(Parser, Debug)]
#[command(name = "audit-analyze", version, about, after_help = EXIT_CODES)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Subcommand, Debug)]
pub enum Command {
    /// Per-user and per-event aggregates and findings of JSON-lines logs
    #[command(after_help = format!("{REPORT_EXAMPLES}\n\n{EXIT_CODES}"))]
    Report(ReportArgs),
    /// List the built-in log formats, or print one as TOML to start your own from
    Formats(FormatsArgs),
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

    /// unknown_user_burst: failures from one ip that make a burst
    #[arg(long, default_value_t = 5, value_name = "N",
          value_parser = clap::value_parser!(u64).range(1..))]
    pub threshold: u64,

    /// unknown_user_burst: the window the failures must fall in (90s, 10m, 1h, 1h30m)
    #[arg(long, default_value = "10m", value_name = "DURATION", value_parser = parse_duration)]
    pub window: Duration,

    /// Another user name meaning "caller not authenticated" (repeatable); unknown_user always counts
    #[arg(long = "unknown-user", value_name = "NAME")]
    pub unknown_users: Vec<String>,

    /// Rows per table in the table format; 0 shows all
    #[arg(long, default_value_t = 20, value_name = "N")]
    pub top: usize,

    /// Fail (exit 3) after the report if any line was malformed
    #[arg(long)]
    pub strict: bool,

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

/// Everything `report` needs, checked.
#[derive(Clone, Debug)]
pub struct ReportConfig {
    pub sources: Vec<Source>,
    pub format: OutputFormat,
    pub rule: BurstRule,
    pub unknown_users: UnknownUsers,
    /// Rows per table; `None` shows all.
    pub top: Option<usize>,
    pub strict: bool,
    pub log_format: LogFormat,
    pub fields: FieldOverrides,
    pub ip_list: IpList,
}

impl ReportArgs {
    /// Checks the arguments and resolves defaults.
    pub fn into_config(self) -> ReportConfig {
        let sources = if self.files.is_empty() {
            vec![Source::Stdin]
        } else {
            self.files
                .into_iter()
                .map(|f| {
                    if f.as_os_str() == "-" {
                        Source::Stdin
                    } else {
                        Source::Path(f)
                    }
                })
                .collect()
        };
        ReportConfig {
            sources,
            format: self.format,
            rule: BurstRule {
                threshold: usize::try_from(self.threshold).unwrap_or(usize::MAX),
                window: self.window,
            },
            unknown_users: UnknownUsers::new(self.unknown_users),
            top: (self.top > 0).then_some(self.top),
            strict: self.strict,
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
        }
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
            panic!("not report")
        };
        Ok(args.into_config())
    }

    #[test]
    fn defaults() {
        let c = report(&[]).unwrap();
        assert_eq!(c.sources, [Source::Stdin]);
        assert_eq!(c.format, OutputFormat::Table);
        assert_eq!(c.rule.threshold, 5);
        assert_eq!(c.rule.window, Duration::from_secs(600));
        assert_eq!(c.top, Some(20));
        assert!(!c.strict);
        assert_eq!(c.unknown_users.names(), ["unknown_user"]);
    }

    #[test]
    fn window_forms() {
        for (text, secs) in [("90s", 90), ("10m", 600), ("1h", 3600), ("1h30m", 5400)] {
            assert_eq!(
                report(&["--window", text]).unwrap().rule.window,
                Duration::from_secs(secs)
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
