//! Paths into a JSON record (`user.username`, `sourceIPs.0`,
//! `["addr.remote"]`, `authorizationInfo[].granted`) and the templates that
//! compose a value from several paths (`{verb} {objectRef.resource}`).
//!
//! Reading is one pass per object level: a [`PathTree`] knows every key any
//! path needs at every level, captures their values as `&RawValue` and skips
//! everything else without building it. Only a path through `[]` (any
//! element) walks an array element by element.

use std::fmt;

use rustc_hash::FxHashMap;
use serde::de::{self, DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::value::RawValue;

/// One step of a path.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Segment {
    /// An object key, or an array index when it is all digits and the value
    /// is an array.
    Key(String),
    /// `[]`: every element of an array.
    Any,
}

/// A parsed path, as written by the user.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Path {
    pub segments: Vec<Segment>,
}

/// Why a path or template does not parse.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("bad path `{text}`: {reason}")]
pub struct PathError {
    pub text: String,
    pub reason: &'static str,
}

impl Path {
    /// Parses `a.b.0`, `a["b.c"]`, `a[0]`, `a[].b`. A key holding a dot (or
    /// a bracket, a quote) is written `["key"]`, with `\"` and `\\` escapes.
    pub fn parse(text: &str) -> Result<Path, PathError> {
        let err = |reason| PathError {
            text: text.to_string(),
            reason,
        };
        let b = text.as_bytes();
        let mut segments = Vec::new();
        let mut i = 0;
        // Whether a segment must start here (start, or after a dot).
        let mut need = true;
        while i < b.len() {
            match b[i] {
                b'[' => {
                    if b.get(i + 1) == Some(&b']') {
                        segments.push(Segment::Any);
                        i += 2;
                    } else if b.get(i + 1) == Some(&b'"') {
                        let mut key = String::new();
                        let mut j = i + 2;
                        loop {
                            match b.get(j) {
                                None => return Err(err("unterminated quoted key")),
                                Some(b'\\') => {
                                    match b.get(j + 1) {
                                        Some(&c @ (b'"' | b'\\')) => key.push(c as char),
                                        _ => return Err(err("only \\\" and \\\\ are escapes")),
                                    }
                                    j += 2;
                                }
                                Some(b'"') => break,
                                Some(_) => {
                                    let ch = text[j..].chars().next().unwrap_or('\u{fffd}');
                                    key.push(ch);
                                    j += ch.len_utf8();
                                }
                            }
                        }
                        if b.get(j + 1) != Some(&b']') {
                            return Err(err("expected `]` after the quoted key"));
                        }
                        segments.push(Segment::Key(key));
                        i = j + 2;
                    } else {
                        let end = text[i..].find(']').ok_or_else(|| err("unclosed `[`"))? + i;
                        let index = &text[i + 1..end];
                        if !index.bytes().all(|c| c.is_ascii_digit()) {
                            return Err(err("write a key as [\"key\"]; [N] takes digits"));
                        }
                        segments.push(Segment::Key(index.to_string()));
                        i = end + 1;
                    }
                    need = false;
                }
                b'.' => {
                    if need {
                        return Err(err("empty segment"));
                    }
                    need = true;
                    i += 1;
                    if i == b.len() {
                        return Err(err("ends with a dot"));
                    }
                    if b[i] == b'[' {
                        // `a.["b"]` reads as `a["b"]`.
                        continue;
                    }
                }
                _ => {
                    if !need {
                        return Err(err("expected `.` or `[` between segments"));
                    }
                    let end = text[i..].find(['.', '[']).map_or(text.len(), |e| e + i);
                    segments.push(Segment::Key(text[i..end].to_string()));
                    i = end;
                    need = false;
                }
            }
        }
        if segments.is_empty() {
            return Err(err("empty path"));
        }
        Ok(Path { segments })
    }
}

impl fmt::Display for Path {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, s) in self.segments.iter().enumerate() {
            match s {
                Segment::Any => f.write_str("[]")?,
                Segment::Key(k)
                    if !k.is_empty() && !k.contains(['.', '[', ']', '"', '{', '}', '?']) =>
                {
                    if i > 0 {
                        f.write_str(".")?;
                    }
                    f.write_str(k)?;
                }
                Segment::Key(k) => {
                    write!(f, "[\"{}\"]", k.replace('\\', "\\\\").replace('"', "\\\""))?;
                }
            }
        }
        Ok(())
    }
}

/// A piece of a template.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Piece {
    Text(String),
    /// `{path}` (required) or `{path?}` (optional: when it has no value,
    /// the text just before it is dropped too).
    Value {
        path: Path,
        optional: bool,
    },
}

/// What a role reads: one path, or a template composing several.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Source {
    Path(Path),
    Template(Vec<Piece>),
}

impl Source {
    /// A template when the text holds `{`, else a path.
    pub fn parse(text: &str) -> Result<Source, PathError> {
        if !text.contains('{') {
            return Path::parse(text).map(Source::Path);
        }
        let err = |reason| PathError {
            text: text.to_string(),
            reason,
        };
        let mut pieces = Vec::new();
        let mut literal = String::new();
        let mut rest = text;
        while let Some(open) = rest.find('{') {
            literal.push_str(&rest[..open]);
            rest = &rest[open + 1..];
            // The closing brace, not counting one inside a quoted key.
            let mut in_quotes = false;
            let mut escaped = false;
            let close = rest
                .char_indices()
                .find(|&(_, c)| {
                    if escaped {
                        escaped = false;
                        return false;
                    }
                    match c {
                        '\\' if in_quotes => escaped = true,
                        '"' => in_quotes = !in_quotes,
                        '}' if !in_quotes => return true,
                        _ => {}
                    }
                    false
                })
                .map(|(i, _)| i)
                .ok_or_else(|| err("unclosed `{`"))?;
            let inner = &rest[..close];
            let (inner, optional) = match inner.strip_suffix('?') {
                Some(p) => (p, true),
                None => (inner, false),
            };
            if !literal.is_empty() {
                pieces.push(Piece::Text(std::mem::take(&mut literal)));
            }
            pieces.push(Piece::Value {
                path: Path::parse(inner)?,
                optional,
            });
            rest = &rest[close + 1..];
        }
        literal.push_str(rest);
        if !literal.is_empty() {
            pieces.push(Piece::Text(literal));
        }
        if !pieces.iter().any(|p| matches!(p, Piece::Value { .. })) {
            return Err(err("a template needs at least one {path}"));
        }
        Ok(Source::Template(pieces))
    }
}

/// Where a compiled path's values are: a node of the tree, or a node whose
/// value is an array to walk (`[]`) with the rest of the path.
#[derive(Clone, Debug)]
pub enum Target {
    Node(usize),
    Walk { node: usize, rest: Vec<Segment> },
}

#[derive(Clone, Debug, Default)]
struct Node {
    /// Child keys read at this level (also array indexes, as digits).
    children: FxHashMap<String, usize>,
}

/// Every path the parser reads, merged into one tree of keys. Node 0 is the
/// record itself.
#[derive(Clone, Debug)]
pub struct PathTree {
    nodes: Vec<Node>,
}

impl Default for PathTree {
    fn default() -> Self {
        PathTree::new()
    }
}

/// The values a [`PathTree`] captured from one record, by node, as their
/// JSON text; the last of duplicated keys wins.
pub type Captures<'de> = Vec<Option<&'de str>>;

impl PathTree {
    pub fn new() -> PathTree {
        PathTree {
            nodes: vec![Node::default()],
        }
    }

    /// Adds `path` to the tree and says where its values will be.
    pub fn add(&mut self, path: &Path) -> Target {
        let mut node = 0;
        for (i, segment) in path.segments.iter().enumerate() {
            match segment {
                Segment::Key(key) => {
                    let next = self.nodes.len();
                    node = *self.nodes[node].children.entry(key.clone()).or_insert(next);
                    if node == next {
                        self.nodes.push(Node::default());
                    }
                }
                Segment::Any => {
                    return Target::Walk {
                        node,
                        rest: path.segments[i..].to_vec(),
                    };
                }
            }
        }
        Target::Node(node)
    }

    /// Whether no path reads anything.
    pub fn is_empty(&self) -> bool {
        self.nodes[0].children.is_empty()
    }

    /// Reads one JSON text: validates all of it, captures the values of the
    /// tree's keys. Errors are serde_json's.
    ///
    /// A record is first read by `scan_object`, a strict validator that
    /// accepts only what serde_json accepts; whatever it declines (an error,
    /// an escaped key) is read again by serde_json, which decides and words
    /// the error.
    pub fn capture<'de>(&self, text: &'de str) -> Result<Captures<'de>, serde_json::Error> {
        let mut captures = Vec::new();
        self.capture_into(text, &mut captures)?;
        Ok(captures)
    }

    /// [`PathTree::capture`] into `captures` (whatever it held is dropped),
    /// so that a buffer can serve line after line.
    pub fn capture_into<'de>(
        &self,
        text: &'de str,
        captures: &mut Captures<'de>,
    ) -> Result<(), serde_json::Error> {
        captures.clear();
        captures.resize(self.nodes.len(), None);
        if scan_object(text, &self.nodes[0].children, captures).is_none() {
            captures.fill(None);
            let mut de = serde_json::Deserializer::from_str(text);
            LevelSeed {
                node: &self.nodes[0],
                captures,
                root: true,
            }
            .deserialize(&mut de)?;
            de.end()?;
        }
        // Nodes are numbered parents first, so each level is read after the
        // level holding it.
        for id in 1..self.nodes.len() {
            let node = &self.nodes[id];
            if node.children.is_empty() {
                continue;
            }
            if let Some(raw) = captures[id] {
                if raw.starts_with('{') && scan_object(raw, &node.children, captures).is_some() {
                    continue;
                }
                let mut de = serde_json::Deserializer::from_str(raw);
                // Already validated: an error here cannot happen.
                let _ = LevelSeed {
                    node,
                    captures,
                    root: false,
                }
                .deserialize(&mut de);
            }
        }
        Ok(())
    }

    /// Calls `f` with each value at `target` until it returns true; returns
    /// whether one did.
    pub fn each<'de>(
        &self,
        captures: &Captures<'de>,
        target: &Target,
        f: &mut dyn FnMut(&'de str) -> bool,
    ) -> bool {
        match target {
            Target::Node(id) => captures[*id].is_some_and(f),
            Target::Walk { node, rest } => match captures[*node] {
                Some(raw) => walk(raw, rest, f),
                None => false,
            },
        }
    }
}

/// Descends `raw` along `rest`, calling `f` on each value found.
fn walk<'de>(raw: &'de str, rest: &[Segment], f: &mut dyn FnMut(&'de str) -> bool) -> bool {
    let Some((first, rest)) = rest.split_first() else {
        return f(raw);
    };
    let text = raw;
    match first {
        Segment::Any => {
            if !text.starts_with('[') {
                return false;
            }
            let Ok(items) = serde_json::from_str::<Vec<&'de RawValue>>(text) else {
                return false;
            };
            items.into_iter().any(|item| walk(item.get(), rest, f))
        }
        Segment::Key(key) => {
            let mut de = serde_json::Deserializer::from_str(text);
            match (OneKey { key }).deserialize(&mut de) {
                Ok(Some(value)) => walk(value.get(), rest, f),
                _ => false,
            }
        }
    }
}

/// Captures the values of one node's children from an object (by key) or
/// an array (by index), skipping the rest.
struct LevelSeed<'t, 'c, 'de> {
    node: &'t Node,
    captures: &'c mut Captures<'de>,
    /// The record itself must be an object.
    root: bool,
}

impl<'de> DeserializeSeed<'de> for LevelSeed<'_, '_, 'de> {
    type Value = ();

    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        if self.root {
            d.deserialize_map(self)
        } else {
            d.deserialize_any(self)
        }
    }
}

impl<'de> Visitor<'de> for LevelSeed<'_, '_, 'de> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        while let Some(slot) = map.next_key_seed(KeySeed {
            children: &self.node.children,
        })? {
            match slot {
                Some(i) => self.captures[i] = Some(map.next_value::<&'de RawValue>()?.get()),
                None => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(())
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let mut index = 0usize;
        let mut digits = String::new();
        loop {
            digits.clear();
            use std::fmt::Write;
            let _ = write!(digits, "{index}");
            match self.node.children.get(digits.as_str()) {
                Some(&slot) => match seq.next_element::<&'de RawValue>()? {
                    Some(v) => self.captures[slot] = Some(v.get()),
                    None => break,
                },
                None => {
                    if seq.next_element::<IgnoredAny>()?.is_none() {
                        break;
                    }
                }
            }
            index += 1;
        }
        Ok(())
    }

    // Scalars hold no keys.
    fn visit_bool<E: de::Error>(self, _: bool) -> Result<(), E> {
        Ok(())
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<(), E> {
        Ok(())
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<(), E> {
        Ok(())
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<(), E> {
        Ok(())
    }
    fn visit_str<E: de::Error>(self, _: &str) -> Result<(), E> {
        Ok(())
    }
    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        Ok(())
    }
}

/// Looks a key up without allocating it.
struct KeySeed<'t> {
    children: &'t FxHashMap<String, usize>,
}

impl<'de> DeserializeSeed<'de> for KeySeed<'_> {
    type Value = Option<usize>;

    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for KeySeed<'_> {
    type Value = Option<usize>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an object key")
    }

    fn visit_str<E: de::Error>(self, key: &str) -> Result<Self::Value, E> {
        Ok(self.children.get(key).copied())
    }
}

/// The value of one key of an object, or one index of an array.
struct OneKey<'k> {
    key: &'k str,
}

impl<'de> DeserializeSeed<'de> for OneKey<'_> {
    type Value = Option<&'de RawValue>;

    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for OneKey<'_> {
    type Value = Option<&'de RawValue>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut found = None;
        let one = std::iter::once((self.key.to_string(), 0usize)).collect();
        while let Some(slot) = map.next_key_seed(KeySeed { children: &one })? {
            match slot {
                Some(_) => found = Some(map.next_value::<&'de RawValue>()?),
                None => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(found)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let want: Option<usize> = if self.key.bytes().all(|c| c.is_ascii_digit()) {
            self.key.parse().ok()
        } else {
            None
        };
        let mut found = None;
        let mut index = 0usize;
        loop {
            if Some(index) == want {
                match seq.next_element::<&'de RawValue>()? {
                    Some(v) => found = Some(v),
                    None => break,
                }
            } else if seq.next_element::<IgnoredAny>()?.is_none() {
                break;
            }
            index += 1;
        }
        Ok(found)
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_str<E: de::Error>(self, _: &str) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }
}

/// Reads one JSON object, storing the text of each value whose key is in
/// `children` into its slot of `captures`; the last of duplicated keys wins.
/// `None` when the text is not exactly one valid object of JSON (or a key
/// holds an escape, or nesting is deeper than [`SCAN_DEPTH`]): the caller
/// then lets serde_json read it. What this accepts, serde_json accepts.
fn scan_object<'de>(
    text: &'de str,
    children: &FxHashMap<String, usize>,
    captures: &mut Captures<'de>,
) -> Option<()> {
    let mut s = Scan {
        b: text.as_bytes(),
        i: 0,
    };
    s.whitespace();
    s.eat(b'{')?;
    s.whitespace();
    if s.peek() == Some(b'}') {
        s.i += 1;
    } else {
        loop {
            s.eat(b'"')?;
            let start = s.i;
            if s.string()? {
                return None;
            }
            // The quotes are ASCII, so these are char boundaries.
            let key = &text[start..s.i - 1];
            s.whitespace();
            s.eat(b':')?;
            s.whitespace();
            let start = s.i;
            s.value()?;
            if let Some(&slot) = children.get(key) {
                captures[slot] = Some(&text[start..s.i]);
            }
            s.whitespace();
            match s.next()? {
                b',' => s.whitespace(),
                b'}' => break,
                _ => return None,
            }
        }
    }
    s.whitespace();
    (s.i == s.b.len()).then_some(())
}

/// Deeper nesting is left to serde_json.
const SCAN_DEPTH: u32 = 64;

/// A cursor over JSON text, validating as strictly as serde_json.
struct Scan<'a> {
    b: &'a [u8],
    i: usize,
}

impl Scan<'_> {
    fn peek(&self) -> Option<u8> {
        self.b.get(self.i).copied()
    }

    fn next(&mut self) -> Option<u8> {
        let c = self.peek()?;
        self.i += 1;
        Some(c)
    }

    fn eat(&mut self, c: u8) -> Option<()> {
        (self.next()? == c).then_some(())
    }

    fn whitespace(&mut self) {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.peek() {
            self.i += 1;
        }
    }

    /// The rest of a string whose opening quote is read; whether it held an
    /// escape. Control characters and bad escapes are errors.
    fn string(&mut self) -> Option<bool> {
        const ONES: u64 = 0x0101_0101_0101_0101;
        const HIGH: u64 = 0x8080_8080_8080_8080;
        let mut escaped = false;
        loop {
            // Eight bytes at a time to the first quote, backslash or
            // control character (the lowest flagged byte is exact).
            while let Some(chunk) = self.b.get(self.i..self.i + 8) {
                let v = u64::from_le_bytes(chunk.try_into().expect("8 bytes"));
                let quote = v ^ (ONES * u64::from(b'"'));
                let backslash = v ^ (ONES * u64::from(b'\\'));
                let flags = (quote.wrapping_sub(ONES) & !quote)
                    | (backslash.wrapping_sub(ONES) & !backslash)
                    | (v.wrapping_sub(ONES * 0x20) & !v);
                let flags = flags & HIGH;
                if flags != 0 {
                    self.i += (flags.trailing_zeros() / 8) as usize;
                    break;
                }
                self.i += 8;
            }
            match self.next()? {
                b'"' => return Some(escaped),
                b'\\' => {
                    escaped = true;
                    match self.next()? {
                        b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't' => {}
                        b'u' => {
                            let hex = self.b.get(self.i..self.i + 4)?;
                            if !hex.iter().all(u8::is_ascii_hexdigit) {
                                return None;
                            }
                            self.i += 4;
                        }
                        _ => return None,
                    }
                }
                0..0x20 => return None,
                _ => {}
            }
        }
    }

    /// `-? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?`
    fn number(&mut self) -> Option<()> {
        if self.peek() == Some(b'-') {
            self.i += 1;
        }
        match self.next()? {
            b'0' => {}
            b'1'..=b'9' => self.digits(),
            _ => return None,
        }
        if self.peek() == Some(b'.') {
            self.i += 1;
            self.digit()?;
            self.digits();
        }
        if let Some(b'e' | b'E') = self.peek() {
            self.i += 1;
            if let Some(b'+' | b'-') = self.peek() {
                self.i += 1;
            }
            self.digit()?;
            self.digits();
        }
        // A digit right after a leading zero is an error ("01").
        (!matches!(self.peek(), Some(b'0'..=b'9'))).then_some(())
    }

    fn digit(&mut self) -> Option<()> {
        self.next()?.is_ascii_digit().then_some(())
    }

    fn digits(&mut self) {
        while let Some(b'0'..=b'9') = self.peek() {
            self.i += 1;
        }
    }

    fn literal(&mut self, word: &[u8]) -> Option<()> {
        if self.b.get(self.i..self.i + word.len())? == word {
            self.i += word.len();
            Some(())
        } else {
            None
        }
    }

    /// One value, starting at the cursor (no whitespace before it).
    /// Nesting is walked with a stack of bits (set: an object).
    fn value(&mut self) -> Option<()> {
        let mut stack: u64 = 0;
        let mut depth: u32 = 0;
        loop {
            // A value.
            match self.peek()? {
                open @ (b'{' | b'[') => {
                    self.i += 1;
                    self.whitespace();
                    let close = if open == b'{' { b'}' } else { b']' };
                    if self.peek() == Some(close) {
                        self.i += 1;
                    } else {
                        depth += 1;
                        if depth > SCAN_DEPTH {
                            return None;
                        }
                        stack = (stack << 1) | u64::from(open == b'{');
                        if open == b'{' {
                            self.key()?;
                        }
                        continue;
                    }
                }
                b'"' => {
                    self.i += 1;
                    self.string()?;
                }
                b't' => self.literal(b"true")?,
                b'f' => self.literal(b"false")?,
                b'n' => self.literal(b"null")?,
                b'-' | b'0'..=b'9' => self.number()?,
                _ => return None,
            }
            // After a value: a comma and the next one, or closing brackets.
            loop {
                if depth == 0 {
                    return Some(());
                }
                self.whitespace();
                let object = stack & 1 == 1;
                match self.next()? {
                    b',' => {
                        self.whitespace();
                        if object {
                            self.key()?;
                        }
                        break;
                    }
                    b'}' if object => {}
                    b']' if !object => {}
                    _ => return None,
                }
                stack >>= 1;
                depth -= 1;
            }
        }
    }

    /// `"key" :` and the whitespace up to the value, at the cursor.
    fn key(&mut self) -> Option<()> {
        self.eat(b'"')?;
        self.string()?;
        self.whitespace();
        self.eat(b':')?;
        self.whitespace();
        Some(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(text: &str) -> Vec<String> {
        Path::parse(text)
            .unwrap()
            .segments
            .into_iter()
            .map(|s| match s {
                Segment::Key(k) => k,
                Segment::Any => "[]".into(),
            })
            .collect()
    }

    #[test]
    fn path_syntax() {
        assert_eq!(keys("user.username"), ["user", "username"]);
        assert_eq!(keys("sourceIPs.0"), ["sourceIPs", "0"]);
        assert_eq!(keys("sourceIPs[0]"), ["sourceIPs", "0"]);
        assert_eq!(keys(r#"["addr.remote"]"#), ["addr.remote"]);
        assert_eq!(keys(r#"a["b.c"].d"#), ["a", "b.c", "d"]);
        assert_eq!(keys(r#"a.["b.c"]"#), ["a", "b.c"]);
        assert_eq!(keys(r#"["say \"hi\""]"#), [r#"say "hi""#]);
        assert_eq!(keys("a[].granted"), ["a", "[]", "granted"]);
        assert_eq!(keys(":authority"), [":authority"]);
        for bad in ["", "a..b", "a.", ".a", r#"["a"#, "a[b]", r#"["a"]b"#, "a[0"] {
            assert!(Path::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn paths_print_back() {
        for text in ["user.username", r#"["addr.remote"]"#, "a[].b", "x.0"] {
            assert_eq!(Path::parse(text).unwrap().to_string(), text);
        }
    }

    #[test]
    fn templates() {
        let Source::Template(p) = Source::parse("{verb} {objectRef.resource}/{x?}").unwrap() else {
            panic!()
        };
        assert_eq!(p.len(), 5);
        assert_eq!(
            p[4],
            Piece::Value {
                path: Path::parse("x").unwrap(),
                optional: true
            }
        );
        assert!(Source::parse(r#"{["a}b"]}"#).is_ok());
        assert!(Source::parse("{a").is_err());
        assert!(Source::parse("{}").is_err());
    }

    fn read(paths: &[&str], json: &str) -> Vec<Vec<String>> {
        let mut tree = PathTree::new();
        let targets: Vec<Target> = paths
            .iter()
            .map(|p| tree.add(&Path::parse(p).unwrap()))
            .collect();
        let caps = tree.capture(json).unwrap();
        targets
            .iter()
            .map(|t| {
                let mut out = Vec::new();
                tree.each(&caps, t, &mut |v| {
                    out.push(v.to_string());
                    false
                });
                out
            })
            .collect()
    }

    #[test]
    fn tree_reads_nested_values_in_one_pass_per_level() {
        let json = r#"{"user":{"username":"bob","groups":["a"]},"sourceIPs":["1.2.3.4","5.6.7.8"],
            "addr.remote":"9.9.9.9:1","addr":{"remote":"no"},"z":[{"g":true},{"g":false},{}]}"#;
        assert_eq!(
            read(
                &[
                    "user.username",
                    "sourceIPs.1",
                    r#"["addr.remote"]"#,
                    "addr.remote",
                    "z[].g",
                    "user.nope",
                    "sourceIPs.2",
                    "user.username.x"
                ],
                json
            ),
            [
                vec![r#""bob""#.to_string()],
                vec![r#""5.6.7.8""#.into()],
                vec![r#""9.9.9.9:1""#.into()],
                vec![r#""no""#.into()],
                vec!["true".into(), "false".into()],
                vec![],
                vec![],
                vec![]
            ]
        );
    }

    #[test]
    fn last_duplicate_wins_at_every_level() {
        assert_eq!(
            read(&["a.b"], r#"{"a":{"b":1,"b":2},"a":{"b":3}}"#),
            [vec!["3".to_string()]]
        );
    }
    /// Captures of the root level by serde_json alone.
    fn serde_root<'de>(tree: &PathTree, text: &'de str) -> Option<Captures<'de>> {
        let mut captures: Captures<'de> = vec![None; tree.nodes.len()];
        let mut de = serde_json::Deserializer::from_str(text);
        LevelSeed {
            node: &tree.nodes[0],
            captures: &mut captures,
            root: true,
        }
        .deserialize(&mut de)
        .ok()?;
        de.end().ok()?;
        Some(captures)
    }

    #[test]
    fn the_scanner_accepts_only_what_serde_json_accepts_and_captures_the_same() {
        let mut tree = PathTree::new();
        for p in ["a", "user", "ts", "n"] {
            tree.add(&Path::parse(p).unwrap());
        }
        let base = r#" {"a" : "x\"y\\u00e9\n", "user":"bob","n":-1.5e+3,"z":[1,{"k":[true,false,null]},[]],"ts":{},"a":"last","e":"\uD800"} "#;
        let mut inputs: Vec<String> = [
            "{}",
            " { } ",
            "{\"a\":1}",
            "{\"a\":01}",
            "{\"a\":1.}",
            "{\"a\":.5}",
            "{\"a\":-}",
            "{\"a\":1e}",
            "{\"a\":1E+}",
            "{\"a\":-0.0e-0}",
            "{\"a\":tru}",
            "{\"a\":nul}",
            "{\"a\":[1,]}",
            "{\"a\":{\"b\":1,}}",
            "{\"a\":1,}",
            "{,}",
            "{\"a\"1}",
            "{\"a\":}",
            "{\"a\":\"\\x\"}",
            "{\"a\":\"\\u12G4\"}",
            "{\"a\":\"\\u123\"}",
            "{\"a\":\"\t\"}",
            "{\"a\":\"\u{7f}é\"}",
            "{\"a\\n\":1}",
            "{\"a\":1}x",
            "{\"a\":1}{}",
            "[1]",
            "\"s\"",
            "{\"a\":[[[[]]]]}",
            "{\"a\":[1 2]}",
            "{\"a\":{\"b\" \"c\"}}",
            "{\"a\":{1:2}}",
            "{\"a\":\"unterminated}",
            "{\"a\":1",
            "",
            " ",
            "{\"a\":\u{a0}1}",
            "{\"a\":+1}",
            "{\"a\":[}",
            "{\"a\":{]}",
            "{\"a\":[1}]}",
            "{\"user\":\"\\\"\"}",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        inputs.push(format!("{{\"a\":{}{}}}", "[".repeat(100), "]".repeat(100)));
        // Every single-byte deletion and replacement of a line with a bit of everything.
        let specials = [
            b'"', b'\\', b'{', b'}', b'[', b']', b',', b':', b' ', b'0', b'e', b'-', 0x01,
        ];
        for i in 0..base.len() {
            if !base.is_char_boundary(i) || !base.is_char_boundary(i + 1) {
                continue;
            }
            inputs.push(format!("{}{}", &base[..i], &base[i + 1..]));
            for &c in &specials {
                let mut b = base.as_bytes().to_vec();
                b[i] = c;
                inputs.push(String::from_utf8(b).unwrap());
            }
        }
        let mut scanned = 0;
        for text in &inputs {
            let mut fast: Captures = vec![None; tree.nodes.len()];
            let slow = serde_root(&tree, text);
            if scan_object(text, &tree.nodes[0].children, &mut fast).is_some() {
                scanned += 1;
                assert_eq!(Some(fast), slow, "{text}");
            }
        }
        assert!(scanned > 100, "the scanner read only {scanned} inputs");
        // Valid lines it declines (escaped keys) still read through serde_json.
        let caps = tree.capture(r#"{"us\u0065r":"eve"}"#).unwrap();
        assert_eq!(caps[2], Some(r#""eve""#));
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig {
            cases: 2000,
            failure_persistence: None,
            ..Default::default()
        })]

        /// On random text made of JSON's own characters (and a few others),
        /// whatever the scanner accepts serde_json accepts, with the same
        /// captures.
        #[test]
        fn the_scanner_never_accepts_more_than_serde_json(
            pieces in proptest::collection::vec(proptest::sample::select(vec![
                "{", "}", "[", "]", ",", ":", " ", "\"", "\\", "\\u00e9", "\\n", "\\x",
                "\"a\"", "\"user\"", "\"ts\"", "\"n\"", "0", "-", "1.5", "e", "E+", "7",
                "true", "tru", "null", "false", "é", "\u{1}", "\t", "\n", "x",
            ]), 0..40),
        ) {
            let mut tree = PathTree::new();
            for p in ["a", "user", "ts", "n"] {
                tree.add(&Path::parse(p).unwrap());
            }
            let text = pieces.concat();
            let mut fast: Captures = vec![None; tree.nodes.len()];
            if scan_object(&text, &tree.nodes[0].children, &mut fast).is_some() {
                proptest::prop_assert_eq!(Some(fast), serde_root(&tree, &text), "{}", text);
            }
        }

        /// The same on valid records (random nesting, strings with
        /// escapes, numbers, duplicate keys) with up to two bytes deleted or
        /// replaced: the scanner reads every intact one itself.
        #[test]
        fn the_scanner_agrees_on_mutated_records(
            fields in proptest::collection::vec(
                (proptest::sample::select(vec!["a", "user", "ts", "n", "z"]), json_value()),
                0..6,
            ),
            edits in proptest::collection::vec(
                (proptest::prelude::any::<usize>(), proptest::sample::select(vec![
                    None, Some(b'"'), Some(b'\\'), Some(b'{'), Some(b'}'), Some(b']'),
                    Some(b','), Some(b':'), Some(b'0'), Some(b'e'), Some(b'-'), Some(1u8),
                ])),
                0..3,
            ),
        ) {
            let mut tree = PathTree::new();
            for p in ["a", "user", "ts", "n"] {
                tree.add(&Path::parse(p).unwrap());
            }
            let body: Vec<String> = fields
                .iter()
                .map(|(k, v)| format!("{:?} : {}", k, v))
                .collect();
            let mut bytes = format!("{{ {} }}", body.join(" ,")).into_bytes();
            let intact = edits.is_empty();
            for (at, edit) in edits {
                if bytes.is_empty() {
                    break;
                }
                let at = at % bytes.len();
                match edit {
                    None => {
                        bytes.remove(at);
                    }
                    Some(c) => bytes[at] = c,
                }
            }
            let Ok(text) = String::from_utf8(bytes) else { return Ok(()) };
            let mut fast: Captures = vec![None; tree.nodes.len()];
            let scanned = scan_object(&text, &tree.nodes[0].children, &mut fast).is_some();
            if scanned {
                proptest::prop_assert_eq!(Some(fast), serde_root(&tree, &text), "{}", text);
            }
            proptest::prop_assert!(scanned || !intact, "declined a valid record: {}", text);
        }
    }

    /// JSON values as serde_json writes them, nested a few levels.
    fn json_value() -> impl proptest::strategy::Strategy<Value = String> {
        use proptest::prelude::*;
        let leaf = prop_oneof![
            Just("null".to_string()),
            any::<bool>().prop_map(|b| b.to_string()),
            any::<i64>().prop_map(|n| n.to_string()),
            any::<f64>()
                .prop_filter("finite", |f| f.is_finite())
                .prop_map(|f| serde_json::to_string(&f).unwrap()),
            ".{0,12}".prop_map(|s| serde_json::to_string(&s).unwrap()),
        ];
        leaf.prop_recursive(3, 24, 4, |inner| {
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..4)
                    .prop_map(|v| format!("[{}]", v.join(","))),
                proptest::collection::vec((".{0,6}", inner), 0..4).prop_map(|v| {
                    let fields: Vec<String> = v
                        .iter()
                        .map(|(k, x)| format!("{}:{x}", serde_json::to_string(k).unwrap()))
                        .collect();
                    format!("{{{}}}", fields.join(","))
                }),
            ]
        })
    }
}
