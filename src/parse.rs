//! One line of a log → one [`Record`], through the log's [`Format`]: which
//! paths play which role, what the values mean (the time, the user, the
//! event, success or failure), and which records are skipped.
//!
//! The parser validates the whole line as JSON but only builds the values
//! some role, rule or condition reads (see [`crate::path::PathTree`]);
//! everything else is skipped without allocating.

use std::borrow::Cow;

use serde::de::IgnoredAny;

use crate::format::{Condition, FailureKind, Format, FormatError, Literal, ROLE_NAMES};
use crate::path::{Captures, Path, PathTree, Piece, Source, Target};
use crate::timestamp::Timestamp;

/// The user name that a record without a usable user gets.
pub const NO_USER: &str = "-";
/// The event name of a record with neither an event nor a path.
pub const NO_EVENT: &str = "-";
/// The user name an API writes when a token fails verification.
pub const UNKNOWN_USER: &str = "unknown_user";

/// What a field is read for. Each role has its own list of sources.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Role {
    Timestamp,
    User,
    Event,
    Outcome,
    Success,
    Status,
    Ip,
    Method,
    Path,
}

impl Role {
    /// Every role, in the order the parser stores them.
    pub const ALL: [Role; 9] = [
        Role::Timestamp,
        Role::User,
        Role::Event,
        Role::Outcome,
        Role::Success,
        Role::Status,
        Role::Ip,
        Role::Method,
        Role::Path,
    ];

    /// The role's name, as `--field` and format files write it.
    pub fn name(self) -> &'static str {
        ROLE_NAMES[self as usize]
    }
}

/// `--field ROLE=PATH` overrides: for each role given, its sources replace
/// the format's, in the order given.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FieldOverrides {
    pub fields: Vec<(String, String)>,
}

impl FieldOverrides {
    /// `format` with the overridden roles replaced.
    pub fn apply(&self, format: &Format) -> Format {
        let mut format = format.clone();
        let mut replaced: Vec<&str> = Vec::new();
        for (role, source) in &self.fields {
            if let Some(list) = format.fields.role_mut(role) {
                if !replaced.contains(&role.as_str()) {
                    list.clear();
                    replaced.push(role);
                }
                list.push(source.clone());
            }
        }
        format
    }
}

/// Which address of a comma-separated list (`X-Forwarded-For` style) is the ip.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum IpList {
    /// The first: the address the client claimed to be.
    #[default]
    First,
    /// The last: the hop closest to the server.
    Last,
}

/// The user names that mean "caller not authenticated". `unknown_user` is
/// always one of them.
#[derive(Clone, Debug)]
pub struct UnknownUsers {
    names: Vec<String>,
}

impl UnknownUsers {
    /// `unknown_user` plus `extra`.
    pub fn new(extra: impl IntoIterator<Item = String>) -> UnknownUsers {
        let mut names = vec![UNKNOWN_USER.to_string()];
        for name in extra {
            if !names.contains(&name) {
                names.push(name);
            }
        }
        UnknownUsers { names }
    }

    /// Whether `user` names an unauthenticated caller.
    pub fn contains(&self, user: &str) -> bool {
        self.names.iter().any(|n| n == user)
    }

    /// The names, `unknown_user` first.
    pub fn names(&self) -> &[String] {
        &self.names
    }
}

/// Who a record's user is, as far as the rules care.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum UserKind {
    /// A named, authenticated user.
    Known,
    /// A caller the API could not authenticate (`unknown_user` and friends).
    Unknown,
    /// The record names no user at all (shown as `-`).
    Missing,
}

/// Whether a record's request worked, and if not, why.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Outcome {
    Success,
    /// Status 403, outcome `denied`/`deny`/`forbidden`, or a format's
    /// `authorization` failure rule: the caller is known but not allowed.
    AuthorizationFailure,
    /// Status 401, outcome `failure`/`failed`/`fail`/`unauthorized`,
    /// `success: false`, or a format's `authentication` failure rule: the
    /// caller could not prove who they are.
    AuthenticationFailure,
    /// Any other failure (404, 500, `error`, a format's `other` rule, or an
    /// unknown user without an outcome indicator).
    OtherFailure,
}

impl Outcome {
    /// Whether the record counts as a failure.
    pub fn is_failure(self) -> bool {
        self != Outcome::Success
    }
}

impl From<FailureKind> for Outcome {
    fn from(kind: FailureKind) -> Outcome {
        match kind {
            FailureKind::Authentication => Outcome::AuthenticationFailure,
            FailureKind::Authorization => Outcome::AuthorizationFailure,
            FailureKind::Other => Outcome::OtherFailure,
        }
    }
}

/// One log line, reduced to what the analysis needs. Borrows from the line
/// (and from the parser's scratch buffer) wherever it can.
#[derive(Clone, Debug, PartialEq)]
pub struct Record<'a> {
    pub time: Option<Timestamp>,
    /// The user, or `-` when the record names none.
    pub user: Cow<'a, str>,
    pub user_kind: UserKind,
    /// The event name: the event field, else `METHOD /path`, else the path,
    /// else `-`; paths normalised (query dropped, ids replaced by `:id`).
    pub event: Cow<'a, str>,
    pub ip: Option<Cow<'a, str>>,
    pub outcome: Outcome,
}

impl Record<'_> {
    /// The same record, owning its strings.
    pub fn into_owned(self) -> Record<'static> {
        Record {
            time: self.time,
            user: Cow::Owned(self.user.into_owned()),
            user_kind: self.user_kind,
            event: Cow::Owned(self.event.into_owned()),
            ip: self.ip.map(|ip| Cow::Owned(ip.into_owned())),
            outcome: self.outcome,
        }
    }
}

/// Which side of a request/response pair a record is, with the pair's id.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PairSide {
    Request(String),
    Response(String),
}

/// What one line turned out to be.
#[derive(Clone, Debug, PartialEq)]
pub enum Parsed<'a> {
    Record {
        record: Record<'a>,
        /// Whether any role found a value at all.
        matched: bool,
        /// For formats logging requests and responses separately.
        pair: Option<PairSide>,
    },
    /// A record the format says to skip (not a final stage, not an access
    /// record, ...).
    Skipped,
}

/// Why a line was not a record.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum LineError {
    #[error("invalid UTF-8 at byte {0}")]
    InvalidUtf8(usize),
    #[error("not JSON (plain text)")]
    NotJson,
    #[error("invalid JSON: {0}")]
    InvalidJson(String),
    #[error("not a JSON object (found {0})")]
    NotAnObject(&'static str),
    #[error("line too long (over {0} bytes)")]
    TooLong(usize),
}

/// Buffers a parsed record may borrow from, and the captures buffer
/// (empty between lines), kept from line to line to save allocations.
#[derive(Debug, Default)]
pub struct Scratch {
    event: String,
    captures: Vec<Option<&'static str>>,
}

/// A role's source, compiled against the parser's path tree.
#[derive(Clone, Debug)]
enum Compiled {
    Path(Target),
    Template(Vec<CompiledPiece>),
}

#[derive(Clone, Debug)]
enum CompiledPiece {
    Text(String),
    Value { target: Target, optional: bool },
}

/// A condition, compiled.
#[derive(Clone, Debug)]
struct Check {
    target: Target,
    test: Condition,
    negate: bool,
}

#[derive(Clone, Debug)]
struct PairRule {
    id: Target,
    kind: Target,
    requests: Vec<String>,
    responses: Vec<String>,
}

/// Turns lines into [`Record`]s under one format.
#[derive(Clone, Debug)]
pub struct Parser {
    name: String,
    tree: PathTree,
    roles: [Vec<Compiled>; 9],
    unauthenticated: Vec<String>,
    missing_user: String,
    detect: Vec<Check>,
    skip: Vec<Check>,
    failure: Vec<(Check, Outcome)>,
    pair: Option<PairRule>,
    unknown: UnknownUsers,
    ip_list: IpList,
}

impl Parser {
    /// A parser reading `format` (with `overrides` applied), treating
    /// `unknown` (and the format's own placeholders) as unauthenticated.
    pub fn new(
        format: &Format,
        overrides: &FieldOverrides,
        unknown: UnknownUsers,
        ip_list: IpList,
    ) -> Result<Parser, FormatError> {
        let format = overrides.apply(format);
        let bad = |e: crate::path::PathError| FormatError::Invalid {
            origin: format.name.clone(),
            message: e.to_string(),
        };
        let mut tree = PathTree::new();
        let f = &format.fields;
        let lists = [
            &f.timestamp,
            &f.user,
            &f.event,
            &f.outcome,
            &f.success,
            &f.status,
            &f.ip,
            &f.method,
            &f.path,
        ];
        let mut roles: [Vec<Compiled>; 9] = Default::default();
        for (role, list) in roles.iter_mut().zip(lists) {
            for text in list {
                role.push(match Source::parse(text).map_err(bad)? {
                    Source::Path(p) => Compiled::Path(tree.add(&p)),
                    Source::Template(pieces) => Compiled::Template(
                        pieces
                            .into_iter()
                            .map(|piece| match piece {
                                Piece::Text(t) => CompiledPiece::Text(t),
                                Piece::Value { path, optional } => CompiledPiece::Value {
                                    target: tree.add(&path),
                                    optional,
                                },
                            })
                            .collect(),
                    ),
                });
            }
        }
        let mut compile = |c: &Condition| -> Result<Check, FormatError> {
            let path = Path::parse(&c.path).map_err(bad)?;
            let mut test = c.clone();
            let mut negate = c.negate;
            // "Not present" is "present", negated.
            if test.present == Some(false) {
                test.present = Some(true);
                negate = !negate;
            }
            Ok(Check {
                target: tree.add(&path),
                test,
                negate,
            })
        };
        let detect = format
            .detect
            .iter()
            .map(&mut compile)
            .collect::<Result<_, _>>()?;
        let skip = format
            .skip
            .iter()
            .map(&mut compile)
            .collect::<Result<_, _>>()?;
        let failure = format
            .failure
            .iter()
            .map(|c| {
                let kind = c.kind.unwrap_or(FailureKind::Other);
                compile(c).map(|check| (check, Outcome::from(kind)))
            })
            .collect::<Result<_, _>>()?;
        let pair = match &format.pair {
            Some(p) => Some(PairRule {
                id: tree.add(&Path::parse(&p.id).map_err(bad)?),
                kind: tree.add(&Path::parse(&p.kind).map_err(bad)?),
                requests: p.requests.clone(),
                responses: p.responses.clone(),
            }),
            None => None,
        };
        Ok(Parser {
            name: format.name.clone(),
            tree,
            roles,
            unauthenticated: format.users.unauthenticated.clone(),
            missing_user: format
                .users
                .missing
                .clone()
                .unwrap_or_else(|| NO_USER.to_string()),
            detect,
            skip,
            failure,
            pair,
            unknown,
            ip_list,
        })
    }

    /// The format's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Whether records of this format are paired (requests counted once
    /// with their responses), which needs the whole input in order.
    pub fn pairs(&self) -> bool {
        self.pair.is_some()
    }

    /// The user names this format treats as unauthenticated, beyond the
    /// configured ones.
    pub fn unauthenticated(&self) -> &[String] {
        &self.unauthenticated
    }

    /// Parses one line.
    pub fn parse<'a>(
        &self,
        line: &'a [u8],
        scratch: &'a mut Scratch,
    ) -> Result<Parsed<'a>, LineError> {
        let text =
            std::str::from_utf8(line).map_err(|e| LineError::InvalidUtf8(e.valid_up_to()))?;
        let Scratch { event, captures } = scratch;
        // The same allocation, for values borrowed from this line.
        let mut caps: Captures<'a> = std::mem::take(captures).into_iter().map(|_| None).collect();
        self.tree
            .capture_into(text, &mut caps)
            .map_err(|err| describe_error(text, err))?;
        let parsed = self.interpret(&caps, event);
        caps.clear();
        *captures = caps.into_iter().map(|_| None).collect();
        Ok(parsed)
    }

    /// Whether the line is a record of this format, as its `[[detect]]`
    /// conditions say. A format without conditions detects nothing.
    pub fn detects(&self, line: &[u8]) -> bool {
        if self.detect.is_empty() {
            return false;
        }
        let Ok(text) = std::str::from_utf8(line) else {
            return false;
        };
        let Ok(caps) = self.capture(text) else {
            return false;
        };
        self.detect.iter().all(|c| self.holds(&caps, c))
    }

    fn capture<'a>(&self, text: &'a str) -> Result<Captures<'a>, LineError> {
        self.tree
            .capture(text)
            .map_err(|err| describe_error(text, err))
    }

    /// Whether a condition holds on a record.
    fn holds(&self, caps: &Captures<'_>, check: &Check) -> bool {
        let found = self
            .tree
            .each(caps, &check.target, &mut |raw| passes(raw, &check.test));
        found != check.negate
    }

    /// The first usable value among a role's sources, converted by `f`.
    fn first<'a, T>(
        &self,
        caps: &Captures<'a>,
        role: Role,
        f: impl Fn(Scalar<'a>) -> Option<T>,
    ) -> Option<T> {
        for source in &self.roles[role as usize] {
            match source {
                Compiled::Path(target) => {
                    let mut out = None;
                    self.tree.each(caps, target, &mut |raw| {
                        out = f(Scalar::of(raw));
                        out.is_some()
                    });
                    if out.is_some() {
                        return out;
                    }
                }
                Compiled::Template(pieces) => {
                    if let Some(text) = self.fill(caps, pieces)
                        && let Some(v) = f(Scalar::Str(Cow::Owned(text)))
                    {
                        return Some(v);
                    }
                }
            }
        }
        None
    }

    /// A template's text, or `None` when a required value is missing.
    fn fill(&self, caps: &Captures<'_>, pieces: &[CompiledPiece]) -> Option<String> {
        let mut out = String::new();
        // Where the text before the current value started.
        let mut text_start = 0;
        for piece in pieces {
            match piece {
                CompiledPiece::Text(t) => {
                    text_start = out.len();
                    out.push_str(t);
                }
                CompiledPiece::Value { target, optional } => {
                    let mut value = None;
                    self.tree.each(caps, target, &mut |raw| {
                        value = template_text(Scalar::of(raw));
                        value.is_some()
                    });
                    match value {
                        Some(v) => out.push_str(&v),
                        None if *optional => out.truncate(text_start),
                        None => return None,
                    }
                    text_start = out.len();
                }
            }
        }
        Some(out)
    }

    fn interpret<'a>(&self, caps: &Captures<'a>, scratch: &'a mut String) -> Parsed<'a> {
        if self.skip.iter().any(|c| self.holds(caps, c)) {
            return Parsed::Skipped;
        }
        let time = self.first(caps, Role::Timestamp, |v| match v {
            Scalar::Str(s) => Timestamp::parse_str(&s),
            Scalar::Int(n) | Scalar::Number(n) => Timestamp::parse_json_number(n),
            _ => None,
        });
        let user = self.first(caps, Role::User, |v| match v {
            Scalar::Str(s) if !is_no_user(&s) => Some(s),
            // Its decimal text: JSON allows no leading zeros, so only -0 differs.
            Scalar::Int(n) => Some(Cow::Borrowed(if n == "-0" { "0" } else { n })),
            _ => None,
        });
        let event = self.first(caps, Role::Event, non_empty_str);
        let outcome = self.first(caps, Role::Outcome, non_empty_str);
        let success = self.first(caps, Role::Success, |v| match v {
            Scalar::Bool(b) => Some(b),
            _ => None,
        });
        let status = self.first(caps, Role::Status, |v| match v {
            Scalar::Int(n) => Some(saturating_int(n)),
            Scalar::Str(s) if !s.is_empty() && s.bytes().all(|c| c.is_ascii_digit()) => {
                Some(saturating_int(&s))
            }
            _ => None,
        });
        let ip_list = self.ip_list;
        let ip = self.first(caps, Role::Ip, |v| match v {
            Scalar::Str(s) => clean_ip(s, ip_list),
            _ => None,
        });
        let method = self.first(caps, Role::Method, non_empty_str);
        let path = self.first(caps, Role::Path, non_empty_str);
        let matched = time.is_some()
            || user.is_some()
            || event.is_some()
            || outcome.is_some()
            || success.is_some()
            || status.is_some()
            || ip.is_some()
            || method.is_some()
            || path.is_some();

        let user = match user {
            Some(u) => u,
            None if self.missing_user == NO_USER => Cow::Borrowed(NO_USER),
            None => Cow::Owned(self.missing_user.clone()),
        };
        // The shown name decides, so `--unknown-user -` also covers records
        // that name no user.
        let user_kind =
            if self.unknown.contains(&user) || self.unauthenticated.iter().any(|n| *n == *user) {
                UserKind::Unknown
            } else if user == NO_USER {
                UserKind::Missing
            } else {
                UserKind::Known
            };
        let has_indicator = outcome.is_some() || success.is_some() || status.is_some();
        let rule = self
            .failure
            .iter()
            .find(|(check, _)| self.holds(caps, check))
            .map(|(_, outcome)| *outcome);
        let outcome = if let Some(outcome) = rule {
            outcome
        } else if has_indicator {
            classify(outcome.as_deref(), success, status)
        } else if user_kind == UserKind::Unknown && self.failure.is_empty() {
            Outcome::OtherFailure
        } else {
            Outcome::Success
        };
        let event = match (event, method, path) {
            (Some(event), _, _) => event,
            (None, method, Some(path)) => {
                scratch.clear();
                if let Some(method) = method {
                    scratch.push_str(&method);
                    scratch.push(' ');
                }
                normalize_path(&path, scratch);
                Cow::Borrowed(scratch.as_str())
            }
            (None, _, None) => Cow::Borrowed(NO_EVENT),
        };
        let pair = self.pair.as_ref().and_then(|p| {
            let kind = self.first_value(caps, &p.kind, template_text)?;
            let id = self.first_value(caps, &p.id, template_text)?;
            if p.requests.contains(&kind) {
                Some(PairSide::Request(id))
            } else if p.responses.contains(&kind) {
                Some(PairSide::Response(id))
            } else {
                None
            }
        });
        Parsed::Record {
            record: Record {
                time,
                user,
                user_kind,
                event,
                ip,
                outcome,
            },
            matched,
            pair,
        }
    }

    fn first_value<'a>(
        &self,
        caps: &Captures<'a>,
        target: &Target,
        f: impl Fn(Scalar<'a>) -> Option<String>,
    ) -> Option<String> {
        let mut out = None;
        self.tree.each(caps, target, &mut |raw| {
            out = f(Scalar::of(raw));
            out.is_some()
        });
        out
    }
}

/// Whether a user value means "no user": empty, `-`, `--`.
fn is_no_user(s: &str) -> bool {
    matches!(s, "" | "-" | "--")
}

/// A value as a template writes it: a non-empty string that is not a
/// placeholder, or an integer's text.
fn template_text(v: Scalar<'_>) -> Option<String> {
    match v {
        Scalar::Str(s) if !is_no_user(&s) => Some(s.into_owned()),
        Scalar::Int(n) => Some(n.to_string()),
        _ => None,
    }
}

/// Whether one value passes every test of a condition.
fn passes(raw: &str, c: &Condition) -> bool {
    let is_null = raw == "null";
    let v = Scalar::of(raw);
    let equal = |l: &Literal| match (l, &v) {
        (Literal::Str(a), Scalar::Str(b)) => a == b,
        (Literal::Int(a), Scalar::Int(b)) => a.to_string() == *b,
        (Literal::Bool(a), Scalar::Bool(b)) => a == b,
        _ => false,
    };
    if c.present == Some(true) && is_null {
        return false;
    }
    if let Some(e) = &c.equals
        && !e.as_slice().iter().any(equal)
    {
        return false;
    }
    if let Some(e) = &c.not_equals
        && (is_null || e.as_slice().iter().any(equal))
    {
        return false;
    }
    if let Some(p) = &c.prefix
        && !matches!(&v, Scalar::Str(s) if s.starts_with(p.as_str()))
    {
        return false;
    }
    if let Some(p) = &c.contains {
        let p = p.to_ascii_lowercase();
        if !matches!(&v, Scalar::Str(s) if s.to_ascii_lowercase().contains(&p)) {
            return false;
        }
    }
    true
}

/// An ip as logs write it, reduced to the address: a comma list gives its
/// first (or last) entry; `1.2.3.4:5678` and `[2001:db8::1]:443` lose the
/// port; `-` and empty mean none.
pub fn clean_ip(s: Cow<'_, str>, list: IpList) -> Option<Cow<'_, str>> {
    fn pick(s: &str, list: IpList) -> &str {
        let mut parts = s.split(',').map(str::trim).filter(|p| !p.is_empty());
        let part = match list {
            IpList::First => parts.next(),
            IpList::Last => parts.next_back(),
        };
        let part = part.unwrap_or("");
        if let Some(rest) = part.strip_prefix('[') {
            // `[v6]` or `[v6]:port`
            return match rest.find(']') {
                Some(end) => &rest[..end],
                None => part,
            };
        }
        match part.split_once(':') {
            // One colon: host:port. More: a bare IPv6 address.
            Some((host, port))
                if !port.contains(':')
                    && !port.is_empty()
                    && port.bytes().all(|c| c.is_ascii_digit()) =>
            {
                host
            }
            _ => part,
        }
    }
    // The common case, a bare IPv4 (or hex) address, is its own answer.
    if !s.is_empty() && s.bytes().all(|c| c == b'.' || c.is_ascii_hexdigit()) {
        return Some(s);
    }
    let out = match s {
        Cow::Borrowed(b) => Cow::Borrowed(pick(b, list)),
        Cow::Owned(o) => Cow::Owned(pick(&o, list).to_string()),
    };
    (!out.is_empty() && out != "-").then_some(out)
}

/// Decides success or failure from the outcome indicators a record has.
fn classify(outcome: Option<&str>, success: Option<bool>, status: Option<i64>) -> Outcome {
    let word = outcome.map(str::to_ascii_lowercase);
    let word = word.as_deref();
    let authz = status == Some(403) || matches!(word, Some("denied" | "deny" | "forbidden"));
    let authn = status == Some(401)
        || matches!(word, Some("failure" | "failed" | "fail" | "unauthorized"))
        || success == Some(false);
    if authz {
        Outcome::AuthorizationFailure
    } else if authn {
        Outcome::AuthenticationFailure
    } else if word == Some("error") || status.is_some_and(|s| s >= 400) {
        Outcome::OtherFailure
    } else {
        Outcome::Success
    }
}

/// An integer's decimal text as an `i64`, saturating at the bounds.
fn saturating_int(text: &str) -> i64 {
    let (negative, digits) = match text.strip_prefix('-') {
        Some(d) => (true, d),
        None => (false, text),
    };
    let magnitude = digits.bytes().fold(0i64, |acc, c| {
        acc.saturating_mul(10).saturating_add(i64::from(c - b'0'))
    });
    if negative { -magnitude } else { magnitude }
}

fn non_empty_str(v: Scalar<'_>) -> Option<Cow<'_, str>> {
    match v {
        Scalar::Str(s) if !s.is_empty() => Some(s),
        _ => None,
    }
}

/// Appends `path` to `out` without its query or fragment, with every segment
/// that is an id (all digits, a UUID, or 16+ hex digits) replaced by `:id`.
pub fn normalize_path(path: &str, out: &mut String) {
    let end = memchr::memchr2(b'?', b'#', path.as_bytes()).unwrap_or(path.len());
    let path = &path[..end];
    let mut start = 0;
    let slashes = memchr::memchr_iter(b'/', path.as_bytes()).chain([path.len()]);
    for end in slashes {
        if start > 0 {
            out.push('/');
        }
        let segment = &path[start..end];
        out.push_str(if is_id_segment(segment) {
            ":id"
        } else {
            segment
        });
        start = end + 1;
    }
}

fn is_id_segment(s: &str) -> bool {
    let b = s.as_bytes();
    if b.is_empty() {
        return false;
    }
    if b.iter().all(u8::is_ascii_digit) {
        return true;
    }
    if b.len() >= 16 && b.iter().all(u8::is_ascii_hexdigit) {
        return true;
    }
    b.len() == 36
        && b.iter().enumerate().all(|(i, c)| match i {
            8 | 13 | 18 | 23 => *c == b'-',
            _ => c.is_ascii_hexdigit(),
        })
}

/// A value as the roles see it: its JSON type, strings unescaped, numbers
/// kept as their exact source text.
enum Scalar<'a> {
    Str(Cow<'a, str>),
    /// A number written without fraction or exponent.
    Int(&'a str),
    /// Any other number.
    Number(&'a str),
    Bool(bool),
    Other,
}

impl<'a> Scalar<'a> {
    /// The value whose JSON text is `text`.
    fn of(text: &'a str) -> Scalar<'a> {
        match text.as_bytes()[0] {
            b'"' => {
                let inner = &text[1..text.len() - 1];
                // Values are short: a plain loop beats memchr's setup.
                if inner.bytes().any(|c| c == b'\\') {
                    match serde_json::from_str::<String>(text) {
                        Ok(s) => Scalar::Str(Cow::Owned(s)),
                        Err(_) => Scalar::Other,
                    }
                } else {
                    Scalar::Str(Cow::Borrowed(inner))
                }
            }
            b't' => Scalar::Bool(true),
            b'f' => Scalar::Bool(false),
            b'-' | b'0'..=b'9' => {
                if text.bytes().any(|c| matches!(c, b'.' | b'e' | b'E')) {
                    Scalar::Number(text)
                } else {
                    Scalar::Int(text)
                }
            }
            _ => Scalar::Other,
        }
    }
}

/// Turns a serde_json error on one line into a short reason.
fn describe_error(text: &str, err: serde_json::Error) -> LineError {
    let first = text
        .trim_start_matches([' ', '\t', '\n', '\r'])
        .as_bytes()
        .first()
        .copied();
    if first != Some(b'{') && serde_json::from_str::<IgnoredAny>(text).is_ok() {
        let found = match first {
            Some(b'[') => "an array",
            Some(b'"') => "a string",
            Some(b't' | b'f') => "a boolean",
            Some(b'n') => "null",
            _ => "a number",
        };
        return LineError::NotAnObject(found);
    }
    // Records are objects: text that does not start like one and is not
    // JSON at all is a plain-text line (`[2016-04-15T20:17:00Z] "GET /"`).
    if first.is_some() && first != Some(b'{') {
        return LineError::NotJson;
    }
    let message = err.to_string();
    let message = match message.rfind(" at line ") {
        Some(i) => &message[..i],
        None => &message,
    };
    if err.line() > 1 {
        // A value spread over lines (read as a stream of values).
        return LineError::InvalidJson(format!(
            "{message} at line {} of the value, column {}",
            err.line(),
            err.column()
        ));
    }
    LineError::InvalidJson(format!("{message} at column {}", err.column()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parser_for(format: &str, extra_unknown: &[&str]) -> Parser {
        Parser::new(
            &Format::builtin(format).unwrap(),
            &FieldOverrides::default(),
            UnknownUsers::new(extra_unknown.iter().map(|s| s.to_string())),
            IpList::First,
        )
        .unwrap()
    }

    fn parser(extra_unknown: &[&str]) -> Parser {
        parser_for("generic", extra_unknown)
    }

    fn parse(line: &str) -> Record<'static> {
        try_parse(line).unwrap_or_else(|e| panic!("{line}: {e}"))
    }

    fn try_parse(line: &str) -> Result<Record<'static>, LineError> {
        let line: &'static [u8] = Box::leak(line.as_bytes().to_vec().into_boxed_slice());
        let scratch: &'static mut Scratch = Box::leak(Box::default());
        match parser(&["anonymous"]).parse(line, scratch)? {
            Parsed::Record { record, .. } => Ok(record),
            Parsed::Skipped => panic!("skipped"),
        }
    }

    #[test]
    fn malformed_lines_say_why() {
        assert!(matches!(
            try_parse(r#"{"a":1"#),
            Err(LineError::InvalidJson(_))
        ));
        assert_eq!(try_parse("panic: boom"), Err(LineError::NotJson));
        assert_eq!(
            try_parse("DEBUG: CrowdsecBouncerTraefikPlugin: 2025/09/05"),
            Err(LineError::NotJson)
        );
        assert_eq!(try_parse("[1,2]"), Err(LineError::NotAnObject("an array")));
        assert_eq!(try_parse("42"), Err(LineError::NotAnObject("a number")));
        assert_eq!(try_parse("null"), Err(LineError::NotAnObject("null")));
        assert!(matches!(
            try_parse(r#"{"a":1} x"#),
            Err(LineError::InvalidJson(_))
        ));
        assert!(matches!(
            try_parse(r#"{"a":NaN}"#),
            Err(LineError::InvalidJson(_))
        ));
        let bytes = b"{\"user\":\"\xff\"}";
        assert_eq!(
            parser(&[]).parse(bytes, &mut Scratch::default()),
            Err(LineError::InvalidUtf8(9))
        );
    }

    #[test]
    fn invalid_json_reason_names_the_column() {
        let Err(LineError::InvalidJson(msg)) = try_parse(r#"{"a":1,}"#) else {
            panic!()
        };
        assert_eq!(msg, "trailing comma at column 8");
    }

    #[test]
    fn deep_nesting_does_not_overflow_the_stack() {
        // Skipped values are walked without recursion, read ones too.
        let deep = format!("{{\"a\":{}{}}}", "[".repeat(100_000), "]".repeat(100_000));
        assert_eq!(try_parse(&deep).unwrap().user, "-");
        let deep = format!(
            "{{\"user\":{}{}}}",
            "[".repeat(100_000),
            "]".repeat(100_000)
        );
        assert_eq!(try_parse(&deep).unwrap().user, "-");
        let unclosed = format!("{{\"a\":{}", "[".repeat(100_000));
        assert!(matches!(
            try_parse(&unclosed),
            Err(LineError::InvalidJson(_))
        ));
    }

    #[test]
    fn user_takes_the_first_usable_key() {
        assert_eq!(parse(r#"{"user_id":"alice","user":"bob"}"#).user, "alice");
        assert_eq!(parse(r#"{"user_id":"","user":"bob"}"#).user, "bob");
        assert_eq!(
            parse(r#"{"user_id":null,"username":"carol"}"#).user,
            "carol"
        );
        assert_eq!(parse(r#"{"uid":4021}"#).user, "4021");
        assert_eq!(parse(r#"{"uid":-7}"#).user, "-7");
        assert_eq!(parse(r#"{"uid":4021.0,"sub":"dave"}"#).user, "dave");
        assert_eq!(parse(r#"{"uid":1e3}"#).user, "-");
        assert_eq!(parse(r#"{"user":true}"#).user_kind, UserKind::Missing);
        assert_eq!(parse(r#"{"user":{"name":"x"}}"#).user, "-");
        assert_eq!(parse(r#"{"user":"a\u00efb"}"#).user, "aïb");
    }

    #[test]
    fn the_last_duplicate_key_wins() {
        assert_eq!(parse(r#"{"user":"first","user":"second"}"#).user, "second");
    }

    #[test]
    fn timestamp_keys_fall_through_unusable_values() {
        let r = parse(r#"{"timestamp":"soon","ts":1695377730.5}"#);
        assert_eq!(r.time.unwrap().to_string(), "2023-09-22T10:15:30.500Z");
        let r = parse(r#"{"timestamp":true,"@timestamp":"2023-09-22T10:15:30Z"}"#);
        assert_eq!(r.time.unwrap().to_string(), "2023-09-22T10:15:30.000Z");
        assert_eq!(parse(r#"{"time":"2023-02-30T00:00:00Z"}"#).time, None);
        assert_eq!(
            parse(r#"{"ts":"1695377730"}"#).time.unwrap().to_string(),
            "2023-09-22T10:15:30.000Z"
        );
    }

    #[test]
    fn event_name_rules() {
        assert_eq!(
            parse(r#"{"event_type":"auth.login","method":"GET","path":"/x"}"#).event,
            "auth.login"
        );
        assert_eq!(parse(r#"{"action":"delete"}"#).event, "delete");
        assert_eq!(
            parse(r#"{"method":"GET","path":"/api/orders/123?x=1"}"#).event,
            "GET /api/orders/:id"
        );
        assert_eq!(
            parse(r#"{"path":"/api/orders/123#frag"}"#).event,
            "/api/orders/:id"
        );
        assert_eq!(parse(r#"{"method":"GET"}"#).event, "-");
        assert_eq!(parse(r#"{"event":""}"#).event, "-");
        assert_eq!(
            parse(r#"{"method":"get","uri":"/a//b/"}"#).event,
            "get /a//b/"
        );
    }

    #[test]
    fn path_segments_that_are_ids() {
        let norm = |p: &str| {
            let mut s = String::new();
            normalize_path(p, &mut s);
            s
        };
        assert_eq!(
            norm("/users/550e8400-E29B-41d4-a716-446655440000/keys"),
            "/users/:id/keys"
        );
        assert_eq!(norm("/blobs/0123456789abcdef"), "/blobs/:id");
        assert_eq!(norm("/blobs/0123456789abcde"), "/blobs/0123456789abcde");
        assert_eq!(norm("/v1/items/42/x42"), "/v1/items/:id/x42");
        assert_eq!(norm("/a%2F1/12"), "/a%2F1/:id");
        assert_eq!(norm("/550e8400e29b41d4a716446655440000"), "/:id");
        assert_eq!(
            norm("/550e8400-e29b-41d4-a716-44665544000g"),
            "/550e8400-e29b-41d4-a716-44665544000g"
        );
        assert_eq!(norm("https://host/a/7"), "https://host/a/:id");
    }

    #[test]
    fn failure_from_indicators() {
        let outcome = |line: &str| parse(line).outcome;
        assert_eq!(outcome(r#"{"status":200}"#), Outcome::Success);
        assert_eq!(outcome(r#"{"status":401}"#), Outcome::AuthenticationFailure);
        assert_eq!(
            outcome(r#"{"status":"403"}"#),
            Outcome::AuthorizationFailure
        );
        assert_eq!(outcome(r#"{"status":404}"#), Outcome::OtherFailure);
        assert_eq!(outcome(r#"{"status":399}"#), Outcome::Success);
        assert_eq!(outcome(r#"{"status_code":500}"#), Outcome::OtherFailure);
        assert_eq!(
            outcome(r#"{"status":"4o4","http_status":404}"#),
            Outcome::OtherFailure
        );
        assert_eq!(
            outcome(r#"{"status":18446744073709551616}"#),
            Outcome::OtherFailure
        );
        assert_eq!(outcome(r#"{"status":-0}"#), Outcome::Success);
        assert_eq!(
            outcome(r#"{"outcome":"FAILURE"}"#),
            Outcome::AuthenticationFailure
        );
        assert_eq!(
            outcome(r#"{"result":"Denied"}"#),
            Outcome::AuthorizationFailure
        );
        assert_eq!(outcome(r#"{"outcome":"error"}"#), Outcome::OtherFailure);
        assert_eq!(outcome(r#"{"outcome":"ok"}"#), Outcome::Success);
        assert_eq!(
            outcome(r#"{"success":false}"#),
            Outcome::AuthenticationFailure
        );
        assert_eq!(
            outcome(r#"{"success":true,"status":500}"#),
            Outcome::OtherFailure
        );
        assert_eq!(outcome(r#"{"success":"false"}"#), Outcome::Success);
    }

    #[test]
    fn unknown_user_without_indicator_is_a_failure() {
        assert_eq!(
            parse(r#"{"user":"unknown_user"}"#).outcome,
            Outcome::OtherFailure
        );
        assert_eq!(
            parse(r#"{"user":"anonymous"}"#).outcome,
            Outcome::OtherFailure
        );
        assert_eq!(
            parse(r#"{"user":"anonymous"}"#).user_kind,
            UserKind::Unknown
        );
        assert_eq!(parse(r#"{"user":"alice"}"#).outcome, Outcome::Success);
        assert_eq!(parse(r#"{}"#).outcome, Outcome::Success);
        assert_eq!(
            parse(r#"{"user":"unknown_user","status":200}"#).outcome,
            Outcome::Success
        );
        assert_eq!(
            parse(r#"{"user":"unknown_user","outcome":""}"#).outcome,
            Outcome::OtherFailure
        );
    }

    #[test]
    fn ip_is_the_first_non_empty_string() {
        assert_eq!(
            parse(r#"{"ip":"","client_ip":"10.0.0.1"}"#).ip.as_deref(),
            Some("10.0.0.1")
        );
        assert_eq!(parse(r#"{"src_ip":7}"#).ip, None);
    }
}

#[cfg(test)]
mod format_tests {
    use super::*;

    fn parser(format: &str) -> Parser {
        parser_with(format, &[], IpList::First)
    }

    fn parser_with(format: &str, fields: &[(&str, &str)], ip_list: IpList) -> Parser {
        Parser::new(
            &Format::builtin(format).unwrap(),
            &FieldOverrides {
                fields: fields
                    .iter()
                    .map(|(r, p)| (r.to_string(), p.to_string()))
                    .collect(),
            },
            UnknownUsers::new([]),
            ip_list,
        )
        .unwrap()
    }

    fn parsed(p: &Parser, line: &str) -> Parsed<'static> {
        let line: &'static [u8] = Box::leak(line.as_bytes().to_vec().into_boxed_slice());
        let scratch: &'static mut Scratch = Box::leak(Box::default());
        p.parse(line, scratch)
            .unwrap_or_else(|e| panic!("{}: {e}", String::from_utf8_lossy(line)))
    }

    fn record(p: &Parser, line: &str) -> Record<'static> {
        match parsed(p, line) {
            Parsed::Record { record, .. } => record,
            Parsed::Skipped => panic!("{line}: skipped"),
        }
    }

    fn ip(s: &str, list: IpList) -> Option<String> {
        clean_ip(Cow::Borrowed(s), list).map(Cow::into_owned)
    }

    #[test]
    fn ips_lose_ports_and_lists() {
        let first = IpList::First;
        assert_eq!(ip("1.2.3.4:5678", first).as_deref(), Some("1.2.3.4"));
        assert_eq!(
            ip("[2001:db8::1]:443", first).as_deref(),
            Some("2001:db8::1")
        );
        assert_eq!(ip("[::1]", first).as_deref(), Some("::1"));
        assert_eq!(ip("2001:db8::1", first).as_deref(), Some("2001:db8::1"));
        assert_eq!(ip("fe80::1%eth0", first).as_deref(), Some("fe80::1%eth0"));
        assert_eq!(
            ip("192.168.1.100,10.0.0.50", first).as_deref(),
            Some("192.168.1.100")
        );
        assert_eq!(
            ip("192.168.1.100,10.0.0.50", IpList::Last).as_deref(),
            Some("10.0.0.50")
        );
        assert_eq!(
            ip("1.2.3.4, 1.2.3.4, 192.168.32.12", IpList::Last).as_deref(),
            Some("192.168.32.12")
        );
        assert_eq!(
            ip("fd00::5a24, [fd00::1]:54321", IpList::Last).as_deref(),
            Some("fd00::1")
        );
        assert_eq!(ip("-", first), None);
        assert_eq!(ip("", first), None);
        assert_eq!(ip(" , ", first), None);
        assert_eq!(
            ip("host.example:80", first).as_deref(),
            Some("host.example")
        );
    }

    #[test]
    fn ip_rules_apply_to_the_generic_format() {
        let p = parser("generic");
        let r = record(&p, r#"{"ip":"-","client_ip":"[::1]:58955"}"#);
        assert_eq!(r.ip.as_deref(), Some("::1"));
        let p = parser_with("generic", &[], IpList::Last);
        let r = record(&p, r#"{"ip":"9.9.9.9, 10.0.0.1:80"}"#);
        assert_eq!(r.ip.as_deref(), Some("10.0.0.1"));
    }

    #[test]
    fn placeholder_users_mean_no_user() {
        let p = parser("generic");
        for user in [r#""""#, r#""-""#, r#""--""#, "null"] {
            let r = record(&p, &format!(r#"{{"user":{user}}}"#));
            assert_eq!((r.user.as_ref(), r.user_kind), ("-", UserKind::Missing));
        }
        assert_eq!(record(&p, r#"{"user_id":"-","user":"bob"}"#).user, "bob");
    }

    #[test]
    fn field_overrides_replace_a_role_with_alternatives() {
        let p = parser_with(
            "generic",
            &[
                ("user", "user.username"),
                ("user", "context.username"),
                ("ip", r#"["addr.remote"]"#),
                ("event", "{method} {code}"),
            ],
            IpList::First,
        );
        let r = record(
            &p,
            r#"{"user_id":"ignored","user":{"username":"AnonymousUser"},"addr.remote":"1.2.3.4:5","method":"login","code":7}"#,
        );
        assert_eq!(r.user, "AnonymousUser");
        assert_eq!(r.ip.as_deref(), Some("1.2.3.4"));
        assert_eq!(r.event, "login 7");
        let r = record(
            &p,
            r#"{"user":{"username":""},"context":{"username":"eve"}}"#,
        );
        assert_eq!(r.user, "eve");
    }

    #[test]
    fn k8s_counts_final_stages_and_names_impersonation() {
        let p = parser("k8s-audit");
        let line = |stage: &str| {
            format!(
                r#"{{"kind":"Event","auditID":"a","stage":"{stage}","verb":"create","requestURI":"/api/v1/namespaces/foo/pods/p/exec","user":{{"username":"system:admin"}},"impersonatedUser":{{"username":"bob"}},"sourceIPs":["10.0.0.1","10.0.0.2"],"objectRef":{{"resource":"pods","subresource":"exec"}},"responseStatus":{{"code":403}},"requestReceivedTimestamp":"2023-05-17T15:08:22.763960Z"}}"#
            )
        };
        assert_eq!(parsed(&p, &line("RequestReceived")), Parsed::Skipped);
        assert_eq!(parsed(&p, &line("ResponseStarted")), Parsed::Skipped);
        let r = record(&p, &line("ResponseComplete"));
        assert_eq!(r.user, "system:admin as bob");
        assert_eq!(r.event, "create pods/exec");
        assert_eq!(r.ip.as_deref(), Some("10.0.0.1"));
        assert_eq!(r.outcome, Outcome::AuthorizationFailure);
        assert_eq!(r.time.unwrap().to_string(), "2023-05-17T15:08:22.763Z");
        assert!(matches!(parsed(&p, &line("Panic")), Parsed::Record { .. }));
        // No stage at all (old events): counted.
        let r = record(
            &p,
            r#"{"auditID":"a","verb":"get","requestURI":"/api?x=1","user":{"username":"system:anonymous"},"responseStatus":{"code":401},"timestamp":"2017-09-11T20:27:42Z"}"#,
        );
        assert_eq!(r.event, "get /api");
        assert_eq!(r.user_kind, UserKind::Unknown);
        assert_eq!(r.outcome, Outcome::AuthenticationFailure);
    }

    #[test]
    fn cloudtrail_failures() {
        let p = parser("cloudtrail");
        let r = record(
            &p,
            r#"{"eventSource":"signin.amazonaws.com","eventName":"ConsoleLogin","userIdentity":{"type":"IAMUser","principalId":"P"},"responseElements":{"ConsoleLogin":"Failure"},"errorMessage":"Failed authentication","eventTime":"2023-04-11T15:24:00Z","sourceIPAddress":"1.2.3.4"}"#,
        );
        assert_eq!(r.event, "signin.amazonaws.com:ConsoleLogin");
        assert_eq!(r.user, "P");
        assert_eq!(r.outcome, Outcome::AuthenticationFailure);
        let r = record(
            &p,
            r#"{"eventSource":"s3.amazonaws.com","eventName":"ListBuckets","userIdentity":{"arn":"arn:x","sessionContext":{"sessionIssuer":{"userName":"role"}}},"errorCode":"AccessDenied"}"#,
        );
        assert_eq!(r.user, "role");
        assert_eq!(r.outcome, Outcome::AuthorizationFailure);
        let r = record(
            &p,
            r#"{"eventSource":"s3.amazonaws.com","eventName":"GetObject","userIdentity":{"arn":"arn:x"},"errorCode":"NoSuchKey"}"#,
        );
        assert_eq!(r.user, "arn:x");
        assert_eq!(r.outcome, Outcome::OtherFailure);
        let r = record(
            &p,
            r#"{"eventSource":"sts.amazonaws.com","eventName":"GetCallerIdentity","userIdentity":{},"responseElements":null,"@timestamp":"2020-09-14T00:44:23.000Z"}"#,
        );
        assert_eq!(r.outcome, Outcome::Success);
        assert!(r.time.is_some());
    }

    #[test]
    fn gcp_failures() {
        let p = parser("gcp-audit");
        let base = |extra: &str| {
            format!(
                r#"{{"protoPayload":{{"serviceName":"storage.googleapis.com","methodName":"storage.objects.get","authenticationInfo":{{"principalEmail":"a@b.c"}},"requestMetadata":{{"callerIp":"1.2.3.4"}}{extra}}},"timestamp":"2021-01-01T00:00:00.123456789Z"}}"#
            )
        };
        let r = record(&p, &base(""));
        assert_eq!(r.event, "storage.googleapis.com:storage.objects.get");
        assert_eq!(r.outcome, Outcome::Success);
        assert_eq!(r.user, "a@b.c");
        let outcome = |extra: &str| record(&p, &base(extra)).outcome;
        assert_eq!(outcome(r#","status":{}"#), Outcome::Success);
        assert_eq!(outcome(r#","status":{"code":0}"#), Outcome::Success);
        assert_eq!(
            outcome(r#","status":{"code":7,"message":"PERMISSION_DENIED"}"#),
            Outcome::AuthorizationFailure
        );
        assert_eq!(
            outcome(r#","status":{"code":16}"#),
            Outcome::AuthenticationFailure
        );
        assert_eq!(outcome(r#","status":{"code":5}"#), Outcome::OtherFailure);
        assert_eq!(
            outcome(
                r#","authorizationInfo":[{"granted":true},{"permission":"x"},{"granted":false}]"#
            ),
            Outcome::AuthorizationFailure
        );
        assert_eq!(
            outcome(r#","authorizationInfo":[{"granted":true},{"permission":"x"}]"#),
            Outcome::Success
        );
    }

    #[test]
    fn vault_pairs_and_identity() {
        let p = parser("vault-audit");
        let Parsed::Record { record, pair, .. } = parsed(
            &p,
            r#"{"time":"2019-11-05T00:40:27.638711Z","type":"request","auth":{"display_name":""},"request":{"id":"r1","operation":"update","path":"auth/userpass/login/bob","remote_address":"10.0.0.9"},"error":""}"#,
        ) else {
            panic!()
        };
        assert_eq!(pair, Some(PairSide::Request("r1".into())));
        assert_eq!(record.user, "unknown_user");
        assert_eq!(record.user_kind, UserKind::Unknown);
        assert_eq!(record.event, "update auth/userpass/login/bob");
        assert_eq!(record.outcome, Outcome::Success);
        let Parsed::Record { record, pair, .. } = parsed(
            &p,
            r#"{"time":"2019-11-05T00:40:27.7Z","type":"response","auth":{},"request":{"id":"r1","operation":"update","path":"auth/userpass/login/bob","remote_address":"10.0.0.9"},"error":"invalid username or password"}"#,
        ) else {
            panic!()
        };
        assert_eq!(pair, Some(PairSide::Response("r1".into())));
        assert_eq!(record.outcome, Outcome::AuthenticationFailure);
        let r = self::record(
            &p,
            r#"{"type":"response","auth":{"display_name":"token"},"request":{"id":"r2","operation":"read","path":"secret/data/x"},"error":"1 error occurred:\n\t* permission denied\n\n"}"#,
        );
        assert_eq!(r.outcome, Outcome::AuthorizationFailure);
        assert_eq!(r.user, "token");
    }

    #[test]
    fn caddy_skips_non_access_records_and_fails_status_0() {
        let p = parser("caddy");
        assert_eq!(
            parsed(&p, r#"{"level":"info","ts":1.5,"logger":"tls","msg":"x"}"#),
            Parsed::Skipped
        );
        assert_eq!(
            parsed(&p, r#"{"level":"info","ts":1.5,"msg":"x"}"#),
            Parsed::Skipped
        );
        let access = |status: u32, user: &str| {
            format!(
                r#"{{"ts":1716723772.6014807,"logger":"http.log.access.log0","request":{{"remote_ip":"10.5.1.1","client_ip":"10.10.10.117","method":"GET","uri":"/a/12?x"}},"user_id":"{user}","status":{status}}}"#
            )
        };
        let r = record(&p, &access(0, ""));
        assert_eq!(r.outcome, Outcome::OtherFailure);
        assert_eq!(r.user_kind, UserKind::Missing);
        assert_eq!(r.event, "GET /a/:id");
        assert_eq!(r.ip.as_deref(), Some("10.10.10.117"));
        assert_eq!(r.time.unwrap().to_string(), "2024-05-26T11:42:52.601Z");
        let r = record(&p, &access(401, ""));
        assert_eq!(r.outcome, Outcome::AuthenticationFailure);
        let r = record(&p, &access(200, "Bob"));
        assert_eq!((r.user.as_ref(), r.outcome), ("Bob", Outcome::Success));
    }

    #[test]
    fn traefik_fields() {
        let p = parser("traefik");
        let r = record(
            &p,
            r#"{"ClientHost":"192.168.1.100,10.0.0.50","ClientUsername":"-","DownstreamStatus":404,"RequestMethod":"GET","RequestPath":"/x/1","time":"2025-09-05T13:53:40+01:00"}"#,
        );
        assert_eq!(r.user_kind, UserKind::Missing);
        assert_eq!(r.ip.as_deref(), Some("192.168.1.100"));
        assert_eq!(r.event, "GET /x/:id");
        assert_eq!(r.outcome, Outcome::OtherFailure);
        assert_eq!(r.time.unwrap().to_string(), "2025-09-05T12:53:40.000Z");
    }

    #[test]
    fn detection_needs_every_condition() {
        let k8s = parser("k8s-audit");
        assert!(k8s.detects(br#"{"auditID":"a","verb":"get","requestURI":"/"}"#));
        assert!(!k8s.detects(br#"{"auditID":"a","verb":"get"}"#));
        assert!(!k8s.detects(br#"{"kind": 0}"#));
        assert!(!k8s.detects(b"not json"));
        assert!(!parser("generic").detects(br#"{"user":"a"}"#));
        let caddy = parser("caddy");
        assert!(caddy.detects(br#"{"ts":1,"logger":"http.log.access.log0"}"#));
        assert!(!caddy.detects(br#"{"ts":1,"logger":"tls"}"#));
    }

    #[test]
    fn records_that_match_no_role_are_flagged() {
        let p = parser("generic");
        let Parsed::Record { matched, .. } = parsed(&p, r#"{"kind":0}"#) else {
            panic!()
        };
        assert!(!matched);
        let Parsed::Record { matched, .. } = parsed(&p, r#"{"ts":1}"#) else {
            panic!()
        };
        assert!(matched);
    }

    #[test]
    fn a_format_file_with_conditions() {
        let format = Format::from_toml(
            r#"
name = "teleport"
description = "Teleport audit events"
[fields]
user = ["user"]
event = ["{event} {code?}"]
ip = ['["addr.remote"]']
success = ["success"]
[users]
unauthenticated = ["AnonymousUser"]
[[failure]]
path = "error"
contains = "locked"
kind = "authorization"
"#,
            "t.toml",
        )
        .unwrap();
        let p = Parser::new(
            &format,
            &FieldOverrides::default(),
            UnknownUsers::new([]),
            IpList::First,
        )
        .unwrap();
        let r = record(
            &p,
            r#"{"user":"AnonymousUser","event":"user.login","code":"T1000W","success":false,"addr.remote":"1.2.3.4:3025"}"#,
        );
        assert_eq!(r.event, "user.login T1000W");
        assert_eq!(r.user_kind, UserKind::Unknown);
        assert_eq!(r.ip.as_deref(), Some("1.2.3.4"));
        assert_eq!(r.outcome, Outcome::AuthenticationFailure);
        let r = record(
            &p,
            r#"{"user":"bob","event":"user.login","error":"user Locked"}"#,
        );
        assert_eq!(r.event, "user.login");
        assert_eq!(r.outcome, Outcome::AuthorizationFailure);
    }
}
