//! The detection rules: which runs of timed events make an incident.
//!
//! Every windowed rule uses the same sliding window ([`incidents`], or
//! [`distinct_incidents`] when it counts distinct users); a rule is one
//! function that picks its evidence, groups it and turns each incident into
//! a [`Finding`]. [`run`] calls the enabled ones.

use std::collections::BTreeMap;
use std::ops::Range;
use std::time::Duration;

use rustc_hash::FxHashMap;
use serde::{Deserialize, Serialize};

use crate::evidence::EvidenceList;
use crate::report::{Finding, Severity, SuccessRef, Target};
use crate::rules::RuleSet;
use crate::timestamp::Timestamp;

/// Where a record stood in the input: file order, then line order. Keeps
/// ties in input order when events are sorted by time.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Position {
    pub file: u32,
    pub line: u64,
}

/// A timed record kept for the rules, with interned user, ip and event.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Evidence {
    pub time: Timestamp,
    pub position: Position,
    pub user: u32,
    pub ip: u32,
    pub event: u32,
}

impl Evidence {
    fn order(&self) -> (Timestamp, Position) {
        (self.time, self.position)
    }
}

/// The timed records the rules look at, in input order (any order works:
/// the rules sort them). The failures, which grow with the input, are kept
/// delta-encoded ([`EvidenceList`]); the successes are only those inside a
/// window the failures make possible (see [`SuccessWindows`]).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct EvidenceSet {
    /// Failures of unknown (unauthenticated) users.
    pub unknown_failures: EvidenceList,
    /// Authentication failures of known users.
    pub authn_failures: EvidenceList,
    /// Authorization failures of known users.
    pub authz_failures: EvidenceList,
    /// Successes of known users.
    pub successes: Vec<Evidence>,
}

impl EvidenceSet {
    /// Appends `other`'s records, each passed through `map` (which maps
    /// `other`'s ids onto this set's).
    pub fn append_mapped(&mut self, other: EvidenceSet, map: impl Fn(Evidence) -> Evidence) {
        self.unknown_failures
            .append_mapped(other.unknown_failures, &map);
        self.authn_failures
            .append_mapped(other.authn_failures, &map);
        self.authz_failures
            .append_mapped(other.authz_failures, &map);
        self.successes.extend(other.successes.into_iter().map(&map));
    }
}

/// Names of the interned ids.
pub struct Names<'a> {
    pub users: Vec<&'a str>,
    pub ips: Vec<&'a str>,
    pub events: Vec<&'a str>,
}

/// Runs every enabled rule; findings sorted by first time, then ip, then
/// user, then rule.
pub fn run(rules: &RuleSet, mut evidence: EvidenceSet, names: &Names) -> Vec<Finding> {
    evidence.successes.sort_by_key(Evidence::order);
    let by = |key: fn(&Evidence) -> u32| {
        let mut groups: FxHashMap<u32, Vec<Evidence>> = FxHashMap::default();
        for e in &evidence.successes {
            groups.entry(key(e)).or_default().push(*e);
        }
        groups
    };
    let successes_by_user = by(|e| e.user);
    let successes_by_ip = by(|e| e.ip);
    let saf = &rules.success_after_failures;
    let mut findings = Vec::new();
    if rules.unknown_user_burst.enabled || saf.enabled {
        evidence.unknown_failures.groups(
            |e| e.ip,
            |ip, group| {
                if rules.unknown_user_burst.enabled {
                    findings.extend(unknown_user_burst(rules, ip, group, names));
                }
                if saf.enabled
                    && let Some(successes) = successes_by_ip.get(&ip)
                {
                    findings.extend(success_after_unknown_failures(
                        rules, ip, group, successes, names,
                    ));
                }
            },
        );
    }
    let bf = &rules.brute_force;
    if bf.enabled || saf.enabled {
        evidence.authn_failures.groups(
            |e| e.user,
            |user, group| {
                if bf.enabled {
                    findings.extend(user_bursts(
                        "brute_force",
                        bf.severity,
                        bf.threshold,
                        bf.window.0,
                        user,
                        group,
                        names,
                    ));
                }
                if saf.enabled
                    && let Some(successes) = successes_by_user.get(&user)
                {
                    findings.extend(success_after_user_failures(rules, group, successes, names));
                }
            },
        );
    }
    if rules.password_spray.enabled {
        evidence.authn_failures.groups(
            |e| e.ip,
            |ip, group| findings.extend(password_spray(rules, ip, group, names)),
        );
    }
    let adb = &rules.access_denied_burst;
    if adb.enabled {
        evidence.authz_failures.groups(
            |e| e.user,
            |user, group| {
                findings.extend(user_bursts(
                    "access_denied_burst",
                    adb.severity,
                    adb.threshold,
                    adb.window.0,
                    user,
                    group,
                    names,
                ))
            },
        );
    }
    findings
        .sort_by(|a, b| (a.first, &a.ip, &a.user, a.rule).cmp(&(b.first, &b.ip, &b.user, b.rule)));
    findings
}

/// Where a success of a known user could matter to `success_after_failures`,
/// worked out from the failures alone: for each user, the stretches of up to
/// `within` after the end of a qualifying run of their failures; for each ip,
/// the times with `unknown_threshold` of its unknown-user failures in the
/// `unknown_window` before. A superset: the rule itself decides exactly.
#[derive(Debug, Default)]
pub struct SuccessWindows {
    users: FxHashMap<u32, Vec<(Timestamp, Timestamp)>>,
    ips: FxHashMap<u32, Vec<(Timestamp, Timestamp)>>,
}

impl SuccessWindows {
    /// The windows for `evidence`'s failures under `rules`.
    pub fn new(rules: &RuleSet, evidence: &EvidenceSet) -> SuccessWindows {
        let r = &rules.success_after_failures;
        let mut windows = SuccessWindows::default();
        if !r.enabled {
            return windows;
        }
        let after = |t: Timestamp, d: Duration| {
            Timestamp::saturating_from_nanos(t.nanos() + d.as_nanos() as i128)
        };
        let k = usize::try_from(r.threshold).unwrap_or(usize::MAX);
        evidence.authn_failures.groups(
            |e| e.user,
            |user, group| {
                let t = times(group);
                let spans: Vec<_> = incidents(&t, r.threshold, r.window.0)
                    .into_iter()
                    .flat_map(|i| {
                        (i.start + k - 1..i.end)
                            .map(|end| (t[end], after(t[end], r.within.0)))
                            .collect::<Vec<_>>()
                    })
                    .collect();
                if !spans.is_empty() {
                    windows.users.insert(user, union(spans));
                }
            },
        );
        evidence.unknown_failures.groups(
            |e| e.ip,
            |ip, group| {
                let k = usize::try_from(r.unknown_threshold).unwrap_or(usize::MAX);
                let window = r.unknown_window.0.as_nanos() as i128;
                let spans: Vec<_> = group
                    .windows(k)
                    .filter(|run| run[k - 1].time.nanos() - run[0].time.nanos() <= window)
                    .map(|run| (run[k - 1].time, after(run[0].time, r.unknown_window.0)))
                    .collect();
                if !spans.is_empty() {
                    windows.ips.insert(ip, union(spans));
                }
            },
        );
        windows
    }

    /// Whether the success `e` falls in a window of its user or its ip.
    pub fn contains(&self, e: &Evidence) -> bool {
        let inside = |spans: Option<&Vec<(Timestamp, Timestamp)>>| {
            spans.is_some_and(|s| {
                let i = s.partition_point(|&(_, hi)| hi < e.time);
                s.get(i).is_some_and(|&(lo, _)| lo <= e.time)
            })
        };
        inside(self.users.get(&e.user)) || inside(self.ips.get(&e.ip))
    }

    /// [`SuccessWindows::contains`], answering first from a bit per user and
    /// ip id (set: the id has windows), so the many successes of users and
    /// ips without any cost no hash lookup.
    pub fn contains_fn(&self) -> impl Fn(&Evidence) -> bool + '_ {
        let bits = |ids: &FxHashMap<u32, Vec<(Timestamp, Timestamp)>>| {
            let mut bits = vec![0u64; ids.keys().max().map_or(0, |&m| m as usize / 64 + 1)];
            for &id in ids.keys() {
                bits[id as usize / 64] |= 1 << (id % 64);
            }
            bits
        };
        let has = |bits: &[u64], id: u32| {
            bits.get(id as usize / 64)
                .is_some_and(|b| b & (1 << (id % 64)) != 0)
        };
        let (users, ips) = (bits(&self.users), bits(&self.ips));
        move |e| (has(&users, e.user) || has(&ips, e.ip)) && self.contains(e)
    }

    /// Whether no success can matter (then none needs to be read back).
    pub fn is_empty(&self) -> bool {
        self.users.is_empty() && self.ips.is_empty()
    }
}

/// [`SuccessWindows`] by user and ip name, in nanoseconds: what a probe
/// plan carries from `merge --plan` to the shards (whose ids differ).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct NamedWindows {
    pub users: BTreeMap<String, Vec<(i128, i128)>>,
    pub ips: BTreeMap<String, Vec<(i128, i128)>>,
}

impl NamedWindows {
    /// Whether no success can matter.
    pub fn is_empty(&self) -> bool {
        self.users.is_empty() && self.ips.is_empty()
    }

    /// Whether some window overlaps `[lo, hi]`.
    pub fn overlaps(&self, lo: Timestamp, hi: Timestamp) -> bool {
        let (lo, hi) = (lo.nanos(), hi.nanos());
        self.users
            .values()
            .chain(self.ips.values())
            .flatten()
            .any(|&(a, b)| a <= hi && lo <= b)
    }
}

impl SuccessWindows {
    /// These windows with names instead of ids.
    pub fn named(&self, names: &Names) -> NamedWindows {
        let spans = |s: &Vec<(Timestamp, Timestamp)>| {
            s.iter()
                .map(|(lo, hi)| (lo.nanos(), hi.nanos()))
                .collect::<Vec<_>>()
        };
        NamedWindows {
            users: self
                .users
                .iter()
                .map(|(&u, s)| (names.users[u as usize].to_string(), spans(s)))
                .collect(),
            ips: self
                .ips
                .iter()
                .map(|(&i, s)| (names.ips[i as usize].to_string(), spans(s)))
                .collect(),
        }
    }

    /// `named` with this analysis' ids (names it has never seen are left
    /// out: none of its successes can be theirs).
    pub fn from_named(
        named: &NamedWindows,
        user_id: impl Fn(&str) -> Option<u32>,
        ip_id: impl Fn(&str) -> Option<u32>,
    ) -> SuccessWindows {
        let spans = |s: &Vec<(i128, i128)>| {
            let t = Timestamp::saturating_from_nanos;
            union(s.iter().map(|&(lo, hi)| (t(lo), t(hi))).collect())
        };
        SuccessWindows {
            users: named
                .users
                .iter()
                .filter_map(|(name, s)| Some((user_id(name)?, spans(s))))
                .collect(),
            ips: named
                .ips
                .iter()
                .filter_map(|(name, s)| Some((ip_id(name)?, spans(s))))
                .collect(),
        }
    }
}

/// Sorted, non-overlapping spans covering the same instants as `spans`.
fn union(mut spans: Vec<(Timestamp, Timestamp)>) -> Vec<(Timestamp, Timestamp)> {
    spans.sort();
    let mut out: Vec<(Timestamp, Timestamp)> = Vec::with_capacity(spans.len());
    for (lo, hi) in spans {
        match out.last_mut() {
            Some(last) if lo <= last.1 => last.1 = last.1.max(hi),
            _ => out.push((lo, hi)),
        }
    }
    out
}

/// The incidents in `times` (sorted ascending): index j qualifies when
/// `times[j + k - 1] - times[j] <= window`; its run is `j..j + k`; runs that
/// share an element join into one incident.
pub fn incidents(times: &[Timestamp], k: u64, window: Duration) -> Vec<Range<usize>> {
    let mut out: Vec<Range<usize>> = Vec::new();
    let k = usize::try_from(k).unwrap_or(usize::MAX);
    if k == 0 || times.len() < k {
        return out;
    }
    let window = window.as_nanos() as i128;
    for j in 0..=times.len() - k {
        if times[j + k - 1].nanos() - times[j].nanos() <= window {
            match out.last_mut() {
                Some(last) if j < last.end => last.end = j + k,
                _ => out.push(j..j + k),
            }
        }
    }
    out
}

/// Like [`incidents`], counting distinct keys: index j qualifies when the
/// shortest run from j holding `k` distinct keys spans at most `window`.
pub fn distinct_incidents(
    items: &[(Timestamp, u32)],
    k: u64,
    window: Duration,
) -> Vec<Range<usize>> {
    let mut out: Vec<Range<usize>> = Vec::new();
    if k == 0 {
        return out;
    }
    let window = window.as_nanos() as i128;
    let mut counts: FxHashMap<u32, u32> = FxHashMap::default();
    let mut end = 0; // items[j..end] is the shortest run from j with k distinct keys
    for j in 0..items.len() {
        while (counts.len() as u64) < k && end < items.len() {
            *counts.entry(items[end].1).or_default() += 1;
            end += 1;
        }
        if (counts.len() as u64) < k {
            break;
        }
        if items[end - 1].0.nanos() - items[j].0.nanos() <= window {
            match out.last_mut() {
                Some(last) if j < last.end => last.end = end,
                _ => out.push(j..end),
            }
        }
        let key = items[j].1;
        if let Some(c) = counts.get_mut(&key) {
            *c -= 1;
            if *c == 0 {
                counts.remove(&key);
            }
        }
    }
    out
}

fn times(run: &[Evidence]) -> Vec<Timestamp> {
    run.iter().map(|e| e.time).collect()
}

/// A finding with the fields every rule fills; rule-specific ones empty.
fn base(rule: &'static str, severity: Severity, run: &[Evidence], names: &Names) -> Finding {
    Finding {
        rule,
        severity,
        ip: None,
        user: None,
        ips: None,
        count: run.len() as u64,
        first: run[0].time,
        last: run[run.len() - 1].time,
        targets: targets(run, names),
        failures: None,
        users: None,
        success: None,
    }
}

/// `unknown_user_burst`: an ip sending repeated failures without a valid
/// identity (forged, expired or revoked tokens). `group`: the ip's unknown
/// user failures, in time order.
fn unknown_user_burst(rules: &RuleSet, ip: u32, group: &[Evidence], names: &Names) -> Vec<Finding> {
    let r = &rules.unknown_user_burst;
    let mut findings = Vec::new();
    let t = times(group);
    for run in incidents(&t, r.threshold, r.window.0) {
        let critical =
            !incidents(&t[run.clone()], r.critical_threshold, r.critical_window.0).is_empty();
        let severity = if critical {
            Severity::Critical
        } else {
            r.severity
        };
        let mut f = base("unknown_user_burst", severity, &group[run], names);
        f.ip = Some(names.ips[ip as usize].to_string());
        findings.push(f);
    }
    findings
}

/// `brute_force` and `access_denied_burst`: many failures of one known user
/// within a window, from any ips. `group`: the user's failures, in time
/// order.
fn user_bursts(
    rule: &'static str,
    severity: Severity,
    threshold: u64,
    window: Duration,
    user: u32,
    group: &[Evidence],
    names: &Names,
) -> Vec<Finding> {
    let mut findings = Vec::new();
    for run in incidents(&times(group), threshold, window) {
        let run = &group[run];
        let mut f = base(rule, severity, run, names);
        f.user = Some(names.users[user as usize].to_string());
        f.ips = Some(ips_of(run, names));
        findings.push(f);
    }
    findings
}

/// `password_spray`: one ip failing to log in as many distinct known users.
/// `group`: the ip's authentication failures, in time order.
fn password_spray(rules: &RuleSet, ip: u32, group: &[Evidence], names: &Names) -> Vec<Finding> {
    /// The most user names a finding lists.
    const USERS_LISTED: usize = 20;
    let r = &rules.password_spray;
    let mut findings = Vec::new();
    let items: Vec<(Timestamp, u32)> = group.iter().map(|e| (e.time, e.user)).collect();
    for run in distinct_incidents(&items, r.threshold, r.window.0) {
        let run = &group[run];
        let mut users: Vec<&str> = run.iter().map(|e| names.users[e.user as usize]).collect();
        users.sort_unstable();
        users.dedup();
        let mut f = base("password_spray", r.severity, run, names);
        f.ip = Some(names.ips[ip as usize].to_string());
        f.count = users.len() as u64;
        f.failures = Some(run.len() as u64);
        f.users = Some(
            users
                .iter()
                .take(USERS_LISTED)
                .map(|u| u.to_string())
                .collect(),
        );
        findings.push(f);
    }
    findings
}

/// `success_after_failures` (a): a known user's success right after a run
/// of their authentication failures. `group`: the user's failures and
/// `successes` the user's successes, both in time order. One finding per
/// failure run: its first success.
fn success_after_user_failures(
    rules: &RuleSet,
    group: &[Evidence],
    successes: &[Evidence],
    names: &Names,
) -> Vec<Finding> {
    let r = &rules.success_after_failures;
    let within = r.within.0.as_nanos() as i128;
    let k = usize::try_from(r.threshold).unwrap_or(usize::MAX);
    let mut findings = Vec::new();
    for incident in incidents(&times(group), r.threshold, r.window.0) {
        // Each qualifying run inside the incident ends at one failure; the
        // first success after the earliest such end, within `within`, wins.
        let found = (incident.start + k - 1..incident.end).find_map(|end| {
            let after = group[end].order();
            let next = successes.partition_point(|s| s.order() <= after);
            successes
                .get(next)
                .filter(|s| s.time.nanos() - group[end].time.nanos() <= within)
        });
        let Some(success) = found else { continue };
        let before: Vec<Evidence> = group[incident]
            .iter()
            .filter(|f| f.order() < success.order())
            .copied()
            .collect();
        findings.push(success_finding(r.severity, &before, success, names, true));
    }
    findings
}

/// `success_after_failures` (b): a known user's success from an ip that was
/// just bursting unknown-user failures. `failures`: the ip's unknown-user
/// failures and `successes` the successes from it, both in time order.
fn success_after_unknown_failures(
    rules: &RuleSet,
    ip: u32,
    failures: &[Evidence],
    successes: &[Evidence],
    names: &Names,
) -> Vec<Finding> {
    let r = &rules.success_after_failures;
    let unknown_window = r.unknown_window.0.as_nanos() as i128;
    let k = usize::try_from(r.unknown_threshold).unwrap_or(usize::MAX);
    let mut findings = Vec::new();
    let mut used = 0; // failures before this index belong to an earlier finding
    for success in successes {
        debug_assert_eq!(success.ip, ip);
        let end = failures.partition_point(|f| f.order() < success.order());
        let start = failures[used..end]
            .partition_point(|f| success.time.nanos() - f.time.nanos() > unknown_window)
            + used;
        if end - start >= k {
            findings.push(success_finding(
                r.severity,
                &failures[start..end],
                success,
                names,
                false,
            ));
            used = end;
        }
    }
    findings
}

fn success_finding(
    severity: Severity,
    failures: &[Evidence],
    success: &Evidence,
    names: &Names,
    by_user: bool,
) -> Finding {
    let mut f = base("success_after_failures", severity, failures, names);
    let user = names.users[success.user as usize].to_string();
    let ip = names.ips[success.ip as usize].to_string();
    f.last = success.time;
    if by_user {
        f.user = Some(user.clone());
        f.ips = Some(ips_of(failures, names));
    } else {
        f.ip = Some(ip.clone());
        f.user = Some(user.clone());
    }
    f.success = Some(SuccessRef {
        time: success.time,
        user,
        ip,
        event: names.events[success.event as usize].to_string(),
    });
    f
}

/// The distinct ips of a run, sorted.
fn ips_of(run: &[Evidence], names: &Names) -> Vec<String> {
    let mut ips: Vec<&str> = run.iter().map(|e| names.ips[e.ip as usize]).collect();
    ips.sort_unstable();
    ips.dedup();
    ips.into_iter().map(str::to_string).collect()
}

/// The events of an incident with their counts, most targeted first.
fn targets(run: &[Evidence], names: &Names) -> Vec<Target> {
    let mut counts: FxHashMap<u32, u64> = FxHashMap::default();
    for e in run {
        *counts.entry(e.event).or_default() += 1;
    }
    let mut targets: Vec<Target> = counts
        .into_iter()
        .map(|(event, count)| Target {
            event: names.events[event as usize].to_string(),
            count,
        })
        .collect();
    targets.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.event.cmp(&b.event)));
    targets
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: i128 = 1_000_000;
    const TEN_MIN: Duration = Duration::from_secs(600);
    const W: i128 = 600_000; // ten minutes in ms

    fn at(ms: i128) -> Timestamp {
        Timestamp::from_nanos(1_695_377_730_000 * MS + ms * MS).unwrap()
    }

    fn times_ms(ms: &[i128]) -> Vec<Timestamp> {
        ms.iter().map(|&m| at(m)).collect()
    }

    #[test]
    fn exactly_k_within_exactly_w_qualify() {
        assert_eq!(
            incidents(&times_ms(&[0, 1, 2, 3, W]), 5, TEN_MIN),
            vec![0..5]
        );
    }

    #[test]
    fn w_plus_one_millisecond_does_not() {
        assert!(incidents(&times_ms(&[0, 1, 2, 3, W + 1]), 5, TEN_MIN).is_empty());
    }

    #[test]
    fn fewer_than_k_never_qualify() {
        assert!(incidents(&times_ms(&[0, 1, 2, 3]), 5, TEN_MIN).is_empty());
        assert!(incidents(&[], 5, TEN_MIN).is_empty());
    }

    #[test]
    fn overlapping_runs_join_into_one_incident() {
        assert_eq!(
            incidents(&times_ms(&[0, 1, 2, 3, 4, 5]), 5, TEN_MIN),
            vec![0..6]
        );
    }

    #[test]
    fn a_run_that_only_touches_the_next_is_separate() {
        let t = times_ms(&[0, 10, W * 2, W * 2 + 10]);
        assert_eq!(incidents(&t, 2, Duration::from_secs(1)), vec![0..2, 2..4]);
    }

    #[test]
    fn non_qualifying_tail_is_not_included() {
        assert_eq!(
            incidents(&times_ms(&[0, 1, 2, 3, 4, W + 2]), 5, TEN_MIN),
            vec![0..5]
        );
    }

    #[test]
    fn two_separate_bursts() {
        let t = times_ms(&[
            0,
            1,
            2,
            3,
            4,
            5 * W,
            5 * W + 1,
            5 * W + 2,
            5 * W + 3,
            5 * W + 4,
        ]);
        assert_eq!(incidents(&t, 5, TEN_MIN), vec![0..5, 5..10]);
    }

    #[test]
    fn threshold_one_makes_every_event_its_own_incident() {
        assert_eq!(
            incidents(&times_ms(&[0, 0, 7]), 1, TEN_MIN),
            vec![0..1, 1..2, 2..3]
        );
    }

    #[test]
    fn distinct_runs_count_keys_not_events() {
        let items = |v: &[(i128, u32)]| v.iter().map(|&(m, k)| (at(m), k)).collect::<Vec<_>>();
        // a a b c d: the shortest run from 0 with 4 distinct keys is 0..5.
        let i = items(&[(0, 1), (1, 1), (2, 2), (3, 3), (4, 4)]);
        assert_eq!(distinct_incidents(&i, 4, TEN_MIN), vec![0..5]);
        // Only three distinct keys: nothing.
        let i = items(&[(0, 1), (1, 2), (2, 3), (3, 1)]);
        assert!(distinct_incidents(&i, 4, TEN_MIN).is_empty());
        // Window edge: exactly w qualifies, w + 1 ms does not.
        let i = items(&[(0, 1), (1, 2), (2, 3), (W, 4)]);
        assert_eq!(distinct_incidents(&i, 4, TEN_MIN), vec![0..4]);
        let i = items(&[(0, 1), (1, 2), (2, 3), (W + 1, 4)]);
        assert!(distinct_incidents(&i, 4, TEN_MIN).is_empty());
        // Runs 0..4 and 1..5 overlap: one incident.
        let i = items(&[(0, 1), (1, 2), (2, 3), (3, 4), (4, 5)]);
        assert_eq!(distinct_incidents(&i, 4, TEN_MIN), vec![0..5]);
    }

    fn names() -> Names<'static> {
        Names {
            users: vec!["alice", "bob", "carol", "dave", "erin", "unknown_user"],
            ips: vec!["10.0.0.1", "10.0.0.2", "-"],
            events: vec!["login", "GET /a", "POST /b"],
        }
    }

    fn ev(ms: i128, line: u64, user: u32, ip: u32, event: u32) -> Evidence {
        Evidence {
            time: at(ms),
            position: Position { file: 0, line },
            user,
            ip,
            event,
        }
    }

    fn only(rule: &str) -> RuleSet {
        let mut rules = RuleSet::default();
        for name in crate::rules::RULE_NAMES {
            if name != rule {
                rules.disable(name).unwrap();
            }
        }
        rules
    }

    #[test]
    fn unknown_burst_is_high_and_critical_at_8_in_120s() {
        let rules = only("unknown_user_burst");
        // 7 failures within 2 minutes: high.
        let seven: Vec<Evidence> = (0..7).map(|i| ev(i * 1000, i as u64, 5, 0, 1)).collect();
        let set = EvidenceSet {
            unknown_failures: seven.clone().into(),
            ..Default::default()
        };
        let f = run(&rules, set, &names());
        assert_eq!((f.len(), f[0].severity, f[0].count), (1, Severity::High, 7));
        assert_eq!(f[0].ip.as_deref(), Some("10.0.0.1"));
        // 8 with t[7] - t[0] = exactly 120 s: critical.
        let mut eight = seven.clone();
        eight.push(ev(120_000, 8, 5, 0, 1));
        let f = run(
            &rules,
            EvidenceSet {
                unknown_failures: eight.into(),
                ..Default::default()
            },
            &names(),
        );
        assert_eq!(f[0].severity, Severity::Critical);
        // 8 spanning 120 s + 1 ms: still high.
        let mut eight = seven;
        eight.push(ev(120_001, 8, 5, 0, 1));
        let f = run(
            &rules,
            EvidenceSet {
                unknown_failures: eight.into(),
                ..Default::default()
            },
            &names(),
        );
        assert_eq!(f[0].severity, Severity::High);
    }

    #[test]
    fn brute_force_fires_at_10_in_10m_and_lists_ips() {
        let rules = only("brute_force");
        let mut fails: Vec<Evidence> = (0..10)
            .map(|i| ev(i * 1000, i as u64, 1, (i % 2) as u32, 0))
            .collect();
        let f = run(
            &rules,
            EvidenceSet {
                authn_failures: fails.clone().into(),
                ..Default::default()
            },
            &names(),
        );
        assert_eq!(f.len(), 1);
        assert_eq!(
            (f[0].rule, f[0].severity, f[0].count),
            ("brute_force", Severity::High, 10)
        );
        assert_eq!(f[0].user.as_deref(), Some("bob"));
        assert_eq!(
            f[0].ips.as_deref(),
            Some(&["10.0.0.1".to_string(), "10.0.0.2".to_string()][..])
        );
        assert_eq!(f[0].ip, None);
        // Nine do not.
        fails.pop();
        assert!(
            run(
                &rules,
                EvidenceSet {
                    authn_failures: fails.clone().into(),
                    ..Default::default()
                },
                &names()
            )
            .is_empty()
        );
        // Ten spread over 10 min + 1 ms do not; exactly 10 min does.
        fails.push(ev(W + 1, 10, 1, 0, 0));
        fails[0].time = at(0);
        assert!(
            run(
                &rules,
                EvidenceSet {
                    authn_failures: fails.clone().into(),
                    ..Default::default()
                },
                &names()
            )
            .is_empty()
        );
        fails[9].time = at(W);
        assert_eq!(
            run(
                &rules,
                EvidenceSet {
                    authn_failures: fails.into(),
                    ..Default::default()
                },
                &names()
            )
            .len(),
            1
        );
    }

    #[test]
    fn password_spray_counts_distinct_users_from_one_ip() {
        let rules = only("password_spray");
        let hour = 3_600_000;
        let fails = vec![
            ev(0, 1, 0, 0, 0),
            ev(hour, 2, 0, 0, 0),
            ev(2 * hour, 3, 1, 0, 0),
            ev(3 * hour, 4, 2, 0, 0),
            ev(4 * hour, 5, 3, 0, 0),
        ];
        let f = run(
            &rules,
            EvidenceSet {
                authn_failures: fails.clone().into(),
                ..Default::default()
            },
            &names(),
        );
        assert_eq!(f.len(), 1);
        assert_eq!(
            (f[0].count, f[0].failures, f[0].severity),
            (4, Some(5), Severity::Medium)
        );
        assert_eq!(
            f[0].users.as_ref().unwrap(),
            &["alice", "bob", "carol", "dave"]
        );
        assert_eq!(f[0].ip.as_deref(), Some("10.0.0.1"));
        // Three distinct users: nothing.
        assert!(
            run(
                &rules,
                EvidenceSet {
                    authn_failures: fails[..4].to_vec().into(),
                    ..Default::default()
                },
                &names()
            )
            .is_empty()
        );
        // The same four users from two ips: nothing.
        let split: Vec<Evidence> = fails
            .iter()
            .enumerate()
            .map(|(i, e)| Evidence {
                ip: (i % 2) as u32,
                ..*e
            })
            .collect();
        assert!(
            run(
                &rules,
                EvidenceSet {
                    authn_failures: split.into(),
                    ..Default::default()
                },
                &names()
            )
            .is_empty()
        );
    }

    #[test]
    fn success_after_a_user_run_reports_its_first_success() {
        let rules = only("success_after_failures");
        let mut set = EvidenceSet {
            authn_failures: (0..10)
                .map(|i| ev(i * 1000, i as u64 + 1, 0, 1, 0))
                .collect(),
            ..Default::default()
        };
        set.successes = vec![
            ev(5_000, 100, 0, 1, 0),     // in the middle of the run: too early
            ev(W + 9_000, 101, 0, 0, 1), // exactly 10 min after the 10th failure
            ev(W + 9_500, 102, 0, 0, 1), // later success: not a second finding
            ev(20_000, 103, 1, 0, 0),    // another user
        ];
        let f = run(&rules, set.clone(), &names());
        assert_eq!(f.len(), 1, "{f:?}");
        let s = f[0].success.as_ref().unwrap();
        assert_eq!(
            (s.time, s.user.as_str(), s.ip.as_str(), s.event.as_str()),
            (at(W + 9_000), "alice", "10.0.0.1", "GET /a")
        );
        assert_eq!(
            (f[0].count, f[0].first, f[0].last),
            (10, at(0), at(W + 9_000))
        );
        assert_eq!(f[0].user.as_deref(), Some("alice"));
        // 10 min + 1 ms after the run: no finding.
        set.successes
            .retain(|s| s.position.line != 101 && s.position.line != 102);
        set.successes.push(ev(W + 9_001, 101, 0, 0, 1));
        assert!(run(&rules, set, &names()).is_empty());
    }

    #[test]
    fn success_after_unknown_failures_from_the_same_ip() {
        let rules = only("success_after_failures");
        let mut set = EvidenceSet {
            unknown_failures: (0..5)
                .map(|i| ev(i * 1000, i as u64 + 1, 5, 0, 1))
                .collect(),
            ..Default::default()
        };
        set.successes = vec![
            ev(60_000, 10, 2, 0, 0), // carol from the same ip: finding
            ev(61_000, 11, 3, 0, 0), // dave right after: same failures, no second finding
            ev(60_000, 12, 4, 1, 0), // erin from another ip: nothing
        ];
        let f = run(&rules, set.clone(), &names());
        assert_eq!(f.len(), 1, "{f:?}");
        assert_eq!(
            (f[0].ip.as_deref(), f[0].user.as_deref(), f[0].count),
            (Some("10.0.0.1"), Some("carol"), 5)
        );
        // Four failures are not enough.
        set.unknown_failures = set.unknown_failures.iter().take(4).collect();
        assert!(run(&rules, set, &names()).is_empty());
    }

    /// The windows are a superset: keeping only the successes inside them
    /// changes no finding, on random mixes of failures and successes
    /// (few users and ips, times in a 40 min span, ties included).
    #[test]
    fn successes_outside_the_windows_never_change_a_finding() {
        let mut state = 7u64;
        let mut next = |n: u64| {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            (state >> 33) % n
        };
        let mut rules = only("success_after_failures");
        rules.success_after_failures.threshold = 3;
        rules.success_after_failures.unknown_threshold = 3;
        let (mut found, mut dropped) = (0, 0);
        for case in 0..300 {
            let mut set = EvidenceSet::default();
            for line in 0..60 {
                let e = ev(
                    (next(40) * 60_000 + next(3) * 500) as i128,
                    line,
                    next(5) as u32,
                    next(3) as u32,
                    next(3) as u32,
                );
                match next(4) {
                    0 => set.unknown_failures.push(Evidence { user: 5, ..e }),
                    1 => set.authn_failures.push(e),
                    _ => set.successes.push(e),
                }
            }
            let windows = SuccessWindows::new(&rules, &set);
            let mut inside = set.clone();
            inside.successes.retain(|e| windows.contains(e));
            dropped += set.successes.len() - inside.successes.len();
            let all = run(&rules, set, &names());
            found += all.len();
            assert_eq!(run(&rules, inside, &names()), all, "case {case}");
        }
        assert!(
            found > 100 && dropped > 1000,
            "{found} findings, {dropped} dropped"
        );
    }

    #[test]
    fn success_windows_cover_every_success_the_rule_can_report() {
        let rules = only("success_after_failures");
        let mut set = EvidenceSet {
            authn_failures: (0..10)
                .map(|i| ev(i * 1000, i as u64 + 1, 0, 1, 0))
                .collect(),
            unknown_failures: (0..5)
                .map(|i| ev(i * 1000, i as u64 + 20, 5, 2, 1))
                .collect(),
            ..Default::default()
        };
        let w = SuccessWindows::new(&rules, &set);
        let quick = w.contains_fn();
        let probe = |ms: i128, user: u32, ip: u32| {
            let e = ev(ms, 99, user, ip, 0);
            assert_eq!(quick(&e), w.contains(&e));
            w.contains(&e)
        };
        // alice: from the 10th failure (9 s) to 10 min after it.
        assert!(!probe(8_999, 0, 0));
        assert!(probe(9_000, 0, 0) && probe(W + 9_000, 0, 0));
        assert!(!probe(W + 9_001, 0, 0));
        // Anyone from ip 2 while its 5 unknown failures (0 to 4 s) all lie
        // in the 10 min before: from the 5th to 10 min after the 1st.
        assert!(!probe(3_999, 3, 2) && probe(4_000, 3, 2));
        assert!(probe(W, 3, 2) && !probe(W + 1, 3, 2));
        // Five failures, but never five within 10 min: no window.
        let spread = EvidenceSet {
            unknown_failures: (0..5)
                .map(|i| ev(i * (W / 2), i as u64 + 20, 5, 2, 1))
                .collect(),
            ..Default::default()
        };
        assert!(SuccessWindows::new(&rules, &spread).is_empty());
        // bob, from another ip: never.
        assert!(!probe(9_000, 1, 1));
        // Fewer unknown failures than the threshold: no ip window.
        set.unknown_failures = set.unknown_failures.iter().take(4).collect();
        assert!(!SuccessWindows::new(&rules, &set).contains(&ev(1_000, 99, 3, 2, 0)));
        assert!(SuccessWindows::new(&only("brute_force"), &set).is_empty());
    }

    #[test]
    fn findings_sort_by_first_then_ip_then_user() {
        let rules = only("unknown_user_burst");
        let mut rules = rules;
        rules.unknown_user_burst.threshold = 1;
        let set = EvidenceSet {
            unknown_failures: vec![ev(5, 1, 5, 1, 0), ev(0, 2, 5, 2, 0), ev(5, 3, 5, 0, 0)].into(),
            ..Default::default()
        };
        let order: Vec<String> = run(&rules, set, &names())
            .into_iter()
            .map(|f| f.ip.unwrap())
            .collect();
        assert_eq!(order, ["-", "10.0.0.1", "10.0.0.2"]);
    }

    #[test]
    fn ties_keep_input_order() {
        let mut rules = only("unknown_user_burst");
        rules.unknown_user_burst.window = crate::rules::Window(Duration::ZERO);
        let set = EvidenceSet {
            unknown_failures: vec![
                ev(0, 2, 5, 0, 1),
                ev(0, 1, 5, 0, 0),
                ev(0, 3, 5, 0, 0),
                ev(0, 4, 5, 0, 0),
                ev(0, 5, 5, 0, 0),
                ev(0, 6, 5, 0, 1),
            ]
            .into(),
            ..Default::default()
        };
        assert_eq!(run(&rules, set, &names())[0].count, 6);
    }
}
