//! Data-driven end-to-end cases: each folder in `testdata/cases/` (and in
//! the adversarial corpus, `testdata/adversarial/`) holds the
//! arguments (`args`, one per line), its input files, optionally `stdin`,
//! and the expected `expected.stdout`, `expected.stderr` and `expected.exit`
//! of running `audit-analyze` in that folder. A new case needs no Rust.
//!
//! Every case runs with `SOURCE_DATE_EPOCH=1695384000` (2023-09-22T12:00:00Z),
//! so reports that show when they were generated stay reproducible.
//!
//! `BLESS=1 cargo test --test cases` rewrites the expected files from the
//! current binary; review the diff before committing it.

use std::fs;
use std::path::{Path, PathBuf};

use assert_cmd::Command;

fn cases_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/cases")
}

fn adversarial_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/adversarial")
}

/// The case folders under `root`, sorted.
fn case_dirs(root: &Path) -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = fs::read_dir(root)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.join("args").is_file())
        .collect();
    dirs.sort();
    dirs
}

struct Run {
    stdout: Vec<u8>,
    stderr: Vec<u8>,
    exit: i32,
}

fn run_case(dir: &Path) -> Run {
    let args_text = fs::read_to_string(dir.join("args")).expect("every case has an args file");
    let args: Vec<&str> = args_text.lines().filter(|l| !l.is_empty()).collect();
    let mut cmd = Command::cargo_bin("audit-analyze").unwrap();
    // A fixed "generated" time, so HTML reports are reproducible.
    cmd.current_dir(dir)
        .args(&args)
        .env("SOURCE_DATE_EPOCH", "1695384000");
    let stdin_path = dir.join("stdin");
    cmd.write_stdin(fs::read(&stdin_path).unwrap_or_default());
    let output = cmd.output().unwrap();
    Run {
        stdout: output.stdout,
        stderr: output.stderr,
        exit: output.status.code().unwrap_or(-1),
    }
}

#[test]
fn every_case_matches_its_expected_output() {
    let bless = std::env::var_os("BLESS").is_some();
    let cases = case_dirs(&cases_dir());
    let adversarial = case_dirs(&adversarial_dir());
    assert!(cases.len() >= 10, "the cases folder lost its cases");
    assert!(
        adversarial.len() >= 15,
        "the adversarial corpus lost its cases"
    );
    let dirs: Vec<PathBuf> = cases.into_iter().chain(adversarial).collect();

    let mut failures = Vec::new();
    for dir in &dirs {
        let name = dir.file_name().unwrap().to_string_lossy().into_owned();
        let run = run_case(dir);
        let exit = format!("{}\n", run.exit);
        let actual: [(&str, &[u8]); 3] = [
            ("expected.stdout", &run.stdout),
            ("expected.stderr", &run.stderr),
            ("expected.exit", exit.as_bytes()),
        ];
        for (file, bytes) in actual {
            let path = dir.join(file);
            if bless {
                fs::write(&path, bytes).unwrap();
                continue;
            }
            let expected = fs::read(&path)
                .unwrap_or_else(|_| panic!("{name}: missing {file} (run with BLESS=1)"));
            if expected != bytes {
                failures.push(format!(
                    "{name}/{file} differs\n--- expected\n{}\n--- actual\n{}",
                    String::from_utf8_lossy(&expected),
                    String::from_utf8_lossy(bytes)
                ));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

#[test]
fn json_cases_parse_back_with_every_required_key() {
    for dir in case_dirs(&cases_dir())
        .into_iter()
        .chain(case_dirs(&adversarial_dir()))
    {
        let Ok(stdout) = fs::read(dir.join("expected.stdout")) else {
            continue;
        };
        // Only the single-document JSON format; ndjson lines are checked in tests/cli.rs.
        if !stdout.starts_with(b"{\n") {
            continue;
        }
        let v: serde_json::Value = serde_json::from_slice(&stdout).unwrap();
        assert_eq!(v["schema_version"], 1);
        for key in [
            "files",
            "formats",
            "records",
            "malformed",
            "blank",
            "skipped",
            "skipped_files",
            "untimed",
            "first",
            "last",
        ] {
            assert!(
                v["summary"].get(key).is_some(),
                "{}: summary.{key}",
                dir.display()
            );
        }
        for f in v["summary"]["files"].as_array().unwrap() {
            for key in [
                "path",
                "format",
                "compression",
                "records",
                "malformed",
                "skipped",
                "blank",
                "unmatched",
            ] {
                assert!(f.get(key).is_some(), "{}: files[].{key}", dir.display());
            }
        }
        for u in v["users"].as_array().unwrap() {
            for key in [
                "user",
                "total",
                "failures",
                "first_seen",
                "last_seen",
                "events",
            ] {
                assert!(u.get(key).is_some(), "{}: users[].{key}", dir.display());
            }
        }
        for e in v["events"].as_array().unwrap() {
            for key in ["event", "total", "failures", "users"] {
                assert!(e.get(key).is_some(), "{}: events[].{key}", dir.display());
            }
        }
        for f in v["findings"].as_array().unwrap() {
            for key in [
                "rule", "severity", "ip", "count", "first", "last", "targets",
            ] {
                assert!(f.get(key).is_some(), "{}: findings[].{key}", dir.display());
            }
        }
    }
}
