//! `--format json` (one document) and `--format ndjson` (one object per
//! line, each tagged with its `type`).

use std::io::{self, Write};

use serde::Serialize;

use crate::report::Report;

/// Writes the report and a final newline.
pub fn write(report: &Report, out: &mut impl Write) -> io::Result<()> {
    serde_json::to_writer_pretty(&mut *out, report).map_err(io::Error::from)?;
    out.write_all(b"\n")
}

/// A row with a `type` field in front, for `jq 'select(.type=="finding")'`.
#[derive(Serialize)]
struct Tagged<'a, T: Serialize> {
    #[serde(rename = "type")]
    kind: &'static str,
    #[serde(flatten)]
    value: &'a T,
}

#[derive(Serialize)]
struct SummaryLine<'a> {
    schema_version: u32,
    #[serde(flatten)]
    summary: &'a crate::report::Summary,
    timeline_bucket: &'a str,
    rules: &'a crate::rules::RuleSet,
}

fn line<T: Serialize>(out: &mut impl Write, kind: &'static str, value: &T) -> io::Result<()> {
    serde_json::to_writer(&mut *out, &Tagged { kind, value }).map_err(io::Error::from)?;
    out.write_all(b"\n")
}

/// Writes the summary, then every user, event, ip, finding and bucket.
pub fn write_lines(report: &Report, out: &mut impl Write) -> io::Result<()> {
    let summary = SummaryLine {
        schema_version: report.schema_version,
        summary: &report.summary,
        timeline_bucket: &report.timeline.bucket,
        rules: &report.rules,
    };
    line(out, "summary", &summary)?;
    for u in &report.users {
        line(out, "user", u)?;
    }
    for e in &report.events {
        line(out, "event", e)?;
    }
    for i in &report.ips {
        line(out, "ip", i)?;
    }
    for f in &report.findings {
        line(out, "finding", f)?;
    }
    for b in &report.timeline.buckets {
        line(out, "bucket", b)?;
    }
    Ok(())
}
