//! Gathering a bundle's files: a running host's raw artefacts, or an
//! ESP's collector snapshots.

use super::*;

/// The raw artefacts of a running host under `root`, as the bundle holds
/// them: the snapshot (`snapshot.json`), the TPM event log, the ACPI
/// tables, the EFI variables and the SMBIOS tables (`raw/...`), and the
/// ESP's binaries with their hashes (`esp.json`). What cannot be read is
/// left out (the snapshot's `errors` say why); symbolic links and special
/// files are never followed.
pub fn gather(
    root: &Path,
    snapshot_json: &[u8],
    snap: &crate::snapshot::Snapshot,
) -> Vec<(String, Vec<u8>)> {
    let mut out = vec![("snapshot.json".to_string(), snapshot_json.to_vec())];
    let mut budget: u64 = 512 << 20;
    let under = |abs: &str| root.join(abs.trim_start_matches('/'));
    if let Ok(b) = crate::fsutil::read_input(
        &under("/sys/kernel/security/tpm0/binary_bios_measurements"),
        64 << 20,
    ) {
        budget = budget.saturating_sub(b.len() as u64);
        out.push(("raw/tpm/binary_bios_measurements".into(), b));
    }
    for (dir, prefix) in [
        ("/sys/firmware/acpi/tables", "raw/acpi"),
        ("/sys/firmware/efi/efivars", "raw/efivars"),
        ("/sys/firmware/dmi/tables", "raw/dmi"),
    ] {
        let d = under(dir);
        if crate::fsutil::check_input_dir(&d).is_err() {
            continue;
        }
        let mut files = Vec::new();
        let mut odd = Vec::new();
        if super::verify::walk(&d, &d, "", 0, &mut files, &mut odd, &mut 0).is_err() {
            continue;
        }
        for f in files {
            let rel = format!("{prefix}/{f}");
            if !safe_rel(&rel) {
                continue;
            }
            if let Ok(b) = crate::fsutil::read_input(&d.join(&f), 16 << 20) {
                if (b.len() as u64) > budget {
                    break;
                }
                budget -= b.len() as u64;
                out.push((rel, b));
            }
        }
    }
    if let Some(esp) = &snap.esp {
        out.push(("esp.json".into(), json_bytes(esp)));
    }
    out
}

/// The host as its snapshot names it.
pub fn host_of(snap: &crate::snapshot::Snapshot) -> Host {
    let id = snap.identity.as_ref();
    let smbios = id.and_then(|i| i.smbios.as_ref());
    Host {
        hostname: id.and_then(|i| i.hostname.clone()),
        machine_id: id.and_then(|i| i.machine_id.clone()),
        system_uuid: smbios
            .map(|s| s.system_uuid.clone())
            .filter(|s| !s.is_empty()),
        system_serial: smbios
            .map(|s| s.system_serial.clone())
            .filter(|s| !s.is_empty()),
    }
}

/// Quotes PCRs 0-9 (the firmware's and the boot loader's, which do not
/// move once the OS runs; IMA keeps extending PCR 10) through `tcti` with
/// the manifest's SHA-256 as the nonce, by bootaudit's AK.
pub fn quote_manifest(
    tcti: &str,
    manifest_sha256: &str,
) -> Result<BundleQuote, crate::pcrs::TpmError> {
    let nonce = hexser::decode(manifest_sha256).unwrap_or_default();
    let (_, q) = crate::pcrs::quote_live(tcti, &nonce, &QUOTED_PCRS)?;
    Ok(BundleQuote {
        format: QUOTE_FORMAT.into(),
        manifest_sha256: manifest_sha256.into(),
        ak_public: hexser::encode(&q.ak_public),
        attest: hexser::encode(&q.attest),
        signature: hexser::encode(&q.signature),
    })
}

/// A bundle's files from a collector's ESP: every file under its
/// `\bootaudit` directory (the snapshots, their read-back SHA-256 files,
/// the ACPI and flash sidecars), as `esp/...`, read as `ingest` reads
/// them (a directory or an image, never mounted). The host is the one the
/// last valid snapshot names.
pub fn from_esp(source: &Path) -> Result<(Files, Host), crate::esp::EspError> {
    let (_, files) = crate::esp::read_tree(source, "bootaudit")?;
    let mut out = Vec::new();
    let mut host = Host::default();
    for f in files {
        let rel = format!("esp/{}", f.path.trim_start_matches('/'));
        if !safe_rel(&rel) {
            continue;
        }
        if f.path.ends_with(".json") && f.bytes.len() as u64 <= crate::snapshot::MAX_SNAPSHOT_SIZE {
            if let Ok(s) = crate::snapshot::parse(&f.bytes, &f.path) {
                host = host_of(&s);
            }
        }
        out.push((rel, f.bytes));
    }
    out.sort_by(|a, b| a.0.cmp(&b.0));
    Ok((out, host))
}
