//! Where the bytes come from: opening inputs (decompression, directories,
//! layout), reading JSON-value streams, and undoing container wrappers.
//! Files of lines are cut into blocks of lines by [`crate::blocks`].

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

/// How an input is compressed, as its first bytes say.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Compression {
    None,
    Gzip,
    Zstd,
}

impl Compression {
    /// The name shown in the summary; `None` for plain input.
    pub fn name(self) -> Option<&'static str> {
        match self {
            Compression::None => None,
            Compression::Gzip => Some("gzip"),
            Compression::Zstd => Some("zstd"),
        }
    }

    fn of(head: &[u8]) -> Compression {
        if head.starts_with(&[0x1f, 0x8b]) {
            Compression::Gzip
        } else if head.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
            Compression::Zstd
        } else {
            Compression::None
        }
    }
}

/// How the text of an input is laid out.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Layout {
    /// One JSON value per line.
    Lines,
    /// JSON values spread over lines: one array of records, a
    /// `{"Records":[...]}` document, or pretty-printed objects one after
    /// another.
    Values,
}

/// An opened input: decompressed, with its layout sniffed from its start.
pub struct Opened {
    pub reader: Box<dyn Read + Send>,
    pub compression: Compression,
    pub layout: Layout,
}

/// How many bytes of decompressed text are looked at to choose the layout.
const SNIFF: usize = 64 * 1024;

/// Opens a source for reading: a directory is refused here with a clear
/// message rather than failing on the first read; gzip and zstd are
/// recognised by their magic bytes and decompressed. With `progress`, the
/// bytes read advance the bar.
pub fn open(
    source: &Source,
    progress: Option<&indicatif::ProgressBar>,
) -> Result<Opened, InputError> {
    let name = source.to_string();
    let fail = |error| InputError::Open {
        source_name: name.clone(),
        error,
    };
    let raw: Box<dyn Read + Send> = match source {
        Source::Stdin => Box::new(io::stdin()),
        Source::Path(path) => {
            let file = File::open(path).map_err(fail)?;
            if file.metadata().map_err(fail)?.is_dir() {
                return Err(fail(io::Error::other("is a directory")));
            }
            Box::new(file)
        }
    };
    // The bar counts the bytes as they are on disk (compressed or not).
    let raw: Box<dyn Read + Send> = match progress {
        Some(bar) => Box::new(bar.wrap_read(raw)),
        None => raw,
    };
    open_reader(raw, &name)
}

/// Opens an already open byte stream named `name` (a file, standard input,
/// or bytes in memory): decompressed when its magic bytes say so, its
/// layout sniffed from its start.
pub fn open_reader(raw: Box<dyn Read + Send>, name: &str) -> Result<Opened, InputError> {
    let fail = |error| InputError::Open {
        source_name: name.to_string(),
        error,
    };
    let mut raw = io::BufReader::with_capacity(BLOCK, raw);
    let head = read_head(&mut raw, 4).map_err(fail)?;
    let compression = Compression::of(&head);
    let raw = io::Cursor::new(head).chain(raw);
    let mut reader: Box<dyn Read + Send> = match compression {
        Compression::None => Box::new(raw),
        Compression::Gzip => Box::new(Damage {
            inner: flate2::read::MultiGzDecoder::new(raw),
            what: "gzip",
        }),
        Compression::Zstd => {
            let decoder = zstd::stream::read::Decoder::new(raw).map_err(fail)?;
            Box::new(Damage {
                inner: decoder,
                what: "zstd",
            })
        }
    };
    // A read error while sniffing comes after the bytes read before it, so
    // the lines before the damage still count and the error names its line.
    let mut head = Vec::with_capacity(SNIFF.min(BLOCK));
    let failed = (&mut reader)
        .take(SNIFF as u64)
        .read_to_end(&mut head)
        .err();
    let layout = sniff_layout(&head);
    let head = io::Cursor::new(head);
    Ok(Opened {
        reader: match failed {
            None => Box::new(head.chain(reader)),
            Some(e) => Box::new(head.chain(Failed(Some(e)))),
        },
        compression,
        layout,
    })
}

/// Opens the lines of `path` that begin in bytes `[start, end)`: a shard of a
/// big file for `report --partial --range`. A line that begins before
/// `start` belongs to the shard before; the last line may run past `end`.
/// Compressed files cannot be cut. The counter receives the number of
/// newlines read, which locates the shard's lines in the whole file.
pub fn open_range(
    path: &std::path::Path,
    start: u64,
    end: u64,
    newlines: std::sync::Arc<std::sync::atomic::AtomicU64>,
) -> Result<Opened, InputError> {
    use io::{BufRead, Seek, SeekFrom};
    let name = path.display().to_string();
    let fail = |error| InputError::Open {
        source_name: name.clone(),
        error,
    };
    let mut file = File::open(path).map_err(fail)?;
    let mut head = Vec::new();
    (&mut file).take(4).read_to_end(&mut head).map_err(fail)?;
    if Compression::of(&head) != Compression::None {
        return Err(fail(io::Error::other(
            "a compressed file cannot be cut into byte ranges: read it whole",
        )));
    }
    let mut reader = io::BufReader::with_capacity(BLOCK, file);
    let first = match start {
        0 => reader.seek(SeekFrom::Start(0)).map_err(fail)?,
        _ => {
            reader.seek(SeekFrom::Start(start - 1)).map_err(fail)?;
            start - 1 + reader.skip_until(b'\n').map_err(fail)? as u64
        }
    };
    let range = RangeReader {
        inner: reader,
        left: end.saturating_sub(first),
        tail: false,
        newlines,
    };
    open_reader(Box::new(range), &name)
}

/// Reads a shard: `left` bytes, then on to the end of the line they stop in.
struct RangeReader<R> {
    inner: R,
    left: u64,
    /// Reading the rest of the last line.
    tail: bool,
    newlines: std::sync::Arc<std::sync::atomic::AtomicU64>,
}

impl<R: io::BufRead> Read for RangeReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = if self.tail {
            let available = self.inner.fill_buf()?;
            let (n, done) = match memchr::memchr(b'\n', available) {
                Some(i) if i < buf.len() => (i + 1, true),
                _ => (available.len().min(buf.len()), available.is_empty()),
            };
            buf[..n].copy_from_slice(&available[..n]);
            self.inner.consume(n);
            if done {
                self.tail = false;
            }
            n
        } else if self.left > 0 {
            let want = buf
                .len()
                .min(usize::try_from(self.left).unwrap_or(usize::MAX));
            let n = self.inner.read(&mut buf[..want])?;
            self.left = if n == 0 { 0 } else { self.left - n as u64 };
            if self.left == 0 && n > 0 && buf[n - 1] != b'\n' {
                self.tail = true;
            }
            n
        } else {
            0
        };
        let count = memchr::memchr_iter(b'\n', &buf[..n]).count() as u64;
        self.newlines
            .fetch_add(count, std::sync::atomic::Ordering::Relaxed);
        Ok(n)
    }
}

/// A reader that fails once with a stored error, then ends.
struct Failed(Option<io::Error>);

impl Read for Failed {
    fn read(&mut self, _: &mut [u8]) -> io::Result<usize> {
        match self.0.take() {
            Some(e) => Err(e),
            None => Ok(0),
        }
    }
}

/// Names the decompressor in its errors, so a damaged file says so.
struct Damage<R> {
    inner: R,
    what: &'static str,
}

impl<R: Read> Read for Damage<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.inner.read(buf).map_err(|e| {
            if e.kind() == io::ErrorKind::Interrupted {
                e
            } else {
                io::Error::new(e.kind(), format!("damaged {} data: {e}", self.what))
            }
        })
    }
}

/// Reads up to `n` bytes (fewer only at the end of the input).
fn read_head(reader: &mut impl Read, n: usize) -> io::Result<Vec<u8>> {
    let mut head = Vec::with_capacity(n.min(BLOCK));
    reader.take(n as u64).read_to_end(&mut head)?;
    Ok(head)
}

/// Chooses the layout from the first bytes of the text: an array, or a first
/// line that opens an object it does not close, means values over lines.
pub fn sniff_layout(head: &[u8]) -> Layout {
    let text = head.strip_prefix(BOM).unwrap_or(head);
    let start = text
        .iter()
        .position(|c| !matches!(c, b' ' | b'\t' | b'\r' | b'\n'));
    let Some(start) = start else {
        return Layout::Lines;
    };
    let text = &text[start..];
    match text[0] {
        b'[' => {
            // An array of records starts with an object (or is empty). A
            // whole array on the first line with more lines after it is JSON
            // lines that start with a stray array.
            let first = text[1..].iter().find(|c| !c.is_ascii_whitespace());
            if !matches!(first, Some(b'{' | b']')) {
                return Layout::Lines;
            }
            let end = memchr::memchr(b'\n', text).unwrap_or(text.len());
            let more = text[end..].iter().any(|c| !c.is_ascii_whitespace());
            match serde_json::from_slice::<serde::de::IgnoredAny>(&text[..end]) {
                Ok(_) if more => Layout::Lines,
                _ => Layout::Values,
            }
        }
        // CloudTrail's S3 objects: `{"Records":[...]}` on one line.
        b'{' if starts_records(text) => Layout::Values,
        b'{' => {
            let Some(end) = memchr::memchr(b'\n', text) else {
                // One line (or more than the sniffed bytes): lines.
                return Layout::Lines;
            };
            // An object that goes on past its first line is pretty-printed
            // when the next line holds its next key (or its end); anything
            // else is JSON lines whose first line is cut short.
            let next = text[end..].iter().find(|c| !c.is_ascii_whitespace());
            match serde_json::from_slice::<serde::de::IgnoredAny>(&text[..end]) {
                Err(e) if e.is_eof() && matches!(next, Some(b'"' | b'}')) => Layout::Values,
                _ => Layout::Lines,
            }
        }
        _ => Layout::Lines,
    }
}

/// The inputs named on the command line with directories expanded: the
/// files to read in order, and how many files in the directories were not
/// log files.
#[derive(Debug, Default)]
pub struct Expanded {
    pub sources: Vec<Source>,
    pub skipped_files: u64,
    pub errors: Vec<InputError>,
}

/// Expands each directory into the log files under it (recursively, sorted
/// by path): names ending in `.jsonl`, `.json`, `.log` or `.ndjson`,
/// optionally followed by a rotation number (`.1`) and `.gz` or `.zst`.
/// Other files are counted as skipped. Symbolic links to directories are
/// not followed.
pub fn expand(sources: Vec<Source>) -> Expanded {
    let mut out = Expanded::default();
    for source in sources {
        match &source {
            Source::Path(path) if path.is_dir() => {
                let mut files = Vec::new();
                walk_dir(path, &mut files, &mut out);
                files.sort();
                for file in files {
                    if is_log_name(&file) {
                        out.sources.push(Source::Path(file));
                    } else {
                        out.skipped_files += 1;
                    }
                }
            }
            _ => out.sources.push(source),
        }
    }
    out
}

fn walk_dir(dir: &std::path::Path, files: &mut Vec<PathBuf>, out: &mut Expanded) {
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(error) => {
            out.errors.push(InputError::Open {
                source_name: dir.display().to_string(),
                error,
            });
            return;
        }
    };
    for entry in entries {
        let entry = match entry {
            Ok(e) => e,
            Err(error) => {
                out.errors.push(InputError::Open {
                    source_name: dir.display().to_string(),
                    error,
                });
                continue;
            }
        };
        let path = entry.path();
        match entry.file_type() {
            Ok(t) if t.is_dir() => walk_dir(&path, files, out),
            Ok(t) if t.is_symlink() && path.is_dir() => out.skipped_files += 1,
            _ => files.push(path),
        }
    }
}

/// Whether a file name looks like a log file (see [`expand`]).
pub fn is_log_name(path: &std::path::Path) -> bool {
    let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
        return false;
    };
    let name = name
        .strip_suffix(".gz")
        .or_else(|| name.strip_suffix(".zst"))
        .unwrap_or(name);
    // A rotation number: `api.log.1`.
    let name = match name.rsplit_once('.') {
        Some((stem, n)) if !n.is_empty() && n.bytes().all(|c| c.is_ascii_digit()) => stem,
        _ => name,
    };
    [".jsonl", ".json", ".log", ".ndjson"]
        .iter()
        .any(|ext| name.len() > ext.len() && name.ends_with(ext))
}

/// The log line inside a line written by a container runtime: docker
/// compose (`name  | {...}`) or CRI (`2025-12-31T17:37:40.49+01:00 stdout F
/// {...}`). Other lines are returned as they are.
pub fn strip_container_prefix(line: &[u8]) -> &[u8] {
    unwrap_container(line).bytes
}

/// A line without its container prefix.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Unwrapped<'a> {
    pub bytes: &'a [u8],
    /// A CRI partial line (tag `P`): the runtime split a long line, and the
    /// next line continues it.
    pub partial: bool,
}

/// See [`strip_container_prefix`]; also says whether a CRI line is partial.
pub fn unwrap_container(line: &[u8]) -> Unwrapped<'_> {
    let whole = |bytes| Unwrapped {
        bytes,
        partial: false,
    };
    if matches!(line.first(), Some(b'{' | b'[')) {
        return whole(line);
    }
    // docker compose: a service name, at least one space, `| `.
    if let Some(bar) = memchr::memchr(b'|', line) {
        let name = &line[..bar];
        let trimmed = name.trim_ascii_end();
        if !trimmed.is_empty()
            && trimmed.len() < name.len()
            && trimmed
                .iter()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'_' | b'-' | b'.'))
            && line.get(bar + 1) == Some(&b' ')
        {
            return whole(&line[bar + 2..]);
        }
    }
    // CRI: an RFC 3339 time, the stream, a tag (F full, P partial), one
    // space each.
    let mut parts = line.splitn(4, |c| *c == b' ');
    if let (Some(time), Some(stream), Some(tag), rest) =
        (parts.next(), parts.next(), parts.next(), parts.next())
        && time.len() >= 20
        && time[..4].iter().all(u8::is_ascii_digit)
        && time.get(10) == Some(&b'T')
        && matches!(stream, b"stdout" | b"stderr")
        && matches!(tag, b"F" | b"P")
    {
        return Unwrapped {
            bytes: rest.unwrap_or_default(),
            partial: tag == b"P",
        };
    }
    whole(line)
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

/// Turns the lines of one input into log lines: container prefixes removed,
/// docker json-file records unwrapped, and lines the runtime split joined.
#[derive(Debug, Default)]
pub struct Unwrapper {
    /// The first line of a split line, its parts so far, and whether they
    /// passed the size limit.
    pending: Option<(u64, Vec<u8>, bool)>,
}

/// What [`Unwrapper::push`] made of a line.
#[derive(Debug, PartialEq, Eq)]
pub enum LogLine<'a> {
    /// A log line and the line it starts on.
    Borrowed(u64, &'a [u8]),
    /// A log line taken out of a wrapper, or joined from parts (at the line
    /// of the first part).
    Owned(u64, Vec<u8>),
    /// Parts that together passed the size limit.
    TooLong(u64),
    /// A part; the line goes on in the next.
    Pending,
}

/// A line of docker's json-file log driver.
#[derive(serde::Deserialize)]
struct DockerLine {
    log: String,
    #[allow(dead_code)]
    stream: serde::de::IgnoredAny,
}

/// Whether `line` is only a part of a log line that goes on in the next
/// line (a CRI `P` line, or docker json-file whose `log` lacks its final
/// newline): input must not be cut after it.
pub fn continues(line: &[u8]) -> bool {
    if line.starts_with(b"{\"log\":")
        && let Ok(d) = serde_json::from_slice::<DockerLine>(line)
    {
        return !d.log.ends_with('\n');
    }
    unwrap_container(line).partial
}

impl Unwrapper {
    /// Takes one line of the input.
    pub fn push<'a>(&mut self, number: u64, line: &'a [u8], max: usize) -> LogLine<'a> {
        // docker json-file: `{"log":"{...}\n","stream":"stdout","time":...}`;
        // a `log` without its final newline is continued in the next line.
        if line.starts_with(b"{\"log\":")
            && let Ok(d) = serde_json::from_slice::<DockerLine>(line)
        {
            let complete = d.log.ends_with('\n');
            if complete && self.pending.is_none() {
                return if d.log.trim_start().starts_with('{') {
                    LogLine::Owned(number, d.log.trim_end().as_bytes().to_vec())
                } else {
                    // Not a JSON object: the line is read as it is.
                    LogLine::Borrowed(number, line)
                };
            }
            let part = if complete { d.log.trim_end() } else { &d.log };
            return self.part(number, part.as_bytes(), !complete, max);
        }
        let u = unwrap_container(line);
        if !u.partial && self.pending.is_none() {
            return LogLine::Borrowed(number, u.bytes);
        }
        self.part(number, u.bytes, u.partial, max)
    }

    /// Adds a part of a split line; `more` when the line goes on.
    fn part<'a>(&mut self, number: u64, bytes: &[u8], more: bool, max: usize) -> LogLine<'a> {
        let (_, joined, too_long) = self
            .pending
            .get_or_insert_with(|| (number, Vec::new(), false));
        if joined.len() + bytes.len() > max {
            *too_long = true;
            *joined = Vec::new();
        } else if !*too_long {
            joined.extend_from_slice(bytes);
        }
        if more {
            return LogLine::Pending;
        }
        self.finish().unwrap_or(LogLine::Pending)
    }

    /// The parts of a line whose last part never came, if any.
    pub fn finish(&mut self) -> Option<LogLine<'static>> {
        self.pending.take().map(|(start, joined, too_long)| {
            if too_long {
                LogLine::TooLong(start)
            } else {
                LogLine::Owned(start, joined)
            }
        })
    }
}

/// Reads a stream of JSON values spread over lines, calling `each` with
/// each value and the line it starts on: the elements of a top-level array,
/// the records of `{"Records":[...]}`, or whole objects one after another.
/// Only one value is held at a time. Text at the top level that starts no
/// value is handed out up to the end of its line (the parser reports it);
/// a value over `max` bytes is [`Line::TooLong`].
pub fn for_each_value(
    mut reader: impl Read,
    max: usize,
    mut each: impl FnMut(Line<'_>),
) -> Result<(), (u64, io::Error)> {
    let mut buf = vec![0u8; BLOCK];
    let mut s = ValueScanner::default();
    let mut first = true;
    loop {
        let n = match reader.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err((s.line, e)),
        };
        let mut chunk = &buf[..n];
        if first {
            // The sniffer has read at least 64 KiB or everything, so a BOM
            // is whole here.
            chunk = chunk.strip_prefix(BOM).unwrap_or(chunk);
            first = false;
        }
        for &c in chunk {
            s.byte(c, max, &mut each);
        }
    }
    s.finish(&mut each);
    Ok(())
}

/// The state of [`for_each_value`] between bytes.
#[derive(Default)]
struct ValueScanner {
    /// The current line (1-based once started).
    line: u64,
    /// Bracket depth.
    depth: usize,
    /// The depth values are handed out at: 0 for values one after another,
    /// 1 inside a top-level array, 2 inside `{"Records":[`.
    emit_depth: usize,
    in_value: bool,
    in_string: bool,
    escaped: bool,
    /// A value that is not an object or array (or stray text), ending at a
    /// delimiter; `to_eol` when it is stray text ending at the line's end.
    in_scalar: bool,
    to_eol: bool,
    /// Skipping the rest of a `{"Records":[...]}` document after its array.
    discard: bool,
    value: Vec<u8>,
    value_line: u64,
    too_long: bool,
}

impl ValueScanner {
    fn byte(&mut self, c: u8, max: usize, each: &mut impl FnMut(Line<'_>)) {
        if self.line == 0 {
            self.line = 1;
        }
        if self.in_value {
            if self.in_scalar {
                let ends = if self.to_eol {
                    c == b'\n'
                } else {
                    matches!(c, b' ' | b'\t' | b'\r' | b'\n' | b',' | b']' | b'}')
                };
                if ends {
                    self.emit(each);
                    self.between(c);
                    return;
                }
                self.push(c, max);
                return;
            }
            self.push(c, max);
            if c == b'\n' {
                self.line += 1;
            }
            if self.in_string {
                if self.escaped {
                    self.escaped = false;
                } else if c == b'\\' {
                    self.escaped = true;
                } else if c == b'"' {
                    self.in_string = false;
                    if self.depth == self.emit_depth && !self.discard {
                        // A string element of an array.
                        self.emit(each);
                    }
                }
                return;
            }
            match c {
                b'"' => self.in_string = true,
                b'{' | b'[' => {
                    self.depth += 1;
                    if c == b'['
                        && self.depth == 2
                        && self.emit_depth == 0
                        && !self.discard
                        && is_records_start(&self.value)
                    {
                        // Read the records one by one.
                        self.value.clear();
                        self.in_value = false;
                        self.emit_depth = 2;
                    }
                }
                b'}' | b']' => {
                    self.depth = self.depth.saturating_sub(1);
                    if self.depth <= self.emit_depth {
                        self.depth = self.emit_depth;
                        if self.discard {
                            self.discard = false;
                            self.in_value = false;
                            self.value.clear();
                        } else {
                            self.emit(each);
                        }
                    }
                }
                _ => {}
            }
            return;
        }
        self.between(c);
    }

    /// A byte between values.
    fn between(&mut self, c: u8) {
        match c {
            b'\n' => self.line += 1,
            b' ' | b'\t' | b'\r' => {}
            b',' if self.emit_depth > 0 => {}
            b']' | b'}' if self.emit_depth > 0 => {
                // The container closes.
                if self.emit_depth == 2 {
                    // Skip whatever else the Records document holds.
                    self.depth = 1;
                    self.emit_depth = 0;
                    self.discard = true;
                    self.start(b' ');
                    self.in_scalar = false;
                } else {
                    self.depth = 0;
                    self.emit_depth = 0;
                }
            }
            b'[' if self.emit_depth == 0 => {
                self.depth = 1;
                self.emit_depth = 1;
            }
            _ => self.start(c),
        }
    }

    fn start(&mut self, c: u8) {
        self.in_value = true;
        self.value.clear();
        self.value.push(c);
        self.value_line = self.line;
        self.too_long = false;
        self.in_string = c == b'"';
        self.escaped = false;
        self.in_scalar = false;
        self.to_eol = false;
        match c {
            b'{' | b'[' => self.depth += 1,
            b'"' => {}
            b'-' | b'0'..=b'9' | b't' | b'f' | b'n' if self.emit_depth > 0 => self.in_scalar = true,
            _ => {
                self.in_scalar = true;
                self.to_eol = true;
            }
        }
        if c == b'"' && self.emit_depth == 0 {
            // A string at the top level: stray text to the end of its line.
            self.in_string = false;
            self.in_scalar = true;
            self.to_eol = true;
        }
    }

    fn push(&mut self, c: u8, max: usize) {
        if self.too_long {
            return;
        }
        self.value.push(c);
        if self.value.len() > max {
            self.too_long = true;
            self.value = Vec::new();
        }
    }

    fn emit(&mut self, each: &mut impl FnMut(Line<'_>)) {
        self.in_value = false;
        self.in_scalar = false;
        if self.too_long {
            each(Line::TooLong {
                number: self.value_line,
            });
        } else {
            each(Line::Text {
                number: self.value_line,
                bytes: strip_cr(&self.value),
            });
        }
        self.value.clear();
    }

    fn finish(&mut self, each: &mut impl FnMut(Line<'_>)) {
        if self.in_value && !self.discard {
            // An unfinished value: the parser says what is wrong with it.
            self.emit(each);
        }
    }
}

/// Whether `text` starts with `{ "Records" : [`, white space allowed.
fn starts_records(text: &[u8]) -> bool {
    let mut rest = text;
    for token in [&b"{"[..], b"\"Records\"", b":", b"["] {
        rest = rest.trim_ascii_start();
        match rest.strip_prefix(token) {
            Some(r) => rest = r,
            None => return false,
        }
    }
    true
}

/// Whether `value` is `{ "Records" : [`, white space allowed.
fn is_records_start(value: &[u8]) -> bool {
    starts_records(value) && value.last() == Some(&b'[')
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

    #[test]
    fn blank_lines() {
        assert!(is_blank(b""));
        assert!(is_blank(b" \t\r"));
        assert!(!is_blank(b" x"));
        assert!(!is_blank(b"\x0c"));
    }

    /// Values handed out by `for_each_value`, as (line, text).
    fn values(input: &str) -> Vec<(u64, String)> {
        let mut out = Vec::new();
        for_each_value(input.as_bytes(), 1 << 20, |line| match line {
            Line::Text { number, bytes } => {
                out.push((number, String::from_utf8_lossy(bytes).into_owned()))
            }
            Line::TooLong { number } => out.push((number, "TOO LONG".into())),
        })
        .unwrap();
        out
    }

    #[test]
    fn values_of_an_array() {
        assert_eq!(
            values("[\n {\"a\": [1, {\"b\": \"]}\"}]},\n {\"c\": 2}\n]\n"),
            [
                (2, "{\"a\": [1, {\"b\": \"]}\"}]}".to_string()),
                (3, "{\"c\": 2}".into())
            ]
        );
        assert_eq!(
            values("[1, \"x\", null]"),
            [
                (1, "1".to_string()),
                (1, "\"x\"".into()),
                (1, "null".into())
            ]
        );
        assert_eq!(values("[]"), []);
    }

    #[test]
    fn values_of_a_records_document() {
        let doc =
            "{\"Records\": [{\n\t\"a\": 1\n},\n{\"b\": \"x\\\"}\"}\n], \"Other\": {\"x\": [1]}}\n";
        assert_eq!(
            values(doc),
            [
                (1, "{\n\t\"a\": 1\n}".to_string()),
                (4, "{\"b\": \"x\\\"}\"}".into())
            ]
        );
        // An object whose first key is not Records is a record.
        assert_eq!(
            values("{\"Recs\": [1]}"),
            [(1, "{\"Recs\": [1]}".to_string())]
        );
    }

    #[test]
    fn values_one_after_another_with_stray_text() {
        let input = "{\n  \"a\": 1\n}\n{\n  \"b\": {\n  }\n}\nplain text here\n{\"c\":\n";
        assert_eq!(
            values(input),
            [
                (1, "{\n  \"a\": 1\n}".to_string()),
                (4, "{\n  \"b\": {\n  }\n}".into()),
                (8, "plain text here".into()),
                (9, "{\"c\":\n".into())
            ]
        );
    }

    #[test]
    fn too_long_values_are_reported() {
        let mut out = Vec::new();
        let big = format!("[{{\"a\":\"{}\"}},\n{{}}]", "x".repeat(100));
        for_each_value(big.as_bytes(), 50, |l| {
            out.push(match l {
                Line::Text { number, .. } => (number, "text"),
                Line::TooLong { number } => (number, "too long"),
            })
        })
        .unwrap();
        assert_eq!(out, [(1, "too long"), (2, "text")]);
    }

    #[test]
    fn layouts() {
        assert_eq!(sniff_layout(b"{\"a\":1}\n{\"b\":2}\n"), Layout::Lines);
        assert_eq!(sniff_layout(b"{\"a\":1}"), Layout::Lines);
        assert_eq!(sniff_layout(b"\xEF\xBB\xBF  [\n{}]"), Layout::Values);
        assert_eq!(sniff_layout(b"{\"Records\": [{\n"), Layout::Values);
        assert_eq!(sniff_layout(b"{\"Records\":[{\"a\":1}]}\n"), Layout::Values);
        assert_eq!(sniff_layout(b"{\"Recordsx\":[{\"a\":1}]}\n"), Layout::Lines);
        assert_eq!(sniff_layout(b"{\n  \"a\": 1\n}\n"), Layout::Values);
        // A broken first line is a malformed line, not a layout.
        assert_eq!(sniff_layout(b"{\"a\":}\n{}\n"), Layout::Lines);
        assert_eq!(sniff_layout(b"plain\n"), Layout::Lines);
        assert_eq!(sniff_layout(b"[1,2]\n{\"a\":1}\n"), Layout::Lines);
        assert_eq!(sniff_layout(b"{\"a\":\n{\"a\":1}\n"), Layout::Lines);
        assert_eq!(sniff_layout(b"{\"a\":\nnot json\n"), Layout::Lines);
        assert_eq!(sniff_layout(b"[1,2]\n"), Layout::Lines);
        assert_eq!(sniff_layout(b"[{\"a\":1},{\"a\":2}]\n"), Layout::Values);
        assert_eq!(sniff_layout(b""), Layout::Lines);
    }

    #[test]
    fn container_prefixes() {
        let strip =
            |s: &str| String::from_utf8_lossy(strip_container_prefix(s.as_bytes())).into_owned();
        assert_eq!(strip("caddy  | {\"a\":1}"), "{\"a\":1}");
        assert_eq!(strip("web-1 | {\"a\":1}"), "{\"a\":1}");
        assert_eq!(
            strip("2025-12-31T17:37:40.493035218+01:00 stdout F {\"a\":1}"),
            "{\"a\":1}"
        );
        assert_eq!(
            strip("2025-12-31T17:37:40.49Z stderr F [x] plain"),
            "[x] plain"
        );
        assert_eq!(strip("{\"a\":\"b | c\"}"), "{\"a\":\"b | c\"}");
        assert_eq!(strip("a|b"), "a|b");
        let u = unwrap_container(b"2025-12-31T17:37:40.49Z stdout P {\"a\":");
        assert_eq!((u.bytes, u.partial), (&b"{\"a\":"[..], true));
        let u = unwrap_container(b"2025-12-31T17:37:40.49Z stdout F");
        assert_eq!((u.bytes, u.partial), (&b""[..], false));
        assert_eq!(strip("DEBUG: x"), "DEBUG: x");
    }

    #[test]
    fn cri_parts_are_joined() {
        let mut u = Unwrapper::default();
        let t = "2024-01-01T00:00:00.000000001Z";
        assert_eq!(
            u.push(1, format!("{t} stdout F {{}}").as_bytes(), 100),
            LogLine::Borrowed(1, b"{}")
        );
        assert_eq!(
            u.push(2, format!("{t} stdout P {{\"a\"").as_bytes(), 100),
            LogLine::Pending
        );
        assert_eq!(
            u.push(3, format!("{t} stdout P :1").as_bytes(), 100),
            LogLine::Pending
        );
        assert_eq!(
            u.push(4, format!("{t} stdout F }}").as_bytes(), 100),
            LogLine::Owned(2, b"{\"a\":1}".to_vec())
        );
        assert_eq!(
            u.push(5, format!("{t} stdout P 123456").as_bytes(), 10),
            LogLine::Pending
        );
        assert_eq!(
            u.push(6, format!("{t} stdout F 123456").as_bytes(), 10),
            LogLine::TooLong(5)
        );
        assert_eq!(
            u.push(7, format!("{t} stdout P {{").as_bytes(), 10),
            LogLine::Pending
        );
        assert_eq!(u.finish(), Some(LogLine::Owned(7, b"{".to_vec())));
        assert_eq!(u.finish(), None);
    }

    #[test]
    fn docker_json_file_lines_are_unwrapped_and_joined() {
        let mut u = Unwrapper::default();
        assert_eq!(
            u.push(
                1,
                br#"{"log":"{\"a\":1}\n","stream":"stdout","time":"t"}"#,
                100
            ),
            LogLine::Owned(1, b"{\"a\":1}".to_vec())
        );
        let text = br#"{"log":"hello\n","stream":"stderr","time":"t"}"#;
        assert_eq!(u.push(2, text, 100), LogLine::Borrowed(2, &text[..]));
        assert_eq!(
            u.push(3, br#"{"log":"{\"a\":","stream":"stdout","time":"t"}"#, 100),
            LogLine::Pending
        );
        assert_eq!(
            u.push(4, br#"{"log":"2}\n","stream":"stdout","time":"t"}"#, 100),
            LogLine::Owned(3, b"{\"a\":2}".to_vec())
        );
        // Not the wrapper (no stream): the line itself.
        let other = br#"{"log":"{}\n","user":"x"}"#;
        assert_eq!(u.push(5, other, 100), LogLine::Borrowed(5, &other[..]));
    }

    #[test]
    fn log_file_names() {
        for name in [
            "a.jsonl",
            "a.json",
            "a.log",
            "a.ndjson",
            "a.log.gz",
            "a.jsonl.zst",
            "a.log.1",
            "a.log.12.gz",
        ] {
            assert!(is_log_name(std::path::Path::new(name)), "{name}");
        }
        for name in ["a.txt", "README", ".log", "a.gz", "a.log.x", "a.log.1.bz2"] {
            assert!(!is_log_name(std::path::Path::new(name)), "{name}");
        }
    }

    #[test]
    fn compression_by_magic_bytes() {
        assert_eq!(Compression::of(&[0x1f, 0x8b, 8]), Compression::Gzip);
        assert_eq!(
            Compression::of(&[0x28, 0xb5, 0x2f, 0xfd]),
            Compression::Zstd
        );
        assert_eq!(Compression::of(b"{}"), Compression::None);
        assert_eq!(Compression::of(b""), Compression::None);
    }
}
