//! `verify-boot`: is a pre-OS collector snapshot from the same boot, the
//! same TPM and the same moment as a host quote taken later?
//!
//! A snapshot on the ESP is a file anyone with root can replace, and the
//! PCRs it records (0-3, 6 and 7 do not change after the collector runs)
//! are the same every boot, so equal PCRs alone prove nothing about
//! *which* boot a snapshot came from. The collector therefore quotes before
//! any OS runs, with bootaudit's AK and the SHA-256 of the snapshot file as
//! the nonce (`snap-NNNN.quote.json`). This module checks, against an AK
//! the verifier trusts:
//! - both quotes verify (signature, PCR digest, event log replay), the
//!   host's over the verifier's fresh nonce, the collector's over the
//!   snapshot file's own bytes;
//! - `same-boot`: the two quotes carry the same resetCount (the TPM counts
//!   every boot), the collector's clock is earlier, restartCount did not
//!   go back;
//! - `pcrs-stable`: the collector's PCRs 0-3, 6 and 7 are the host's;
//! - `pre-os`: the collector's PCR 4 is a value the host's PCR 4 passed
//!   through, not its last: the quote was made while the collector was the
//!   last boot application measured, which no code running later in the
//!   boot can bring back;
//! - `collector-build`: the collector's own PCR 4 event is the Authenticode
//!   hash of the build the verifier names.

use crate::eventlog::HashAlg;
use crate::quote::{self, TrustedAk};
use crate::snapshot::{Snapshot, TpmQuote};
use serde::Serialize;
use sha2::{Digest, Sha256};

/// The PCRs that no longer change once the collector runs, on the
/// platforms bootaudit boots (OVMF): the collector runs after the
/// firmware measured its configuration and Secure Boot state.
pub const STABLE_PCRS: [u32; 6] = [0, 1, 2, 3, 6, 7];
/// The PCRs the collector's boot quote covers.
pub const BOOT_QUOTE_PCRS: [u32; 8] = [0, 1, 2, 3, 4, 5, 6, 7];

/// One check's outcome.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    /// Proven.
    Pass,
    /// Disproven.
    Fail,
    /// Not decidable from what was given (never a pass).
    Unknown,
}

/// One check and what was found.
#[derive(Clone, Debug, Serialize)]
pub struct BootCheck {
    /// `host/signature`, `collector/nonce`, `same-boot`, ...
    pub check: String,
    /// The outcome.
    pub outcome: Outcome,
    /// What was found.
    pub detail: String,
}

/// The report of `verify-boot`.
#[derive(Clone, Debug, Serialize)]
pub struct BootReport {
    /// The collector snapshot.
    pub collector: String,
    /// The host snapshot.
    pub host: String,
    /// Pass only when every check passes.
    pub verdict: Outcome,
    /// Every check, in order.
    pub checks: Vec<BootCheck>,
}

/// What `verify-boot` judges.
pub struct Inputs<'a> {
    /// The collector snapshot's file name, bytes and parse.
    pub collector: (&'a str, &'a [u8], &'a Snapshot),
    /// The boot quote's file name and content.
    pub boot_quote: (&'a str, &'a TpmQuote),
    /// The host snapshot's file name and parse (`collect --quote`).
    pub host: (&'a str, &'a Snapshot),
    /// The AK the verifier trusts, and its file's name.
    pub ak: (&'a TrustedAk, &'a str),
    /// The nonce the verifier gave the host's `collect --quote`.
    pub nonce: &'a [u8],
    /// A known collector build: its name and Authenticode SHA-256.
    pub collector_build: Option<(&'a str, [u8; 32])>,
}

/// Runs every check.
pub fn verify(i: &Inputs) -> Result<BootReport, quote::VerifyError> {
    let (cname, cbytes, csnap) = i.collector;
    let (hname, hsnap) = i.host;
    let (ak, ak_file) = i.ak;
    let mut checks = Vec::new();
    let add = |checks: &mut Vec<BootCheck>, check: String, ok: bool, detail: String| {
        checks.push(BootCheck {
            check,
            outcome: if ok { Outcome::Pass } else { Outcome::Fail },
            detail,
        })
    };

    let host = quote::verify_trusted(hname, hsnap, ak, ak_file, i.nonce, &[])?;
    for c in host.checks {
        add(&mut checks, format!("host/{}", c.check), c.ok, c.detail);
    }
    // The collector snapshot with its boot quote in place: the quote's
    // nonce must be the SHA-256 of the file's bytes, as read here.
    let (qname, q) = i.boot_quote;
    let mut quoted = csnap.clone();
    match quoted.tpm.as_mut() {
        Some(t) => t.quote = Some(q.clone()),
        None => return Err(quote::VerifyError::NoQuote(cname.to_string())),
    }
    let digest = Sha256::digest(cbytes);
    let coll = quote::verify_snapshot(
        qname,
        &quoted,
        &ak.public(),
        ak_file,
        &digest,
        &BOOT_QUOTE_PCRS,
    )?;
    for c in coll.checks {
        add(
            &mut checks,
            format!("collector/{}", c.check),
            c.ok,
            c.detail,
        );
    }

    let attest =
        |name: &str, q: Option<&TpmQuote>| -> Result<quote::QuoteInfo, quote::VerifyError> {
            let q = q.ok_or_else(|| quote::VerifyError::NoQuote(name.to_string()))?;
            let b = crate::hexser::decode(&q.attest).ok_or_else(|| quote::VerifyError::Hex {
                file: name.to_string(),
                field: "attest",
            })?;
            quote::parse_attest(&b).map_err(|source| quote::VerifyError::Structure {
                file: name.to_string(),
                source,
            })
        };
    let ha = attest(hname, hsnap.tpm.as_ref().and_then(|t| t.quote.as_ref()))?;
    let ca = attest(qname, Some(q))?;
    let same = ha.reset_count == ca.reset_count
        && ca.clock < ha.clock
        && ca.restart_count <= ha.restart_count;
    add(
        &mut checks,
        "same-boot".into(),
        same,
        format!(
            "resetCount {} (collector) and {} (host); clock {} ms and {} ms; restartCount {} and {}{}",
            ca.reset_count,
            ha.reset_count,
            ca.clock,
            ha.clock,
            ca.restart_count,
            ha.restart_count,
            if same {
                ""
            } else if ha.reset_count != ca.reset_count {
                ": the collector snapshot is from another boot"
            } else {
                ": the collector's quote is not earlier in this boot"
            }
        ),
    );

    let sha256 = |s: &Snapshot, pcr: u32| -> Option<String> {
        s.tpm.as_ref()?.pcrs.get("sha256")?.get(&pcr).cloned()
    };
    let moved: Vec<String> = STABLE_PCRS
        .iter()
        .filter(|p| match (sha256(csnap, **p), sha256(hsnap, **p)) {
            (Some(a), Some(b)) => !a.eq_ignore_ascii_case(&b),
            _ => true,
        })
        .map(|p| format!("PCR{p}"))
        .collect();
    add(
        &mut checks,
        "pcrs-stable".into(),
        moved.is_empty(),
        if moved.is_empty() {
            "the collector's sha256 PCRs 0-3, 6 and 7 are the host's".into()
        } else {
            format!("differ or are missing: {}", moved.join(", "))
        },
    );

    checks.push(pre_os(hname, hsnap, sha256(csnap, 4)));
    checks.push(build(cname, csnap, i.collector_build));

    let verdict = if checks.iter().any(|c| c.outcome == Outcome::Fail) {
        Outcome::Fail
    } else if checks.iter().any(|c| c.outcome == Outcome::Unknown) {
        Outcome::Unknown
    } else {
        Outcome::Pass
    };
    Ok(BootReport {
        collector: cname.to_string(),
        host: hname.to_string(),
        verdict,
        checks,
    })
}

/// The sha256 PCR 4 chain of a snapshot's event log: the value after each
/// PCR 4 event, with the event.
fn pcr4_chain(log: &crate::eventlog::EventLog) -> Vec<([u8; 32], &crate::eventlog::Event)> {
    let mut v = [0u8; 32];
    let mut out = Vec::new();
    for e in log.events.iter().filter(|e| e.pcr == 4) {
        let Some(d) = e.digest(HashAlg::Sha256) else {
            continue;
        };
        let mut h = Sha256::new();
        h.update(v);
        h.update(d);
        v = h.finalize().into();
        out.push((v, e));
    }
    out
}

fn pre_os(hname: &str, host: &Snapshot, collector_pcr4: Option<String>) -> BootCheck {
    let check = |outcome, detail| BootCheck {
        check: "pre-os".into(),
        outcome,
        detail,
    };
    let Some(want) = collector_pcr4.and_then(|h| crate::hexser::decode(&h)) else {
        return check(
            Outcome::Fail,
            "the collector snapshot has no sha256 PCR 4".into(),
        );
    };
    let log = match host
        .tpm
        .as_ref()
        .map(|t| crate::snapshot::event_log(t, hname))
    {
        Some(Ok(Some(l))) => l,
        Some(Err(e)) => return check(Outcome::Fail, e.to_string()),
        _ => return check(Outcome::Fail, "the host snapshot has no event log".into()),
    };
    let chain = pcr4_chain(&log);
    match chain.iter().position(|(v, _)| v[..] == want[..]) {
        Some(k) if k + 1 < chain.len() => {
            let next = chain[k + 1].1;
            check(
                Outcome::Pass,
                format!(
                    "the host's PCR 4 passed through the collector's value at its event {} and moved on ({} at byte {} of the host log)",
                    chain[k].1.number,
                    next.type_name(),
                    next.offset
                ),
            )
        }
        Some(_) => check(
            Outcome::Fail,
            "the host's PCR 4 still has the collector's value: nothing was measured after it, so the quote proves no pre-OS moment".into(),
        ),
        None => check(
            Outcome::Fail,
            "the host's PCR 4 never had the collector's value: the collector snapshot is not of this boot path".into(),
        ),
    }
}

fn build(cname: &str, coll: &Snapshot, known: Option<(&str, [u8; 32])>) -> BootCheck {
    let check = |outcome, detail| BootCheck {
        check: "collector-build".into(),
        outcome,
        detail,
    };
    let log = match coll
        .tpm
        .as_ref()
        .map(|t| crate::snapshot::event_log(t, cname))
    {
        Some(Ok(Some(l))) => l,
        Some(Err(e)) => return check(Outcome::Fail, e.to_string()),
        _ => {
            return check(
                Outcome::Fail,
                "the collector snapshot has no event log".into(),
            )
        }
    };
    let chain = pcr4_chain(&log);
    let Some((_, last)) = chain.last() else {
        return check(
            Outcome::Fail,
            "the collector's log has no PCR 4 event".into(),
        );
    };
    if last.event_type != crate::eventlog::EventType::EFI_BOOT_SERVICES_APPLICATION {
        return check(
            Outcome::Fail,
            format!(
                "the last PCR 4 event of the collector's log ({} at byte {}) is not a boot application",
                last.type_name(),
                last.offset
            ),
        );
    }
    let got = crate::hexser::encode(last.digest(HashAlg::Sha256).unwrap_or_default());
    match known {
        None => check(
            Outcome::Unknown,
            format!(
                "the collector measured was {got}; no known build was given (--collector FILE)"
            ),
        ),
        Some((name, h)) => {
            let want = crate::hexser::encode(h);
            if got == want {
                check(
                    Outcome::Pass,
                    format!("the collector measured is {name} ({want})"),
                )
            } else {
                check(
                    Outcome::Fail,
                    format!("the collector measured was {got}, not {name} ({want}): a replaced collector"),
                )
            }
        }
    }
}
