//! The `audit-analyze` binary: wires the command line to the stages.

use std::io::{self, Write};
use std::process;

use anyhow::Context;
use clap::Parser as _;

use audit_analyze::analyze::MALFORMED_SHOWN;
use audit_analyze::cli::{Cli, Command, ReportConfig};
use audit_analyze::parse::{FieldMap, Parser};
use audit_analyze::pipeline;
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
    let code = match cli.command {
        Command::Report(args) => match report(args.into_config()) {
            Ok(code) => code,
            Err(err) if is_broken_pipe(&err) => ExitCode::Success,
            Err(err) => {
                eprintln!("audit-analyze: error: {err:#}");
                ExitCode::InputError
            }
        },
    };
    process::exit(code as i32);
}

fn report(config: ReportConfig) -> anyhow::Result<ExitCode> {
    let parser = Parser::new(&FieldMap::generic(), config.unknown_users.clone());
    let outcome = pipeline::analyze_sources(&config.sources, config.max_line_bytes, &parser);
    let files: Vec<String> = config.sources.iter().map(|s| s.to_string()).collect();

    let stderr = &mut io::stderr().lock();
    for error in &outcome.errors {
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

    let report = outcome
        .analyzer
        .finish(files, config.rule, config.unknown_users.names());
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

    Ok(if !outcome.errors.is_empty() {
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
