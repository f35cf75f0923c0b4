//! A boot judged against references: each PCR0 firmware-blob event of the
//! snapshot's log is matched to a reference volume by its digest, and each
//! firmware driver the firmware loaded (`Fv(NAME)/FvFile(GUID)`) to a file
//! of the reference its measurements chose.
//!
//! Which reference a boot is judged by is chosen from measurements and
//! from what was loaded, never from a string the firmware reports about
//! itself: first the references whose predicted volumes the log's digests
//! match; failing that, every reference holding a volume the loaded
//! drivers name. A forged SMBIOS version can therefore only make more
//! findings, not fewer.

use super::reference::{Measurement, RefVolume, Reference};
use crate::eventlog::EventLog;
use crate::findings::Finding;
use crate::snapshot::Snapshot;
use serde::Serialize;
use serde_json::json;
use std::collections::HashMap;

/// What became of one PCR0 firmware-blob event.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "verdict", rename_all = "kebab-case")]
pub enum BlobVerdict {
    /// Its digest is a reference volume's.
    Matched {
        /// The reference (`vendor version`).
        reference: String,
        /// The volume's name.
        volume: String,
    },
    /// It measures a volume of that size whose measurement depends on the
    /// boot: neither a pass nor a failure.
    BootDependent {
        /// The reference.
        reference: String,
        /// The volume.
        volume: String,
    },
    /// No reference volume has its digest.
    Unknown {
        /// Volumes of that size in the references (`reference: name`):
        /// what it should have measured.
        same_size: Vec<String>,
    },
}

/// One PCR0 firmware-blob event.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Blob {
    /// The event's number in the log.
    pub event: usize,
    /// The blob's base address.
    pub base: u64,
    /// Its length.
    pub length: u64,
    /// Its SHA-256 (or the first bank's digest, `bank:hex`).
    pub digest: String,
    /// The verdict.
    #[serde(flatten)]
    pub verdict: BlobVerdict,
}

/// The judgement of one boot.
#[derive(Clone, Debug, Serialize)]
pub struct Judgement {
    /// The references judged against (chosen as the module says).
    pub judged_by: Vec<String>,
    /// Every PCR0 firmware-blob event.
    pub blobs: Vec<Blob>,
    /// Loaded firmware drivers found in the chosen references.
    pub drivers_matched: usize,
    /// Files of the firmware's own inventory (`firmware_volumes`) found in
    /// the references, with the same body where it was hashed.
    pub stored_files_matched: usize,
    /// Executable files of the inventory whose body the collector did not
    /// hash (its time budget): present, but their content unchecked.
    pub stored_bodies_unchecked: usize,
    /// Inventoried volumes no reference names.
    pub unknown_volumes: Vec<String>,
    /// What became of the flash copy (`firmware_flash`), when there is one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub flash: Option<String>,
    /// The reference whose image the flash copy is byte for byte, when it
    /// is one.
    #[serde(skip)]
    pub flash_reference: Option<String>,
    /// True when the log replays to the PCRs the snapshot recorded.
    pub log_replays: bool,
    /// The findings.
    #[serde(skip)]
    pub findings: Vec<Finding>,
}

impl Judgement {
    /// The reference every blob of the boot agrees with (matched, or a
    /// boot-dependent volume of it; at least one matched), when the log
    /// replays and no driver finding was made: a verified firmware.
    pub fn verified(&self) -> Option<&str> {
        if !self.log_replays || self.blobs.is_empty() || !self.findings.is_empty() {
            return None;
        }
        fn of(b: &Blob) -> Option<&str> {
            match &b.verdict {
                BlobVerdict::Matched { reference, .. }
                | BlobVerdict::BootDependent { reference, .. } => Some(reference.as_str()),
                BlobVerdict::Unknown { .. } => None,
            }
        }
        let first = self
            .blobs
            .iter()
            .find(|b| matches!(b.verdict, BlobVerdict::Matched { .. }))
            .and_then(of)?;
        self.blobs
            .iter()
            .all(|b| of(b) == Some(first))
            .then_some(first)
    }
}

/// The most references (or volumes) one finding names: a hostile log or
/// snapshot can make one finding per event or driver, and each must stay
/// small.
const MAX_NAMED: usize = 8;

/// At most [`MAX_NAMED`] labels, and how many more there are.
fn few(labels: &[String]) -> Vec<String> {
    let mut v: Vec<String> = labels.iter().take(MAX_NAMED).cloned().collect();
    if labels.len() > MAX_NAMED {
        v.push(format!("and {} more", labels.len() - MAX_NAMED));
    }
    v
}

fn digest_matches(v: &RefVolume, e: &crate::eventlog::Event) -> bool {
    e.digests.iter().any(|d| {
        v.digests
            .get(&d.algorithm.name())
            .is_some_and(|h| h.eq_ignore_ascii_case(&crate::hexser::encode(&d.digest)))
    })
}

/// `Fv(NAME)/FvFile(GUID)` of a loaded image: (volume, file), upper case.
fn fv_file(path: &str) -> Option<(Option<String>, String)> {
    let inner = |s: &str, tag: &str| -> Option<String> {
        let at = s.find(tag)? + tag.len();
        let end = s[at..].find(')')?;
        Some(s[at..at + end].to_ascii_uppercase())
    };
    let file = inner(path, "FvFile(")?;
    Some((inner(path, "Fv("), file))
}

/// Judges a boot (`log` is its parsed event log, when it has one).
pub fn judge(s: &Snapshot, log: Option<&EventLog>, refs: &[Reference]) -> Judgement {
    let mut f = Vec::new();
    let log_replays = match (s.tpm.as_ref(), log) {
        (Some(t), Some(l)) => crate::snapshot::self_check(t, l)
            .iter()
            .all(|v| v.verdict != crate::pcrs::Verdict::Mismatch),
        _ => false,
    };
    let all_labels: Vec<String> = refs.iter().map(|r| r.label()).collect();
    // Blobs, each against the reference volumes of its length (indexed
    // once: linear in the log).
    let mut by_size: HashMap<u64, Vec<(usize, &RefVolume)>> = HashMap::new();
    for (i, r) in refs.iter().enumerate() {
        for v in &r.volumes {
            by_size.entry(v.size).or_default().push((i, v));
        }
    }
    let mut blobs = Vec::new();
    let mut hits = vec![0usize; refs.len()];
    for e in log.iter().flat_map(|l| &l.events).filter(|e| e.pcr == 0) {
        let Some((base, length)) = e.firmware_blob() else {
            continue;
        };
        let digest = e
            .digests
            .iter()
            .find(|d| d.algorithm.name() == "sha256")
            .or(e.digests.first())
            .map(|d| {
                format!(
                    "{}:{}",
                    d.algorithm.name(),
                    crate::hexser::encode(&d.digest)
                )
            })
            .unwrap_or_default();
        let same: &[(usize, &RefVolume)] = by_size.get(&length).map_or(&[], |v| v.as_slice());
        let mut verdict = None;
        let mut counted = std::collections::HashSet::new();
        for (i, v) in same {
            if v.measurement == Measurement::Predicted && digest_matches(v, e) && counted.insert(*i)
            {
                hits[*i] += 1;
                verdict.get_or_insert(BlobVerdict::Matched {
                    reference: refs[*i].label(),
                    volume: v.name.clone(),
                });
            }
        }
        let verdict = verdict.unwrap_or_else(|| {
            match same
                .iter()
                .find(|(_, v)| matches!(v.measurement, Measurement::BootDependent { .. }))
            {
                Some((i, v)) => BlobVerdict::BootDependent {
                    reference: refs[*i].label(),
                    volume: v.name.clone(),
                },
                None => BlobVerdict::Unknown {
                    same_size: same
                        .iter()
                        .take(MAX_NAMED)
                        .map(|(i, v)| format!("{}: {}", refs[*i].label(), v.name))
                        .collect(),
                },
            }
        });
        blobs.push(Blob {
            event: e.number,
            base,
            length,
            digest,
            verdict,
        });
    }
    // The references to judge the drivers by.
    let best = hits.iter().copied().max().unwrap_or(0);
    let loaded: Vec<(&crate::snapshot::LoadedImage, Option<String>, String)> = s
        .loaded_images
        .iter()
        .flatten()
        .filter_map(|i| fv_file(&i.device_path).map(|(v, g)| (i, v, g)))
        .collect();
    let loaded_volumes: std::collections::HashSet<String> =
        loaded.iter().filter_map(|(_, v, _)| v.clone()).collect();
    let chosen: Vec<&Reference> = if best > 0 {
        refs.iter()
            .zip(&hits)
            .filter(|(_, h)| **h == best)
            .map(|(r, _)| r)
            .collect()
    } else {
        refs.iter()
            .filter(|r| {
                r.volumes
                    .iter()
                    .any(|x| loaded_volumes.contains(&x.name.to_ascii_uppercase()))
            })
            .collect()
    };
    let names: Vec<String> = chosen.iter().map(|r| r.label()).collect();
    for b in &blobs {
        if let BlobVerdict::Unknown { same_size } = &b.verdict {
            let named = same_size.first().cloned();
            f.push(
                Finding::new(
                    crate::rules::FIRMWARE_BLOB_NOT_IN_REFERENCE,
                    match &named {
                        Some(v) => format!(
                            "PCR0 firmware blob {:#x}+{:#x} (event {}) measured {}, which no reference holds: it should be volume {v}",
                            b.base, b.length, b.event, b.digest
                        ),
                        None => format!(
                            "PCR0 firmware blob {:#x}+{:#x} (event {}) measured {}, and no reference has a volume of that size",
                            b.base, b.length, b.event, b.digest
                        ),
                    },
                    json!({"event": b.event, "base": b.base, "length": b.length, "digest": b.digest,
                           "expected_volume": same_size, "references": few(&all_labels)}),
                )
                .at(crate::rules::firmware_blob_not_in_reference(named.is_some()))
                .about(named.map_or_else(|| format!("blob+{:#x}", b.length), |v| format!("volume {}", v.split(": ").last().unwrap_or(""))))
            );
        }
    }
    let mut drivers_matched = 0;
    if chosen.is_empty() {
        if !loaded.is_empty() || !blobs.is_empty() {
            f.push(Finding::new(
                crate::rules::FIRMWARE_REFERENCE_UNCHECKED,
                "no reference matches this firmware's measurements or the volumes its drivers were loaded from: the boot cannot be judged by the references".into(),
                json!({"references": few(&all_labels), "blobs": blobs.len(), "loaded_firmware_drivers": loaded.len()}),
            ));
        }
    } else {
        // The chosen references' files by GUID (upper case): one lookup per
        // loaded driver, linear in the snapshot.
        let mut by_guid: HashMap<String, Vec<&super::reference::RefFile>> = HashMap::new();
        for x in chosen.iter().flat_map(|r| &r.files) {
            by_guid
                .entry(x.guid.to_ascii_uppercase())
                .or_default()
                .push(x);
        }
        for (img, vol, guid) in &loaded {
            let path = &img.device_path;
            let i = Some(*img);
            let found: Vec<&super::reference::RefFile> = by_guid
                .get(guid)
                .into_iter()
                .flatten()
                .copied()
                .filter(|x| {
                    vol.as_ref()
                        .is_none_or(|v| x.volume.eq_ignore_ascii_case(v))
                })
                .collect();
            if found.is_empty() {
                f.push(
                    Finding::new(
                        crate::rules::FIRMWARE_DRIVER_NOT_IN_REFERENCE,
                        format!(
                            "firmware driver {guid} in volume {} was loaded and is not in the vendor's firmware {}",
                            vol.as_deref().unwrap_or("(unnamed)"),
                            few(&names).join(", ")
                        ),
                        json!({"device_path": path, "volume": vol, "guid": guid, "references": few(&names)}),
                    )
                    .about(path.clone()),
                );
                continue;
            }
            let size = i.and_then(|i| i.size_of_image);
            let sizes: Vec<u32> = found
                .iter()
                .filter_map(|x| x.size_of_image)
                .take(MAX_NAMED)
                .collect();
            if let Some(size) = size.filter(|s| *s != 0 && !sizes.is_empty() && !sizes.contains(s))
            {
                f.push(
                    Finding::new(
                        crate::rules::FIRMWARE_DRIVER_DIFFERS_FROM_REFERENCE,
                        format!(
                            "firmware driver {guid} was loaded with SizeOfImage {size:#x}; the vendor's firmware {} holds it with {}",
                            few(&names).join(", "),
                            sizes.iter().map(|s| format!("{s:#x}")).collect::<Vec<_>>().join(", ")
                        ),
                        json!({"device_path": path, "size_of_image": size, "reference_sizes": sizes, "references": few(&names)}),
                    )
                    .about(path.clone()),
                );
                continue;
            }
            drivers_matched += 1;
        }
    }
    // The firmware's own inventory: every stored file, dispatched or not.
    let mut stored_files_matched = 0;
    let mut stored_bodies_unchecked = 0;
    let mut unknown_volumes = Vec::new();
    let reported: Vec<String> = f
        .iter()
        .filter_map(|x| x.evidence["guid"].as_str().map(str::to_string))
        .collect();
    if let Some(vols) = &s.firmware_volumes {
        let names: std::collections::HashSet<String> = vols
            .iter()
            .filter_map(|v| v.name.as_ref().map(|n| n.to_ascii_uppercase()))
            .collect();
        let by: Vec<&Reference> = if chosen.is_empty() {
            refs.iter()
                .filter(|r| {
                    r.volumes
                        .iter()
                        .any(|x| names.contains(&x.name.to_ascii_uppercase()))
                })
                .collect()
        } else {
            chosen.clone()
        };
        let by_names: Vec<String> = by.iter().map(|r| r.label()).collect();
        let mut index: HashMap<(String, String), Vec<&super::reference::RefFile>> = HashMap::new();
        for x in by.iter().flat_map(|r| &r.files) {
            index
                .entry((x.volume.to_ascii_uppercase(), x.guid.to_ascii_uppercase()))
                .or_default()
                .push(x);
        }
        let known_volumes: std::collections::HashSet<String> = by
            .iter()
            .flat_map(|r| r.volumes.iter().map(|x| x.name.to_ascii_uppercase()))
            .collect();
        let reported: std::collections::HashSet<String> =
            reported.iter().map(|g| g.to_ascii_uppercase()).collect();
        for v in vols {
            let name = v.name.clone().unwrap_or_default();
            if !known_volumes.contains(&name.to_ascii_uppercase()) {
                unknown_volumes.push(if name.is_empty() {
                    v.device_path.clone()
                } else {
                    name
                });
                continue;
            }
            for x in v.files.iter().filter(|x| x.file_type != 0xf0) {
                let exec = crate::snapshot::is_executable_file_type(x.file_type);
                let found: Vec<&super::reference::RefFile> = index
                    .get(&(name.to_ascii_uppercase(), x.guid.to_ascii_uppercase()))
                    .cloned()
                    .unwrap_or_default();
                if found.is_empty() {
                    if reported.contains(&x.guid.to_ascii_uppercase()) {
                        continue;
                    }
                    f.push(
                        Finding::new(
                            crate::rules::FIRMWARE_STORED_FILE_NOT_IN_REFERENCE,
                            format!(
                                "file {} (type {:#04x}) is stored in volume {name}, as the firmware itself lists it, and is not in the vendor's firmware {}{}",
                                x.guid,
                                x.file_type,
                                few(&by_names).join(", "),
                                if exec { ": an executable that was not dispatched, or not yet" } else { "" }
                            ),
                            json!({"volume": name, "guid": x.guid, "file_type": x.file_type, "size": x.size,
                                   "body_sha256": x.body_sha256, "references": few(&by_names)}),
                        )
                        .at(crate::rules::firmware_stored_file_not_in_reference(exec))
                        .about(format!("{name}/{}", x.guid)),
                    );
                    continue;
                }
                match &x.body_sha256 {
                    Some(h) if found.iter().any(|r| r.body_sha256.is_some()) => {
                        if found.iter().any(|r| {
                            r.body_sha256
                                .as_deref()
                                .is_some_and(|b| b.eq_ignore_ascii_case(h))
                        }) {
                            stored_files_matched += 1;
                        } else {
                            f.push(
                                Finding::new(
                                    crate::rules::FIRMWARE_DRIVER_DIFFERS_FROM_REFERENCE,
                                    format!(
                                        "file {} in volume {name} has a body (SHA-256 {h}) the vendor's firmware {} does not: a patched module",
                                        x.guid,
                                        few(&by_names).join(", ")
                                    ),
                                    json!({"volume": name, "guid": x.guid, "body_sha256": h,
                                           "reference_body_sha256": found.iter().filter_map(|r| r.body_sha256.clone()).take(MAX_NAMED).collect::<Vec<_>>(),
                                           "references": few(&by_names)}),
                                )
                                .about(format!("{name}/{}", x.guid)),
                            );
                        }
                    }
                    None if exec => stored_bodies_unchecked += 1,
                    _ => stored_files_matched += 1,
                }
            }
        }
    }
    // The flash copy, against the images of the same size, and against
    // the top-level volumes of that size: an Arm collector copies the
    // volumes the firmware runs from, not the whole bank (its first bytes
    // and its padding are not mapped).
    let mut flash_is: Option<String> = None;
    let mut flash_volume_is: Option<(String, String)> = None;
    let flash = s.firmware_flash.as_ref().map(|fl| {
        let pool: Vec<&Reference> = if chosen.is_empty() { refs.iter().collect() } else { chosen.clone() };
        // Each reference with its top-level volumes of the copy's size,
        // those whose image or a volume is of that size.
        let same: Vec<(&Reference, Vec<&RefVolume>)> = pool
            .iter()
            .map(|r| {
                let vols: Vec<&RefVolume> =
                    r.volumes.iter().filter(|v| !v.compressed && v.size == fl.size).collect();
                (*r, vols)
            })
            .filter(|(r, vols)| r.image_size == fl.size || !vols.is_empty())
            .collect();
        let volume_match = || {
            same.iter().find_map(|(r, vols)| {
                vols.iter()
                    .find(|v| v.digests.get("sha256").is_some_and(|d| d.eq_ignore_ascii_case(&fl.sha256)))
                    .map(|v| (r.label(), v.name.clone()))
            })
        };
        if let Some((r, _)) = same
            .iter()
            .find(|(r, _)| r.image_size == fl.size && r.image_sha256.eq_ignore_ascii_case(&fl.sha256))
        {
            flash_is = Some(r.label());
            format!("byte for byte the vendor's image {}", r.label())
        } else if let Some((label, volume)) = volume_match() {
            let text = format!("byte for byte volume {volume} of the vendor's image {label}");
            flash_volume_is = Some((label, volume));
            text
        } else if same.is_empty() {
            format!(
                "{} bytes, the size of no reference image and of none of their volumes: not compared",
                fl.size
            )
        } else {
            let names: Vec<String> = same.iter().map(|(r, _)| r.label()).collect();
            f.push(
                Finding::new(
                    crate::rules::FIRMWARE_FLASH_DIFFERS_FROM_REFERENCE,
                    format!(
                        "the machine's flash ({} bytes, SHA-256 {}) is neither the vendor's image nor a volume of it of the same size ({}): `bootaudit firmware diff` the image and {} names what differs",
                        fl.size,
                        fl.sha256,
                        few(&names).join(", "),
                        fl.file.as_deref().unwrap_or("the flash copy")
                    ),
                    json!({"flash": fl, "references": few(&names)}),
                )
                .about("flash"),
            );
            "differs from the vendor's images and volumes of its size".to_string()
        }
    });
    // A blob whose measurement cannot be predicted proves nothing by
    // itself (an implant in OVMF's PEI volume would hide there); only a
    // flash copy that is the reference's image byte for byte covers it.
    for b in &blobs {
        if let BlobVerdict::BootDependent { reference, volume } = &b.verdict {
            let covered = flash_is.as_deref() == Some(reference.as_str())
                || flash_volume_is
                    .as_ref()
                    .is_some_and(|(r, v)| r == reference && v == volume);
            if !covered {
                f.push(
                    Finding::new(
                        crate::rules::FIRMWARE_BLOB_UNCHECKABLE,
                        format!(
                            "PCR0 firmware blob {:#x}+{:#x} (event {}) measures volume {volume} of {reference}, whose measurement depends on the boot, and no flash copy of this machine is that image byte for byte: its content is unknown",
                            b.base, b.length, b.event
                        ),
                        json!({"event": b.event, "base": b.base, "length": b.length, "digest": b.digest,
                               "volume": volume, "reference": reference, "flash": flash_is}),
                    )
                    .about(format!("volume {volume}")),
                );
            }
        }
    }
    if blobs.is_empty()
        && loaded.is_empty()
        && s.firmware_volumes.is_none()
        && s.firmware_flash.is_none()
    {
        f.push(Finding::new(
            crate::rules::FIRMWARE_REFERENCE_UNCHECKED,
            "the snapshot holds no PCR0 firmware blob, no loaded firmware driver, no firmware inventory and no flash copy: nothing to compare with the references".into(),
            json!({"references": few(&all_labels)}),
        ));
    } else if log.is_none() {
        // The drivers and the inventory were judged, but what the firmware
        // measured of its own code was not: named, not passed over.
        f.push(
            Finding::new(
                crate::rules::FIRMWARE_REFERENCE_UNCHECKED,
                "the snapshot holds no readable TPM event log: no PCR0 firmware blob could be compared with the references, so the firmware code that ran is unknown".into(),
                json!({"references": few(&all_labels)}),
            )
            .about("pcr0"),
        );
    }
    Judgement {
        judged_by: names,
        blobs,
        drivers_matched,
        stored_files_matched,
        stored_bodies_unchecked,
        unknown_volumes,
        flash,
        flash_reference: flash_is,
        log_replays,
        findings: f,
    }
}

/// True when `image` is a firmware driver (`Fv(NAME)/FvFile(GUID)`) that
/// the reference `r` holds: the same file in the same volume, with the
/// same SizeOfImage where both record one.
pub fn holds_driver(r: &Reference, image: &crate::snapshot::LoadedImage) -> bool {
    let Some((vol, guid)) = fv_file(&image.device_path) else {
        return false;
    };
    r.files.iter().any(|x| {
        x.guid.eq_ignore_ascii_case(&guid)
            && vol
                .as_ref()
                .is_none_or(|v| x.volume.eq_ignore_ascii_case(v))
            && match (image.size_of_image, x.size_of_image) {
                (Some(a), Some(b)) if a != 0 => a == b,
                _ => true,
            }
    })
}

/// `bootaudit firmware check`: one boot judged against references alone,
/// with no baseline.
#[derive(Clone, Debug, Serialize)]
pub struct FirmwareCheck {
    /// The snapshot file.
    pub snapshot: String,
    /// The judgement.
    pub judgement: Judgement,
    /// Its findings, worst first.
    pub findings: Vec<Finding>,
    /// Counts per severity.
    pub summary: crate::findings::Summary,
}

/// Judges the boot a snapshot recorded (named `name`) against `refs`. A
/// log that cannot be read, or that does not replay to the snapshot's
/// PCRs, is a finding: its blobs are not evidence.
pub fn check(name: &str, s: &Snapshot, refs: &[Reference]) -> FirmwareCheck {
    let read = s.tpm.as_ref().map(|t| crate::snapshot::event_log(t, name));
    let log = read
        .as_ref()
        .and_then(|r| r.as_ref().ok().cloned().flatten());
    let j = judge(s, log.as_ref(), refs);
    let mut f = j.findings.clone();
    if let Some(Err(e)) = &read {
        f.push(Finding::new(
            crate::rules::TPM_LOG_UNREADABLE,
            format!("the event log cannot be parsed: {e}"),
            json!({}),
        ));
    }
    if log.is_some() && !j.log_replays {
        f.push(Finding::new(
            crate::rules::TPM_LOG_REPLAY_MISMATCH,
            "the event log does not replay to the PCRs the snapshot recorded: its firmware blobs prove nothing".into(),
            json!({}),
        ));
    }
    crate::findings::sort(&mut f);
    FirmwareCheck {
        snapshot: name.into(),
        summary: crate::findings::summarize(&f),
        findings: f,
        judgement: j,
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_finding_names_a_few_references_and_counts_the_rest() {
        let labels: Vec<String> = (0..1000).map(|i| format!("r{i}")).collect();
        let f = super::few(&labels);
        assert_eq!(f.len(), super::MAX_NAMED + 1);
        assert_eq!(f.last().unwrap(), "and 992 more");
        assert_eq!(super::few(&labels[..3]), ["r0", "r1", "r2"]);
    }

    #[test]
    fn fv_file_paths() {
        assert_eq!(
            super::fv_file("Fv(7cb8bdc9-F8EB)/FvFile(462caa21)"),
            Some((Some("7CB8BDC9-F8EB".into()), "462CAA21".into()))
        );
        assert_eq!(super::fv_file("FvFile(D6A2)"), Some((None, "D6A2".into())));
        assert_eq!(super::fv_file("PciRoot(0x0)/Pci(0x1,0x0)"), None);
    }
}
