//! `--format csv --section NAME`: one table as RFC 4180 CSV. Text cells from
//! the log have control and invisible characters escaped (as in tables, so
//! CSV on a terminal is safe too), and a cell that a spreadsheet would run
//! as a formula (starting with `=`, `+`, `-`, `@`, tab or CR) is prefixed
//! with `'`.

use std::io::{self, Write};

use crate::cli::Section;
use crate::report::Report;
use crate::sanitize;
use crate::timestamp::Timestamp;

/// Writes the chosen table with a header row.
pub fn write(report: &Report, section: Section, out: &mut impl Write) -> io::Result<()> {
    let mut w = ::csv::Writer::from_writer(out);
    let time = |t: Option<Timestamp>| t.map(|t| t.to_string()).unwrap_or_default();
    match section {
        Section::Users => {
            w.write_record([
                "user",
                "total",
                "failures",
                "first_seen",
                "last_seen",
                "events",
            ])?;
            for u in &report.users {
                w.write_record([
                    cell(&u.user),
                    u.total.to_string(),
                    u.failures.to_string(),
                    time(u.first_seen),
                    time(u.last_seen),
                    u.events.to_string(),
                ])?;
            }
        }
        Section::Events => {
            w.write_record(["event", "total", "failures", "users"])?;
            for e in &report.events {
                w.write_record([
                    cell(&e.event),
                    e.total.to_string(),
                    e.failures.to_string(),
                    e.users.to_string(),
                ])?;
            }
        }
        Section::Ips => {
            w.write_record([
                "ip",
                "total",
                "failures",
                "unknown_user_failures",
                "users",
                "first_seen",
                "last_seen",
            ])?;
            for i in &report.ips {
                w.write_record([
                    cell(&i.ip),
                    i.total.to_string(),
                    i.failures.to_string(),
                    i.unknown_user_failures.to_string(),
                    i.users.to_string(),
                    time(i.first_seen),
                    time(i.last_seen),
                ])?;
            }
        }
        Section::Findings => {
            w.write_record([
                "rule", "severity", "ip", "user", "count", "first", "last", "targets",
            ])?;
            for f in &report.findings {
                let targets: Vec<String> = f
                    .targets
                    .iter()
                    .map(|t| format!("{} x{}", t.event, t.count))
                    .collect();
                w.write_record([
                    f.rule.to_string(),
                    f.severity.name().to_string(),
                    cell(f.ip.as_deref().unwrap_or("")),
                    cell(f.user.as_deref().unwrap_or("")),
                    f.count.to_string(),
                    f.first.to_string(),
                    f.last.to_string(),
                    cell(&targets.join("; ")),
                ])?;
            }
        }
        Section::Timeline => {
            w.write_record(["start", "records", "failures"])?;
            for b in &report.timeline.buckets {
                w.write_record([
                    b.start.to_string(),
                    b.records.to_string(),
                    b.failures.to_string(),
                ])?;
            }
        }
    }
    w.flush()
}

/// A text cell from the log, defused for spreadsheets.
fn cell(value: &str) -> String {
    match value.as_bytes().first() {
        Some(b'=' | b'+' | b'-' | b'@' | b'\t' | b'\r') => {
            format!("'{}", sanitize::for_terminal(value))
        }
        _ => sanitize::for_terminal(value).into_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formula_cells_are_defused() {
        for bad in ["=HYPERLINK(\"x\")", "+1", "-2+3", "@SUM(A1)"] {
            assert_eq!(cell(bad), format!("'{bad}"));
        }
        assert_eq!(cell("\tx"), "'\\u{9}x");
        assert_eq!(cell("\rx"), "'\\u{d}x");
        assert_eq!(cell("\u{1b}[31m"), "\\u{1b}[31m");
        assert_eq!(cell("alice"), "alice");
        assert_eq!(cell(""), "");
    }
}
