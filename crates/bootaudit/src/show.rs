//! What `bootaudit show` reports about one snapshot: a summary a responder
//! reads first, computed here so that renderers only format it.

use crate::pcrs::{PcrVerdict, Verdict};
use crate::snapshot::{self, memory_type_name, CollectError, Identity, MapKeyWatch, Snapshot};
use serde::Serialize;

/// Regions and size of one memory type in one map.
#[derive(Clone, Debug, Serialize)]
pub struct TypeSummary {
    /// EFI_MEMORY_TYPE number.
    #[serde(rename = "type")]
    pub ty: u32,
    /// Its name.
    pub name: &'static str,
    /// Number of descriptors.
    pub regions: usize,
    /// Total pages (4 KiB).
    pub pages: u64,
}

/// One labelled memory map, summarised.
#[derive(Clone, Debug, Serialize)]
pub struct MapView {
    /// The label (`entry`, `quiet-1`, ...).
    pub label: String,
    /// Its MapKey.
    pub map_key: u64,
    /// Number of descriptors.
    pub descriptors: usize,
    /// Per type.
    pub by_type: Vec<TypeSummary>,
}

/// The TPM part, summarised.
#[derive(Clone, Debug, Serialize)]
pub struct TpmView {
    /// TPM present.
    pub present: bool,
    /// Active banks.
    pub active_banks: Vec<String>,
    /// Log format.
    pub log_format: String,
    /// Log size in bytes.
    pub log_bytes: usize,
    /// Number of events (without the Spec ID header).
    pub events: usize,
    /// Whether the log replays to the PCR values the collector read.
    pub verdicts: Vec<PcrVerdict>,
    /// Banks whose logged digest does not cover the event's data.
    pub digest_mismatches: Vec<crate::eventlog::check::DigestMismatch>,
    /// The log could not be parsed: why.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub log_error: Option<String>,
}

/// A confidential VM's CC event log, summarised.
#[derive(Clone, Debug, Serialize)]
pub struct CcView {
    /// The CCEL table's CC type, named ("Intel TDX").
    pub technology: String,
    /// LASA, where the log area is.
    pub log_area_start_address: u64,
    /// Log area size in bytes.
    pub log_bytes: usize,
    /// Number of events (without the Spec ID header).
    pub events: usize,
    /// The replayed registers (RTMR0-3), SHA-384, hex. What they must
    /// equal is in a TD quote, which the snapshot does not hold.
    pub registers: std::collections::BTreeMap<String, String>,
    /// Banks whose logged digest does not cover the event's data.
    pub digest_mismatches: Vec<crate::eventlog::check::DigestMismatch>,
    /// The log could not be parsed, or is not a CC event log: why.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub log_error: Option<String>,
}

/// The loaded images, counted.
#[derive(Clone, Debug, Serialize)]
pub struct ImagesView {
    /// All images.
    pub total: usize,
    /// Images loaded from a firmware volume (`FvFile(GUID)` in their path).
    pub firmware_files: usize,
    /// Images loaded from elsewhere (disks, the network, option ROMs).
    pub other: Vec<String>,
}

/// The whole summary.
#[derive(Clone, Debug, Serialize)]
pub struct ShowReport {
    /// The file.
    pub file: String,
    /// Format version.
    pub format: String,
    /// Producer kind and version.
    pub source: String,
    /// Firmware identity.
    pub identity: Option<Identity>,
    /// Every memory map.
    pub memory_maps: Vec<MapView>,
    /// The quiet-window evidence.
    pub map_key_watch: Option<MapKeyWatch>,
    /// The previous boot's exit-boot-services lab record.
    pub previous_exit_boot_services: Option<crate::snapshot::ExitBootServicesRecord>,
    /// The TPM.
    pub tpm: Option<TpmView>,
    /// A confidential VM's CC event log.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cc_event_log: Option<CcView>,
    /// The ACPI part as collected (RSDP and table facts).
    pub acpi: Option<crate::snapshot::Acpi>,
    /// The Device Tree part as collected (its hash and node summary).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub device_tree: Option<crate::snapshot::DeviceTree>,
    /// Secure Boot state, key databases and boot entries, as collected.
    pub secure_boot: Option<crate::snapshot::SecureBoot>,
    /// Loaded images: how many, and how many are firmware drivers (FvFile).
    pub loaded_images: Option<ImagesView>,
    /// The firmware's own volume inventory: (volume, files, bodies hashed).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub firmware_volumes: Option<Vec<(String, usize, usize)>>,
    /// The flash copy, as recorded.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub firmware_flash: Option<crate::snapshot::FirmwareFlash>,
    /// What the collector could not collect.
    pub errors: Vec<CollectError>,
    /// False when the snapshot's own log does not replay to its own PCRs,
    /// cannot be parsed, or has digests that do not cover their data.
    pub consistent: bool,
    /// What the consistency check rested on, in words; empty when the
    /// snapshot holds nothing measured to check (no TPM log, no CC event
    /// log), which is not a pass.
    pub checked: Vec<String>,
    /// The evidence the snapshot does not hold, each with the collector's
    /// recorded reason where it gave one: absent is named, never passed.
    pub absent: Vec<String>,
}

/// Builds the summary.
pub fn build(file: &str, s: &Snapshot) -> ShowReport {
    let memory_maps = s
        .memory_maps
        .iter()
        .map(|m| MapView {
            label: m.label.to_string(),
            map_key: m.map_key,
            descriptors: m.descriptors.len(),
            by_type: snapshot::map_summary(m)
                .into_iter()
                .map(|(ty, (regions, pages))| TypeSummary {
                    ty,
                    name: memory_type_name(ty),
                    regions,
                    pages,
                })
                .collect(),
        })
        .collect();
    let tpm = s.tpm.as_ref().map(|t| {
        let mut v = TpmView {
            present: t.present,
            active_banks: t.active_banks.clone(),
            log_format: t.log_format.clone(),
            log_bytes: t.event_log.len() / 2,
            events: 0,
            verdicts: Vec::new(),
            digest_mismatches: Vec::new(),
            log_error: None,
        };
        match snapshot::event_log(t, file) {
            Ok(Some(log)) => {
                v.events = log.events.len();
                v.verdicts = snapshot::self_check(t, &log);
                v.digest_mismatches = crate::eventlog::check::check(&log).mismatches;
            }
            Ok(None) => {}
            Err(e) => v.log_error = Some(e.to_string()),
        }
        v
    });
    let cc_event_log = s.cc_event_log.as_ref().map(|c| cc_view(file, c));
    let mut checked = Vec::new();
    if let Some(t) = &tpm {
        if t.log_error.is_none() && t.events > 0 {
            checked.push(if t.verdicts.is_empty() {
                "the event log's digests cover their data (no PCR values were recorded to replay it against)".to_string()
            } else {
                "the event log replays to the PCRs it recorded".to_string()
            });
        }
    }
    if let Some(c) = &cc_event_log {
        if c.log_error.is_none() && c.events > 0 {
            checked.push(
                "the CC event log's digests cover their data (its RTMRs are in a TD quote, which the snapshot does not hold)"
                    .to_string(),
            );
        }
    }
    let consistent = tpm.as_ref().is_none_or(|t| {
        t.log_error.is_none()
            && t.digest_mismatches.is_empty()
            && t.verdicts.iter().all(|v| v.verdict != Verdict::Mismatch)
    }) && cc_event_log
        .as_ref()
        .is_none_or(|c| c.log_error.is_none() && c.digest_mismatches.is_empty());
    ShowReport {
        file: file.to_string(),
        format: s.format.clone(),
        source: s.source.describe(),
        identity: s.identity.clone(),
        memory_maps,
        map_key_watch: s.map_key_watch.clone(),
        previous_exit_boot_services: s.previous_exit_boot_services.clone(),
        tpm,
        cc_event_log,
        acpi: s.acpi.clone(),
        device_tree: s.device_tree.clone(),
        secure_boot: s.secure_boot.clone(),
        loaded_images: s.loaded_images.as_ref().map(|l| {
            let fv = l
                .iter()
                .filter(|i| i.device_path.contains("FvFile("))
                .count();
            ImagesView {
                total: l.len(),
                firmware_files: fv,
                other: l
                    .iter()
                    .filter(|i| !i.device_path.contains("FvFile("))
                    .map(|i| i.device_path.clone())
                    .collect(),
            }
        }),
        firmware_volumes: s.firmware_volumes.as_ref().map(|vols| {
            vols.iter()
                .map(|v| {
                    (
                        v.name.clone().unwrap_or_else(|| v.device_path.clone()),
                        v.files.len(),
                        v.files.iter().filter(|f| f.body_sha256.is_some()).count(),
                    )
                })
                .collect()
        }),
        firmware_flash: s.firmware_flash.clone(),
        errors: s.errors.clone(),
        consistent,
        checked,
        absent: absent(s),
    }
}

/// The parts a judgement needs that the snapshot lacks, with why.
fn absent(s: &Snapshot) -> Vec<String> {
    use crate::snapshot::Part;
    let why = |p: Part| -> String {
        let r: Vec<String> = s
            .errors
            .iter()
            .filter(|e| e.part == p)
            .map(|e| e.what.clone())
            .collect();
        if r.is_empty() {
            "not collected".into()
        } else {
            r.join("; ")
        }
    };
    let mut out = Vec::new();
    match &s.tpm {
        None => out.push(format!("TPM part ({})", why(Part::Tpm))),
        Some(t) if !t.present => out.push("TPM (the machine has none)".into()),
        Some(t) if t.event_log.is_empty() => out.push("TPM event log".into()),
        Some(_) => {}
    }
    for (missing, part, name) in [
        (
            s.secure_boot.is_none(),
            Part::SecureBoot,
            "Secure Boot variables",
        ),
        (s.acpi.is_none(), Part::Acpi, "ACPI tables"),
        (
            s.loaded_images.is_none(),
            Part::LoadedImages,
            "loaded images",
        ),
        (s.memory_maps.is_empty(), Part::MemoryMap, "memory map"),
    ] {
        if missing {
            out.push(format!("{name} ({})", why(part)));
        }
    }
    out
}

/// The CC event log of a snapshot: parsed, checked, replayed.
fn cc_view(file: &str, c: &crate::snapshot::CcEventLog) -> CcView {
    let raw = hex::decode(&c.event_log);
    let mut v = CcView {
        technology: match c.cc_type {
            1 => "AMD SEV".into(),
            2 => "Intel TDX".into(),
            t => format!("CC type {t}"),
        },
        log_area_start_address: c.log_area_start_address,
        log_bytes: raw.as_ref().map_or(0, |r| r.len()),
        events: 0,
        registers: Default::default(),
        digest_mismatches: Vec::new(),
        log_error: None,
    };
    let raw = match raw {
        Ok(r) => r,
        Err(e) => {
            v.log_error = Some(format!(
                "{file} (field cc_event_log.event_log): not hex: {e}"
            ));
            return v;
        }
    };
    match crate::eventlog::parse(&raw) {
        Ok(log) if log.kind == crate::eventlog::LogKind::Ccel => {
            v.events = log.events.len();
            v.digest_mismatches = crate::eventlog::check::check(&log).mismatches;
            for (alg, regs) in crate::eventlog::replay::replay(&log).banks {
                for (i, val) in regs {
                    v.registers.insert(
                        format!("{} {}", alg.name(), log.kind.register_name(i)),
                        crate::hexser::encode(&val),
                    );
                }
            }
        }
        Ok(_) => {
            v.log_error = Some(format!(
                "{file} (field cc_event_log.event_log): a TPM event log, not a CC event log"
            ))
        }
        Err(e) => v.log_error = Some(format!("{file} (field cc_event_log.event_log): {e}")),
    }
    v
}
