//! Log formats as data: where each role is read, which records are skipped,
//! what a failure is, who is unauthenticated, and how a file is recognised.
//! Built-in formats are TOML files in `formats/`, embedded in the binary;
//! users write the same TOML for `--log-format-file`.

use serde::{Deserialize, Serialize};

/// The built-in formats, in detection priority order (ties go to the
/// earlier one). `generic` is the fallback and never detected.
pub const BUILTIN: &[(&str, &str)] = &[
    ("generic", include_str!("../formats/generic.toml")),
    ("k8s-audit", include_str!("../formats/k8s-audit.toml")),
    ("cloudtrail", include_str!("../formats/cloudtrail.toml")),
    ("gcp-audit", include_str!("../formats/gcp-audit.toml")),
    ("vault-audit", include_str!("../formats/vault-audit.toml")),
    ("caddy", include_str!("../formats/caddy.toml")),
    ("traefik", include_str!("../formats/traefik.toml")),
];

/// A format file as written.
#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Format {
    /// Shown in the summary as the format a file was read as.
    pub name: String,
    #[serde(default)]
    pub description: String,
    /// Conditions that all hold on a record of this format (auto detection).
    #[serde(default)]
    pub detect: Vec<Condition>,
    #[serde(default)]
    pub fields: Fields,
    #[serde(default)]
    pub users: Users,
    /// A record for which any of these holds is skipped (counted, not read).
    #[serde(default)]
    pub skip: Vec<Condition>,
    /// Checked in order; the first that holds makes the record a failure of
    /// its `kind`. When none holds, the outcome, success and status roles
    /// decide as in the generic format.
    #[serde(default)]
    pub failure: Vec<Condition>,
    /// Requests and responses logged separately: count each request once.
    pub pair: Option<Pair>,
}

/// For each role, where it is read: paths or templates, the first usable wins.
#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Fields {
    #[serde(default)]
    pub timestamp: Vec<String>,
    #[serde(default)]
    pub user: Vec<String>,
    #[serde(default)]
    pub event: Vec<String>,
    #[serde(default)]
    pub outcome: Vec<String>,
    #[serde(default)]
    pub success: Vec<String>,
    #[serde(default)]
    pub status: Vec<String>,
    #[serde(default)]
    pub ip: Vec<String>,
    #[serde(default)]
    pub method: Vec<String>,
    #[serde(default)]
    pub path: Vec<String>,
}

impl Fields {
    /// The sources of the role named `role` (as in `--field ROLE=PATH`).
    pub fn role_mut(&mut self, role: &str) -> Option<&mut Vec<String>> {
        Some(match role {
            "timestamp" => &mut self.timestamp,
            "user" => &mut self.user,
            "event" => &mut self.event,
            "outcome" => &mut self.outcome,
            "success" => &mut self.success,
            "status" => &mut self.status,
            "ip" => &mut self.ip,
            "method" => &mut self.method,
            "path" => &mut self.path,
            _ => return None,
        })
    }
}

/// The role names `--field` accepts.
pub const ROLE_NAMES: &[&str] = &[
    "timestamp",
    "user",
    "event",
    "outcome",
    "success",
    "status",
    "ip",
    "method",
    "path",
];

/// Who the users are.
#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Users {
    /// User names this format writes for unauthenticated callers; they are
    /// treated like `unknown_user`.
    #[serde(default)]
    pub unauthenticated: Vec<String>,
    /// The user a record without a usable user gets (default `-`).
    pub missing: Option<String>,
}

/// A test on the values at one path. All the tests given must hold on one
/// value; the condition holds when some value at the path passes (with
/// `negate`, when none does).
#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Condition {
    pub path: String,
    /// `true`: the value exists and is not null. `false`: it does not.
    pub present: Option<bool>,
    /// The value is one of these (strings, integers, booleans).
    pub equals: Option<OneOrMany>,
    /// The value exists, is not null and is none of these.
    pub not_equals: Option<OneOrMany>,
    /// The value is a string starting with this.
    pub prefix: Option<String>,
    /// The value is a string containing this (ASCII case ignored).
    pub contains: Option<String>,
    /// Inverts the condition.
    #[serde(default)]
    pub negate: bool,
    /// In `[[failure]]` only: `authentication`, `authorization` or `other`.
    pub kind: Option<FailureKind>,
}

/// Why a request failed, as a `[[failure]]` rule says.
#[derive(Clone, Copy, Debug, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum FailureKind {
    /// The caller could not prove who they are (bad password, bad token).
    Authentication,
    /// The caller is known but not allowed.
    Authorization,
    /// Any other failure.
    Other,
}

/// One literal or a list.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(untagged)]
pub enum OneOrMany {
    One(Literal),
    Many(Vec<Literal>),
}

impl OneOrMany {
    pub fn as_slice(&self) -> &[Literal] {
        match self {
            OneOrMany::One(l) => std::slice::from_ref(l),
            OneOrMany::Many(v) => v,
        }
    }
}

/// A value to compare with.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(untagged)]
pub enum Literal {
    Bool(bool),
    Int(i64),
    Str(String),
}

/// How requests and their responses are told apart and matched.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Pair {
    /// The path of the id shared by a request and its response.
    pub id: String,
    /// The path telling a request from a response.
    pub kind: String,
    /// Values of `kind` that mark a request.
    pub requests: Vec<String>,
    /// Values of `kind` that mark a response.
    pub responses: Vec<String>,
}

/// A format file that could not be used.
#[derive(Debug, thiserror::Error)]
pub enum FormatError {
    #[error("{origin}: {message}")]
    Toml { origin: String, message: String },
    #[error("{origin}: {message}")]
    Invalid { origin: String, message: String },
    #[error("unknown log format `{0}` (`audit-analyze formats` lists them)")]
    Unknown(String),
}

impl Format {
    /// Reads a format from TOML text; `origin` names it in errors. Unknown
    /// keys are errors that name the key.
    pub fn from_toml(text: &str, origin: &str) -> Result<Format, FormatError> {
        let format: Format = toml::from_str(text).map_err(|e| FormatError::Toml {
            origin: origin.to_string(),
            message: e.to_string().trim_end().to_string(),
        })?;
        format.validate(origin)?;
        Ok(format)
    }

    /// A built-in format by name.
    pub fn builtin(name: &str) -> Result<Format, FormatError> {
        let (_, text) = BUILTIN
            .iter()
            .find(|(n, _)| *n == name)
            .ok_or_else(|| FormatError::Unknown(name.to_string()))?;
        Format::from_toml(text, &format!("built-in format {name}"))
    }

    /// The TOML text of a built-in format.
    pub fn builtin_text(name: &str) -> Option<&'static str> {
        BUILTIN.iter().find(|(n, _)| *n == name).map(|(_, t)| *t)
    }

    /// Checks what serde cannot: paths parse, kinds are where they belong,
    /// each condition tests something.
    fn validate(&self, origin: &str) -> Result<(), FormatError> {
        let bad = |message: String| FormatError::Invalid {
            origin: origin.to_string(),
            message,
        };
        if self.name.trim().is_empty() {
            return Err(bad("`name` must not be empty".into()));
        }
        let f = &self.fields;
        for (role, sources) in [
            ("timestamp", &f.timestamp),
            ("user", &f.user),
            ("event", &f.event),
            ("outcome", &f.outcome),
            ("success", &f.success),
            ("status", &f.status),
            ("ip", &f.ip),
            ("method", &f.method),
            ("path", &f.path),
        ] {
            for s in sources {
                crate::path::Source::parse(s).map_err(|e| bad(format!("fields.{role}: {e}")))?;
            }
        }
        for (table, conditions, kind_needed) in [
            ("detect", &self.detect, false),
            ("skip", &self.skip, false),
            ("failure", &self.failure, true),
        ] {
            for c in conditions {
                crate::path::Path::parse(&c.path).map_err(|e| bad(format!("{table}: {e}")))?;
                if kind_needed != c.kind.is_some() {
                    return Err(bad(if kind_needed {
                        format!("failure `{}`: needs `kind`", c.path)
                    } else {
                        format!("{table} `{}`: `kind` belongs in [[failure]]", c.path)
                    }));
                }
                if c.present.is_none()
                    && c.equals.is_none()
                    && c.not_equals.is_none()
                    && c.prefix.is_none()
                    && c.contains.is_none()
                {
                    return Err(bad(format!(
                        "{table} `{}`: give present, equals, not_equals, prefix or contains",
                        c.path
                    )));
                }
            }
        }
        if let Some(p) = &self.pair {
            for path in [&p.id, &p.kind] {
                crate::path::Path::parse(path).map_err(|e| bad(format!("pair: {e}")))?;
            }
        }
        Ok(())
    }
}

/// The names of the built-in formats, in order.
pub fn builtin_names() -> impl Iterator<Item = &'static str> {
    BUILTIN.iter().map(|(n, _)| *n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_builtin_parses_and_is_named_after_its_file() {
        for (name, _) in BUILTIN {
            let f = Format::builtin(name).unwrap();
            assert_eq!(f.name, *name);
            assert!(!f.description.is_empty(), "{name}");
            assert_eq!(f.detect.is_empty(), *name == "generic", "{name}");
        }
    }

    #[test]
    fn unknown_keys_are_named() {
        let e = Format::from_toml("name = \"x\"\ncolour = 1\n", "f.toml").unwrap_err();
        assert!(e.to_string().contains("colour"), "{e}");
        let e = Format::from_toml("name = \"x\"\n[fields]\nusr = [\"a\"]\n", "f.toml").unwrap_err();
        assert!(e.to_string().contains("usr"), "{e}");
        let e = Format::from_toml(
            "name = \"x\"\n[[skip]]\npath = \"a\"\nequal = 1\n",
            "f.toml",
        )
        .unwrap_err();
        assert!(e.to_string().contains("equal"), "{e}");
    }

    #[test]
    fn invalid_formats_say_why() {
        for (text, needle) in [
            ("name = \"\"", "name"),
            ("name = \"x\"\n[fields]\nuser = [\"a..b\"]", "fields.user"),
            (
                "name = \"x\"\n[[failure]]\npath = \"a\"\npresent = true",
                "kind",
            ),
            (
                "name = \"x\"\n[[skip]]\npath = \"a\"\npresent = true\nkind = \"other\"",
                "kind",
            ),
            ("name = \"x\"\n[[skip]]\npath = \"a\"", "give present"),
        ] {
            let e = Format::from_toml(text, "f.toml").unwrap_err().to_string();
            assert!(e.contains(needle), "{text}: {e}");
        }
        assert!(matches!(
            Format::builtin("nope"),
            Err(FormatError::Unknown(_))
        ));
    }
}
