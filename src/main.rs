//! The `audit-analyze` binary: wires the command line to the stages.

use std::fs::File;
use std::io::{self, BufWriter, IsTerminal, Read, Write};
use std::path::Path;
use std::process;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::Context;
use clap::{CommandFactory, Parser as _};

use audit_analyze::analyze::{Analyzer, FinishSettings, KeepSuccesses, MALFORMED_SHOWN};
use audit_analyze::cli::{
    Cli, Command, LogFormat, MergeConfig, MergeOutput, OutputFormat, PartialConfig, ReportConfig,
    RulesArgs, RulesFormat, Section,
};
use audit_analyze::format::{self, Format};
use audit_analyze::input;
use audit_analyze::parse::{IpList, Parser};
use audit_analyze::partial::{self, Partial, Settings, Shard, ShardFile};
use audit_analyze::pipeline::{self, Formats};
use audit_analyze::render::{self, RenderOptions};
use audit_analyze::report::{FileSummary, Severity, TimeRange};
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
        Command::Merge(args) => {
            let config = args.into_config();
            let terminal = config.output.is_none() && io::stdout().is_terminal();
            let color = color.enabled(std::env::var_os("NO_COLOR").as_deref(), terminal);
            merge(config, color)
        }
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
        Some("merge") => ("merge", "audit-analyze-merge"),
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

/// The parsers the inputs are read with, and the text of the format file
/// (`--log-format-file`) if one was read.
fn build_formats(config: &ReportConfig) -> anyhow::Result<(Formats, Option<String>)> {
    let parser = |f: &Format| {
        Parser::new(
            f,
            &config.fields,
            config.unknown_users.clone(),
            config.ip_list,
        )
    };
    Ok(match &config.log_format {
        LogFormat::Auto => (
            Formats::auto(config.unknown_users.clone(), &config.fields, config.ip_list)?,
            None,
        ),
        LogFormat::Builtin(name) => (Formats::Fixed(parser(&Format::builtin(name)?)?), None),
        LogFormat::File(path) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("reading the format file {}", path.display()))?;
            let f = Format::from_toml(&text, &path.display().to_string())?;
            (Formats::Fixed(parser(&f)?), Some(text))
        }
    })
}

/// How `config` says to read, keeping the successes of known users or not.
fn reading(config: &ReportConfig, keep_successes: bool) -> pipeline::Reading {
    pipeline::Reading {
        threads: config.threads,
        max_line_bytes: config.max_line_bytes,
        keep_successes,
    }
}

/// Reads the inputs of `report` (expanding directories), with a progress
/// bar when a person is watching.
fn read_inputs(
    config: &ReportConfig,
    formats: &Formats,
    keep_successes: bool,
) -> (pipeline::Outcome, input::Expanded) {
    let expanded = input::expand(config.sources.clone());
    let reading = reading(config, keep_successes);
    let progress = if config.quiet {
        None
    } else {
        pipeline::progress_bar(&expanded.sources, io::stderr().is_terminal())
    };
    let mut outcome = pipeline::analyze_sources(
        &expanded.sources,
        formats,
        &config.filter,
        reading,
        progress.as_ref(),
    );
    if let Some(name) = &config.stdin_name {
        for (file, source) in outcome.files.iter_mut().zip(&expanded.sources) {
            if *source == input::Source::Stdin {
                file.path.clone_from(name);
            }
        }
    }
    (outcome, expanded)
}

/// Prints the input errors, the first malformed lines and how many more
/// there were on standard error, made safe for a terminal; `place` gives,
/// for a file index, the name to print and the lines of that file before
/// the ones read.
fn print_diagnostics(
    errors: &[String],
    analyzer: &Analyzer,
    place: impl Fn(u32) -> (String, u64),
) -> io::Result<()> {
    let stderr = &mut io::stderr().lock();
    for error in errors {
        writeln!(
            stderr,
            "audit-analyze: error: {}",
            sanitize::for_terminal(error)
        )?;
    }
    let listed = analyzer.malformed_lines();
    for m in listed {
        let (name, before) = place(m.position.file);
        let line = format!(
            "{name}:{}: {}",
            m.position.line.saturating_add(before),
            m.reason
        );
        writeln!(stderr, "{}", sanitize::for_terminal(&line))?;
    }
    let rest = analyzer
        .malformed_count()
        .saturating_sub(listed.len() as u64);
    if rest > 0 {
        writeln!(
            stderr,
            "… and {rest} more malformed lines (the first {MALFORMED_SHOWN} are shown)"
        )?;
    }
    Ok(())
}

/// How a finished report is delivered: `report` and `merge` alike.
struct Delivery<'a> {
    format: OutputFormat,
    section: Option<Section>,
    top: Option<usize>,
    output: Option<&'a Path>,
    fail_on: Option<Severity>,
    strict: bool,
    color: bool,
}

/// Runs the rules and sorts the analysis into the report, renders it, and
/// gives the exit status.
fn deliver(
    analyzer: Analyzer,
    files: Vec<FileSummary>,
    skipped_files: u64,
    settings: &FinishSettings,
    input_errors: usize,
    how: Delivery,
) -> anyhow::Result<ExitCode> {
    let report = analyzer
        .finish(files, skipped_files, settings)
        .context("reading back the successes kept in a temporary file")?;
    let report = &report;
    let malformed = report.summary.malformed;
    let options = RenderOptions {
        top: how.top,
        section: how.section.unwrap_or(Section::Findings),
        generated: generated_at(),
        color: how.color,
    };
    match how.output {
        Some(path) => {
            write_atomically(path, |out| render::render(report, how.format, options, out))?
        }
        None => {
            let mut stdout = io::BufWriter::new(io::stdout().lock());
            render::render(report, how.format, options, &mut stdout)
                .and_then(|()| stdout.flush())
                .context("writing the report")?;
        }
    }
    let gate = how
        .fail_on
        .is_some_and(|level| report.findings.iter().any(|f| f.severity >= level));
    Ok(if input_errors > 0 {
        ExitCode::InputError
    } else if how.strict && malformed > 0 {
        ExitCode::Malformed
    } else if gate {
        ExitCode::Findings
    } else {
        ExitCode::Success
    })
}

fn report(config: ReportConfig, color: bool) -> anyhow::Result<ExitCode> {
    let (formats, format_file) = build_formats(&config)?;
    if let Some(partial) = &config.partial {
        return partial_report(&config, partial, &formats, format_file);
    }
    let (outcome, expanded) = read_inputs(&config, &formats, true);

    // The unauthenticated names of the formats used count for the rule.
    let unknown_users = pipeline::unknown_users(
        config.unknown_users.names(),
        &formats.unauthenticated(),
        &outcome.files,
    );

    let errors: Vec<String> = expanded
        .errors
        .iter()
        .chain(&outcome.errors)
        .map(|e| format!("{e:#}"))
        .collect();
    let files = &outcome.files;
    print_diagnostics(&errors, &outcome.analyzer, |f| {
        (files[f as usize].path.clone(), 0)
    })?;

    let mut rules = config.rules.clone();
    rules.unknown_users = unknown_users;
    let settings = FinishSettings {
        rules,
        bucket: config.bucket,
        range: outcome.filter.range,
    };
    deliver(
        outcome.analyzer,
        outcome.files,
        expanded.skipped_files,
        &settings,
        errors.len(),
        Delivery {
            format: config.format,
            section: config.section,
            top: config.top,
            output: config.output.as_deref(),
            fail_on: config.fail_on,
            strict: config.strict,
            color,
        },
    )
}

/// The settings a partial report is made with (merge compares them);
/// `format_file` is the text of the `--log-format-file` read.
fn partial_settings(
    config: &ReportConfig,
    formats: &Formats,
    format_file: Option<String>,
) -> Settings {
    let log_format = match &config.log_format {
        LogFormat::Auto => "auto".to_string(),
        LogFormat::Builtin(name) => name.clone(),
        LogFormat::File(_) => "file".to_string(),
    };
    let range = config.filter.resolve(None).range;
    let f = &config.filter;
    Settings {
        rules: config.rules.clone(),
        log_format,
        log_format_file: format_file,
        fields: config.fields.fields.clone(),
        ip_list: match config.ip_list {
            IpList::First => "first".into(),
            IpList::Last => "last".into(),
        },
        max_line_bytes: config.max_line_bytes as u64,
        since: range.since.map(Timestamp::nanos),
        until: range.until.map(Timestamp::nanos),
        user: f.user.as_ref().map(|r| r.as_str().to_string()),
        event: f.event.as_ref().map(|r| r.as_str().to_string()),
        ip: f.ip.as_ref().map(|p| p.to_string()),
        failed: f.failed,
        bucket_secs: config.bucket.map(|d| d.as_secs()),
        unauthenticated: formats.unauthenticated(),
    }
}

/// `report --partial`: reads one shard and writes what it adds up to.
fn partial_report(
    config: &ReportConfig,
    shard: &PartialConfig,
    formats: &Formats,
    format_file: Option<String>,
) -> anyhow::Result<ExitCode> {
    let settings = partial_settings(config, formats, format_file);
    let plan = match &shard.probe {
        Some(path) => {
            let name = path.display().to_string();
            let file = File::open(path).with_context(|| format!("{name}: reading the plan"))?;
            Some(partial::read_plan(file, &name, &settings)?)
        }
        None => None,
    };
    let keep_successes = plan.is_some();
    let newlines = Arc::new(AtomicU64::new(0));
    let (outcome, skipped_files, mut errors) = match (shard.range, config.sources.as_slice()) {
        (Some((start, end)), [input::Source::Path(path)]) => {
            let opened = input::open_range(path, start, end, Arc::clone(&newlines));
            let name = path.display().to_string();
            let reading = reading(config, keep_successes);
            let outcome =
                pipeline::analyze_opened(vec![(name, opened)], formats, &config.filter, reading);
            (outcome, 0, Vec::new())
        }
        _ => {
            let (outcome, expanded) = read_inputs(config, formats, keep_successes);
            let errors: Vec<String> = expanded.errors.iter().map(|e| format!("{e:#}")).collect();
            (outcome, expanded.skipped_files, errors)
        }
    };
    errors.extend(outcome.errors.iter().map(|e| format!("{e:#}")));
    // A range's line numbers count from its first line.
    let files = &outcome.files;
    print_diagnostics(&errors, &outcome.analyzer, |f| {
        let path = &files[f as usize].path;
        match shard.range {
            Some((start, end)) => (format!("{path} (bytes {start}..{end})"), 0),
            None => (path.clone(), 0),
        }
    })?;

    let newlines = newlines.load(Ordering::Relaxed);
    let status = if errors.is_empty() {
        ExitCode::Success
    } else {
        ExitCode::InputError
    };
    let shard = Shard {
        ordinal: shard.ordinal,
        files: outcome
            .files
            .into_iter()
            .map(|f| ShardFile::new(f, shard.range, newlines))
            .collect(),
        skipped_files,
        errors,
        success_span: outcome
            .analyzer
            .success_span()
            .map(|(lo, hi)| (lo.nanos(), hi.nanos())),
        probe: plan.as_ref().map(|p| p.id.clone()),
    };
    let keep = match &plan {
        Some(p) => KeepSuccesses::Within(&p.windows),
        None => KeepSuccesses::None,
    };
    let state = outcome
        .analyzer
        .into_state(keep)
        .context("reading back the successes kept in a temporary file")?;
    let partial = Partial {
        partial_version: partial::PARTIAL_VERSION,
        tool_version: partial::TOOL_VERSION.to_string(),
        settings,
        shards: vec![shard],
        state,
    };
    write_document(&partial, config.output.as_deref())?;
    Ok(status)
}

/// Writes a partial or a plan as one JSON line to `output` (zstd when its
/// name ends in `.zst`) or to standard output.
fn write_document(value: &impl serde::Serialize, output: Option<&Path>) -> anyhow::Result<()> {
    let json = |out: &mut dyn Write| -> io::Result<()> {
        serde_json::to_writer(&mut *out, value)?;
        out.write_all(b"\n")
    };
    match output {
        Some(path) if path.extension().is_some_and(|e| e == "zst") => {
            write_atomically(path, |out| partial::write_zstd(value, out))
        }
        Some(path) => write_atomically(path, |out| json(out)),
        None => {
            let mut stdout = BufWriter::new(io::stdout().lock());
            json(&mut stdout)
                .and_then(|()| stdout.flush())
                .context("writing to standard output")
        }
    }
}

/// `merge`: partial reports → one partial, a probe plan, or the report.
fn merge(config: MergeConfig, color: bool) -> anyhow::Result<ExitCode> {
    let mut merger = partial::Merger::default();
    for source in &config.sources {
        let name = source.to_string();
        let reader: Box<dyn Read> = match source {
            input::Source::Stdin => Box::new(io::stdin().lock()),
            input::Source::Path(path) => Box::new(File::open(path).with_context(|| name.clone())?),
        };
        partial::read_each(reader, &name, |name, p| merger.add(name, p))?;
    }
    let merged = merger.finish()?;
    let format = match config.output_kind {
        MergeOutput::Partial => {
            let p = merged
                .into_partial()
                .context("reading back the successes kept in a temporary file")?;
            write_document(&p, config.output.as_deref())?;
            return Ok(ExitCode::Success);
        }
        MergeOutput::Plan => {
            write_document(&merged.plan(), config.output.as_deref())?;
            return Ok(ExitCode::Success);
        }
        MergeOutput::Report(format) => format,
    };
    merged.check_probes()?;
    let (files, places) = merged.files();
    let errors: Vec<String> = merged.errors().into_iter().map(str::to_string).collect();
    print_diagnostics(&errors, &merged.analyzer, |f| {
        let place = &places[f as usize];
        (place.name.clone(), place.lines_before.unwrap_or(0))
    })?;

    let s = &merged.settings;
    let mut rules = s.rules.clone();
    rules.unknown_users =
        pipeline::unknown_users(&s.rules.unknown_users, &s.unauthenticated, &files);
    let time = |n: Option<i128>| n.and_then(Timestamp::from_nanos);
    let settings = FinishSettings {
        rules,
        bucket: s.bucket_secs.map(Duration::from_secs),
        range: TimeRange {
            since: time(s.since),
            until: time(s.until),
        },
    };
    let skipped_files = merged.skipped_files();
    deliver(
        merged.analyzer,
        files,
        skipped_files,
        &settings,
        errors.len(),
        Delivery {
            format,
            section: config.section,
            top: config.top,
            output: config.output.as_deref(),
            fail_on: config.fail_on,
            strict: config.strict,
            color,
        },
    )
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
