//! `--format html`: hostile log values never become markup, the page loads
//! nothing, and, in headless Chromium, the findings, the timeline (one mark
//! per bucket) and the tables are there and no request leaves the page.
//!
//! The browser tests need Debian's `chromium` (`/usr/bin/chromium`, or the
//! path in `AUDIT_ANALYZE_CHROMIUM`). Without it they print
//! `SKIPPED: chromium not installed` on standard error and return; with
//! `AUDIT_ANALYZE_REQUIRE_CHROMIUM=1` (as `.ci/run` sets) they fail instead.
//! The screenshot of the sample's report goes to `target/html-report.png`.

use std::collections::BTreeSet;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command as StdCommand, Stdio};
use std::time::{Duration, Instant};

use assert_cmd::Command;
use regex::Regex;
use serde_json::Value;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// Inputs are named relative to the crate root, as a person would type
/// them (the page shows the names).
fn sample() -> PathBuf {
    PathBuf::from("testdata/sample.jsonl")
}

fn hostile() -> PathBuf {
    PathBuf::from("testdata/cases/injection-html/input.jsonl")
}

/// The report of `input` in `format`, run from the crate root, with a
/// fixed generation time.
fn report(input: &Path, format: &str) -> String {
    let out = Command::cargo_bin("audit-analyze")
        .unwrap()
        .current_dir(root())
        .args(["report", "--format", format])
        .arg(input)
        .env("SOURCE_DATE_EPOCH", "1695384000")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// The elements the page is built from; anything else is injected markup.
const TAGS: &[&str] = &[
    "!doctype",
    "html",
    "head",
    "meta",
    "title",
    "style",
    "body",
    "header",
    "footer",
    "section",
    "h1",
    "h2",
    "p",
    "dl",
    "dt",
    "dd",
    "ol",
    "li",
    "div",
    "span",
    "strong",
    "code",
    "time",
    "details",
    "summary",
    "table",
    "thead",
    "tbody",
    "tr",
    "th",
    "td",
    "figure",
    "figcaption",
    "svg",
    "g",
    "rect",
    "line",
    "text",
    "script",
];

/// Every tag of `html` (name lower-cased, attribute names), for pages whose
/// attribute values never hold `<`, `>` or `"` unescaped (ours never do).
fn tags(html: &str) -> Vec<(String, Vec<String>)> {
    let tag = Regex::new(r"<(/?)([A-Za-z!][A-Za-z0-9-]*)([^>]*)>").unwrap();
    let attr =
        Regex::new(r#"([A-Za-z_:][-A-Za-z0-9_:.]*)\s*(=\s*("[^"]*"|'[^']*'|[^\s"'>]+))?"#).unwrap();
    tag.captures_iter(html)
        .filter(|c| c[1].is_empty())
        .map(|c| {
            let name = c[2].to_ascii_lowercase();
            let attrs = if name == "!doctype" {
                Vec::new()
            } else {
                attr.captures_iter(&c[3])
                    .map(|a| a[1].to_ascii_lowercase())
                    .collect()
            };
            (name, attrs)
        })
        .collect()
}

#[test]
fn hostile_values_never_become_markup() {
    let html = report(&hostile(), "html");
    let lower = html.to_ascii_lowercase();

    let mut names = BTreeSet::new();
    for (name, attrs) in tags(&html) {
        assert!(TAGS.contains(&name.as_str()), "injected element <{name}>");
        for a in attrs {
            assert!(
                !a.starts_with("on"),
                "event handler attribute {a} on <{name}>"
            );
            assert!(
                !matches!(
                    a.as_str(),
                    "href" | "src" | "xlink:href" | "action" | "style"
                ),
                "attribute {a} on <{name}>"
            );
        }
        names.insert(name);
    }
    assert!(names.contains("svg") && names.contains("table"));
    // Our own script and nothing else; no URL scheme in any attribute.
    assert_eq!(lower.matches("<script").count(), 1);
    assert!(
        !Regex::new(r#"=\s*"\s*javascript:"#)
            .unwrap()
            .is_match(&lower)
    );
    assert!(!lower.contains("<img") && !lower.contains("<svg onload"));
    assert!(!lower.contains("<!--"), "a comment would swallow the page");

    // The values are all there, as text.
    for escaped in [
        "&lt;script&gt;alert(1)&lt;/script&gt;",
        "&quot;&gt;&lt;img src=x onerror=alert(1)&gt;",
        "javascript:alert(1)",
        "&#39;&gt;&lt;svg onload=alert(1)&gt;",
        "&lt;/style&gt;&lt;/title&gt;&lt;!--",
        "&lt;/style&gt;&lt;script&gt;alert(3)&lt;/script&gt;",
        "&#39; onmouseover=&#39;alert(4)",
    ] {
        assert!(html.contains(escaped), "{escaped} missing");
    }
    // The hostile keys made findings, so the finding markup was exercised.
    assert_eq!(html.matches("<li class=\"finding ").count(), 3);
}

#[test]
fn the_page_loads_nothing_from_anywhere() {
    let html = report(&sample(), "html");
    let lower = html.to_ascii_lowercase();
    for bad in [
        "http://",
        "https://",
        "//cdn",
        "url(",
        "@import",
        "src=",
        "href=",
        "<link",
        "<iframe",
        "<object",
        "<embed",
        "fetch(",
        "xmlhttprequest",
        "websocket",
    ] {
        assert!(!lower.contains(bad), "the page contains {bad:?}");
    }
    assert!(html.contains("Content-Security-Policy\" content=\"default-src 'none'"));
}

#[test]
fn html_size_is_bounded_by_top() {
    let json: Value = serde_json::from_str(&report(&sample(), "json")).unwrap();
    let html = report(&sample(), "html");
    assert!(html.len() < 100_000, "{} bytes", html.len());
    // --top 20: the sample has 21 events and 20 ips.
    assert_eq!(json["events"].as_array().unwrap().len(), 21);
    assert!(html.contains("… 1 more (<code>--top 0</code> shows all)"));
}

// ---------------------------------------------------------------------------
// Headless Chromium

/// Chromium's path, or why there is none (after saying so on stderr).
fn chromium() -> Option<PathBuf> {
    let path = std::env::var_os("AUDIT_ANALYZE_CHROMIUM")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/usr/bin/chromium"));
    if path.is_file() {
        return Some(path);
    }
    let reason = format!(
        "SKIPPED: chromium not installed ({} missing; `apt-get install chromium`)",
        path.display()
    );
    if std::env::var_os("AUDIT_ANALYZE_REQUIRE_CHROMIUM").is_some_and(|v| v == "1") {
        panic!("{reason}, and AUDIT_ANALYZE_REQUIRE_CHROMIUM=1");
    }
    // Straight to stderr, past the test harness's capture, so it is seen.
    let _ = writeln!(std::io::stderr(), "{reason}");
    None
}

/// Runs headless Chromium on `page` with `extra` arguments and a fresh
/// profile; returns its stdout. Gives up after a minute.
fn run_chromium(chromium: &Path, page: &Path, extra: &[String]) -> String {
    let profile = tempfile::tempdir().unwrap();
    let mut child = StdCommand::new(chromium)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--hide-scrollbars",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .args(extra)
        .arg(format!("file://{}", page.display()))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("chromium starts");
    let stdout = child.stdout.take().unwrap();
    let reader = std::thread::spawn(move || std::io::read_to_string(stdout).unwrap_or_default());
    let start = Instant::now();
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            assert!(status.success(), "chromium exited with {status}");
            break;
        }
        if start.elapsed() > Duration::from_secs(60) {
            let _ = child.kill();
            let _ = child.wait();
            panic!("chromium did not finish within 60 s");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    reader.join().unwrap()
}

/// The URLs the page itself requested, from a Chromium net log: requests
/// whose initiator is the page (`null` for file://) rather than the
/// browser's own background services ("not an origin").
fn page_requests(net_log: &Path) -> Vec<String> {
    let log: Value = serde_json::from_slice(&fs::read(net_log).unwrap()).unwrap();
    let start_job = log["constants"]["logEventTypes"]["URL_REQUEST_START_JOB"]
        .as_u64()
        .expect("a net log");
    log["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["type"].as_u64() == Some(start_job))
        .filter_map(|e| {
            let p = &e["params"];
            let url = p["url"].as_str()?;
            let from_page = p["initiator"].as_str() != Some("not an origin")
                || p["network_isolation_key"]
                    .as_str()
                    .is_some_and(|k| k.contains("file://"));
            (from_page && !url.starts_with("file:")).then(|| url.to_string())
        })
        .collect()
}

#[test]
fn sample_report_in_headless_chromium() {
    let Some(chromium) = chromium() else { return };
    let json: Value = serde_json::from_str(&report(&sample(), "json")).unwrap();
    let findings = json["findings"].as_array().unwrap().len();
    let buckets = json["timeline"]["buckets"].as_array().unwrap().len();
    assert!(findings > 0 && buckets > 1);

    let dir = tempfile::tempdir().unwrap();
    let page = dir.path().join("report.html");
    fs::write(&page, report(&sample(), "html")).unwrap();
    let net_log = dir.path().join("net-log.json");
    let dom = run_chromium(
        &chromium,
        &page,
        &[
            format!("--log-net-log={}", net_log.display()),
            "--dump-dom".to_string(),
        ],
    );

    // The script ran (sorting enabled) and the content is all there.
    assert!(
        dom.contains("<html lang=\"en\" class=\"js\">"),
        "script did not run"
    );
    assert_eq!(dom.matches("data-sortable=\"on\"").count(), 3);
    assert_eq!(dom.matches("<li class=\"finding ").count(), findings);
    assert!(dom.contains("<strong>45.80.235.53</strong> sent 14 failed requests"));
    assert_eq!(dom.matches("<svg class=\"chart timeline\"").count(), 1);
    assert_eq!(
        dom.matches("<g class=\"bucket\">").count(),
        buckets,
        "one mark per bucket"
    );
    assert_eq!(dom.matches("<g class=\"finding-mark ").count(), findings);
    assert!(dom.contains("id=\"chart-users\"") && dom.contains("id=\"chart-events\""));
    for table in ["users-table", "events-table", "ips-table"] {
        let at = dom.find(&format!("id=\"{table}\"")).expect(table);
        assert!(dom[at..].contains("<tbody>\n<tr><td>"), "{table} has rows");
    }
    assert!(!dom.contains("<img"));

    let requests = page_requests(&net_log);
    assert!(requests.is_empty(), "the page requested {requests:?}");

    // Without its script (what JavaScript off gives; --dump-dom itself
    // needs script, so the script is cut out instead) all is still there.
    let html = fs::read_to_string(&page).unwrap();
    let (before, rest) = html.split_once("<script>").unwrap();
    let (_, after) = rest.split_once("</script>").unwrap();
    let bare = dir.path().join("no-script.html");
    fs::write(&bare, format!("{before}{after}")).unwrap();
    let dom = run_chromium(&chromium, &bare, &["--dump-dom".to_string()]);
    assert!(dom.contains("<html lang=\"en\">") && !dom.contains("data-sortable"));
    assert_eq!(dom.matches("<li class=\"finding ").count(), findings);
    assert_eq!(dom.matches("<g class=\"bucket\">").count(), buckets);
    for table in ["users-table", "events-table", "ips-table"] {
        assert!(dom.contains(&format!("id=\"{table}\"")), "{table}");
    }

    // Sorting: two clicks on the users' "failures" header sort them by
    // failures, descending.
    let sorted = dir.path().join("sorted.html");
    let click = r##"document.querySelector("#users-table th:nth-child(3)").click();"##;
    fs::write(
        &sorted,
        html.replace(
            "</body>",
            &format!("<script>{click}{click}</script></body>"),
        ),
    )
    .unwrap();
    let dom = run_chromium(&chromium, &sorted, &["--dump-dom".to_string()]);
    let users = &dom[dom.find("id=\"users-table\"").unwrap()..];
    assert!(users.contains("aria-sort=\"descending\">failures</th>"));
    let first_row = users.split("<tr><td>").nth(1).unwrap();
    assert!(first_row.starts_with("unknown_user</td>"), "{first_row}");

    let shot = root().join("target/html-report.png");
    fs::create_dir_all(shot.parent().unwrap()).unwrap();
    let _ = fs::remove_file(&shot);
    run_chromium(
        &chromium,
        &page,
        &[
            format!("--screenshot={}", shot.display()),
            "--window-size=1280,2400".to_string(),
        ],
    );
    let png = fs::read(&shot).expect("a screenshot");
    assert!(png.starts_with(b"\x89PNG") && png.len() > 50_000);
}

#[test]
fn hostile_report_in_headless_chromium_runs_no_injected_code() {
    let Some(chromium) = chromium() else { return };
    let dir = tempfile::tempdir().unwrap();
    let page = dir.path().join("report.html");
    fs::write(&page, report(&hostile(), "html")).unwrap();
    let dom = run_chromium(&chromium, &page, &["--dump-dom".to_string()]);
    let lower = dom.to_ascii_lowercase();
    assert_eq!(lower.matches("<script").count(), 1);
    assert!(
        !lower.contains("<img") && !lower.contains(" onerror=\"") && !lower.contains(" onload=\"")
    );
    assert_eq!(dom.matches("<li class=\"finding ").count(), 3);
}

#[test]
fn the_net_log_check_sees_a_page_that_fetches() {
    // The check above must be able to fail: a page with an image and a
    // stylesheet elsewhere shows up as page requests (which fail: no network).
    let Some(chromium) = chromium() else { return };
    let dir = tempfile::tempdir().unwrap();
    let page = dir.path().join("fetches.html");
    fs::write(
        &page,
        "<!DOCTYPE html><img src=\"http://example.invalid/x.png\"><link rel=stylesheet href=\"https://example.invalid/a.css\">",
    )
    .unwrap();
    let net_log = dir.path().join("net-log.json");
    run_chromium(
        &chromium,
        &page,
        &[
            format!("--log-net-log={}", net_log.display()),
            "--dump-dom".to_string(),
        ],
    );
    let requests = page_requests(&net_log);
    assert!(
        requests
            .iter()
            .any(|u| u.starts_with("http://example.invalid/")),
        "{requests:?}"
    );
}

#[test]
fn generation_time_follows_source_date_epoch() {
    let run = |epoch: Option<&str>| {
        let mut cmd = Command::cargo_bin("audit-analyze").unwrap();
        cmd.current_dir(root())
            .args(["report", "--format", "html"])
            .arg(hostile());
        match epoch {
            Some(e) => cmd.env("SOURCE_DATE_EPOCH", e),
            None => cmd.env_remove("SOURCE_DATE_EPOCH"),
        };
        String::from_utf8(cmd.output().unwrap().stdout).unwrap()
    };
    let fixed = run(Some("1695384000"));
    assert!(fixed.contains("<dt>Generated</dt><dd><time datetime=\"2023-09-22T12:00:00.000Z\">"));
    assert_eq!(fixed, run(Some("1695384000")), "reproducible");
    assert!(run(Some("not a number")).contains("<dt>Generated</dt><dd>(time not recorded)"));
    // Without it, the clock: some time after this test was written.
    let now = run(None);
    let needle = "<dt>Generated</dt><dd><time datetime=\"";
    let at = now.find(needle).unwrap() + needle.len();
    assert!(
        now[at..at + 4].parse::<u32>().unwrap() >= 2026,
        "{}",
        &now[at..at + 30]
    );
}
