//! Drives the stages for `report`: each input (decompressed, cut into lines
//! or values, container prefixes removed) → its format's parser → filter →
//! analyzer.
//!
//! A file of lines is read in blocks of whole lines. Once its format is
//! known (auto-detection looks at its first lines), and unless the format
//! pairs records (Vault), the blocks go to `--threads` workers, each folding
//! into its own analyzer; the partial results merge into the same result as
//! reading sequentially.

use std::io::{self, Read};
use std::sync::{Mutex, mpsc};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use rustc_hash::{FxHashMap, FxHashSet};

use crate::analyze::Analyzer;
use crate::blocks::{self, Chunk};
use crate::detect::Position;
use crate::filter::{Filter, FilterSpec};
use crate::input::{self, InputError, Layout, Line, LogLine, Source, Unwrapper};
use crate::nesting;
use crate::parse::{LineError, PairSide, Parsed, Parser, Record, Scratch};
use crate::report::FileSummary;

/// The default of `--max-line-bytes`: the longest line (or value) read;
/// longer ones are malformed ("line too long") and skipped without being
/// buffered whole.
pub const MAX_LINE_BYTES: usize = 16 * 1024 * 1024;

/// How many non-blank lines of a file auto-detection looks at.
pub const DETECT_LINES: usize = 50;

/// Auto-detection decides sooner when the lines it holds reach this size.
pub const DETECT_BYTES: usize = 4 * 1024 * 1024;

/// Bytes per block handed to a worker.
const BLOCK_BYTES: usize = 1 << 20;

/// How inputs are read.
#[derive(Clone, Copy, Debug)]
pub struct Reading {
    /// Parsing threads, at least 1.
    pub threads: usize,
    /// Lines over this many bytes are malformed.
    pub max_line_bytes: usize,
    /// Whether the successes of known users are kept for
    /// `success_after_failures` (a partial report's first pass needs none).
    pub keep_successes: bool,
}

/// Inputs smaller than this finish too soon to need a progress bar.
pub const PROGRESS_MIN_BYTES: u64 = 100 * 1000 * 1000;

/// A progress bar on standard error for reading `sources`, when a person
/// is watching (`stderr_is_terminal`) and the files add up to more than
/// [`PROGRESS_MIN_BYTES`]; never for standard input (its size is unknown).
pub fn progress_bar(sources: &[Source], stderr_is_terminal: bool) -> Option<ProgressBar> {
    if !stderr_is_terminal {
        return None;
    }
    let total: u64 = sources
        .iter()
        .map(|s| match s {
            Source::Path(p) => std::fs::metadata(p).map_or(0, |m| m.len()),
            Source::Stdin => 0,
        })
        .sum();
    if total <= PROGRESS_MIN_BYTES {
        return None;
    }
    let bar = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr());
    let style =
        ProgressStyle::with_template("{bar:30} {bytes}/{total_bytes} {bytes_per_sec} ETA {eta}")
            .unwrap_or_else(|_| ProgressStyle::default_bar());
    bar.set_style(style);
    Some(bar)
}

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
/// the filter that was applied (its time range resolved), and the inputs
/// that could not be read (the others were still analysed).
#[derive(Debug)]
pub struct Outcome {
    pub analyzer: Analyzer,
    pub files: Vec<FileSummary>,
    pub filter: Filter,
    pub errors: Vec<InputError>,
}

/// Reads every source in order into one analyzer. An input that cannot be
/// opened or read is recorded and skipped; the lines read before a read
/// error still count. Relative `--since`/`--until` need the newest record
/// first: then the inputs are read twice (standard input is kept in a
/// temporary file for that). `progress`, when given, shows the bytes read.
pub fn analyze_sources(
    sources: &[Source],
    formats: &Formats,
    filter: &FilterSpec,
    reading: Reading,
    progress: Option<&ProgressBar>,
) -> Outcome {
    let mut spool = None;
    let mut opened_as: Vec<(String, Source)> = Vec::new();
    let mut errors = Vec::new();
    for source in sources {
        let name = source.to_string();
        if *source == Source::Stdin && filter.needs_newest() {
            match spool_stdin(&mut spool) {
                Ok(path) => opened_as.push((name, Source::Path(path))),
                Err(error) => errors.push(InputError::Open {
                    source_name: name,
                    error,
                }),
            }
        } else {
            opened_as.push((name, source.clone()));
        }
    }
    let filter = if filter.needs_newest() {
        let everything = FilterSpec::default().resolve(None);
        let first = run(&opened_as, formats, &everything, reading, progress);
        filter.resolve(first.analyzer.newest())
    } else {
        filter.resolve(None)
    };
    let mut outcome = run(&opened_as, formats, &filter, reading, progress);
    if let Some(bar) = progress {
        bar.finish_and_clear();
    }
    errors.append(&mut outcome.errors);
    outcome.errors = errors;
    drop(spool);
    outcome
}

/// Copies standard input into a temporary file (once) and returns its path.
fn spool_stdin(spool: &mut Option<tempfile::NamedTempFile>) -> io::Result<std::path::PathBuf> {
    if spool.is_none() {
        let mut copy = tempfile::NamedTempFile::new()?;
        io::copy(&mut io::stdin().lock(), copy.as_file_mut())?;
        *spool = Some(copy);
    }
    Ok(spool.as_ref().expect("spooled above").path().to_path_buf())
}

/// Reads byte streams (each with its name) as the inputs, as
/// [`analyze_sources`] reads files: for callers that hold their input
/// already (tests, the fuzzer, embedding).
pub fn analyze_readers(
    inputs: Vec<(String, Box<dyn Read + Send>)>,
    formats: &Formats,
    filter: &FilterSpec,
    reading: Reading,
) -> Outcome {
    let opened = inputs
        .into_iter()
        .map(|(name, reader)| {
            let opened = input::open_reader(reader, &name);
            (name, opened)
        })
        .collect();
    analyze_opened(opened, formats, filter, reading)
}

/// Reads inputs opened already (or the reasons they could not be), as
/// [`analyze_sources`] reads files; relative times count back from the
/// filter's anchor, if any.
pub fn analyze_opened(
    inputs: Vec<(String, Result<input::Opened, InputError>)>,
    formats: &Formats,
    filter: &FilterSpec,
    reading: Reading,
) -> Outcome {
    let filter = filter.resolve(None);
    let mut run = Run::new(formats, &filter, reading);
    let mut errors = Vec::new();
    for (name, opened) in inputs {
        run.input(&name, opened, &mut errors);
    }
    run.finish(errors)
}

/// One pass over the inputs (named, and what to open for them).
fn run(
    sources: &[(String, Source)],
    formats: &Formats,
    filter: &Filter,
    reading: Reading,
    progress: Option<&ProgressBar>,
) -> Outcome {
    if let Some(bar) = progress {
        bar.set_position(0);
    }
    let mut run = Run::new(formats, filter, reading);
    let mut errors = Vec::new();
    for (name, source) in sources {
        run.input(name, input::open(source, progress), &mut errors);
    }
    run.finish(errors)
}

impl Formats {
    /// Each file in the built-in format its first lines fit (generic when
    /// none fits), with `unknown` as the unauthenticated names.
    pub fn auto(
        unknown: crate::parse::UnknownUsers,
        fields: &crate::parse::FieldOverrides,
        ip_list: crate::parse::IpList,
    ) -> Result<Formats, crate::format::FormatError> {
        use crate::format::{Format, builtin_names};
        let parser =
            |name: &str| Parser::new(&Format::builtin(name)?, fields, unknown.clone(), ip_list);
        let mut candidates = Vec::new();
        for name in builtin_names().filter(|n| *n != "generic") {
            candidates.push(parser(name)?);
        }
        Ok(Formats::Auto {
            candidates,
            fallback: parser("generic")?,
        })
    }

    /// Each parser's format name with the names it treats as
    /// unauthenticated, in the order they are tried.
    pub fn unauthenticated(&self) -> Vec<(String, Vec<String>)> {
        let parsers: Vec<&Parser> = match self {
            Formats::Fixed(p) => vec![p],
            Formats::Auto {
                candidates,
                fallback,
            } => candidates.iter().chain([fallback]).collect(),
        };
        parsers
            .into_iter()
            .map(|p| (p.name().to_string(), p.unauthenticated().to_vec()))
            .collect()
    }

    /// Every file in the generic format, with `unknown` as the
    /// unauthenticated names.
    pub fn generic(unknown: crate::parse::UnknownUsers) -> Formats {
        let format =
            crate::format::Format::builtin("generic").expect("the generic format is built in");
        let parser = Parser::new(
            &format,
            &crate::parse::FieldOverrides::default(),
            unknown,
            crate::parse::IpList::First,
        )
        .expect("the generic format's paths are valid");
        Formats::Fixed(parser)
    }
}

impl<'f> Run<'f> {
    fn new(formats: &'f Formats, filter: &'f Filter, reading: Reading) -> Run<'f> {
        Run {
            formats,
            filter,
            reading,
            analyzer: Analyzer::keeping_successes(reading.keep_successes),
            files: Vec::new(),
            waiting: FxHashMap::default(),
            answered: FxHashSet::default(),
        }
    }

    /// Reads one opened input (or records why it could not be opened).
    fn input(
        &mut self,
        name: &str,
        opened: Result<input::Opened, InputError>,
        errors: &mut Vec<InputError>,
    ) {
        let file = u32::try_from(self.files.len()).unwrap_or(u32::MAX);
        self.files.push(FileSummary::new(name.to_string()));
        let opened = match opened {
            Ok(o) => o,
            Err(e) => {
                errors.push(rename(e, name));
                return;
            }
        };
        self.files[file as usize].compression = opened.compression.name();
        if let Err((line, error)) = self.read(opened.reader, opened.layout, file) {
            errors.push(InputError::Read {
                source_name: name.to_string(),
                line,
                error,
            });
        }
    }

    /// Counts the requests whose response never came, and hands back the
    /// result.
    fn finish(mut self, errors: Vec<InputError>) -> Outcome {
        let mut waiting: Vec<Waiting> = self.waiting.drain().map(|(_, w)| w).collect();
        waiting.sort_by_key(|w| w.position);
        for w in waiting {
            self.count(&w.record, w.position, w.matched);
        }
        Outcome {
            analyzer: self.analyzer,
            files: self.files,
            filter: self.filter.clone(),
            errors,
        }
    }
}

/// An open error named after the input as the user gave it.
fn rename(error: InputError, name: &str) -> InputError {
    match error {
        InputError::Open { error, .. } => InputError::Open {
            source_name: name.to_string(),
            error,
        },
        InputError::Read { line, error, .. } => InputError::Read {
            source_name: name.to_string(),
            line,
            error,
        },
    }
}

/// The user names the rules treat as unauthenticated: `given` (from
/// `--unknown-user`), then those of each format (as listed by
/// [`Formats::unauthenticated`]) that some file was read as.
pub fn unknown_users(
    given: &[String],
    formats: &[(String, Vec<String>)],
    files: &[FileSummary],
) -> Vec<String> {
    let mut names = given.to_vec();
    for (format, unauthenticated) in formats {
        if !files.iter().any(|f| f.format.as_deref() == Some(format)) {
            continue;
        }
        for name in unauthenticated {
            if !names.contains(name) {
                names.push(name.clone());
            }
        }
    }
    names
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
    filter: &'f Filter,
    reading: Reading,
    analyzer: Analyzer,
    files: Vec<FileSummary>,
    /// Requests without a response yet, by pair id.
    waiting: FxHashMap<String, Waiting>,
    /// Ids of responses that came before their request.
    answered: FxHashSet<String>,
}

/// A line kept while the format of its file is being decided.
enum Held {
    Text(u64, Vec<u8>),
    TooLong(u64),
}

/// The per-file counts a worker adds up.
#[derive(Default)]
struct Tally {
    records: u64,
    malformed: u64,
    skipped: u64,
    blank: u64,
    unmatched: u64,
}

impl Tally {
    fn add_to(&self, f: &mut FileSummary) {
        f.records += self.records;
        f.malformed += self.malformed;
        f.skipped += self.skipped;
        f.blank += self.blank;
        f.unmatched += self.unmatched;
    }
}

/// What a worker needs to read lines of one file on its own: a format
/// without pairs, so every line stands alone.
struct Work<'a> {
    parser: &'a Parser,
    filter: &'a Filter,
    file: u32,
    max_line_bytes: usize,
}

impl Work<'_> {
    /// Reads one block: lines, unwrapped (blocks never end inside a split
    /// line), parsed and counted.
    fn chunk(
        &self,
        chunk: Chunk,
        analyzer: &mut Analyzer,
        tally: &mut Tally,
        scratch: &mut Scratch,
    ) {
        match chunk {
            Chunk::Lines { data, first_line } => {
                let mut unwrapper = Unwrapper::default();
                blocks::for_each_line(&data, first_line, |number, bytes| {
                    if input::is_blank(bytes) {
                        analyzer.add_blank();
                        tally.blank += 1;
                        return;
                    }
                    let line = unwrapper.push(number, bytes, self.max_line_bytes);
                    self.log_line(line, analyzer, tally, scratch);
                });
                if let Some(rest) = unwrapper.finish() {
                    self.log_line(rest, analyzer, tally, scratch);
                }
            }
            Chunk::TooLong { line } => {
                self.log_line(LogLine::TooLong(line), analyzer, tally, scratch)
            }
        }
    }

    fn log_line(
        &self,
        line: LogLine<'_>,
        analyzer: &mut Analyzer,
        tally: &mut Tally,
        scratch: &mut Scratch,
    ) {
        let (number, bytes): (u64, &[u8]) = match &line {
            LogLine::Borrowed(n, b) => (*n, b),
            LogLine::Owned(n, b) => (*n, b),
            LogLine::TooLong(n) => {
                let position = Position {
                    file: self.file,
                    line: *n,
                };
                analyzer.add_malformed(position, LineError::TooLong(self.max_line_bytes));
                tally.malformed += 1;
                return;
            }
            LogLine::Pending => return,
        };
        let position = Position {
            file: self.file,
            line: number,
        };
        match parse_checked(self.parser, bytes, scratch) {
            Ok(Parsed::Record {
                record, matched, ..
            }) => {
                if self.filter.keeps(&record) {
                    analyzer.add(&record, position);
                    tally.records += 1;
                    tally.unmatched += u64::from(!matched);
                } else {
                    analyzer.add_filtered_out();
                }
            }
            Ok(Parsed::Skipped) => {
                analyzer.add_skipped();
                tally.skipped += 1;
            }
            Err(reason) => {
                analyzer.add_malformed(position, reason);
                tally.malformed += 1;
            }
        }
    }
}

/// Parses one record's text, refusing absurdly deep nesting first.
fn parse_checked<'a>(
    parser: &Parser,
    bytes: &'a [u8],
    scratch: &'a mut Scratch,
) -> Result<Parsed<'a>, LineError> {
    if nesting::too_deep(bytes) {
        return Err(LineError::InvalidJson(format!(
            "nested deeper than {} levels",
            nesting::MAX_DEPTH
        )));
    }
    parser.parse(bytes, scratch)
}

impl<'f> Run<'f> {
    /// Feeds every line (or value) of one input to the analyzer.
    fn read(
        &mut self,
        reader: impl Read,
        layout: Layout,
        file: u32,
    ) -> Result<(), (u64, io::Error)> {
        let max = self.reading.max_line_bytes;
        let mut scratch = Scratch::default();
        let formats: &'f Formats = self.formats;
        let mut parser: Option<&'f Parser> = match formats {
            Formats::Fixed(p) => Some(p),
            Formats::Auto { .. } => None,
        };
        let mut held: Vec<Held> = Vec::new();
        let mut held_bytes = 0usize;
        let mut unwrapper = Unwrapper::default();
        let mut take = |run: &mut Self,
                        log_line: LogLine<'_>,
                        scratch: &mut Scratch,
                        parser: &mut Option<&'f Parser>| {
            if let Some(p) = *parser {
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
                *parser = Some(p);
            }
        };
        let mut each = |run: &mut Self,
                        line: Line<'_>,
                        scratch: &mut Scratch,
                        parser: &mut Option<&'f Parser>,
                        unwrapper: &mut Unwrapper| match line {
            Line::Text { number, bytes } => {
                if layout == Layout::Lines && input::is_blank(bytes) {
                    run.analyzer.add_blank();
                    run.files[file as usize].blank += 1;
                    return;
                }
                let log_line = unwrapper.push(number, bytes, max);
                take(run, log_line, scratch, parser);
            }
            Line::TooLong { number } => take(run, LogLine::TooLong(number), scratch, parser),
        };

        let result = match layout {
            Layout::Values => input::for_each_value(reader, max, |line| {
                each(self, line, &mut scratch, &mut parser, &mut unwrapper)
            }),
            Layout::Lines => {
                // Sequential until the format is known and allows workers.
                let threads = self.reading.threads;
                std::thread::scope(|scope| {
                    let mut workers: Option<Workers> = None;
                    let result = blocks::read_chunks(
                        reader,
                        BLOCK_BYTES,
                        max,
                        |l| !input::continues(l),
                        |chunk| {
                            if let Some(w) = &workers {
                                return w.sender.send(chunk).is_ok();
                            }
                            match chunk {
                                Chunk::Lines { data, first_line } => {
                                    blocks::for_each_line(&data, first_line, |number, bytes| {
                                        each(
                                            self,
                                            Line::Text { number, bytes },
                                            &mut scratch,
                                            &mut parser,
                                            &mut unwrapper,
                                        )
                                    })
                                }
                                Chunk::TooLong { line } => each(
                                    self,
                                    Line::TooLong { number: line },
                                    &mut scratch,
                                    &mut parser,
                                    &mut unwrapper,
                                ),
                            }
                            if let Some(p) = parser
                                && threads > 1
                                && !p.pairs()
                            {
                                // The rest of the file goes to workers.
                                if let Some(rest) = unwrapper.finish() {
                                    self.log_line(p, file, rest, &mut scratch);
                                }
                                let work = Work {
                                    parser: p,
                                    filter: self.filter,
                                    file,
                                    max_line_bytes: max,
                                };
                                workers = Some(Workers::start(scope, work, self.reading));
                            }
                            true
                        },
                    );
                    if let Some(w) = workers.take() {
                        for (partial, tally) in w.finish() {
                            self.analyzer.merge(partial);
                            tally.add_to(&mut self.files[file as usize]);
                        }
                    }
                    result
                })
            }
        };
        // A split line whose last part never came.
        if let Some(rest) = unwrapper.finish() {
            take(self, rest, &mut scratch, &mut parser);
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
                LineError::TooLong(self.reading.max_line_bytes),
            ),
            LogLine::Pending => {}
        }
    }

    /// Reads one record's text under `parser`.
    fn record(&mut self, parser: &Parser, position: Position, bytes: &[u8], scratch: &mut Scratch) {
        let file = position.file;
        match parse_checked(parser, bytes, scratch) {
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
        if !self.filter.keeps(record) {
            self.analyzer.add_filtered_out();
            return;
        }
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

/// Threads reading blocks of one file, each into its own analyzer.
struct Workers<'scope> {
    sender: mpsc::SyncSender<Chunk>,
    handles: Vec<std::thread::ScopedJoinHandle<'scope, (Analyzer, Tally)>>,
}

impl<'scope> Workers<'scope> {
    fn start<'env>(
        scope: &'scope std::thread::Scope<'scope, 'env>,
        work: Work<'env>,
        reading: Reading,
    ) -> Workers<'scope> {
        let threads = reading.threads;
        let (sender, receiver) = mpsc::sync_channel::<Chunk>(threads * 2);
        let shared = std::sync::Arc::new((Mutex::new(receiver), work));
        let handles = (0..threads)
            .map(|_| {
                let shared = std::sync::Arc::clone(&shared);
                scope.spawn(move || {
                    let (receiver, work) = &*shared;
                    let mut analyzer = Analyzer::keeping_successes(reading.keep_successes);
                    let mut tally = Tally::default();
                    let mut scratch = Scratch::default();
                    loop {
                        let next = receiver.lock().map(|r| r.recv());
                        match next {
                            Ok(Ok(chunk)) => {
                                work.chunk(chunk, &mut analyzer, &mut tally, &mut scratch)
                            }
                            _ => return (analyzer, tally),
                        }
                    }
                })
            })
            .collect();
        Workers { sender, handles }
    }

    /// Waits for the workers; their partial results.
    fn finish(self) -> Vec<(Analyzer, Tally)> {
        drop(self.sender);
        self.handles
            .into_iter()
            .map(|h| match h.join() {
                Ok(partial) => partial,
                Err(panic) => std::panic::resume_unwind(panic),
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn progress_only_on_a_terminal_for_big_inputs() {
        let dir = tempfile::tempdir().unwrap();
        let big = dir.path().join("big.jsonl");
        // Sparse: a size without the bytes.
        std::fs::File::create(&big)
            .unwrap()
            .set_len(PROGRESS_MIN_BYTES + 1)
            .unwrap();
        let small = dir.path().join("small.jsonl");
        std::fs::write(&small, "{}\n").unwrap();
        let big = [Source::Path(big)];
        assert!(progress_bar(&big, true).is_some());
        assert!(
            progress_bar(&big, false).is_none(),
            "never on a pipe or file"
        );
        assert!(progress_bar(&[Source::Path(small)], true).is_none());
        assert!(progress_bar(&[Source::Stdin], true).is_none());
    }
}
