//! Reading bootaudit snapshots (the format is defined once, in the
//! `bootaudit-snapshot` crate the collector also uses) and checking what a
//! snapshot says about itself: that its event log replays to the PCR values
//! the collector read from the TPM.
//!
//! Snapshots come from machines that may be compromised: the file size is
//! bounded, the version is checked before anything else, and every error
//! names the file and the field (or the line and column) that was wrong.

// Named, not a glob: what the library takes from the format crate is
// listed here, so a new item there is a decision here.
pub use bootaudit_snapshot::{
    acpi, acpi_address_fields, acpi_table_facts, acpi_text, ccel, ccel_table, check_format, efivar,
    fdt, is_decoy, is_executable_file_type, kind, mask_acpi_addresses, mat, memory_attributes,
    memory_type_name, siglist, smbios, tcglog, tpm2, wire, x509, Acpi, AcpiTable, AlgorithmId,
    BootEntry, CcEventLog, CcelTable, CollectError, DeviceTree, DeviceTreeNode, EkCertificate,
    EndorsementKey, EspBinary, EventType, ExitBootServicesRecord, FirmwareFlash, FirmwareVolume,
    FirmwareVolumeFile, Identity, LoadedImage, MapKeyWatch, MapLabel, MemoryAttributes,
    MemoryDescriptor, MemoryMap, MemoryType, Part, Rsdp, SecureBoot, Smbios, Snapshot, Source,
    SourceKind, Tpm, TpmQuote, Variable, VersionError, FORMAT, FORMAT_FAMILY, MAJOR,
    MAX_FIRMWARE_VOLUMES, MAX_FLASH, MAX_MAT_ENTRIES, MAX_VOLUME_FILES,
    MEMORY_ATTRIBUTES_TABLE_GUID, MEMORY_RO, MEMORY_XP,
};

mod fast;

use crate::eventlog::{self, replay, EventLog, HashAlg};
use crate::pcrs::{self, PcrVerdict};
use std::collections::BTreeMap;
use std::io::Read;
use std::path::Path;

/// The largest snapshot bootaudit reads (a snapshot is tens to hundreds of
/// KiB; the event log is its largest part and is itself capped at 64 MiB).
pub const MAX_SNAPSHOT_SIZE: u64 = 256 << 20;

/// Why a snapshot could not be read.
#[derive(Debug, thiserror::Error)]
pub enum SnapshotError {
    /// The file could not be read.
    #[error("{path}: cannot read: {cause}")]
    Io {
        /// The file.
        path: String,
        /// The OS error.
        cause: std::io::Error,
    },
    /// Larger than [`MAX_SNAPSHOT_SIZE`].
    #[error("{path}: larger than the {max} bytes a snapshot may have")]
    TooLarge {
        /// The file.
        path: String,
        /// The limit.
        max: u64,
    },
    /// Not JSON, or not the snapshot's structure.
    #[error("{path}: field `{field}`: {why}")]
    Invalid {
        /// The file.
        path: String,
        /// The field path (`tpm.pcrs.sha256`), or `.` for the document.
        field: String,
        /// What was wrong (serde's message, with line and column).
        why: String,
    },
    /// A `format` this bootaudit does not read.
    #[error("{path}: {cause}")]
    Version {
        /// The file.
        path: String,
        /// The version problem.
        cause: VersionError,
    },
}

/// The most JSON values (strings, numbers, objects, arrays, ...) one
/// snapshot may hold. A real snapshot holds a few thousand (the event log
/// is one hex string); each value costs a few dozen bytes once parsed, so
/// this cap keeps a document of millions of tiny strings from costing many
/// times its size in memory.
pub const MAX_VALUES: usize = 1_000_000;

/// Counts the JSON values of `bytes` (object keys not counted) in one
/// linear scan, without parsing, and fails at the first value past
/// [`MAX_VALUES`] with its byte offset. Malformed JSON is left to the
/// parser that follows.
pub fn check_value_count(bytes: &[u8], path: &str) -> Result<(), SnapshotError> {
    match crate::strict_json::first_value_past(bytes, MAX_VALUES) {
        None => Ok(()),
        Some(i) => Err(SnapshotError::Invalid {
            path: path.to_string(),
            field: ".".into(),
            why: format!(
                "more than {MAX_VALUES} JSON values (at byte offset {i}); no snapshot holds so many"
            ),
        }),
    }
}

#[derive(serde::Deserialize)]
struct FormatOnly {
    format: String,
}

/// The fast path of [`parse`] alone: the snapshot, or `None` where it
/// declines. Whenever it gives a value, serde_json gives the same one; the
/// fuzz target `snapshot_fast` holds it to that.
#[doc(hidden)]
pub fn parse_fast_path(text: &str) -> Option<Snapshot> {
    fast::parse(text)
}

/// Parses a snapshot held in memory; `path` names it in errors.
pub fn parse(bytes: &[u8], path: &str) -> Result<Snapshot, SnapshotError> {
    let invalid = |field: String, why: String| SnapshotError::Invalid {
        path: path.to_string(),
        field,
        why,
    };
    check_value_count(bytes, path)?;
    // One plain typed parse. Only when it fails is the document parsed
    // again, the version first (so that a future major version is reported
    // as such rather than as whatever field changed), then under
    // serde_path_to_error, to name the field at fault. The document's UTF-8
    // is checked once, as a whole, so that the parse reads it as text: the
    // same result as reading the bytes, without checking every string
    // again (a fifth of a fleet's time went there). Invalid UTF-8 goes to
    // the byte parse, whose error says where.
    // The memory maps and loaded images, most of the bytes, go through
    // [`fast`], which reads them exactly as serde_json would or declines.
    let fast = std::str::from_utf8(bytes)
        .ok()
        .map(|text| fast::parse(text).map_or_else(|| serde_json::from_str::<Snapshot>(text), Ok));
    let snap: Snapshot = match fast {
        Some(Ok(s)) => s,
        _ => {
            let de = &mut serde_json::Deserializer::from_slice(bytes);
            let f: FormatOnly = serde_path_to_error::deserialize(de)
                .map_err(|e| invalid(e.path().to_string(), e.inner().to_string()))?;
            check_format(&f.format).map_err(|cause| SnapshotError::Version {
                path: path.to_string(),
                cause,
            })?;
            let de = &mut serde_json::Deserializer::from_slice(bytes);
            serde_path_to_error::deserialize(de)
                .map_err(|e| invalid(e.path().to_string(), e.inner().to_string()))?
        }
    };
    check_format(&snap.format).map_err(|cause| SnapshotError::Version {
        path: path.to_string(),
        cause,
    })?;
    if let Some(t) = &snap.tpm {
        for (bank, pcrs) in &t.pcrs {
            let alg = HashAlg::from_name(bank)
                .ok_or_else(|| invalid(format!("tpm.pcrs.{bank}"), "unknown bank".into()))?;
            for (i, v) in pcrs {
                let ok = *i < replay::PCR_COUNT
                    && crate::hexser::hex_len(v).is_some_and(|n| alg.size().is_none_or(|s| s == n));
                if !ok {
                    return Err(invalid(
                        format!("tpm.pcrs.{bank}.{i}"),
                        format!(
                            "not a {bank} PCR value (index 0-23, {} hex digits)",
                            alg.size().unwrap_or(0) * 2
                        ),
                    ));
                }
            }
        }
        if crate::hexser::hex_len(&t.event_log).is_none() {
            return Err(invalid("tpm.event_log".into(), "not hex".into()));
        }
    }
    Ok(snap)
}

/// Reads and parses a snapshot file.
pub fn read_file(p: &Path) -> Result<Snapshot, SnapshotError> {
    let buf = read_bytes(p)?;
    parse(&buf, &p.display().to_string())
}

/// Reads a snapshot-sized file (at most [`MAX_SNAPSHOT_SIZE`] bytes).
pub fn read_bytes(p: &Path) -> Result<Vec<u8>, SnapshotError> {
    let path = p.display().to_string();
    let io = |cause| SnapshotError::Io {
        path: path.clone(),
        cause,
    };
    let f = crate::fsutil::open_input(p).map_err(io)?;
    let mut buf = Vec::new();
    f.take(MAX_SNAPSHOT_SIZE + 1)
        .read_to_end(&mut buf)
        .map_err(io)?;
    if buf.len() as u64 > MAX_SNAPSHOT_SIZE {
        return Err(SnapshotError::TooLarge {
            path,
            max: MAX_SNAPSHOT_SIZE,
        });
    }
    Ok(buf)
}

/// The TPM part's PCR values as replay and comparison use them.
pub fn pcr_banks(t: &Tpm) -> replay::PcrBanks {
    let mut out = replay::PcrBanks::new();
    for (bank, pcrs) in &t.pcrs {
        let Some(alg) = HashAlg::from_name(bank) else {
            continue;
        };
        for (i, v) in pcrs {
            if let Ok(b) = hex::decode(v) {
                out.entry(alg).or_default().insert(*i, b);
            }
        }
    }
    out
}

/// The event log of the TPM part, parsed (`None` when the snapshot has none).
pub fn event_log(t: &Tpm, path: &str) -> Result<Option<EventLog>, eventlog::LogReadError> {
    let raw = crate::hexser::decode(&t.event_log).unwrap_or_default();
    if raw.is_empty() {
        return Ok(None);
    }
    eventlog::parse(&raw)
        .map(Some)
        .map_err(|cause| eventlog::LogReadError::Parse {
            path: format!("{path} (field tpm.event_log)"),
            cause,
        })
}

/// How the snapshot's own log compares with its own PCR values.
pub fn self_check(t: &Tpm, log: &EventLog) -> Vec<PcrVerdict> {
    pcrs::compare_replay(&replay::replay(log), &pcr_banks(t), &[])
}

/// Pages and regions per memory type of one map.
pub fn map_summary(m: &MemoryMap) -> BTreeMap<u32, (usize, u64)> {
    let mut s: BTreeMap<u32, (usize, u64)> = BTreeMap::new();
    for d in &m.descriptors {
        let e = s.entry(d.ty.0).or_default();
        e.0 += 1;
        e.1 = e.1.saturating_add(d.pages);
    }
    s
}

#[cfg(test)]
mod tests {
    /// The values of a parsed document, keys not counted.
    fn values(v: &serde_json::Value) -> usize {
        1 + match v {
            serde_json::Value::Array(a) => a.iter().map(values).sum(),
            serde_json::Value::Object(o) => o.values().map(values).sum(),
            _ => 0,
        }
    }

    #[test]
    fn the_value_count_is_the_parsers() {
        let long = "x".repeat(100);
        let docs = [
            r#"{"a": 1, "b": [1, 2, {"c": null}], "d": "e"}"#.to_string(),
            r#"[[], {}, [[]], "", 0, -1.5e3, true, false]"#.to_string(),
            r#"{"k\"ey": "v\\", "\\": ["\"", "a\"b,c", "{[", 12]}"#.to_string(),
            format!(r#"{{"{long}": ["{long}\"{long}", "{long}\\", 7], "x{long}": {{}}}}"#),
            format!(r#"["\"{long}", "{long}\"", "a", {{"b": ["c\\"]}}]"#),
            r#"  [ 1 , [ 2 , 3 ] , { "a" : [ ] } ]  "#.to_string(),
        ];
        for d in &docs {
            let v: serde_json::Value =
                serde_json::from_str(d).unwrap_or_else(|e| panic!("{e}: {d}"));
            let n = values(&v);
            for max in 0..n + 2 {
                // (The documents are longer than any `max` here, so each
                // is scanned.)
                assert!(d.len() > max);
                assert_eq!(
                    crate::strict_json::first_value_past(d.as_bytes(), max).is_some(),
                    n > max,
                    "{d}: {n} values, max {max}"
                );
            }
        }
    }

    use super::*;

    #[test]
    fn version_and_type_errors_name_the_field() {
        let e = parse(
            br#"{"format": "bootaudit-snapshot/2", "source": {}}"#,
            "s.json",
        )
        .unwrap_err();
        assert!(e.to_string().contains("major version 2"), "{e}");
        let e = parse(br#"{"format": 7}"#, "s.json").unwrap_err();
        assert!(e.to_string().contains("field `format`"), "{e}");
        let e = parse(
            br#"{"format": "bootaudit-snapshot/1", "source": {"kind": "x", "version": "1"}, "memory_maps": [{"label": "a", "map_key": "x"}]}"#,
            "s.json",
        )
        .unwrap_err();
        assert!(e.to_string().contains("memory_maps[0].map_key"), "{e}");
        let e = parse(
            br#"{"format": "bootaudit-snapshot/1", "source": {"kind": "x", "ver"#,
            "s.json",
        )
        .unwrap_err();
        assert!(
            e.to_string().contains("s.json") && e.to_string().contains("EOF"),
            "{e}"
        );
    }

    #[test]
    fn unknown_fields_are_accepted() {
        let s = parse(
            br#"{"format": "bootaudit-snapshot/1.4", "source": {"kind": "x", "version": "1", "new": 1}, "later": {"a": 1}}"#,
            "s.json",
        )
        .unwrap();
        assert_eq!(s.source.kind.as_str(), "x");
    }

    #[test]
    fn values_a_newer_producer_may_write_are_kept_and_written_back() {
        // A later collector with a new source kind, a new map label and a
        // new part: this reader accepts the file, knows none of them, and
        // writes each back exactly as it came.
        let doc = br#"{"format": "bootaudit-snapshot/1", "source": {"kind": "bmc-agent", "version": "9"},
            "memory_maps": [{"label": "pre-exit", "map_key": 1, "descriptor_size": 48, "descriptor_version": 1, "descriptors": []},
                            {"label": "entry", "map_key": 2, "descriptor_size": 48, "descriptor_version": 1, "descriptors": []}],
            "errors": [{"part": "spdm", "what": "GetMeasurements"}, {"part": "tpm", "what": "x"}]}"#;
        let s = parse(doc, "s.json").unwrap();
        assert_eq!(s.source.kind, SourceKind::Unknown("bmc-agent".into()));
        assert_eq!(s.memory_maps[0].label, MapLabel::Unknown("pre-exit".into()));
        assert_eq!(s.memory_maps[1].label, MapLabel::Entry);
        assert_eq!(s.errors[0].part, Part::Unknown("spdm".into()));
        assert_eq!(s.errors[1].part, Part::Tpm);
        let back = serde_json::to_value(&s).unwrap();
        assert_eq!(back["source"]["kind"], "bmc-agent");
        assert_eq!(back["memory_maps"][0]["label"], "pre-exit");
        assert_eq!(back["memory_maps"][1]["label"], "entry");
        assert_eq!(back["errors"][0]["part"], "spdm");
    }

    #[test]
    fn bad_pcr_values_are_rejected_by_field() {
        let doc = br#"{"format": "bootaudit-snapshot/1", "source": {"kind": "x", "version": "1"},
            "tpm": {"present": true, "protocol_version": "1.1", "manufacturer_id": 0, "active_banks": [],
            "log_format": "", "event_log": "", "log_truncated": false, "pcrs": {"sha256": {"3": "abcd"}}}}"#;
        let e = parse(doc, "s.json").unwrap_err();
        assert!(e.to_string().contains("tpm.pcrs.sha256.3"), "{e}");
    }
}
