//! The adversarial corpus (issue 6): hostile and broken input, each with
//! its expected outcome.
//!
//! Small inputs live in `testdata/adversarial/`, one folder per case in the
//! format of `testdata/cases/`, run by `tests/cases.rs` (`BLESS=1 cargo
//! test --test cases` rewrites the expected files for review). Inputs too
//! large to commit (a 10 MB line, 100 000 levels of nesting, a million
//! users) are generated here.

use std::fs;
use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use assert_cmd::Command;
use serde_json::Value;

use audit_analyze::analyze::FinishSettings;
use audit_analyze::filter::FilterSpec;
use audit_analyze::parse::UnknownUsers;
use audit_analyze::pipeline;
use audit_analyze::pipeline::{Formats, Outcome};

fn corpus_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/adversarial")
}

fn bin() -> Command {
    Command::cargo_bin("audit-analyze").unwrap()
}

fn json_of(output: &[u8]) -> Value {
    serde_json::from_slice(output).expect("stdout is one JSON document")
}

/// Table output must never carry a control, bidi or zero-width character
/// from a log (only the newlines the table itself writes).
fn assert_terminal_safe(text: &str) {
    for c in text.chars() {
        let invisible = matches!(c,
            '\u{200B}'..='\u{200F}' | '\u{2028}' | '\u{2029}' | '\u{202A}'..='\u{202E}'
            | '\u{2060}'..='\u{2064}' | '\u{2066}'..='\u{2069}' | '\u{FEFF}');
        assert!(
            c == '\n' || !(c.is_control() || invisible),
            "table output carries {c:?}"
        );
    }
}

#[test]
fn hostile_values_never_reach_the_terminal_raw_and_json_keeps_them_exact() {
    let dir = corpus_dir().join("hostile-values-table");
    let table = bin()
        .current_dir(&dir)
        .args(["report", "--top", "0", "input.jsonl"])
        .output()
        .unwrap();
    let stdout = String::from_utf8(table.stdout).unwrap();
    assert_terminal_safe(&stdout);
    assert_terminal_safe(&String::from_utf8(table.stderr).unwrap());
    for escaped in [
        r"\u{1b}[31mroot",
        r"\u{202e}",
        r"\u{200b}",
        r"\u{2066}",
        r"\u{2067}rtl\u{2069}",
        r"\u{1b}[2J",
        r"\u{202a}",
    ] {
        assert!(stdout.contains(escaped), "table lacks {escaped}:\n{stdout}");
    }
    // A value cannot add a row of its own.
    assert!(!stdout.lines().any(|l| l.starts_with("FAKE ROW")));

    let json = bin()
        .current_dir(&dir)
        .args(["report", "--format", "json", "input.jsonl"])
        .output()
        .unwrap();
    let doc = json_of(&json.stdout);
    let users: Vec<&str> = doc["users"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["user"].as_str().unwrap())
        .collect();
    assert!(users.contains(&"\u{1b}[31mroot\u{1b}[0m"));
    assert!(users.contains(&"adm\u{200b}in"));
    assert_eq!(doc["findings"][0]["ip"], "\u{1b}[2J");
}

#[test]
fn a_10_mb_line_is_read_whole_under_the_default_limit() {
    let big = "a".repeat(10 * 1024 * 1024);
    let mut input = format!(r#"{{"user":"big","agent":"{big}"}}"#).into_bytes();
    input.push(b'\n');
    input.extend_from_slice(big.as_bytes()); // 10 MB of garbage, unterminated
    input.extend_from_slice(b"\n{\"user\":\"after\"}\n");
    let output = bin()
        .args(["report", "--format", "json"])
        .write_stdin(input)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0));
    let doc = json_of(&output.stdout);
    assert_eq!(doc["summary"]["records"], 2);
    assert_eq!(doc["summary"]["malformed"], 1);
    assert_eq!(
        String::from_utf8(output.stderr).unwrap(),
        "<stdin>:2: not JSON (plain text)\n"
    );
}

/// An endless-looking line: `len` bytes of `x`, handed out as asked, that
/// remembers the largest buffer it was asked to fill.
struct LongLine {
    left: usize,
    largest_read: Arc<AtomicUsize>,
    tail: &'static [u8],
}

impl Read for LongLine {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.largest_read.fetch_max(buf.len(), Ordering::Relaxed);
        if self.left == 0 {
            let n = self.tail.len().min(buf.len());
            buf[..n].copy_from_slice(&self.tail[..n]);
            self.tail = &self.tail[n..];
            return Ok(n);
        }
        let n = self.left.min(buf.len());
        buf[..n].fill(b'x');
        self.left -= n;
        Ok(n)
    }
}

/// Reads one in-memory input through the whole pipeline.
fn analyze_one(reader: impl Read + Send + 'static, max_line_bytes: usize) -> Outcome {
    pipeline::analyze_readers(
        vec![("input".to_string(), Box::new(reader))],
        &Formats::generic(UnknownUsers::new(Vec::new())),
        &FilterSpec::default(),
        pipeline::Reading {
            threads: 1,
            max_line_bytes,
            keep_successes: true,
        },
    )
}

#[test]
fn a_line_over_max_line_bytes_is_malformed_and_never_buffered_whole() {
    let limit = 1024 * 1024;
    let largest_read = Arc::new(AtomicUsize::new(0));
    let reader = LongLine {
        left: 48 * 1024 * 1024,
        largest_read: Arc::clone(&largest_read),
        tail: b"\n{\"user\":\"after\"}\n",
    };
    let outcome = analyze_one(reader, limit);
    assert!(outcome.errors.is_empty());
    let analyzer = outcome.analyzer;
    // No read asked for more than a block, whatever the line's length.
    let largest = largest_read.load(Ordering::Relaxed);
    assert!(largest <= limit + 1, "read into {largest} bytes");
    let malformed = analyzer.malformed_lines();
    assert_eq!(malformed.len(), 1);
    assert_eq!(malformed[0].position.line, 1);
    assert_eq!(
        malformed[0].reason.to_string(),
        "line too long (over 1048576 bytes)"
    );
    let report = analyzer.finish(Vec::new(), 0, &rule()).unwrap();
    assert_eq!(report.summary.records, 1);
    assert_eq!(report.users[0].user, "after");
}

#[test]
fn max_line_bytes_on_the_command_line() {
    let line = format!(
        "{{\"user\":\"{}\"}}\n{{\"user\":\"ok\"}}\n",
        "x".repeat(100)
    );
    let output = bin()
        .args(["report", "--max-line-bytes", "50", "--format", "json"])
        .write_stdin(line)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0));
    assert_eq!(
        String::from_utf8(output.stderr).unwrap(),
        "<stdin>:1: line too long (over 50 bytes)\n"
    );
    assert_eq!(json_of(&output.stdout)["summary"]["records"], 1);
    bin()
        .args(["report", "--max-line-bytes", "0"])
        .assert()
        .code(2);
}

#[test]
fn nesting_100_000_levels_deep_is_an_error_for_that_line_not_a_crash() {
    let n = 100_000;
    let lines = [
        format!(r#"{{"user":"a","x":{}{}}}"#, "[".repeat(n), "]".repeat(n)),
        format!("{}{}", "[".repeat(n), "]".repeat(n)),
        format!("{}1{}", r#"{"a":"#.repeat(n), "}".repeat(n)),
        format!(r#"{{"user":{}"#, "[".repeat(n)),
        r#"{"user":"after"}"#.to_string(),
    ];
    let output = bin()
        .args(["report", "--format", "json"])
        .write_stdin(lines.join("\n"))
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0));
    let doc = json_of(&output.stdout);
    assert_eq!(doc["summary"]["records"], 1);
    assert_eq!(doc["summary"]["malformed"], 4);
    let stderr = String::from_utf8(output.stderr).unwrap();
    for line in 1..=4 {
        assert!(
            stderr.contains(&format!(
                "<stdin>:{line}: invalid JSON: nested deeper than 128 levels\n"
            )),
            "{stderr}"
        );
    }
}

#[test]
fn a_million_distinct_users_are_all_counted_and_top_trims_the_table() {
    let n = 1_000_000;
    let mut input = String::with_capacity(n * 24);
    for i in 0..n {
        input.push_str(&format!("{{\"user\":\"u{i:07}\"}}\n"));
    }
    input.push_str("{\"user\":\"u0999999\",\"status\":500}\n");

    // The library: every user, in order (total desc, then name).
    let outcome = analyze_one(io::Cursor::new(input.clone().into_bytes()), 1 << 20);
    let report = outcome.analyzer.finish(outcome.files, 0, &rule()).unwrap();
    assert_eq!(report.summary.records, n as u64 + 1);
    assert_eq!(report.users.len(), n);
    assert_eq!(report.users[0].user, "u0999999");
    assert_eq!(report.users[0].total, 2);
    assert_eq!(report.users[1].user, "u0000000");
    assert_eq!(report.users[n - 1].user, "u0999998");

    // The binary: the table shows the top rows and says how many are left.
    let output = bin()
        .args(["report", "--top", "3"])
        .write_stdin(input)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0));
    let table = String::from_utf8(output.stdout).unwrap();
    assert!(table.contains("Users (1000000)"), "{table}");
    assert!(table.contains("… 999997 more users (--top 0 shows all)"));
    assert!(table.contains("u0999999"));
    assert!(table.contains("u0000001"));
    assert!(!table.contains("u0000002"));
    assert!(table.lines().count() < 40, "{table}");
}

fn rule() -> FinishSettings {
    FinishSettings::default()
}

/// A reader that fails after handing out `ok`.
struct FailsAfter {
    ok: &'static [u8],
}

impl Read for FailsAfter {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.ok.is_empty() {
            return Err(io::Error::other("device error"));
        }
        let n = self.ok.len().min(buf.len());
        buf[..n].copy_from_slice(&self.ok[..n]);
        self.ok = &self.ok[n..];
        Ok(n)
    }
}

#[test]
fn a_read_error_keeps_the_lines_before_it_and_names_the_line() {
    let reader = FailsAfter {
        ok: b"{\"user\":\"a\"}\n{\"user\":\"b\"}\n{\"user\":\"c\",\"st",
    };
    let outcome = analyze_one(reader, 1 << 20);
    assert_eq!(outcome.errors.len(), 1);
    assert_eq!(
        outcome.errors[0].to_string(),
        "input:3: read error: device error"
    );
    let report = outcome.analyzer.finish(outcome.files, 0, &rule()).unwrap();
    assert_eq!(report.summary.records, 2);
}

/// Says on the real standard error (not the captured one) that a test
/// could not check what it is for, so a skip never passes silently.
fn skipped(test: &str, why: &str) {
    use std::io::Write;
    let _ = writeln!(io::stderr(), "SKIPPED {test}: {why}");
}

#[test]
fn an_unreadable_file_is_reported_and_the_others_still_analysed() {
    use std::os::unix::fs::PermissionsExt;

    let dir = tempfile::tempdir().unwrap();
    fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o755)).unwrap();
    let secret = dir.path().join("secret.jsonl");
    fs::write(&secret, "{\"user\":\"hidden\"}\n").unwrap();
    fs::set_permissions(&secret, fs::Permissions::from_mode(0o000)).unwrap();
    let good = dir.path().join("good.jsonl");
    fs::write(&good, "{\"user\":\"seen\"}\n").unwrap();

    let binary = assert_cmd::cargo::cargo_bin("audit-analyze");
    let mut cmd = if fs::File::open(&secret).is_err() {
        std::process::Command::new(&binary)
    } else if Path::new("/usr/bin/setpriv").exists() {
        // Root reads regardless of permission bits: run as nobody instead.
        let mut cmd = std::process::Command::new("/usr/bin/setpriv");
        cmd.args(["--reuid=65534", "--regid=65534", "--clear-groups"])
            .arg(&binary);
        cmd
    } else {
        skipped(
            "an_unreadable_file_is_reported_and_the_others_still_analysed",
            "this process reads files with mode 000 (root?) and has no setpriv to drop that",
        );
        return;
    };
    let output = cmd
        .args(["report", "--format", "json"])
        .arg(&secret)
        .arg(&good)
        .output()
        .unwrap();
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("secret.jsonl: Permission denied (os error 13)"),
        "{stderr}"
    );
    assert_eq!(json_of(&output.stdout)["users"][0]["user"], "seen");
}

#[test]
fn a_full_disk_is_a_clear_error_and_exit_2() {
    let Ok(full) = fs::OpenOptions::new().write(true).open("/dev/full") else {
        skipped(
            "a_full_disk_is_a_clear_error_and_exit_2",
            "no /dev/full here",
        );
        return;
    };
    let sample = Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/sample.jsonl");
    for format in ["table", "json"] {
        let output = std::process::Command::new(assert_cmd::cargo::cargo_bin("audit-analyze"))
            .args(["report", "--format", format])
            .arg(&sample)
            .stdout(Stdio::from(full.try_clone().unwrap()))
            .output()
            .unwrap();
        assert_eq!(output.status.code(), Some(2), "{format}");
        let stderr = String::from_utf8(output.stderr).unwrap();
        assert!(
            stderr.ends_with(
                "audit-analyze: error: writing the report: No space left on device (os error 28)\n"
            ),
            "{format}: {stderr}"
        );
        assert!(!stderr.contains("panicked"));
    }
}

#[test]
fn one_failure_in_three_is_33_3_percent_end_to_end() {
    let dir = corpus_dir().join("percent");
    let output = bin()
        .current_dir(&dir)
        .args(["report", "input.jsonl"])
        .output()
        .unwrap();
    let table = String::from_utf8(output.stdout).unwrap();
    let row = |user: &str| {
        table
            .lines()
            .find(|l| l.contains(user))
            .unwrap_or_else(|| panic!("no row for {user}:\n{table}"))
            .to_string()
    };
    assert!(row("│ third ").contains(" 33.3% "), "{table}");
    assert!(row("│ two-thirds ").contains(" 66.7% "), "{table}");
}
