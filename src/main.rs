//! The `audit-analyze` binary: wires the command line to the stages.

use std::io::{self, Write};
use std::process;

use anyhow::Context;
use clap::Parser as _;

use audit_analyze::analyze::MALFORMED_SHOWN;
use audit_analyze::cli::{Cli, Command, LogFormat, ReportConfig};
use audit_analyze::format::{self, Format};
use audit_analyze::input;
use audit_analyze::parse::Parser;
use audit_analyze::pipeline::{self, Formats};
use audit_analyze::render::{self, RenderOptions};
use audit_analyze::sanitize;

/// Every exit status the tool uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum ExitCode {
    Success = 0,
    /// Usage error, or an input that could not be opened or read.
    InputError = 2,
    /// `--strict` and at least one malformed line.
    Malformed = 3,
}

fn main() {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Report(args) => report(args.into_config()),
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
            let mut candidates = Vec::new();
            for name in format::builtin_names().filter(|n| *n != "generic") {
                candidates.push(parser(&Format::builtin(name)?)?);
            }
            Formats::Auto {
                candidates,
                fallback: parser(&Format::builtin("generic")?)?,
            }
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

fn report(config: ReportConfig) -> anyhow::Result<ExitCode> {
    let formats = build_formats(&config)?;
    let expanded = input::expand(config.sources.clone());
    let outcome = pipeline::analyze_sources(&expanded.sources, &formats);
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

    let report = outcome.analyzer.finish(
        outcome.files,
        expanded.skipped_files,
        config.rule,
        &unknown_users,
    );
    let malformed = report.summary.malformed;
    if malformed > shown {
        let rest = malformed - shown;
        writeln!(
            stderr,
            "… and {rest} more malformed lines (the first {MALFORMED_SHOWN} are shown)"
        )?;
    }

    let mut stdout = io::BufWriter::new(io::stdout().lock());
    render::render(
        &report,
        config.format,
        RenderOptions { top: config.top },
        &mut stdout,
    )
    .and_then(|()| stdout.flush())
    .context("writing the report")?;

    Ok(if !errors.is_empty() {
        ExitCode::InputError
    } else if config.strict && malformed > 0 {
        ExitCode::Malformed
    } else {
        ExitCode::Success
    })
}

/// Whether the error is stdout closing under us (`| head`): not worth a word.
fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain()
        .filter_map(|e| e.downcast_ref::<io::Error>())
        .any(|e| e.kind() == io::ErrorKind::BrokenPipe)
}
