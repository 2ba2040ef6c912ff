//! `report --partial` + `merge` give exactly what `report` gives on the whole
//! input: over the bundled sample and a generated log whose incidents are
//! planted across the shard cuts, split 1, 2, 3 and 8 ways (byte ranges,
//! round-robin lines, one file per shard, with an empty shard), merged in
//! shuffled order and as random trees, in every output format.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_audit-analyze");

/// Every output, as `(format args, label)`.
const OUTPUTS: &[&[&str]] = &[
    &["--format", "json"],
    &["--format", "table", "--top", "0"],
    &["--format", "markdown"],
    &["--format", "ndjson"],
    &["--format", "html"],
    &["--format", "csv", "--section", "users"],
    &["--format", "csv", "--section", "events"],
    &["--format", "csv", "--section", "ips"],
    &["--format", "csv", "--section", "findings"],
    &["--format", "csv", "--section", "timeline"],
];

fn run(args: &[&str]) -> Output {
    let out = Command::new(BIN)
        .args(args)
        .env("SOURCE_DATE_EPOCH", "1700000000")
        .env("NO_COLOR", "1")
        .output()
        .expect("the binary runs");
    assert!(
        out.status.code().is_some_and(|c| c <= 1),
        "audit-analyze {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn s(p: &Path) -> &str {
    p.to_str().expect("utf-8 temp path")
}

/// splitmix64, for shuffles and tree shapes that differ per case but not
/// per run.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: usize) -> usize {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        ((z ^ (z >> 31)) % n as u64) as usize
    }

    fn shuffle<T>(&mut self, v: &mut [T]) {
        for i in (1..v.len()).rev() {
            v.swap(i, self.below(i + 1));
        }
    }
}

/// One shard: its ordinal, input, and `--range` if any.
struct ShardSpec {
    ordinal: u64,
    input: PathBuf,
    range: Option<(u64, u64)>,
}

/// One shard per file, read whole, ordinals in order.
fn whole_files(paths: &[PathBuf]) -> Vec<ShardSpec> {
    paths
        .iter()
        .enumerate()
        .map(|(i, p)| ShardSpec {
            ordinal: i as u64,
            input: p.clone(),
            range: None,
        })
        .collect()
}

/// Both passes over `shards`: partials, then the plan, then the probes the
/// plan asks for. Returns the final partial files.
fn partials(dir: &Path, shards: &[ShardSpec]) -> Vec<PathBuf> {
    let pass = |shard: &ShardSpec, probe: Option<&Path>, name: &str| {
        let out = dir.join(name);
        let ordinal = shard.ordinal.to_string();
        let mut args = vec!["report", "--partial", "--ordinal", &ordinal, "-o", s(&out)];
        let range;
        if let Some((a, b)) = shard.range {
            range = format!("{a}:{b}");
            args.extend(["--range", &range]);
        }
        if let Some(plan) = probe {
            args.extend(["--probe", s(plan)]);
        }
        args.push(s(&shard.input));
        run(&args);
        out
    };
    let mut files: Vec<PathBuf> = shards
        .iter()
        .map(|sh| pass(sh, None, &format!("p{}.zst", sh.ordinal)))
        .collect();
    let plan = dir.join("plan.json");
    let mut args = vec!["merge", "--plan", "-o", s(&plan)];
    args.extend(files.iter().map(|f| s(f)));
    run(&args);
    let plan_doc: Value = serde_json::from_slice(&fs::read(&plan).unwrap()).unwrap();
    for probe in plan_doc["probe"].as_array().unwrap() {
        let ordinal = probe["ordinal"].as_u64().unwrap();
        let i = shards.iter().position(|sh| sh.ordinal == ordinal).unwrap();
        files[i] = pass(&shards[i], Some(&plan), &format!("q{ordinal}.partial"));
    }
    files
}

/// Merges `files` in a random tree of `merge --partial`; the root's path.
fn tree(dir: &Path, files: &[PathBuf], rng: &mut Rng, n: &mut u32) -> PathBuf {
    if files.len() == 1 {
        return files[0].clone();
    }
    let cut = 1 + rng.below(files.len() - 1);
    let left = tree(dir, &files[..cut], rng, n);
    let right = tree(dir, &files[cut..], rng, n);
    *n += 1;
    let out = dir.join(format!("t{n}.partial"));
    run(&["merge", "--partial", "-o", s(&out), s(&right), s(&left)]);
    out
}

/// Asserts that merging `files` (shuffled, and as a tree) renders every
/// output exactly as `report` on `whole` does, standard error included.
fn assert_merge_equals_report(dir: &Path, files: &[PathBuf], whole: &[&Path], seed: u64) {
    let mut rng = Rng(seed);
    let mut shuffled = files.to_vec();
    rng.shuffle(&mut shuffled);
    let mut n = 0;
    let root = tree(dir, files, &mut rng, &mut n);
    for output in OUTPUTS {
        let mut report_args = vec!["report"];
        report_args.extend(*output);
        report_args.extend(whole.iter().map(|p| s(p)));
        let want = run(&report_args);
        for inputs in [shuffled.clone(), vec![root.clone()]] {
            let mut merge_args = vec!["merge"];
            merge_args.extend(*output);
            merge_args.extend(inputs.iter().map(|p| s(p)));
            let got = run(&merge_args);
            assert!(
                got.stdout == want.stdout,
                "{output:?} of merged {inputs:?} differs from report {whole:?}:\n--- report\n{}\n--- merge\n{}",
                String::from_utf8_lossy(&want.stdout),
                String::from_utf8_lossy(&got.stdout)
            );
            assert_eq!(
                String::from_utf8_lossy(&got.stderr),
                String::from_utf8_lossy(&want.stderr),
                "stderr of {output:?}"
            );
            assert_eq!(got.status.code(), want.status.code());
        }
    }
}

fn json(args: &[&str]) -> Value {
    serde_json::from_slice(&run(args).stdout).unwrap()
}

/// Starts of the lines of `text`.
fn line_starts(text: &[u8]) -> Vec<u64> {
    let mut starts = vec![0];
    starts.extend(
        text.iter()
            .enumerate()
            .filter(|&(i, &b)| b == b'\n' && i + 1 < text.len())
            .map(|(i, _)| i as u64 + 1),
    );
    starts
}

/// A generated log of `lines` lines (2 s apart, every 7th sharing the time
/// of the one before) with incidents planted at the given lines: each one
/// straddles a cut made there.
fn planted_log(lines: usize, centers: &[usize]) -> String {
    let t0: i64 = 1_793_491_200; // 2026-11-01T00:00:00Z
    let mut out = String::new();
    let mut t = t0;
    let plant = |i: usize| -> Option<(usize, usize)> {
        centers
            .iter()
            .enumerate()
            .find(|&(_, &c)| i + 16 > c && i < c + 16)
            .map(|(k, &c)| (k, i + 16 - c))
    };
    for i in 0..lines {
        if i % 7 != 0 {
            t += 2;
        }
        let ts = format!("{}.{:03}", t, (i * 37) % 1000);
        let user = format!("u{}", i % 23);
        let ip = format!("10.0.{}.{}", i % 5, i % 11);
        if i % 401 == 200 {
            out.push_str("{\"broken\": \n");
            continue;
        }
        if i % 353 == 100 {
            out.push('\n');
            continue;
        }
        let line = match plant(i) {
            // Unknown-user burst: one ip, a failure every 2 s.
            Some((0 | 4, k)) if k % 2 == 0 => format!(
                r#"{{"ts":{ts},"user_id":"unknown_user","ip":"203.0.113.9","method":"GET","path":"/api/orders/{k}","status":401}}"#
            ),
            // Brute force on bob, then bob's success.
            Some((1, k)) if k < 24 && k % 2 == 0 => format!(
                r#"{{"ts":{ts},"user_id":"bob","ip":"198.51.100.{k}","event_type":"auth.login","outcome":"failure","status":401}}"#
            ),
            Some((1, 28)) => format!(
                r#"{{"ts":{ts},"user_id":"bob","ip":"198.51.100.7","event_type":"auth.login","outcome":"success"}}"#
            ),
            // Password spray: one ip, many users.
            Some((2, k)) if k % 3 == 0 => format!(
                r#"{{"ts":{ts},"user_id":"v{k}","ip":"192.0.2.222","event_type":"auth.login","outcome":"failure","status":401}}"#
            ),
            // Unknown-user burst, then a known user's success from that ip.
            Some((3, k)) if k < 20 && k % 2 == 1 => format!(
                r#"{{"ts":{ts},"user_id":"unknown_user","ip":"203.0.113.50","method":"POST","path":"/api/auth/refresh","status":401}}"#
            ),
            Some((3, 25)) => format!(
                r#"{{"ts":{ts},"user_id":"carol","ip":"203.0.113.50","method":"GET","path":"/api/orders","status":200}}"#
            ),
            // Access denied burst.
            Some((5, k)) if k % 2 == 1 => format!(
                r#"{{"ts":{ts},"user_id":"mallory","ip":"10.9.9.9","method":"DELETE","path":"/api/orders/{k}","status":403}}"#
            ),
            // Two ips interleaved.
            Some((6, k)) => format!(
                r#"{{"ts":{ts},"user_id":"unknown_user","ip":"203.0.113.{}","method":"GET","path":"/x","status":401}}"#,
                70 + k % 2
            ),
            _ => format!(
                r#"{{"ts":{ts},"user_id":"{user}","ip":"{ip}","method":"GET","path":"/api/items/{}","status":{}}}"#,
                i % 97,
                if i % 13 == 0 { 500 } else { 200 }
            ),
        };
        out.push_str(&line);
        out.push('\n');
    }
    out
}

/// The findings of `report` on each shard alone, put together.
fn union_of_shard_findings(inputs: &[PathBuf]) -> Vec<Value> {
    let mut all: Vec<Value> = inputs
        .iter()
        .flat_map(|p| {
            json(&["report", "--format", "json", s(p)])["findings"]
                .as_array()
                .unwrap()
                .clone()
        })
        .collect();
    all.sort_by_key(|f| f.to_string());
    all
}

/// Splits `log` every way the issue names and checks each. `cuts_straddle`:
/// the cuts fall inside incidents (then even contiguous shards alone must
/// miss some).
fn check_every_split(
    log: &Path,
    cuts_for: impl Fn(usize) -> Vec<usize>,
    cuts_straddle: bool,
    seed: u64,
) {
    let text = fs::read(log).unwrap();
    let starts = line_starts(&text);
    let lines: Vec<&[u8]> = text.split_inclusive(|&b| b == b'\n').collect();
    let whole = json(&["report", "--format", "json", s(log)]);
    for ways in [1usize, 2, 3, 8] {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let cuts = cuts_for(ways); // line indexes where shards 1.. begin
        assert_eq!(cuts.len(), ways - 1);
        let mut bounds = vec![0u64];
        bounds.extend(cuts.iter().map(|&c| starts[c]));
        bounds.push(text.len() as u64);

        // Byte ranges of the one file, plus an empty range at the end.
        let mut shards: Vec<ShardSpec> = bounds
            .windows(2)
            .enumerate()
            .map(|(i, w)| ShardSpec {
                ordinal: i as u64 * 10,
                input: log.to_path_buf(),
                range: Some((w[0], w[1])),
            })
            .collect();
        shards.push(ShardSpec {
            ordinal: 1000,
            input: log.to_path_buf(),
            range: Some((text.len() as u64, text.len() as u64)),
        });
        let files = partials(d, &shards);
        assert_merge_equals_report(d, &files, &[log], seed + ways as u64);

        // One file per shard (an empty one among them).
        let mut pieces = Vec::new();
        let mut line_bounds = vec![0];
        line_bounds.extend(&cuts);
        line_bounds.push(lines.len());
        for (i, w) in line_bounds.windows(2).enumerate() {
            let p = d.join(format!("piece{i}.jsonl"));
            fs::write(&p, lines[w[0]..w[1]].concat()).unwrap();
            pieces.push(p);
            if i == 0 {
                let empty = d.join("piece0-empty.jsonl");
                fs::write(&empty, "").unwrap();
                pieces.push(empty);
            }
        }
        let files = partials(d, &whole_files(&pieces));
        let piece_refs: Vec<&Path> = pieces.iter().map(PathBuf::as_path).collect();
        assert_merge_equals_report(d, &files, &piece_refs, seed + 100 + ways as u64);

        // Round-robin lines: line i goes to shard i % ways.
        let mut rr: Vec<Vec<u8>> = vec![Vec::new(); ways];
        for (i, line) in lines.iter().enumerate() {
            rr[i % ways].extend_from_slice(line);
        }
        let rr_paths: Vec<PathBuf> = rr
            .iter()
            .enumerate()
            .map(|(i, bytes)| {
                let p = d.join(format!("rr{i}.jsonl"));
                fs::write(&p, bytes).unwrap();
                p
            })
            .collect();
        let files = partials(d, &whole_files(&rr_paths));
        let rr_refs: Vec<&Path> = rr_paths.iter().map(PathBuf::as_path).collect();
        assert_merge_equals_report(d, &files, &rr_refs, seed + 200 + ways as u64);
        // Apart from the files it names, that is the whole log's report.
        let mut merged = json(
            &[
                &["merge", "--format", "json"][..],
                &files.iter().map(|f| s(f)).collect::<Vec<_>>(),
            ]
            .concat(),
        );
        let mut whole = whole.clone();
        for doc in [&mut merged, &mut whole] {
            let summary = doc["summary"].as_object_mut().unwrap();
            summary.remove("files");
            summary.remove("formats");
        }
        assert_eq!(merged, whole, "round robin {ways} ways vs the whole log");

        // The negative control: findings per shard do not add up.
        if ways > 1 {
            let mut want: Vec<Value> = whole["findings"].as_array().unwrap().clone();
            want.sort_by_key(|f| f.to_string());
            assert_ne!(
                union_of_shard_findings(&rr_paths),
                want,
                "per-shard findings of {ways} round-robin shards must not add up to the whole"
            );
            let pieces_real: Vec<PathBuf> = pieces
                .iter()
                .filter(|p| !s(p).ends_with("-empty.jsonl"))
                .cloned()
                .collect();
            if cuts_straddle {
                assert_ne!(
                    union_of_shard_findings(&pieces_real),
                    want,
                    "per-shard findings of {ways} contiguous shards must not add up to the whole"
                );
            }
        }
    }
}

#[test]
fn the_bundled_sample_merges_back_exactly() {
    let sample = Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/sample.jsonl");
    let lines = fs::read_to_string(&sample).unwrap().lines().count();
    check_every_split(
        &sample,
        |ways| (1..ways).map(|k| k * lines / ways).collect(),
        false,
        1,
    );
}

#[test]
fn incidents_planted_across_the_cuts_merge_back_exactly() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("planted.jsonl");
    const LINES: usize = 2400;
    let centers: Vec<usize> = (1..8).map(|k| k * LINES / 8).collect();
    fs::write(&log, planted_log(LINES, &centers)).unwrap();
    let report = json(&["report", "--format", "json", s(&log)]);
    let rules: Vec<&str> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["rule"].as_str().unwrap())
        .collect();
    for rule in [
        "unknown_user_burst",
        "brute_force",
        "password_spray",
        "success_after_failures",
        "access_denied_burst",
    ] {
        assert!(rules.contains(&rule), "{rule} is planted: {rules:?}");
    }
    let cuts = move |ways: usize| -> Vec<usize> {
        match ways {
            1 => vec![],
            2 => vec![centers[3]],
            3 => vec![centers[2], centers[5]],
            _ => centers.clone(),
        }
    };
    check_every_split(&log, cuts, true, 7);
}

/// Runs and expects exit status 2 with `message` on standard error.
fn refused(args: &[&str], message: &str) {
    let out = Command::new(BIN).args(args).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
    assert!(stderr.contains(message), "{args:?}: {stderr}");
}

fn sample() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/sample.jsonl")
}

#[test]
fn merge_refuses_what_would_not_be_exact() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let sample = sample();
    let a = d.join("a.partial");
    let b = d.join("b.partial");
    let c = d.join("c.partial");
    run(&["report", "--partial", "-o", s(&a), s(&sample)]);
    run(&[
        "report",
        "--partial",
        "--ordinal",
        "1",
        "--threshold",
        "3",
        "-o",
        s(&b),
        s(&sample),
    ]);
    refused(
        &["merge", s(&a), s(&b)],
        "settings.rules.unknown_user_burst.threshold is 3 there, 5 here",
    );
    run(&["report", "--partial", "-o", s(&c), s(&sample)]);
    refused(&["merge", s(&a), s(&c)], "ordinal 0 appears twice");
    // The sample has a success after failures: the first pass alone is not enough.
    refused(
        &["merge", s(&a)],
        "needs a second pass over 1 shard(s) (ordinals 0)",
    );
    let plan = d.join("plan.json");
    run(&["merge", "--plan", "-o", s(&plan), s(&a)]);
    refused(
        &[
            "report",
            "--partial",
            "--threshold",
            "3",
            "--probe",
            s(&plan),
            s(&sample),
        ],
        "the plan was made with other settings",
    );
    // Relative times need a shared anchor.
    refused(
        &["report", "--partial", "--since", "1h", s(&sample)],
        "needs --anchor",
    );
    // A report is not a partial.
    let report = d.join("report.json");
    fs::write(
        &report,
        run(&["report", "--format", "json", s(&sample)]).stdout,
    )
    .unwrap();
    refused(&["merge", s(&report)], "not a partial report");
}

#[test]
fn damaged_partials_are_errors_not_panics() {
    let dir = tempfile::tempdir().unwrap();
    let a = dir.path().join("a.partial");
    run(&[
        "report",
        "--partial",
        "--disable",
        "success_after_failures",
        "-o",
        s(&a),
        s(&sample()),
    ]);
    let good: Value = serde_json::from_slice(&fs::read(&a).unwrap()).unwrap();
    for (pointer, bad) in [
        ("/state/user_events/0/0", serde_json::json!(999_999)),
        ("/state/unknown_failures/0/1", serde_json::json!(7)),
        ("/state/first", serde_json::json!(i128::MAX.to_string())),
        ("/state/users", serde_json::json!("x")),
        ("/state/minutes/0/0", serde_json::json!(i64::MAX)),
        ("/state/malformed/0/0", serde_json::json!(3)),
        ("/shards", serde_json::json!(null)),
    ] {
        let mut doc = good.clone();
        *doc.pointer_mut(pointer).unwrap() = bad;
        let damaged = dir.path().join("damaged.partial");
        fs::write(&damaged, doc.to_string()).unwrap();
        let out = Command::new(BIN)
            .args(["merge", s(&damaged)])
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{pointer}: {stderr}");
        assert!(stderr.contains("damaged.partial"), "{pointer}: {stderr}");
    }
}

#[test]
fn a_first_pass_keeps_no_successes_and_a_probe_only_those_in_windows() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let a = d.join("a.partial");
    run(&["report", "--partial", "-o", s(&a), s(&sample())]);
    let first: Value = serde_json::from_slice(&fs::read(&a).unwrap()).unwrap();
    assert_eq!(first["state"]["successes"], serde_json::json!([]));
    let plan = d.join("plan.json");
    run(&["merge", "--plan", "-o", s(&plan), s(&a)]);
    let probed = d.join("probed.partial");
    run(&[
        "report",
        "--partial",
        "--probe",
        s(&plan),
        "-o",
        s(&probed),
        s(&sample()),
    ]);
    let second: Value = serde_json::from_slice(&fs::read(&probed).unwrap()).unwrap();
    let kept = second["state"]["successes"].as_array().unwrap().len();
    let all = json(&["report", "--format", "json", s(&sample())])["users"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["total"].as_u64().unwrap() - u["failures"].as_u64().unwrap())
        .sum::<u64>();
    assert!(
        kept > 0 && (kept as u64) < all / 10,
        "kept {kept} of ~{all}"
    );
    // The probed partial needs no further pass.
    let plan2: Value =
        serde_json::from_slice(&run(&["merge", "--plan", s(&probed)]).stdout).unwrap();
    assert_eq!(plan2["probe"], serde_json::json!([]));
}

#[test]
fn anchored_relative_times_and_stdin_names_match_report() {
    let dir = tempfile::tempdir().unwrap();
    let a = dir.path().join("a.partial");
    let anchor = "2023-09-22T10:30:00Z";
    let input = fs::read(sample()).unwrap();
    let out = Command::new(BIN)
        .args([
            "report",
            "--partial",
            "--disable",
            "success_after_failures",
            "--since",
            "1h",
            "--anchor",
            anchor,
            "--stdin-name",
            "api.jsonl",
            "-o",
            s(&a),
            "-",
        ])
        .stdin(fs::File::open(sample()).unwrap())
        .output()
        .unwrap();
    assert!(out.status.success());
    let merged = json(&["merge", "--format", "json", s(&a)]);
    let copy = dir.path().join("api.jsonl");
    fs::write(&copy, input).unwrap();
    let whole = Command::new(BIN)
        .current_dir(dir.path())
        .args([
            "report",
            "--format",
            "json",
            "--disable",
            "success_after_failures",
            "--since",
            "1h",
            "--anchor",
            anchor,
            "api.jsonl",
        ])
        .output()
        .unwrap();
    let whole: Value = serde_json::from_slice(&whole.stdout).unwrap();
    assert_eq!(merged, whole);
    assert_eq!(
        merged["summary"]["range"]["since"],
        serde_json::json!("2023-09-22T09:30:00.000Z")
    );
}

#[test]
fn compressed_files_cannot_be_cut_into_ranges() {
    let dir = tempfile::tempdir().unwrap();
    let gz = dir.path().join("log.jsonl.gz");
    let mut encoder =
        flate2::write::GzEncoder::new(fs::File::create(&gz).unwrap(), flate2::Compression::fast());
    std::io::Write::write_all(&mut encoder, &fs::read(sample()).unwrap()).unwrap();
    encoder.finish().unwrap();
    refused(
        &["report", "--partial", "--range", "0:100", s(&gz)],
        "cannot be cut into byte ranges",
    );
}

#[test]
fn partials_stream_several_to_a_file_plain_or_zstd() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let text = fs::read_to_string(sample()).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    let a_lines: Vec<&str> = lines.iter().step_by(2).copied().collect();
    let b_lines: Vec<&str> = lines.iter().skip(1).step_by(2).copied().collect();
    let a = d.join("a.jsonl");
    let b = d.join("b.jsonl");
    fs::write(&a, a_lines.join("\n")).unwrap();
    fs::write(&b, b_lines.join("\n")).unwrap();
    let rules = ["--disable", "success_after_failures"];
    let part = |ordinal: &str, input: &Path, out: &Path| {
        let mut args = vec!["report", "--partial", "--ordinal", ordinal, "-o", s(out)];
        args.extend(rules);
        args.push(s(input));
        run(&args);
    };
    for ext in ["partial", "partial.zst"] {
        let pa = d.join(format!("a.{ext}"));
        let pb = d.join(format!("b.{ext}"));
        part("0", &a, &pa);
        part("1", &b, &pb);
        let both = d.join(format!("both.{ext}"));
        // Hadoop Streaming puts a tab after a key without a value.
        let mut bytes = fs::read(&pb).unwrap();
        if ext == "partial" {
            bytes.extend(b"\t\n\n");
        }
        bytes.extend(fs::read(&pa).unwrap());
        fs::write(&both, bytes).unwrap();
        let mut args = vec!["report", "--format", "json"];
        args.extend(rules);
        args.extend([s(&a), s(&b)]);
        let want = run(&args).stdout;
        assert_eq!(
            run(&["merge", "--format", "json", s(&both)]).stdout,
            want,
            "{ext}"
        );
        let from_stdin = Command::new(BIN)
            .args(["merge", "--format", "json", "-"])
            .stdin(fs::File::open(&both).unwrap())
            .output()
            .unwrap();
        assert_eq!(from_stdin.stdout, want, "{ext} from stdin");
    }
}

/// Damaged partials, at random: one to three bytes replaced or deleted in
/// a real partial's text. Reading, merging (with an intact partial of the
/// other half), planning and rendering may refuse, but never panic, and a
/// partial that is taken must give a report whose numbers add up.
#[test]
fn randomly_damaged_partials_never_panic() {
    use audit_analyze::analyze::FinishSettings;
    use audit_analyze::cli::{OutputFormat, Section};
    use audit_analyze::partial::{Merger, read_each};
    use audit_analyze::render::{self, RenderOptions};

    let dir = tempfile::tempdir().unwrap();
    let (first, second) = (dir.path().join("a"), dir.path().join("b"));
    let size = fs::metadata(sample()).unwrap().len();
    let cut = format!("0:{}", size / 2);
    let rest = format!("{}:{size}", size / 2);
    run(&[
        "report",
        "--partial",
        "--range",
        &cut,
        "-o",
        s(&first),
        s(&sample()),
    ]);
    run(&[
        "report",
        "--partial",
        "--ordinal",
        "1",
        "--range",
        &rest,
        "-o",
        s(&second),
        s(&sample()),
    ]);
    let good = fs::read(&first).unwrap();
    let other = fs::read(&second).unwrap();
    let specials = b"0912\"{}[],:-e ";
    let mut rng = Rng(99);
    let mut taken = 0;
    for case in 0..3000 {
        let mut bytes = good.clone();
        for _ in 0..1 + rng.below(3) {
            let at = rng.below(bytes.len());
            match rng.below(3) {
                0 => {
                    bytes.remove(at);
                }
                _ => bytes[at] = specials[rng.below(specials.len())],
            }
        }
        let mut merger = Merger::default();
        let read = read_each(&bytes[..], "damaged", |n, p| merger.add(n, p))
            .and_then(|()| read_each(&other[..], "other", |n, p| merger.add(n, p)))
            .and_then(|()| merger.finish());
        let Ok(merged) = read else { continue };
        taken += 1;
        let _ = merged.plan();
        let (files, _) = merged.files();
        let settings = FinishSettings {
            rules: merged.settings.rules.clone(),
            ..Default::default()
        };
        let report = merged.analyzer.finish(files, 0, &settings).unwrap();
        let users: u64 = report.users.iter().map(|u| u.total).sum();
        assert_eq!(users, report.summary.records, "case {case}");
        for format in [OutputFormat::Json, OutputFormat::Table, OutputFormat::Html] {
            let options = RenderOptions {
                top: Some(5),
                section: Section::Findings,
                generated: None,
                color: false,
            };
            render::render(&report, format, options, &mut Vec::new()).unwrap();
        }
    }
    // Some damage (inside a name or a reason) leaves a valid partial.
    assert!(taken > 100, "only {taken} damaged partials were taken");
}
