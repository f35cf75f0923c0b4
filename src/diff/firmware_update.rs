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

use crate::eventlog::EventLog;
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
            let b = e.event_type == 0x8000_0008 || e.event_type == 0x8000_000a;
            if blob {
                b
            } else {
                e.event_type == 0x0000_0008
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
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A SHA-1-format log of TCG_PCR_EVENT records (pcr, type, data).
    fn log(events: &[(u32, u32, &[u8])]) -> EventLog {
        use sha1::Digest;
        let mut v = Vec::new();
        for (pcr, ty, data) in events {
            v.extend(pcr.to_le_bytes());
            v.extend(ty.to_le_bytes());
            v.extend(sha1::Sha1::digest(data));
            v.extend((data.len() as u32).to_le_bytes());
            v.extend_from_slice(data);
        }
        crate::eventlog::parse(&v).expect("a SHA-1 log")
    }

    const SCRTM: u32 = 0x0000_0008;
    const BLOB: u32 = 0x8000_0008;

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
}
