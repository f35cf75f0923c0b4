//! Fuzz target for the TPM responses the collector parses before any OS
//! (TPM2_CreatePrimary of the AK and of the EK, TPM2_Quote,
//! TPM2_FlushContext, TPM2_NV_ReadPublic and TPM2_NV_Read), and for the boot
//! quote file `verify-boot` reads.
#![no_main]

use bootaudit::snapshot::tpm2;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = tpm2::parse_create_primary(data);
    if let Ok(p) = tpm2::parse_create_primary_of(data, &tpm2::EK_TEMPLATE_PREFIX) {
        assert!(p.public.starts_with(&tpm2::EK_TEMPLATE_PREFIX));
    }
    let _ = tpm2::parse_quote(data);
    let _ = tpm2::parse_empty(data);
    let _ = tpm2::parse_pcr_read(data, tpm2::ALG_SHA256);
    let _ = tpm2::parse_pcr_banks(data);
    let _ = tpm2::parse_nv_read_public(data, tpm2::EK_CERT_RSA_INDEX);
    if let Ok(d) = tpm2::parse_nv_read(data, 512) {
        assert_eq!(d.len(), 512);
    }
    let _ = serde_json::from_slice::<bootaudit::snapshot::TpmQuote>(data);
});
