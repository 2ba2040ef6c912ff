//! [`Report`] → bytes: one module per output format, chosen by one `match`.
//! Renderers only format; they never recompute what the analyzer decided.

use std::io::{self, Write};

use crate::cli::{OutputFormat, Section};
use crate::report::{Finding, Report};
use crate::timestamp::Timestamp;

mod csv;
mod html;
mod json;
mod markdown;
mod table;

/// How a report is shown, beyond its format.
#[derive(Clone, Copy, Debug)]
pub struct RenderOptions {
    /// Rows per table in the table and Markdown formats; `None` shows all.
    pub top: Option<usize>,
    /// The table `--format csv` writes.
    pub section: Section,
    /// When the report was made, shown by `--format html`; `None` omits it.
    pub generated: Option<Timestamp>,
    /// Whether the table format may colour severities (ANSI).
    pub color: bool,
}

/// Writes `report` to `out` in `format`.
pub fn render(
    report: &Report,
    format: OutputFormat,
    options: RenderOptions,
    out: &mut impl Write,
) -> io::Result<()> {
    match format {
        OutputFormat::Json => json::write(report, out),
        OutputFormat::Ndjson => json::write_lines(report, out),
        OutputFormat::Table => table::write(report, options, out),
        OutputFormat::Markdown => markdown::write(report, options, out),
        OutputFormat::Csv => csv::write(report, options.section, out),
        OutputFormat::Html => html::write(report, options, out),
    }
}

/// What a finding is about: its ip, else its user.
fn finding_key(f: &Finding) -> &str {
    f.ip.as_deref().or(f.user.as_deref()).unwrap_or("-")
}

/// `failures / total` as a percentage with one decimal, rounded half up,
/// computed in integers: 1 of 3 is `33.3%`.
fn percent(failures: u64, total: u64) -> String {
    if total == 0 {
        return "-".to_string();
    }
    let tenths = (u128::from(failures) * 1000 + u128::from(total) / 2) / u128::from(total);
    format!("{}.{}%", tenths / 10, tenths % 10)
}

/// The shown rows of a table of `total` and how many are left out.
fn shown(total: usize, top: Option<usize>) -> (usize, usize) {
    let shown = top.unwrap_or(total).min(total);
    (shown, total - shown)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentages_are_exact() {
        assert_eq!(percent(1, 3), "33.3%");
        assert_eq!(percent(2, 3), "66.7%");
        assert_eq!(percent(0, 5), "0.0%");
        assert_eq!(percent(7, 7), "100.0%");
        assert_eq!(percent(1, 2000), "0.1%");
        assert_eq!(percent(1, 2001), "0.0%");
        assert_eq!(percent(u64::MAX, u64::MAX), "100.0%");
        assert_eq!(percent(0, 0), "-");
    }
}
