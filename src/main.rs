//! The `audit-analyze` binary: wires the command line to the stages.

use std::io::{self, Write};
use std::process;

use anyhow::Context;
use clap::Parser as _;

use audit_analyze::analyze::{FinishSettings, MALFORMED_SHOWN};
use audit_analyze::cli::{Cli, Command, ReportConfig, RulesArgs, RulesFormat, Section};
use audit_analyze::parse::{FieldMap, Parser};
use audit_analyze::pipeline;
use audit_analyze::render::{self, RenderOptions};
use audit_analyze::sanitize;

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
    let result = match cli.command {
        Command::Report(args) => args.into_config().and_then(report),
        Command::Rules(args) => rules(args),
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

fn report(config: ReportConfig) -> anyhow::Result<ExitCode> {
    let parser = Parser::new(&FieldMap::generic(), config.unknown_users.clone());
    let reading = pipeline::Reading {
        threads: config.threads,
        max_line_bytes: config.max_line_bytes,
    };
    let outcome = pipeline::analyze_sources(&config.sources, &parser, &config.filter, reading);
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

    let settings = FinishSettings {
        rules: config.rules.clone(),
        bucket: config.bucket,
        range: outcome.filter.range,
    };
    let report = outcome
        .analyzer
        .finish(files, &settings)
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
    };
    let mut stdout = io::BufWriter::new(io::stdout().lock());
    render::render(&report, config.format, options, &mut stdout)
        .and_then(|()| stdout.flush())
        .context("writing the report")?;

    let gate = config
        .fail_on
        .is_some_and(|level| report.findings.iter().any(|f| f.severity >= level));
    Ok(if !outcome.errors.is_empty() {
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
