//! Drives the stages for `report`: each input's lines → parser → analyzer.

use crate::analyze::Analyzer;
use crate::detect::Position;
use crate::input::{self, InputError, Line, Source};
use crate::nesting;
use crate::parse::{LineError, Parser};

/// The default of `--max-line-bytes`: the longest line read; longer ones are
/// malformed ("line too long") and skipped without being buffered whole.
pub const MAX_LINE_BYTES: usize = 16 * 1024 * 1024;

/// What reading the inputs produced: the analysis so far and the inputs
/// that could not be read (the others were still analysed).
#[derive(Debug)]
pub struct Outcome {
    pub analyzer: Analyzer,
    pub errors: Vec<InputError>,
}

/// Reads every source in order into one analyzer. An input that cannot be
/// opened or read is recorded and skipped; the lines read before a read
/// error still count. Lines over `max_line_bytes` are malformed.
pub fn analyze_sources(sources: &[Source], max_line_bytes: usize, parser: &Parser) -> Outcome {
    let mut analyzer = Analyzer::new();
    let mut errors = Vec::new();
    for (index, source) in sources.iter().enumerate() {
        let file = u32::try_from(index).unwrap_or(u32::MAX);
        let reader = match input::open(source) {
            Ok(reader) => reader,
            Err(e) => {
                errors.push(e);
                continue;
            }
        };
        if let Err((line, error)) =
            analyze_reader(reader, file, max_line_bytes, parser, &mut analyzer)
        {
            errors.push(InputError::Read {
                source_name: source.to_string(),
                line,
                error,
            });
        }
    }
    Outcome { analyzer, errors }
}

/// Feeds every line of one input to `analyzer`; lines over `max_line_bytes`
/// are malformed.
pub fn analyze_reader(
    reader: impl std::io::Read,
    file: u32,
    max_line_bytes: usize,
    parser: &Parser,
    analyzer: &mut Analyzer,
) -> Result<(), (u64, std::io::Error)> {
    let mut scratch = String::new();
    input::for_each_line(reader, max_line_bytes, |line| match line {
        Line::Text { number, bytes } => {
            let position = Position { file, line: number };
            if input::is_blank(bytes) {
                analyzer.add_blank();
                return;
            }
            if nesting::too_deep(bytes) {
                let reason = format!("nested deeper than {} levels", nesting::MAX_DEPTH);
                analyzer.add_malformed(position, LineError::InvalidJson(reason));
                return;
            }
            match parser.parse(bytes, &mut scratch) {
                Ok(record) => analyzer.add(&record, position),
                Err(reason) => analyzer.add_malformed(position, reason),
            }
        }
        Line::TooLong { number } => {
            analyzer.add_malformed(
                Position { file, line: number },
                LineError::TooLong(max_line_bytes),
            );
        }
    })
}
