//! [`Report`] → bytes: one function per output format, chosen by one `match`.
//! Renderers only format; they never recompute what the analyzer decided.

use std::io::{self, Write};

use crate::cli::OutputFormat;
use crate::report::Report;

mod json;
mod table;

/// How a report is shown, beyond its format.
#[derive(Clone, Copy, Debug)]
pub struct RenderOptions {
    /// Rows per table in the table format; `None` shows all.
    pub top: Option<usize>,
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
        OutputFormat::Table => table::write(report, options, out),
    }
}
