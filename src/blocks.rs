//! Cutting an input into blocks of whole lines, for the parallel path.
//!
//! A reader thread fills large buffers, cuts each after its last newline and
//! hands the block on with the number of its first line; workers then split
//! blocks into lines with `memchr`. A line longer than the limit is reported
//! as a [`Chunk::TooLong`] and skipped without being buffered whole. A UTF-8
//! BOM at the very start of the input is dropped.

use std::io::{self, Read};

/// A piece of an input.
#[derive(Debug, PartialEq, Eq)]
pub enum Chunk {
    /// Whole lines (each ends with `\n`, except perhaps the input's last),
    /// the first of them numbered `first_line` (1-based).
    Lines { data: Vec<u8>, first_line: u64 },
    /// A line over the limit, skipped.
    TooLong { line: u64 },
}

const BOM: &[u8] = b"\xEF\xBB\xBF";

/// Reads `reader` to the end in blocks of about `block_size` bytes, calling
/// `emit` for each chunk in input order. Stops early when `emit` returns
/// false. A block is only cut after a line for which `can_cut_after` says
/// yes (so a line split into parts stays in one block). On a read error,
/// returns it with the number of the line being read; every chunk before it
/// has been emitted.
pub fn read_chunks(
    mut reader: impl Read,
    block_size: usize,
    max_line: usize,
    can_cut_after: impl Fn(&[u8]) -> bool,
    mut emit: impl FnMut(Chunk) -> bool,
) -> Result<(), (u64, io::Error)> {
    let block_size = block_size.max(1);
    let mut buf: Vec<u8> = Vec::with_capacity(block_size);
    let mut line = 1u64; // number of the first line in `buf`
    let mut at_start = true;
    let mut skipping = false; // dropping the rest of a too-long line
    loop {
        // Add up to a block of new bytes, reading until it is full or the
        // input ends (pipes hand out less per read).
        let start = buf.len();
        buf.resize(start + block_size, 0);
        let mut filled = start;
        while filled < buf.len() {
            match reader.read(&mut buf[filled..]) {
                Ok(0) => break,
                Ok(n) => filled += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    buf.truncate(filled);
                    // Lines complete before the error still count.
                    if let Some(last) = memchr::memrchr(b'\n', &buf).filter(|_| !skipping) {
                        let rest = buf.split_off(last + 1);
                        let _ = emit_lines(
                            std::mem::replace(&mut buf, rest),
                            &mut line,
                            max_line,
                            &mut emit,
                        );
                    }
                    return Err((line, e));
                }
            }
        }
        let eof = filled < buf.len();
        buf.truncate(filled);

        if at_start {
            if !eof && buf.len() < BOM.len() && BOM.starts_with(&buf) {
                continue; // could still become a BOM (no newline in it yet)
            }
            at_start = false;
            if buf.starts_with(BOM) {
                buf.drain(..BOM.len());
            }
        }

        let mut new_from = start.min(buf.len());
        if skipping {
            match memchr::memchr(b'\n', &buf) {
                Some(i) => {
                    buf.drain(..=i);
                    skipping = false;
                    line += 1;
                    new_from = 0;
                }
                None => {
                    buf.clear();
                    if eof {
                        return Ok(());
                    }
                    continue;
                }
            }
        }

        if eof {
            if !buf.is_empty() {
                emit_lines(buf, &mut line, max_line, &mut emit);
            }
            return Ok(());
        }
        // Only the new bytes can hold the block's last newline.
        match last_cut(&buf, new_from, &can_cut_after) {
            Some(i) => {
                let rest = buf.split_off(i + 1);
                if !emit_lines(
                    std::mem::replace(&mut buf, rest),
                    &mut line,
                    max_line,
                    &mut emit,
                ) {
                    return Ok(());
                }
                buf.reserve(block_size);
            }
            None if buf.len() > max_line => {
                // One line is over the limit and still going: drop it.
                if !emit(Chunk::TooLong { line }) {
                    return Ok(());
                }
                buf.clear();
                skipping = true;
            }
            None => {} // one long line still growing
        }
    }
}

/// The last newline at or after `from` that ends a line `can_cut_after`
/// accepts.
fn last_cut(buf: &[u8], from: usize, can_cut_after: &impl Fn(&[u8]) -> bool) -> Option<usize> {
    let mut end = buf.len();
    while let Some(nl) = memchr::memrchr(b'\n', &buf[from..end]).map(|i| from + i) {
        let start = memchr::memrchr(b'\n', &buf[..nl]).map_or(0, |i| i + 1);
        if can_cut_after(strip_cr(&buf[start..nl])) {
            return Some(nl);
        }
        end = nl;
    }
    None
}

/// Emits `data` (whole lines) as one chunk, splitting out any line over
/// `max_line`; advances `line` past them.
fn emit_lines(
    data: Vec<u8>,
    line: &mut u64,
    max_line: usize,
    emit: &mut impl FnMut(Chunk) -> bool,
) -> bool {
    let count = line_count(&data);
    // A line can only be over the limit if the whole block is.
    let too_long = data.len() > max_line && data.split(|&b| b == b'\n').any(|l| l.len() > max_line);
    if !too_long {
        let first_line = *line;
        *line += count;
        return emit(Chunk::Lines { data, first_line });
    }
    // Rare: a block holding an over-long line is emitted line by line.
    for piece in data.split_inclusive(|&b| b == b'\n') {
        let body = piece.strip_suffix(b"\n").unwrap_or(piece);
        let chunk = if body.len() > max_line {
            Chunk::TooLong { line: *line }
        } else {
            Chunk::Lines {
                data: piece.to_vec(),
                first_line: *line,
            }
        };
        *line += 1;
        if !emit(chunk) {
            return false;
        }
    }
    true
}

/// The number of lines in `data` (a last line without `\n` counts).
fn line_count(data: &[u8]) -> u64 {
    let newlines = memchr::memchr_iter(b'\n', data).count() as u64;
    newlines + u64::from(!data.is_empty() && !data.ends_with(b"\n"))
}

/// Calls `each` with the number and text (without `\n` or `\r\n`) of every
/// line in a [`Chunk::Lines`] block.
pub fn for_each_line(data: &[u8], first_line: u64, mut each: impl FnMut(u64, &[u8])) {
    let mut number = first_line;
    let mut start = 0;
    for end in memchr::memchr_iter(b'\n', data) {
        each(number, strip_cr(&data[start..end]));
        number += 1;
        start = end + 1;
    }
    if start < data.len() {
        each(number, strip_cr(&data[start..]));
    }
}

fn strip_cr(line: &[u8]) -> &[u8] {
    line.strip_suffix(b"\r").unwrap_or(line)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every line as (number, text), with "TOO LONG" for skipped ones.
    fn lines(input: &[u8], block: usize, max: usize) -> Vec<(u64, String)> {
        let mut out = Vec::new();
        read_chunks(
            input,
            block,
            max,
            |_| true,
            |chunk| {
                match chunk {
                    Chunk::Lines { data, first_line } => {
                        for_each_line(&data, first_line, |n, l| {
                            out.push((n, String::from_utf8_lossy(l).into_owned()))
                        })
                    }
                    Chunk::TooLong { line } => out.push((line, "TOO LONG".into())),
                }
                true
            },
        )
        .unwrap();
        out
    }

    fn texts(input: &[u8], block: usize) -> Vec<String> {
        lines(input, block, 1 << 20)
            .into_iter()
            .map(|(_, t)| t)
            .collect()
    }

    #[test]
    fn same_lines_whatever_the_block_size() {
        let input = b"a\nbb\r\n\nccc\n  \ndddd";
        for block in [1, 2, 3, 5, 8, 64, 1 << 16] {
            assert_eq!(
                texts(input, block),
                ["a", "bb", "", "ccc", "  ", "dddd"],
                "block {block}"
            );
            let numbers: Vec<u64> = lines(input, block, 100).iter().map(|(n, _)| *n).collect();
            assert_eq!(numbers, [1, 2, 3, 4, 5, 6], "block {block}");
        }
    }

    #[test]
    fn bom_only_at_the_very_start() {
        for block in [1, 2, 4, 100] {
            assert_eq!(
                texts(b"\xEF\xBB\xBFa\n\xEF\xBB\xBFb\n", block),
                ["a", "\u{feff}b"],
                "block {block}"
            );
            assert_eq!(texts(b"\xEF\xBB", block), ["\u{fffd}"]);
            assert!(texts(b"\xEF\xBB\xBF", block).is_empty());
        }
    }

    #[test]
    fn empty_input_has_no_lines() {
        assert!(texts(b"", 16).is_empty());
        assert_eq!(texts(b"\n", 16), [""]);
    }

    #[test]
    fn too_long_lines_are_reported_and_skipped_at_any_block_size() {
        let input = format!("ok\n{}\nnext\n{}", "y".repeat(50), "z".repeat(60));
        let want: Vec<(u64, String)> = vec![
            (1, "ok".into()),
            (2, "TOO LONG".into()),
            (3, "next".into()),
            (4, "TOO LONG".into()),
        ];
        for block in [1, 7, 16, 40, 1000] {
            assert_eq!(lines(input.as_bytes(), block, 20), want, "block {block}");
        }
        assert_eq!(
            lines(b"12345\n123456\n", 4, 5),
            [(1, "12345".into()), (2, "TOO LONG".into())]
        );
    }

    #[test]
    fn blocks_are_not_cut_after_a_line_that_goes_on() {
        let input = b"a\nP1\nP2\nb\nc\nP3\nd\n";
        for block in [1, 2, 3, 5, 8, 64] {
            let mut chunks = Vec::new();
            read_chunks(
                &input[..],
                block,
                100,
                |line| !line.starts_with(b"P"),
                |chunk| {
                    if let Chunk::Lines { data, .. } = chunk {
                        chunks.push(String::from_utf8(data).unwrap());
                    }
                    true
                },
            )
            .unwrap();
            assert_eq!(chunks.concat(), String::from_utf8(input.to_vec()).unwrap());
            assert!(
                chunks
                    .iter()
                    .all(|c| !c.trim_end().ends_with(|ch: char| ch.is_ascii_digit())),
                "block {block}: {chunks:?}"
            );
        }
    }

    #[test]
    fn lone_cr_stays_inside_the_line_and_crlf_loses_its_cr() {
        assert_eq!(texts(b"a\rb\n", 4), ["a\rb"]);
        assert_eq!(texts(b"a\nb\r\nc", 2), ["a", "b", "c"]);
        assert_eq!(texts(b"a\n\nb\n", 3), ["a", "", "b"]);
    }

    #[test]
    fn a_bom_split_across_reads_is_still_dropped() {
        let reader = io::Read::chain(&b"\xEF"[..], &b"\xBB\xBFok\n"[..]);
        let mut got = Vec::new();
        read_chunks(
            reader,
            64,
            100,
            |_| true,
            |chunk| {
                if let Chunk::Lines { data, first_line } = chunk {
                    for_each_line(&data, first_line, |_, l| got.push(l.to_vec()));
                }
                true
            },
        )
        .unwrap();
        assert_eq!(got, [b"ok".to_vec()]);
    }

    #[test]
    fn a_line_longer_than_many_blocks_is_read_whole() {
        let long = "x".repeat(4096 * 3 + 17);
        let input = format!("a\n{long}\nb");
        assert_eq!(
            texts(input.as_bytes(), 4096),
            ["a".to_string(), long, "b".to_string()]
        );
    }

    #[test]
    fn many_lines_over_many_blocks_keep_their_numbers() {
        let input: Vec<u8> = (0..500)
            .map(|i| format!("{{\"n\":{i}}}{}", if i % 7 == 0 { "\r\n" } else { "\n" }))
            .collect::<String>()
            .into_bytes();
        let want: Vec<(u64, String)> = (0..500)
            .map(|i| (i + 1, format!("{{\"n\":{i}}}")))
            .collect();
        assert_eq!(lines(&input, 333, 1 << 20), want);
    }
}
