//! Behaviour of the binary that the data-driven cases cannot express:
//! standard input, exit codes with unreadable inputs, closed pipes, help.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command as StdCommand, Stdio};

use assert_cmd::Command;
use predicates::prelude::*;
use serde_json::Value;

fn sample() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/sample.jsonl")
}

fn bin() -> Command {
    Command::cargo_bin("audit-analyze").unwrap()
}

fn json_of(output: &[u8]) -> Value {
    serde_json::from_slice(output).expect("stdout is one JSON document")
}

#[test]
fn stdin_gives_the_same_report_as_the_file() {
    let from_file = bin()
        .args(["report", "--format", "json"])
        .arg(sample())
        .output()
        .unwrap();
    let input = fs::read(sample()).unwrap();
    for args in [
        &["report", "--format", "json"][..],
        &["report", "--format", "json", "-"][..],
    ] {
        let from_stdin = bin()
            .args(args)
            .write_stdin(input.clone())
            .output()
            .unwrap();
        assert!(from_stdin.status.success());
        let (mut a, mut b) = (json_of(&from_file.stdout), json_of(&from_stdin.stdout));
        assert_eq!(b["summary"]["files"][0]["path"], "<stdin>");
        assert_eq!(b["summary"]["files"][0]["format"], "generic");
        for v in [&mut a, &mut b] {
            v["summary"]["files"][0]["path"] = Value::Null;
            v["summary"]["formats"] = Value::Null;
        }
        assert_eq!(a, b);
        // Malformed lines on stdin are named after it.
        assert!(String::from_utf8_lossy(&from_stdin.stderr).contains("<stdin>:86: invalid JSON"));
    }
}

#[test]
fn files_and_stdin_mix_in_the_order_given() {
    let dir = tempfile::tempdir().unwrap();
    let a = dir.path().join("a.jsonl");
    fs::write(&a, "{\"user\":\"a\",\"ts\":1}\n").unwrap();
    let out = bin()
        .args(["report", "--format", "json"])
        .arg(&a)
        .arg("-")
        .arg(&a)
        .write_stdin("{\"user\":\"b\",\"ts\":2}\nbad\n")
        .output()
        .unwrap();
    let v = json_of(&out.stdout);
    let files: Vec<&str> = v["summary"]["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["path"].as_str().unwrap())
        .collect();
    assert_eq!(files, [a.to_str().unwrap(), "<stdin>", a.to_str().unwrap()]);
    assert_eq!(v["summary"]["records"], 3);
    assert_eq!(v["summary"]["files"][1]["records"], 1);
    assert_eq!(v["summary"]["files"][1]["malformed"], 1);
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "<stdin>:2: not JSON (plain text)\n"
    );
}

#[test]
fn table_output_has_summary_tables_and_findings() {
    let out = bin().arg("report").arg(sample()).assert().success();
    let text = String::from_utf8(out.get_output().stdout.clone()).unwrap();
    for expected in [
        "Records:   439 (96 failures, 1 untimed); skipped lines: 3 malformed, 1 blank",
        "Time span: 2023-09-22T08:00:01.123Z → 2023-09-22T10:56:32.534Z",
        "Users (14)",
        "Events (21)",
        "… 1 more events (--top 0 shows all)",
        "Sources (20)",
        "Timeline, 5m buckets (36)",
        "Findings (6)",
        "│ unknown_user_burst     ┆ 45.80.235.53  ┆    14 ┆ 2023-09-22 09:12:04 ┆",
        "│ critical               ┆               ┆       ┆ → 09:14:21          ┆",
        "│ unknown_user_burst     ┆ 185.220.101.7 ┆     7 ┆ 2023-09-22 10:21:10 ┆",
        "│ brute_force            ┆ bob           ┆    12 ┆ 2023-09-22 09:40:05 ┆",
        "│ mallory      ┆    18 ┆       13 ┆  72.2% ┆",
    ] {
        assert!(text.contains(expected), "missing {expected:?} in\n{text}");
    }
    for line in text.lines() {
        assert!(
            line.chars().count() <= 100,
            "wider than 100 columns: {line}"
        );
    }
}

#[test]
fn top_trims_every_table_and_zero_shows_all() {
    let out = bin()
        .args(["report", "--top", "2"])
        .arg(sample())
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("… 12 more users (--top 0 shows all)"));
    assert!(text.contains("… 19 more events (--top 0 shows all)"));
    let all = String::from_utf8(
        bin()
            .args(["report", "--top", "0"])
            .arg(sample())
            .output()
            .unwrap()
            .stdout,
    )
    .unwrap();
    assert!(!all.contains("more users"));
    assert!(all.contains("GET /api/admin/config"));
}

#[test]
fn log_values_cannot_drive_the_terminal() {
    let line = "{\"user\":\"\\u001b[31mred\\u001b]8;;x\\u0007\",\"path\":\"/a\\u202e\\u200bb\",\"ip\":\"\\r1.2.3.4\"}\n";
    let out = bin().args(["report"]).write_stdin(line).output().unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(!text.chars().any(|c| c == '\u{1b}'
        || c == '\u{7}'
        || c == '\u{202e}'
        || c == '\u{200b}'
        || c == '\r'));
    assert!(text.contains("\\u{1b}[31mred\\u{1b}]8;;x\\u{7}"), "{text}");
    assert!(text.contains("/a\\u{202e}\\u{200b}b"), "{text}");
    // JSON keeps the exact value; its escaping is the protection there.
    let json = bin()
        .args(["report", "--format", "json"])
        .write_stdin(line)
        .output()
        .unwrap();
    assert_eq!(
        json_of(&json.stdout)["users"][0]["user"],
        "\u{1b}[31mred\u{1b}]8;;x\u{7}"
    );
}

#[test]
fn malformed_lines_are_listed_ten_then_counted() {
    let input: String =
        (0..15).map(|i| format!("bad {i}\n")).collect::<String>() + "{\"user\":\"ok\"}\n";
    let out = bin()
        .args(["report", "--format", "json"])
        .write_stdin(input)
        .output()
        .unwrap();
    assert!(out.status.success());
    let err = String::from_utf8(out.stderr).unwrap();
    let lines: Vec<&str> = err.lines().collect();
    assert_eq!(lines.len(), 11, "{err}");
    assert_eq!(lines[0], "<stdin>:1: not JSON (plain text)");
    assert_eq!(lines[9], "<stdin>:10: not JSON (plain text)");
    assert_eq!(
        lines[10],
        "… and 5 more malformed lines (the first 10 are shown)"
    );
    let v = json_of(&out.stdout);
    assert_eq!(
        (
            v["summary"]["malformed"].as_u64(),
            v["summary"]["records"].as_u64()
        ),
        (Some(15), Some(1))
    );
}

#[test]
fn exit_0_on_success_and_strict_without_malformed_lines() {
    bin()
        .args(["report", "--strict"])
        .write_stdin("{\"user\":\"a\"}\n")
        .assert()
        .code(0);
}

#[test]
fn exit_3_with_strict_and_malformed_lines_after_the_report() {
    bin()
        .args(["report", "--strict", "--format", "json"])
        .arg(sample())
        .assert()
        .code(3)
        .stdout(predicate::str::contains("\"malformed\": 3"));
    bin().args(["report"]).arg(sample()).assert().code(0);
}

#[test]
fn exit_2_on_a_missing_file_names_it_and_still_reports_the_others() {
    let out = bin()
        .args(["report", "--format", "json", "no/such/file.jsonl"])
        .arg(sample())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(
        err.contains("audit-analyze: error: no/such/file.jsonl: No such file or directory"),
        "{err}"
    );
    assert_eq!(json_of(&out.stdout)["summary"]["records"], 439);
}

#[test]
fn a_directory_is_read_recursively_in_path_order() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    fs::create_dir_all(d.join("sub")).unwrap();
    fs::write(d.join("b.log"), "{\"user\":\"b\",\"ts\":2}\n").unwrap();
    fs::write(d.join("a.jsonl"), "{\"user\":\"a\",\"ts\":1}\n").unwrap();
    fs::write(d.join("sub/c.ndjson.1"), "{\"user\":\"c\",\"ts\":3}\n").unwrap();
    fs::write(d.join("notes.txt"), "not a log\n").unwrap();
    fs::write(d.join("sub/README"), "not a log\n").unwrap();
    let out = bin()
        .args(["report", "--format", "json"])
        .arg(d)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let v = json_of(&out.stdout);
    let files: Vec<String> = v["summary"]["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["path"].as_str().unwrap().to_string())
        .collect();
    let name = |p: &str| d.join(p).display().to_string();
    assert_eq!(
        files,
        [name("a.jsonl"), name("b.log"), name("sub/c.ndjson.1")]
    );
    assert_eq!(v["summary"]["skipped_files"], 2);
    assert_eq!(v["summary"]["records"], 3);
}

#[test]
fn exit_2_on_usage_errors() {
    bin().args(["report", "--threshold", "0"]).assert().code(2);
    bin().args(["report", "--window", "soon"]).assert().code(2);
    bin().args(["report", "--format", "xml"]).assert().code(2);
    bin().args(["report", "--no-such-flag"]).assert().code(2);
    bin().assert().code(2);
}

#[test]
fn closed_pipe_ends_quietly() {
    // Enough output that the writer is still going when the reader is gone.
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("many.jsonl");
    let mut f = fs::File::create(&log).unwrap();
    for i in 0..50_000 {
        writeln!(f, "{{\"user\":\"user{i}\",\"path\":\"/p/{i}x\"}}").unwrap();
    }
    drop(f);
    for format in ["json", "table"] {
        let mut child = StdCommand::new(assert_cmd::cargo::cargo_bin("audit-analyze"))
            .args(["report", "--top", "0", "--format", format])
            .arg(&log)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        drop(child.stdout.take());
        let out = child.wait_with_output().unwrap();
        assert_eq!(out.status.code(), Some(0), "{format}");
        assert_eq!(String::from_utf8_lossy(&out.stderr), "", "{format}");
    }
}

#[test]
fn help_lists_subcommands_examples_and_exit_codes() {
    bin()
        .arg("--help")
        .assert()
        .success()
        .stdout(predicate::str::contains("report").and(predicate::str::contains("Exit status")));
    bin().args(["report", "--help"]).assert().success().stdout(
        predicate::str::contains("Examples:")
            .and(predicate::str::contains("--threshold"))
            .and(predicate::str::contains("3  --strict")),
    );
    bin()
        .arg("--version")
        .assert()
        .success()
        .stdout(predicate::str::starts_with("audit-analyze "));
}

#[test]
fn ndjson_lines_each_parse_and_carry_a_type() {
    let out = bin()
        .args(["report", "--format", "ndjson"])
        .arg(sample())
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    let mut kinds = std::collections::BTreeMap::new();
    for line in text.lines() {
        let v: Value = serde_json::from_str(line).unwrap();
        *kinds
            .entry(v["type"].as_str().unwrap().to_string())
            .or_insert(0) += 1;
    }
    let json = json_of(
        &bin()
            .args(["report", "--format", "json"])
            .arg(sample())
            .output()
            .unwrap()
            .stdout,
    );
    let len = |k: &str| json[k].as_array().unwrap().len();
    assert_eq!(kinds["summary"], 1);
    assert_eq!(kinds["user"], len("users"));
    assert_eq!(kinds["event"], len("events"));
    assert_eq!(kinds["ip"], len("ips"));
    assert_eq!(kinds["finding"], len("findings"));
    assert_eq!(
        kinds["bucket"],
        json["timeline"]["buckets"].as_array().unwrap().len()
    );
}

#[test]
fn csv_parses_back_to_the_json_numbers() {
    let out = bin()
        .args(["report", "--format", "csv", "--section", "users"])
        .arg(sample())
        .output()
        .unwrap();
    let mut reader = csv::Reader::from_reader(&out.stdout[..]);
    let rows: Vec<csv::StringRecord> = reader.records().map(|r| r.unwrap()).collect();
    let json = json_of(
        &bin()
            .args(["report", "--format", "json"])
            .arg(sample())
            .output()
            .unwrap()
            .stdout,
    );
    let users = json["users"].as_array().unwrap();
    assert_eq!(rows.len(), users.len());
    for (row, user) in rows.iter().zip(users) {
        // The user "-" is defused to "'-" for spreadsheets.
        let name = user["user"].as_str().unwrap();
        assert_eq!(row[0].trim_start_matches('\''), name);
        assert_eq!(
            row[1].parse::<u64>().unwrap(),
            user["total"].as_u64().unwrap()
        );
        assert_eq!(
            row[2].parse::<u64>().unwrap(),
            user["failures"].as_u64().unwrap()
        );
    }
}

#[test]
fn fail_on_gates_only_at_or_above_the_level() {
    let high_only = "{\"ts\":1,\"user\":\"unknown_user\",\"ip\":\"a\"}\n".repeat(5);
    bin()
        .args(["report", "--fail-on", "critical"])
        .write_stdin(high_only.clone())
        .assert()
        .code(0);
    bin()
        .args(["report", "--fail-on", "high"])
        .write_stdin(high_only.clone())
        .assert()
        .code(1);
    bin()
        .args(["report", "--fail-on", "low"])
        .write_stdin(high_only.clone())
        .assert()
        .code(1);
    bin()
        .args(["report"])
        .write_stdin(high_only.clone())
        .assert()
        .code(0);
    // Malformed lines with --strict win over findings.
    bin()
        .args(["report", "--fail-on", "low", "--strict"])
        .write_stdin(high_only + "oops\n")
        .assert()
        .code(3);
}

#[test]
fn relative_since_reads_stdin_twice_like_a_file() {
    let from_file = bin()
        .args(["report", "--format", "json", "--since", "30m"])
        .arg(sample())
        .output()
        .unwrap();
    let from_stdin = bin()
        .args(["report", "--format", "json", "--since", "30m"])
        .write_stdin(fs::read(sample()).unwrap())
        .output()
        .unwrap();
    let (mut a, mut b) = (json_of(&from_file.stdout), json_of(&from_stdin.stdout));
    assert_eq!(a["summary"]["range"]["since"], "2023-09-22T10:26:32.534Z");
    for v in [&mut a, &mut b] {
        v["summary"]["files"] = Value::Null;
        v["summary"]["formats"] = Value::Null;
    }
    assert_eq!(a, b);
    assert!(a["summary"]["filtered_out"].as_u64().unwrap() > 300);
}

#[test]
fn rules_lists_every_rule() {
    let out = bin().arg("rules").output().unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    for name in [
        "unknown_user_burst",
        "brute_force",
        "password_spray",
        "success_after_failures",
        "access_denied_burst",
    ] {
        assert!(text.contains(name), "{text}");
    }
    assert!(text.contains("threshold 10, window 10m"));
}

/// A few MB of log with bursts, malformed lines and ties spread over many
/// 1 MiB blocks, so the parallel path really splits them.
fn generated_log(dir: &Path) -> PathBuf {
    let path = dir.join("gen.jsonl");
    let mut f = std::io::BufWriter::new(fs::File::create(&path).unwrap());
    let mut x: u64 = 7;
    for i in 0..40_000u64 {
        x = x
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        let r = x >> 33;
        let second = i / 7; // several lines share each second: ties
        let ts = format!(
            "2023-09-22T{:02}:{:02}:{:02}Z",
            8 + second / 3600,
            second / 60 % 60,
            second % 60
        );
        match r % 50 {
            0 => writeln!(f, "not json {i}").unwrap(),
            1..=6 => writeln!(
                f,
                "{{\"ts\":\"{ts}\",\"user_id\":\"unknown_user\",\"ip\":\"45.0.0.{}\",\"path\":\"/api/x/{i}\",\"status\":401}}",
                r % 3
            )
            .unwrap(),
            7..=9 => writeln!(
                f,
                "{{\"ts\":\"{ts}\",\"user_id\":\"user{}\",\"ip\":\"10.0.0.{}\",\"event_type\":\"auth.login\",\"outcome\":\"failure\"}}",
                r % 4,
                r % 5
            )
            .unwrap(),
            _ => writeln!(
                f,
                "{{\"ts\":\"{ts}\",\"user_id\":\"user{}\",\"ip\":\"10.0.0.{}\",\"method\":\"GET\",\"path\":\"/api/orders/{i}\",\"status\":{}}}",
                r % 40,
                r % 9,
                if r.is_multiple_of(13) { 403 } else { 200 }
            )
            .unwrap(),
        }
    }
    path
}

#[test]
fn parallel_output_is_byte_identical_to_sequential() {
    let dir = tempfile::tempdir().unwrap();
    let generated = generated_log(dir.path());
    assert!(fs::metadata(&generated).unwrap().len() > 3 << 20);
    for input in [sample(), generated] {
        for format in ["json", "table", "ndjson"] {
            let run = |threads: &str| {
                let out = bin()
                    .args([
                        "report",
                        "--top",
                        "0",
                        "--format",
                        format,
                        "--threads",
                        threads,
                    ])
                    .arg(&input)
                    .output()
                    .unwrap();
                (out.stdout, out.stderr, out.status.code())
            };
            let sequential = run("1");
            assert!(!sequential.0.is_empty());
            for threads in ["2", "3", "8"] {
                assert!(
                    run(threads) == sequential,
                    "{format} with {threads} threads differs on {}",
                    input.display()
                );
            }
        }
    }
}
