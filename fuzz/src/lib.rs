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

use audit_analyze::analyze::Analyzer;
use audit_analyze::cli::OutputFormat;
use audit_analyze::detect::BurstRule;
use audit_analyze::parse::{FieldMap, Parser, UnknownUsers};
use audit_analyze::pipeline;
use audit_analyze::render::{self, RenderOptions};

/// Hands out at most `step` bytes per read.
struct Trickle<'a> {
    data: &'a [u8],
    step: usize,
}

impl Read for Trickle<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.data.len().min(self.step).min(buf.len());
        buf[..n].copy_from_slice(&self.data[..n]);
        self.data = &self.data[n..];
        Ok(n)
    }
}

/// Runs one input through the pipeline and checks the invariants; panics
/// when one breaks.
pub fn run(data: &[u8]) {
    let [a, b, c, rest @ ..] = data else {
        return;
    };
    let threshold = 1 + usize::from(a & 7);
    let window =
        Duration::from_secs([0, 1, 60, 600, 3600, 86_400, 1 << 40, u64::MAX][usize::from(a >> 5)]);
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
    let parser = Parser::new(&FieldMap::generic(), unknown.clone());

    let mut analyzer = Analyzer::new();
    let mut files = Vec::new();
    let chunk = rest.len().div_ceil(inputs).max(1);
    for (i, part) in rest.chunks(chunk).enumerate() {
        let reader = Trickle { data: part, step };
        pipeline::analyze_reader(reader, i as u32, max_line, &parser, &mut analyzer)
            .expect("reading from memory cannot fail");
        files.push(format!("input{i}"));
    }
    let report = analyzer.finish(files, BurstRule { threshold, window }, unknown.names());

    let users: u64 = report.users.iter().map(|u| u.total).sum();
    let events: u64 = report.events.iter().map(|e| e.total).sum();
    let failures: u64 = report.users.iter().map(|u| u.failures).sum();
    assert_eq!(users, report.summary.records);
    assert_eq!(events, report.summary.records);
    assert_eq!(failures, report.summary.failures);
    for f in &report.findings {
        assert!(f.count >= threshold as u64);
        assert!(f.first <= f.last);
    }

    let mut json = Vec::new();
    render::render(
        &report,
        OutputFormat::Json,
        RenderOptions { top },
        &mut json,
    )
    .unwrap();
    let doc: serde_json::Value = serde_json::from_slice(&json).expect("JSON output parses");
    for key in [
        "schema_version",
        "summary",
        "users",
        "events",
        "findings",
        "rules",
    ] {
        assert!(doc.get(key).is_some(), "missing key {key}");
    }

    let mut table = Vec::new();
    render::render(
        &report,
        OutputFormat::Table,
        RenderOptions { top },
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
