//! Drives the stages for `report`: each input (decompressed, cut into lines
//! or values, container prefixes removed) → its format's parser → analyzer.

use std::io::Read;

use rustc_hash::{FxHashMap, FxHashSet};

use crate::analyze::Analyzer;
use crate::detect::Position;
use crate::input::{self, InputError, Layout, Line, LogLine, Source};
use crate::parse::{LineError, PairSide, Parsed, Parser, Record, Scratch};
use crate::report::FileSummary;

/// The longest line (or value) read; longer ones are malformed.
pub const MAX_LINE_BYTES: usize = 16 * 1024 * 1024;

/// How many non-blank lines of a file auto-detection looks at.
pub const DETECT_LINES: usize = 50;

/// Auto-detection decides sooner when the lines it holds reach this size.
pub const DETECT_BYTES: usize = 4 * 1024 * 1024;

/// The formats the inputs are read with.
#[derive(Debug)]
pub enum Formats {
    /// Every file in one format.
    Fixed(Parser),
    /// Each file in the candidate that recognises most of its first lines,
    /// or `fallback` when none recognises any.
    Auto {
        candidates: Vec<Parser>,
        fallback: Parser,
    },
}

/// What reading the inputs produced: the analysis so far, per-file counts,
/// and the inputs that could not be read (the others were still analysed).
#[derive(Debug)]
pub struct Outcome {
    pub analyzer: Analyzer,
    pub files: Vec<FileSummary>,
    pub errors: Vec<InputError>,
}

/// A request waiting for its response.
struct Waiting {
    position: Position,
    record: Record<'static>,
    matched: bool,
}

/// State shared by all inputs of one run.
struct Run<'f> {
    formats: &'f Formats,
    analyzer: Analyzer,
    files: Vec<FileSummary>,
    /// Requests without a response yet, by pair id.
    waiting: FxHashMap<String, Waiting>,
    /// Ids of responses that came before their request.
    answered: FxHashSet<String>,
}

/// Reads every source in order into one analyzer. An input that cannot be
/// opened or read is recorded and skipped; the lines read before a read
/// error still count.
pub fn analyze_sources(sources: &[Source], formats: &Formats) -> Outcome {
    let mut run = Run {
        formats,
        analyzer: Analyzer::new(),
        files: Vec::new(),
        waiting: FxHashMap::default(),
        answered: FxHashSet::default(),
    };
    let mut errors = Vec::new();
    for source in sources {
        let file = u32::try_from(run.files.len()).unwrap_or(u32::MAX);
        run.files.push(FileSummary::new(source.to_string()));
        let opened = match input::open(source) {
            Ok(o) => o,
            Err(e) => {
                run.files.last_mut().expect("just pushed").format = None;
                errors.push(e);
                continue;
            }
        };
        run.files[file as usize].compression = opened.compression.name();
        if let Err((line, error)) = run.read(opened.reader, opened.layout, file) {
            errors.push(InputError::Read {
                source_name: source.to_string(),
                line,
                error,
            });
        }
    }
    // Requests whose response never came count themselves.
    let mut waiting: Vec<Waiting> = run.waiting.drain().map(|(_, w)| w).collect();
    waiting.sort_by_key(|w| w.position);
    for w in waiting {
        run.count(&w.record, w.position, w.matched);
    }
    Outcome {
        analyzer: run.analyzer,
        files: run.files,
        errors,
    }
}

/// A line kept while the format of its file is being decided.
enum Held {
    Text(u64, Vec<u8>),
    TooLong(u64),
}

impl<'f> Run<'f> {
    /// Feeds every line (or value) of one input to the analyzer.
    fn read(
        &mut self,
        reader: impl Read,
        layout: Layout,
        file: u32,
    ) -> Result<(), (u64, std::io::Error)> {
        let mut scratch = Scratch::default();
        let formats: &'f Formats = self.formats;
        let mut parser: Option<&'f Parser> = match formats {
            Formats::Fixed(p) => Some(p),
            Formats::Auto { .. } => None,
        };
        let mut held: Vec<Held> = Vec::new();
        let mut held_bytes = 0usize;
        let mut unwrapper = input::Unwrapper::default();
        let mut take = |run: &mut Self, log_line: LogLine<'_>, scratch: &mut Scratch| {
            if let Some(p) = parser {
                run.log_line(p, file, log_line, scratch);
                return;
            }
            match log_line {
                LogLine::Borrowed(number, bytes) => {
                    held_bytes += bytes.len();
                    held.push(Held::Text(number, bytes.to_vec()));
                }
                LogLine::Owned(number, bytes) => {
                    held_bytes += bytes.len();
                    held.push(Held::Text(number, bytes));
                }
                LogLine::TooLong(number) => held.push(Held::TooLong(number)),
                LogLine::Pending => return,
            }
            if held.len() >= DETECT_LINES || held_bytes >= DETECT_BYTES {
                let p = run.decide(&held);
                run.replay(p, file, &mut held, scratch);
                parser = Some(p);
            }
        };
        let mut each = |line: Line<'_>| match line {
            Line::Text { number, bytes } => {
                if layout == Layout::Lines && input::is_blank(bytes) {
                    self.analyzer.add_blank();
                    self.files[file as usize].blank += 1;
                    return;
                }
                let log_line = unwrapper.push(number, bytes, MAX_LINE_BYTES);
                take(self, log_line, &mut scratch);
            }
            Line::TooLong { number } => take(self, LogLine::TooLong(number), &mut scratch),
        };
        let result = match layout {
            Layout::Lines => input::for_each_line(reader, MAX_LINE_BYTES, &mut each),
            Layout::Values => input::for_each_value(reader, MAX_LINE_BYTES, &mut each),
        };
        // A split line whose last part never came.
        if let Some(rest) = unwrapper.finish() {
            take(self, rest, &mut scratch);
        }
        let p = match parser {
            Some(p) => p,
            None => {
                // The end (or a read error) came before the detection lines.
                let p = self.decide(&held);
                self.replay(p, file, &mut held, &mut scratch);
                p
            }
        };
        self.files[file as usize].format = Some(p.name().to_string());
        result
    }

    /// The format of a file whose first lines are `held`.
    fn decide(&self, held: &[Held]) -> &'f Parser {
        let formats: &'f Formats = self.formats;
        match formats {
            Formats::Fixed(p) => p,
            Formats::Auto {
                candidates,
                fallback,
            } => {
                let mut best: Option<(&Parser, usize)> = None;
                for candidate in candidates {
                    let hits = held
                        .iter()
                        .filter(|h| match h {
                            Held::Text(_, bytes) => candidate.detects(bytes),
                            Held::TooLong(_) => false,
                        })
                        .count();
                    if hits > 0 && best.is_none_or(|(_, b)| hits > b) {
                        best = Some((candidate, hits));
                    }
                }
                best.map_or(fallback, |(p, _)| p)
            }
        }
    }

    fn replay(&mut self, p: &Parser, file: u32, held: &mut Vec<Held>, scratch: &mut Scratch) {
        for h in held.drain(..) {
            match h {
                Held::Text(number, bytes) => {
                    self.log_line(p, file, LogLine::Borrowed(number, &bytes), scratch)
                }
                Held::TooLong(number) => self.log_line(p, file, LogLine::TooLong(number), scratch),
            }
        }
    }

    /// Reads one log line under `parser`.
    fn log_line(&mut self, parser: &Parser, file: u32, line: LogLine<'_>, scratch: &mut Scratch) {
        match line {
            LogLine::Borrowed(number, bytes) => {
                self.record(parser, Position { file, line: number }, bytes, scratch)
            }
            LogLine::Owned(number, bytes) => {
                self.record(parser, Position { file, line: number }, &bytes, scratch)
            }
            LogLine::TooLong(number) => self.malformed(
                Position { file, line: number },
                LineError::TooLong(MAX_LINE_BYTES),
            ),
            LogLine::Pending => {}
        }
    }

    /// Reads one record's text under `parser`.
    fn record(&mut self, parser: &Parser, position: Position, bytes: &[u8], scratch: &mut Scratch) {
        let file = position.file;
        match parser.parse(bytes, scratch) {
            Ok(Parsed::Record {
                record,
                matched,
                pair,
            }) => match pair {
                None => self.count(&record, position, matched),
                Some(PairSide::Request(id)) => {
                    if self.answered.remove(&id) {
                        self.skipped(file);
                        return;
                    }
                    let waiting = Waiting {
                        position,
                        record: record.into_owned(),
                        matched,
                    };
                    if let Some(earlier) = self.waiting.insert(id, waiting) {
                        // The same id twice: the earlier request stands alone.
                        self.count(&earlier.record, earlier.position, earlier.matched);
                    }
                }
                Some(PairSide::Response(id)) => {
                    match self.waiting.remove(&id) {
                        Some(request) => self.skipped(request.position.file),
                        None => {
                            self.answered.insert(id);
                        }
                    }
                    self.count(&record, position, matched);
                }
            },
            Ok(Parsed::Skipped) => self.skipped(file),
            Err(reason) => self.malformed(position, reason),
        }
    }

    fn count(&mut self, record: &Record<'_>, position: Position, matched: bool) {
        self.analyzer.add(record, position);
        let f = &mut self.files[position.file as usize];
        f.records += 1;
        f.unmatched += u64::from(!matched);
    }

    fn skipped(&mut self, file: u32) {
        self.analyzer.add_skipped();
        self.files[file as usize].skipped += 1;
    }

    fn malformed(&mut self, position: Position, reason: LineError) {
        self.analyzer.add_malformed(position, reason);
        self.files[position.file as usize].malformed += 1;
    }
}
