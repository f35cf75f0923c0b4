//! A group's consensus: for every (kind, key), how many hosts hold each
//! value, and how many hold the key at all. It is built from profiles one
//! at a time (memory grows with the distinct values, not with the hosts),
//! then each host's profile is judged against it: a value that few of the
//! group's hosts share, where more share another, is a departure, reported
//! with the rule id `diff` gives the same change.
//!
//! Memory is bounded even when a hostile or chaotic fleet brings a new
//! value on every host: a key with more than [`MAX_VALUES`] distinct values
//! is "varied" (only its presence is compared from then on, and the group
//! summary names it), and a group stops learning new keys after
//! [`MAX_KEYS`] (it is then "saturated", and keys it never learned are not
//! judged).

use super::profile::{Kind, Profile};
use crate::findings::Finding;
use serde_json::json;
use std::collections::BTreeMap;

/// Distinct values a key may have before only its presence is compared.
pub const MAX_VALUES: usize = 64;
/// Keys a group learns at most.
pub const MAX_KEYS: usize = 1 << 16;
/// Groups smaller than this have no consensus: two hosts that disagree
/// cannot say which is the odd one.
pub const MIN_HOSTS: usize = 3;

/// What a group's hosts hold for one key.
#[derive(Clone, Debug)]
enum Tally {
    /// Value → hosts holding it.
    Values(BTreeMap<String, usize>),
    /// Too many distinct values: only how many hosts hold the key.
    Varied { present: usize },
}

impl Tally {
    fn present(&self) -> usize {
        match self {
            Tally::Values(m) => m.values().sum(),
            Tally::Varied { present } => *present,
        }
    }
}

/// The consensus of one group.
#[derive(Clone, Debug, Default)]
pub struct Consensus {
    /// Hosts counted.
    pub hosts: usize,
    values: BTreeMap<(Kind, String), Tally>,
    /// New keys were dropped after [`MAX_KEYS`].
    pub saturated: bool,
}

/// A host's value for a key as the consensus sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Seen<'a> {
    Absent,
    Value(&'a str),
    /// Present, under a varied key.
    Present,
}

impl Consensus {
    /// Counts one host.
    pub fn add(&mut self, p: &Profile) {
        self.hosts += 1;
        for (k, v) in &p.items {
            // One search for a key already counted (all but the first host
            // of a group's).
            let full = self.values.len() >= MAX_KEYS;
            let t = match self.values.get_mut(k) {
                Some(t) => t,
                None if full => {
                    self.saturated = true;
                    continue;
                }
                None => self
                    .values
                    .entry(k.clone())
                    .or_insert(Tally::Values(BTreeMap::new())),
            };
            match t {
                Tally::Values(m) => {
                    if let Some(n) = m.get_mut(v) {
                        *n += 1;
                    } else if m.len() >= MAX_VALUES {
                        let present = m.values().sum::<usize>() + 1;
                        *t = Tally::Varied { present };
                    } else {
                        m.insert(v.clone(), 1);
                    }
                }
                Tally::Varied { present } => *present += 1,
            }
        }
    }

    /// The keys with too many distinct values to have a consensus value.
    pub fn varied(&self) -> impl Iterator<Item = &str> {
        self.values.iter().filter_map(|((_, key), t)| match t {
            Tally::Varied { .. } => Some(key.as_str()),
            Tally::Values(_) => None,
        })
    }

    /// The most held value of a key and its count; absence counts as a
    /// value and wins ties (a thing most hosts lack is not expected).
    fn majority<'a>(&self, t: &'a Tally) -> (Seen<'a>, usize) {
        let absent = self.hosts.saturating_sub(t.present());
        let best = match t {
            Tally::Values(m) => m
                .iter()
                .max_by(|a, b| a.1.cmp(b.1).then(b.0.cmp(a.0)))
                .map(|(v, n)| (Seen::Value(v.as_str()), *n)),
            Tally::Varied { present } => Some((Seen::Present, *present)),
        };
        match best {
            Some((v, n)) if n > absent => (v, n),
            _ => (Seen::Absent, absent),
        }
    }

    /// How many hosts hold what this host holds.
    fn holders(&self, t: &Tally, mine: Seen<'_>) -> usize {
        match (t, mine) {
            (_, Seen::Absent) => self.hosts.saturating_sub(t.present()),
            (Tally::Values(m), Seen::Value(v)) => m.get(v).copied().unwrap_or(0),
            (_, _) => t.present(),
        }
    }

    /// The departures of one host: every key where what it holds is held
    /// by at most `max(1, share × hosts)` of the group and something else
    /// by more. Groups under [`MIN_HOSTS`] have no consensus.
    pub fn departures(&self, p: &Profile, share: f64) -> Vec<Finding> {
        let items: Vec<(Kind, &str, &str)> = p
            .items
            .iter()
            .map(|((k, key), v)| (*k, key.as_str(), v.as_str()))
            .collect();
        self.departures_of(&items, share)
    }

    /// [`Consensus::departures`] of a profile given as (kind, key, value),
    /// borrowed, sorted by (kind, key) with no key twice (as the spool
    /// holds it): one merge of the group's keys with the host's, no
    /// allocation but the findings.
    pub fn departures_of(&self, items: &[(Kind, &str, &str)], share: f64) -> Vec<Finding> {
        let mut out = Vec::new();
        if self.hosts < MIN_HOSTS {
            return out;
        }
        let limit = ((self.hosts as f64 * share).floor() as usize).max(1);
        let mut j = 0;
        // Only the keys the group learnt are judged (a saturated group's
        // unlearnt keys cannot be).
        for (k, t) in &self.values {
            while j < items.len() && (items[j].0, items[j].1) < (k.0, k.1.as_str()) {
                j += 1;
            }
            let held = items
                .get(j)
                .filter(|i| (i.0, i.1) == (k.0, k.1.as_str()))
                .map(|i| i.2);
            let mine = match (held, t) {
                (None, _) => Seen::Absent,
                (Some(_), Tally::Varied { .. }) => Seen::Present,
                (Some(v), Tally::Values(_)) => Seen::Value(v),
            };
            let n = self.holders(t, mine);
            let (major, m) = self.majority(t);
            if n > limit || m <= n || major == mine {
                continue;
            }
            out.push(finding(k, mine, major, n, m, self.hosts));
        }
        out
    }
}

/// The finding for one departure, under `diff`'s rule for the same change.
fn finding(
    k: &(Kind, String),
    mine: Seen<'_>,
    major: Seen<'_>,
    n: usize,
    m: usize,
    hosts: usize,
) -> Finding {
    let (kind, key) = k;
    let show = |s: Seen<'_>| match s {
        Seen::Absent => None,
        Seen::Value(v) => Some(v.to_string()),
        Seen::Present => Some("present".to_string()),
    };
    let peers = match major {
        Seen::Absent => format!("{n} of {hosts} hosts of this platform and firmware; {m} do not"),
        _ => format!("{n} of {hosts} hosts of this platform and firmware; {m} agree on another"),
    };
    let ev = json!({"key": key, "this_host": show(mine), "consensus": show(major),
                    "hosts_like_this": n, "hosts_with_consensus": m, "group_hosts": hosts});
    let present = mine != Seen::Absent;
    let added = present && major == Seen::Absent;
    use crate::rules as R;
    // The same rule, and the same severity, as `diff` gives the same change.
    let (rule, sev, what) = match kind {
        Kind::Pcr(0) => (
            R::TPM_PCR0_CHANGED,
            None,
            format!("{key} differs from its peers'"),
        ),
        Kind::Pcr(2) => (
            R::TPM_PCR2_CHANGED,
            None,
            format!("{key} differs from its peers'"),
        ),
        Kind::Pcr(_) => (
            R::TPM_PCR7_CHANGED,
            None,
            format!("{key} differs from its peers'"),
        ),
        Kind::Blob if added => (
            R::TPM_PCR0_CHANGED,
            None,
            format!("firmware {key} is measured, and its peers measure no such blob"),
        ),
        Kind::Blob if present => (
            R::TPM_PCR0_CHANGED,
            None,
            format!("firmware {key} is measured with another digest than its peers'"),
        ),
        Kind::Blob => (
            R::TPM_PCR0_CHANGED,
            None,
            format!("firmware {key}, which its peers measure, is not measured"),
        ),
        Kind::Driver if added => (
            R::LOADED_IMAGES_FIRMWARE_DRIVER_ADDED,
            None,
            format!("loads firmware driver {key}, which its peers do not"),
        ),
        Kind::Driver if present => (
            R::LOADED_IMAGES_FIRMWARE_DRIVER_CHANGED,
            None,
            format!("firmware driver {key} is another build than its peers'"),
        ),
        Kind::Driver => (
            R::LOADED_IMAGES_IMAGE_REMOVED,
            None,
            format!("does not load firmware driver {key}, which its peers load"),
        ),
        Kind::OptionRom if added => (
            R::LOADED_IMAGES_OPTION_ROM_ADDED,
            None,
            format!("runs option-ROM driver {key}, which its peers do not"),
        ),
        Kind::OptionRom if present => (
            R::LOADED_IMAGES_OPTION_ROM_CHANGED,
            None,
            format!("option-ROM driver {key} is another build than its peers'"),
        ),
        Kind::OptionRom => (
            R::LOADED_IMAGES_IMAGE_REMOVED,
            None,
            format!("does not run option-ROM driver {key}, which its peers run"),
        ),
        Kind::Acpi if added => (
            R::ACPI_TABLE_ADDED,
            Some(R::acpi_table_added(
                key.split(' ').next().unwrap_or_default(),
            )),
            format!("has ACPI table {key}, which its peers do not"),
        ),
        Kind::Acpi if present => (
            R::ACPI_TABLE_CHANGED,
            Some(R::acpi_table_changed(
                key.split(' ').next().unwrap_or_default(),
                true,
            )),
            format!("ACPI table {key} differs from its peers'"),
        ),
        Kind::Acpi => (
            R::ACPI_TABLE_REMOVED,
            None,
            format!("lacks ACPI table {key}, which its peers have"),
        ),
        Kind::Region(ty) if present => (
            R::MEMORY_MAP_REGION_ADDED,
            Some(R::memory_region_added(*ty)),
            format!("has a {key} region its peers do not"),
        ),
        Kind::Region(_) => (
            R::MEMORY_MAP_REGION_REMOVED,
            None,
            format!("lacks the {key} region its peers have"),
        ),
        Kind::Dbx => {
            let size = |s: Seen<'_>| match s {
                Seen::Value(v) => v
                    .split(' ')
                    .next()
                    .and_then(|n| n.parse::<u64>().ok())
                    .unwrap_or(0),
                _ => 0,
            };
            if size(mine) < size(major) {
                (
                    R::SECURE_BOOT_DBX_SHRANK,
                    None,
                    "its dbx is smaller than its peers': revocations are missing".to_string(),
                )
            } else {
                (
                    R::SECURE_BOOT_VARIABLE_CHANGED,
                    Some(R::secure_boot_variable_changed("dbx")),
                    "its dbx differs from its peers'".to_string(),
                )
            }
        }
    };
    let f = Finding::new(rule, format!("{what} ({peers})"), ev).about(key.clone());
    match sev {
        Some(s) => f.at(s),
        None => f,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::findings::Severity;

    fn profile(items: &[(Kind, &str, &str)]) -> Profile {
        let mut p = Profile::default();
        for (k, key, v) in items {
            p.items.insert((*k, key.to_string()), v.to_string());
        }
        p
    }

    fn group(n: usize, each: impl Fn(usize) -> Profile) -> (Consensus, Vec<Profile>) {
        let mut c = Consensus::default();
        let ps: Vec<Profile> = (0..n).map(each).collect();
        for p in &ps {
            c.add(p);
        }
        (c, ps)
    }

    #[test]
    fn one_odd_value_in_twenty_departs_and_says_how_many_agree() {
        let (c, ps) = group(20, |i| {
            profile(&[(
                Kind::Pcr(0),
                "sha256 PCR0",
                if i == 7 { "bad" } else { "good" },
            )])
        });
        for (i, p) in ps.iter().enumerate() {
            let d = c.departures(p, 0.05);
            if i == 7 {
                assert_eq!(d.len(), 1);
                assert_eq!(d[0].rule, "tpm.pcr0.changed");
                assert_eq!(d[0].evidence["hosts_like_this"], 1);
                assert_eq!(d[0].evidence["hosts_with_consensus"], 19);
                assert_eq!(d[0].evidence["consensus"], "good");
            } else {
                assert!(d.is_empty(), "{i}: {d:?}");
            }
        }
    }

    #[test]
    fn a_split_group_has_no_outlier() {
        // 10 against 10, and 3 against 17 with a 5% share: neither side is
        // an outlier (a fleet mid-rollout is not 3 compromised hosts).
        for odd in [10, 3] {
            let (c, ps) = group(20, |i| {
                profile(&[(Kind::Dbx, "dbx", if i < odd { "100 a" } else { "200 b" })])
            });
            assert!(ps.iter().all(|p| c.departures(p, 0.05).is_empty()));
        }
    }

    #[test]
    fn presence_departs_both_ways() {
        // One host has a WPBT; one host lacks a driver all others load.
        let (c, ps) = group(30, |i| {
            let mut v = vec![];
            if i != 4 {
                v.push((Kind::Driver, "FvFile(A)", "1/2"));
            }
            if i == 9 {
                v.push((Kind::Acpi, "WPBT X #1", "h"));
            }
            profile(&v)
        });
        let rules = |i: usize| -> Vec<(&str, Severity)> {
            c.departures(&ps[i], 0.05)
                .iter()
                .map(|f| (f.rule, f.severity))
                .collect()
        };
        assert_eq!(rules(9), vec![("acpi.table.added", Severity::Critical)]);
        assert_eq!(
            rules(4),
            vec![("loaded-images.image.removed", Severity::Low)]
        );
        assert!(rules(0).is_empty());
    }

    #[test]
    fn small_groups_have_no_consensus() {
        let (c, ps) = group(2, |i| {
            profile(&[(Kind::Pcr(7), "sha256 PCR7", &i.to_string())])
        });
        assert!(ps.iter().all(|p| c.departures(p, 0.05).is_empty()));
    }

    #[test]
    fn a_key_with_a_value_per_host_is_compared_by_presence_only() {
        // Every host has its own value: no consensus value, no departures,
        // and memory stays at MAX_VALUES values; a host lacking the key
        // still departs.
        let n = 3 * MAX_VALUES;
        let (c, ps) = group(n, |i| {
            if i == 0 {
                profile(&[])
            } else {
                profile(&[(Kind::Acpi, "SSDT X #1", &format!("{i}"))])
            }
        });
        assert_eq!(c.varied().collect::<Vec<_>>(), vec!["SSDT X #1"]);
        assert!(ps[1..].iter().all(|p| c.departures(p, 0.05).is_empty()));
        let d = c.departures(&ps[0], 0.05);
        assert_eq!(d.len(), 1);
        assert_eq!(d[0].rule, "acpi.table.removed");
        assert_eq!(d[0].evidence["hosts_with_consensus"], n - 1);
    }

    #[test]
    fn a_group_stops_learning_keys_and_says_so() {
        let mut c = Consensus::default();
        let many = Profile {
            items: (0..MAX_KEYS + 10)
                .map(|i| {
                    (
                        (
                            Kind::Region(crate::snapshot::MemoryType::RUNTIME_SERVICES_DATA),
                            format!("r{i}"),
                        ),
                        "present".to_string(),
                    )
                })
                .collect(),
        };
        for _ in 0..3 {
            c.add(&many);
        }
        assert!(c.saturated);
        assert_eq!(c.values.len(), MAX_KEYS);
        // Unlearned keys are not judged, learned ones are.
        let mut odd = many.clone();
        odd.items.remove(&(
            Kind::Region(crate::snapshot::MemoryType::RUNTIME_SERVICES_DATA),
            "r0".to_string(),
        ));
        c.add(&many);
        c.add(&many);
        c.add(&many);
        let d = c.departures(&odd, 0.2);
        assert_eq!(d.len(), 1, "{d:?}");
        assert_eq!(d[0].rule, "memory-map.region.removed");
    }
}
