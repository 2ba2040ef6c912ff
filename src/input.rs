//! Where the bytes come from: opening inputs and cutting them into lines.
//!
//! Lines are cut out of large blocks with `memchr` and handed out as slices
//! of the block, so no line is copied. A line longer than the limit is
//! reported and skipped without being buffered whole.

use std::fmt;
use std::fs::File;
use std::io::{self, Read};
use std::path::PathBuf;

/// One input named on the command line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Source {
    Stdin,
    Path(PathBuf),
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Source::Stdin => f.write_str("<stdin>"),
            Source::Path(p) => write!(f, "{}", p.display()),
        }
    }
}

/// An input that could not be opened or read to the end.
#[derive(Debug, thiserror::Error)]
pub enum InputError {
    #[error("{source_name}: {error}")]
    Open {
        source_name: String,
        #[source]
        error: io::Error,
    },
    #[error("{source_name}:{line}: read error: {error}")]
    Read {
        source_name: String,
        line: u64,
        #[source]
        error: io::Error,
    },
}

/// Opens a source for reading. A directory is refused here with a clear
/// message rather than failing on the first read.
pub fn open(source: &Source) -> Result<Box<dyn Read + Send>, InputError> {
    let fail = |error| InputError::Open {
        source_name: source.to_string(),
        error,
    };
    match source {
        Source::Stdin => Ok(Box::new(io::stdin())),
        Source::Path(path) => {
            let file = File::open(path).map_err(fail)?;
            if file.metadata().map_err(fail)?.is_dir() {
                return Err(fail(io::Error::other("is a directory")));
            }
            Ok(Box::new(file))
        }
    }
}

/// One line of an input, without its `\n` or `\r\n`.
#[derive(Debug, PartialEq, Eq)]
pub enum Line<'a> {
    /// A line and its 1-based number in its file.
    Text { number: u64, bytes: &'a [u8] },
    /// A line longer than the limit; its bytes were skipped.
    TooLong { number: u64 },
}

const BLOCK: usize = 256 * 1024;
const BOM: &[u8] = b"\xEF\xBB\xBF";

/// Reads `reader` to the end, calling `each` for every line. A UTF-8 BOM at
/// the very start is dropped. Lines over `max_line` bytes are reported as
/// [`Line::TooLong`]. On a read error, returns it with the number of the line
/// being read; every line before it has been delivered.
pub fn for_each_line(
    mut reader: impl Read,
    max_line: usize,
    mut each: impl FnMut(Line<'_>),
) -> Result<(), (u64, io::Error)> {
    let mut buf = vec![0u8; BLOCK.min(max_line.saturating_add(1)).max(1)];
    let mut start = 0; // first byte of the current line
    let mut end = 0; // end of valid data
    let mut number = 1u64;
    let mut first_block = true;
    let mut skipping = false; // inside a too-long line, waiting for its end

    loop {
        if end == buf.len() {
            if start > 0 {
                buf.copy_within(start..end, 0);
                end -= start;
                start = 0;
            } else if buf.len() <= max_line {
                let grown = buf.len().saturating_mul(2).min(max_line.saturating_add(1));
                buf.resize(grown, 0);
            } else {
                // A line of more than max_line bytes with no end in sight.
                if !skipping {
                    each(Line::TooLong { number });
                    skipping = true;
                }
                start = 0;
                end = 0;
            }
        }
        let n = match reader.read(&mut buf[end..]) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err((number, e)),
        };
        let scan_from = end;
        end += n;
        if first_block {
            if end < BOM.len() && BOM.starts_with(&buf[..end]) {
                continue; // could still be a BOM: wait for more bytes
            }
            first_block = false;
            if buf[..end].starts_with(BOM) {
                start = BOM.len();
            }
        }
        let mut search = scan_from.max(start);
        while let Some(i) = memchr::memchr(b'\n', &buf[search..end]) {
            let newline = search + i;
            if skipping {
                skipping = false;
            } else if newline - start > max_line {
                each(Line::TooLong { number });
            } else {
                each(Line::Text {
                    number,
                    bytes: strip_cr(&buf[start..newline]),
                });
            }
            number += 1;
            start = newline + 1;
            search = start;
        }
    }
    if first_block {
        // The whole input is shorter than a BOM: it is data.
        start = 0;
    }
    if start < end && !skipping {
        if end - start > max_line {
            each(Line::TooLong { number });
        } else {
            each(Line::Text {
                number,
                bytes: strip_cr(&buf[start..end]),
            });
        }
    }
    Ok(())
}

fn strip_cr(line: &[u8]) -> &[u8] {
    line.strip_suffix(b"\r").unwrap_or(line)
}

/// Whether a line holds only spaces, tabs and carriage returns.
pub fn is_blank(line: &[u8]) -> bool {
    line.iter().all(|c| matches!(c, b' ' | b'\t' | b'\r'))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Collects lines as (number, text) with "TOO LONG" for skipped ones.
    fn lines(input: &[u8], max: usize) -> Vec<(u64, String)> {
        let mut out = Vec::new();
        for_each_line(input, max, |line| match line {
            Line::Text { number, bytes } => {
                out.push((number, String::from_utf8_lossy(bytes).into_owned()))
            }
            Line::TooLong { number } => out.push((number, "TOO LONG".into())),
        })
        .unwrap();
        out
    }

    fn texts(input: &[u8]) -> Vec<String> {
        lines(input, 1 << 20).into_iter().map(|(_, t)| t).collect()
    }

    #[test]
    fn splits_on_lf_and_crlf_and_keeps_a_last_unterminated_line() {
        assert_eq!(texts(b"a\nb\r\nc"), ["a", "b", "c"]);
        assert_eq!(texts(b"a\n\nb\n"), ["a", "", "b"]);
        assert_eq!(texts(b""), Vec::<String>::new());
        assert_eq!(texts(b"\n"), [""]);
    }

    #[test]
    fn lone_cr_stays_inside_the_line() {
        assert_eq!(texts(b"a\rb\n"), ["a\rb"]);
    }

    #[test]
    fn bom_only_at_the_very_start() {
        assert_eq!(texts(b"\xEF\xBB\xBFa\n\xEF\xBB\xBFb\n"), ["a", "\u{feff}b"]);
        assert_eq!(texts(b"\xEF\xBB\xBF"), Vec::<String>::new());
        assert_eq!(texts(b"\xEF\xBB"), ["\u{fffd}"]);
        assert_eq!(texts(b"x"), ["x"]);
    }

    #[test]
    fn bom_split_across_reads() {
        let reader = io::Read::chain(&b"\xEF"[..], &b"\xBB\xBFok\n"[..]);
        let mut got = Vec::new();
        for_each_line(reader, 100, |l| {
            if let Line::Text { bytes, .. } = l {
                got.push(bytes.to_vec())
            }
        })
        .unwrap();
        assert_eq!(got, [b"ok".to_vec()]);
    }

    #[test]
    fn line_numbers_are_one_based() {
        assert_eq!(lines(b"a\nb\n", 10), [(1, "a".into()), (2, "b".into())]);
    }

    #[test]
    fn long_lines_cross_block_boundaries() {
        let long = "x".repeat(BLOCK * 3 + 17);
        let input = format!("a\n{long}\nb");
        assert_eq!(
            texts(input.as_bytes()),
            ["a".to_string(), long, "b".to_string()]
        );
    }

    #[test]
    fn too_long_lines_are_reported_and_skipped() {
        let input = format!("ok\n{}\nnext\n{}", "y".repeat(50), "z".repeat(60));
        assert_eq!(
            lines(input.as_bytes(), 20),
            [
                (1, "ok".into()),
                (2, "TOO LONG".into()),
                (3, "next".into()),
                (4, "TOO LONG".into())
            ]
        );
        let big = format!("{}\nafter\n", "q".repeat(BLOCK * 4));
        assert_eq!(
            lines(big.as_bytes(), 1000),
            [(1, "TOO LONG".into()), (2, "after".into())]
        );
    }

    #[test]
    fn a_line_of_exactly_the_limit_is_kept() {
        assert_eq!(
            lines(b"12345\n123456\n", 5),
            [(1, "12345".into()), (2, "TOO LONG".into())]
        );
    }

    #[test]
    fn blank_lines() {
        assert!(is_blank(b""));
        assert!(is_blank(b" \t\r"));
        assert!(!is_blank(b" x"));
        assert!(!is_blank(b"\x0c"));
    }
}
