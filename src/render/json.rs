//! `--format json`: the report as one pretty-printed JSON document.

use std::io::{self, Write};

use crate::report::Report;

/// Writes the report and a final newline.
pub fn write(report: &Report, out: &mut impl Write) -> io::Result<()> {
    serde_json::to_writer_pretty(&mut *out, report).map_err(io::Error::from)?;
    out.write_all(b"\n")
}
