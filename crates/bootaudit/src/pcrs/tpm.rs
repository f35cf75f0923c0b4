//! PCR values from a live TPM through tss-esapi: TPM2_GetCapability for the
//! allocated banks, then TPM2_PCR_Read, at most eight PCRs per call as the
//! TPM returns them. Every loop is bounded: a TPM (or a TCTI) that answers
//! with less than asked cannot make bootaudit spin.

use super::PcrError;
pub use super::{QuoteBlobs, TpmError};
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
        why: why.to_string(),
    })
}

/// Reads PCRs 0-23 of every allocated bank through an open context.
pub fn read_pcrs_with(ctx: &mut Context) -> Result<PcrBanks, TpmError> {
    let (cap, _) = ctx
        .get_capability(CapabilityType::AssignedPcr, 0, 1)
        .map_err(|e| TpmError::from(format!("TPM2_GetCapability(PCRS): {e}")))?;
    let CapabilityData::AssignedPcr(assigned) = cap else {
        return Err(TpmError::from(
            "TPM2_GetCapability(PCRS) returned another capability",
        ));
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
                .map_err(|e| TpmError::from(format!("PCR selection: {e}")))?;
            let (_, read, digests) = ctx
                .pcr_read(list)
                .map_err(|e| TpmError::from(format!("TPM2_PCR_Read({alg}): {e}")))?;
            let got: Vec<PcrSlot> = read
                .get_selections()
                .iter()
                .filter(|s| s.hashing_algorithm() == h)
                .flat_map(|s| s.selected())
                .collect();
            if got.len() != digests.len() {
                return Err(TpmError::from(format!(
                    "TPM2_PCR_Read({alg}) returned {} digests for {} PCRs",
                    digests.len(),
                    got.len()
                )));
            }
            for (slot, d) in got.iter().zip(digests.value()) {
                let idx = (*slot as u32).trailing_zeros();
                out.entry(alg).or_default().insert(idx, d.value().to_vec());
            }
        }
    }
    if out.is_empty() {
        return Err(TpmError::from("the TPM reports no readable PCR bank"));
    }
    Ok(out)
}

/// Quotes the PCRs `pcrs` of `bank` with `nonce` as qualifying data,
/// signed by bootaudit's attestation key: a restricted RSA-2048
/// RSASSA-SHA256 signing key created as a primary key under the owner
/// hierarchy. The TPM derives a primary key from its hierarchy seed and the
/// template, so the same TPM gives the same AK every time (until the owner
/// hierarchy is cleared) without storing anything in its NV memory.
pub fn quote_pcrs(
    ctx: &mut Context,
    nonce: &[u8],
    bank: HashAlg,
    pcrs: &[u32],
) -> Result<QuoteBlobs, TpmError> {
    use tss_esapi::structures::{Data, SignatureScheme};
    use tss_esapi::traits::Marshall;
    let h =
        from_alg(bank).ok_or_else(|| TpmError::from(format!("bank {bank} cannot be quoted")))?;
    let ak = create_ak(ctx)?;
    let slots: Vec<PcrSlot> = pcrs
        .iter()
        .filter(|&&i| i < PCR_COUNT)
        .filter_map(|&i| PcrSlot::try_from(1u32 << i).ok())
        .collect();
    let selection = PcrSelectionListBuilder::new()
        .with_selection(h, &slots)
        .build()
        .map_err(|e| TpmError::from(format!("PCR selection: {e}")))?;
    let data = Data::try_from(nonce.to_vec()).map_err(|e| TpmError::from(format!("nonce: {e}")))?;
    let quoted = ctx.execute_with_nullauth_session(|c| {
        c.quote(ak.key_handle, data, SignatureScheme::Null, selection)
    });
    let flushed = ctx.flush_context(ak.key_handle.into());
    let (attest, signature) = quoted.map_err(|e| TpmError::from(format!("TPM2_Quote: {e}")))?;
    flushed.map_err(|e| TpmError::from(format!("TPM2_FlushContext (the AK): {e}")))?;
    Ok(QuoteBlobs {
        ak_public: ak
            .out_public
            .marshall()
            .map_err(|e| TpmError::from(format!("AK public: {e}")))?,
        attest: attest
            .marshall()
            .map_err(|e| TpmError::from(format!("TPMS_ATTEST: {e}")))?,
        signature: signature
            .marshall()
            .map_err(|e| TpmError::from(format!("TPMT_SIGNATURE: {e}")))?,
    })
}

/// bootaudit's attestation key: a restricted RSA-2048 RSASSA-SHA256
/// signing key, fixed to its TPM, created as a primary key under the owner
/// hierarchy, so that the same TPM gives the same key (and name) each time
/// until its owner hierarchy is cleared. The caller flushes it.
pub fn create_ak(
    ctx: &mut Context,
) -> Result<tss_esapi::structures::CreatePrimaryKeyResult, TpmError> {
    use tss_esapi::attributes::ObjectAttributesBuilder;
    use tss_esapi::interface_types::algorithm::PublicAlgorithm;
    use tss_esapi::interface_types::key_bits::RsaKeyBits;
    use tss_esapi::interface_types::resource_handles::Hierarchy;
    use tss_esapi::structures::{
        HashScheme, PublicBuilder, PublicKeyRsa, PublicRsaParametersBuilder, RsaExponent, RsaScheme,
    };
    let attributes = ObjectAttributesBuilder::new()
        .with_fixed_tpm(true)
        .with_fixed_parent(true)
        .with_sensitive_data_origin(true)
        .with_user_with_auth(true)
        .with_restricted(true)
        .with_sign_encrypt(true)
        .build()
        .map_err(|e| TpmError::from(format!("AK attributes: {e}")))?;
    let params = PublicRsaParametersBuilder::new()
        .with_scheme(RsaScheme::RsaSsa(HashScheme::new(HashingAlgorithm::Sha256)))
        .with_key_bits(RsaKeyBits::Rsa2048)
        .with_exponent(RsaExponent::default())
        .with_is_signing_key(true)
        .with_restricted(true)
        .build()
        .map_err(|e| TpmError::from(format!("AK parameters: {e}")))?;
    let template = PublicBuilder::new()
        .with_public_algorithm(PublicAlgorithm::Rsa)
        .with_name_hashing_algorithm(HashingAlgorithm::Sha256)
        .with_object_attributes(attributes)
        .with_rsa_parameters(params)
        .with_rsa_unique_identifier(PublicKeyRsa::default())
        .build()
        .map_err(|e| TpmError::from(format!("AK template: {e}")))?;
    ctx.execute_with_nullauth_session(|c| {
        c.create_primary(Hierarchy::Owner, template, None, None, None, None)
    })
    .map_err(|e| TpmError::from(format!("TPM2_CreatePrimary (the AK): {e}")))
}
