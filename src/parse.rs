//! One line of a log → one [`Record`]: which keys play which role, and what
//! the values mean (the time, the user, the event, success or failure).
//!
//! The parser validates the whole line as JSON but only builds the values of
//! the keys some role reads; everything else is skipped without allocating.

use std::borrow::Cow;
use std::fmt;

use rustc_hash::FxHashMap;
use serde::de::{self, DeserializeSeed, IgnoredAny, MapAccess, Visitor};
use serde_json::value::RawValue;

use crate::timestamp::Timestamp;

/// The user name that a record without a usable user gets.
pub const NO_USER: &str = "-";
/// The event name of a record with neither an event nor a path.
pub const NO_EVENT: &str = "-";
/// The user name an API writes when a token fails verification.
pub const UNKNOWN_USER: &str = "unknown_user";

/// What a field is read for. Each role has its own list of keys.
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
    /// Every role, in the order the field map stores them.
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
}

/// Where each role is read from: for every role, keys tried in order, the
/// first whose value has a usable type wins.
#[derive(Clone, Debug)]
pub struct FieldMap {
    keys: [Vec<String>; 9],
}

impl FieldMap {
    /// The generic JSON-lines format: the keys JWT-protected APIs commonly write.
    pub fn generic() -> FieldMap {
        let list = |keys: &[&str]| keys.iter().map(|k| k.to_string()).collect::<Vec<_>>();
        FieldMap {
            keys: [
                list(&["timestamp", "ts", "time", "@timestamp"]),
                list(&["user_id", "user", "username", "uid", "sub"]),
                list(&["event_type", "event", "action"]),
                list(&["outcome", "result"]),
                list(&["success"]),
                list(&["status", "status_code", "http_status"]),
                list(&[
                    "ip",
                    "client_ip",
                    "remote_addr",
                    "remote_ip",
                    "source_ip",
                    "src_ip",
                ]),
                list(&["method"]),
                list(&["path", "uri", "url"]),
            ],
        }
    }

    /// The keys read for `role`, in priority order.
    pub fn keys(&self, role: Role) -> &[String] {
        &self.keys[role as usize]
    }
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
    /// Status 403 or outcome `denied`/`deny`/`forbidden`: the caller is known
    /// but not allowed.
    AuthorizationFailure,
    /// Status 401, outcome `failure`/`failed`/`fail`/`unauthorized`, or
    /// `success: false`: the caller could not prove who they are.
    AuthenticationFailure,
    /// Any other failure (404, 500, `error`, or an unknown user without an
    /// outcome indicator).
    OtherFailure,
}

impl Outcome {
    /// Whether the record counts as a failure.
    pub fn is_failure(self) -> bool {
        self != Outcome::Success
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

/// Why a line was not a record.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum LineError {
    #[error("invalid UTF-8 at byte {0}")]
    InvalidUtf8(usize),
    #[error("invalid JSON: {0}")]
    InvalidJson(String),
    #[error("not a JSON object (found {0})")]
    NotAnObject(&'static str),
    #[error("line too long (over {0} bytes)")]
    TooLong(usize),
}

/// Top-level keys any role reads, each mapped to a slot for its value.
#[derive(Clone, Debug)]
struct KeyTable {
    slots: FxHashMap<String, usize>,
}

/// Turns lines into [`Record`]s under one field map.
#[derive(Clone, Debug)]
pub struct Parser {
    table: KeyTable,
    /// For each role, the slots of its keys in priority order.
    role_slots: [Vec<usize>; 9],
    unknown: UnknownUsers,
}

/// Values of the interesting keys of one object, by slot; the last
/// occurrence of a duplicated key wins.
type Slots<'de> = Vec<Option<&'de RawValue>>;

impl Parser {
    /// A parser reading `fields`, treating `unknown` as unauthenticated names.
    pub fn new(fields: &FieldMap, unknown: UnknownUsers) -> Parser {
        let mut slots = FxHashMap::default();
        let role_slots = Role::ALL.map(|role| {
            fields
                .keys(role)
                .iter()
                .map(|key| {
                    let next = slots.len();
                    *slots.entry(key.clone()).or_insert(next)
                })
                .collect()
        });
        Parser {
            table: KeyTable { slots },
            role_slots,
            unknown,
        }
    }

    /// Reads one line (without its line terminator). `scratch` holds the
    /// event name when it has to be composed; the record may borrow it.
    pub fn parse<'a>(
        &self,
        line: &'a [u8],
        scratch: &'a mut String,
    ) -> Result<Record<'a>, LineError> {
        let text =
            std::str::from_utf8(line).map_err(|e| LineError::InvalidUtf8(e.valid_up_to()))?;
        let slots = self.read_object(text)?;
        Ok(self.interpret(&slots, scratch))
    }

    fn read_object<'a>(&self, text: &'a str) -> Result<Slots<'a>, LineError> {
        let mut de = serde_json::Deserializer::from_str(text);
        let seed = ObjectSeed { table: &self.table };
        match seed
            .deserialize(&mut de)
            .and_then(|slots| de.end().map(|()| slots))
        {
            Ok(slots) => Ok(slots),
            Err(err) => Err(describe_error(text, err)),
        }
    }

    /// The first usable value among a role's keys, converted by `f`.
    fn first<'a, T>(
        &self,
        slots: &Slots<'a>,
        role: Role,
        f: impl Fn(Scalar<'a>) -> Option<T>,
    ) -> Option<T> {
        self.role_slots[role as usize]
            .iter()
            .filter_map(|&slot| slots[slot])
            .find_map(|raw| f(Scalar::of(raw)))
    }

    fn interpret<'a>(&self, slots: &Slots<'a>, scratch: &'a mut String) -> Record<'a> {
        let time = self.first(slots, Role::Timestamp, |v| match v {
            Scalar::Str(s) => Timestamp::parse_str(&s),
            Scalar::Int(n) | Scalar::Number(n) => Timestamp::parse_json_number(n),
            _ => None,
        });
        let user = self.first(slots, Role::User, |v| match v {
            Scalar::Str(s) if !s.is_empty() => Some(s),
            // Its decimal text: JSON allows no leading zeros, so only -0 differs.
            Scalar::Int(n) => Some(Cow::Borrowed(if n == "-0" { "0" } else { n })),
            _ => None,
        });
        let event = self.first(slots, Role::Event, non_empty_str);
        let outcome = self.first(slots, Role::Outcome, non_empty_str);
        let success = self.first(slots, Role::Success, |v| match v {
            Scalar::Bool(b) => Some(b),
            _ => None,
        });
        let status = self.first(slots, Role::Status, |v| match v {
            Scalar::Int(n) => Some(saturating_int(n)),
            Scalar::Str(s) if !s.is_empty() && s.bytes().all(|c| c.is_ascii_digit()) => {
                Some(saturating_int(&s))
            }
            _ => None,
        });
        let ip = self.first(slots, Role::Ip, non_empty_str);
        let method = self.first(slots, Role::Method, non_empty_str);
        let path = self.first(slots, Role::Path, non_empty_str);

        let user = user.unwrap_or(Cow::Borrowed(NO_USER));
        // The shown name decides, so `--unknown-user -` also covers records
        // that name no user.
        let user_kind = if self.unknown.contains(&user) {
            UserKind::Unknown
        } else if user == NO_USER {
            UserKind::Missing
        } else {
            UserKind::Known
        };
        let has_indicator = outcome.is_some() || success.is_some() || status.is_some();
        let outcome = if has_indicator {
            classify(outcome.as_deref(), success, status)
        } else if user_kind == UserKind::Unknown {
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
        Record {
            time,
            user,
            user_kind,
            event,
            ip,
            outcome,
        }
    }
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
    let end = path.find(['?', '#']).unwrap_or(path.len());
    for (i, segment) in path[..end].split('/').enumerate() {
        if i > 0 {
            out.push('/');
        }
        out.push_str(if is_id_segment(segment) {
            ":id"
        } else {
            segment
        });
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
    fn of(raw: &'a RawValue) -> Scalar<'a> {
        let text = raw.get();
        match text.as_bytes()[0] {
            b'"' => {
                let inner = &text[1..text.len() - 1];
                if inner.contains('\\') {
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
    let message = err.to_string();
    let message = match message.rfind(" at line ") {
        Some(i) => &message[..i],
        None => &message,
    };
    LineError::InvalidJson(format!("{message} at column {}", err.column()))
}

struct ObjectSeed<'t> {
    table: &'t KeyTable,
}

impl<'de> DeserializeSeed<'de> for ObjectSeed<'_> {
    type Value = Slots<'de>;

    fn deserialize<D: de::Deserializer<'de>>(
        self,
        deserializer: D,
    ) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for ObjectSeed<'_> {
    type Value = Slots<'de>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut slots: Slots<'de> = vec![None; self.table.slots.len()];
        while let Some(slot) = map.next_key_seed(KeySeed { table: self.table })? {
            match slot {
                Some(i) => slots[i] = Some(map.next_value::<&'de RawValue>()?),
                None => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(slots)
    }
}

/// Looks a key up in the table without allocating it.
struct KeySeed<'t> {
    table: &'t KeyTable,
}

impl<'de> DeserializeSeed<'de> for KeySeed<'_> {
    type Value = Option<usize>;

    fn deserialize<D: de::Deserializer<'de>>(
        self,
        deserializer: D,
    ) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for KeySeed<'_> {
    type Value = Option<usize>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an object key")
    }

    fn visit_str<E: de::Error>(self, key: &str) -> Result<Self::Value, E> {
        Ok(self.table.slots.get(key).copied())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parser(extra_unknown: &[&str]) -> Parser {
        Parser::new(
            &FieldMap::generic(),
            UnknownUsers::new(extra_unknown.iter().map(|s| s.to_string())),
        )
    }

    fn parse(line: &str) -> Record<'static> {
        try_parse(line).unwrap_or_else(|e| panic!("{line}: {e}"))
    }

    fn try_parse(line: &str) -> Result<Record<'static>, LineError> {
        let line: &'static [u8] = Box::leak(line.as_bytes().to_vec().into_boxed_slice());
        let scratch: &'static mut String = Box::leak(Box::default());
        parser(&["anonymous"]).parse(line, scratch)
    }

    #[test]
    fn malformed_lines_say_why() {
        assert!(matches!(
            try_parse(r#"{"a":1"#),
            Err(LineError::InvalidJson(_))
        ));
        assert!(matches!(
            try_parse("panic: boom"),
            Err(LineError::InvalidJson(_))
        ));
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
            Parser::new(&FieldMap::generic(), UnknownUsers::new([]))
                .parse(bytes, &mut String::new()),
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
