//! The rules' settings: defaults (with where they come from), the `--rules`
//! TOML file, and the description `audit-analyze rules` prints. The settings
//! are echoed in the JSON report so a result can be reproduced.

use std::fmt;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::report::Severity;

/// A window length, written as `--window` takes it (`90s`, `10m`, `1h30m`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Window(pub Duration);

impl Window {
    const fn minutes(m: u64) -> Window {
        Window(Duration::from_secs(m * 60))
    }
}

impl fmt::Display for Window {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", humantime::format_duration(self.0))
    }
}

impl Serialize for Window {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// In the schema: a duration string as `--window` takes it.
impl schemars::JsonSchema for Window {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Window".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "type": "string",
            "description": "A duration as --window takes it: 90s, 10m, 1h 30m, 1day",
            "examples": ["10m", "2m", "1day"]
        })
    }
}

impl<'de> Deserialize<'de> for Window {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        humantime::parse_duration(&text)
            .map(Window)
            .map_err(|e| serde::de::Error::custom(format!("invalid window {text:?}: {e}")))
    }
}

/// `unknown_user_burst`: one ip, many failures without a valid identity.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, schemars::JsonSchema)]
pub struct UnknownUserBurst {
    pub enabled: bool,
    pub threshold: u64,
    pub window: Window,
    pub severity: Severity,
    /// Raised to `critical` when this many failures of the incident…
    pub critical_threshold: u64,
    /// …fall within this window (the Wazuh sshd brute-force tier).
    pub critical_window: Window,
}

impl Default for UnknownUserBurst {
    fn default() -> Self {
        UnknownUserBurst {
            enabled: true,
            threshold: 5,
            window: Window::minutes(10),
            severity: Severity::High,
            critical_threshold: 8,
            critical_window: Window(Duration::from_secs(120)),
        }
    }
}

/// A rule of the shape "at least `threshold` of something within `window`".
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, schemars::JsonSchema)]
pub struct WindowRule {
    pub enabled: bool,
    pub threshold: u64,
    pub window: Window,
    pub severity: Severity,
}

/// `success_after_failures`: a success right after a run of failures.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, schemars::JsonSchema)]
pub struct SuccessAfterFailures {
    pub enabled: bool,
    /// Authentication failures of one known user…
    pub threshold: u64,
    /// …within this window…
    pub window: Window,
    /// …followed by a success of that user within this time.
    pub within: Window,
    /// Unknown-user failures from one ip in the `unknown_window` before a
    /// known user's success from that ip.
    pub unknown_threshold: u64,
    pub unknown_window: Window,
    pub severity: Severity,
}

impl Default for SuccessAfterFailures {
    fn default() -> Self {
        SuccessAfterFailures {
            enabled: true,
            threshold: 10,
            window: Window::minutes(10),
            within: Window::minutes(10),
            unknown_threshold: 5,
            unknown_window: Window::minutes(10),
            severity: Severity::Critical,
        }
    }
}

/// Every rule's settings.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, schemars::JsonSchema)]
pub struct RuleSet {
    pub unknown_user_burst: UnknownUserBurst,
    pub brute_force: WindowRule,
    pub password_spray: WindowRule,
    pub success_after_failures: SuccessAfterFailures,
    pub access_denied_burst: WindowRule,
    /// The user names treated as unauthenticated (from `--unknown-user`).
    pub unknown_users: Vec<String>,
}

impl Default for RuleSet {
    fn default() -> Self {
        RuleSet {
            unknown_user_burst: UnknownUserBurst::default(),
            brute_force: WindowRule {
                enabled: true,
                threshold: 10,
                window: Window::minutes(10),
                severity: Severity::High,
            },
            password_spray: WindowRule {
                enabled: true,
                threshold: 4,
                window: Window::minutes(24 * 60),
                severity: Severity::Medium,
            },
            success_after_failures: SuccessAfterFailures::default(),
            access_denied_burst: WindowRule {
                enabled: true,
                threshold: 10,
                window: Window::minutes(10),
                severity: Severity::Medium,
            },
            unknown_users: vec![crate::parse::UNKNOWN_USER.to_string()],
        }
    }
}

/// Rule names, in the order they are listed.
pub const RULE_NAMES: [&str; 5] = [
    "unknown_user_burst",
    "brute_force",
    "password_spray",
    "success_after_failures",
    "access_denied_burst",
];

/// A rules file that could not be used.
#[derive(Debug, thiserror::Error)]
pub enum RulesError {
    #[error("{path}: {message}")]
    Invalid { path: String, message: String },
    #[error("unknown rule {0:?} (rules: {names})", names = RULE_NAMES.join(", "))]
    UnknownRule(String),
}

impl RuleSet {
    /// Reads a `--rules` TOML file; every key it does not set keeps its default.
    pub fn from_toml(path: &str, text: &str) -> Result<RuleSet, RulesError> {
        let file: RulesFile = toml::from_str(text).map_err(|e| RulesError::Invalid {
            path: path.to_string(),
            message: e.to_string().trim_end().to_string(),
        })?;
        let mut rules = RuleSet::default();
        file.apply(&mut rules);
        rules.check().map_err(|message| RulesError::Invalid {
            path: path.to_string(),
            message,
        })?;
        Ok(rules)
    }

    /// Thresholds of zero would make every event an incident of nothing.
    pub fn check(&self) -> Result<(), String> {
        let thresholds = [
            (
                "unknown_user_burst.threshold",
                self.unknown_user_burst.threshold,
            ),
            (
                "unknown_user_burst.critical_threshold",
                self.unknown_user_burst.critical_threshold,
            ),
            ("brute_force.threshold", self.brute_force.threshold),
            ("password_spray.threshold", self.password_spray.threshold),
            (
                "success_after_failures.threshold",
                self.success_after_failures.threshold,
            ),
            (
                "success_after_failures.unknown_threshold",
                self.success_after_failures.unknown_threshold,
            ),
            (
                "access_denied_burst.threshold",
                self.access_denied_burst.threshold,
            ),
        ];
        match thresholds.iter().find(|(_, v)| *v == 0) {
            Some((key, _)) => Err(format!("{key} must be at least 1")),
            None => Ok(()),
        }
    }

    /// Turns one rule off by name.
    pub fn disable(&mut self, name: &str) -> Result<(), RulesError> {
        match name {
            "unknown_user_burst" => self.unknown_user_burst.enabled = false,
            "brute_force" => self.brute_force.enabled = false,
            "password_spray" => self.password_spray.enabled = false,
            "success_after_failures" => self.success_after_failures.enabled = false,
            "access_denied_burst" => self.access_denied_burst.enabled = false,
            other => return Err(RulesError::UnknownRule(other.to_string())),
        }
        Ok(())
    }

    /// One line per rule for `audit-analyze rules`.
    pub fn describe(&self) -> Vec<RuleDescription> {
        let u = &self.unknown_user_burst;
        let s = &self.success_after_failures;
        let plain = |name: &'static str, r: &WindowRule, what: String, source: &'static str| {
            RuleDescription {
                name,
                enabled: r.enabled,
                severity: r.severity,
                settings: format!("threshold {}, window {}", r.threshold, r.window),
                description: what,
                source,
            }
        };
        vec![
            RuleDescription {
                name: "unknown_user_burst",
                enabled: u.enabled,
                severity: u.severity,
                settings: format!(
                    "threshold {}, window {}; critical at {} within {}",
                    u.threshold, u.window, u.critical_threshold, u.critical_window
                ),
                description: format!(
                    "At least {} failures of unauthenticated callers ({}) from one ip within {}: forged, expired or stolen tokens.",
                    u.threshold,
                    self.unknown_users.join(", "),
                    u.window
                ),
                source: "the core rule; critical tier from Wazuh's sshd brute-force rule (8 in 120 s)",
            },
            plain(
                "brute_force",
                &self.brute_force,
                format!(
                    "At least {} authentication failures for one known user within {}, from any ips: someone guessing a real account's credentials.",
                    self.brute_force.threshold, self.brute_force.window
                ),
                "Sigma correlation rule example (10 failed logons in 10 minutes)",
            ),
            plain(
                "password_spray",
                &self.password_spray,
                format!(
                    "Authentication failures for at least {} distinct known users from one ip within {}: one password tried on many accounts.",
                    self.password_spray.threshold, self.password_spray.window
                ),
                "Sigma: more than 3 users failing from a single source",
            ),
            RuleDescription {
                name: "success_after_failures",
                enabled: s.enabled,
                severity: s.severity,
                settings: format!(
                    "threshold {}, window {}, within {}; unknown_threshold {}, unknown_window {}",
                    s.threshold, s.window, s.within, s.unknown_threshold, s.unknown_window
                ),
                description: format!(
                    "A success of a known user within {} after {} of their authentication failures within {}, or from an ip with {} unknown-user failures in the {} before it: possibly a compromised account.",
                    s.within, s.threshold, s.window, s.unknown_threshold, s.unknown_window
                ),
                source: "Sigma temporal_ordered correlation example",
            },
            plain(
                "access_denied_burst",
                &self.access_denied_burst,
                format!(
                    "At least {} authorization failures (403, denied) for one known user within {}: an authenticated user probing for privileges.",
                    self.access_denied_burst.threshold, self.access_denied_burst.window
                ),
                "same shape and numbers as brute_force, for authorization",
            ),
        ]
    }
}

/// The `--rules` file: per rule, the settings it changes.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RulesFile {
    unknown_user_burst: Option<UnknownUserBurstPatch>,
    brute_force: Option<WindowRulePatch>,
    password_spray: Option<WindowRulePatch>,
    success_after_failures: Option<SuccessAfterFailuresPatch>,
    access_denied_burst: Option<WindowRulePatch>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct WindowRulePatch {
    enabled: Option<bool>,
    threshold: Option<u64>,
    window: Option<Window>,
    severity: Option<Severity>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct UnknownUserBurstPatch {
    enabled: Option<bool>,
    threshold: Option<u64>,
    window: Option<Window>,
    severity: Option<Severity>,
    critical_threshold: Option<u64>,
    critical_window: Option<Window>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SuccessAfterFailuresPatch {
    enabled: Option<bool>,
    threshold: Option<u64>,
    window: Option<Window>,
    within: Option<Window>,
    unknown_threshold: Option<u64>,
    unknown_window: Option<Window>,
    severity: Option<Severity>,
}

/// Overwrites `target` with `value` when the file set it.
fn set<T>(target: &mut T, value: Option<T>) {
    if let Some(v) = value {
        *target = v;
    }
}

impl WindowRulePatch {
    fn apply(self, r: &mut WindowRule) {
        set(&mut r.enabled, self.enabled);
        set(&mut r.threshold, self.threshold);
        set(&mut r.window, self.window);
        set(&mut r.severity, self.severity);
    }
}

impl RulesFile {
    fn apply(self, rules: &mut RuleSet) {
        if let Some(p) = self.unknown_user_burst {
            let r = &mut rules.unknown_user_burst;
            set(&mut r.enabled, p.enabled);
            set(&mut r.threshold, p.threshold);
            set(&mut r.window, p.window);
            set(&mut r.severity, p.severity);
            set(&mut r.critical_threshold, p.critical_threshold);
            set(&mut r.critical_window, p.critical_window);
        }
        if let Some(p) = self.success_after_failures {
            let r = &mut rules.success_after_failures;
            set(&mut r.enabled, p.enabled);
            set(&mut r.threshold, p.threshold);
            set(&mut r.window, p.window);
            set(&mut r.within, p.within);
            set(&mut r.unknown_threshold, p.unknown_threshold);
            set(&mut r.unknown_window, p.unknown_window);
            set(&mut r.severity, p.severity);
        }
        for (patch, rule) in [
            (self.brute_force, &mut rules.brute_force),
            (self.password_spray, &mut rules.password_spray),
            (self.access_denied_burst, &mut rules.access_denied_burst),
        ] {
            if let Some(p) = patch {
                p.apply(rule);
            }
        }
    }
}

/// What `audit-analyze rules` prints about one rule.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct RuleDescription {
    pub name: &'static str,
    pub enabled: bool,
    pub severity: Severity,
    pub settings: String,
    pub description: String,
    /// Where the default numbers come from.
    pub source: &'static str,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_empty_file_keeps_the_defaults() {
        assert_eq!(
            RuleSet::from_toml("r.toml", "").unwrap(),
            RuleSet::default()
        );
    }

    #[test]
    fn a_file_overrides_only_what_it_sets() {
        let r = RuleSet::from_toml(
            "r.toml",
            "[brute_force]\nthreshold = 20\nwindow = \"15m\"\nseverity = \"critical\"\n[password_spray]\nenabled = false\n",
        )
        .unwrap();
        assert_eq!(r.brute_force.threshold, 20);
        assert_eq!(r.brute_force.window, Window::minutes(15));
        assert_eq!(r.brute_force.severity, Severity::Critical);
        assert!(!r.password_spray.enabled);
        assert_eq!(r.unknown_user_burst, UnknownUserBurst::default());
    }

    #[test]
    fn unknown_keys_and_rules_are_errors_naming_the_key_and_line() {
        let e = RuleSet::from_toml("r.toml", "[brute_force]\nthreshold = 20\ntreshold = 3\n")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("r.toml") && e.contains("line 3") && e.contains("treshold"),
            "{e}"
        );
        let e = RuleSet::from_toml("r.toml", "\n[brute_farce]\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("line 2") && e.contains("brute_farce"), "{e}");
        let e = RuleSet::from_toml("r.toml", "[unknown_user_burst]\nwindow = \"soon\"\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("line 2") && e.contains("soon"), "{e}");
        let e = RuleSet::from_toml("r.toml", "[brute_force]\ncritical_window = \"1m\"\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("line 2") && e.contains("critical_window"), "{e}");
        let e = RuleSet::from_toml("r.toml", "[unknown_user_burst]\nthreshold = 0\n")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("unknown_user_burst.threshold must be at least 1"),
            "{e}"
        );
    }

    #[test]
    fn disable_by_name() {
        let mut r = RuleSet::default();
        r.disable("brute_force").unwrap();
        assert!(!r.brute_force.enabled);
        assert!(r.disable("nope").is_err());
    }

    #[test]
    fn windows_print_as_they_are_written() {
        assert_eq!(Window::minutes(90).to_string(), "1h 30m");
        assert_eq!(Window::minutes(24 * 60).to_string(), "1day");
    }
}
