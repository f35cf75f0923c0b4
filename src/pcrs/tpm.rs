//! PCR values from a live TPM through tss-esapi: TPM2_GetCapability for the
//! allocated banks, then TPM2_PCR_Read, at most eight PCRs per call as the
//! TPM returns them. Every loop is bounded: a TPM (or a TCTI) that answers
//! with less than asked cannot make bootaudit spin.

use super::PcrError;
use crate::eventlog::replay::{PcrBanks, PCR_COUNT};
use crate::eventlog::HashAlg;
use std::str::FromStr;
use tss_esapi::constants::CapabilityType;
use tss_esapi::interface_types::algorithm::HashingAlgorithm;
use tss_esapi::structures::{CapabilityData, PcrSelectionListBuilder, PcrSlot};
use tss_esapi::tcti_ldr::TctiNameConf;
use tss_esapi::Context;

/// Maps a tss-esapi bank to bootaudit's.
pub fn to_alg(h: HashingAlgorithm) -> Option<HashAlg> {
    Some(match h {
        HashingAlgorithm::Sha1 => HashAlg::Sha1,
        HashingAlgorithm::Sha256 => HashAlg::Sha256,
        HashingAlgorithm::Sha384 => HashAlg::Sha384,
        HashingAlgorithm::Sha512 => HashAlg::Sha512,
        HashingAlgorithm::Sm3_256 => HashAlg::Sm3_256,
        _ => return None,
    })
}

/// Maps bootaudit's bank to tss-esapi's.
pub fn from_alg(a: HashAlg) -> Option<HashingAlgorithm> {
    Some(match a {
        HashAlg::Sha1 => HashingAlgorithm::Sha1,
        HashAlg::Sha256 => HashingAlgorithm::Sha256,
        HashAlg::Sha384 => HashingAlgorithm::Sha384,
        HashAlg::Sha512 => HashingAlgorithm::Sha512,
        HashAlg::Sm3_256 => HashingAlgorithm::Sm3_256,
        HashAlg::Other(_) => return None,
    })
}

/// Opens an ESAPI context on `tcti` (e.g. `device:/dev/tpmrm0`,
/// `swtpm:host=127.0.0.1,port=2321`).
pub fn open(tcti: &str) -> Result<Context, PcrError> {
    let err = |why: String| PcrError::Tpm {
        tcti: tcti.to_string(),
        why,
    };
    let conf = TctiNameConf::from_str(tcti).map_err(|e| err(format!("bad TCTI string: {e}")))?;
    Context::new(conf).map_err(|e| err(format!("cannot connect: {e}")))
}

/// Reads PCRs 0-23 of every allocated bank.
pub fn read_pcrs(tcti: &str) -> Result<PcrBanks, PcrError> {
    let mut ctx = open(tcti)?;
    read_pcrs_with(&mut ctx).map_err(|why| PcrError::Tpm {
        tcti: tcti.to_string(),
        why,
    })
}

/// Reads PCRs 0-23 of every allocated bank through an open context.
pub fn read_pcrs_with(ctx: &mut Context) -> Result<PcrBanks, String> {
    let (cap, _) = ctx
        .get_capability(CapabilityType::AssignedPcr, 0, 1)
        .map_err(|e| format!("TPM2_GetCapability(PCRS): {e}"))?;
    let CapabilityData::AssignedPcr(assigned) = cap else {
        return Err("TPM2_GetCapability(PCRS) returned another capability".into());
    };
    let mut out = PcrBanks::new();
    for sel in assigned.get_selections() {
        let h = sel.hashing_algorithm();
        let Some(alg) = to_alg(h) else { continue };
        let allocated: Vec<PcrSlot> = sel.selected();
        if allocated.is_empty() {
            continue;
        }
        for chunk in (0..PCR_COUNT).collect::<Vec<_>>().chunks(8) {
            let slots: Vec<PcrSlot> = chunk
                .iter()
                .filter_map(|&i| PcrSlot::try_from(1u32 << i).ok())
                .filter(|s| allocated.contains(s))
                .collect();
            if slots.is_empty() {
                continue;
            }
            let list = PcrSelectionListBuilder::new()
                .with_selection(h, &slots)
                .build()
                .map_err(|e| format!("PCR selection: {e}"))?;
            let (_, read, digests) = ctx
                .pcr_read(list)
                .map_err(|e| format!("TPM2_PCR_Read({alg}): {e}"))?;
            let got: Vec<PcrSlot> = read
                .get_selections()
                .iter()
                .filter(|s| s.hashing_algorithm() == h)
                .flat_map(|s| s.selected())
                .collect();
            if got.len() != digests.len() {
                return Err(format!(
                    "TPM2_PCR_Read({alg}) returned {} digests for {} PCRs",
                    digests.len(),
                    got.len()
                ));
            }
            for (slot, d) in got.iter().zip(digests.value()) {
                let idx = (*slot as u32).trailing_zeros();
                out.entry(alg).or_default().insert(idx, d.value().to_vec());
            }
        }
    }
    if out.is_empty() {
        return Err("the TPM reports no readable PCR bank".into());
    }
    Ok(out)
}
