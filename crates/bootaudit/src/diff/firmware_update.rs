//! Whether a firmware update explains the firmware findings, graded by the
//! evidence behind it. A string the judged firmware writes about itself
//! (its SMBIOS BIOS version and date) is a claim, never an explanation:
//!
//! - **verified**: the current boot's PCR0 blobs match a reference (a
//!   vendor image, `--references`) and every loaded firmware driver is in
//!   it, with a log that replays to the recorded PCRs: the findings drop to
//!   low;
//! - **corroborated**: the firmware blobs changed together with what the
//!   firmware measured or reported about its identity before any OS ran
//!   (the EV_S_CRTM_VERSION event, the system table's vendor or revision),
//!   but no reference verifies the result: the findings keep at least
//!   medium and stay unexplained;
//! - **claimed**: only SMBIOS strings changed, or the measurements show no
//!   update: nothing is explained, and a claim next to changed firmware
//!   code is a finding of its own.
//!
//! A verified update explains more than the firmware's code: what the new
//! firmware allocates ([`memory_backed`]: its memory-map changes, when no
//! code outside the reference runs in them or came with it) and how it
//! measures the Secure Boot policy (a PCR7 change whose policy, derived
//! from the verified log, is the same before and after:
//! [`crate::secure_boot::policy::same_policy`]).

use crate::eventlog::{EventLog, EventType};
use crate::firmware::judge::Judgement;
use crate::snapshot::Snapshot;
use serde::Serialize;

/// How far a firmware update is backed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "grade", rename_all = "kebab-case")]
pub enum Grade {
    /// The new measurements match a reference.
    Verified {
        /// The reference (`vendor version`).
        reference: String,
    },
    /// The measured identity changed with the blobs; no reference.
    Corroborated,
    /// Only strings the firmware writes about itself changed.
    Claimed,
}

/// A firmware update and what backs it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct FirmwareUpdate {
    /// The grade.
    #[serde(flatten)]
    pub grade: Grade,
    /// What changed, for a person.
    pub why: String,
    /// How many findings the update explains (a verified one only).
    #[serde(skip_serializing_if = "super::is_zero")]
    pub explains: usize,
}

/// What changed between two boots that bears on a firmware update.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Changes {
    /// SMBIOS BIOS version or release date.
    pub smbios: bool,
    /// The system table's firmware vendor or revision.
    pub system_table: bool,
    /// The EV_S_CRTM_VERSION event's digest (both logs carry one).
    pub scrtm_version: bool,
    /// The PCR0 firmware-blob digests.
    pub firmware_blobs: bool,
}

fn pcr0_digests(l: &EventLog, blob: bool) -> Vec<String> {
    let mut v: Vec<String> = l
        .events
        .iter()
        .filter(|e| e.pcr == 0)
        .filter(|e| {
            let b = matches!(
                e.event_type,
                EventType::EFI_PLATFORM_FIRMWARE_BLOB | EventType::EFI_PLATFORM_FIRMWARE_BLOB2
            );
            if blob {
                b
            } else {
                e.event_type == EventType::S_CRTM_VERSION
            }
        })
        .map(|e| {
            e.digests
                .iter()
                .map(|d| crate::hexser::encode(&d.digest))
                .collect::<Vec<_>>()
                .join(",")
        })
        .collect();
    v.sort();
    v
}

/// What changed, as far as both snapshots tell.
pub fn changes(
    a: &Snapshot,
    b: &Snapshot,
    la: Option<&EventLog>,
    lb: Option<&EventLog>,
) -> Changes {
    let mut c = Changes::default();
    if let (Some(ia), Some(ib)) = (&a.identity, &b.identity) {
        if let (Some(sa), Some(sb)) = (&ia.smbios, &ib.smbios) {
            c.smbios = (sa.bios_version.as_str(), sa.bios_release_date.as_str())
                != (sb.bios_version.as_str(), sb.bios_release_date.as_str());
        }
        if !ia.firmware_vendor.is_empty() && !ib.firmware_vendor.is_empty() {
            c.system_table = (ia.firmware_vendor.as_str(), ia.firmware_revision)
                != (ib.firmware_vendor.as_str(), ib.firmware_revision);
        }
    }
    if let (Some(la), Some(lb)) = (la, lb) {
        // Both logs must carry the S-CRTM version event for a change of it
        // to count: a firmware that drops the event corroborates nothing.
        let (va, vb) = (pcr0_digests(la, false), pcr0_digests(lb, false));
        c.scrtm_version = !va.is_empty() && !vb.is_empty() && va != vb;
        c.firmware_blobs = pcr0_digests(la, true) != pcr0_digests(lb, true);
    }
    c
}

/// The grade of the update between two boots, if either boot's identity
/// or firmware changed; `judgement` is the current boot's against the
/// references, when some were given.
pub fn grade(
    c: &Changes,
    current: &Snapshot,
    judgement: Option<&Judgement>,
) -> Option<FirmwareUpdate> {
    let claimed = current
        .identity
        .as_ref()
        .and_then(|i| i.smbios.as_ref())
        .map(|s| s.bios_version.clone())
        .unwrap_or_default();
    if let Some(r) = judgement.and_then(|j| j.verified()) {
        if c.firmware_blobs || c.smbios || c.system_table || c.scrtm_version {
            let note = if !claimed.is_empty() && !r.ends_with(&format!(" {claimed}")) {
                format!(" (its SMBIOS claims version \"{claimed}\")")
            } else {
                String::new()
            };
            return Some(FirmwareUpdate {
                grade: Grade::Verified {
                    reference: r.to_string(),
                },
                why: format!("the firmware's measurements match the vendor's {r}{note}, verified against the reference"),
                explains: 0,
            });
        }
    }
    if !(c.smbios || c.system_table || c.scrtm_version) {
        return None;
    }
    let measured: Vec<&str> = [
        (c.scrtm_version, "the S-CRTM version event"),
        (c.system_table, "the system table's firmware revision"),
    ]
    .iter()
    .filter(|x| x.0)
    .map(|x| x.1)
    .collect();
    if c.firmware_blobs && !measured.is_empty() {
        return Some(FirmwareUpdate {
            grade: Grade::Corroborated,
            why: format!(
                "claimed update, no reference: {} changed with the firmware blobs",
                measured.join(" and ")
            ),
            explains: 0,
        });
    }
    Some(FirmwareUpdate {
        grade: Grade::Claimed,
        why: if c.smbios && measured.is_empty() {
            format!("only the SMBIOS strings changed (version \"{claimed}\"); the S-CRTM version and the system table's revision did not")
        } else {
            "the firmware's identity changed, but its code measurements did not change with it"
                .into()
        },
        explains: 0,
    })
}

/// The most items one reason names.
const MAX_NAMED: usize = 8;

fn few(items: &[String]) -> String {
    let mut v: Vec<String> = items.iter().take(MAX_NAMED).cloned().collect();
    if items.len() > MAX_NAMED {
        v.push(format!("and {} more", items.len() - MAX_NAMED));
    }
    v.join(", ")
}

/// True when `log` replays to the PCRs `pcrs` that `s` recorded: no bank
/// disagrees, and at least one bank agrees for each.
pub(crate) fn replays(s: &Snapshot, log: &EventLog, pcrs: &[u32]) -> bool {
    let Some(t) = s.tpm.as_ref() else {
        return false;
    };
    let v = crate::snapshot::self_check(t, log);
    pcrs.iter().all(|p| {
        let of: Vec<_> = v.iter().filter(|x| x.pcr == *p).collect();
        of.iter()
            .all(|x| x.verdict != crate::pcrs::Verdict::Mismatch)
            && of.iter().any(|x| x.verdict == crate::pcrs::Verdict::Match)
    })
}

/// A measured piece of code: (PCR, event type, digest, event number).
type CodeEvent = (u32, EventType, Vec<u8>, usize);

/// The code PCR2 and PCR4 of the current log (`b`) measure that the
/// baseline's (`a`) did not: every event there but separators and actions,
/// by PCR, type and digest. `Err` when either log cannot be trusted for
/// that: a digest that does not cover its data, or a log that does not
/// replay to its snapshot's PCRs 2 and 4.
pub fn code_added(
    before: &Snapshot,
    after: &Snapshot,
    a: &EventLog,
    b: &EventLog,
) -> Result<Vec<String>, String> {
    use crate::eventlog::check::DigestStatus;
    use crate::eventlog::types::EventType;
    const PCRS: [u32; 2] = [2, 4];
    let mut bank = None;
    for alg in [
        crate::eventlog::HashAlg::Sha256,
        crate::eventlog::HashAlg::Sha1,
    ] {
        if a.banks().contains(&alg) && b.banks().contains(&alg) {
            bank = Some(alg);
            break;
        }
    }
    let Some(bank) = bank else {
        return Err("the two logs share no SHA-1 or SHA-256 bank".into());
    };
    let code = |l: &EventLog, side: &str| -> Result<Vec<CodeEvent>, String> {
        let checks = crate::eventlog::check::check(l);
        let mut v = Vec::new();
        for (i, e) in l.events.iter().enumerate() {
            if !PCRS.contains(&e.pcr)
                || matches!(
                    e.event_type,
                    EventType::SEPARATOR | EventType::EFI_ACTION | EventType::NO_ACTION
                )
            {
                continue;
            }
            if checks.status.get(i) == Some(&DigestStatus::Mismatch) {
                return Err(format!(
                    "PCR{} event {} of the {side} log is not covered by its digests",
                    e.pcr, e.number
                ));
            }
            let d = e.digest(bank).map(<[u8]>::to_vec).ok_or_else(|| {
                format!(
                    "PCR{} event {} of the {side} log has no {bank} digest",
                    e.pcr, e.number
                )
            })?;
            v.push((e.pcr, e.event_type, d, e.number));
        }
        Ok(v)
    };
    if !replays(before, a, &PCRS) {
        return Err("the baseline's log does not replay to its PCRs 2 and 4".into());
    }
    if !replays(after, b, &PCRS) {
        return Err("the current log does not replay to its PCRs 2 and 4".into());
    }
    let was: std::collections::HashSet<(u32, EventType, Vec<u8>)> = code(a, "baseline's")?
        .into_iter()
        .map(|(p, t, d, _)| (p, t, d))
        .collect();
    Ok(code(b, "current")?
        .into_iter()
        .filter(|(p, t, d, _)| !was.contains(&(*p, *t, d.clone())))
        .map(|(p, t, _, n)| {
            format!(
                "PCR{p} event {n} ({})",
                crate::eventlog::types::event_type_name(t)
            )
        })
        .collect())
}

/// Whether a verified update to `reference` stands behind the memory
/// map's changes (`regions`: the current map's new, grown and moved
/// regions, `[start, end)`): `Ok` with the reason when all three hold,
/// else `Err` with what does not.
///
/// 1. Every image the snapshot lists as loaded inside those regions is a
///    firmware driver the reference holds, or there is none.
/// 2. PCR2 and PCR4 measure no code the baseline's did not ([`code_added`]).
/// 3. The flash copy, where there is one, is the reference's image byte
///    for byte.
pub fn memory_backed(
    before: &Snapshot,
    after: &Snapshot,
    la: Option<&EventLog>,
    lb: Option<&EventLog>,
    judgement: &Judgement,
    reference: &crate::firmware::reference::Reference,
    regions: &[(u64, u64)],
) -> Result<String, String> {
    let Some(images) = &after.loaded_images else {
        return Err(
            "the snapshot lists no loaded images: what runs in the changed regions is unknown"
                .into(),
        );
    };
    // The regions sorted and merged, each image found by binary search:
    // linear-logarithmic in a hostile map of a million regions.
    let mut spans: Vec<(u64, u64)> = regions.iter().copied().filter(|(s, e)| s < e).collect();
    spans.sort_unstable();
    let mut merged: Vec<(u64, u64)> = Vec::with_capacity(spans.len());
    for (s, e) in spans {
        match merged.last_mut() {
            Some(last) if s <= last.1 => last.1 = last.1.max(e),
            _ => merged.push((s, e)),
        }
    }
    let inside = |base: u64, size: u64| -> bool {
        let end = base.saturating_add(size.max(1));
        let i = merged.partition_point(|(_, e)| *e <= base);
        merged.get(i).is_some_and(|(s, _)| *s < end)
    };
    let mut within = 0usize;
    let mut foreign = Vec::new();
    for img in images.iter().filter(|i| inside(i.base, i.size)) {
        within += 1;
        if !crate::firmware::judge::holds_driver(reference, img) {
            foreign.push(format!("{} at {:#x}", img.device_path, img.base));
        }
    }
    if !foreign.is_empty() {
        return Err(format!(
            "code that is not in the reference {} runs in the changed memory: {}",
            reference.label(),
            few(&foreign)
        ));
    }
    let (Some(la), Some(lb)) = (la, lb) else {
        return Err(format!(
            "{} has no readable event log: whether code came with the update is unknown",
            if la.is_none() {
                "the baseline"
            } else {
                "the current snapshot"
            }
        ));
    };
    let added = code_added(before, after, la, lb)?;
    if !added.is_empty() {
        return Err(format!(
            "code came with the update that the baseline's boot did not measure: {}",
            few(&added)
        ));
    }
    let flash = match &after.firmware_flash {
        None => "no flash copy was taken",
        Some(_) if judgement.flash_reference.as_deref() == Some(reference.label().as_str()) => {
            "the flash copy is the reference's image byte for byte"
        }
        Some(_) => {
            return Err(format!(
                "the flash copy is not the image of the reference {}",
                reference.label()
            ))
        }
    };
    Ok(format!(
        "{}; PCR2 and PCR4 measure no new code; {flash}",
        match within {
            0 => format!(
                "no loaded image lies in the {} changed regions",
                regions.len()
            ),
            n => format!(
                "the {n} loaded image{} in the {} changed regions {} drivers of the reference",
                if n == 1 { "" } else { "s" },
                regions.len(),
                if n == 1 { "is one of the" } else { "are all" }
            ),
        }
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A SHA-1-format log of TCG_PCR_EVENT records (pcr, type, data).
    fn log(events: &[(u32, EventType, &[u8])]) -> EventLog {
        let v: Vec<(u32, EventType, Vec<u8>)> = events
            .iter()
            .map(|(p, t, d)| (*p, *t, d.to_vec()))
            .collect();
        crate::secure_boot::policy::tests::log(&v)
    }

    const SCRTM: EventType = EventType::S_CRTM_VERSION;
    const BLOB: EventType = EventType::EFI_PLATFORM_FIRMWARE_BLOB;

    #[test]
    fn a_dropped_s_crtm_version_event_corroborates_nothing() {
        let s = Snapshot::default();
        let blob_a: &[u8] = &[0, 0, 0x90, 0, 0, 0, 0, 0, 0, 0, 0xc0, 0, 0, 0, 0, 0];
        let a = log(&[(0, SCRTM, b"1\0"), (0, BLOB, blob_a)]);
        // Another firmware blob digest (other data), no S-CRTM event.
        let blob_b: &[u8] = &[0, 0, 0x91, 0, 0, 0, 0, 0, 0, 0, 0xc0, 0, 0, 0, 0, 0];
        let b = log(&[(0, BLOB, blob_b)]);
        let c = changes(&s, &s, Some(&a), Some(&b));
        assert!(c.firmware_blobs && !c.scrtm_version, "{c:?}");
        // Both carry it, with other versions: that is a measured change.
        let b2 = log(&[(0, SCRTM, b"2\0"), (0, BLOB, blob_b)]);
        let c = changes(&s, &s, Some(&a), Some(&b2));
        assert!(c.firmware_blobs && c.scrtm_version, "{c:?}");
        let g = grade(&c, &s, None).unwrap();
        assert_eq!(g.grade, Grade::Corroborated);
    }

    fn reference() -> crate::firmware::reference::Reference {
        serde_json::from_value(serde_json::json!({
            "format": "bootaudit-reference/1", "vendor": "V", "version": "2",
            "image_sha256": "00", "image_size": 1, "volumes": [], "unpredictable": [],
            "files": [{"volume": "7CB8BDC9-F8EB-4F34-AAEA-3EE4AF6516A1",
                       "guid": "11111111-2222-3333-4444-555555555555", "type_name": "driver",
                       "ui_name": null, "sha256": "00", "body_sha256": null,
                       "authenticode_sha256": null, "size_of_image": 8192, "depex": null}]
        }))
        .expect("a reference")
    }

    fn image(path: &str, base: u64, size_of_image: u32) -> crate::snapshot::LoadedImage {
        crate::snapshot::LoadedImage {
            device_path: path.into(),
            base,
            size: 0x2000,
            size_of_image: Some(size_of_image),
            ..Default::default()
        }
    }

    const IN_REF: &str =
        "Fv(7CB8BDC9-F8EB-4F34-AAEA-3EE4AF6516A1)/FvFile(11111111-2222-3333-4444-555555555555)";

    #[test]
    fn an_image_outside_the_reference_in_a_changed_region_withholds_the_explanation() {
        let r = reference();
        let j: Judgement = crate::firmware::judge::judge(&Snapshot::default(), None, &[]);
        let regions = [(0x10_0000, 0x20_0000), (0x7f00_0000, 0x7f10_0000)];
        let at = |images: Vec<crate::snapshot::LoadedImage>| {
            let s = Snapshot {
                loaded_images: Some(images),
                ..Default::default()
            };
            memory_backed(&Snapshot::default(), &s, None, None, &j, &r, &regions)
        };
        // A runtime driver from an option ROM inside the second region,
        // and one of the reference's drivers with another SizeOfImage
        // inside the first: neither is the reference's.
        let e = at(vec![
            image(IN_REF, 0x10_1000, 8192),
            image(
                "PciRoot(0x0)/Pci(0x3,0x0)/Offset(0x0,0x1ff)",
                0x7f0f_f000,
                8192,
            ),
        ])
        .unwrap_err();
        assert!(
            e.contains("PciRoot(0x0)/Pci(0x3,0x0)/Offset(0x0,0x1ff) at 0x7f0ff000"),
            "{e}"
        );
        let e = at(vec![image(IN_REF, 0x1f_f000, 4096)]).unwrap_err();
        assert!(
            e.starts_with("code that is not in the reference V 2 runs"),
            "{e}"
        );
        // An image that ends where a region starts is outside it; the
        // reference's own driver inside is fine: both reach the next
        // condition, which needs the logs.
        for images in [
            vec![image("\\EFI\\x.efi", 0x7eff_e000, 8192)],
            vec![image(IN_REF, 0x7f00_0000, 8192)],
            vec![],
        ] {
            let e = at(images).unwrap_err();
            assert!(
                e.starts_with("the baseline has no readable event log"),
                "{e}"
            );
        }
        // No image list at all: unknown, not a pass.
        let e = memory_backed(
            &Snapshot::default(),
            &Snapshot::default(),
            None,
            None,
            &j,
            &r,
            &regions,
        )
        .unwrap_err();
        assert!(e.contains("lists no loaded images"), "{e}");
    }
}
