//! The `audit-analyze` binary: wires the command line to the stages.

use std::fs::File;
use std::io::{self, BufWriter, IsTerminal, Write};
use std::path::Path;
use std::process;
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::Context;
use clap::{CommandFactory, Parser as _};

use audit_analyze::analyze::{FinishSettings, MALFORMED_SHOWN};
use audit_analyze::cli::{Cli, Command, LogFormat, ReportConfig, RulesArgs, RulesFormat, Section};
use audit_analyze::format::{self, Format};
use audit_analyze::input;
use audit_analyze::parse::Parser;
use audit_analyze::pipeline::{self, Formats};
use audit_analyze::render::{self, RenderOptions};
use audit_analyze::sanitize;
use audit_analyze::schema;
use audit_analyze::timestamp::Timestamp;

/// Every exit status the tool uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum ExitCode {
    Success = 0,
    /// A finding at or above `--fail-on`.
    Findings = 1,
    /// Usage error, or an input that could not be opened or read.
    InputError = 2,
    /// `--strict` and at least one malformed line.
    Malformed = 3,
}

fn main() {
    let cli = Cli::parse();
    let color = cli.color;
    let result = match cli.command {
        Command::Report(args) => args.into_config().and_then(|config| {
            let terminal = config.output.is_none() && io::stdout().is_terminal();
            let color = color.enabled(std::env::var_os("NO_COLOR").as_deref(), terminal);
            report(config, color)
        }),
        Command::Rules(args) => rules(args),
        Command::Completions { shell } => to_stdout(|out| {
            clap_complete::generate(shell, &mut Cli::command(), "audit-analyze", out);
            Ok(())
        }),
        Command::Man { command } => man(command.as_deref()),
        Command::Schema => to_stdout(|out| {
            serde_json::to_writer_pretty(&mut *out, &schema::report_schema())?;
            writeln!(out)
        }),
        Command::Formats(args) => formats(args.name.as_deref()),
    };
    let code = match result {
        Ok(code) => code,
        Err(err) if is_broken_pipe(&err) => ExitCode::Success,
        Err(err) => {
            eprintln!("audit-analyze: error: {err:#}");
            ExitCode::InputError
        }
    };
    process::exit(code as i32);
}

/// Runs `write` on a buffered standard output.
fn to_stdout(
    write: impl FnOnce(&mut BufWriter<io::StdoutLock>) -> io::Result<()>,
) -> anyhow::Result<ExitCode> {
    let mut stdout = BufWriter::new(io::stdout().lock());
    write(&mut stdout)
        .and_then(|()| stdout.flush())
        .context("writing to standard output")?;
    Ok(ExitCode::Success)
}

/// The man page of the tool, or of one subcommand (`audit-analyze-report`).
fn man(subcommand: Option<&str>) -> anyhow::Result<ExitCode> {
    let mut cli = Cli::command();
    cli.build();
    let (name, page_name) = match subcommand {
        None => return to_stdout(|out| clap_mangen::Man::new(cli).render(out)),
        Some("report") => ("report", "audit-analyze-report"),
        Some("rules") => ("rules", "audit-analyze-rules"),
        Some("completions") => ("completions", "audit-analyze-completions"),
        Some("schema") => ("schema", "audit-analyze-schema"),
        Some("formats") => ("formats", "audit-analyze-formats"),
        Some(other) => anyhow::bail!("no subcommand {other:?}"),
    };
    let page = cli
        .find_subcommand(name)
        .cloned()
        .with_context(|| format!("no subcommand {name:?}"))?
        .name(page_name)
        .version(env!("CARGO_PKG_VERSION"));
    to_stdout(|out| clap_mangen::Man::new(page).render(out))
}

/// When the report is made: `SOURCE_DATE_EPOCH` (seconds) when set, for
/// reproducible output (set but not a number: no time at all), else now.
fn generated_at() -> Option<Timestamp> {
    const NANOS: i128 = 1_000_000_000;
    match std::env::var("SOURCE_DATE_EPOCH") {
        Ok(secs) => secs
            .trim()
            .parse::<i64>()
            .ok()
            .and_then(|s| Timestamp::from_nanos(i128::from(s) * NANOS)),
        Err(_) => SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .ok()
            .and_then(|d| Timestamp::from_nanos(d.as_nanos() as i128)),
    }
}

/// Writes `path` atomically: into a temporary file in the same directory,
/// renamed over `path` only once everything was written, so a failed run
/// leaves no half report (and an existing file keeps its permissions).
fn write_atomically(
    path: &Path,
    write: impl FnOnce(&mut BufWriter<&File>) -> io::Result<()>,
) -> anyhow::Result<()> {
    let name = path.display();
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let tmp = tempfile::Builder::new()
        .prefix(".audit-analyze-")
        .suffix(".tmp")
        .tempfile_in(dir)
        .with_context(|| format!("{name}: creating a temporary file beside it"))?;
    let mut out = BufWriter::new(tmp.as_file());
    write(&mut out)
        .and_then(|()| out.flush())
        .with_context(|| format!("{name}: writing the report"))?;
    drop(out);
    let permissions = std::fs::metadata(path)
        .map(|m| m.permissions())
        .ok()
        .or_else(default_permissions);
    if let Some(permissions) = permissions {
        tmp.as_file()
            .set_permissions(permissions)
            .with_context(|| format!("{name}: writing the report"))?;
    }
    tmp.as_file()
        .sync_all()
        .with_context(|| format!("{name}: writing the report"))?;
    tmp.persist(path)
        .map_err(|e| e.error)
        .with_context(|| format!("{name}: replacing it with the report"))?;
    Ok(())
}

/// A new report file is readable like one made by a shell redirect
/// (the temporary file starts private).
fn default_permissions() -> Option<std::fs::Permissions> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        Some(std::fs::Permissions::from_mode(0o644))
    }
    #[cfg(not(unix))]
    {
        None
    }
}

/// `formats`: the list of built-in formats, or one of them as TOML.
fn formats(name: Option<&str>) -> anyhow::Result<ExitCode> {
    let mut stdout = io::stdout().lock();
    match name {
        Some(name) => {
            let text = Format::builtin_text(name)
                .ok_or_else(|| format::FormatError::Unknown(name.to_string()))?;
            stdout.write_all(text.as_bytes())?;
        }
        None => {
            for name in format::builtin_names() {
                let f = Format::builtin(name)?;
                writeln!(stdout, "{name:<12} {}", f.description)?;
            }
        }
    }
    stdout.flush()?;
    Ok(ExitCode::Success)
}

/// The parsers the inputs are read with.
fn build_formats(config: &ReportConfig) -> anyhow::Result<Formats> {
    let parser = |f: &Format| {
        Parser::new(
            f,
            &config.fields,
            config.unknown_users.clone(),
            config.ip_list,
        )
    };
    Ok(match &config.log_format {
        LogFormat::Auto => {
            Formats::auto(config.unknown_users.clone(), &config.fields, config.ip_list)?
        }
        LogFormat::Builtin(name) => Formats::Fixed(parser(&Format::builtin(name)?)?),
        LogFormat::File(path) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("reading the format file {}", path.display()))?;
            let f = Format::from_toml(&text, &path.display().to_string())?;
            Formats::Fixed(parser(&f)?)
        }
    })
}

fn report(config: ReportConfig, color: bool) -> anyhow::Result<ExitCode> {
    let formats = build_formats(&config)?;
    let expanded = input::expand(config.sources.clone());
    let reading = pipeline::Reading {
        threads: config.threads,
        max_line_bytes: config.max_line_bytes,
    };
    let progress = if config.quiet {
        None
    } else {
        pipeline::progress_bar(&expanded.sources, io::stderr().is_terminal())
    };
    let outcome = pipeline::analyze_sources(
        &expanded.sources,
        &formats,
        &config.filter,
        reading,
        progress.as_ref(),
    );
    let files: Vec<String> = outcome.files.iter().map(|f| f.path.clone()).collect();

    // The unauthenticated names of the formats used count for the rule.
    let mut unknown_users: Vec<String> = config.unknown_users.names().to_vec();
    let parsers: Vec<&Parser> = match &formats {
        Formats::Fixed(p) => vec![p],
        Formats::Auto {
            candidates,
            fallback,
        } => candidates.iter().chain([fallback]).collect(),
    };
    for p in parsers {
        let used = outcome
            .files
            .iter()
            .any(|f| f.format.as_deref() == Some(p.name()));
        for name in p.unauthenticated() {
            if used && !unknown_users.contains(name) {
                unknown_users.push(name.clone());
            }
        }
    }

    let stderr = &mut io::stderr().lock();
    let errors: Vec<&input::InputError> = expanded.errors.iter().chain(&outcome.errors).collect();
    for error in &errors {
        writeln!(
            stderr,
            "audit-analyze: error: {}",
            sanitize::for_terminal(&format!("{error:#}"))
        )?;
    }
    let shown = outcome.analyzer.malformed_lines().len() as u64;
    for m in outcome.analyzer.malformed_lines() {
        let file = &files[m.position.file as usize];
        let line = format!("{file}:{}: {}", m.position.line, m.reason);
        writeln!(stderr, "{}", sanitize::for_terminal(&line))?;
    }

    let mut rules = config.rules.clone();
    rules.unknown_users = unknown_users;
    let settings = FinishSettings {
        rules,
        bucket: config.bucket,
        range: outcome.filter.range,
    };
    let report = outcome
        .analyzer
        .finish(outcome.files, expanded.skipped_files, &settings)
        .context("reading back the successes kept in a temporary file")?;
    let malformed = report.summary.malformed;
    if malformed > shown {
        let rest = malformed - shown;
        writeln!(
            stderr,
            "… and {rest} more malformed lines (the first {MALFORMED_SHOWN} are shown)"
        )?;
    }

    let options = RenderOptions {
        top: config.top,
        section: config.section.unwrap_or(Section::Findings),
        generated: generated_at(),
        color,
    };
    match &config.output {
        Some(path) => write_atomically(path, |out| {
            render::render(&report, config.format, options, out)
        })?,
        None => {
            let mut stdout = io::BufWriter::new(io::stdout().lock());
            render::render(&report, config.format, options, &mut stdout)
                .and_then(|()| stdout.flush())
                .context("writing the report")?;
        }
    }

    let gate = config
        .fail_on
        .is_some_and(|level| report.findings.iter().any(|f| f.severity >= level));
    Ok(if !errors.is_empty() {
        ExitCode::InputError
    } else if config.strict && malformed > 0 {
        ExitCode::Malformed
    } else if gate {
        ExitCode::Findings
    } else {
        ExitCode::Success
    })
}

fn rules(args: RulesArgs) -> anyhow::Result<ExitCode> {
    let rules = args.rules.rule_set()?;
    let descriptions = rules.describe();
    let mut stdout = io::BufWriter::new(io::stdout().lock());
    match args.format {
        RulesFormat::Json => {
            serde_json::to_writer_pretty(&mut stdout, &descriptions)?;
            writeln!(stdout)?;
        }
        RulesFormat::Table => {
            for d in &descriptions {
                let state = if d.enabled { "" } else { " (disabled)" };
                writeln!(stdout, "{} [{}]{state}", d.name, d.severity.name())?;
                writeln!(stdout, "  {}", d.description)?;
                writeln!(stdout, "  settings: {}", d.settings)?;
                writeln!(stdout, "  default from: {}\n", d.source)?;
            }
        }
    }
    stdout.flush().context("writing the rules")?;
    Ok(ExitCode::Success)
}

/// Whether the error is stdout closing under us (`| head`): not worth a word.
fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain()
        .filter_map(|e| e.downcast_ref::<io::Error>())
        .any(|e| e.kind() == io::ErrorKind::BrokenPipe)
}
