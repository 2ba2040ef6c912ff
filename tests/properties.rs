//! Properties of the whole pipeline on generated input (issue 6): no panic
//! on any bytes, JSON output that always parses with every key, and
//! aggregates that do not depend on how a log is split into files, on the
//! order of its lines, or on lines appended after it.
//!
//! Cases are bounded so the suite stays fast; `PROPTEST_CASES=10000 cargo
//! test --test properties` runs longer.

use std::time::Duration;

use proptest::prelude::*;

use audit_analyze::analyze::FinishSettings;
use audit_analyze::analyze::{Analyzer, KeepSuccesses, State};
use audit_analyze::cli::{OutputFormat, Section};
use audit_analyze::filter::FilterSpec;
use audit_analyze::parse::UnknownUsers;
use audit_analyze::pipeline;
use audit_analyze::pipeline::Formats;
use audit_analyze::render::{self, RenderOptions};
use audit_analyze::report::Report;
use audit_analyze::rules::{RuleSet, Window};

/// The fuzz target's harness: random settings and reads, invariant checks.
#[path = "../fuzz/src/lib.rs"]
mod harness;

/// A small window and threshold, so generated logs have findings.
fn settings() -> FinishSettings {
    let mut rules = RuleSet::default();
    rules.unknown_user_burst.threshold = 3;
    rules.unknown_user_burst.window = Window(Duration::from_secs(20));
    FinishSettings {
        rules,
        ..Default::default()
    }
}

fn config() -> ProptestConfig {
    ProptestConfig {
        cases: std::env::var("PROPTEST_CASES")
            .ok()
            .and_then(|c| c.parse().ok())
            .unwrap_or(96),
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

/// Reads `inputs` (one per file) through the whole pipeline; the inputs
/// before index `from` are read as empty files (so positions say which
/// input a line came from, as when all are read together).
fn analyze_from(inputs: &[Vec<u8>], from: usize) -> pipeline::Outcome {
    let readers: Vec<(String, Box<dyn std::io::Read + Send>)> = inputs
        .iter()
        .enumerate()
        .map(|(i, input)| {
            let bytes = if i < from { Vec::new() } else { input.clone() };
            let reader: Box<dyn std::io::Read + Send> = Box::new(std::io::Cursor::new(bytes));
            (format!("f{i}"), reader)
        })
        .collect();
    pipeline::analyze_readers(
        readers,
        &Formats::generic(UnknownUsers::new(Vec::new())),
        &FilterSpec::default(),
        pipeline::Reading {
            threads: 1,
            max_line_bytes: pipeline::MAX_LINE_BYTES,
            keep_successes: true,
        },
    )
}

fn report_of(inputs: &[Vec<u8>]) -> Report {
    let outcome = analyze_from(inputs, 0);
    outcome
        .analyzer
        .finish(outcome.files, 0, &settings())
        .unwrap()
}

/// The report without its file list.
fn without_files(mut report: Report) -> Report {
    report.summary.files.clear();
    report.summary.formats.clear();
    report
}

/// Renders every format, checks the JSON document, returns it.
fn render_all(report: &Report, top: Option<usize>) -> serde_json::Value {
    let mut table = Vec::new();
    render::render(
        report,
        OutputFormat::Table,
        RenderOptions {
            top,
            section: Section::Findings,
            generated: None,
            color: false,
        },
        &mut table,
    )
    .unwrap();
    String::from_utf8(table).expect("table output is UTF-8");
    let mut json = Vec::new();
    render::render(
        report,
        OutputFormat::Json,
        RenderOptions {
            top,
            section: Section::Findings,
            generated: None,
            color: false,
        },
        &mut json,
    )
    .unwrap();
    let doc: serde_json::Value = serde_json::from_slice(&json).expect("JSON output parses");
    assert_required_keys(&doc);
    doc
}

fn assert_required_keys(doc: &serde_json::Value) {
    let has = |v: &serde_json::Value, keys: &[&str]| {
        for k in keys {
            assert!(v.get(k).is_some(), "missing key {k} in {v}");
        }
    };
    has(
        doc,
        &[
            "schema_version",
            "summary",
            "users",
            "events",
            "findings",
            "rules",
        ],
    );
    assert_eq!(doc["schema_version"], 1);
    has(
        &doc["summary"],
        &[
            "files",
            "records",
            "malformed",
            "blank",
            "untimed",
            "failures",
            "first",
            "last",
        ],
    );
    for u in doc["users"].as_array().unwrap() {
        has(
            u,
            &[
                "user",
                "total",
                "failures",
                "first_seen",
                "last_seen",
                "events",
            ],
        );
    }
    for e in doc["events"].as_array().unwrap() {
        has(e, &["event", "total", "failures", "users"]);
    }
    for f in doc["findings"].as_array().unwrap() {
        has(
            f,
            &[
                "rule", "severity", "ip", "count", "first", "last", "targets",
            ],
        );
    }
    has(
        &doc["rules"]["unknown_user_burst"],
        &["threshold", "window"],
    );
    // Counts are integers, never floats.
    for key in ["records", "malformed", "blank", "untimed", "failures"] {
        assert!(doc["summary"][key].is_u64(), "{key} is not an integer");
    }
}

/// One generated log record; each field picks from a small pool so that
/// users, events, ips and timestamps repeat (and tie).
#[derive(Clone, Debug)]
struct Rec {
    user: u8,
    ip: u8,
    event: u8,
    status: u8,
    /// Seconds after a base time, and the form it is written in.
    ts: Option<(u32, u8)>,
}

const BASE: u64 = 1_700_000_000;

impl Rec {
    fn line(&self) -> String {
        let mut fields = Vec::new();
        match self.user % 7 {
            0 => fields.push(r#""user":"alice""#.to_string()),
            1 => fields.push(r#""user_id":"bob""#.to_string()),
            2 | 3 => fields.push(r#""user":"unknown_user""#.to_string()),
            4 => fields.push(r#""username":"Zoë""#.to_string()),
            5 => fields.push(r#""uid":7"#.to_string()),
            _ => {}
        }
        match self.ip % 4 {
            0 => fields.push(r#""ip":"10.0.0.1""#.to_string()),
            1 => fields.push(r#""client_ip":"10.0.0.2""#.to_string()),
            2 => fields.push(r#""ip":"2001:db8::1""#.to_string()),
            _ => {}
        }
        match self.event % 6 {
            0 => fields.push(r#""event_type":"login""#.to_string()),
            1 => fields.push(r#""event":"logout""#.to_string()),
            2 => fields.push(r#""method":"GET","path":"/api/orders/12?x=1""#.to_string()),
            3 => fields.push(r#""method":"POST","path":"/api/login""#.to_string()),
            4 => fields.push(r#""path":"/health""#.to_string()),
            _ => {}
        }
        match self.status % 7 {
            0 => fields.push(r#""status":200"#.to_string()),
            1 => fields.push(r#""status":401"#.to_string()),
            2 => fields.push(r#""status_code":"403""#.to_string()),
            3 => fields.push(r#""status":500"#.to_string()),
            4 => fields.push(r#""outcome":"denied""#.to_string()),
            5 => fields.push(r#""success":true"#.to_string()),
            _ => {}
        }
        if let Some((secs, form)) = self.ts {
            let t = BASE + u64::from(secs);
            fields.push(match form % 4 {
                0 => format!(r#""timestamp":{t}"#),
                1 => format!(r#""ts":{}"#, t * 1000),
                2 => format!(r#""time":"{t}""#),
                _ => {
                    let dt = chrono_like(t);
                    format!(r#""@timestamp":"{dt}""#)
                }
            });
        }
        format!("{{{}}}", fields.join(","))
    }
}

/// RFC 3339 for epoch seconds (enough for the generated range).
fn chrono_like(epoch: u64) -> String {
    // 2023-11-14T22:13:20Z is BASE; the generated offsets stay within a day.
    let secs = epoch - BASE + 22 * 3600 + 13 * 60 + 20;
    let (day, secs) = (14 + secs / 86_400, secs % 86_400);
    format!(
        "2023-11-{day:02}T{:02}:{:02}:{:02}Z",
        secs / 3600,
        secs / 60 % 60,
        secs % 60
    )
}

fn rec(max_secs: u32) -> impl Strategy<Value = Rec> {
    (
        any::<u8>(),
        any::<u8>(),
        any::<u8>(),
        any::<u8>(),
        proptest::option::weighted(0.9, (0..max_secs, any::<u8>())),
    )
        .prop_map(|(user, ip, event, status, ts)| Rec {
            user,
            ip,
            event,
            status,
            ts,
        })
}

/// A log: generated records, with now and then a malformed or blank line.
fn log_lines() -> impl Strategy<Value = Vec<String>> {
    proptest::collection::vec(
        prop_oneof![
            20 => rec(120).prop_map(|r| r.line()),
            1 => Just("not json".to_string()),
            1 => Just("[1,2]".to_string()),
            1 => Just("  ".to_string()),
        ],
        0..60,
    )
}

fn join(lines: &[String]) -> Vec<u8> {
    let mut out = Vec::new();
    for l in lines {
        out.extend_from_slice(l.as_bytes());
        out.push(b'\n');
    }
    out
}

/// Bytes that look like log lines often enough to get past the parser.
fn hostile_bytes() -> impl Strategy<Value = Vec<u8>> {
    let piece = prop_oneof![
        proptest::collection::vec(any::<u8>(), 0..16),
        Just(b"\n".to_vec()),
        Just(b"\r".to_vec()),
        Just(b"\xEF\xBB\xBF".to_vec()),
        Just(br#"{"user":"unknown_user","ip":"1.2.3.4","status":401,"ts":"#.to_vec()),
        Just(br#"{"user":""#.to_vec()),
        Just(br#"","path":"/a/1","method":"GET"}"#.to_vec()),
        Just(b"1700000000".to_vec()),
        Just(b"\"2023-09-22T10:00:00Z\"}".to_vec()),
        Just(b"\\u001b[31m\\u202e\\u200b".to_vec()),
        Just(b"\x1b]8;;x\x07\xE2\x80\xAE".to_vec()),
        Just(b"1e400".to_vec()),
        Just(b"-0".to_vec()),
        Just(b"18446744073709551616".to_vec()),
        Just(b"[[[[[[[[[[".to_vec()),
    ];
    proptest::collection::vec(piece, 0..40).prop_map(|v| v.concat())
}

proptest! {
    #![proptest_config(config())]

    /// (a) Any bytes: no panic, every renderer works, JSON parses with every
    /// key, and the totals add up; and the same through the fuzz harness,
    /// whose first bytes pick the settings.
    #[test]
    fn any_bytes_never_panic_and_json_keeps_every_key(
        data in prop_oneof![proptest::collection::vec(any::<u8>(), 0..2048), hostile_bytes()],
        top in proptest::option::of(0usize..4),
    ) {
        harness::run(&data);
        let report = report_of(&[data]);
        let users: u64 = report.users.iter().map(|u| u.total).sum();
        let events: u64 = report.events.iter().map(|e| e.total).sum();
        prop_assert_eq!(users, report.summary.records);
        prop_assert_eq!(events, report.summary.records);
        render_all(&report, top);
    }

    /// (b) Cutting a log into files anywhere between lines gives the same
    /// report apart from the file list, read in order, analysed apart and
    /// merged, or analysed apart into partial states and merged from those.
    #[test]
    fn splitting_into_files_changes_nothing(
        lines in log_lines(),
        cuts in proptest::collection::vec(any::<bool>(), 60),
    ) {
        let whole = without_files(report_of(&[join(&lines)]));
        let mut parts = Vec::new();
        let mut current = Vec::new();
        for (i, line) in lines.iter().enumerate() {
            current.push(line.clone());
            if cuts[i] {
                parts.push(join(&std::mem::take(&mut current)));
            }
        }
        parts.push(join(&current));
        let split = without_files(report_of(&parts));
        prop_assert_eq!(&split, &whole);

        // Each part analysed on its own, then merged: the parallel path's fold.
        let mut merged = Analyzer::new();
        for i in 0..parts.len() {
            merged.merge(analyze_from(&parts[..=i], i).analyzer);
        }
        let merged = without_files(merged.finish(Vec::new(), 0, &settings()).unwrap());
        prop_assert_eq!(&merged, &whole);
        render_all(&split, Some(3));

        // The same through partial reports' states, written as JSON and read
        // back, merged last part first.
        let mut from_states = Analyzer::new();
        for i in (0..parts.len()).rev() {
            let state = analyze_from(&parts[..=i], i)
                .analyzer
                .into_state(KeepSuccesses::All)
                .unwrap();
            let back: State = serde_json::from_slice(&serde_json::to_vec(&state).unwrap()).unwrap();
            prop_assert_eq!(&back, &state);
            let files: Vec<u32> = (0..=i as u32).collect();
            from_states.merge(Analyzer::from_state(back, &files).unwrap());
        }
        let from_states = without_files(from_states.finish(Vec::new(), 0, &settings()).unwrap());
        prop_assert_eq!(&from_states, &whole);
    }

    /// (c) Another order of the lines gives the same summary, users and
    /// events. Findings are the same except which events a burst targeted
    /// when failures with equal timestamps straddle a burst's edge (ties keep
    /// input order), and `success_after_failures`: whether a success counts
    /// as after a failure with the same timestamp is input order by
    /// definition. With distinct timestamps everything is equal (next test).
    #[test]
    fn line_order_does_not_change_aggregates(
        (lines, shuffled) in log_lines().prop_flat_map(|l| (Just(l.clone()), Just(l).prop_shuffle())),
    ) {
        let a = report_of(&[join(&lines)]);
        let b = report_of(&[join(&shuffled)]);
        prop_assert_eq!(&a.summary, &b.summary);
        prop_assert_eq!(&a.users, &b.users);
        prop_assert_eq!(&a.events, &b.events);
        let shape = |r: &Report| -> Vec<_> {
            r.findings
                .iter()
                .filter(|f| f.rule != "success_after_failures")
                .map(|f| (f.rule, f.ip.clone(), f.user.clone(), f.count, f.first, f.last))
                .collect()
        };
        prop_assert_eq!(shape(&a), shape(&b));
    }

    #[test]
    fn line_order_with_distinct_timestamps_gives_the_same_report(
        (recs, order) in proptest::collection::vec(rec(1), 0..60)
            .prop_flat_map(|r| { let n = r.len(); (Just(r), Just((0..n).collect::<Vec<_>>()).prop_shuffle()) }),
    ) {
        // Distinct times 3 s apart: bursts of 3 in 20 s still happen.
        let recs: Vec<Rec> = recs
            .into_iter()
            .enumerate()
            .map(|(i, r)| Rec { ts: r.ts.map(|(_, form)| (i as u32 * 3, form)), ..r })
            .collect();
        let lines: Vec<String> = recs.iter().map(Rec::line).collect();
        let shuffled: Vec<String> = order.iter().map(|&i| lines[i].clone()).collect();
        prop_assert_eq!(report_of(&[join(&lines)]), report_of(&[join(&shuffled)]));
    }

    /// (d) A line appended to a log changes each user's and event's counts
    /// by exactly that line's own counts: the lines before it keep theirs.
    #[test]
    fn appending_a_line_never_changes_earlier_counts(
        lines in log_lines(),
        extra in prop_oneof![
            4 => rec(200).prop_map(|r| r.line().into_bytes()),
            1 => proptest::collection::vec(any::<u8>(), 0..64)
                .prop_filter("one line", |b| !b.contains(&b'\n')),
        ],
    ) {
        // A BOM is dropped only at the start of a file: alone, it would not
        // be the line's content; skip that one case.
        prop_assume!(!extra.starts_with(b"\xEF\xBB\xBF"));
        let before = report_of(&[join(&lines)]);
        let mut appended = join(&lines);
        appended.extend_from_slice(&extra);
        let after = report_of(&[appended]);
        let alone = report_of(std::slice::from_ref(&extra));

        let s = (&before.summary, &after.summary, &alone.summary);
        prop_assert_eq!(s.1.records, s.0.records + s.2.records);
        prop_assert_eq!(s.1.malformed, s.0.malformed + s.2.malformed);
        prop_assert_eq!(s.1.blank, s.0.blank + s.2.blank);
        prop_assert_eq!(s.1.untimed, s.0.untimed + s.2.untimed);
        prop_assert_eq!(s.1.failures, s.0.failures + s.2.failures);

        prop_assert!(after.users.len() >= before.users.len());
        for u in &after.users {
            let old = before.users.iter().find(|b| b.user == u.user);
            let new = alone.users.iter().find(|b| b.user == u.user);
            let (t0, f0, e0) = old.map_or((0, 0, 0), |o| (o.total, o.failures, o.events));
            let (t1, f1) = new.map_or((0, 0), |n| (n.total, n.failures));
            prop_assert_eq!(u.total, t0 + t1, "user {}", u.user);
            prop_assert_eq!(u.failures, f0 + f1, "user {}", u.user);
            prop_assert!(u.events == e0 || u.events == e0 + 1);
            if let Some(o) = old {
                prop_assert!(u.first_seen <= o.first_seen || o.first_seen.is_none());
                prop_assert!(u.last_seen >= o.last_seen);
            }
        }
        for e in &after.events {
            let old = before.events.iter().find(|b| b.event == e.event);
            let new = alone.events.iter().find(|b| b.event == e.event);
            let (t0, f0) = old.map_or((0, 0), |o| (o.total, o.failures));
            let (t1, f1) = new.map_or((0, 0), |n| (n.total, n.failures));
            prop_assert_eq!(e.total, t0 + t1, "event {}", e.event);
            prop_assert_eq!(e.failures, f0 + f1, "event {}", e.event);
        }
        for b in &before.users {
            prop_assert!(after.users.iter().any(|u| u.user == b.user));
        }
    }
}
