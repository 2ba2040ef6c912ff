//! `--format markdown`: the whole report as GitHub-flavoured Markdown, fit
//! for a CI job summary; findings first. Log values are escaped so that
//! `|`, backticks, `<`, brackets and newlines cannot break a table or
//! inject markup.

use std::io::{self, Write};

use super::{RenderOptions, finding_key, percent, shown};
use crate::report::Report;
use crate::sanitize;
use crate::timestamp::Timestamp;

/// Writes the Markdown report.
pub fn write(report: &Report, options: RenderOptions, out: &mut impl Write) -> io::Result<()> {
    let s = &report.summary;
    writeln!(out, "# audit-analyze report\n")?;
    let files: Vec<String> = s
        .files
        .iter()
        .map(|f| match &f.format {
            Some(format) => format!("`{}` ({})", code(&f.path), cell(format)),
            None => format!("`{}`", code(&f.path)),
        })
        .collect();
    writeln!(out, "- **Files:** {}", files.join(", "))?;
    writeln!(
        out,
        "- **Records:** {} ({} failures, {} untimed); skipped lines: {} malformed, {} blank",
        s.records, s.failures, s.untimed, s.malformed, s.blank
    )?;
    match (s.first, s.last) {
        (Some(a), Some(b)) => writeln!(out, "- **Time span:** {a} → {b}")?,
        _ => writeln!(out, "- **Time span:** no timed records")?,
    }
    if s.filtered_out > 0 {
        writeln!(out, "- **Filtered out:** {} records", s.filtered_out)?;
    }

    let top = options.top;
    section(
        out,
        "Findings",
        report.findings.len(),
        top,
        &[
            "severity",
            "rule",
            "ip / user",
            "count",
            "first",
            "last",
            "top targets",
        ],
        |i| {
            let f = &report.findings[i];
            let targets: Vec<String> = f
                .targets
                .iter()
                .take(3)
                .map(|t| format!("{} ×{}", cell(&t.event), t.count))
                .collect();
            vec![
                format!("**{}**", f.severity.name()),
                f.rule.to_string(),
                cell(finding_key(f)),
                f.count.to_string(),
                f.first.to_string(),
                f.last.to_string(),
                targets.join("<br>"),
            ]
        },
    )?;
    section(
        out,
        "Users",
        report.users.len(),
        top,
        &[
            "user",
            "total",
            "failures",
            "fail %",
            "first seen",
            "last seen",
        ],
        |i| {
            let u = &report.users[i];
            vec![
                cell(&u.user),
                u.total.to_string(),
                u.failures.to_string(),
                percent(u.failures, u.total),
                time(u.first_seen),
                time(u.last_seen),
            ]
        },
    )?;
    section(
        out,
        "Events",
        report.events.len(),
        top,
        &["event", "total", "failures", "users"],
        |i| {
            let e = &report.events[i];
            vec![
                cell(&e.event),
                e.total.to_string(),
                e.failures.to_string(),
                e.users.to_string(),
            ]
        },
    )?;
    section(
        out,
        "Sources",
        report.ips.len(),
        top,
        &[
            "ip",
            "total",
            "failures",
            "unknown_user failures",
            "users",
            "first seen",
            "last seen",
        ],
        |i| {
            let r = &report.ips[i];
            vec![
                cell(&r.ip),
                r.total.to_string(),
                r.failures.to_string(),
                r.unknown_user_failures.to_string(),
                r.users.to_string(),
                time(r.first_seen),
                time(r.last_seen),
            ]
        },
    )?;
    let buckets = &report.timeline.buckets;
    section(
        out,
        &format!("Timeline (per {})", report.timeline.bucket),
        buckets.len(),
        None,
        &["start", "records", "failures"],
        |i| {
            let b = &buckets[i];
            vec![
                b.start.to_string(),
                b.records.to_string(),
                b.failures.to_string(),
            ]
        },
    )
}

fn section(
    out: &mut impl Write,
    title: &str,
    total: usize,
    top: Option<usize>,
    header: &[&str],
    row: impl Fn(usize) -> Vec<String>,
) -> io::Result<()> {
    writeln!(out, "\n## {title} ({total})\n")?;
    if total == 0 {
        return writeln!(out, "None.");
    }
    writeln!(out, "| {} |", header.join(" | "))?;
    writeln!(out, "|{}", "---|".repeat(header.len()))?;
    let (shown, rest) = shown(total, top);
    for i in 0..shown {
        writeln!(out, "| {} |", row(i).join(" | "))?;
    }
    if rest > 0 {
        writeln!(out, "\n… {rest} more (`--top 0` shows all)")?;
    }
    Ok(())
}

fn time(t: Option<Timestamp>) -> String {
    t.map_or_else(|| "-".to_string(), |t| t.to_string())
}

/// A log value made inert inside a Markdown table cell: control and
/// invisible characters escaped, Markdown punctuation backslash-escaped,
/// `<`, `>` and `&` as entities, so nothing becomes markup.
fn cell(value: &str) -> String {
    let visible = sanitize::for_terminal(value);
    let mut out = String::with_capacity(visible.len() + 8);
    for c in visible.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '\\' | '`' | '|' | '*' | '_' | '[' | ']' | '(' | ')' | '#' | '!' | '~' | '$' => {
                out.push('\\');
                out.push(c);
            }
            _ => out.push(c),
        }
    }
    out
}

/// A value inside inline code: backticks cannot be escaped there, so they
/// are replaced.
fn code(value: &str) -> String {
    sanitize::for_terminal(value)
        .replace('`', "'")
        .replace('|', "\\|")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_cannot_break_tables_or_inject_markup() {
        assert_eq!(cell("a|b"), "a\\|b");
        assert_eq!(cell("`x`"), "\\`x\\`");
        assert_eq!(
            cell("<script>alert(1)</script>"),
            "&lt;script&gt;alert\\(1\\)&lt;/script&gt;"
        );
        assert_eq!(cell("line\nbreak"), "line\\\\u{a}break");
        assert_eq!(
            cell("[x](javascript:alert(1))"),
            "\\[x\\]\\(javascript:alert\\(1\\)\\)"
        );
        assert_eq!(cell("**bold**"), "\\*\\*bold\\*\\*");
        assert_eq!(cell("GET /api/orders/:id"), "GET /api/orders/:id");
    }
}
