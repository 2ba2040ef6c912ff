//! `--format table`: a summary and headed tables for people, at most 100
//! columns wide. Every value that came from a log is escaped for the
//! terminal and shortened so one hostile value cannot flood the screen.

use std::borrow::Cow;
use std::io::{self, Write};

use comfy_table::{Cell, CellAlignment, ColumnConstraint, ContentArrangement, Table, presets};

use super::{RenderOptions, finding_key, percent};
use crate::report::{FileSummary, Finding, Report};
use crate::sanitize;
use crate::timestamp::Timestamp;

/// The widest the tables get.
const WIDTH: u16 = 100;
/// The most characters of one log value a cell shows.
const MAX_VALUE_CHARS: usize = 48;
/// How many targets a finding row names.
const TARGETS_SHOWN: usize = 3;

/// Writes the table report.
pub fn write(report: &Report, options: RenderOptions, out: &mut impl Write) -> io::Result<()> {
    write_summary(report, out)?;

    let users = report.users.iter().map(|u| {
        vec![
            value_cell(&u.user),
            number_cell(u.total),
            number_cell(u.failures),
            Cell::new(percent(u.failures, u.total)).set_alignment(CellAlignment::Right),
            Cell::new(short_time(u.first_seen)),
            Cell::new(short_time(u.last_seen)),
        ]
    });
    write_section(
        out,
        "Users",
        &[
            "user",
            "total",
            "failures",
            "fail %",
            "first seen (UTC)",
            "last seen (UTC)",
        ],
        users,
        report.users.len(),
        options.top,
        "users",
        0,
    )?;

    let events = report.events.iter().map(|e| {
        vec![
            value_cell(&e.event),
            number_cell(e.total),
            number_cell(e.failures),
            number_cell(e.users),
        ]
    });
    write_section(
        out,
        "Events",
        &["event", "total", "failures", "users"],
        events,
        report.events.len(),
        options.top,
        "events",
        0,
    )?;

    let ips = report.ips.iter().map(|r| {
        vec![
            value_cell(&r.ip),
            number_cell(r.total),
            number_cell(r.failures),
            number_cell(r.unknown_user_failures),
            number_cell(r.users),
            Cell::new(short_time(r.first_seen)),
            Cell::new(short_time(r.last_seen)),
        ]
    });
    write_section(
        out,
        "Sources",
        &[
            "ip",
            "total",
            "fail",
            "unknown",
            "users",
            "first seen (UTC)",
            "last seen (UTC)",
        ],
        ips,
        report.ips.len(),
        options.top,
        "ips",
        0,
    )?;

    let peak = report
        .timeline
        .buckets
        .iter()
        .map(|b| b.records)
        .max()
        .unwrap_or(0);
    let buckets = report.timeline.buckets.iter().map(|b| {
        vec![
            Cell::new(short_time(Some(b.start))),
            number_cell(b.records),
            number_cell(b.failures),
            Cell::new(bar(b.records, b.failures, peak)),
        ]
    });
    write_section(
        out,
        &format!("Timeline, {} buckets", report.timeline.bucket),
        &[
            "bucket start (UTC)",
            "records",
            "failures",
            "█ failures  ░ other records",
        ],
        buckets,
        report.timeline.buckets.len(),
        None,
        "buckets",
        3,
    )?;

    let findings = report.findings.iter().map(|f| {
        vec![
            Cell::new(format!("{}\n{}", f.rule, f.severity.name())),
            value_cell(finding_key(f)),
            number_cell(f.count),
            Cell::new(span(f.first, f.last)),
            Cell::new(top_targets(f)),
        ]
    });
    let mut findings_text = Vec::new();
    write_section(
        &mut findings_text,
        "Findings",
        &[
            "rule / severity",
            "ip / user",
            "count",
            "time span (UTC)",
            "top targets",
        ],
        findings,
        report.findings.len(),
        options.top,
        "findings",
        4,
    )?;
    let findings_text = String::from_utf8_lossy(&findings_text);
    if options.color {
        out.write_all(colour_severities(&findings_text).as_bytes())
    } else {
        out.write_all(findings_text.as_bytes())
    }
}

/// The findings table with each severity (alone in the first cell of a
/// row's second line) in its ANSI colour. Done after layout so the colour
/// codes do not count as width; log values cannot be mistaken for a
/// severity, as they are never in the first column.
fn colour_severities(table: &str) -> String {
    let mut out = String::with_capacity(table.len() + 256);
    for line in table.split_inclusive('\n') {
        let coloured = line.strip_prefix('│').and_then(|rest| {
            let (cell, after) = rest.split_once('┆')?;
            let word = cell.trim();
            let code = match word {
                "critical" => "1;31",
                "high" => "31",
                "medium" => "33",
                "low" => "36",
                _ => return None,
            };
            let padded = cell.replacen(word, &format!("\x1b[{code}m{word}\x1b[0m"), 1);
            Some(format!("│{padded}┆{after}"))
        });
        out.push_str(coloured.as_deref().unwrap_or(line));
    }
    out
}

fn write_summary(report: &Report, out: &mut impl Write) -> io::Result<()> {
    let s = &report.summary;
    if let [file] = &s.files[..] {
        writeln!(out, "Files:     {}", file_label(file))?;
        if file.unmatched > 0 {
            writeln!(
                out,
                "           {} records matched no field",
                file.unmatched
            )?;
        }
    } else {
        writeln!(out, "Files:     {}", s.files.len())?;
        for file in &s.files {
            let plural = if file.records == 1 { "" } else { "s" };
            let mut counts = vec![format!("{} record{plural}", file.records)];
            for (n, what) in [
                (file.malformed, "malformed"),
                (file.skipped, "skipped"),
                (file.unmatched, "matched no field"),
            ] {
                if n > 0 {
                    counts.push(format!("{n} {what}"));
                }
            }
            writeln!(out, "  {}: {}", file_label(file), counts.join(", "))?;
        }
    }
    if s.skipped_files > 0 {
        writeln!(
            out,
            "           {} files in directories skipped (not log files)",
            s.skipped_files
        )?;
    }
    let skipped = if s.skipped > 0 {
        format!(", {} skipped by format", s.skipped)
    } else {
        String::new()
    };
    writeln!(
        out,
        "Records:   {} ({} failures, {} untimed); skipped lines: {} malformed, {} blank{skipped}",
        s.records, s.failures, s.untimed, s.malformed, s.blank
    )?;
    match (s.first, s.last) {
        (Some(first), Some(last)) => writeln!(out, "Time span: {first} → {last}")?,
        _ => writeln!(out, "Time span: no timed records")?,
    }
    Ok(())
}

/// `path (format, gzip)`, the path escaped for the terminal.
fn file_label(file: &FileSummary) -> String {
    let path: Cow<str> = sanitize::for_terminal(&file.path);
    let mut tags: Vec<&str> = vec![file.format.as_deref().unwrap_or("unread")];
    tags.extend(file.compression);
    format!("{path} ({})", tags.join(", "))
}

/// Writes a headed table trimmed to `top` rows, with a line saying how many
/// rows were left out. Only column `flex` wraps when the table is too wide.
#[allow(clippy::too_many_arguments)]
fn write_section(
    out: &mut impl Write,
    title: &str,
    header: &[&str],
    rows: impl Iterator<Item = Vec<Cell>>,
    total: usize,
    top: Option<usize>,
    noun: &str,
    flex: usize,
) -> io::Result<()> {
    writeln!(out)?;
    writeln!(out, "{title} ({total})")?;
    if total == 0 {
        return writeln!(out, "  none");
    }
    let shown = top.unwrap_or(total).min(total);
    let mut table = Table::new();
    table
        .load_style(presets::UTF8_FULL_CONDENSED)
        .set_content_arrangement(ContentArrangement::Dynamic)
        .set_width(WIDTH)
        .set_header(header.iter().map(Cell::new));
    for row in rows.take(shown) {
        table.add_row(row);
    }
    for (i, column) in table.column_iter_mut().enumerate() {
        if i != flex {
            column.set_constraint(ColumnConstraint::ContentWidth);
        }
    }
    writeln!(out, "{table}")?;
    if shown < total {
        writeln!(out, "… {} more {noun} (--top 0 shows all)", total - shown)?;
    }
    Ok(())
}

/// A cell for a value taken from a log: escaped and shortened.
fn value_cell(value: &str) -> Cell {
    Cell::new(shorten(&sanitize::for_terminal(value)))
}

fn number_cell(n: u64) -> Cell {
    Cell::new(n).set_alignment(CellAlignment::Right)
}

/// At most [`MAX_VALUE_CHARS`] characters, the cut marked with `…`.
fn shorten(s: &str) -> String {
    match s.char_indices().nth(MAX_VALUE_CHARS) {
        None => s.to_string(),
        Some((cut, _)) => format!(
            "{}…",
            &s[..s
                .char_indices()
                .nth(MAX_VALUE_CHARS - 1)
                .map_or(cut, |(i, _)| i)]
        ),
    }
}

/// The widest a timeline bar gets.
const BAR_WIDTH: u64 = 40;

/// A bar as long as `records` relative to `peak`: `█` for failures, `░` for
/// the other records; integer arithmetic, so equal inputs give equal bars.
fn bar(records: u64, failures: u64, peak: u64) -> String {
    if peak == 0 {
        return String::new();
    }
    let scale =
        |n: u64| (u128::from(n) * u128::from(BAR_WIDTH)).div_ceil(u128::from(peak)) as usize;
    let failed = scale(failures);
    let total = scale(records).max(failed);
    format!("{}{}", "█".repeat(failed), "░".repeat(total - failed))
}

/// `2023-09-22 10:15:30`: the table's compact form of a time (UTC, seconds).
fn short_time(t: Option<Timestamp>) -> String {
    match t {
        Some(t) => {
            let full = t.to_string();
            format!("{} {}", &full[..10], &full[11..19])
        }
        None => "-".to_string(),
    }
}

/// `2023-09-22 09:12:04 → 09:14:21`, repeating the date only when it changes.
fn span(first: Timestamp, last: Timestamp) -> String {
    let (a, b) = (short_time(Some(first)), short_time(Some(last)));
    if a[..10] == b[..10] {
        format!("{a}\n→ {}", &b[11..])
    } else {
        format!("{a}\n→ {b}")
    }
}

/// The most targeted events, one per line.
fn top_targets(f: &Finding) -> String {
    let mut parts: Vec<String> = f
        .targets
        .iter()
        .take(TARGETS_SHOWN)
        .map(|t| {
            format!(
                "{} ×{}",
                shorten(&sanitize::for_terminal(&t.event)),
                t.count
            )
        })
        .collect();
    if f.targets.len() > TARGETS_SHOWN {
        parts.push(format!("+{} more", f.targets.len() - TARGETS_SHOWN));
    }
    parts.join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bars_scale_to_the_peak_and_show_failures() {
        assert_eq!(bar(10, 0, 10).chars().count(), 40);
        assert_eq!(
            bar(10, 5, 10),
            format!("{}{}", "█".repeat(20), "░".repeat(20))
        );
        assert_eq!(bar(1, 0, 1000), "░");
        assert_eq!(bar(0, 0, 1000), "");
        assert_eq!(bar(0, 0, 0), "");
    }

    #[test]
    fn severities_are_coloured_in_the_first_column_only() {
        let table = "│ rule / severity ┆ ip / user │\n│ brute_force     ┆ high      │\n│ high            ┆           │\n";
        let coloured = colour_severities(table);
        assert_eq!(
            coloured,
            "│ rule / severity ┆ ip / user │\n│ brute_force     ┆ high      │\n│ \x1b[31mhigh\x1b[0m            ┆           │\n"
        );
    }

    #[test]
    fn long_values_are_shortened() {
        assert_eq!(shorten("short"), "short");
        let long = "é".repeat(60);
        let s = shorten(&long);
        assert_eq!(s.chars().count(), MAX_VALUE_CHARS);
        assert!(s.ends_with('…'));
        assert_eq!(
            shorten(&"x".repeat(MAX_VALUE_CHARS)),
            "x".repeat(MAX_VALUE_CHARS)
        );
    }
}
