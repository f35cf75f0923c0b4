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

fn blob_of(e: &crate::eventlog::Event) -> Option<(u64, u64)> {
    use crate::eventlog::decode::EventData;
    match e.decode() {
        EventData::FirmwareBlob { base, length } => Some((base, length)),
        EventData::FirmwareBlob2 { base, length, .. } => Some((base, length)),
        _ => None,
    }
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
    // Blobs, each against every reference.
    let mut blobs = Vec::new();
    let mut hits = vec![0usize; refs.len()];
    for e in log.iter().flat_map(|l| &l.events).filter(|e| e.pcr == 0) {
        let Some((base, length)) = blob_of(e) else {
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
        let mut verdict = None;
        for (i, r) in refs.iter().enumerate() {
            if let Some(v) = r.volumes.iter().find(|v| {
                v.measurement == Measurement::Predicted && v.size == length && digest_matches(v, e)
            }) {
                hits[i] += 1;
                verdict.get_or_insert(BlobVerdict::Matched {
                    reference: r.label(),
                    volume: v.name.clone(),
                });
            }
        }
        let verdict = verdict.unwrap_or_else(|| {
            let dependent = refs.iter().find_map(|r| {
                r.volumes
                    .iter()
                    .find(|v| {
                        v.size == length
                            && matches!(v.measurement, Measurement::BootDependent { .. })
                    })
                    .map(|v| (r, v))
            });
            match dependent {
                Some((r, v)) => BlobVerdict::BootDependent {
                    reference: r.label(),
                    volume: v.name.clone(),
                },
                None => BlobVerdict::Unknown {
                    same_size: refs
                        .iter()
                        .flat_map(|r| {
                            r.volumes
                                .iter()
                                .filter(move |v| v.size == length)
                                .map(move |v| format!("{}: {}", r.label(), v.name))
                        })
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
    let loaded: Vec<(String, Option<String>, String)> = s
        .loaded_images
        .iter()
        .flatten()
        .filter_map(|i| fv_file(&i.device_path).map(|(v, g)| (i.device_path.clone(), v, g)))
        .collect();
    let chosen: Vec<&Reference> = if best > 0 {
        refs.iter()
            .zip(&hits)
            .filter(|(_, h)| **h == best)
            .map(|(r, _)| r)
            .collect()
    } else {
        refs.iter()
            .filter(|r| {
                loaded.iter().any(|(_, v, _)| {
                    v.as_ref()
                        .is_some_and(|v| r.volumes.iter().any(|x| &x.name == v))
                })
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
                           "expected_volume": same_size, "references": refs.iter().map(|r| r.label()).collect::<Vec<_>>()}),
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
                json!({"references": refs.iter().map(|r| r.label()).collect::<Vec<_>>(), "blobs": blobs.len(), "loaded_firmware_drivers": loaded.len()}),
            ));
        }
    } else {
        for (path, vol, guid) in &loaded {
            let i = s
                .loaded_images
                .iter()
                .flatten()
                .find(|i| &i.device_path == path);
            let found: Vec<(&Reference, &super::reference::RefFile)> = chosen
                .iter()
                .flat_map(|r| r.files.iter().map(move |x| (*r, x)))
                .filter(|(_, x)| {
                    x.guid.eq_ignore_ascii_case(guid)
                        && vol
                            .as_ref()
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
                            names.join(", ")
                        ),
                        json!({"device_path": path, "volume": vol, "guid": guid, "references": names}),
                    )
                    .about(path.clone()),
                );
                continue;
            }
            let size = i.and_then(|i| i.size_of_image);
            let sizes: Vec<u32> = found.iter().filter_map(|(_, x)| x.size_of_image).collect();
            if let Some(size) = size.filter(|s| *s != 0 && !sizes.is_empty() && !sizes.contains(s))
            {
                f.push(
                    Finding::new(
                        crate::rules::FIRMWARE_DRIVER_DIFFERS_FROM_REFERENCE,
                        format!(
                            "firmware driver {guid} was loaded with SizeOfImage {size:#x}; the vendor's firmware {} holds it with {}",
                            names.join(", "),
                            sizes.iter().map(|s| format!("{s:#x}")).collect::<Vec<_>>().join(", ")
                        ),
                        json!({"device_path": path, "size_of_image": size, "reference_sizes": sizes, "references": names}),
                    )
                    .about(path.clone()),
                );
                continue;
            }
            drivers_matched += 1;
        }
    }
    if blobs.is_empty() && loaded.is_empty() {
        f.push(Finding::new(
            crate::rules::FIRMWARE_REFERENCE_UNCHECKED,
            "the snapshot holds no PCR0 firmware blob and no loaded firmware driver: nothing to compare with the references".into(),
            json!({"references": refs.iter().map(|r| r.label()).collect::<Vec<_>>()}),
        ));
    }
    Judgement {
        judged_by: names,
        blobs,
        drivers_matched,
        log_replays,
        findings: f,
    }
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
    let log = s
        .tpm
        .as_ref()
        .and_then(|t| crate::snapshot::event_log(t, name).ok().flatten());
    let j = judge(s, log.as_ref(), refs);
    let mut f = j.findings.clone();
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
    fn fv_file_paths() {
        assert_eq!(
            super::fv_file("Fv(7cb8bdc9-F8EB)/FvFile(462caa21)"),
            Some((Some("7CB8BDC9-F8EB".into()), "462CAA21".into()))
        );
        assert_eq!(super::fv_file("FvFile(D6A2)"), Some((None, "D6A2".into())));
        assert_eq!(super::fv_file("PciRoot(0x0)/Pci(0x1,0x0)"), None);
    }
}
