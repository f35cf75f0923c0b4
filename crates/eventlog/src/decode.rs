//! Typed decoding of event data, by event type. Decoding is total: data that
//! does not fit the structure its type promises is kept raw with the reason
//! (tpm2-tools #2017: decode by size, never assume).

use super::parse::spec_id;
use super::SpecId;
use crate::efi::{ascii_string, split_ucs2_z, ucs2_to_string, Guid};
use crate::hexser;
use crate::loadoption::LoadOption;
use crate::types::EventType;
use serde::Serialize;

/// Decoded event data.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum EventData {
    /// A Spec ID event (in a SHA-1 log, or a stray one).
    SpecId(SpecId),
    /// EV_NO_ACTION "StartupLocality": the locality PCR0 was reset from.
    StartupLocality {
        /// 0, 3 or 4.
        locality: u8,
    },
    /// Another EV_NO_ACTION: its signature (when it has one) and raw data.
    NoAction {
        /// The NUL-terminated ASCII signature at the start, if any.
        signature: Option<String>,
        /// The data (hex).
        #[serde(serialize_with = "hexser::bytes")]
        raw: Vec<u8>,
    },
    /// Text (EV_EFI_ACTION, EV_ACTION, EV_S_CRTM_VERSION, POST-code strings...).
    Text {
        /// The text.
        text: String,
    },
    /// UEFI_PLATFORM_FIRMWARE_BLOB: a measured firmware region.
    FirmwareBlob {
        /// Physical base address.
        base: u64,
        /// Length in bytes.
        length: u64,
    },
    /// UEFI_PLATFORM_FIRMWARE_BLOB2: a described firmware region.
    FirmwareBlob2 {
        /// The description ("Fv(...)", "POST CODE", ...).
        description: String,
        /// Physical base address.
        base: u64,
        /// Length in bytes.
        length: u64,
    },
    /// UEFI_HANDOFF_TABLE_POINTERS(2): configuration tables handed to the OS.
    HandoffTables {
        /// The description (HANDOFF_TABLES2 only).
        description: Option<String>,
        /// The tables.
        tables: Vec<HandoffTable>,
    },
    /// UEFI_VARIABLE_DATA: a measured UEFI variable.
    Variable(Variable),
    /// UEFI_IMAGE_LOAD_EVENT: an EFI image that was loaded.
    ImageLoad {
        /// Where the image was in memory.
        location: u64,
        /// Its length in memory.
        length: u64,
        /// Its link-time base address.
        link_time_address: u64,
        /// The device path the image came from, as text.
        device_path: String,
    },
    /// UEFI_GPT_DATA: the boot disk's partition table.
    Gpt(Gpt),
    /// EV_SEPARATOR: 0 normally, 0xFFFFFFFF when an error occurred.
    Separator {
        /// The separator value.
        value: u32,
        /// True for the error separator.
        error: bool,
    },
    /// EV_IPL from a boot loader: grub command lines, shim's MOK variables,
    /// systemd-boot's kernel options.
    Ipl {
        /// The loader that writes strings of this shape.
        source: String,
        /// The string.
        text: String,
    },
    /// Windows' boot configuration records (SIPA, wbcl.h) in an
    /// EV_EVENT_TAG.
    Sipa {
        /// The records, each a tree.
        records: Vec<super::sipa::SipaRecord>,
    },
    /// TCG_PCClientTaggedEvent.
    EventTag {
        /// taggedEventID.
        id: u32,
        /// taggedEventData (hex).
        #[serde(serialize_with = "hexser::bytes")]
        data: Vec<u8>,
    },
    /// A GUID (EV_S_CRTM_VERSION of 16 bytes that are no text: AMI and
    /// Insyde firmware log the S-CRTM's GUID there).
    Guid {
        /// The GUID.
        guid: Guid,
    },
    /// EV_COMPACT_HASH of four bytes (Windows' boot manager logs a 32-bit
    /// value in PCR 11).
    CompactHash {
        /// The value, little-endian.
        value: u32,
    },
    /// EV_NONHOST_INFO of Google Compute Engine ("GCE NonHostInfo"): which
    /// confidential-computing technology the VM runs under.
    GceNonHostInfo {
        /// The technology's number (0 none, 1 AMD SEV, 2 AMD SEV-ES, 3
        /// Intel TDX, 4 AMD SEV-SNP).
        technology: u8,
        /// Its name, or "unknown".
        name: String,
    },
    /// EV_IPL_PARTITION_DATA of a BIOS boot: the MBR's partition entries
    /// (16 bytes each: boot flag, CHS start, type, CHS end, first LBA,
    /// sector count).
    IplPartitions {
        /// The entries, empty ones included.
        partitions: Vec<MbrPartition>,
    },
    /// EV_TABLE_OF_DEVICES laid out as handoff-table pointers (count, then
    /// GUID and address pairs), as Intel server firmware logs it.
    TableOfDevices {
        /// The entries.
        tables: Vec<HandoffTable>,
    },
    /// The SP 800-155 platform-ID event (EV_NO_ACTION "SP800-155 Event",
    /// "Event2" or "Event3", PFP 1.06 §10.4.5.1): who made the platform and
    /// its firmware, and where the vendor's reference measurements are.
    Sp800155(Sp800155),
    /// Data bootaudit keeps raw (unknown types, SPDM events, ...).
    Raw {
        /// The data (hex).
        #[serde(serialize_with = "hexser::bytes")]
        raw: Vec<u8>,
    },
    /// EV_POST_CODE naming an image Trusted Firmware-A measured on an Arm
    /// machine before the UEFI firmware ran: its measured boot logs each
    /// image's name (NUL-terminated) as the event data, under the names of
    /// its `metadata.h` (Arm's SBSG names, `SECURE_RT_EL3`) or the older
    /// `event_log.h` ones (`BL_31`).
    TrustedFirmware {
        /// The name as logged.
        name: String,
        /// What that image is.
        component: &'static str,
    },
    /// Data that does not fit the structure its event type promises.
    Invalid {
        /// What did not fit.
        reason: String,
        /// The data (hex).
        #[serde(serialize_with = "hexser::bytes")]
        raw: Vec<u8>,
    },
}

/// One MBR partition entry.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct MbrPartition {
    /// 0x80 for the active (boot) partition.
    pub boot_flag: u8,
    /// The partition type (0x07 NTFS, 0x83 Linux, 0xEE GPT protective).
    pub partition_type: u8,
    /// The first sector (LBA).
    pub first_lba: u32,
    /// The number of sectors.
    pub sectors: u32,
}

/// The SP 800-155 platform-ID event.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Sp800155 {
    /// "SP800-155 Event", "SP800-155 Event2" or "SP800-155 Event3".
    pub signature: String,
    /// The platform manufacturer's IANA enterprise number.
    pub vendor_id: u32,
    /// The reference manifest's GUID: which static configuration of code
    /// the vendor's reference measurements describe.
    pub reference_manifest_guid: Guid,
    /// Event2 and Event3: the platform manufacturer.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub platform_manufacturer: Option<String>,
    /// Event2 and Event3: the platform model.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub platform_model: Option<String>,
    /// Event2 and Event3: the platform version.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub platform_version: Option<String>,
    /// Event2 and Event3: the firmware manufacturer.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub firmware_manufacturer: Option<String>,
    /// Event2 and Event3: the firmware manufacturer's IANA number.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub firmware_manufacturer_id: Option<u32>,
    /// Event2 and Event3: the firmware version.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub firmware_version: Option<String>,
    /// Event3: where the reference integrity manifest is.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rim_locator: Option<Locator>,
    /// Event3: where the platform certificate is.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub platform_cert_locator: Option<Locator>,
    /// Bytes after the structure (GCE pads its Event3 with six zeros).
    pub trailing_bytes: usize,
}

/// A TCG locator (PFP 1.06 §10.4.5.1): where a manifest or a certificate
/// can be fetched.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "type", rename_all = "kebab-case")]
pub enum Locator {
    /// Type 0: the data itself (hex).
    Raw {
        /// The data.
        #[serde(serialize_with = "hexser::bytes")]
        data: Vec<u8>,
    },
    /// Type 1: a URI.
    Uri {
        /// The URI.
        uri: String,
    },
    /// Type 2: an EFI device path.
    DevicePath {
        /// The path as text.
        path: String,
    },
    /// Type 3: a UEFI variable (vendor GUID, then a NUL-terminated UCS-2 name).
    Variable {
        /// Vendor GUID.
        guid: Guid,
        /// Variable name.
        name: String,
    },
    /// Another type, kept raw.
    Other {
        /// The type number.
        kind: u32,
        /// The data.
        #[serde(serialize_with = "hexser::bytes")]
        data: Vec<u8>,
    },
}

/// One configuration-table pointer of a handoff-tables event.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct HandoffTable {
    /// The table's vendor GUID (ACPI, SMBIOS, ...).
    pub guid: Guid,
    /// Its address.
    pub address: u64,
}

/// A measured UEFI variable.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Variable {
    /// Vendor GUID.
    pub guid: Guid,
    /// Variable name.
    pub name: String,
    /// Length of the value in bytes.
    pub data_length: u64,
    /// Value (hex).
    #[serde(serialize_with = "hexser::bytes")]
    pub data: Vec<u8>,
    /// The decoded load option, for Boot#### / Driver#### / SysPrep####.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub load_option: Option<LoadOption>,
    /// The decoded list, for BootOrder.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub boot_order: Option<Vec<String>>,
}

/// The partition table of the boot disk.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Gpt {
    /// DiskGUID.
    pub disk_guid: Guid,
    /// Header revision.
    pub revision: u32,
    /// Partition entries.
    pub partitions: Vec<GptPartition>,
}

/// One GPT partition entry.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct GptPartition {
    /// Partition type GUID (C12A7328-F81F-11D2-BA4B-00A0C93EC93B is the ESP).
    pub type_guid: Guid,
    /// Unique partition GUID.
    pub unique_guid: Guid,
    /// First LBA.
    pub starting_lba: u64,
    /// Last LBA (inclusive).
    pub ending_lba: u64,
    /// Attribute bits.
    pub attributes: u64,
    /// Partition name.
    pub name: String,
}

use crate::le::{u32_at as le32, u64_at as le64};

/// What an image Trusted Firmware-A's measured boot names is, by the
/// names TF-A logs (include/drivers/measured_boot/metadata.h since 2024,
/// and the event_log.h strings before it).
pub fn trusted_firmware_image(name: &str) -> Option<&'static str> {
    Some(match name {
        "BL_2" => "TF-A BL2, the trusted boot firmware",
        "BL_31" | "SECURE_RT_EL3" => "TF-A BL31, the EL3 runtime firmware",
        "BL_32" | "SECURE_RT_EL1_UNKNOWN" => "BL32, the secure payload",
        "SECURE_RT_EL1_OPTEE" => "BL32, the secure payload: OP-TEE",
        "SECURE_RT_EL1_TSPD" => "BL32, the secure payload: TF-A's test payload",
        "SECURE_RT_EL1_TLKD" => "BL32, the secure payload: Trusted Little Kernel",
        "SECURE_RT_EL1_TRUSTY" => "BL32, the secure payload: Trusty",
        "BL32_EXTRA1_IMAGE" | "SECURE_RT_EL1_OPTEE_EXTRA1" => "BL32's first extra image",
        "BL32_EXTRA2_IMAGE" | "SECURE_RT_EL1_OPTEE_EXTRA2" => "BL32's second extra image",
        "BL_33" => "BL33, the non-secure firmware (UEFI, U-Boot)",
        "FW_CONFIG" => "FW_CONFIG, the firmware configuration",
        "TB_FW_CONFIG" => "TB_FW_CONFIG, BL2's configuration",
        "HW_CONFIG" => "HW_CONFIG, the hardware configuration Device Tree",
        "SOC_FW_CONFIG" => "SOC_FW_CONFIG, BL31's configuration",
        "TOS_FW_CONFIG" => "TOS_FW_CONFIG, BL32's configuration",
        "NT_FW_CONFIG" => "NT_FW_CONFIG, BL33's configuration",
        "SCP_BL2_IMAGE" | "SYS_CTRL_2" => "SCP_BL2, the system control processor's firmware",
        "RMM" => "the Realm Management Monitor (Arm CCA)",
        "SP1" | "SP2" | "SP3" | "SP4" | "SP5" | "SP6" | "SP7" | "SP8" => {
            "a secure partition (FF-A)"
        }
        _ => return None,
    })
}

fn invalid(reason: &str, d: &[u8]) -> EventData {
    EventData::Invalid {
        reason: reason.to_string(),
        raw: d.to_vec(),
    }
}

fn raw(d: &[u8]) -> EventData {
    EventData::Raw { raw: d.to_vec() }
}

/// Decodes the data of an event of type `t`.
pub fn decode(t: EventType, d: &[u8]) -> EventData {
    match t {
        EventType::NO_ACTION => no_action(d),
        EventType::S_CRTM_VERSION => {
            // A UCS-2 string in practice; some firmware writes ASCII, and
            // AMI and Insyde builds a 16-byte GUID.
            if let Some(s) = ascii_string(d) {
                EventData::Text { text: s }
            } else if let Some(text) = printable_ucs2(d) {
                EventData::Text { text }
            } else if d.len() == 16 {
                EventData::Guid {
                    guid: Guid::from_slice(d).expect("16 bytes"),
                }
            } else if d.len() % 2 == 0 {
                EventData::Text {
                    text: ucs2_to_string(d),
                }
            } else {
                raw(d)
            }
        }
        EventType::PLATFORM_CONFIG_FLAGS | EventType::CPU_MICROCODE => match text(d) {
            Some(text) => EventData::Text { text },
            None => raw(d),
        },
        EventType::COMPACT_HASH => match (d.len(), text(d)) {
            (4, _) => EventData::CompactHash {
                value: le32(d, 0).unwrap_or_default(),
            },
            (_, Some(text)) => EventData::Text { text },
            _ => raw(d),
        },
        EventType::NONHOST_INFO => gce_nonhost_info(d).unwrap_or_else(|| raw(d)),
        // The MBR's partition table: one to four 16-byte entries.
        EventType::IPL_PARTITION_DATA if !d.is_empty() && d.len() % 16 == 0 && d.len() <= 64 => {
            EventData::IplPartitions {
                partitions: d
                    .chunks_exact(16)
                    .map(|e| MbrPartition {
                        boot_flag: e[0],
                        partition_type: e[4],
                        first_lba: le32(e, 8).unwrap_or_default(),
                        sectors: le32(e, 12).unwrap_or_default(),
                    })
                    .collect(),
            }
        }
        EventType::TABLE_OF_DEVICES => match handoff(d, false) {
            EventData::HandoffTables { tables, .. } => EventData::TableOfDevices { tables },
            _ => raw(d),
        },
        EventType::POST_CODE | EventType::S_CRTM_CONTENTS | EventType::POST_CODE2 => {
            if let Some(s) = ascii_string(d) {
                match trusted_firmware_image(&s) {
                    Some(component) if t == EventType::POST_CODE => {
                        EventData::TrustedFirmware { name: s, component }
                    }
                    _ => EventData::Text { text: s },
                }
            } else if d.len() == 16 {
                blob(d)
            } else if t != EventType::POST_CODE
                && d.first().is_some_and(|&n| 1 + n as usize + 16 == d.len())
            {
                blob2(d)
            } else {
                raw(d)
            }
        }
        EventType::EFI_PLATFORM_FIRMWARE_BLOB => {
            if d.len() == 16 {
                blob(d)
            } else {
                invalid("UEFI_PLATFORM_FIRMWARE_BLOB is 16 bytes", d)
            }
        }
        EventType::EFI_PLATFORM_FIRMWARE_BLOB2 => blob2(d),
        EventType::EFI_HANDOFF_TABLES => handoff(d, false),
        EventType::EFI_HANDOFF_TABLES2 => handoff(d, true),
        EventType::EFI_VARIABLE_DRIVER_CONFIG
        | EventType::EFI_VARIABLE_BOOT
        | EventType::EFI_VARIABLE_BOOT2
        | EventType::EFI_VARIABLE_AUTHORITY => match variable(d) {
            Some(v) => EventData::Variable(v),
            None => invalid("UEFI_VARIABLE_DATA does not fit the event", d),
        },
        EventType::EFI_BOOT_SERVICES_APPLICATION
        | EventType::EFI_BOOT_SERVICES_DRIVER
        | EventType::EFI_RUNTIME_SERVICES_DRIVER => image_load(d),
        EventType::EFI_GPT_EVENT | EventType::EFI_GPT_EVENT2 => match gpt(d) {
            Some(g) => EventData::Gpt(g),
            None => invalid("UEFI_GPT_DATA does not fit the event", d),
        },
        EventType::EFI_ACTION
        | EventType::ACTION
        | EventType::OMIT_BOOT_DEVICE_EVENTS
        | EventType::EFI_HCRTM_EVENT => match ascii_string(d) {
            Some(text) => EventData::Text { text },
            None => raw(d),
        },
        EventType::SEPARATOR => match d.try_into().map(u32::from_le_bytes) {
            Ok(value) => EventData::Separator {
                value,
                error: value == 0xffff_ffff,
            },
            Err(_) => raw(d),
        },
        EventType::IPL => ipl(d),
        EventType::EVENT_TAG if le32(d, 0).is_some_and(super::sipa::is_sipa_id) => {
            match super::sipa::parse(d) {
                Ok(records) => EventData::Sipa { records },
                Err(why) => invalid(&format!("SIPA records: {why}"), d),
            }
        }
        EventType::EVENT_TAG => match (le32(d, 0), le32(d, 4)) {
            (Some(id), Some(n)) if d.len() - 8 == n as usize => EventData::EventTag {
                id,
                data: d[8..].to_vec(),
            },
            _ => invalid("TCG_PCClientTaggedEvent size does not match the event", d),
        },
        _ => raw(d),
    }
}

/// UTF-8 text that holds no control character other than tab, newline
/// and carriage return (a trailing NUL allowed): what firmware and boot
/// loaders log as strings. Escaping for a terminal is the renderer's job.
fn text(d: &[u8]) -> Option<String> {
    let d = d.strip_suffix(&[0]).unwrap_or(d);
    let s = std::str::from_utf8(d).ok()?;
    (!s.is_empty()
        && s.chars()
            .all(|c| !c.is_control() || matches!(c, '\t' | '\n' | '\r')))
    .then(|| s.to_string())
}

/// UCS-2 text of printable ASCII characters, NUL-terminated or not: how
/// EDK2-based firmware logs its S-CRTM version. Anything else is None, so
/// that 16 bytes of a GUID (which decode to CJK characters) are not taken
/// for text.
fn printable_ucs2(d: &[u8]) -> Option<String> {
    if d.len() < 2 || d.len() % 2 != 0 {
        return None;
    }
    let mut units: Vec<u16> = d
        .chunks_exact(2)
        .map(|c| u16::from_le_bytes([c[0], c[1]]))
        .collect();
    while units.last() == Some(&0) {
        units.pop();
    }
    units
        .iter()
        .all(|&u| (0x20..0x7f).contains(&u))
        .then(|| units.iter().map(|&u| u as u8 as char).collect())
}

/// The confidential-computing technologies GCE names in its
/// EV_NONHOST_INFO (go-tpm-tools, the GCEConfidentialTechnology enum).
const GCE_TECHNOLOGIES: [&str; 5] = ["none", "AMD SEV", "AMD SEV-ES", "Intel TDX", "AMD SEV-SNP"];

fn gce_nonhost_info(d: &[u8]) -> Option<EventData> {
    let rest = d.strip_prefix(b"GCE NonHostInfo\0")?;
    let technology = *rest.first()?;
    Some(EventData::GceNonHostInfo {
        technology,
        name: GCE_TECHNOLOGIES
            .get(technology as usize)
            .unwrap_or(&"unknown")
            .to_string(),
    })
}

/// A byte-length-prefixed string of the SP 800-155 event, its NUL dropped.
fn sized_str(d: &[u8], at: &mut usize) -> Option<String> {
    let n = *d.get(*at)? as usize;
    let s = d.get(*at + 1..*at + 1 + n)?;
    *at += 1 + n;
    Some(String::from_utf8_lossy(s.split(|&b| b == 0).next().unwrap_or(&[])).into_owned())
}

fn locator(d: &[u8], at: &mut usize) -> Option<Locator> {
    let kind = le32(d, *at)?;
    let len = le32(d, *at + 4)? as usize;
    let data = d.get(*at + 8..(*at + 8).checked_add(len)?)?;
    *at += 8 + len;
    let nul_trimmed =
        |b: &[u8]| String::from_utf8_lossy(b.split(|&c| c == 0).next().unwrap_or(&[])).into_owned();
    Some(match kind {
        0 => Locator::Raw {
            data: data.to_vec(),
        },
        1 => Locator::Uri {
            uri: nul_trimmed(data),
        },
        2 => Locator::DevicePath {
            path: crate::devpath::to_text(data),
        },
        3 if data.len() >= 16 => Locator::Variable {
            guid: Guid::from_slice(data)?,
            name: ucs2_to_string(&data[16..]),
        },
        _ => Locator::Other {
            kind,
            data: data.to_vec(),
        },
    })
}

/// Decodes the SP 800-155 platform-ID event (EDK2's
/// TCG_Sp800_155_PlatformId_Event2/3 layout).
fn sp800_155(d: &[u8]) -> Option<Sp800155> {
    let signature = String::from_utf8_lossy(d.get(..16)?.split(|&b| b == 0).next()?).into_owned();
    let vendor_id = le32(d, 16)?;
    let reference_manifest_guid = Guid::from_slice(d.get(20..36)?)?;
    let mut s = Sp800155 {
        signature,
        vendor_id,
        reference_manifest_guid,
        platform_manufacturer: None,
        platform_model: None,
        platform_version: None,
        firmware_manufacturer: None,
        firmware_manufacturer_id: None,
        firmware_version: None,
        rim_locator: None,
        platform_cert_locator: None,
        trailing_bytes: 0,
    };
    let mut at = 36;
    if s.signature != "SP800-155 Event" {
        s.platform_manufacturer = Some(sized_str(d, &mut at)?);
        s.platform_model = Some(sized_str(d, &mut at)?);
        s.platform_version = Some(sized_str(d, &mut at)?);
        s.firmware_manufacturer = Some(sized_str(d, &mut at)?);
        s.firmware_manufacturer_id = Some(le32(d, at)?);
        at += 4;
        s.firmware_version = Some(sized_str(d, &mut at)?);
    }
    if s.signature == "SP800-155 Event3" {
        s.rim_locator = Some(locator(d, &mut at)?);
        s.platform_cert_locator = Some(locator(d, &mut at)?);
    }
    s.trailing_bytes = d.len() - at;
    Some(s)
}

fn no_action(d: &[u8]) -> EventData {
    if d.starts_with(b"SP800-155 Event") {
        return match sp800_155(d) {
            Some(s) => EventData::Sp800155(s),
            None => invalid("SP 800-155 event does not fit its structure", d),
        };
    }
    if d.starts_with(b"Spec ID Event") {
        if let Ok((s, _)) = spec_id(d) {
            return EventData::SpecId(s);
        }
    }
    if d.len() == 17 && d.starts_with(b"StartupLocality\0") {
        return EventData::StartupLocality { locality: d[16] };
    }
    let signature = d
        .iter()
        .position(|&b| b == 0)
        .filter(|&n| n > 0 && d[..n].iter().all(|c| c.is_ascii_graphic() || *c == b' '))
        .map(|n| String::from_utf8_lossy(&d[..n]).into_owned());
    EventData::NoAction {
        signature,
        raw: d.to_vec(),
    }
}

fn blob(d: &[u8]) -> EventData {
    match (le64(d, 0), le64(d, 8)) {
        (Some(base), Some(length)) => EventData::FirmwareBlob { base, length },
        _ => invalid("UEFI_PLATFORM_FIRMWARE_BLOB is 16 bytes", d),
    }
}

fn blob2(d: &[u8]) -> EventData {
    let Some(&n) = d.first() else {
        return invalid("empty UEFI_PLATFORM_FIRMWARE_BLOB2", d);
    };
    let n = n as usize;
    match (d.get(1..1 + n), le64(d, 1 + n), le64(d, 9 + n)) {
        (Some(desc), Some(base), Some(length)) if d.len() == 17 + n => EventData::FirmwareBlob2 {
            description: String::from_utf8_lossy(desc.split(|&b| b == 0).next().unwrap_or(&[]))
                .into_owned(),
            base,
            length,
        },
        _ => invalid("UEFI_PLATFORM_FIRMWARE_BLOB2 does not fit the event", d),
    }
}

fn handoff(d: &[u8], described: bool) -> EventData {
    let (description, rest) = if described {
        let Some(&n) = d.first() else {
            return invalid("empty UEFI_HANDOFF_TABLE_POINTERS2", d);
        };
        match d.get(1..1 + n as usize) {
            Some(s) => (
                Some(
                    String::from_utf8_lossy(s.split(|&b| b == 0).next().unwrap_or(&[]))
                        .into_owned(),
                ),
                &d[1 + n as usize..],
            ),
            None => {
                return invalid(
                    "UEFI_HANDOFF_TABLE_POINTERS2 description runs past the event",
                    d,
                )
            }
        }
    } else {
        (None, d)
    };
    let Some(count) = le64(rest, 0) else {
        return invalid("UEFI_HANDOFF_TABLE_POINTERS is shorter than its count", d);
    };
    if count.checked_mul(24) != Some(rest.len() as u64 - 8) {
        return invalid(
            "UEFI_HANDOFF_TABLE_POINTERS count does not match the event size",
            d,
        );
    }
    let tables = rest[8..]
        .chunks_exact(24)
        .filter_map(|c| {
            Some(HandoffTable {
                guid: Guid::from_slice(c)?,
                address: le64(c, 16)?,
            })
        })
        .collect();
    EventData::HandoffTables {
        description,
        tables,
    }
}

/// Where the parts of a UEFI_VARIABLE_DATA lie in `d`: the end of the name
/// (where VariableData starts) and the end of VariableData; `None` when the
/// structure does not fit. Cheap: digest checks call it for every variable.
pub fn variable_layout(d: &[u8]) -> Option<(usize, usize)> {
    let name_chars = le64(d, 16)?;
    let data_len = le64(d, 24)?;
    let name_bytes = usize::try_from(name_chars.checked_mul(2)?).ok()?;
    let name_end = 32usize.checked_add(name_bytes)?;
    let data_end = name_end.checked_add(usize::try_from(data_len).ok()?)?;
    (data_end <= d.len()).then_some((name_end, data_end))
}

/// Decodes UEFI_VARIABLE_DATA.
pub fn variable(d: &[u8]) -> Option<Variable> {
    let guid = Guid::from_slice(d)?;
    let (name_end, data_end) = variable_layout(d)?;
    let data_len = (data_end - name_end) as u64;
    let name = ucs2_to_string(&d[32..name_end]);
    let data = &d[name_end..data_end];
    let is_load_option = ["Boot", "Driver", "SysPrep", "PlatformRecovery"]
        .iter()
        .any(|p| {
            name.strip_prefix(p)
                .is_some_and(|n| n.len() == 4 && n.chars().all(|c| c.is_ascii_hexdigit()))
        });
    let load_option = if is_load_option {
        LoadOption::parse(data)
    } else {
        None
    };
    let boot_order = (name == "BootOrder" && guid == Guid::GLOBAL_VARIABLE).then(|| {
        data.chunks_exact(2)
            .map(|c| format!("Boot{:04X}", u16::from_le_bytes([c[0], c[1]])))
            .collect()
    });
    Some(Variable {
        guid,
        name,
        data_length: data_len,
        data: data.to_vec(),
        load_option,
        boot_order,
    })
}

fn image_load(d: &[u8]) -> EventData {
    match (le64(d, 0), le64(d, 8), le64(d, 16), le64(d, 24)) {
        (Some(location), Some(length), Some(link_time_address), Some(dp_len)) => {
            match usize::try_from(dp_len)
                .ok()
                .and_then(|n| d.get(32..32usize.checked_add(n)?))
            {
                Some(dp) => EventData::ImageLoad {
                    location,
                    length,
                    link_time_address,
                    device_path: crate::devpath::to_text(dp),
                },
                None => invalid("UEFI_IMAGE_LOAD_EVENT device path runs past the event", d),
            }
        }
        _ => invalid(
            "UEFI_IMAGE_LOAD_EVENT is shorter than its 32-byte header",
            d,
        ),
    }
}

fn gpt(d: &[u8]) -> Option<Gpt> {
    if d.get(..8)? != b"EFI PART" {
        return None;
    }
    let revision = le32(d, 8)?;
    let disk_guid = Guid::from_slice(d.get(56..72)?)?;
    let entry_size = le32(d, 84)? as usize;
    let count = le64(d, 92)?;
    if entry_size < 128 {
        return None;
    }
    let entries = d.get(100..)?;
    if count.checked_mul(entry_size as u64)? != entries.len() as u64 {
        return None;
    }
    let partitions = entries
        .chunks_exact(entry_size)
        .filter_map(|e| {
            Some(GptPartition {
                type_guid: Guid::from_slice(e)?,
                unique_guid: Guid::from_slice(e.get(16..)?)?,
                starting_lba: le64(e, 32)?,
                ending_lba: le64(e, 40)?,
                attributes: le64(e, 48)?,
                name: ucs2_to_string(e.get(56..128)?),
            })
        })
        .collect();
    Some(Gpt {
        disk_guid,
        revision,
        partitions,
    })
}

/// The string prefixes grub (2.04+) writes in its EV_IPL events; the digest
/// covers the string after the prefix, without its NUL.
pub const GRUB_PREFIXES: [&str; 3] = ["grub_cmd: ", "kernel_cmdline: ", "module_cmdline: "];

fn ipl(d: &[u8]) -> EventData {
    // grub logs its commands as UTF-8, with newlines and tabs inside.
    if let Some(text) = text(d) {
        let source = if GRUB_PREFIXES.iter().any(|p| text.starts_with(p)) {
            "grub"
        } else if text.starts_with("Mok") || text == "SbatLevel" {
            "shim"
        } else if text.starts_with('(') || text.starts_with('/') {
            "grub-file"
        } else {
            "other"
        };
        return EventData::Ipl {
            source: source.into(),
            text,
        };
    }
    // systemd-boot and systemd-stub log UCS-2 strings (kernel options).
    if d.len() >= 4 && d.len() % 2 == 0 && d[1] == 0 {
        if let Some((text, rest)) = split_ucs2_z(d) {
            if rest.is_empty() && !text.is_empty() {
                return EventData::Ipl {
                    source: "ucs2".into(),
                    text,
                };
            }
        }
    }
    raw(d)
}

impl EventData {
    /// What the event is about, independent of what was measured: the
    /// blob's place, the variable's name and GUID, the image's device path.
    /// Two logs' events with the same type and identity are the same thing
    /// measured twice (possibly with other content), which is how `diff`
    /// aligns logs. Text and unknown data are their own identity.
    pub fn identity(&self) -> String {
        match self {
            EventData::FirmwareBlob { base, length } => format!("blob {base:#x}+{length:#x}"),
            EventData::FirmwareBlob2 {
                description,
                base,
                length,
            } => format!("{description} {base:#x}+{length:#x}"),
            EventData::Variable(v) => format!("{}-{}", v.guid, v.name),
            EventData::ImageLoad { device_path, .. } => device_path.clone(),
            EventData::Gpt(_) => "GPT".into(),
            EventData::Separator { .. } => "separator".into(),
            EventData::HandoffTables { description, .. } => {
                format!("handoff {}", description.as_deref().unwrap_or(""))
            }
            _ => self.summary(),
        }
    }

    /// A one-line summary for tables.
    pub fn summary(&self) -> String {
        const MAX: usize = 72;
        let s = match self {
            EventData::SpecId(s) => format!(
                "{} ({})",
                s.signature,
                s.algorithms
                    .iter()
                    .map(|a| a.algorithm.name())
                    .collect::<Vec<_>>()
                    .join(",")
            ),
            EventData::StartupLocality { locality } => format!("StartupLocality {locality}"),
            EventData::NoAction { signature, raw } => match signature {
                Some(s) => format!("{s} ({} bytes)", raw.len()),
                None => format!("{} bytes", raw.len()),
            },
            EventData::Text { text } => text.clone(),
            EventData::TrustedFirmware { name, component } => format!("{name}: {component}"),
            EventData::FirmwareBlob { base, length } => {
                format!("blob 0x{base:x} +0x{length:x}")
            }
            EventData::FirmwareBlob2 {
                description,
                base,
                length,
            } => format!("{description} 0x{base:x} +0x{length:x}"),
            EventData::HandoffTables {
                description,
                tables,
            } => format!(
                "{}{} tables: {}",
                description
                    .as_deref()
                    .map(|d| format!("{d}: "))
                    .unwrap_or_default(),
                tables.len(),
                tables
                    .iter()
                    .map(|t| t.guid.to_string())
                    .collect::<Vec<_>>()
                    .join(",")
            ),
            EventData::Variable(v) => {
                let mut s = format!("{} ({} bytes)", v.name, v.data_length);
                if let Some(lo) = &v.load_option {
                    s = format!("{}: {} {}", v.name, lo.description, lo.device_path);
                } else if let Some(bo) = &v.boot_order {
                    s = format!("BootOrder: {}", bo.join(","));
                } else if v.data.len() == 1 {
                    s = format!("{} = {}", v.name, v.data[0]);
                }
                s
            }
            EventData::ImageLoad {
                device_path,
                length,
                ..
            } => format!("{device_path} ({length} bytes)"),
            EventData::Gpt(g) => format!("GPT {} ({} partitions)", g.disk_guid, g.partitions.len()),
            EventData::Separator { value, error } => {
                if *error {
                    "separator (error)".into()
                } else {
                    format!("separator 0x{value:x}")
                }
            }
            EventData::Ipl { source, text } => format!("[{source}] {text}"),
            EventData::EventTag { id, data } => format!("tag 0x{id:x} ({} bytes)", data.len()),
            EventData::Guid { guid } => guid.to_string(),
            EventData::IplPartitions { partitions } => partitions
                .iter()
                .filter(|p| p.partition_type != 0)
                .map(|p| {
                    format!(
                        "{}type 0x{:02x} at {} ({} sectors)",
                        if p.boot_flag == 0x80 { "*" } else { "" },
                        p.partition_type,
                        p.first_lba,
                        p.sectors
                    )
                })
                .collect::<Vec<_>>()
                .join(", "),
            EventData::Sipa { records } => {
                let all: Vec<&super::sipa::SipaRecord> =
                    records.iter().flat_map(|r| r.walk()).collect();
                format!(
                    "Windows {} ({} records)",
                    records
                        .iter()
                        .map(|r| r.name.as_ref())
                        .collect::<Vec<_>>()
                        .join(","),
                    all.len()
                )
            }
            EventData::CompactHash { value } => format!("0x{value:08x}"),
            EventData::GceNonHostInfo { technology, name } => {
                format!("GCE confidential technology {technology} ({name})")
            }
            EventData::TableOfDevices { tables } => format!(
                "{} devices: {}",
                tables.len(),
                tables
                    .iter()
                    .map(|t| format!("{}@{:#x}", t.guid, t.address))
                    .collect::<Vec<_>>()
                    .join(",")
            ),
            EventData::Sp800155(s) => format!(
                "{}: {} {} firmware {} {}, manifest {}",
                s.signature,
                s.platform_manufacturer.as_deref().unwrap_or("?"),
                s.platform_model.as_deref().unwrap_or(""),
                s.firmware_manufacturer.as_deref().unwrap_or("?"),
                s.firmware_version.as_deref().unwrap_or(""),
                s.reference_manifest_guid
            ),
            EventData::Raw { raw } => {
                let h = crate::hexser::encode(&raw[..raw.len().min(24)]);
                if raw.len() > 24 {
                    format!("{h}... ({} bytes)", raw.len())
                } else {
                    h
                }
            }
            EventData::Invalid { reason, .. } => format!("INVALID: {reason}"),
        };
        truncate_chars(&s, MAX)
    }
}

fn truncate_chars(s: &str, max: usize) -> String {
    let s: String = s
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    if s.chars().count() <= max {
        s
    } else {
        let mut t: String = s.chars().take(max - 1).collect();
        t.push('…');
        t
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn post_code_of_nine_bytes_stays_raw_not_a_blob() {
        // tpm2-tools #2017: a 9-byte EV_POST_CODE was read as a 16-byte blob.
        let d = [1u8, 2, 3, 4, 5, 6, 7, 8, 9];
        assert_eq!(
            decode(EventType::POST_CODE, &d),
            EventData::Raw { raw: d.to_vec() }
        );
        assert_eq!(
            decode(EventType::POST_CODE, b"ACPI DATA"),
            EventData::Text {
                text: "ACPI DATA".into()
            }
        );
        let mut b = 0xffc0_0000u64.to_le_bytes().to_vec();
        b.extend(0x40_0000u64.to_le_bytes());
        assert_eq!(
            decode(EventType::POST_CODE, &b),
            EventData::FirmwareBlob {
                base: 0xffc0_0000,
                length: 0x40_0000
            }
        );
    }

    #[test]
    fn variable_with_huge_name_length_is_invalid_not_a_panic() {
        let mut d = Guid::GLOBAL_VARIABLE.0.to_vec();
        d.extend(u64::MAX.to_le_bytes());
        d.extend(1u64.to_le_bytes());
        assert!(matches!(
            decode(EventType::EFI_VARIABLE_BOOT, &d),
            EventData::Invalid { .. }
        ));
        assert!(matches!(
            decode(EventType::EFI_BOOT_SERVICES_APPLICATION, &[0xff; 40]),
            EventData::Invalid { .. }
        ));
        assert!(matches!(
            decode(EventType::EFI_HANDOFF_TABLES, &[0xff; 40]),
            EventData::Invalid { .. }
        ));
    }

    #[test]
    fn ipl_partition_data_is_the_mbr_partition_table() {
        // Two entries written out by hand from the MBR layout (offset
        // 0x1BE of sector 0): an active NTFS partition at LBA 2048 of
        // 1,024,000 sectors, then a Linux one, then two empty entries.
        let mut d = vec![0u8; 64];
        d[0] = 0x80;
        d[4] = 0x07;
        d[8..12].copy_from_slice(&2048u32.to_le_bytes());
        d[12..16].copy_from_slice(&1_024_000u32.to_le_bytes());
        d[16 + 4] = 0x83;
        d[16 + 8..16 + 12].copy_from_slice(&1_026_048u32.to_le_bytes());
        d[16 + 12..16 + 16].copy_from_slice(&4096u32.to_le_bytes());
        let e = decode(EventType::IPL_PARTITION_DATA, &d);
        let EventData::IplPartitions { partitions } = &e else {
            panic!("{e:?}");
        };
        assert_eq!(partitions.len(), 4);
        assert_eq!(
            partitions[0],
            MbrPartition {
                boot_flag: 0x80,
                partition_type: 0x07,
                first_lba: 2048,
                sectors: 1_024_000
            }
        );
        // (Summaries are cut at 72 characters.)
        assert!(e
            .summary()
            .starts_with("*type 0x07 at 2048 (1024000 sectors), type 0x83 at 1026048"));
        // Not a whole number of entries: raw.
        assert!(matches!(
            decode(EventType::IPL_PARTITION_DATA, &d[..20]),
            EventData::Raw { .. }
        ));
    }

    #[test]
    fn startup_locality_and_other_no_action() {
        assert_eq!(
            decode(EventType::NO_ACTION, b"StartupLocality\0\x03"),
            EventData::StartupLocality { locality: 3 }
        );
        match decode(EventType::NO_ACTION, b"NvIndexInstance\0\x01\x02") {
            EventData::NoAction { signature, .. } => {
                assert_eq!(signature.as_deref(), Some("NvIndexInstance"))
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn grub_and_systemd_boot_ipl_strings() {
        assert_eq!(
            decode(EventType::IPL, b"grub_cmd: linux /vmlinuz\0"),
            EventData::Ipl {
                source: "grub".into(),
                text: "grub_cmd: linux /vmlinuz".into()
            }
        );
        let u: Vec<u8> = "quiet splash\0"
            .encode_utf16()
            .flat_map(|c| c.to_le_bytes())
            .collect();
        assert_eq!(
            decode(EventType::IPL, &u),
            EventData::Ipl {
                source: "ucs2".into(),
                text: "quiet splash".into()
            }
        );
    }
}
