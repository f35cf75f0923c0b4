//! The known bad: published implant indicators (the shipped ones and
//! `--indicators`), a WPBT, test keys in PK, KEK and db, a dbx that lacks
//! published revocations, and key databases that trust only Microsoft's
//! expired 2011 CAs.
//!
//! The key databases are taken from what PCR7 measured when the log is
//! verified there (the machine cannot rewrite that without the PCR
//! disagreeing); otherwise from the producer's parsed variables, and the
//! result says so.

use super::indicators::{BlockRule, Candidate};
use super::{result, CheckResult, Evidence, Options, Outcome};
use crate::findings::Finding;
use crate::rules;
use crate::secure_boot::{dbx, keys};
use crate::snapshot::Part;
use bootaudit_snapshot::siglist::{self, SignatureDatabase};
use serde_json::json;

pub(super) fn run(e: &Evidence<'_>, o: &Options, out: &mut Vec<CheckResult>) {
    indicators(e, o, out);
    wpbt(e, out);
    test_keys(e, out);
    dbx_current(e, o, out);
    ca_2023(e, out);
    firmware_reference(e, o, out);
    sbat(e, o, out);
}

fn sbat(e: &Evidence<'_>, o: &Options, out: &mut Vec<CheckResult>) {
    use crate::secure_boot::sbat;
    let r = rules::CHECK_SECURE_BOOT_SBAT_CURRENT;
    let Some(m) = &e.measured else {
        out.push(result(
            r,
            Outcome::Unknown,
            "no event log: nothing says which SBAT level shim enforced".into(),
            json!(null),
        ));
        return;
    };
    let Some((_, logged)) = m.authorities.iter().rev().find(|(n, _)| n == "SbatLevel") else {
        out.push(result(
            r,
            Outcome::NotApplicable,
            "PCR7 holds no SbatLevel measurement: the boot did not go through shim".into(),
            json!(null),
        ));
        return;
    };
    let have = sbat::parse_level(&logged.data);
    let mut ev = json!({"measured": have, "event": logged.event, "verified": logged.verified && e.pcr_replays(7)});
    let levels: Vec<(&String, &sbat::ShimLevels)> = o
        .shims
        .iter()
        .filter_map(|(f, l)| l.as_ref().ok().map(|l| (f, l)))
        .collect();
    ev["shims"] = json!(o
        .shims
        .iter()
        .map(|(f, l)| match l {
            Ok(l) => json!({"file": f, "latest": l.latest, "previous": l.previous}),
            Err(why) => json!({"file": f, "error": why}),
        })
        .collect::<Vec<_>>());
    let Some((file, newest)) = levels
        .iter()
        .max_by(|a, b| a.1.latest.date.cmp(&b.1.latest.date))
    else {
        out.push(result(
            r,
            Outcome::Unknown,
            format!(
                "SBAT level {} is enforced, and no shim binary with a .sbatlevel section to compare it with (--shim FILE)",
                have.date.as_deref().unwrap_or("(undated)")
            ),
            ev,
        ));
        return;
    };
    let lacks = sbat::behind(&have, &newest.latest);
    out.push(if lacks.is_empty() {
        result(
            r,
            Outcome::Pass,
            format!(
                "SBAT level {} holds the latest level of {file} ({})",
                have.date.as_deref().unwrap_or("(undated)"),
                newest.latest.date.as_deref().unwrap_or("(undated)")
            ),
            ev,
        )
    } else {
        result(
            r,
            Outcome::Fail,
            format!(
                "SBAT level {} (event {}) lacks the revocations of {file}'s latest level {}: {}",
                have.date.as_deref().unwrap_or("(undated)"),
                logged.event,
                newest.latest.date.as_deref().unwrap_or("(undated)"),
                lacks.join(", ")
            ),
            ev,
        )
    });
}

fn firmware_reference(e: &Evidence<'_>, o: &Options, out: &mut Vec<CheckResult>) {
    let r = rules::CHECK_FIRMWARE_REFERENCE;
    let Some(refs) = &o.references else {
        out.push(result(
            r,
            Outcome::Unknown,
            "no vendor firmware reference to judge the firmware by (give them with --references DIR)"
                .into(),
            json!(null),
        ));
        return;
    };
    let c = crate::firmware::judge::check(e.file, e.s, refs);
    let bad: Vec<&Finding> = c
        .findings
        .iter()
        .filter(|f| !f.explained && f.severity > rules::FIRMWARE_REFERENCE_TOLERATED)
        .collect();
    let unchecked = c
        .findings
        .iter()
        .any(|f| f.rule == rules::FIRMWARE_REFERENCE_UNCHECKED.id);
    let evidence = json!({"references": refs.len(), "findings": c.findings});
    out.push(if unchecked && bad.len() == 1 {
        result(r, Outcome::Unknown, bad[0].message.clone(), evidence)
    } else if !bad.is_empty() {
        result(
            r,
            Outcome::Fail,
            bad.iter()
                .map(|f| format!("{}: {}", f.rule, f.message))
                .collect::<Vec<_>>()
                .join("; "),
            evidence,
        )
    } else {
        result(
            r,
            Outcome::Pass,
            format!(
                "the firmware matches the references ({} findings, none above medium)",
                c.findings.len()
            ),
            evidence,
        )
    });
}

/// The shipped indicators (`src/diff/indicators.json`) as blocklist rules:
/// one GUID each.
pub(super) fn shipped() -> Vec<BlockRule> {
    crate::diff::indicators::rules()
        .into_iter()
        .map(|i| BlockRule {
            threat: i.implant.clone(),
            description: format!("{} ({})", i.component, i.source),
            rule: i.id.clone(),
            criteria: [("guid".to_string(), i.fvfile_guid.to_ascii_uppercase())]
                .into_iter()
                .collect(),
            exclude: false,
        })
        .collect()
}

/// What the snapshot names images by: loaded images, boot entries and
/// event-log device paths (a GUID each), and the collector's firmware
/// inventory (GUID and body SHA-256).
fn snapshot_candidates(e: &Evidence<'_>) -> Vec<Candidate> {
    let mut c = Vec::new();
    let mut by_text = |place: String, text: &str| {
        if let Some(g) = super::indicators::fvfile_guid(text) {
            c.push(Candidate {
                place,
                guid: Some(g),
                ..Candidate::default()
            });
        }
    };
    for i in e.s.loaded_images.iter().flatten() {
        by_text(format!("loaded image {}", i.device_path), &i.device_path);
    }
    for b in e.s.secure_boot.iter().flat_map(|s| &s.boot_entries) {
        by_text(format!("boot entry {}", b.name), &b.device_path);
    }
    if let Ok(log) = &e.log {
        for x in &log.events {
            by_text(
                format!("event {} (PCR{})", x.number, x.pcr),
                &x.decode().summary(),
            );
        }
    }
    for v in e.s.firmware_volumes.iter().flatten() {
        for f in &v.files {
            c.push(Candidate {
                place: format!(
                    "firmware volume {} file {}",
                    v.name.as_deref().unwrap_or(&v.device_path),
                    f.guid
                ),
                guid: Some(f.guid.to_ascii_uppercase()),
                sha256: f.body_sha256.clone(),
                ..Candidate::default()
            });
        }
    }
    c
}

fn indicators(e: &Evidence<'_>, o: &Options, out: &mut Vec<CheckResult>) {
    let r = rules::CHECK_INDICATORS;
    let all = super::indicator_rules(&o.blocklist);
    let mut candidates = snapshot_candidates(e);
    let from_snapshot = candidates.len();
    for img in &o.firmware {
        candidates.extend(img.candidates.iter().cloned());
    }
    let hits = super::indicators::hits(&all, &candidates);
    let confirmed: Vec<_> = hits.iter().filter(|h| h.confirmed).collect();
    let unconfirmed: Vec<_> = hits.iter().filter(|h| !h.confirmed).collect();
    let images: Vec<serde_json::Value> = o
        .firmware
        .iter()
        .map(|i| {
            json!({"file": i.file, "sha256": i.sha256, "bodies": i.candidates.len(),
                   "is_the_snapshots_flash_copy": e.s.firmware_flash.as_ref().map(|f| f.sha256 == i.sha256)})
        })
        .collect();
    let evidence = json!({"matches": hits, "indicators": all.len(),
                          "places_searched": candidates.len(), "firmware_images": images});
    // Nothing to search is no pass: not collected, or emptied.
    let nothing_to_search = candidates.is_empty();
    out.push(if !confirmed.is_empty() {
        result(
            r,
            Outcome::Fail,
            confirmed
                .iter()
                .map(|h| {
                    format!(
                        "{} ({}, rule {}) in {}",
                        h.rule.threat,
                        h.rule.description,
                        h.rule.rule,
                        h.found_in.join(", ")
                    )
                })
                .collect::<Vec<_>>()
                .join("; "),
            evidence,
        )
    } else if !unconfirmed.is_empty() {
        result(
            r,
            Outcome::Unknown,
            format!(
                "{} may match, but their rules also need what was not read ({}): give the firmware image (--firmware) or the CPU",
                unconfirmed
                    .iter()
                    .map(|h| format!("{}/{} in {}", h.rule.threat, h.rule.rule, h.found_in.join(", ")))
                    .collect::<Vec<_>>()
                    .join("; "),
                unconfirmed
                    .iter()
                    .flat_map(|h| h.unchecked.iter().cloned())
                    .collect::<std::collections::BTreeSet<_>>()
                    .into_iter()
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            evidence,
        )
    } else if nothing_to_search {
        result(
            r,
            Outcome::Unknown,
            if e.s.loaded_images.is_none() && e.log.is_err() {
                e.absent(Part::LoadedImages, "loaded-image list and no event log")
            } else {
                "no image in the snapshot is named by a firmware-file GUID (no loaded image, boot entry, log device path or inventory to match)".into()
            },
            evidence,
        )
    } else {
        result(
            r,
            Outcome::Pass,
            format!(
                "none of {} indicator rules matches the {} places searched ({from_snapshot} in the snapshot{})",
                all.len(),
                candidates.len(),
                if o.firmware.is_empty() {
                    String::new()
                } else {
                    format!(", {} executable bodies of the firmware images", candidates.len() - from_snapshot)
                }
            ),
            evidence,
        )
    });
}

fn wpbt(e: &Evidence<'_>, out: &mut Vec<CheckResult>) {
    let r = rules::CHECK_ACPI_WPBT_ABSENT;
    let Some(a) = e.s.acpi.as_ref() else {
        let (outcome, why) = e.acpi_absent();
        out.push(result(r, outcome, why, json!(null)));
        return;
    };
    let w: Vec<_> = a.tables.iter().filter(|t| t.signature == "WPBT").collect();
    out.push(if a.tables.is_empty() {
        // An emptied table list proves nothing absent.
        result(
            r,
            Outcome::Unknown,
            "the ACPI part lists no table at all".into(),
            json!(null),
        )
    } else if w.is_empty() {
        result(
            r,
            Outcome::Pass,
            format!("no WPBT among the {} tables", a.tables.len()),
            json!(null),
        )
    } else {
        result(
            r,
            Outcome::Fail,
            format!(
                "a WPBT (OEM {:?}, table {:?}): the firmware hands Windows a program to run at every boot",
                w[0].oem_id, w[0].oem_table_id
            ),
            json!(w),
        )
    });
}

/// Where a key database was read from.
struct Db {
    lists: SignatureDatabase,
    source: &'static str,
}

/// A key database: as PCR7 measured it when that is verified, else as the
/// producer parsed it; `Err` says why neither is there.
fn database(e: &Evidence<'_>, name: &str) -> Result<Db, String> {
    if let Some(m) = e.measured.as_ref().and_then(|m| m.variables.get(name)) {
        if m.verified && e.pcr_replays(7) {
            return Ok(Db {
                lists: siglist::parse(&m.data, &|d| crate::hexser::sha256(d)),
                source: "as PCR7 measured it (verified)",
            });
        }
    }
    let Some(sb) = e.s.secure_boot.as_ref() else {
        return Err(e.absent(Part::SecureBoot, "Secure Boot part"));
    };
    match sb.variable(name) {
        None => Ok(Db {
            lists: SignatureDatabase::default(),
            source: "absent from the firmware's variables (not confirmed by a verified PCR7 log)",
        }),
        Some(v) => match &v.signatures {
            Some(s) => Ok(Db {
                lists: s.clone(),
                source: "as the producer read it (not confirmed by a verified PCR7 log)",
            }),
            None => Err(format!(
                "{name} was recorded by digest only (an older producer), and PCR7's log does not give a verified copy"
            )),
        },
    }
}

fn test_keys(e: &Evidence<'_>, out: &mut Vec<CheckResult>) {
    for (rule, names) in [
        (rules::CHECK_SECURE_BOOT_PK_TEST_KEY, &["PK", "KEK"][..]),
        (rules::CHECK_SECURE_BOOT_DB_TEST_KEY, &["db"][..]),
    ] {
        let mut found = Vec::new();
        let mut read = Vec::new();
        let mut unknown = Vec::new();
        for n in names {
            match database(e, n) {
                Ok(db) => {
                    found.extend(keys::test_keys(n, &db.lists));
                    let certs: Vec<serde_json::Value> = db
                        .lists
                        .signatures
                        .iter()
                        .filter(|s| s.kind == "x509")
                        .map(|s| {
                            let c = s.certificate.as_ref();
                            json!({"subject": c.map(|c| &c.subject), "issuer": c.map(|c| &c.issuer),
                                   "not_after": c.map(|c| &c.not_after), "sha256": s.digest,
                                   "owner": s.owner})
                        })
                        .collect();
                    read.push(json!({"database": n, "source": db.source,
                                     "certificates": certs, "error": db.lists.error}));
                }
                Err(why) => unknown.push(format!("{n}: {why}")),
            }
        }
        let evidence = json!({"databases": read, "test_keys": found});
        out.push(if !found.is_empty() {
            result(
                rule,
                Outcome::Fail,
                found
                    .iter()
                    .map(|k| format!("{} holds {:?}: {}", k.database, k.subject, k.why))
                    .collect::<Vec<_>>()
                    .join("; "),
                evidence,
            )
        } else if !unknown.is_empty() {
            result(rule, Outcome::Unknown, unknown.join("; "), evidence)
        } else {
            let certs: usize = read
                .iter()
                .map(|r| r["certificates"].as_array().map_or(0, |a| a.len()))
                .sum();
            if certs == 0 {
                result(
                    rule,
                    Outcome::NotApplicable,
                    format!("{} hold no certificate", names.join(" and ")),
                    evidence,
                )
            } else {
                result(
                    rule,
                    Outcome::Pass,
                    format!(
                        "none of the {certs} certificates of {} is a known test key",
                        names.join(" and ")
                    ),
                    evidence,
                )
            }
        });
    }
}

fn dbx_current(e: &Evidence<'_>, o: &Options, out: &mut Vec<CheckResult>) {
    let r = rules::CHECK_SECURE_BOOT_DBX_CURRENT;
    if o.dbx_updates.is_empty() {
        out.push(result(
            r,
            Outcome::Unknown,
            "no revocation update to check the dbx against (give one with --dbx FILE)".into(),
            json!(null),
        ));
        return;
    }
    let db = match database(e, "dbx") {
        Ok(d) => d,
        Err(why) => {
            out.push(result(r, Outcome::Unknown, why, json!(null)));
            return;
        }
    };
    let m = dbx::missing(&db.lists, &o.dbx_updates);
    let files: Vec<&str> = o.dbx_updates.iter().map(|u| u.file.as_str()).collect();
    let evidence = json!({"dbx_source": db.source, "dbx_entries": db.lists.signatures.len(),
                          "updates": files, "missing": m});
    out.push(if m.is_empty() {
        result(
            r,
            Outcome::Pass,
            format!(
                "the dbx ({} entries) holds all {} entries of {}",
                db.lists.signatures.len(),
                m.required,
                files.join(", ")
            ),
            evidence,
        )
    } else {
        let mut what = Vec::new();
        if m.hashes > 0 {
            what.push(format!(
                "{} Authenticode hashes of revoked boot code",
                m.hashes
            ));
        }
        if !m.certificates.is_empty() {
            what.push(format!(
                "{} revoked certificates ({})",
                m.certificates.len(),
                m.certificates.join("; ")
            ));
        }
        result(
            r,
            Outcome::Fail,
            format!(
                "the dbx ({} entries) lacks {} of the {} entries of {}: {}",
                db.lists.signatures.len(),
                m.hashes + m.certificates.len(),
                m.required,
                files.join(", "),
                what.join(", and ")
            ),
            evidence,
        )
    });
}

fn ca_2023(e: &Evidence<'_>, out: &mut Vec<CheckResult>) {
    let r = rules::CHECK_SECURE_BOOT_CA_2023;
    let mut all = keys::MicrosoftCas::default();
    let mut unknown = Vec::new();
    let mut sources = Vec::new();
    for n in ["KEK", "db"] {
        match database(e, n) {
            Ok(db) => {
                let m = keys::microsoft_cas(&db.lists);
                all.ca_2011.extend(m.ca_2011);
                all.ca_2023.extend(m.ca_2023);
                sources.push(json!({"database": n, "source": db.source}));
            }
            Err(why) => unknown.push(format!("{n}: {why}")),
        }
    }
    let evidence = json!({"microsoft_cas": all, "databases": sources});
    out.push(if !unknown.is_empty() {
        result(r, Outcome::Unknown, unknown.join("; "), evidence)
    } else if all.ca_2011.is_empty() && all.ca_2023.is_empty() {
        result(
            r,
            Outcome::NotApplicable,
            "KEK and db trust no Microsoft CA (the owner's own keys, or none)".into(),
            evidence,
        )
    } else if all.ca_2023.is_empty() {
        result(
            r,
            Outcome::Fail,
            format!(
                "KEK and db trust only Microsoft's 2011 CAs ({}), which expired in 2026, and no 2023 CA",
                all.ca_2011.join(", ")
            ),
            evidence,
        )
    } else {
        result(
            r,
            Outcome::Pass,
            format!("the 2023 CAs are trusted ({})", all.ca_2023.join(", ")),
            evidence,
        )
    });
}
