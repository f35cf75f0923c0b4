//! The judgement: firmware states and OS events on one time line.
//!
//! - Consecutive firmware states that differ are a firmware change in the
//!   window between them. A flash-capable tool or driver seen in that
//!   window makes it critical, naming who, when and what; nothing seen
//!   makes it high, and the message says when the window is blind (a log
//!   cleared in it, a damaged log, or no intact log covering all of it).
//! - A flash-capable tool or driver is high wherever it is seen; with the
//!   next state the same as the one before it, it was an attempt (medium).
//! - LOLDrivers matches, weakened boot configurations, Code Integrity's
//!   refusals, lockdown refusals, clears and damage are findings of their
//!   own.
//! - fwupd's history rows in a window only corroborate: the judged host
//!   writes that database.

use super::{At, Event, FirmwareLogCheck, FirmwareState, Gathered, Kind, Options, Report};
use crate::findings::{Finding, Severity};
use crate::rules;
use serde_json::json;
use std::collections::BTreeMap;

/// How two consecutive firmware states compare.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Compare {
    /// The same measurements (and the same flash copy, where both have
    /// one).
    Same,
    /// Another firmware: PCR0 or PCR2 differ (and the flash copies, where
    /// both have one, differ too), or the flash copies differ.
    Changed,
    /// PCR0 differs while the flash copies are the same: the firmware
    /// measured a region it had itself written during the boot (seen in
    /// OVMF's DEBUG build, whose PEI volume holds boot-time data), so PCR0
    /// alone cannot say whether code changed.
    BootDependent,
    /// One of the two measured no firmware.
    Unknown,
}

fn compare(a: &FirmwareState, b: &FirmwareState) -> Compare {
    let (Some(a0), Some(b0)) = (a.pcr0.as_ref(), b.pcr0.as_ref()) else {
        return Compare::Unknown;
    };
    let differs =
        |x: &Option<String>, y: &Option<String>| matches!((x, y), (Some(x), Some(y)) if x != y);
    let others_changed =
        differs(&a.pcr2, &b.pcr2) || differs(&a.pcr4, &b.pcr4) || differs(&a.pcr7, &b.pcr7);
    match (&a.flash_sha256, &b.flash_sha256) {
        (Some(x), Some(y)) if x != y => Compare::Changed,
        (Some(_), Some(_)) if others_changed => Compare::Changed,
        (Some(_), Some(_)) if a0 != b0 => Compare::BootDependent,
        _ if a0 != b0 || others_changed => Compare::Changed,
        _ => Compare::Same,
    }
}

fn state_text(s: &FirmwareState) -> String {
    format!(
        "{} ({}, {})",
        s.at.map_or("an unknown time".to_string(), |t| t.to_string()),
        s.source.file,
        s.placed_by
    )
}

fn short(h: &Option<String>) -> String {
    h.as_deref().map_or("none".to_string(), |h| {
        h.get(..16).unwrap_or(h).to_string() + "…"
    })
}

/// The event as one line: when, who, what, the tool's hash.
fn event_text(e: &Event) -> String {
    let mut s = format!(
        "{}: {}",
        e.at.map_or("unknown time".to_string(), |t| t.to_string()),
        e.what
    );
    let who = e.who.text();
    if !who.is_empty() {
        s.push_str(&format!(" by {who}"));
    }
    if let Some(h) = e.tool.as_ref().and_then(|t| t.hashes.sha256.as_ref()) {
        s.push_str(&format!(" (SHA-256 {h})"));
    }
    s.push_str(&format!(" [{}]", e.source));
    s
}

/// Whether the spans (sorted by start) cover all of `[from, to]`.
fn covered(spans: &[(At, At)], from: At, to: At) -> bool {
    let mut reach = from;
    for (s, e) in spans {
        if *s > reach {
            break;
        }
        if *e >= reach {
            reach = *e;
        }
        if reach >= to {
            return true;
        }
    }
    reach >= to
}

/// Why a window is blind, or `None` when an intact log covers it.
fn blind(g: &Gathered, spans: &[(At, At)], from: At, to: At) -> Option<String> {
    let mut why = Vec::new();
    let clears: Vec<&Event> = g
        .events
        .iter()
        .filter(|e| e.kind == Kind::LogCleared && e.at.is_some_and(|t| t > from && t <= to))
        .collect();
    if !clears.is_empty() {
        why.push(format!(
            "a log was cleared in it ({})",
            clears
                .iter()
                .map(|e| e.source.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    let damaged: Vec<&str> = g
        .inputs
        .iter()
        .filter(|i| i.kind.covers() && !i.damage.is_empty())
        .map(|i| i.file.as_str())
        .collect();
    if !damaged.is_empty() {
        why.push(format!(
            "damaged logs cannot show absence ({})",
            damaged.join(", ")
        ));
    }
    if !covered(spans, from, to) {
        why.push("no intact OS log covers all of it".to_string());
    }
    (!why.is_empty()).then(|| why.join("; "))
}

/// Judges what was gathered.
pub fn judge(mut g: Gathered, o: &Options) -> Report {
    let keep = |at: Option<At>| match at {
        Some(t) => o.since.is_none_or(|s| t >= s) && o.until.is_none_or(|u| t <= u),
        None => o.since.is_none() && o.until.is_none(),
    };
    g.events.retain(|e| keep(e.at));
    g.states.retain(|s| keep(s.at));
    let order = |at: Option<At>| (at.is_none(), at);
    g.events.sort_by(|a, b| {
        order(a.at)
            .cmp(&order(b.at))
            .then_with(|| a.source.file.cmp(&b.source.file))
            .then(a.source.record.cmp(&b.source.record))
            .then(a.source.line.cmp(&b.source.line))
    });
    g.states.sort_by(|a, b| {
        order(a.at)
            .cmp(&order(b.at))
            .then_with(|| a.source.file.cmp(&b.source.file))
    });
    type Key = (Option<String>, [Option<String>; 3], Option<String>);
    let mut seen: Vec<Key> = Vec::new();
    for st in &mut g.states {
        if st.pcr0.is_none() {
            st.firmware = "F?".into();
            continue;
        }
        let key = (
            st.pcr0.clone(),
            [st.pcr2.clone(), st.pcr4.clone(), st.pcr7.clone()],
            st.flash_sha256.clone(),
        );
        let n = match seen.iter().position(|k| *k == key) {
            Some(n) => n,
            None => {
                seen.push(key);
                seen.len() - 1
            }
        };
        st.firmware = format!("F{}", n + 1);
    }
    // With references: which snapshots' firmware the vendor's images
    // verify (as `check --references` judges it).
    if let Some(refs) = &o.references {
        for st in &mut g.states {
            let Some((file, s)) = g.snapshots.iter().find(|(f, _)| **f == *st.source.file) else {
                continue;
            };
            let c = crate::firmware::judge::check(file, s, refs);
            let ok = !c.judgement.judged_by.is_empty()
                && !c
                    .findings
                    .iter()
                    .any(|f| !f.explained && f.severity > rules::FIRMWARE_REFERENCE_TOLERATED);
            if ok {
                st.verified_by = Some(c.judgement.judged_by.join(", "));
            }
        }
    }
    let mut spans: Vec<(At, At)> = g.inputs.iter().filter_map(|i| i.coverage()).collect();
    spans.sort();
    let mut findings = Vec::new();

    // Firmware changes, window by window.
    let placed: Vec<&FirmwareState> = g.states.iter().filter(|s| s.at.is_some()).collect();
    let flash: Vec<&Event> = g
        .events
        .iter()
        .filter(|e| e.flash_capable() && e.at.is_some())
        .collect();
    let mut in_change_window = vec![false; flash.len()];
    let mut in_vendor_update = vec![false; flash.len()];
    for w in placed.windows(2) {
        let (a, b) = (w[0], w[1]);
        let (Some(from), Some(to)) = (a.at, b.at) else {
            continue;
        };
        let c = compare(a, b);
        if c == Compare::BootDependent {
            findings.push(
                Finding::new(
                    rules::TIMELINE_FIRMWARE_UNCOMPARABLE,
                    format!(
                        "Between {} and {} PCR0 changed ({} -> {}) while the flash copies are the same ({}): the firmware measured something it writes during the boot, so whether its code changed is unknown from PCR0 alone",
                        state_text(a),
                        state_text(b),
                        short(&a.pcr0),
                        short(&b.pcr0),
                        short(&a.flash_sha256)
                    ),
                    json!({"before": a, "after": b}),
                )
                .about(format!("{} -> {}", a.source.file, b.source.file)),
            );
            continue;
        }
        if c == Compare::Unknown {
            findings.push(
                Finding::new(
                    rules::TIMELINE_FIRMWARE_UNCOMPARABLE,
                    format!(
                        "Whether the firmware changed between {} and {} is unknown: {} measured no firmware (PCR0)",
                        state_text(a),
                        state_text(b),
                        if a.pcr0.is_none() { &a.source.file } else { &b.source.file }
                    ),
                    json!({"before": a, "after": b}),
                )
                .about(format!("{} -> {}", a.source.file, b.source.file)),
            );
            continue;
        }
        if c == Compare::Same {
            continue;
        }
        let tools: Vec<usize> = flash
            .iter()
            .enumerate()
            .filter(|(_, e)| e.at.is_some_and(|t| t > from && t <= to))
            .map(|(i, _)| i)
            .collect();
        for &i in &tools {
            in_change_window[i] = true;
        }
        let fwupd: Vec<&Event> = g
            .events
            .iter()
            .filter(|e| e.kind == Kind::FirmwareUpdate && e.at.is_some_and(|t| t > from && t <= to))
            .collect();
        let corroborating = fwupd.iter().find(|e| {
            e.object
                .as_deref()
                .is_some_and(|v| v != "?" && !b.claims.is_empty() && b.claims.contains(v))
        });
        // The one way down: the vendor's references verify the new
        // firmware, and fwupd's history names it. Either alone is not
        // enough (the history is the host's; a reference says what, not
        // how it got there).
        let vendor_update = match (corroborating, &b.verified_by) {
            (Some(e), Some(refs)) => Some(format!(
                "a vendor update: the new firmware is the vendor's ({refs}), and fwupd's history names it ({})",
                e.what
            )),
            _ => None,
        };
        if vendor_update.is_some() {
            for &i in &tools {
                in_vendor_update[i] = true;
            }
        }
        let corroboration = corroborating
            .map(|e| {
                format!(
                    " fwupd's history corroborates a vendor update ({}), which does not lower this{}: the host writes that database.",
                    e.what,
                    if b.verified_by.is_some() { "" } else { " without a vendor reference (--references) that verifies the new firmware" }
                )
            })
            .unwrap_or_else(|| match fwupd.first() {
                Some(e) => format!(
                    " fwupd's history records {} update(s) in the window (first: {}) that name no version the new firmware claims.",
                    fwupd.len(),
                    e.what
                ),
                None => String::new(),
            });
        let mut what_changed = format!("PCR0 {} -> {}", short(&a.pcr0), short(&b.pcr0));
        for (name, x, y) in [
            ("PCR2 (option ROMs)", &a.pcr2, &b.pcr2),
            ("PCR4 (boot applications)", &a.pcr4, &b.pcr4),
            ("PCR7 (Secure Boot policy)", &a.pcr7, &b.pcr7),
        ] {
            if x != y {
                what_changed.push_str(&format!(", {name} {} -> {}", short(x), short(y)));
            }
        }
        if a.flash_sha256.is_some() && a.flash_sha256 != b.flash_sha256 {
            what_changed.push_str(&format!(
                ", flash copy {} -> {}",
                short(&a.flash_sha256),
                short(&b.flash_sha256)
            ));
        }
        let subject = format!("{} -> {}", a.source.file, b.source.file);
        if tools.is_empty() {
            let blind_note = blind(&g, &spans, from, to)
                .map(|w| format!(" The window is blind: {w}."))
                .unwrap_or_else(|| " Intact OS logs cover the whole window.".to_string());
            findings.push(
                Finding::new(
                    rules::TIMELINE_FIRMWARE_CHANGED_UNEXPLAINED,
                    format!(
                        "The firmware changed between {} and {} ({what_changed}), unexplained by the OS logs: no flash-capable tool or driver was recorded in between.{blind_note}{corroboration}",
                        state_text(a),
                        state_text(b)
                    ),
                    json!({"before": a, "after": b, "fwupd": fwupd}),
                )
                .about(subject),
            );
            if let (Some(why), Some(f)) = (&vendor_update, findings.last_mut()) {
                vendor_update_explains(f, why);
            }
        } else {
            let seen: Vec<String> = tools
                .iter()
                .take(10)
                .map(|&i| event_text(flash[i]))
                .collect();
            let more = tools.len().saturating_sub(10);
            findings.push(
                Finding::new(
                    rules::TIMELINE_FIRMWARE_CHANGED_BY_TOOL,
                    format!(
                        "The firmware changed between {} and {} ({what_changed}), and in between: {}{}.{corroboration}",
                        state_text(a),
                        state_text(b),
                        seen.join("; "),
                        if more > 0 { format!(" and {more} more") } else { String::new() }
                    ),
                    json!({
                        "before": a,
                        "after": b,
                        "tools": tools.iter().map(|&i| flash[i]).collect::<Vec<_>>(),
                        "fwupd": fwupd,
                    }),
                )
                .about(subject),
            );
            if let (Some(why), Some(f)) = (&vendor_update, findings.last_mut()) {
                vendor_update_explains(f, why);
            }
        }
    }
    if placed.len() < 2 {
        findings.push(
            Finding::new(
                rules::TIMELINE_FIRMWARE_UNOBSERVED,
                format!(
                    "{} firmware state(s) given, {} placed in time: at least two measured boots are needed to tell whether the firmware changed over the time these logs cover, so that is unknown, not unchanged",
                    g.states.len(),
                    placed.len()
                ),
                json!({"states": g.states.len(), "placed": placed.len()}),
            )
            .about("firmware".to_string()),
        );
    }
    for s in g.states.iter().filter(|s| s.at.is_none()) {
        findings.push(
            Finding::new(
                rules::TIMELINE_FIRMWARE_UNCOMPARABLE,
                format!(
                    "The firmware state of {} cannot be placed in time ({}): a change around it cannot be put in a window",
                    s.source.file, s.placed_by
                ),
                json!({"state": s}),
            )
            .about(s.source.file.to_string()),
        );
    }

    // Flash-capable tools and drivers, one finding per tool, and the
    // attempts: seen, and the next state the same as the one before.
    let mut by_tool: BTreeMap<String, Vec<usize>> = BTreeMap::new();
    for (i, e) in flash.iter().enumerate() {
        let key = e.tool.as_ref().map(|t| t.file_name()).unwrap_or_default();
        by_tool.entry(key).or_default().push(i);
    }
    for (tool, idx) in &by_tool {
        let first = flash[idx[0]];
        let last = flash[*idx.last().unwrap_or(&idx[0])];
        let m = first.matches.iter().find(|m| m.flash_capable);
        let mut attempts = Vec::new();
        let mut after_unknown = 0;
        for &i in idx {
            if in_change_window[i] {
                continue;
            }
            let t = flash[i].at;
            let before = placed.iter().rev().find(|s| s.at < t);
            let after = placed.iter().find(|s| s.at >= t);
            match (before, after) {
                (Some(b), Some(a)) if compare(b, a) == Compare::Same => attempts.push(i),
                (_, None) => after_unknown += 1,
                _ => {}
            }
        }
        let note = if after_unknown > 0 {
            format!(
                " {after_unknown} of these have no firmware state after them: whether they wrote is unknown."
            )
        } else {
            String::new()
        };
        let mut seen = Finding::new(
                rules::TIMELINE_FLASH_TOOL_SEEN,
                format!(
                    "{tool}, which can write the firmware from the OS ({}), was seen {} time(s): first {}{}.{note}",
                    m.map_or(String::new(), |m| format!("{}; {}", m.category, m.source)),
                    idx.len(),
                    event_text(first),
                    if idx.len() > 1 { format!("; last {}", event_text(last)) } else { String::new() },
                ),
                json!({"events": idx.iter().take(100).map(|&i| flash[i]).collect::<Vec<_>>(), "count": idx.len()}),
            )
            .about(tool.clone());
        if idx.iter().all(|&i| in_vendor_update[i]) {
            vendor_update_explains(
                &mut seen,
                "every time, in the window of a vendor update the references verify and fwupd's history names",
            );
        }
        findings.push(seen);
        if !attempts.is_empty() {
            findings.push(
                Finding::new(
                    rules::TIMELINE_FLASH_TOOL_ATTEMPT,
                    format!(
                        "{tool} was seen {} time(s) with the same firmware before and after: an attempt, or a write the measurements do not show. First: {}",
                        attempts.len(),
                        event_text(flash[attempts[0]])
                    ),
                    json!({"events": attempts.iter().take(100).map(|&i| flash[i]).collect::<Vec<_>>()}),
                )
                .about(tool.clone()),
            );
        }
    }

    // LOLDrivers.
    let mut lol: BTreeMap<(String, &'static str), Vec<&Event>> = BTreeMap::new();
    for e in &g.events {
        for m in e.matches.iter().filter(|m| m.list == "loldrivers") {
            lol.entry((m.id.to_string(), m.by)).or_default().push(e);
        }
    }
    for ((id, by), evs) in &lol {
        let e = evs[0];
        let m = e
            .matches
            .iter()
            .find(|m| m.list == "loldrivers" && &m.id == id);
        let name = e.tool.as_ref().map(|t| t.file_name()).unwrap_or_default();
        let mut f = Finding::new(
            rules::TIMELINE_DRIVER_KNOWN_VULNERABLE,
            format!(
                "{name} matches LOLDrivers entry {id} ({}) by {}{}, seen {} time(s), first {}",
                m.map_or("", |m| m.category.as_ref()),
                by,
                if *by == "name" {
                    " only: the record carries no hash, so this is a name match"
                } else {
                    ""
                },
                evs.len(),
                event_text(e)
            ),
            json!({"events": evs.iter().take(100).collect::<Vec<_>>(), "count": evs.len()}),
        )
        .about(format!("{id}:{name}"));
        f = f.at(rules::known_vulnerable_driver(*by == "name"));
        findings.push(f);
    }

    // What the logs record of their own accord.
    let mut blocked: BTreeMap<String, Vec<&Event>> = BTreeMap::new();
    let mut lockdown: BTreeMap<String, Vec<&Event>> = BTreeMap::new();
    for e in &g.events {
        match e.kind {
            Kind::BootConfiguration if e.object.is_some() => findings.push(
                Finding::new(
                    rules::TIMELINE_BOOT_CONFIG_WEAKENED,
                    event_text(e),
                    json!({"event": e}),
                )
                .about(e.object.clone().unwrap_or_default()),
            ),
            Kind::CodeIntegrity => blocked
                .entry(e.tool.as_ref().map(|t| t.file_name()).unwrap_or_default())
                .or_default()
                .push(e),
            Kind::LockdownDenied => lockdown
                .entry(e.tool.as_ref().map(|t| t.file_name()).unwrap_or_default())
                .or_default()
                .push(e),
            Kind::LogCleared => findings.push(
                Finding::new(
                    rules::TIMELINE_LOG_CLEARED,
                    event_text(e),
                    json!({"event": e}),
                )
                .about(e.source.file.to_string()),
            ),
            _ => {}
        }
    }
    for (name, evs) in blocked {
        findings.push(
            Finding::new(
                rules::TIMELINE_DRIVER_BLOCKED,
                format!("{} time(s); first {}", evs.len(), event_text(evs[0])),
                json!({"events": evs.iter().take(100).collect::<Vec<_>>(), "count": evs.len()}),
            )
            .about(name),
        );
    }
    for (name, evs) in lockdown {
        findings.push(
            Finding::new(
                rules::TIMELINE_LOCKDOWN_DENIED,
                format!("{} time(s); first {}", evs.len(), event_text(evs[0])),
                json!({"events": evs.iter().take(100).collect::<Vec<_>>(), "count": evs.len()}),
            )
            .about(name),
        );
    }
    for i in g.inputs.iter().filter(|i| !i.damage.is_empty()) {
        findings.push(
            Finding::new(
                rules::TIMELINE_LOG_DAMAGED,
                format!(
                    "{} is damaged: {}{}",
                    i.file,
                    i.damage[0],
                    if i.damage.len() > 1 {
                        format!(" (and {} more)", i.damage.len() - 1)
                    } else {
                        String::new()
                    }
                ),
                json!({"damage": i.damage}),
            )
            .about(i.file.clone()),
        );
    }

    // Firmware boot logs against the snapshots of their boots.
    let mut firmware_logs = Vec::new();
    for (file, log) in &g.firmware_logs {
        let best = g
            .snapshots
            .iter()
            .map(|(f, s)| (super::firmware_log::shared_bases(log, s), f, s))
            .max_by_key(|(n, _, _)| *n);
        let mut check = FirmwareLogCheck {
            log: file.clone(),
            snapshot: None,
            drivers_loaded: log.drivers.len(),
            peims_loaded: log.peims,
            matched: 0,
        };
        if log.drivers.is_empty() {
            findings.push(
                Finding::new(
                    rules::TIMELINE_FIRMWARE_LOG_UNKNOWN,
                    format!("{file} shows no driver loading (release firmware prints none): the firmware's own log cannot be checked"),
                    json!({}),
                )
                .about(file.clone()),
            );
        } else if let Some((n, sfile, s)) = best.filter(|(n, _, _)| n * 2 >= log.drivers.len()) {
            let _ = n;
            let (matched, dis) = super::firmware_log::cross_check(log, s);
            check.snapshot = Some(sfile.clone());
            check.matched = matched;
            if !dis.is_empty() {
                let msgs: Vec<&str> = dis.iter().take(20).map(|d| d.message.as_str()).collect();
                findings.push(
                    Finding::new(
                        rules::TIMELINE_FIRMWARE_LOG_MISMATCH,
                        format!(
                            "{file} and {sfile} disagree {} time(s): {}",
                            dis.len(),
                            msgs.join("; ")
                        ),
                        json!({"disagreements": dis.iter().map(|d| &d.message).take(100).collect::<Vec<_>>()}),
                    )
                    .about(format!("{file} ~ {sfile}")),
                );
            }
        } else {
            findings.push(
                Finding::new(
                    rules::TIMELINE_FIRMWARE_LOG_UNKNOWN,
                    format!(
                        "{file}: no snapshot given is of its boot (none has at least half of its {} images at their addresses): the firmware's own log cannot be checked",
                        log.drivers.len()
                    ),
                    json!({}),
                )
                .about(file.clone()),
            );
        }
        firmware_logs.push(check);
    }

    // Clock skew: each placed state beside the nearest OS start another
    // source places.
    let mut clock_skew = Vec::new();
    for s in &placed {
        let Some(t) = s.at else { continue };
        let near = g
            .events
            .iter()
            .filter(|e| e.kind == Kind::OsStart)
            .filter_map(|e| e.at.map(|a| (a, e)))
            .min_by_key(|(a, _)| (a.0.as_second() - t.0.as_second()).abs());
        if let Some((a, e)) = near {
            let d = a.0.as_second() - t.0.as_second();
            if d.abs() <= 86_400 {
                clock_skew.push(format!(
                    "{} places a boot at {t} ({}); {} places the nearest OS start at {a} ({d:+} s)",
                    s.source.file, s.placed_by, e.source
                ));
            }
        }
    }

    // The drawn line: states before events at the same instant.
    let mut rows: Vec<(Option<At>, u8, usize, super::Row)> = g
        .states
        .iter()
        .enumerate()
        .map(|(i, s)| (s.at, 0, i, super::Row::State(i)))
        .chain(
            g.events
                .iter()
                .enumerate()
                .map(|(i, e)| (e.at, 1, i, super::Row::Event(i))),
        )
        .collect();
    rows.sort_by_key(|(at, k, i, _)| (at.is_none(), *at, *k, *i));
    let rows = rows.into_iter().map(|(_, _, _, r)| r).collect();
    let host = g
        .snapshots
        .first()
        .map(|(f, s)| crate::fleet::profile::host_id(s, f))
        .unwrap_or_else(|| "unknown".to_string());

    findings.sort_by(|a, b| {
        b.severity
            .cmp(&a.severity)
            .then_with(|| a.rule.cmp(b.rule))
            .then_with(|| a.subject.cmp(&b.subject))
    });
    let summary = crate::findings::summarize(&findings);
    Report {
        inputs: g.inputs,
        passed_over: g.passed_over,
        events: g.events,
        states: g.states,
        rows,
        host,
        firmware_logs,
        clock_skew,
        findings,
        summary,
    }
}

/// True when a finding at or above `threshold` is unexplained (exit 1).
pub fn fails(r: &Report, threshold: Severity) -> bool {
    r.findings
        .iter()
        .any(|f| !f.explained && f.severity >= threshold)
}

/// Explains `f` by a vendor update (a reference verifies the new firmware
/// and fwupd's history names it), as far as its rule in the registry
/// allows.
fn vendor_update_explains(f: &mut Finding, why: &str) {
    let allowed = rules::by_id(f.rule)
        .is_some_and(|r| r.may_be_explained_by(rules::Explainer::VendorUpdateInHistory));
    if allowed {
        f.explain(why.to_string());
    }
}
