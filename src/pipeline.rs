//! Drives the stages for `report`: each input's lines → parser → filter →
//! analyzer.

use std::io::{self, Read};

use crate::analyze::Analyzer;
use crate::detect::Position;
use crate::filter::{Filter, FilterSpec};
use crate::input::{self, InputError, Line, Source};
use crate::parse::{LineError, Parser};
use crate::timestamp::Timestamp;

/// The longest line read; longer ones are malformed ("line too long").
pub const MAX_LINE_BYTES: usize = 16 * 1024 * 1024;

/// What reading the inputs produced: the analysis so far, the filter that
/// was applied (with its time range resolved), and the inputs that could
/// not be read (the others were still analysed).
#[derive(Debug)]
pub struct Outcome {
    pub analyzer: Analyzer,
    pub filter: Filter,
    pub errors: Vec<InputError>,
}

/// Reads every source in order into one analyzer. An input that cannot be
/// opened or read is recorded and skipped; the lines read before a read
/// error still count. Relative `--since`/`--until` need the newest record
/// first: then the inputs are read twice (standard input is kept in a
/// temporary file for that).
pub fn analyze_sources(sources: &[Source], parser: &Parser, filter: &FilterSpec) -> Outcome {
    let mut errors = Vec::new();
    let mut inputs = Inputs {
        spool_stdin: filter.needs_newest(),
        stdin_copy: None,
    };
    let filter = if filter.needs_newest() {
        let mut newest: Option<Timestamp> = None;
        for source in sources {
            let reader = match inputs.open(source) {
                Ok(r) => r,
                Err(_) => continue, // reported by the main pass
            };
            let mut scratch = String::new();
            let _ = input::for_each_line(reader, MAX_LINE_BYTES, |line| {
                if let Line::Text { bytes, .. } = line
                    && let Ok(record) = parser.parse(bytes, &mut scratch)
                {
                    newest = newest.max(record.time);
                }
            });
        }
        filter.resolve(newest)
    } else {
        filter.resolve(None)
    };

    let mut analyzer = Analyzer::new();
    for (index, source) in sources.iter().enumerate() {
        let file = u32::try_from(index).unwrap_or(u32::MAX);
        let reader = match inputs.open(source) {
            Ok(reader) => reader,
            Err(e) => {
                errors.push(e);
                continue;
            }
        };
        if let Err((line, error)) = analyze_reader(reader, file, parser, &filter, &mut analyzer) {
            errors.push(InputError::Read {
                source_name: source.to_string(),
                line,
                error,
            });
        }
    }
    Outcome {
        analyzer,
        filter,
        errors,
    }
}

/// Opens sources; with `spool_stdin`, standard input is copied to a
/// temporary file the first time it is opened, so a second pass can read it.
struct Inputs {
    spool_stdin: bool,
    stdin_copy: Option<tempfile::NamedTempFile>,
}

impl Inputs {
    fn open(&mut self, source: &Source) -> Result<Box<dyn Read + Send>, InputError> {
        if *source != Source::Stdin || !self.spool_stdin {
            return input::open(source);
        }
        let fail = |error| InputError::Open {
            source_name: source.to_string(),
            error,
        };
        if self.stdin_copy.is_none() {
            let mut copy = tempfile::NamedTempFile::new().map_err(fail)?;
            io::copy(&mut io::stdin().lock(), copy.as_file_mut()).map_err(fail)?;
            self.stdin_copy = Some(copy);
        }
        let copy = self.stdin_copy.as_ref().expect("spooled above");
        Ok(Box::new(copy.reopen().map_err(fail)?))
    }
}

/// Feeds every line of one input through `filter` to `analyzer`.
pub fn analyze_reader(
    reader: impl Read,
    file: u32,
    parser: &Parser,
    filter: &Filter,
    analyzer: &mut Analyzer,
) -> Result<(), (u64, io::Error)> {
    let mut scratch = String::new();
    input::for_each_line(reader, MAX_LINE_BYTES, |line| match line {
        Line::Text { number, bytes } => {
            let position = Position { file, line: number };
            if input::is_blank(bytes) {
                analyzer.add_blank();
                return;
            }
            match parser.parse(bytes, &mut scratch) {
                Ok(record) if filter.keeps(&record) => analyzer.add(&record, position),
                Ok(_) => analyzer.add_filtered_out(),
                Err(reason) => analyzer.add_malformed(position, reason),
            }
        }
        Line::TooLong { number } => {
            analyzer.add_malformed(
                Position { file, line: number },
                LineError::TooLong(MAX_LINE_BYTES),
            );
        }
    })
}
