//! `--format html`: one self-contained page for people who will not read a
//! terminal: inline CSS, inline SVG charts, no request leaves the page (a
//! Content-Security-Policy forbids it too), and everything readable with
//! JavaScript off; a small inline script only adds table sorting.
//!
//! Every value taken from a log is attacker-chosen. It is first made visible
//! (control, bidi and zero-width characters as `\u{..}`, as on a terminal),
//! then HTML-escaped, and only ever written as element text or inside a
//! double-quoted `title` attribute: never into a URL, a style or a script.
//! The page's size is bounded: tables and findings are cut to `--top`,
//! values to [`MAX_VALUE_CHARS`], and the timeline to [`MAX_BARS`] bars.

use std::cmp::Reverse;
use std::fmt::Write as _;
use std::io::{self, Write};
use std::time::Duration;

use super::{RenderOptions, finding_key, percent, shown};
use crate::report::{Finding, Report};
use crate::sanitize;
use crate::timestamp::Timestamp;

/// The most characters of one log value shown in a cell or label.
const MAX_VALUE_CHARS: usize = 120;
/// The most targets, ips or users listed under one finding.
const LIST_SHOWN: usize = 10;
/// The most bars the timeline draws; more buckets are drawn in groups.
const MAX_BARS: usize = 400;
/// Rows in each bar chart.
const CHART_ROWS: usize = 10;

const NANOS_PER_SEC: i128 = 1_000_000_000;

/// Writes the HTML report.
pub fn write(report: &Report, options: RenderOptions, out: &mut impl Write) -> io::Result<()> {
    let mut page = String::with_capacity(64 * 1024);
    build(report, options, &mut page).map_err(|_| io::Error::other("formatting the HTML"))?;
    out.write_all(page.as_bytes())
}

fn build(report: &Report, options: RenderOptions, h: &mut String) -> std::fmt::Result {
    h.push_str(HEAD);
    header(report, options, h)?;
    let findings = by_severity(report);
    let (shown_findings, rest) = shown(findings.len(), options.top);
    findings_section(&findings[..shown_findings], findings.len(), rest, h)?;
    timeline_section(report, &findings[..shown_findings], h)?;
    charts_section(report, h)?;
    tables(report, options, h)?;
    writeln!(
        h,
        "<footer>Made by audit-analyze {} from the files above; nothing in this page loads from the network.</footer>",
        env!("CARGO_PKG_VERSION")
    )?;
    h.push_str(SCRIPT);
    h.push_str("</body>\n</html>\n");
    Ok(())
}

/// Findings most severe first; equal severities keep the report's order
/// (by first time).
fn by_severity(report: &Report) -> Vec<&Finding> {
    let mut findings: Vec<&Finding> = report.findings.iter().collect();
    findings.sort_by_key(|f| Reverse(f.severity));
    findings
}

// ---------------------------------------------------------------------------
// Escaping

/// `s` (trusted text, or a log value already made visible) with `& < > " '`
/// as character references: inert as element text and in quoted attributes.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

/// A log value for the page: invisible characters made visible, cut to
/// [`MAX_VALUE_CHARS`], escaped.
fn value(s: &str) -> String {
    escape(&cut(&sanitize::for_terminal(s), MAX_VALUE_CHARS))
}

/// A log value as element text, with the whole (bounded) value in a
/// tooltip when it had to be cut.
fn value_span(s: &str) -> String {
    let visible = sanitize::for_terminal(s);
    if visible.chars().count() <= MAX_VALUE_CHARS {
        escape(&visible)
    } else {
        format!(
            "<span title=\"{}\">{}</span>",
            escape(&cut(&visible, 1000)),
            escape(&cut(&visible, MAX_VALUE_CHARS))
        )
    }
}

/// At most `max` characters, the cut marked with `…`.
fn cut(s: &str, max: usize) -> String {
    match s.char_indices().nth(max.saturating_sub(1)) {
        Some((i, _)) if s.chars().count() > max => format!("{}…", &s[..i]),
        _ => s.to_string(),
    }
}

// ---------------------------------------------------------------------------
// Times

/// `2023-09-22 10:15:30` (UTC, seconds).
fn short_time(t: Timestamp) -> String {
    let full = t.to_string();
    match (full.get(..10), full.get(11..19)) {
        (Some(d), Some(hms)) => format!("{d} {hms}"),
        _ => full,
    }
}

/// A time as a `<time>` element: short text, exact value in `datetime`.
fn time_el(t: Option<Timestamp>) -> String {
    match t {
        Some(t) => format!("<time datetime=\"{t}\">{}</time>", short_time(t)),
        None => "-".to_string(),
    }
}

/// `2023-09-22 09:12:04 → 09:14:21`, repeating the date only when it changes.
fn span_text(first: Timestamp, last: Timestamp) -> String {
    let (a, b) = (short_time(first), short_time(last));
    if a.get(..10) == b.get(..10) {
        format!("{a} → {}", b.get(11..).unwrap_or(&b))
    } else {
        format!("{a} → {b}")
    }
}

/// How long from `first` to `last` in words: "2 minutes", "40 seconds".
fn duration_words(first: Timestamp, last: Timestamp) -> String {
    let secs = (last.nanos() - first.nanos()).max(0) / NANOS_PER_SEC;
    let plural = |n: i128, unit: &str| {
        if n == 1 {
            format!("1 {unit}")
        } else {
            format!("{n} {unit}s")
        }
    };
    match secs {
        0 => "under a second".to_string(),
        1..=119 => plural(secs, "second"),
        120..=7199 => plural((secs + 30) / 60, "minute"),
        7200..=172_799 => plural((secs + 1800) / 3600, "hour"),
        _ => plural((secs + 43_200) / 86_400, "day"),
    }
}

/// "in 2 minutes", or "at once" for a single instant.
fn within(first: Timestamp, last: Timestamp) -> String {
    if first == last {
        "at one instant".to_string()
    } else {
        format!("in {}", duration_words(first, last))
    }
}

fn plural(n: u64, one: &str, many: &str) -> String {
    if n == 1 {
        format!("1 {one}")
    } else {
        format!("{n} {many}")
    }
}

// ---------------------------------------------------------------------------
// Header

fn header(report: &Report, options: RenderOptions, h: &mut String) -> std::fmt::Result {
    let s = &report.summary;
    h.push_str("<header>\n<h1>audit-analyze report</h1>\n<dl class=\"meta\">\n");
    let files: Vec<String> = s
        .files
        .iter()
        .map(|f| match &f.format {
            Some(format) => format!("<code>{}</code> ({})", value(&f.path), value(format)),
            None => format!("<code>{}</code>", value(&f.path)),
        })
        .collect();
    writeln!(h, "<dt>Files</dt><dd>{}</dd>", files.join(", "))?;
    match (s.first, s.last) {
        (Some(a), Some(b)) => writeln!(
            h,
            "<dt>Time span</dt><dd>{} → {} (UTC, {})</dd>",
            time_el(Some(a)),
            time_el(Some(b)),
            duration_words(a, b)
        )?,
        _ => writeln!(h, "<dt>Time span</dt><dd>no timed records</dd>")?,
    }
    writeln!(
        h,
        "<dt>Records</dt><dd>{} ({} failures, {} untimed)</dd>",
        s.records, s.failures, s.untimed
    )?;
    writeln!(
        h,
        "<dt>Skipped lines</dt><dd>{} malformed, {} blank</dd>",
        s.malformed, s.blank
    )?;
    if s.filtered_out > 0 || s.range.since.is_some() || s.range.until.is_some() {
        writeln!(
            h,
            "<dt>Filtered out</dt><dd>{} records (since {}, until {})</dd>",
            s.filtered_out,
            time_el(s.range.since),
            time_el(s.range.until)
        )?;
    }
    writeln!(
        h,
        "<dt>Generated</dt><dd>{} by audit-analyze {} (report schema {})</dd>",
        match options.generated {
            Some(t) => format!("{} (UTC)", time_el(Some(t))),
            None => "(time not recorded)".to_string(),
        },
        env!("CARGO_PKG_VERSION"),
        report.schema_version
    )?;
    h.push_str("</dl>\n");

    h.push_str("<details class=\"rules\" open>\n<summary>Rule settings</summary>\n");
    h.push_str("<table><thead><tr><th>rule</th><th>state</th><th>severity</th><th>settings</th></tr></thead><tbody>\n");
    for d in report.rules.describe() {
        writeln!(
            h,
            "<tr><td><code>{}</code></td><td>{}</td><td><span class=\"badge sev-{sev}\">{sev}</span></td><td>{}</td></tr>",
            escape(d.name),
            if d.enabled { "on" } else { "off" },
            escape(&d.settings),
            sev = d.severity.name()
        )?;
    }
    let unknown: Vec<String> = report
        .rules
        .unknown_users
        .iter()
        .map(|u| format!("<code>{}</code>", value(u)))
        .collect();
    writeln!(
        h,
        "</tbody></table>\n<p>Unauthenticated user names: {}. Timeline buckets: {}.</p>\n</details>\n</header>",
        unknown.join(", "),
        escape(&report.timeline.bucket)
    )
}

// ---------------------------------------------------------------------------
// Findings

fn findings_section(
    findings: &[&Finding],
    total: usize,
    rest: usize,
    h: &mut String,
) -> std::fmt::Result {
    writeln!(h, "<section id=\"findings\">\n<h2>Findings ({total})</h2>")?;
    if total == 0 {
        h.push_str("<p class=\"none\">No rule found anything.</p>\n</section>\n");
        return Ok(());
    }
    h.push_str("<p class=\"hint\">Most severe first; the numbers mark each finding's time span on the timeline.</p>\n<ol class=\"findings\">\n");
    for (i, f) in findings.iter().enumerate() {
        let n = i + 1;
        let sev = f.severity.name();
        let key_kind = if f.ip.is_some() { "ip" } else { "user" };
        writeln!(
            h,
            "<li class=\"finding sev-{sev}\" id=\"finding-{n}\">\n<div class=\"fhead\"><span class=\"num\">{n}</span> <span class=\"badge sev-{sev}\">{sev}</span> <code class=\"rule\">{}</code> <span class=\"key\">{key_kind} <strong>{}</strong></span></div>",
            escape(f.rule),
            value_span(finding_key(f))
        )?;
        writeln!(h, "<p class=\"sentence\">{}</p>", sentence(f))?;
        h.push_str("<dl class=\"facts\">\n");
        writeln!(h, "<dt>Count</dt><dd>{}</dd>", f.count)?;
        writeln!(
            h,
            "<dt>Time span</dt><dd><time datetime=\"{}\">{}</time> <span class=\"dim\">(UTC, {})</span></dd>",
            f.first,
            span_text(f.first, f.last),
            duration_words(f.first, f.last)
        )?;
        if let (Some(user), Some(_)) = (&f.user, &f.ip) {
            writeln!(h, "<dt>User</dt><dd>{}</dd>", value_span(user))?;
        }
        if let Some(ips) = &f.ips {
            writeln!(
                h,
                "<dt>Ips</dt><dd>{}</dd>",
                list(ips.iter().map(|s| value_span(s)), ips.len())
            )?;
        }
        if let Some(users) = &f.users {
            writeln!(
                h,
                "<dt>Users tried</dt><dd>{}</dd>",
                list(users.iter().map(|s| value_span(s)), users.len())
            )?;
        }
        if let Some(failures) = f.failures {
            writeln!(h, "<dt>Failures</dt><dd>{failures}</dd>")?;
        }
        if let Some(s) = &f.success {
            writeln!(
                h,
                "<dt>Success</dt><dd>{}: {} from {} at {}</dd>",
                value_span(&s.user),
                value_span(&s.event),
                value_span(&s.ip),
                time_el(Some(s.time))
            )?;
        }
        let targets = f.targets.iter().map(|t| {
            format!(
                "{} <span class=\"dim\">×{}</span>",
                value_span(&t.event),
                t.count
            )
        });
        writeln!(
            h,
            "<dt>Targets</dt><dd>{}</dd>",
            list(targets, f.targets.len())
        )?;
        h.push_str("</dl>\n</li>\n");
    }
    h.push_str("</ol>\n");
    if rest > 0 {
        writeln!(
            h,
            "<p class=\"more\">… {rest} more findings (<code>--top 0</code> shows all).</p>"
        )?;
    }
    h.push_str("</section>\n");
    Ok(())
}

/// Up to [`LIST_SHOWN`] items (already HTML) joined, with how many more.
fn list(items: impl Iterator<Item = String>, total: usize) -> String {
    let mut parts: Vec<String> = items.take(LIST_SHOWN).collect();
    if total > LIST_SHOWN {
        parts.push(format!(
            "<span class=\"dim\">+{} more</span>",
            total - LIST_SHOWN
        ));
    }
    parts.join(", ")
}

/// What a finding means, in one plain sentence (HTML).
fn sentence(f: &Finding) -> String {
    let key = format!("<strong>{}</strong>", value(finding_key(f)));
    let when = within(f.first, f.last);
    let ips = f.ips.as_ref().map_or(0, Vec::len) as u64;
    let from = |n: u64| {
        if n == 0 {
            String::new()
        } else {
            format!(" from {}", plural(n, "address", "addresses"))
        }
    };
    match f.rule {
        "unknown_user_burst" => format!(
            "{key} sent {} without a valid identity (invalid, expired or missing tokens) {when}.",
            plural(f.count, "failed request", "failed requests")
        ),
        "brute_force" => format!(
            "{} for the account {key}{} {when}: someone may be guessing its password.",
            plural(f.count, "failed login", "failed logins"),
            from(ips)
        ),
        "password_spray" => format!(
            "{key} failed to log in as {} ({}) {when}: one password tried on many accounts.",
            plural(f.count, "user", "different users"),
            plural(f.failures.unwrap_or(f.count), "failure", "failures")
        ),
        "success_after_failures" => {
            let (user, ip) = match &f.success {
                Some(s) => (value(&s.user), value(&s.ip)),
                None => (value(f.user.as_deref().unwrap_or("-")), "-".to_string()),
            };
            let at = f
                .success
                .as_ref()
                .map_or_else(String::new, |s| format!(" at {}", short_time(s.time)));
            if f.ip.is_some() {
                format!(
                    "<strong>{user}</strong> logged in from {key}{at}, after {} from that address without a valid identity: the account may be compromised.",
                    plural(f.count, "failure", "failures")
                )
            } else {
                format!(
                    "{key} logged in successfully from <strong>{ip}</strong>{at} after {}: the account may be compromised.",
                    plural(f.count, "failed attempt", "failed attempts")
                )
            }
        }
        "access_denied_burst" => format!(
            "{key} was denied access {} {when}{}: an authenticated user probing for privileges.",
            plural(f.count, "time", "times"),
            from(ips)
        ),
        other => format!(
            "{} ({}) for {key} {when}.",
            plural(f.count, "event", "events"),
            escape(other)
        ),
    }
}

// ---------------------------------------------------------------------------
// Timeline

const TL_W: f64 = 960.0;
const TL_H: f64 = 260.0;
const TL_LEFT: f64 = 52.0;
const TL_RIGHT: f64 = 12.0;
const TL_TOP: f64 = 34.0;
const TL_BOTTOM: f64 = 30.0;

/// One bar: consecutive buckets drawn together.
struct Bar {
    start: Timestamp,
    records: u64,
    failures: u64,
}

fn timeline_section(report: &Report, findings: &[&Finding], h: &mut String) -> std::fmt::Result {
    let t = &report.timeline;
    writeln!(h, "<section id=\"timeline\">\n<h2>Timeline</h2>")?;
    if t.buckets.is_empty() {
        h.push_str("<p class=\"none\">No timed records.</p>\n</section>\n");
        return Ok(());
    }
    let width = bucket_width(report);
    let group = t.buckets.len().div_ceil(MAX_BARS);
    let bars: Vec<Bar> = t
        .buckets
        .chunks(group)
        .map(|c| Bar {
            start: c[0].start,
            records: c.iter().map(|b| b.records).sum(),
            failures: c.iter().map(|b| b.failures).sum(),
        })
        .collect();
    let bar_nanos = width * group as i128;
    let t0 = bars[0].start.nanos();
    let t_end = bars[bars.len() - 1].start.nanos() + bar_nanos;
    let peak = bars.iter().map(|b| b.records).max().unwrap_or(0).max(1);
    let pw = TL_W - TL_LEFT - TL_RIGHT;
    let ph = TL_H - TL_TOP - TL_BOTTOM;
    let bottom = TL_TOP + ph;
    let x_of = |nanos: i128| -> f64 {
        let frac = (nanos - t0) as f64 / (t_end - t0).max(1) as f64;
        TL_LEFT + frac.clamp(0.0, 1.0) * pw
    };
    let y_of = |n: u64| -> f64 { n as f64 / peak as f64 * ph };

    let label = if group == 1 {
        format!("{} buckets", escape(&t.bucket))
    } else {
        format!("{} buckets, drawn {group} to a bar", escape(&t.bucket))
    };
    writeln!(
        h,
        "<p class=\"hint\">Records and failures per {label} (UTC); shaded bands are the findings' time spans.</p>"
    )?;
    writeln!(
        h,
        "<svg class=\"chart timeline\" viewBox=\"0 0 {TL_W} {TL_H}\" role=\"img\" aria-label=\"Records and failures per bucket\">"
    )?;
    // Grid and y axis: 0, half and the peak.
    for n in [0, peak / 2, peak] {
        let y = bottom - y_of(n);
        writeln!(
            h,
            "<line class=\"grid\" x1=\"{TL_LEFT}\" x2=\"{:.1}\" y1=\"{y:.1}\" y2=\"{y:.1}\"/><text class=\"axis\" x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\">{n}</text>",
            TL_W - TL_RIGHT,
            TL_LEFT - 6.0,
            y + 4.0
        )?;
    }
    // Findings' spans, behind the bars.
    for (i, f) in findings.iter().enumerate() {
        let (x1, x2) = (x_of(f.first.nanos()), x_of(f.last.nanos()));
        let w = (x2 - x1).max(2.0);
        let sev = f.severity.name();
        let row = if i % 2 == 0 { 12.0 } else { 26.0 };
        writeln!(
            h,
            "<g class=\"finding-mark sev-{sev}\" data-finding=\"{n}\"><title>#{n} {} {}: {}</title><rect class=\"band\" x=\"{x1:.1}\" y=\"{TL_TOP}\" width=\"{w:.1}\" height=\"{ph:.1}\"/><rect class=\"cap\" x=\"{x1:.1}\" y=\"{:.1}\" width=\"{w:.1}\" height=\"3\"/><text class=\"mark-label\" x=\"{x1:.1}\" y=\"{row}\">{n}</text></g>",
            escape(f.rule),
            value(finding_key(f)),
            span_text(f.first, f.last),
            TL_TOP - 4.0,
            n = i + 1
        )?;
    }
    // One mark per bar.
    let slot = pw / bars.len() as f64;
    let gap = if slot > 4.0 { slot * 0.15 } else { 0.0 };
    for (i, b) in bars.iter().enumerate() {
        let x = TL_LEFT + i as f64 * slot + gap / 2.0;
        let w = (slot - gap).max(0.5);
        let (hr, hf) = (y_of(b.records), y_of(b.failures));
        writeln!(
            h,
            "<g class=\"bucket\"><title>{} UTC: {} records, {} failures</title><rect class=\"rec\" x=\"{x:.2}\" y=\"{:.2}\" width=\"{w:.2}\" height=\"{hr:.2}\"/><rect class=\"fail\" x=\"{x:.2}\" y=\"{:.2}\" width=\"{w:.2}\" height=\"{hf:.2}\"/></g>",
            short_time(b.start),
            b.records,
            b.failures,
            bottom - hr,
            bottom - hf
        )?;
    }
    // X axis: about six labels.
    let same_day =
        short_time(bars[0].start).get(..10) == short_time(bars[bars.len() - 1].start).get(..10);
    let step = bars.len().div_ceil(6).max(1);
    for i in (0..bars.len()).step_by(step) {
        let full = short_time(bars[i].start);
        let text = if same_day {
            full.get(11..16).unwrap_or(&full).to_string()
        } else {
            full.get(5..16).unwrap_or(&full).to_string()
        };
        writeln!(
            h,
            "<text class=\"axis\" x=\"{:.1}\" y=\"{:.1}\">{}</text>",
            TL_LEFT + i as f64 * slot,
            bottom + 18.0,
            escape(&text)
        )?;
    }
    h.push_str("</svg>\n");
    h.push_str("<p class=\"legend\"><span class=\"sw rec\"></span> records <span class=\"sw fail\"></span> failures <span class=\"sw band\"></span> finding's time span (numbered as above)</p>\n</section>\n");
    Ok(())
}

/// The bucket width in nanoseconds: from its name (`5m`, `1h`, `1d`), else
/// from the first two buckets, else a minute.
fn bucket_width(report: &Report) -> i128 {
    let named = humantime::parse_duration(&report.timeline.bucket)
        .ok()
        .filter(|d| *d > Duration::ZERO)
        .map(|d| d.as_nanos() as i128);
    let b = &report.timeline.buckets;
    named
        .or_else(|| (b.len() > 1).then(|| b[1].start.nanos() - b[0].start.nanos()))
        .filter(|n| *n > 0)
        .unwrap_or(60 * NANOS_PER_SEC)
}

// ---------------------------------------------------------------------------
// Bar charts

fn charts_section(report: &Report, h: &mut String) -> std::fmt::Result {
    h.push_str(
        "<section id=\"charts\">\n<h2>Failures by user and by event</h2>\n<div class=\"charts\">\n",
    );
    let mut users: Vec<(&str, u64, u64)> = report
        .users
        .iter()
        .filter(|u| u.failures > 0)
        .map(|u| (u.user.as_str(), u.failures, u.total))
        .collect();
    users.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(b.0)));
    let mut events: Vec<(&str, u64, u64)> = report
        .events
        .iter()
        .filter(|e| e.failures > 0)
        .map(|e| (e.event.as_str(), e.failures, e.total))
        .collect();
    events.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(b.0)));
    bar_chart("chart-users", "Top users by failures", &users, h)?;
    bar_chart("chart-events", "Top events by failures", &events, h)?;
    h.push_str("</div>\n</section>\n");
    Ok(())
}

/// A horizontal bar chart of the first [`CHART_ROWS`] of `rows`
/// (name, failures, total).
fn bar_chart(id: &str, title: &str, rows: &[(&str, u64, u64)], h: &mut String) -> std::fmt::Result {
    writeln!(h, "<figure id=\"{id}\">\n<figcaption>{title}</figcaption>")?;
    if rows.is_empty() {
        h.push_str("<p class=\"none\">No failures.</p>\n</figure>\n");
        return Ok(());
    }
    let rows = &rows[..rows.len().min(CHART_ROWS)];
    const W: f64 = 460.0;
    const LABEL: f64 = 190.0;
    const ROW: f64 = 24.0;
    const COUNT: f64 = 70.0;
    let height = ROW * rows.len() as f64 + 4.0;
    let peak = rows.iter().map(|r| r.1).max().unwrap_or(1).max(1);
    writeln!(
        h,
        "<svg class=\"chart bars\" viewBox=\"0 0 {W} {height}\" role=\"img\" aria-label=\"{}\">",
        escape(title)
    )?;
    for (i, (name, failures, total)) in rows.iter().enumerate() {
        let y = 2.0 + i as f64 * ROW;
        let w = (*failures as f64 / peak as f64 * (W - LABEL - COUNT)).max(1.0);
        let visible = sanitize::for_terminal(name);
        writeln!(
            h,
            "<g class=\"bar\"><title>{}: {failures} failures of {total}</title><text class=\"label\" x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\">{}</text><rect class=\"fail\" x=\"{LABEL}\" y=\"{:.1}\" width=\"{w:.1}\" height=\"{:.1}\"/><text class=\"count\" x=\"{:.1}\" y=\"{:.1}\">{failures}</text></g>",
            escape(&cut(&visible, 1000)),
            LABEL - 6.0,
            y + ROW * 0.68,
            escape(&cut(&visible, 26)),
            y + 3.0,
            ROW - 6.0,
            LABEL + w + 5.0,
            y + ROW * 0.68
        )?;
    }
    h.push_str("</svg>\n</figure>\n");
    Ok(())
}

// ---------------------------------------------------------------------------
// Tables

/// A column: its header and whether it sorts as a number.
struct Col(&'static str, bool);

fn tables(report: &Report, options: RenderOptions, h: &mut String) -> std::fmt::Result {
    let top = options.top;
    let num = |n: u64| format!("<td class=\"n\">{n}</td>");
    let time = |t: Option<Timestamp>| format!("<td>{}</td>", time_el(t));
    table(
        h,
        "users",
        "Users",
        &[
            Col("user", false),
            Col("total", true),
            Col("failures", true),
            Col("fail %", true),
            Col("events", true),
            Col("first seen (UTC)", false),
            Col("last seen (UTC)", false),
        ],
        report.users.len(),
        top,
        |i| {
            let u = &report.users[i];
            let pct = percent(u.failures, u.total);
            format!(
                "<td>{}</td>{}{}<td class=\"n\" data-v=\"{}\">{pct}</td>{}{}{}",
                value_span(&u.user),
                num(u.total),
                num(u.failures),
                pct.trim_end_matches('%'),
                num(u.events),
                time(u.first_seen),
                time(u.last_seen)
            )
        },
    )?;
    table(
        h,
        "events",
        "Events",
        &[
            Col("event", false),
            Col("total", true),
            Col("failures", true),
            Col("users", true),
        ],
        report.events.len(),
        top,
        |i| {
            let e = &report.events[i];
            format!(
                "<td>{}</td>{}{}{}",
                value_span(&e.event),
                num(e.total),
                num(e.failures),
                num(e.users)
            )
        },
    )?;
    table(
        h,
        "ips",
        "Sources (ips)",
        &[
            Col("ip", false),
            Col("total", true),
            Col("failures", true),
            Col("unknown-user failures", true),
            Col("users", true),
            Col("first seen (UTC)", false),
            Col("last seen (UTC)", false),
        ],
        report.ips.len(),
        top,
        |i| {
            let r = &report.ips[i];
            format!(
                "<td>{}</td>{}{}{}{}{}{}",
                value_span(&r.ip),
                num(r.total),
                num(r.failures),
                num(r.unknown_user_failures),
                num(r.users),
                time(r.first_seen),
                time(r.last_seen)
            )
        },
    )
}

fn table(
    h: &mut String,
    id: &str,
    title: &str,
    cols: &[Col],
    total: usize,
    top: Option<usize>,
    row: impl Fn(usize) -> String,
) -> std::fmt::Result {
    writeln!(h, "<section id=\"{id}\">\n<h2>{title} ({total})</h2>")?;
    if total == 0 {
        h.push_str("<p class=\"none\">None.</p>\n</section>\n");
        return Ok(());
    }
    writeln!(
        h,
        "<div class=\"scroll\"><table class=\"sortable\" id=\"{id}-table\">"
    )?;
    h.push_str("<thead><tr>");
    for Col(name, numeric) in cols {
        let class = if *numeric {
            " class=\"n\" data-type=\"num\""
        } else {
            ""
        };
        write!(h, "<th{class}>{name}</th>")?;
    }
    h.push_str("</tr></thead>\n<tbody>\n");
    let (shown, rest) = shown(total, top);
    for i in 0..shown {
        writeln!(h, "<tr>{}</tr>", row(i))?;
    }
    h.push_str("</tbody></table></div>\n");
    if rest > 0 {
        writeln!(
            h,
            "<p class=\"more\">… {rest} more (<code>--top 0</code> shows all).</p>"
        )?;
    }
    h.push_str("</section>\n");
    Ok(())
}

// ---------------------------------------------------------------------------
// The fixed parts of the page

const HEAD: &str = r#"<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; base-uri 'none'; form-action 'none'">
<meta name="referrer" content="no-referrer">
<meta name="color-scheme" content="light dark">
<title>audit-analyze report</title>
<style>
:root{--bg:#fff;--fg:#1f2328;--dim:#59636e;--line:#d1d9e0;--panel:#f6f8fa;--rec:#9fb3c8;--fail:#cf222e;--grid:#e3e8ee;
--critical:#a40e26;--high:#bc4c00;--medium:#9a6700;--low:#0969da;font-family:system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif}
@media (prefers-color-scheme:dark){:root{--bg:#0d1117;--fg:#e6edf3;--dim:#9198a1;--line:#3d444d;--panel:#151b23;--rec:#4d6a88;--fail:#f85149;--grid:#262c36;
--critical:#ff7b72;--high:#f0883e;--medium:#d29922;--low:#58a6ff}}
*{box-sizing:border-box}
body{margin:0 auto;max-width:1200px;padding:1.5rem 2rem 3rem;background:var(--bg);color:var(--fg);line-height:1.45;font-size:15px}
h1{font-size:1.7rem;margin:0 0 .8rem}
h2{font-size:1.25rem;margin:2rem 0 .6rem;padding-bottom:.3rem;border-bottom:1px solid var(--line)}
code{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:.92em}
.dim,.hint,.more,footer,.legend{color:var(--dim)}
.hint,.more,.legend{font-size:.9rem;margin:.3rem 0 .8rem}
dl.meta{display:grid;grid-template-columns:max-content 1fr;gap:.2rem 1rem;margin:0 0 1rem}
dl.meta dt{font-weight:600}
dl.meta dd{margin:0;overflow-wrap:anywhere}
details.rules{background:var(--panel);border:1px solid var(--line);border-radius:6px;padding:.5rem .9rem}
details.rules summary{cursor:pointer;font-weight:600}
details.rules p{margin:.5rem 0 0;font-size:.9rem}
details.rules td:first-child{white-space:nowrap}
.badge{display:inline-block;white-space:nowrap;padding:0 .5em;border-radius:1em;font-size:.8rem;font-weight:700;text-transform:uppercase;letter-spacing:.03em;color:#fff;background:var(--c)}
@media (prefers-color-scheme:dark){.badge{color:#0d1117}}
.sev-critical{--c:var(--critical)}.sev-high{--c:var(--high)}.sev-medium{--c:var(--medium)}.sev-low{--c:var(--low)}
ol.findings{list-style:none;padding:0;margin:0;display:grid;gap:.8rem}
li.finding{border:1px solid var(--line);border-left:6px solid var(--c);border-radius:6px;padding:.6rem .9rem;background:var(--panel);break-inside:avoid}
.fhead{display:flex;flex-wrap:wrap;align-items:center;gap:.5rem}
.fhead .num{font-weight:700;min-width:1.6em;height:1.6em;border-radius:50%;display:inline-flex;align-items:center;justify-content:center;border:2px solid var(--c);color:var(--c);font-size:.85rem}
.fhead .key{margin-left:auto;overflow-wrap:anywhere}
p.sentence{margin:.45rem 0;font-size:1.02rem}
dl.facts{display:grid;grid-template-columns:max-content 1fr;gap:.1rem .9rem;margin:0;font-size:.9rem}
dl.facts dt{color:var(--dim)}
dl.facts dd{margin:0;overflow-wrap:anywhere}
svg.chart{width:100%;height:auto;display:block}
svg text{fill:var(--fg);font-size:12px}
svg .axis{fill:var(--dim);font-size:11px}
svg .grid{stroke:var(--grid);stroke-width:1}
svg .rec,.sw.rec{fill:var(--rec);background:var(--rec)}
svg .fail,.sw.fail{fill:var(--fail);background:var(--fail)}
svg .band{fill:var(--c);opacity:.16}
svg .cap{fill:var(--c)}
svg .mark-label{fill:var(--c);font-weight:700;font-size:12px}
.sw{display:inline-block;width:.9em;height:.9em;vertical-align:-.1em;margin-left:.8em;border-radius:2px}
.sw.band{background:var(--high);opacity:.35}
.charts{display:grid;grid-template-columns:repeat(auto-fit,minmax(420px,1fr));gap:1.5rem}
figure{margin:0}
figcaption{font-weight:600;margin-bottom:.4rem}
.scroll{overflow-x:auto}
table{border-collapse:collapse;width:100%;font-size:.9rem}
th,td{padding:.3rem .6rem;border-bottom:1px solid var(--line);text-align:left;vertical-align:top}
td{overflow-wrap:break-word}
td time{white-space:nowrap}
th{background:var(--panel);font-weight:600;white-space:nowrap}
.n{text-align:right;font-variant-numeric:tabular-nums}
tbody tr:nth-child(even){background:var(--panel)}
html.js table.sortable th{cursor:pointer}
html.js table.sortable th[aria-sort=ascending]::after{content:" ▲"}
html.js table.sortable th[aria-sort=descending]::after{content:" ▼"}
footer{margin-top:2.5rem;font-size:.85rem;border-top:1px solid var(--line);padding-top:.6rem}
@media print{
:root{--bg:#fff;--fg:#000;--dim:#444;--line:#bbb;--panel:#fff;--rec:#9fb3c8;--fail:#cf222e;--grid:#ddd;--critical:#a40e26;--high:#bc4c00;--medium:#9a6700;--low:#0969da}
body{max-width:none;padding:0;font-size:11pt}
.badge{color:#fff}
details.rules{border:none;padding:0}
h2{break-after:avoid}
figure,tr,li.finding,svg{break-inside:avoid}
.charts{grid-template-columns:1fr 1fr;gap:1rem}
table{font-size:8.5pt}
th{white-space:normal}
.scroll{overflow:visible}
tbody tr:nth-child(even){background:none}
html.js table.sortable th::after{content:""}
}
</style>
</head>
<body>
"#;

const SCRIPT: &str = r#"<script>
// Optional: sort a table by clicking (or Enter on) a column header.
document.documentElement.classList.add("js");
for (const table of document.querySelectorAll("table.sortable")) {
  table.dataset.sortable = "on";
  const heads = Array.from(table.tHead.rows[0].cells);
  heads.forEach((th, col) => {
    th.tabIndex = 0;
    th.setAttribute("aria-sort", "none");
    const sort = () => {
      const numeric = th.dataset.type === "num";
      const ascending = th.getAttribute("aria-sort") !== "ascending";
      heads.forEach((h) => h.setAttribute("aria-sort", "none"));
      th.setAttribute("aria-sort", ascending ? "ascending" : "descending");
      const body = table.tBodies[0];
      const key = (row) => {
        const cell = row.cells[col];
        const text = cell.dataset.v ?? cell.textContent;
        return numeric ? parseFloat(text) || 0 : text;
      };
      const rows = Array.from(body.rows);
      rows.sort((a, b) => {
        const x = key(a), y = key(b);
        const c = numeric ? x - y : String(x).localeCompare(String(y));
        return ascending ? c : -c;
      });
      for (const row of rows) body.appendChild(row);
    };
    th.addEventListener("click", sort);
    th.addEventListener("keydown", (e) => {
      if (e.key === "Enter" || e.key === " ") { e.preventDefault(); sort(); }
    });
  });
}
</script>
"#;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escape_makes_markup_inert() {
        assert_eq!(
            escape("<script>alert(1)</script>"),
            "&lt;script&gt;alert(1)&lt;/script&gt;"
        );
        assert_eq!(
            escape("\"><img src=x onerror=alert(1)>"),
            "&quot;&gt;&lt;img src=x onerror=alert(1)&gt;"
        );
        assert_eq!(escape("a&b 'c'"), "a&amp;b &#39;c&#39;");
        assert_eq!(escape("GET /api/orders/:id"), "GET /api/orders/:id");
    }

    #[test]
    fn values_are_made_visible_then_escaped_and_cut() {
        assert_eq!(value("a\u{202E}<b>"), "a\\u{202e}&lt;b&gt;");
        let long = "<".repeat(500);
        let v = value(&long);
        assert_eq!(v.matches("&lt;").count(), MAX_VALUE_CHARS - 1);
        assert!(v.ends_with('…'));
        assert!(value_span(&long).starts_with("<span title=\""));
    }

    #[test]
    fn durations_read_naturally() {
        let t = |s: i128| Timestamp::from_nanos(s * NANOS_PER_SEC).unwrap();
        assert_eq!(duration_words(t(0), t(0)), "under a second");
        assert_eq!(duration_words(t(0), t(1)), "1 second");
        assert_eq!(duration_words(t(0), t(45)), "45 seconds");
        assert_eq!(duration_words(t(0), t(137)), "2 minutes");
        assert_eq!(duration_words(t(0), t(3600)), "60 minutes");
        assert_eq!(duration_words(t(0), t(5 * 3600)), "5 hours");
        assert_eq!(duration_words(t(0), t(3 * 86_400)), "3 days");
        assert_eq!(within(t(5), t(5)), "at one instant");
    }

    #[test]
    fn every_severity_has_a_colour() {
        use crate::report::Severity;
        for s in [
            Severity::Critical,
            Severity::High,
            Severity::Medium,
            Severity::Low,
        ] {
            assert!(HEAD.contains(&format!(".sev-{}{{--c:", s.name())));
        }
    }

    #[test]
    fn the_fixed_parts_load_nothing() {
        for part in [HEAD, SCRIPT] {
            for bad in [
                "http:",
                "https:",
                "url(",
                "@import",
                "src=",
                "fetch(",
                "XMLHttpRequest",
            ] {
                assert!(!part.contains(bad), "{bad}");
            }
        }
    }
}
