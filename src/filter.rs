//! Which records the analysis keeps: `--since`/`--until`, `--user`,
//! `--event`, `--ip` and `--failed`. Detection runs on what is kept.

use std::net::IpAddr;
use std::time::Duration;

use regex::Regex;

use crate::parse::Record;
use crate::report::TimeRange;
use crate::timestamp::Timestamp;

const DAY_NANOS: i128 = 86_400_000_000_000;

/// A `--since` / `--until` value before the newest record is known.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TimeSpec {
    /// An RFC 3339 time or a date (midnight UTC).
    At(Timestamp),
    /// This long before the newest record in the input.
    Ago(Duration),
    /// Midnight UTC of the newest record's day.
    Today,
    /// Midnight UTC of the day before the newest record's day.
    Yesterday,
}

impl TimeSpec {
    /// Reads `2023-09-22T10:00:00Z`, `2023-09-22`, `24h`, `7d`, `today`, `yesterday`.
    pub fn parse(text: &str) -> Result<TimeSpec, String> {
        match text {
            "today" => return Ok(TimeSpec::Today),
            "yesterday" => return Ok(TimeSpec::Yesterday),
            _ => {}
        }
        if let Some(t) = Timestamp::parse_str(text).filter(|_| text.contains('-')) {
            return Ok(TimeSpec::At(t));
        }
        let date = (text.len() == 10).then(|| Timestamp::parse_str(&format!("{text}T00:00:00Z")));
        if let Some(Some(t)) = date {
            return Ok(TimeSpec::At(t));
        }
        humantime::parse_duration(text).map(TimeSpec::Ago).map_err(|_| {
            format!("{text:?} is not a time (2023-09-22T10:00:00Z, 2023-09-22, 24h, 7d, today, yesterday)")
        })
    }

    /// Whether the newest record must be known to resolve this.
    pub fn is_relative(&self) -> bool {
        !matches!(self, TimeSpec::At(_))
    }

    /// The instant this names, given the newest record (if any).
    pub fn resolve(&self, newest: Option<Timestamp>) -> Option<Timestamp> {
        let midnight = |t: Timestamp| t.nanos().div_euclid(DAY_NANOS) * DAY_NANOS;
        match self {
            TimeSpec::At(t) => Some(*t),
            TimeSpec::Ago(d) => {
                newest.map(|n| Timestamp::saturating_from_nanos(n.nanos() - d.as_nanos() as i128))
            }
            TimeSpec::Today => newest.map(|n| Timestamp::saturating_from_nanos(midnight(n))),
            TimeSpec::Yesterday => {
                newest.map(|n| Timestamp::saturating_from_nanos(midnight(n) - DAY_NANOS))
            }
        }
    }
}

/// `--ip`: one address, or a CIDR block.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum IpPattern {
    Exact(String),
    Cidr(IpAddr, u8),
}

impl IpPattern {
    /// Reads `10.0.0.1`, `10.0.0.0/8`, `2001:db8::/32`, or any other exact value.
    pub fn parse(text: &str) -> Result<IpPattern, String> {
        let Some((addr, bits)) = text.split_once('/') else {
            return Ok(IpPattern::Exact(text.to_string()));
        };
        let addr: IpAddr = addr
            .parse()
            .map_err(|_| format!("{text:?}: {addr:?} is not an ip address"))?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        match bits.parse::<u8>() {
            Ok(b) if b <= max => Ok(IpPattern::Cidr(addr, b)),
            _ => Err(format!("{text:?}: the prefix length must be 0 to {max}")),
        }
    }

    /// Whether the record's ip matches.
    pub fn matches(&self, ip: &str) -> bool {
        match self {
            IpPattern::Exact(want) => want == ip,
            IpPattern::Cidr(net, bits) => match (ip.parse::<IpAddr>(), net) {
                (Ok(IpAddr::V4(a)), IpAddr::V4(n)) => prefix_eq(&a.octets(), &n.octets(), *bits),
                (Ok(IpAddr::V6(a)), IpAddr::V6(n)) => prefix_eq(&a.octets(), &n.octets(), *bits),
                _ => false,
            },
        }
    }
}

impl std::fmt::Display for IpPattern {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            IpPattern::Exact(ip) => f.write_str(ip),
            IpPattern::Cidr(net, bits) => write!(f, "{net}/{bits}"),
        }
    }
}

fn prefix_eq(a: &[u8], b: &[u8], bits: u8) -> bool {
    let full = usize::from(bits / 8);
    let rest = bits % 8;
    if a[..full] != b[..full] {
        return false;
    }
    rest == 0 || (a[full] ^ b[full]) >> (8 - rest) == 0
}

/// The filters as given, before relative times are resolved.
#[derive(Clone, Debug, Default)]
pub struct FilterSpec {
    pub since: Option<TimeSpec>,
    pub until: Option<TimeSpec>,
    pub user: Option<Regex>,
    pub event: Option<Regex>,
    pub ip: Option<IpPattern>,
    pub failed: bool,
    /// What relative times count back from instead of the newest record
    /// (`--anchor`; partial reports need one, since a shard cannot know
    /// the newest record of all shards).
    pub anchor: Option<Timestamp>,
}

impl FilterSpec {
    /// Whether resolving needs the newest record of the input.
    pub fn needs_newest(&self) -> bool {
        self.anchor.is_none() && self.has_relative_times()
    }

    /// Whether `--since` or `--until` is relative (`7d`, `today`).
    pub fn has_relative_times(&self) -> bool {
        self.since
            .iter()
            .chain(&self.until)
            .any(TimeSpec::is_relative)
    }

    /// The filter with its time range fixed.
    pub fn resolve(&self, newest: Option<Timestamp>) -> Filter {
        let newest = self.anchor.or(newest);
        Filter {
            range: TimeRange {
                since: self.since.as_ref().and_then(|s| s.resolve(newest)),
                until: self.until.as_ref().and_then(|s| s.resolve(newest)),
            },
            timed_only: self.since.is_some() || self.until.is_some(),
            spec: self.clone(),
        }
    }
}

/// The filters, ready to apply.
#[derive(Clone, Debug, Default)]
pub struct Filter {
    /// `since` is inclusive, `until` exclusive.
    pub range: TimeRange,
    timed_only: bool,
    spec: FilterSpec,
}

impl Filter {
    /// Whether the analysis keeps `record`.
    pub fn keeps(&self, record: &Record<'_>) -> bool {
        if self.timed_only {
            let Some(t) = record.time else { return false };
            if self.range.since.is_some_and(|s| t < s) || self.range.until.is_some_and(|u| t >= u) {
                return false;
            }
        }
        let s = &self.spec;
        (!s.failed || record.outcome.is_failure())
            && s.user.as_ref().is_none_or(|re| re.is_match(&record.user))
            && s.event.as_ref().is_none_or(|re| re.is_match(&record.event))
            && s.ip
                .as_ref()
                .is_none_or(|p| p.matches(record.ip.as_deref().unwrap_or("-")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ts(s: &str) -> Timestamp {
        Timestamp::parse_str(s).unwrap()
    }

    #[test]
    fn time_specs() {
        assert_eq!(
            TimeSpec::parse("2023-09-22T10:00:00Z").unwrap(),
            TimeSpec::At(ts("2023-09-22T10:00:00Z"))
        );
        assert_eq!(
            TimeSpec::parse("2023-09-22").unwrap(),
            TimeSpec::At(ts("2023-09-22T00:00:00Z"))
        );
        assert_eq!(
            TimeSpec::parse("24h").unwrap(),
            TimeSpec::Ago(Duration::from_secs(86_400))
        );
        assert_eq!(
            TimeSpec::parse("7d").unwrap(),
            TimeSpec::Ago(Duration::from_secs(7 * 86_400))
        );
        assert_eq!(TimeSpec::parse("today").unwrap(), TimeSpec::Today);
        assert!(TimeSpec::parse("2023-02-30").is_err());
        assert!(TimeSpec::parse("soon").is_err());
        assert!(TimeSpec::parse("1695377730").is_err());
    }

    #[test]
    fn relative_times_count_back_from_the_newest_record() {
        let newest = Some(ts("2023-09-22T10:15:30Z"));
        assert_eq!(
            TimeSpec::Ago(Duration::from_secs(3600)).resolve(newest),
            Some(ts("2023-09-22T09:15:30Z"))
        );
        assert_eq!(
            TimeSpec::Today.resolve(newest),
            Some(ts("2023-09-22T00:00:00Z"))
        );
        assert_eq!(
            TimeSpec::Yesterday.resolve(newest),
            Some(ts("2023-09-21T00:00:00Z"))
        );
        assert_eq!(TimeSpec::Today.resolve(None), None);
    }

    #[test]
    fn cidr_and_exact_ips() {
        let p = IpPattern::parse("10.0.0.0/8").unwrap();
        assert!(p.matches("10.200.3.4"));
        assert!(!p.matches("11.0.0.1"));
        assert!(!p.matches("-"));
        assert!(!p.matches("::1"));
        let p = IpPattern::parse("192.168.1.128/25").unwrap();
        assert!(p.matches("192.168.1.200") && !p.matches("192.168.1.127"));
        let p = IpPattern::parse("2001:db8::/32").unwrap();
        assert!(p.matches("2001:db8:ffff::1") && !p.matches("2001:db9::1"));
        assert!(IpPattern::parse("0.0.0.0/0").unwrap().matches("8.8.8.8"));
        assert!(IpPattern::parse("10.0.0.0/33").is_err());
        assert!(IpPattern::parse("ten/8").is_err());
        assert!(
            IpPattern::parse("gce-internal-ip")
                .unwrap()
                .matches("gce-internal-ip")
        );
    }
}
