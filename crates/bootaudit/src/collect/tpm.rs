//! The TPM as Linux shows it: the firmware's event log from securityfs
//! (/sys/kernel/security/tpm0/binary_bios_measurements) and the PCR values
//! from sysfs (/sys/class/tpm/tpm0/pcr-<alg>/<n>, kernels 5.12 and later),
//! else from the TPM itself (`--tpm TCTI`: the device or swtpm spoken to
//! directly, other TCTIs through tss-esapi with feature `tpm`).

use super::{failed, under};
use crate::snapshot::{CollectError, Part, Tpm};
use std::collections::BTreeMap;
use std::path::Path;

/// The largest log read (real ones are tens of KiB; a kernel caps its
/// copy well below this).
const MAX_LOG: u64 = 16 << 20;

fn banks_to_hex(b: &crate::eventlog::replay::PcrBanks) -> BTreeMap<String, BTreeMap<u32, String>> {
    b.iter()
        .map(|(alg, pcrs)| {
            (
                alg.name(),
                pcrs.iter()
                    .map(|(i, v)| (*i, crate::hexser::encode(v)))
                    .collect(),
            )
        })
        .collect()
}

/// Collects the TPM part; None when the host shows no TPM at all. With a
/// nonce, the PCRs are read from the TPM and quoted.
pub(super) fn collect(
    root: &Path,
    tcti: Option<&str>,
    quote_nonce: Option<&[u8]>,
    errors: &mut Vec<CollectError>,
) -> Option<Tpm> {
    // On the live host, the kernel's TPM device is the fallback for PCRs
    // sysfs lacks; under another root (a copied tree) it is not this
    // machine's TPM, so only an explicit --tpm is used.
    let fallback = tcti.or((is_live(root) || quote_nonce.is_some()).then_some(DEFAULT_TCTI));
    let mut t = from_sysfs(root, fallback, errors)?;
    if let Some(nonce) = quote_nonce {
        let tcti = tcti.unwrap_or(DEFAULT_TCTI);
        match live_quote(tcti, nonce) {
            Ok((pcrs, q)) => {
                t.pcrs = banks_to_hex(&pcrs);
                t.quote = Some(q);
            }
            Err(e) => failed(
                errors,
                Part::Tpm,
                format!("quote through {tcti}: {e}"),
                "quote failed",
            ),
        }
    }
    Some(t)
}

/// The kernel's resource-managed TPM device.
const DEFAULT_TCTI: &str = "device:/dev/tpmrm0";

/// Whether `root` is the live host with a TPM device (not a copied tree,
/// whose TPM is not this machine's).
fn is_live(root: &Path) -> bool {
    root == Path::new("/") && Path::new("/dev/tpmrm0").exists()
}

/// The TPM's endorsement key and certificate, which name the machine: from
/// the live host's TPM or the one `tcti` (--tpm) names, never a copied
/// tree's. A failure is recorded in `errors`.
pub(super) fn endorsement_key(
    root: &Path,
    tcti: Option<&str>,
    errors: &mut Vec<CollectError>,
) -> Option<crate::snapshot::EndorsementKey> {
    let tcti = tcti.or(is_live(root).then_some(DEFAULT_TCTI))?;
    let sha256 = |b: &[u8]| crate::hexser::encode(<sha2::Sha256 as sha2::Digest>::digest(b));
    let read = match crate::pcrs::endorsement_live(tcti) {
        Ok(r) => r,
        Err(e) => {
            failed(
                errors,
                Part::Identity,
                format!("the TPM's endorsement key through {tcti}: {e}"),
                "tpm failed",
            );
            return None;
        }
    };
    let certificate = match read.certificate {
        Ok(cert) => cert.map(|der| crate::snapshot::EkCertificate::of(&der, sha256)),
        Err(e) => {
            failed(
                errors,
                Part::Identity,
                format!("the EK certificate through {tcti}: {e}"),
                "tpm failed",
            );
            None
        }
    };
    Some(crate::snapshot::EndorsementKey::of(
        &read.public,
        certificate,
        sha256,
    ))
}

/// The log and PCRs as the kernel shows them (PCRs from the TPM through
/// `tcti` when sysfs has none).
fn from_sysfs(root: &Path, tcti: Option<&str>, errors: &mut Vec<CollectError>) -> Option<Tpm> {
    let dev = under(root, "/sys/class/tpm/tpm0");
    let log_path = under(root, "/sys/kernel/security/tpm0/binary_bios_measurements");
    if !dev.exists() && !log_path.exists() && tcti.is_none() {
        failed(errors, Part::Tpm, "no /sys/class/tpm/tpm0".into(), "no TPM");
        return None;
    }
    let mut t = Tpm {
        present: true,
        ..Tpm::default()
    };
    match crate::fsutil::read_input(&log_path, MAX_LOG) {
        Ok(log) => {
            match crate::eventlog::parse(&log) {
                Ok(l) => {
                    t.log_format = match l.format {
                        crate::eventlog::LogFormat::CryptoAgile => "crypto-agile",
                        crate::eventlog::LogFormat::Sha1 => "sha1",
                    }
                    .into();
                    t.active_banks = l.banks().iter().map(|a| a.name()).collect();
                }
                Err(e) => failed(
                    errors,
                    Part::Tpm,
                    format!("{}: {e}", log_path.display()),
                    "malformed",
                ),
            }
            t.event_log = crate::hexser::encode(&log);
        }
        Err(e) => failed(
            errors,
            Part::Tpm,
            format!("{}: {e}", log_path.display()),
            super::reason(&e),
        ),
    }
    match crate::pcrs::read_sysfs(root) {
        Ok(b) if !b.is_empty() => t.pcrs = banks_to_hex(&b),
        sysfs => {
            let why = match sysfs {
                Err(e) => e.to_string(),
                Ok(_) => "no pcr-<alg> directories (kernel before 5.12?)".into(),
            };
            match tcti {
                Some(tcti) => match live(tcti) {
                    Ok(b) => t.pcrs = banks_to_hex(&b),
                    Err(e) => failed(
                        errors,
                        Part::Tpm,
                        format!("PCRs from the TPM ({tcti}): {e}"),
                        "unreadable",
                    ),
                },
                None => failed(
                    errors,
                    Part::Tpm,
                    format!("PCRs from sysfs: {why}"),
                    "absent",
                ),
            }
        }
    }
    Some(t)
}

fn live(tcti: &str) -> Result<crate::eventlog::replay::PcrBanks, crate::pcrs::PcrError> {
    crate::pcrs::read_live(tcti)
}

/// Reads the PCRs from the TPM and quotes PCRs 0-23 (of the sha256 bank
/// when the TPM has one, else sha1).
fn live_quote(
    tcti: &str,
    nonce: &[u8],
) -> Result<(crate::eventlog::replay::PcrBanks, crate::snapshot::TpmQuote), crate::pcrs::TpmError> {
    let all: Vec<u32> = (0..crate::eventlog::replay::PCR_COUNT).collect();
    let (pcrs, q) = crate::pcrs::quote_live(tcti, nonce, &all)?;
    let hex = crate::hexser::encode;
    Ok((
        pcrs,
        crate::snapshot::TpmQuote {
            nonce: hex(nonce),
            ak_public: hex(&q.ak_public),
            attest: hex(&q.attest),
            signature: hex(&q.signature),
        },
    ))
}
