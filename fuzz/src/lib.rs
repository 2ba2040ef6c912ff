//! The fuzzing harness: arbitrary bytes through the whole pipeline
//! (line splitting → parse → analyze → finish → every renderer).
//!
//! The first three bytes choose the settings (so the fuzzer explores them
//! too); the rest is the log, cut into one to three inputs and fed in small
//! reads so block and BOM boundaries fall anywhere. Besides "no panic", it
//! checks what must hold for any input: the JSON output parses and has every
//! key, the counts add up, and the table never lets a control, bidi or
//! zero-width character through.
//!
//! The fuzz target calls [`run`]; the main test suite includes this file
//! (`tests/fuzz_corpus.rs`) to replay the seed corpus and every past
//! finding on each `cargo test`.

use std::io::{self, Read};
use std::time::Duration;

use audit_analyze::analyze::FinishSettings;
use audit_analyze::cli::{OutputFormat, Section};
use audit_analyze::filter::FilterSpec;
use audit_analyze::parse::{FieldOverrides, IpList, UnknownUsers};
use audit_analyze::pipeline::{self, Formats, Reading};
use audit_analyze::render::{self, RenderOptions};
use audit_analyze::rules::{RuleSet, Window};

/// Hands out at most `step` bytes per read.
struct Trickle {
    data: Vec<u8>,
    at: usize,
    step: usize,
}

impl Read for Trickle {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let rest = &self.data[self.at..];
        let n = rest.len().min(self.step).min(buf.len());
        buf[..n].copy_from_slice(&rest[..n]);
        self.at += n;
        Ok(n)
    }
}

/// Runs one input through the pipeline and checks the invariants; panics
/// when one breaks.
pub fn run(data: &[u8]) {
    let [a, b, c, rest @ ..] = data else {
        return;
    };
    let threshold = 1 + u64::from(a & 7);
    let window =
        Duration::from_secs([0, 1, 60, 600, 3600, 86_400, 1 << 40, u64::MAX][usize::from(a >> 5)]);
    let threads = 1 + usize::from((a >> 3) & 3);
    let top = [None, Some(1), Some(2), Some(20)][usize::from(b & 3)];
    let max_line = if b & 4 != 0 {
        1 + usize::from(b >> 3)
    } else {
        pipeline::MAX_LINE_BYTES
    };
    let step = [1, 2, 3, 7, 64, 4096, 1 << 20, usize::MAX][usize::from(c & 7)];
    let inputs = 1 + usize::from((c >> 3) % 3);
    let mut extra = Vec::new();
    if c & 0x40 != 0 {
        extra.push("-".to_string());
    }
    if c & 0x80 != 0 {
        extra.push("anonymous".to_string());
    }
    let unknown = UnknownUsers::new(extra);
    // Half the runs detect the format of each input among all built-ins.
    let formats = if b & 0x80 != 0 {
        Formats::auto(unknown.clone(), &FieldOverrides::default(), IpList::First)
            .expect("built-in formats load")
    } else {
        Formats::generic(unknown.clone())
    };
    let reading = Reading {
        threads,
        max_line_bytes: max_line,
        keep_successes: true,
    };
    let chunk = rest.len().div_ceil(inputs).max(1);
    let readers: Vec<(String, Box<dyn Read + Send>)> = rest
        .chunks(chunk)
        .enumerate()
        .map(|(i, part)| {
            let reader: Box<dyn Read + Send> = Box::new(Trickle {
                data: part.to_vec(),
                at: 0,
                step,
            });
            (format!("input{i}"), reader)
        })
        .collect();
    let outcome = pipeline::analyze_readers(readers, &formats, &FilterSpec::default(), reading);
    let mut rules = RuleSet::default();
    rules.unknown_user_burst.threshold = threshold;
    rules.unknown_user_burst.window = Window(window);
    rules.unknown_users = unknown.names().to_vec();
    let settings = FinishSettings {
        rules,
        ..Default::default()
    };
    let report = outcome
        .analyzer
        .finish(outcome.files, 0, &settings)
        .expect("the successes kept on disk read back");

    let users: u64 = report.users.iter().map(|u| u.total).sum();
    let events: u64 = report.events.iter().map(|e| e.total).sum();
    let ips: u64 = report.ips.iter().map(|i| i.total).sum();
    let failures: u64 = report.users.iter().map(|u| u.failures).sum();
    let bucketed: u64 = report.timeline.buckets.iter().map(|b| b.records).sum();
    assert_eq!(users, report.summary.records);
    assert_eq!(events, report.summary.records);
    assert_eq!(ips, report.summary.records);
    assert_eq!(failures, report.summary.failures);
    assert_eq!(bucketed, report.summary.records - report.summary.untimed);
    for f in &report.findings {
        if f.rule == "unknown_user_burst" {
            assert!(f.count >= threshold);
        }
        assert!(f.first <= f.last);
    }

    let options = |section| RenderOptions {
        top,
        section,
        generated: None,
        color: false,
    };
    let mut json = Vec::new();
    render::render(
        &report,
        OutputFormat::Json,
        options(Section::Findings),
        &mut json,
    )
    .unwrap();
    let doc: serde_json::Value = serde_json::from_slice(&json).expect("JSON output parses");
    for key in [
        "schema_version",
        "summary",
        "users",
        "events",
        "ips",
        "findings",
        "timeline",
        "rules",
    ] {
        assert!(doc.get(key).is_some(), "missing key {key}");
    }
    let mut ndjson = Vec::new();
    render::render(
        &report,
        OutputFormat::Ndjson,
        options(Section::Findings),
        &mut ndjson,
    )
    .unwrap();
    for line in ndjson.split(|&b| b == b'\n').filter(|l| !l.is_empty()) {
        let v: serde_json::Value = serde_json::from_slice(line).expect("every NDJSON line parses");
        assert!(v.get("type").is_some());
    }
    for section in [
        Section::Users,
        Section::Events,
        Section::Ips,
        Section::Findings,
        Section::Timeline,
    ] {
        let mut csv = Vec::new();
        render::render(&report, OutputFormat::Csv, options(section), &mut csv).unwrap();
        assert!(
            !csv.iter().any(|&b| b < 0x20 && b != b'\n' && b != b'"'),
            "CSV lets a control byte through"
        );
    }
    let mut markdown = Vec::new();
    render::render(
        &report,
        OutputFormat::Markdown,
        options(Section::Findings),
        &mut markdown,
    )
    .unwrap();
    let markdown = String::from_utf8(markdown).expect("Markdown output is UTF-8");
    assert!(
        !markdown.contains('<') || !markdown.contains("<script"),
        "Markdown lets markup through"
    );

    let mut html = Vec::new();
    render::render(
        &report,
        OutputFormat::Html,
        options(Section::Findings),
        &mut html,
    )
    .unwrap();
    String::from_utf8(html).expect("HTML output is UTF-8");

    let mut table = Vec::new();
    render::render(
        &report,
        OutputFormat::Table,
        options(Section::Findings),
        &mut table,
    )
    .unwrap();
    let table = String::from_utf8(table).expect("table output is UTF-8");
    for ch in table.chars() {
        assert!(
            ch == '\n' || !(ch.is_control() || is_invisible(ch)),
            "table output lets {ch:?} through"
        );
    }
}

/// Bidi and zero-width characters that must never reach the terminal.
fn is_invisible(c: char) -> bool {
    matches!(c,
        '\u{200B}'..='\u{200F}'
        | '\u{2028}' | '\u{2029}'
        | '\u{202A}'..='\u{202E}'
        | '\u{2060}'..='\u{2064}'
        | '\u{2066}'..='\u{2069}'
        | '\u{FEFF}'
        | '\u{FFF9}'..='\u{FFFB}')
}
