//! The TPM as Linux shows it: the firmware's event log from securityfs
//! (/sys/kernel/security/tpm0/binary_bios_measurements) and the PCR values
//! from sysfs (/sys/class/tpm/tpm0/pcr-<alg>/<n>, kernels 5.12 and later),
//! else from the TPM itself through tss-esapi (feature `tpm`, `--tpm TCTI`).

use super::{failed, read_capped, under};
use crate::snapshot::{CollectError, Tpm};
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

/// Collects the TPM part; None when the host shows no TPM at all.
pub(super) fn collect(
    root: &Path,
    tcti: Option<&str>,
    errors: &mut Vec<CollectError>,
) -> Option<Tpm> {
    let dev = under(root, "/sys/class/tpm/tpm0");
    let log_path = under(root, "/sys/kernel/security/tpm0/binary_bios_measurements");
    if !dev.exists() && !log_path.exists() && tcti.is_none() {
        failed(errors, "tpm", "no /sys/class/tpm/tpm0".into(), "no TPM");
        return None;
    }
    let mut t = Tpm {
        present: true,
        ..Tpm::default()
    };
    match read_capped(&log_path, MAX_LOG) {
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
                    "tpm",
                    format!("{}: {e}", log_path.display()),
                    "malformed",
                ),
            }
            t.event_log = crate::hexser::encode(&log);
        }
        Err(e) => failed(
            errors,
            "tpm",
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
                        "tpm",
                        format!("PCRs from the TPM ({tcti}): {e}"),
                        "unreadable",
                    ),
                },
                None => failed(errors, "tpm", format!("PCRs from sysfs: {why}"), "absent"),
            }
        }
    }
    Some(t)
}

#[cfg(feature = "tpm")]
fn live(tcti: &str) -> Result<crate::eventlog::replay::PcrBanks, String> {
    crate::pcrs::tpm::read_pcrs(tcti).map_err(|e| e.to_string())
}

#[cfg(not(feature = "tpm"))]
fn live(_: &str) -> Result<crate::eventlog::replay::PcrBanks, String> {
    Err("this build has no TPM support (feature `tpm`)".into())
}
