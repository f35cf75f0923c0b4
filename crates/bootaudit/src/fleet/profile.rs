//! A host's profile: its group (platform and firmware identity) and the
//! artefacts a fleet compares between identical siblings, each as a key and
//! a value. Keys that name a thing that may be absent (a firmware driver,
//! an ACPI table, a runtime region) have presence as their value, so that a
//! host that lacks what its peers have departs as well.

use crate::eventlog::{decode::EventData, HashAlg};
use crate::snapshot::{self, MapLabel, Snapshot};
use std::collections::BTreeMap;

/// What kind of artefact a key names; it decides the rule a departure maps
/// to (the rule ids are `diff`'s).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Kind {
    /// A PCR value (0, 2 or 7) of the SHA-256 bank, else SHA-1.
    Pcr(u32),
    /// A firmware blob's digest, by base and length (PCR0 events).
    Blob,
    /// A firmware driver (FvFile) that is loaded; value: its build.
    Driver,
    /// A driver loaded from a PCI device's expansion ROM, by device path;
    /// value: its build.
    OptionRom,
    /// An ACPI table by signature, OEM table ID and instance; value: its
    /// content hash.
    Acpi,
    /// A runtime/reserved/ACPI NVS/MMIO region of this type, by size
    /// (addresses shift with RAM); value: present.
    Region(crate::snapshot::MemoryType),
    /// The dbx variable; value: size and hash.
    Dbx,
}

impl Kind {
    /// The kind's name in the Parquet facts and the spool: `pcr:N`,
    /// `blob`, `driver`, `option-rom`, `acpi`, `region:TYPE` (the UEFI
    /// memory type's number), `dbx`.
    pub fn name(&self) -> String {
        match self {
            Kind::Pcr(n) => format!("pcr:{n}"),
            Kind::Blob => "blob".into(),
            Kind::Driver => "driver".into(),
            Kind::OptionRom => "option-rom".into(),
            Kind::Acpi => "acpi".into(),
            Kind::Region(t) => format!("region:{}", t.0),
            Kind::Dbx => "dbx".into(),
        }
    }

    /// The kind a [`Kind::name`] names.
    pub fn from_name(s: &str) -> Option<Kind> {
        let num = |p: &str| s.strip_prefix(p).and_then(|n| n.parse::<u32>().ok());
        Some(match s {
            "blob" => Kind::Blob,
            "driver" => Kind::Driver,
            "option-rom" => Kind::OptionRom,
            "acpi" => Kind::Acpi,
            "dbx" => Kind::Dbx,
            _ => {
                if let Some(n) = num("pcr:") {
                    Kind::Pcr(n)
                } else {
                    Kind::Region(crate::snapshot::MemoryType(num("region:")?))
                }
            }
        })
    }
}

impl serde::Serialize for Kind {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.name())
    }
}

impl<'de> serde::Deserialize<'de> for Kind {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Kind, D::Error> {
        let s = std::borrow::Cow::<'de, str>::deserialize(d)?;
        Kind::from_name(&s).ok_or_else(|| serde::de::Error::custom(format!("no kind {s:?}")))
    }
}

/// Which hosts are identical siblings: SMBIOS manufacturer and product,
/// BIOS version, and the UEFI firmware revision.
#[derive(
    Clone,
    Debug,
    Default,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    serde::Serialize,
    serde::Deserialize,
)]
pub struct Group {
    /// SMBIOS system manufacturer.
    pub manufacturer: String,
    /// SMBIOS product name.
    pub product: String,
    /// SMBIOS BIOS version.
    pub bios_version: String,
    /// EFI_SYSTEM_TABLE.FirmwareRevision (0 when unknown, as on a running
    /// Linux host).
    pub firmware_revision: u32,
}

/// One host's profile.
#[derive(Clone, Debug, Default)]
pub struct Profile {
    /// (kind, key) → value.
    pub items: BTreeMap<(Kind, String), String>,
}

/// Which host this is, for baselines and reports: machine-id, else the
/// SMBIOS UUID (when set), serial, hostname; else `fallback` (the file).
pub fn host_id(s: &Snapshot, fallback: &str) -> String {
    let id = s.identity.as_ref();
    let sm = id.and_then(|i| i.smbios.as_ref());
    let usable = |v: &str| {
        !v.is_empty() && v.chars().any(|c| c != '0' && c != '-') && !v.eq_ignore_ascii_case("none")
    };
    id.and_then(|i| i.machine_id.clone())
        .filter(|v| usable(v))
        .or_else(|| sm.map(|s| s.system_uuid.clone()).filter(|v| usable(v)))
        .or_else(|| sm.map(|s| s.system_serial.clone()).filter(|v| usable(v)))
        .or_else(|| id.and_then(|i| i.hostname.clone()).filter(|v| usable(v)))
        .unwrap_or_else(|| fallback.to_string())
}

/// The host's group.
pub fn group(s: &Snapshot) -> Group {
    let id = s.identity.as_ref();
    let sm = id.and_then(|i| i.smbios.as_ref());
    let f =
        |g: fn(&crate::snapshot::Smbios) -> &String| sm.map(|s| g(s).clone()).unwrap_or_default();
    Group {
        manufacturer: f(|s| &s.system_manufacturer),
        product: f(|s| &s.system_product),
        bios_version: f(|s| &s.bios_version),
        firmware_revision: id.map(|i| i.firmware_revision).unwrap_or(0),
    }
}

use crate::diff::acpi::{NEVER_BY_CONTENT, POINTER_TABLES};
use crate::diff::memmap::PERSISTENT;

/// The profile of a snapshot.
pub fn profile(s: &Snapshot) -> Profile {
    let log = s
        .tpm
        .as_ref()
        .and_then(|t| snapshot::event_log(t, "fleet").ok().flatten());
    profile_with_log(s, log.as_ref())
}

/// [`profile`], with the snapshot's event log already parsed (`None`: it
/// has none, or it does not parse).
pub fn profile_with_log(s: &Snapshot, log: Option<&crate::eventlog::EventLog>) -> Profile {
    // Gathered, then sorted once into the map (the later of two equal keys
    // wins, as an insert would): a fifth of the cost of inserting each.
    let mut items: Vec<((Kind, String), String)> = Vec::with_capacity(256);
    let mut put = |k: Kind, key: String, v: String| {
        items.push(((k, key), v));
    };
    if let Some(t) = &s.tpm {
        let bank = if t.pcrs.contains_key("sha256") {
            "sha256"
        } else {
            "sha1"
        };
        for pcr in [0u32, 2, 7] {
            if let Some(v) = t.pcrs.get(bank).and_then(|b| b.get(&pcr)) {
                put(Kind::Pcr(pcr), format!("{bank} PCR{pcr}"), v.clone());
            }
        }
        if let Some(log) = log {
            for e in log.events.iter().filter(|e| e.pcr == 0) {
                let key = match e.decode() {
                    EventData::FirmwareBlob { base, length } => {
                        format!("blob {base:#x}+{length:#x}")
                    }
                    EventData::FirmwareBlob2 {
                        description,
                        base,
                        length,
                    } => {
                        format!("{description} {base:#x}+{length:#x}")
                    }
                    // An image Trusted Firmware-A measured, by its name.
                    EventData::TrustedFirmware { name, .. } => format!("TF-A {name}"),
                    _ => continue,
                };
                let d = e
                    .digest(HashAlg::Sha256)
                    .or_else(|| e.digests.first().map(|d| d.digest.as_slice()))
                    .map(crate::hexser::encode)
                    .unwrap_or_default();
                put(Kind::Blob, key, d);
            }
        }
    }
    // Images from disk are left out: their paths name the host's own
    // partition GUIDs.
    for i in s.loaded_images.iter().flatten() {
        let kind = if i.device_path.contains("FvFile(") {
            Kind::Driver
        } else if crate::diff::images::is_option_rom(&i.device_path) {
            Kind::OptionRom
        } else {
            continue;
        };
        put(
            kind,
            i.device_path.clone(),
            debug_pair(i.size_of_image, i.timestamp),
        );
    }
    if let Some(a) = &s.acpi {
        let mut seen: BTreeMap<(String, String), usize> = BTreeMap::new();
        for t in &a.tables {
            if NEVER_BY_CONTENT.contains(&t.signature.as_str()) || t.via == "sysfs-data" {
                continue;
            }
            let n = seen
                .entry((t.signature.clone(), t.oem_table_id.clone()))
                .or_default();
            *n += 1;
            let value = if POINTER_TABLES.contains(&t.signature.as_str()) {
                t.content_sha256.clone().unwrap_or_default()
            } else {
                t.sha256.clone()
            };
            put(
                Kind::Acpi,
                format!("{} {} #{n}", t.signature, t.oem_table_id),
                value,
            );
        }
    }
    // The collector's entry map, or a host's runtime map.
    let map = s
        .memory_maps
        .iter()
        .find(|m| matches!(m.label, MapLabel::Entry | MapLabel::EfiRuntimeMap));
    if let Some(m) = map {
        let mut seen: BTreeMap<(crate::snapshot::MemoryType, u64), usize> = BTreeMap::new();
        for d in m.descriptors.iter().filter(|d| PERSISTENT.contains(&d.ty)) {
            let n = seen.entry((d.ty, d.pages)).or_default();
            *n += 1;
            put(
                Kind::Region(d.ty),
                format!("{} {} pages #{n}", d.ty.name(), d.pages),
                "present".into(),
            );
        }
    }
    if let Some(v) = s.secure_boot.as_ref().and_then(|sb| sb.variable("dbx")) {
        put(Kind::Dbx, "dbx".into(), format!("{} {}", v.size, v.sha256));
    }
    Profile {
        items: items.into_iter().collect(),
    }
}

/// `format!("{:?}/{:?}", a, b)`, the value an image's facts have always
/// had, written without the formatting machinery (it was a tenth of a
/// fleet's time).
fn debug_pair(a: Option<u32>, b: Option<u32>) -> String {
    let mut s = String::with_capacity(32);
    for (n, v) in [a, b].into_iter().enumerate() {
        if n == 1 {
            s.push('/');
        }
        match v {
            Some(v) => {
                s.push_str("Some(");
                push_decimal(&mut s, v);
                s.push(')');
            }
            None => s.push_str("None"),
        }
    }
    s
}

/// `v` in decimal, as `Display` writes it.
fn push_decimal(s: &mut String, mut v: u32) {
    let mut digits = [0u8; 10];
    let mut n = digits.len();
    loop {
        n -= 1;
        digits[n] = b'0' + (v % 10) as u8;
        v /= 10;
        if v == 0 {
            break;
        }
    }
    for &d in &digits[n..] {
        s.push(char::from(d));
    }
}

#[cfg(test)]
mod debug_pair_tests {
    #[test]
    fn it_writes_what_debug_writes() {
        for a in [None, Some(0), Some(126_400), Some(u32::MAX)] {
            for b in [None, Some(0), Some(7)] {
                assert_eq!(super::debug_pair(a, b), format!("{a:?}/{b:?}"));
            }
        }
    }
}
