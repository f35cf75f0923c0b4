//! The TPM through EFI_TCG2_PROTOCOL, called raw: GetCapability, the whole
//! event log as bytes (GetEventLog gives its start and last entry; the
//! length is worked out from the last entry's header), the final-events
//! table, and PCR values with TPM2_PCR_Read through SubmitCommand.

use alloc::collections::BTreeMap;
use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec;
use alloc::vec::Vec;
use bootaudit_snapshot::bytes::Fields;
use bootaudit_snapshot::tcglog::{self, event1_size, event2_size};
use bootaudit_snapshot::{
    AlgorithmId, CollectError, EkCertificate, EndorsementKey, Part, Tpm, TpmQuote,
};
use uefi::prelude::*;
use uefi::proto::unsafe_protocol;
use uefi_raw::protocol::tcg::v2::{
    Tcg2BootServiceCapability, Tcg2EventLogFormat, Tcg2HashAlgorithmBitmap, Tcg2Protocol,
};

/// EFI_TCG2_PROTOCOL, opened through the `uefi` crate's protocol machinery
/// but called through its raw function table.
#[repr(transparent)]
#[unsafe_protocol("607f766c-7455-42be-930b-e4d76db2720f")]
struct RawTcg2(Tcg2Protocol);

/// EFI_TCG2_FINAL_EVENTS_TABLE_GUID.
const FINAL_EVENTS: uefi::Guid = uefi::guid!("1e2ed096-30e2-4254-bd89-863bbef82325");
/// The largest log the collector copies (firmware log areas are far smaller).
const MAX_LOG: usize = 16 << 20;

use crate::hex;

/// Memory the firmware published at `base` (its event-log area, its
/// final-events table), read a field at a time where the structure's own
/// sizes place each field, never `MAX_LOG` bytes or more past `base`. The
/// record sizes come from the snapshot crate's [`tcglog`], the code the
/// host tests and fuzzes on files.
struct FirmwareMemory {
    base: *const u8,
}

impl Fields for FirmwareMemory {
    fn array_at<const N: usize>(&self, at: usize) -> Option<[u8; N]> {
        if at.checked_add(N)? > MAX_LOG {
            return None;
        }
        // SAFETY: `base` is a structure the firmware published, and `tcglog`
        // asks only for fields inside it, as its headers describe it: boot
        // services memory, identity-mapped and readable. The read is
        // unaligned-safe.
        Some(unsafe { core::ptr::read_unaligned(self.base.add(at).cast::<[u8; N]>()) })
    }
}

fn bank_names(b: Tcg2HashAlgorithmBitmap) -> Vec<(&'static str, u16)> {
    let mut v = Vec::new();
    for (bit, name, id) in [
        (Tcg2HashAlgorithmBitmap::SHA1, "sha1", AlgorithmId::SHA1),
        (
            Tcg2HashAlgorithmBitmap::SHA256,
            "sha256",
            AlgorithmId::SHA256,
        ),
        (
            Tcg2HashAlgorithmBitmap::SHA384,
            "sha384",
            AlgorithmId::SHA384,
        ),
        (
            Tcg2HashAlgorithmBitmap::SHA512,
            "sha512",
            AlgorithmId::SHA512,
        ),
        (
            Tcg2HashAlgorithmBitmap::SM3_256,
            "sm3_256",
            AlgorithmId::SM3_256,
        ),
    ] {
        if b.contains(bit) {
            v.push((name, id.0));
        }
    }
    v
}

/// Collects the TPM part; None when there is no TCG2 protocol.
pub fn collect(errors: &mut Vec<CollectError>) -> Option<Tpm> {
    let handle = match boot::get_handle_for_protocol::<RawTcg2>() {
        Ok(h) => h,
        Err(e) => {
            crate::failed(
                errors,
                Part::Tpm,
                "locate EFI_TCG2_PROTOCOL".to_string(),
                Some(e.status()),
            );
            return None;
        }
    };
    let mut proto = match boot::open_protocol_exclusive::<RawTcg2>(handle) {
        Ok(p) => p,
        Err(e) => {
            crate::failed(
                errors,
                Part::Tpm,
                "open EFI_TCG2_PROTOCOL".to_string(),
                Some(e.status()),
            );
            return None;
        }
    };
    let p: &mut Tcg2Protocol = &mut proto.0;
    let mut tpm = Tpm::default();

    // SAFETY: all-zero is a valid value of this plain C structure.
    let mut cap: Tcg2BootServiceCapability = unsafe { core::mem::zeroed() };
    cap.size = core::mem::size_of::<Tcg2BootServiceCapability>() as u8;
    // SAFETY: p is the firmware's EFI_TCG2_PROTOCOL; cap is ours and its size field says how large it is.
    let st = unsafe { (p.get_capability)(p, &mut cap) };
    if st != Status::SUCCESS {
        crate::failed(errors, Part::Tpm, "GetCapability".to_string(), Some(st));
        return Some(tpm);
    }
    tpm.present = cap.tpm_present_flag != 0;
    tpm.protocol_version = format!(
        "{}.{}",
        cap.protocol_version.major, cap.protocol_version.minor
    );
    tpm.manufacturer_id = cap.manufacturer_id;
    let banks = bank_names(cap.active_pcr_banks);
    tpm.active_banks = banks.iter().map(|b| b.0.to_string()).collect();
    if !tpm.present {
        return Some(tpm);
    }
    if let Some(algs) = event_log(p, cap.supported_event_logs, &mut tpm, errors) {
        final_events(&algs, &mut tpm, errors);
    }
    for (name, id) in banks {
        match read_pcrs(p, id, cap.max_response_size) {
            Ok(vals) => {
                tpm.pcrs.insert(name.to_string(), vals);
            }
            Err(e) => crate::failed(errors, Part::Tpm, format!("PCRs of bank {name}: {e}"), None),
        }
    }
    Some(tpm)
}

/// Copies the event log into `tpm`; returns the Spec ID's algorithms of a
/// crypto-agile log (what the final-events table needs to size its events).
fn event_log(
    p: &mut Tcg2Protocol,
    supported: Tcg2EventLogFormat,
    tpm: &mut Tpm,
    errors: &mut Vec<CollectError>,
) -> Option<Vec<(u16, usize)>> {
    let agile = supported.contains(Tcg2EventLogFormat::TCG_2);
    let fmt = if agile {
        Tcg2EventLogFormat::TCG_2
    } else {
        Tcg2EventLogFormat::TCG_1_2
    };
    let (mut loc, mut last, mut trunc) = (0u64, 0u64, 0u8);
    // SAFETY: p is the firmware's EFI_TCG2_PROTOCOL; the out-parameters are ours.
    let st = unsafe { (p.get_event_log)(p, fmt, &mut loc, &mut last, &mut trunc) };
    if st != Status::SUCCESS {
        crate::failed(errors, Part::Tpm, "GetEventLog".to_string(), Some(st));
        return None;
    }
    tpm.log_format = if agile { "crypto-agile" } else { "sha1" }.to_string();
    tpm.log_truncated = trunc != 0;
    if loc == 0 || last < loc || (last - loc) as usize > MAX_LOG {
        if loc != 0 {
            crate::failed(
                errors,
                Part::Tpm,
                format!("GetEventLog: implausible range {loc:#x}..{last:#x}"),
                None,
            );
        }
        return None;
    }
    let base = loc as usize as *const u8;
    let log = FirmwareMemory { base };
    // Where the last record starts, from the log's start (under MAX_LOG,
    // checked above).
    let last_at = (last - loc) as usize;
    let algs = if agile {
        tcglog::spec_algorithms(&log)
    } else {
        None
    };
    // A SHA-1 log's records, and the Spec ID event of a crypto-agile log
    // that holds nothing else, are TCG_PCR_EVENTs; the rest TCG_PCR_EVENT2s.
    let last_len = if !agile || last_at == 0 {
        event1_size(&log, last_at)
    } else {
        algs.as_ref().and_then(|a| event2_size(&log, last_at, a))
    };
    let Some(last_len) = last_len.filter(|n| *n <= MAX_LOG) else {
        crate::failed(
            errors,
            Part::Tpm,
            format!("GetEventLog: cannot size the last entry, at byte {last_at} of the log"),
            None,
        );
        return None;
    };
    let len = last_at + last_len;
    // SAFETY: the firmware owns [loc, last + last_len), its log area.
    let bytes = unsafe { core::slice::from_raw_parts(base, len) };
    tpm.event_log = hex(bytes);
    algs
}

fn final_events(algs: &[(u16, usize)], tpm: &mut Tpm, errors: &mut Vec<CollectError>) {
    let table = system::with_config_table(|t| {
        t.iter()
            .find(|e| e.guid == FINAL_EVENTS)
            .map(|e| e.address as *const u8)
    });
    let Some(t) = table else { return };
    // The table the firmware published: a version (u64), the count (u64),
    // then the events.
    let table = FirmwareMemory { base: t };
    let Some(count) = table.u64_le_at(8) else {
        return;
    };
    if count > 10_000 {
        crate::failed(
            errors,
            Part::Tpm,
            format!("final events table claims {count} events"),
            None,
        );
        return;
    }
    let mut off = 16usize;
    for i in 0..count {
        match event2_size(&table, off, algs) {
            Some(n) if off + n <= MAX_LOG => off += n,
            _ => {
                crate::failed(
                    errors,
                    Part::Tpm,
                    format!("final events table: event {i} at byte {off} cannot be sized"),
                    None,
                );
                return;
            }
        }
    }
    tpm.final_events_count = count;
    // SAFETY: [t + 16, t + off) is the table's events, as just walked.
    tpm.final_events = hex(unsafe { core::slice::from_raw_parts(t.add(16), off - 16) });
}

/// PCRs 0-23 of bank `alg`, read with the snapshot crate's TPM2_PCR_Read
/// (the host's reader too), through [`submit`].
fn read_pcrs(
    p: &mut Tcg2Protocol,
    alg: u16,
    max_resp: u16,
) -> Result<BTreeMap<u32, String>, String> {
    use bootaudit_snapshot::tpm2;
    let resp_len = (max_resp as usize).clamp(64, tpm2::MAX_RESPONSE);
    let got = tpm2::read_bank(alg, |cmd| submit(p, cmd, resp_len)).map_err(|e| e.to_string())?;
    Ok(got.into_iter().map(|(i, d)| (i, hex(&d))).collect())
}

/// Sends one command through SubmitCommand, again (at most 20 times, 50 ms
/// apart) while the TPM answers TPM_RC_RETRY, TPM_RC_YIELDED or
/// TPM_RC_TESTING; returns the response, cut to the size its header gives
/// (at most the buffer).
fn submit(p: &mut Tcg2Protocol, cmd: &[u8], max_resp: usize) -> Result<Vec<u8>, String> {
    let mut last = Vec::new();
    for _ in 0..20 {
        last = submit_once(p, cmd, max_resp)?;
        let rc = last
            .get(6..10)
            .map(|b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]));
        if !matches!(rc, Some(0x922 | 0x908 | 0x90a)) {
            break;
        }
        boot::stall(core::time::Duration::from_millis(50));
    }
    Ok(last)
}

fn submit_once(p: &mut Tcg2Protocol, cmd: &[u8], max_resp: usize) -> Result<Vec<u8>, String> {
    let mut resp = vec![0u8; max_resp];
    // SAFETY: p is the firmware's EFI_TCG2_PROTOCOL; cmd and resp are ours, with the sizes passed.
    let st = unsafe {
        (p.submit_command)(
            p,
            cmd.len() as u32,
            cmd.as_ptr(),
            resp.len() as u32,
            resp.as_mut_ptr(),
        )
    };
    if st != Status::SUCCESS {
        return Err(format!("SubmitCommand: {st:?}"));
    }
    let size = resp
        .get(2..6)
        .map(|b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]) as usize)
        .unwrap_or(0);
    resp.truncate(size.clamp(10, max_resp));
    Ok(resp)
}

/// The boot quote: bootaudit's AK (the primary key of
/// `bootaudit_snapshot::tpm2::AK_TEMPLATE`, the key the host's `collect
/// --quote` and `ak` make) quotes PCRs 0-7 of the SHA-256 bank with
/// `nonce`, the SHA-256 of the snapshot file just written. Made before any
/// OS runs, it binds the snapshot's bytes to this TPM, this boot (the
/// quote's resetCount) and this moment of it (PCR 4 still ends with the
/// collector's own measurement). The key is flushed afterwards.
pub fn boot_quote(nonce: &[u8]) -> Result<TpmQuote, String> {
    use bootaudit_snapshot::tpm2;
    with_tpm(|p, max| {
        let (created, quoted) = tpm2::quote(nonce, tpm2::ALG_SHA256, 0xff, |c| submit(p, c, max))
            .map_err(|e| e.to_string())?;
        Ok(TpmQuote {
            nonce: hex(nonce),
            ak_public: hex(&created.public),
            attest: hex(&quoted.attest),
            signature: hex(&quoted.signature),
        })
    })
}

/// The TPM's endorsement key (the TCG default RSA 2048 EK, made and
/// flushed through `bootaudit_snapshot::tpm2::endorsement_key`, the host's
/// sequence), as the identity part records it; a failure goes to `errors`.
pub fn endorsement_key(errors: &mut Vec<CollectError>) -> Option<EndorsementKey> {
    use bootaudit_snapshot::tpm2;
    use sha2::Digest;
    let sha256 = |b: &[u8]| hex(&sha2::Sha256::digest(b));
    match with_tpm(|p, max| {
        tpm2::read_endorsement(|c| submit(p, c, max)).map_err(|e| e.to_string())
    }) {
        Ok(read) => {
            let certificate = match read.certificate {
                Ok(c) => c.map(|der| EkCertificate::of(&der, sha256)),
                Err(e) => {
                    crate::failed(
                        errors,
                        Part::Identity,
                        format!("the EK certificate: {e}"),
                        None,
                    );
                    None
                }
            };
            Some(EndorsementKey::of(&read.public, certificate, sha256))
        }
        Err(e) => {
            crate::failed(
                errors,
                Part::Identity,
                format!("the TPM's endorsement key: {e}"),
                None,
            );
            None
        }
    }
}

/// Runs `f` with the firmware's EFI_TCG2_PROTOCOL, opened exclusively, and
/// the largest response it returns, once a TPM is known to be present.
fn with_tpm<T>(f: impl FnOnce(&mut Tcg2Protocol, usize) -> Result<T, String>) -> Result<T, String> {
    use bootaudit_snapshot::tpm2;
    let handle = boot::get_handle_for_protocol::<RawTcg2>()
        .map_err(|e| format!("locate EFI_TCG2_PROTOCOL: {:?}", e.status()))?;
    let mut proto = boot::open_protocol_exclusive::<RawTcg2>(handle)
        .map_err(|e| format!("open EFI_TCG2_PROTOCOL: {:?}", e.status()))?;
    let p: &mut Tcg2Protocol = &mut proto.0;
    // SAFETY: all-zero is a valid value of this plain C structure.
    let mut cap: Tcg2BootServiceCapability = unsafe { core::mem::zeroed() };
    cap.size = core::mem::size_of::<Tcg2BootServiceCapability>() as u8;
    // SAFETY: p is the firmware's EFI_TCG2_PROTOCOL; cap is ours and its size field says how large it is.
    let st = unsafe { (p.get_capability)(p, &mut cap) };
    if st != Status::SUCCESS || cap.tpm_present_flag == 0 {
        return Err(format!(
            "GetCapability: {st:?}, TPM present: {}",
            cap.tpm_present_flag
        ));
    }
    let max = (cap.max_response_size as usize).clamp(1024, tpm2::MAX_RESPONSE);
    f(p, max)
}
