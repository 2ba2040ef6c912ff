//! The conventions users expect of a CLI: shell completions, a man page,
//! `--output FILE` written atomically, `--color`, and the JSON Schema of
//! the report (checked in, and every JSON report of the cases valid).

use std::fs;
use std::path::{Path, PathBuf};

use assert_cmd::Command;
use serde_json::Value;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn sample() -> PathBuf {
    root().join("testdata/sample.jsonl")
}

fn bin() -> Command {
    let mut cmd = Command::cargo_bin("audit-analyze").unwrap();
    cmd.env_remove("NO_COLOR")
        .env("SOURCE_DATE_EPOCH", "1695384000");
    cmd
}

fn stdout_of(args: &[&str]) -> String {
    let out = bin().args(args).output().unwrap();
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn completions_generate_for_every_shell() {
    for (shell, marker) in [
        ("bash", "complete -F"),
        ("zsh", "#compdef audit-analyze"),
        ("fish", "complete -c audit-analyze"),
        ("powershell", "Register-ArgumentCompleter"),
    ] {
        let script = stdout_of(&["completions", shell]);
        assert!(script.contains(marker), "{shell}: {marker} missing");
        for word in ["report", "format", "output", "color", "schema"] {
            assert!(script.contains(word), "{shell}: {word} missing");
        }
        // Values of --format, where the shell's script lists them.
        if shell != "powershell" {
            assert!(script.contains("html"), "{shell}: html missing");
        }
    }
    assert!(
        bin()
            .args(["completions", "tcsh"])
            .assert()
            .get_output()
            .status
            .code()
            == Some(2)
    );
}

#[test]
fn man_page_generates() {
    let page = stdout_of(&["man"]);
    assert!(page.contains(".TH audit-analyze 1"));
    for word in ["report", "completions", "schema", "\\-\\-color"] {
        assert!(page.contains(word), "{word} missing");
    }
    let report = stdout_of(&["man", "report"]);
    assert!(report.contains(".TH audit-analyze-report 1"));
    for word in [
        "\\-\\-format",
        "html",
        "\\-\\-output",
        "\\-\\-fail\\-on",
        "Exit status",
    ] {
        assert!(report.contains(word), "report page: {word} missing");
    }
}

// ---------------------------------------------------------------------------
// --output

#[test]
fn output_file_holds_exactly_what_stdout_would() {
    let dir = tempfile::tempdir().unwrap();
    for format in ["table", "json", "ndjson", "markdown", "html"] {
        let path = dir.path().join(format!("report.{format}"));
        let expected = stdout_of(&["report", "--format", format, sample().to_str().unwrap()]);
        let out = bin()
            .args(["report", "--format", format, "-o"])
            .arg(&path)
            .arg(sample())
            .output()
            .unwrap();
        assert!(out.status.success());
        assert!(out.stdout.is_empty(), "{format}: nothing on stdout");
        assert_eq!(fs::read_to_string(&path).unwrap(), expected, "{format}");
    }
    // No temporary file is left beside the reports.
    let names: Vec<String> = fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(names.iter().all(|n| n.starts_with("report.")), "{names:?}");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = fs::metadata(dir.path().join("report.html"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o644);
    }
}

#[test]
fn a_failed_run_leaves_the_old_report_alone() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("report.json");
    fs::write(&path, "previous report\n").unwrap();
    // A bad rules file fails before any output.
    let bad_rules = dir.path().join("rules.toml");
    fs::write(&bad_rules, "[brute_force]\nthreshold = 0\n").unwrap();
    bin()
        .args(["report", "--format", "json", "--rules"])
        .arg(&bad_rules)
        .arg("-o")
        .arg(&path)
        .arg(sample())
        .assert()
        .code(2);
    assert_eq!(fs::read_to_string(&path).unwrap(), "previous report\n");
    assert_eq!(
        fs::read_dir(dir.path()).unwrap().count(),
        2,
        "no temporary file left"
    );

    // A directory that does not exist: an error naming the file, no output.
    let missing = dir.path().join("no/such/dir/report.json");
    let out = bin()
        .args(["report", "-o"])
        .arg(&missing)
        .arg(sample())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("report.json"));
    assert!(!missing.exists());
}

// ---------------------------------------------------------------------------
// --color

#[test]
fn severities_are_coloured_only_when_asked() {
    let path = sample();
    let sample = path.to_str().unwrap();
    let plain = stdout_of(&["report", sample]);
    assert!(
        !plain.contains('\u{1b}'),
        "no colour into a pipe by default"
    );
    let coloured = stdout_of(&["report", "--color", "always", sample]);
    assert!(coloured.contains("\u{1b}[1;31mcritical\u{1b}[0m"));
    assert!(coloured.contains("\u{1b}[33mmedium\u{1b}[0m"));
    // Colour changes nothing but the severities.
    let stripped = coloured
        .replace("\u{1b}[1;31m", "")
        .replace("\u{1b}[31m", "")
        .replace("\u{1b}[33m", "")
        .replace("\u{1b}[36m", "")
        .replace("\u{1b}[0m", "");
    assert_eq!(stripped, plain);
    // Only the table format colours.
    let json = stdout_of(&["report", "--format", "json", "--color", "always", sample]);
    assert!(!json.contains('\u{1b}'));
    // NO_COLOR does not override an explicit --color always.
    let out = bin()
        .env("NO_COLOR", "1")
        .args(["report", "--color", "always", sample])
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&out.stdout).contains('\u{1b}'));
}

// ---------------------------------------------------------------------------
// The JSON Schema

fn schema() -> Value {
    serde_json::from_str(&stdout_of(&["schema"])).unwrap()
}

#[test]
fn checked_in_schema_is_the_generated_one() {
    let generated = stdout_of(&["schema"]);
    let checked_in = fs::read_to_string(root().join("docs/report.schema.json")).unwrap();
    assert!(
        checked_in == generated,
        "docs/report.schema.json is stale: run `cargo run -- schema > docs/report.schema.json`"
    );
}

fn validator() -> jsonschema::Validator {
    jsonschema::options()
        .should_validate_formats(true)
        .build(&schema())
        .expect("the schema is a valid JSON Schema")
}

#[test]
fn every_json_report_of_the_cases_validates() {
    let validator = validator();
    let mut checked = 0;
    for dir in fs::read_dir(root().join("testdata/cases")).unwrap() {
        let dir = dir.unwrap().path();
        let Ok(stdout) = fs::read(dir.join("expected.stdout")) else {
            continue;
        };
        // Single JSON documents only (not ndjson, not `rules --format json`).
        let Ok(doc) = serde_json::from_slice::<Value>(&stdout) else {
            continue;
        };
        if doc.get("schema_version").is_none() {
            continue;
        }
        let errors: Vec<String> = validator
            .iter_errors(&doc)
            .map(|e| format!("{} at {}", e, e.instance_path()))
            .collect();
        assert!(errors.is_empty(), "{}: {errors:#?}", dir.display());
        checked += 1;
    }
    assert!(checked >= 5, "only {checked} JSON reports found");
}

#[test]
fn the_schema_rejects_what_the_report_never_writes() {
    let validator = validator();
    let good: Value = serde_json::from_str(&stdout_of(&[
        "report",
        "--format",
        "json",
        sample().to_str().unwrap(),
    ]))
    .unwrap();
    assert!(validator.is_valid(&good));
    let broken = |edit: &dyn Fn(&mut Value)| {
        let mut v = good.clone();
        edit(&mut v);
        assert!(!validator.is_valid(&v), "accepted {v}");
    };
    broken(&|v| {
        v.as_object_mut().unwrap().remove("summary");
    });
    broken(&|v| v["findings"][0]["severity"] = "urgent".into());
    broken(&|v| v["findings"][0]["count"] = (-1).into());
    broken(&|v| v["summary"]["first"] = "yesterday".into());
    broken(&|v| {
        v["findings"][0].as_object_mut().unwrap().remove("ip");
    });
}
