//! Drives the stages for `report`: each input's lines → parser → filter →
//! analyzer.

use std::io::{self, Read};
use std::sync::{Mutex, mpsc};

use crate::analyze::Analyzer;
use crate::blocks::{self, Chunk};
use crate::detect::Position;
use crate::filter::{Filter, FilterSpec};
use crate::input::{self, InputError, Line, Source};
use crate::nesting;
use crate::parse::{LineError, Parser};
use crate::timestamp::Timestamp;

/// The default of `--max-line-bytes`: the longest line read; longer ones are
/// malformed ("line too long") and skipped without being buffered whole.
pub const MAX_LINE_BYTES: usize = 16 * 1024 * 1024;

/// How inputs are read.
#[derive(Clone, Copy, Debug)]
pub struct Reading {
    /// Parsing threads, at least 1.
    pub threads: usize,
    /// Lines over this many bytes are malformed.
    pub max_line_bytes: usize,
}

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
pub fn analyze_sources(
    sources: &[Source],
    parser: &Parser,
    filter: &FilterSpec,
    reading: Reading,
) -> Outcome {
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
            let _ = input::for_each_line(reader, reading.max_line_bytes, |line| {
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
        if let Err((line, error)) =
            analyze_reader(reader, file, parser, &filter, &mut analyzer, reading)
        {
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

/// Bytes per block handed to a worker.
const BLOCK_BYTES: usize = 1 << 20;

/// Feeds every line of one input through `filter` to `analyzer`. With more
/// than one thread, this thread reads blocks of whole lines and `threads`
/// workers parse them, each into its own analyzer, merged at the end; the
/// result is the same as reading sequentially.
pub fn analyze_reader(
    reader: impl Read,
    file: u32,
    parser: &Parser,
    filter: &Filter,
    analyzer: &mut Analyzer,
    reading: Reading,
) -> Result<(), (u64, io::Error)> {
    let Reading {
        threads,
        max_line_bytes,
    } = reading;
    let work = Work {
        file,
        parser,
        filter,
        max_line_bytes,
    };
    if threads <= 1 {
        let mut scratch = String::new();
        return blocks::read_chunks(reader, BLOCK_BYTES, max_line_bytes, |chunk| {
            work.chunk(chunk, analyzer, &mut scratch);
            true
        });
    }
    let (sender, receiver) = mpsc::sync_channel::<Chunk>(threads * 2);
    let receiver = Mutex::new(receiver);
    std::thread::scope(|scope| {
        let workers: Vec<_> = (0..threads)
            .map(|_| {
                let (work, receiver) = (&work, &receiver);
                scope.spawn(move || {
                    let mut mine = Analyzer::new();
                    let mut scratch = String::new();
                    loop {
                        let next = receiver.lock().map(|r| r.recv());
                        match next {
                            Ok(Ok(chunk)) => work.chunk(chunk, &mut mine, &mut scratch),
                            _ => return mine,
                        }
                    }
                })
            })
            .collect();
        let read = blocks::read_chunks(reader, BLOCK_BYTES, max_line_bytes, |chunk| {
            sender.send(chunk).is_ok()
        });
        drop(sender);
        for worker in workers {
            match worker.join() {
                Ok(partial) => analyzer.merge(partial),
                Err(panic) => std::panic::resume_unwind(panic),
            }
        }
        read
    })
}

/// What every line of one input goes through.
struct Work<'a> {
    file: u32,
    parser: &'a Parser,
    filter: &'a Filter,
    max_line_bytes: usize,
}

impl Work<'_> {
    fn chunk(&self, chunk: Chunk, analyzer: &mut Analyzer, scratch: &mut String) {
        match chunk {
            Chunk::Lines { data, first_line } => {
                blocks::for_each_line(&data, first_line, |number, bytes| {
                    self.line(number, bytes, analyzer, scratch)
                })
            }
            Chunk::TooLong { line } => analyzer.add_malformed(
                Position {
                    file: self.file,
                    line,
                },
                LineError::TooLong(self.max_line_bytes),
            ),
        }
    }

    fn line(&self, number: u64, bytes: &[u8], analyzer: &mut Analyzer, scratch: &mut String) {
        let position = Position {
            file: self.file,
            line: number,
        };
        if input::is_blank(bytes) {
            analyzer.add_blank();
            return;
        }
        if nesting::too_deep(bytes) {
            let reason = format!("nested deeper than {} levels", nesting::MAX_DEPTH);
            analyzer.add_malformed(position, LineError::InvalidJson(reason));
            return;
        }
        match self.parser.parse(bytes, scratch) {
            Ok(record) if self.filter.keeps(&record) => analyzer.add(&record, position),
            Ok(_) => analyzer.add_filtered_out(),
            Err(reason) => analyzer.add_malformed(position, reason),
        }
    }
}
