//! TPM 2.0 quotes, verified: what a TPM signs with an attestation key (AK)
//! so that a verifier can trust PCR values that passed through a possibly
//! compromised OS. The structures are read by [`crate::tpm_structures`];
//! this module decides: the signature under a trusted AK, the verifier's
//! nonce, that the quoted PCR digest is the digest of the PCR values given,
//! and that the quote covers every PCR the evidence relies on.

use crate::eventlog::HashAlg;
use crate::tpm_structures::{digest, verify_signature};
pub use crate::tpm_structures::{
    parse_attest, parse_public, parse_signature, public_area, AkPublic, PublicArea, QuoteError,
    QuoteInfo, QuoteSignature, SignatureError,
};
use serde::Serialize;
use std::collections::BTreeMap;

/// One check of a quote and its verdict.
#[derive(Clone, Debug, Serialize)]
pub struct Check {
    /// "signature", "nonce", "pcr-digest", ...
    pub check: &'static str,
    /// Passed.
    pub ok: bool,
    /// What was found.
    pub detail: String,
}

/// Checks a quote: signature under `ak`, `nonce` in extraData, and the
/// quoted digest against `pcrs` (bank name → index → value).
pub fn verify(
    ak: &AkPublic,
    attest: &[u8],
    signature: &[u8],
    nonce: &[u8],
    pcrs: &BTreeMap<String, BTreeMap<u32, Vec<u8>>>,
) -> Result<Vec<Check>, QuoteError> {
    verify_parsed(ak, &parse_attest(attest)?, attest, signature, nonce, pcrs)
}

/// [`verify`], with the TPMS_ATTEST already parsed into `info`.
fn verify_parsed(
    ak: &AkPublic,
    info: &QuoteInfo,
    attest: &[u8],
    signature: &[u8],
    nonce: &[u8],
    pcrs: &BTreeMap<String, BTreeMap<u32, Vec<u8>>>,
) -> Result<Vec<Check>, QuoteError> {
    let sig = parse_signature(signature)?;
    let mut out = Vec::new();
    let signed = verify_signature(ak, &sig, attest);
    out.push(Check {
        check: "signature",
        ok: signed.is_ok(),
        detail: signed.map_or_else(|e| e.to_string(), |()| "valid under the AK".into()),
    });
    out.push(Check {
        check: "nonce",
        ok: info.extra_data == nonce,
        detail: format!(
            "quote's extraData {} (expected {})",
            crate::hexser::encode(&info.extra_data),
            crate::hexser::encode(nonce)
        ),
    });
    let hash = match &sig {
        QuoteSignature::RsaSsa { hash, .. } | QuoteSignature::Ecdsa { hash, .. } => *hash,
    };
    let mut cat = Vec::new();
    let mut missing = Vec::new();
    for (bank, idx) in &info.selection {
        for i in idx {
            match pcrs.get(&bank.name()).and_then(|b| b.get(i)) {
                Some(v) => cat.extend_from_slice(v),
                None => missing.push(format!("{bank} PCR{i}")),
            }
        }
    }
    let quoted: Vec<String> = info
        .selection
        .iter()
        .map(|(b, i)| format!("{b} {i:?}"))
        .collect();
    let d = digest(hash, &cat).unwrap_or_default();
    out.push(Check {
        check: "pcr-digest",
        ok: missing.is_empty() && d == info.pcr_digest,
        detail: if missing.is_empty() {
            format!(
                "quoted {}: digest {} of the values given {}",
                quoted.join(", "),
                if d == info.pcr_digest {
                    "matches"
                } else {
                    "DIFFERS from"
                },
                "the quote's"
            )
        } else {
            format!("the values given lack {}", missing.join(", "))
        },
    });
    Ok(out)
}

/// The PCRs a quote must cover, bank by bank: every PCR the snapshot
/// records for a quoted bank and every PCR the log extends, narrowed to
/// `narrow` when that is not empty. Fails when the quote selects no PCR,
/// when nothing is left to cover, or when a required PCR is not quoted.
fn coverage(
    selection: &[(HashAlg, Vec<u32>)],
    pcrs: &BTreeMap<String, BTreeMap<u32, Vec<u8>>>,
    log: Option<&crate::eventlog::EventLog>,
    narrow: &[u32],
) -> Check {
    use std::collections::BTreeSet;
    let keep = |i: &u32| narrow.is_empty() || narrow.contains(i);
    let extended: BTreeSet<u32> = log
        .map(|l| {
            l.events
                .iter()
                .filter(|e| {
                    e.event_type != crate::eventlog::EventType::NO_ACTION
                        && e.pcr < crate::eventlog::replay::PCR_COUNT
                })
                .map(|e| e.pcr)
                .collect()
        })
        .unwrap_or_default();
    let fail = |detail: String| Check {
        check: "pcr-selection",
        ok: false,
        detail,
    };
    let quoted_any = selection.iter().any(|(_, i)| !i.is_empty());
    if !quoted_any {
        return fail("the quote selects no PCR: it vouches for nothing".into());
    }
    let mut missing = Vec::new();
    let mut covered = 0usize;
    for (bank, idx) in selection.iter().filter(|(_, i)| !i.is_empty()) {
        let quoted: BTreeSet<u32> = idx.iter().copied().collect();
        let mut required: BTreeSet<u32> = extended.iter().copied().filter(keep).collect();
        if let Some(b) = pcrs.get(&bank.name()) {
            required.extend(b.keys().copied().filter(keep));
        }
        covered += required.len();
        missing.extend(
            required
                .difference(&quoted)
                .map(|i| format!("{bank} PCR{i}")),
        );
    }
    if covered == 0 {
        return fail(
            "no PCR to cover: the snapshot records none for the quoted banks and the log extends none"
                .into(),
        );
    }
    if !missing.is_empty() {
        return fail(format!(
            "the quote does not cover {} (recorded by the snapshot or extended by its log)",
            missing.join(", ")
        ));
    }
    Check {
        check: "pcr-selection",
        ok: true,
        detail: format!(
            "the quote covers every PCR the snapshot records and the log extends{}",
            if narrow.is_empty() {
                String::new()
            } else {
                format!(" among {narrow:?}")
            }
        ),
    }
}

/// The verdict of `bootaudit verify-quote`.
#[derive(Clone, Debug, Serialize)]
pub struct QuoteReport {
    /// The snapshot checked.
    pub snapshot: String,
    /// Every check, in order.
    pub checks: Vec<Check>,
    /// True when every check passed.
    pub ok: bool,
}

/// Why a snapshot's quote cannot be checked at all.
#[derive(Debug, thiserror::Error)]
pub enum VerifyError {
    /// The snapshot has no quote.
    #[error("{0}: the snapshot holds no TPM quote (collect it with --quote)")]
    NoQuote(String),
    /// A field is not hex.
    #[error("{file}: tpm.quote.{field} is not hex")]
    Hex {
        /// The snapshot.
        file: String,
        /// The field.
        field: &'static str,
    },
    /// A structure is malformed.
    #[error("{file}: {source}")]
    Structure {
        /// The file.
        file: String,
        /// What is wrong.
        source: QuoteError,
    },
}

/// Checks a snapshot's quote against the trusted AK (`ak`: TPMT_PUBLIC or
/// TPM2B_PUBLIC bytes, `ak_file` names it in errors) and the nonce the
/// verifier chose: the snapshot's AK is the trusted one, the signature
/// verifies under it, the nonce is in it, the quoted PCR digest is that of
/// the snapshot's PCR values, and the snapshot's event log replays to them.
///
/// The quote must also cover every PCR the snapshot records for each
/// quoted bank and every PCR the log extends (`narrow`, when not empty,
/// limits both to those PCRs): a genuine quote over no PCRs, or over one
/// the log never touches, vouches for nothing.
pub fn verify_snapshot(
    name: &str,
    s: &crate::snapshot::Snapshot,
    ak: &[u8],
    ak_file: &str,
    nonce: &[u8],
    narrow: &[u32],
) -> Result<QuoteReport, VerifyError> {
    let tpm = s.tpm.as_ref();
    let q = tpm
        .and_then(|t| t.quote.as_ref())
        .ok_or_else(|| VerifyError::NoQuote(name.to_string()))?;
    let hex = |field: &'static str, v: &str| {
        hex::decode(v).map_err(|_| VerifyError::Hex {
            file: name.to_string(),
            field,
        })
    };
    let trusted = parse_public(ak).map_err(|source| VerifyError::Structure {
        file: ak_file.to_string(),
        source,
    })?;
    let theirs = parse_public(&hex("ak_public", &q.ak_public)?).map_err(|source| {
        VerifyError::Structure {
            file: name.to_string(),
            source,
        }
    })?;
    let mut checks = vec![Check {
        check: "ak",
        ok: theirs == trusted,
        detail: if theirs == trusted {
            format!("the snapshot's AK is the one in {ak_file}")
        } else {
            format!("the snapshot names another AK than {ak_file}")
        },
    }];
    let mut pcrs: BTreeMap<String, BTreeMap<u32, Vec<u8>>> = BTreeMap::new();
    for (bank, values) in tpm.map(|t| &t.pcrs).into_iter().flatten() {
        for (i, v) in values {
            pcrs.entry(bank.clone())
                .or_default()
                .insert(*i, hex("pcrs", v)?);
        }
    }
    let structure = |source| VerifyError::Structure {
        file: name.to_string(),
        source,
    };
    let attest = hex("attest", &q.attest)?;
    let info = parse_attest(&attest).map_err(structure)?;
    checks.extend(
        verify_parsed(
            &trusted,
            &info,
            &attest,
            &hex("signature", &q.signature)?,
            nonce,
            &pcrs,
        )
        .map_err(structure)?,
    );
    // The log, decoded and parsed once for both checks that read it.
    let log = tpm.map(|t| (t, crate::snapshot::event_log(t, name)));
    let parsed = log
        .as_ref()
        .and_then(|(_, l)| l.as_ref().ok().and_then(Option::as_ref));
    checks.push(coverage(&info.selection, &pcrs, parsed, narrow));
    // The log against the PCR values the quote vouches for.
    let replay = |ok: bool, detail: String| Check {
        check: "log-replay",
        ok,
        detail,
    };
    checks.push(match &log {
        Some((t, Ok(Some(log)))) => {
            let bad: Vec<String> = crate::snapshot::self_check(t, log)
                .into_iter()
                .filter(|v| v.verdict == crate::pcrs::Verdict::Mismatch)
                .map(|v| format!("{} PCR{}", v.bank, v.pcr))
                .collect();
            if bad.is_empty() {
                replay(
                    true,
                    "the event log replays to the quoted PCR values".into(),
                )
            } else {
                replay(
                    false,
                    format!("the event log does not replay to {}", bad.join(", ")),
                )
            }
        }
        Some((_, Err(e))) => replay(false, e.to_string()),
        _ => replay(false, "the snapshot has no event log".into()),
    });
    Ok(QuoteReport {
        snapshot: name.to_string(),
        ok: checks.iter().all(|c| c.ok),
        checks,
    })
}

/// The SSHSIG namespace of a verifier's signature over an enrolled-AK
/// record (`ak verify --sign-key`).
pub const AK_NAMESPACE: &str = "bootaudit-ak";

/// The AK a verifier trusts for `verify-quote`.
pub enum TrustedAk {
    /// An enrolled AK (`bootaudit ak verify`): proven to live in a TPM
    /// whose EK certificate chains to the CAs the verifier gave, as far as
    /// the record is the verifier's own: `vouched` is the verifier's
    /// signature over it, verified against `--ak-signers`. A record
    /// without one is a file anyone can write around any key.
    Enrolled {
        /// The record.
        record: crate::attest::Enrolled,
        /// Who signed the record, when a signature verified.
        vouched: Option<crate::signing::Verified>,
    },
    /// A bare public key: nothing proves it is in a TPM at all.
    Raw(Vec<u8>),
}

impl TrustedAk {
    /// Reads `--ak FILE`: an enrolled-AK JSON file, or a TPMT_PUBLIC /
    /// TPM2B_PUBLIC. The record's signature is not checked
    /// ([`TrustedAk::read_vouched`] does).
    pub fn read(bytes: &[u8], file: &str) -> Result<TrustedAk, crate::attest::AttestError> {
        if bytes.first() == Some(&b'{') {
            let e: crate::attest::Enrolled =
                crate::attest::enrol::read(bytes, file, crate::attest::enrol::ENROLLED)?;
            crate::attest::enrol::hex_field(&e.ak_public, file, "ak_public", 4096)?;
            Ok(TrustedAk::Enrolled {
                record: e,
                vouched: None,
            })
        } else {
            Ok(TrustedAk::Raw(bytes.to_vec()))
        }
    }

    /// [`TrustedAk::read`] of `path`, and, with `signers`, the verifier's
    /// signature over an enrolled-AK record (`FILE.sig`, namespace
    /// [`AK_NAMESPACE`]): one that is missing or does not verify refuses
    /// the file.
    pub fn read_vouched(
        bytes: &[u8],
        path: &std::path::Path,
        signers: Option<&[crate::signing::AllowedSigner]>,
    ) -> anyhow::Result<TrustedAk> {
        let file = path.display().to_string();
        let mut ak = TrustedAk::read(bytes, &file)?;
        if let (TrustedAk::Enrolled { vouched, .. }, Some(allowed)) = (&mut ak, signers) {
            let v = crate::signing::verify_in(
                AK_NAMESPACE,
                bytes,
                &crate::signing::sig_path(path),
                allowed,
            )
            .map_err(|e| anyhow::anyhow!("{file}: the enrolment record is refused: {e}"))?;
            *vouched = Some(v);
        }
        Ok(ak)
    }

    /// The AK's public area bytes.
    pub fn public(&self) -> Vec<u8> {
        match self {
            TrustedAk::Enrolled { record, .. } => {
                crate::hexser::decode(&record.ak_public).unwrap_or_default()
            }
            TrustedAk::Raw(b) => b.clone(),
        }
    }

    /// Whether the AK is certified: an enrolled one whose record a
    /// verifier's signature vouches for. `Err` says why not.
    pub fn certified(&self, ak_file: &str) -> Result<String, String> {
        match self {
            TrustedAk::Enrolled {
                record: e,
                vouched: Some(v),
            } => Ok(format!(
                "enrolled {}: it unwrapped a credential for the {} EK certified by {}; the record is signed by {} ({})",
                e.enrolled_at,
                e.ek_key,
                e.ek_chain
                    .iter()
                    .skip(1)
                    .map(|p| p.subject.as_str())
                    .collect::<Vec<_>>()
                    .join(" < "),
                v.principal,
                v.fingerprint
            )),
            TrustedAk::Enrolled { vouched: None, .. } => Err(format!(
                "{ak_file} is an enrolment record no verifier's signature vouches for (give --ak-signers; sign it with `ak verify --sign-key`): anyone can write one around any key"
            )),
            TrustedAk::Raw(_) => Err(format!(
                "{ak_file} is a bare public key: nothing proves it lives in a TPM (enrol it with `bootaudit ak`)"
            )),
        }
    }
}

/// [`verify_snapshot`] against the AK the verifier trusts, and one check
/// more, `ak-certified`: it passes only for an enrolled AK. A bare public
/// key fails it, since a compromised OS can make a software key and sign
/// any PCR values with it.
pub fn verify_trusted(
    name: &str,
    s: &crate::snapshot::Snapshot,
    ak: &TrustedAk,
    ak_file: &str,
    nonce: &[u8],
    narrow: &[u32],
) -> Result<QuoteReport, VerifyError> {
    let mut r = verify_snapshot(name, s, &ak.public(), ak_file, nonce, narrow)?;
    let certified = ak.certified(ak_file);
    r.checks.insert(
        1,
        Check {
            check: "ak-certified",
            ok: certified.is_ok(),
            detail: certified.unwrap_or_else(|e| e),
        },
    );
    r.ok = r.checks.iter().all(|c| c.ok);
    Ok(r)
}
