//! The HTML report of `bootaudit diff`: one self-contained file (inline
//! CSS, no script, no external resource) with the summary, both memory maps
//! side by side as columns of regions to scale, and the findings grouped by
//! severity, unexplained first, each with its evidence. It draws what the
//! library computed ([`crate::diff::picture`]) and computes nothing.

use crate::diff::picture::{MapPicture, MIN_SHARE};
use crate::diff::DiffReport;
use crate::findings::{Finding, Severity};
use crate::fleet::{FleetSummary, HostRecord};
use std::fmt::Write;

/// Escapes text for HTML element content and attribute values. Control
/// and bidi characters (which an entity would still render as themselves)
/// are shown as visible escapes, as in the terminal.
fn esc(s: &str) -> String {
    let s = super::escape::terminal(s);
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&#39;"),
            c => o.push(c),
        }
    }
    o
}

const STYLE: &str = r#"
body{font:14px/1.4 system-ui,sans-serif;margin:24px;color:#1b1f24;background:#fff}
h1{font-size:20px;margin:0 0 4px} h2{font-size:16px;margin:28px 0 8px}
.files{color:#57606a;font-family:monospace;word-break:break-all}
.badges span{display:inline-block;margin:8px 6px 0 0;padding:2px 10px;border-radius:10px;color:#fff;font-weight:600}
.critical{background:#a40e26}.high{background:#d1242f}.medium{background:#bc4c00}.low{background:#4d6a8a}.info{background:#6e7781}
.maps{display:flex;gap:48px;align-items:flex-start}
.map{width:260px}.map h3{font-size:14px;margin:0 0 6px}
.col{display:flex;flex-direction:column;height:640px;border:1px solid #8c959f}
.seg{box-sizing:border-box;border-bottom:1px solid #fff;min-height:1px;position:relative}
.seg.changed{outline:2px solid #ff00c8;outline-offset:1px;z-index:1}
.seg.changed::after{content:"changed";position:absolute;left:calc(100% + 8px);top:0;font-size:11px;color:#a40e26;white-space:nowrap}
.k-usable{background:#cfe8cf}.k-runtime{background:#d1242f}.k-acpi{background:#0969da}
.k-reserved{background:#6e7781}.k-mmio{background:#8250df}.k-other{background:#bf8700}
.legend span{display:inline-block;margin-right:14px}.legend i{display:inline-block;width:12px;height:12px;margin-right:4px;vertical-align:-1px}
.note{color:#57606a;font-size:12px}
table{border-collapse:collapse;width:100%;max-width:1200px}
th,td{border-bottom:1px solid #d0d7de;padding:6px 8px;text-align:left;vertical-align:top}
td.sev span{color:#fff;padding:1px 8px;border-radius:8px;font-weight:600}
td.rule{font-family:monospace;white-space:nowrap}
.explained{color:#1a7f37}.unexplained{color:#a40e26;font-weight:600}
details.host{margin:6px 0;padding:4px 8px;border:1px solid #d0d7de}
details.host .badges span{margin:0 4px 0 0;padding:0 8px;font-size:12px}
pre{margin:4px 0 0;white-space:pre-wrap;word-break:break-all;font-size:12px;background:#f6f8fa;padding:6px}
"#;

/// The HTML report of `bootaudit check`: the level, the counts, and every
/// check with its result, reason and evidence.
pub fn check(r: &crate::check::Report) -> String {
    let mut out = String::new();
    let _ = write!(
        out,
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>bootaudit check</title><style>{STYLE}</style></head><body><h1>bootaudit check</h1><p class=\"files\">{} ({})</p><p>Machine says: {}</p><p><b>{}</b></p><p>{} pass, {} fail, {} unknown, {} not applicable</p><table><tr><th>Result</th><th>Check</th><th>Severity</th><th>Level</th><th>Reason and evidence</th></tr>",
        esc(&r.file),
        esc(&r.source),
        esc(&super::check::identity(r)),
        esc(&super::check::level(r)),
        r.counts.pass,
        r.counts.fail,
        r.counts.unknown,
        r.counts.not_applicable
    );
    for c in super::check::ordered(r) {
        let class = match c.result {
            crate::check::Outcome::Fail => "unexplained",
            crate::check::Outcome::Pass => "explained",
            _ => "note",
        };
        let _ = write!(
            out,
            "<tr><td class=\"{class}\">{}</td><td class=\"rule\">{}</td><td class=\"sev\"><span class=\"{}\">{}</span></td><td>{}</td><td>{}<details><summary>evidence</summary><pre>{}</pre></details></td></tr>",
            c.result.word(),
            esc(c.id),
            c.severity.word(),
            c.severity.word(),
            c.level,
            esc(&c.reason),
            esc(&serde_json::to_string_pretty(&c.evidence).unwrap_or_default())
        );
    }
    out.push_str("</table></body></html>\n");
    out
}

fn legend(out: &mut String) {
    out.push_str("<p class=\"legend\">");
    for (k, name) in [
        ("usable", "boot services, loader, conventional (churn)"),
        ("runtime", "runtime services"),
        ("acpi", "ACPI reclaim / NVS"),
        ("reserved", "reserved"),
        ("mmio", "MMIO"),
        ("other", "other"),
    ] {
        let _ = write!(out, "<span><i class=\"k-{k}\"></i>{name}</span>");
    }
    out.push_str("</p>");
}

fn map(out: &mut String, m: &MapPicture) {
    let _ = write!(
        out,
        "<div class=\"map\"><h3>{} ({} MiB described)</h3><div class=\"col\" data-side=\"{}\">",
        esc(m.label),
        m.total_pages / 256,
        esc(m.label)
    );
    for s in &m.segments {
        let _ = write!(
            out,
            "<div class=\"seg k-{}{}\" style=\"flex:0 0 {:.3}%\" title=\"{} at {:#x}, {} pages\"></div>",
            s.kind,
            if s.changed { " changed" } else { "" },
            s.share * 100.0,
            esc(s.ty),
            s.start,
            s.pages
        );
    }
    out.push_str("</div>");
    if m.left_out > 0 {
        let _ = write!(
            out,
            "<p class=\"note\">{} more regions not drawn</p>",
            m.left_out
        );
    }
    out.push_str("</div>");
}

/// Renders the whole report.
pub fn diff(r: &DiffReport) -> String {
    let mut o = String::with_capacity(16 << 10);
    o.push_str("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">");
    let _ = write!(
        o,
        "<title>bootaudit diff: {}</title><style>{STYLE}</style></head><body>",
        esc(&r.current)
    );
    let _ = write!(
        o,
        "<h1>bootaudit diff</h1><div class=\"files\">{} &rarr; {}</div>",
        esc(&r.baseline),
        esc(&r.current)
    );
    let s = &r.summary;
    o.push_str("<div>");
    badges(&mut o, s, true);
    let _ = write!(o, "</div><p>{} unexplained</p>", s.unexplained);

    o.push_str("<h2>Memory maps</h2>");
    match &r.memory_maps {
        Some([a, b]) => {
            legend(&mut o);
            let _ = write!(
                o,
                "<p class=\"note\">Regions in address order, top to bottom, each as tall as its share of the pages; regions under {:.1}% are drawn at {:.1}%. Outlined: regions a finding names.</p><div class=\"maps\">",
                MIN_SHARE * 100.0,
                MIN_SHARE * 100.0
            );
            map(&mut o, a);
            map(&mut o, b);
            o.push_str("</div>");
        }
        None => o.push_str("<p class=\"note\">A snapshot has no memory map.</p>"),
    }

    let _ = write!(o, "<h2>Findings ({})</h2>", r.findings.len());
    if r.findings.is_empty() {
        o.push_str("<p>No differences.</p>");
    } else {
        findings_table(&mut o, &r.findings);
    }
    o.push_str("</body></html>\n");
    o
}

/// The findings as a table: severity, rule, message, explanation and the
/// evidence behind a disclosure.
fn findings_table(o: &mut String, findings: &[Finding]) {
    o.push_str(
        "<table><thead><tr><th>Severity</th><th>Rule</th><th>Finding</th></tr></thead><tbody>",
    );
    for f in findings {
        let status = match (&f.explanation, f.explained) {
            (Some(e), true) => format!("<div class=\"explained\">explained: {}</div>", esc(e)),
            (Some(e), false) => format!(
                "<div class=\"unexplained\">unexplained; noted: {}</div>",
                esc(e)
            ),
            (None, _) => "<div class=\"unexplained\">unexplained</div>".to_string(),
        };
        let evidence = serde_json::to_string_pretty(&f.evidence).unwrap_or_default();
        let _ = write!(
            o,
            "<tr><td class=\"sev\"><span class=\"{0}\">{0}</span></td><td class=\"rule\">{1}</td><td>{2}{status}<details><summary>evidence</summary><pre>{3}</pre></details></td></tr>",
            f.severity.word(),
            esc(f.rule),
            esc(&f.message),
            esc(&evidence)
        );
    }
    o.push_str("</tbody></table>");
}

/// One badge per severity with its count (zero counts only with `zeros`).
fn badges(o: &mut String, s: &crate::findings::Summary, zeros: bool) {
    o.push_str("<span class=\"badges\">");
    for (sev, n) in [
        (Severity::Critical, s.critical),
        (Severity::High, s.high),
        (Severity::Medium, s.medium),
        (Severity::Low, s.low),
        (Severity::Info, s.info),
    ] {
        if n > 0 || zeros {
            let _ = write!(o, "<span class=\"{0}\">{n} {0}</span>", sev.word());
        }
    }
    o.push_str("</span>");
}

/// The fleet overview of `bootaudit fleet --format html`: the groups with
/// their host and outlier counts, then per group each outlier host with its
/// findings (departures from the group and, with baselines, from its own
/// baseline), and the snapshots that could not be read. `outliers` holds
/// the records the run kept (outliers and unreadable snapshots).
pub fn fleet(s: &FleetSummary, outliers: &[HostRecord], threshold: Severity) -> String {
    let mut o = String::with_capacity(16 << 10);
    o.push_str("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">");
    let _ = write!(
        o,
        "<title>bootaudit fleet</title><style>{STYLE}</style></head><body>"
    );
    let _ = write!(
        o,
        "<h1>bootaudit fleet</h1><p>{} hosts in {} groups; <strong>{} outliers</strong> (an unexplained finding at or above {}){}.</p>",
        s.hosts,
        s.groups.len(),
        s.outliers,
        threshold.word(),
        if s.unreadable > 0 {
            format!("; {} snapshots unreadable", s.unreadable)
        } else {
            String::new()
        }
    );
    o.push_str("<h2>Groups</h2><table><thead><tr><th>Manufacturer</th><th>Product</th><th>BIOS</th><th>FW rev</th><th>Hosts</th><th>Outliers</th><th>Note</th></tr></thead><tbody>");
    for (i, g) in s.groups.iter().enumerate() {
        let n = if g.outliers > 0 {
            format!("<a href=\"#g{i}\">{}</a>", g.outliers)
        } else {
            "0".into()
        };
        let mut note = Vec::new();
        if !g.consensus {
            note.push("too few hosts for a consensus".to_string());
        }
        if !g.varied.is_empty() {
            note.push(format!(
                "no consensus value (presence only): {}",
                g.varied.join(", ")
            ));
        }
        if g.saturated {
            note.push("too many distinct keys: later ones not judged".to_string());
        }
        let _ = write!(
            o,
            "<tr class=\"group\"><td>{}</td><td>{}</td><td>{}</td><td>{:#x}</td><td>{}</td><td class=\"outliers\">{n}</td><td class=\"note\">{}</td></tr>",
            esc(&g.group.manufacturer),
            esc(&g.group.product),
            esc(&g.group.bios_version),
            g.group.firmware_revision,
            g.hosts,
            esc(&note.join("; "))
        );
    }
    o.push_str("</tbody></table>");
    for (i, g) in s.groups.iter().enumerate().filter(|(_, g)| g.outliers > 0) {
        let _ = write!(
            o,
            "<h2 id=\"g{i}\">{} {} (BIOS {}): {} of {} hosts</h2>",
            esc(&g.group.manufacturer),
            esc(&g.group.product),
            esc(&g.group.bios_version),
            g.outliers,
            g.hosts
        );
        for h in outliers.iter().filter(|h| h.outlier && h.group == g.group) {
            let _ = write!(
                o,
                "<details class=\"host\"><summary><strong>{}</strong> <span class=\"files\">{}</span> ",
                esc(&h.host),
                esc(&h.source)
            );
            badges(&mut o, &h.summary, false);
            o.push_str("</summary><h3>Departures from the group</h3>");
            findings_table(&mut o, &h.findings);
            if let Some(b) = &h.baseline_findings {
                o.push_str("<h3>Against its own baseline</h3>");
                findings_table(&mut o, b);
            }
            o.push_str("</details>");
        }
    }
    let bad: Vec<&HostRecord> = outliers.iter().filter(|h| h.error.is_some()).collect();
    if !bad.is_empty() {
        let _ = write!(o, "<h2>Unreadable snapshots ({})</h2><ul>", bad.len());
        for h in bad {
            let _ = write!(
                o,
                "<li class=\"unreadable\">{}</li>",
                esc(h.error.as_deref().unwrap_or_default())
            );
        }
        o.push_str("</ul>");
    }
    o.push_str("</body></html>\n");
    o
}

/// The HTML report of `bootaudit timeline`: the findings, then the time
/// line, each firmware state a band across the page in its firmware's
/// colour (the same firmware, the same colour), the events between them.
pub fn timeline(r: &crate::timeline::Report) -> String {
    use crate::timeline::Row;
    const BANDS: [&str; 6] = [
        "#ddf4ff", "#fff8c5", "#ffebe9", "#dafbe1", "#fbefff", "#eaeef2",
    ];
    let mut out = String::new();
    let _ = write!(
        out,
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>bootaudit timeline</title><style>{STYLE}.band td{{font-weight:600;border-top:3px solid #57606a}}</style></head><body><h1>bootaudit timeline</h1><p class=\"files\">{} file(s), host {}</p><div class=\"badges\">",
        r.inputs.len(),
        esc(&r.host)
    );
    for (n, class) in [
        (r.summary.critical, "critical"),
        (r.summary.high, "high"),
        (r.summary.medium, "medium"),
        (r.summary.low, "low"),
        (r.summary.info, "info"),
    ] {
        let _ = write!(out, "<span class=\"{class}\">{n} {class}</span>");
    }
    out.push_str("</div><h2>Findings</h2><table><tr><th>Severity</th><th>Rule</th><th>Finding and evidence</th></tr>");
    for f in &r.findings {
        let _ = write!(
            out,
            "<tr><td class=\"sev\"><span class=\"{}\">{}</span></td><td class=\"rule\">{}</td><td>{}<details><summary>evidence</summary><pre>{}</pre></details></td></tr>",
            f.severity.word(),
            f.severity.word(),
            esc(f.rule),
            esc(&f.message),
            esc(&serde_json::to_string_pretty(&f.evidence).unwrap_or_default())
        );
    }
    out.push_str("</table><h2>Time line</h2><table><tr><th>Time (UTC)</th><th>Kind</th><th>Who / tool</th><th>What</th><th>Source</th></tr>");
    for row in &r.rows {
        match *row {
            Row::State(i) => {
                let s = &r.states[i];
                let n: usize = s.firmware.trim_start_matches('F').parse().unwrap_or(0);
                let _ = write!(
                    out,
                    "<tr class=\"band\" style=\"background:{}\" data-firmware=\"{}\"><td>{}</td><td>firmware {}</td><td></td><td>{}</td><td>{}</td></tr>",
                    BANDS[n % BANDS.len()],
                    esc(&s.firmware),
                    s.at.map(|t| t.to_string()).unwrap_or_else(|| "unknown".into()),
                    esc(&s.firmware),
                    esc(&super::timeline::state_line(s)),
                    esc(&s.source.to_string())
                );
            }
            Row::Event(i) => {
                let e = &r.events[i];
                let _ = write!(
                    out,
                    "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                    e.at.map(|t| t.to_string())
                        .unwrap_or_else(|| "unknown".into()),
                    e.kind.word(),
                    esc(&super::timeline::actor(e)),
                    esc(&super::timeline::what(e)),
                    esc(&e.source.to_string())
                );
            }
        }
    }
    out.push_str("</table></body></html>\n");
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn escapes_what_a_hostile_snapshot_could_carry() {
        assert_eq!(
            super::esc("<script>\"x\"&'y'</script>"),
            "&lt;script&gt;&quot;x&quot;&amp;&#39;y&#39;&lt;/script&gt;"
        );
    }
}
