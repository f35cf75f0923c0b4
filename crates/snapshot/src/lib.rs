//! The bootaudit snapshot format, version 1: what the UEFI collector (and,
//! later, `bootaudit collect` on a running host) records about one boot, and
//! what every host command reads. It is defined once, here, in a `no_std` +
//! `alloc` crate that both sides depend on, so the two cannot drift apart.
//!
//! Encoding: JSON. Byte strings (digests, raw logs) are lowercase hex.
//! Addresses are numbers (physical addresses fit in 64 bits; JSON readers
//! that use doubles must read them as integers). Every part of a snapshot is
//! optional: a part that could not be collected is absent and the reason is
//! in [`Snapshot::errors`]. Readers accept unknown fields, so later minor
//! additions do not break them; a change of meaning takes a new major
//! version in [`FORMAT`], which readers of this version reject.

//!
//! ```
//! use bootaudit_snapshot::{check_format, Snapshot, SourceKind};
//!
//! // A snapshot the collector wrote in a real boot (fixtures/collector).
//! let s: Snapshot =
//!     serde_json::from_slice(include_bytes!("../../../fixtures/collector/snap-0000.json"))?;
//! // The version is checked before anything else is believed.
//! check_format(&s.format).map_err(|e| e.to_string())?;
//! assert_eq!(s.source.kind, SourceKind::EfiCollector);
//! // Every part may be absent, with the reason in `errors`.
//! let tpm = s.tpm.as_ref().expect("the collector read the TPM");
//! assert!(tpm.pcrs.contains_key("sha256"));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
#![no_std]
#![warn(missing_docs)]

extern crate alloc;

use alloc::collections::BTreeMap;
use alloc::string::String;
use alloc::vec::Vec;
use serde::{Deserialize, Serialize};

pub mod acpi;
pub mod bytes;
pub mod ccel;
pub mod efivar;
pub mod fdt;
pub mod kind;
pub mod mat;
pub mod siglist;
pub mod smbios;
pub mod tcglog;
pub mod tpm2;
pub mod wire;
pub mod x509;

pub use acpi::{acpi_address_fields, acpi_table_facts, acpi_text, mask_acpi_addresses};
pub use ccel::{ccel_table, CcelTable};
pub use kind::{MapLabel, Part, SourceKind};
pub use mat::memory_attributes;
pub use wire::{AlgorithmId, EventType};

/// The value of [`Snapshot::format`] this crate writes.
pub const FORMAT: &str = "bootaudit-snapshot/1";
/// The format family; the number after the slash is the major version.
pub const FORMAT_FAMILY: &str = "bootaudit-snapshot";
/// The major version this crate reads.
pub const MAJOR: u32 = 1;

/// One boot's evidence.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Snapshot {
    /// Always [`FORMAT`] for this version.
    pub format: String,
    /// Who collected it.
    pub source: Source,
    /// Firmware and platform identity.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub identity: Option<Identity>,
    /// UEFI memory maps taken at labelled moments, in time order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub memory_maps: Vec<MemoryMap>,
    /// Whether the MapKey moved while the collector allocated nothing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub map_key_watch: Option<MapKeyWatch>,
    /// The UEFI Memory Attributes Table, as the configuration table holds
    /// it (or that it holds none). Absent when not collected (older
    /// collectors, a running host).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory_attributes: Option<MemoryAttributes>,
    /// What the previous boot's `exit-boot-services` lab run recorded (in a
    /// non-volatile variable, read and deleted by this collection).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous_exit_boot_services: Option<ExitBootServicesRecord>,
    /// The TPM: capability, event log and PCR values.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tpm: Option<Tpm>,
    /// A confidential VM's event log (Intel TDX: the ACPI CCEL table and
    /// the log area it names), absent on other machines.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cc_event_log: Option<CcEventLog>,
    /// The ACPI tables the firmware publishes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub acpi: Option<Acpi>,
    /// The Device Tree the firmware hands the OS (EFI_DTB_TABLE), on Arm
    /// machines that boot with one; absent where there is none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device_tree: Option<DeviceTree>,
    /// Secure Boot state, key databases and boot entries.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secure_boot: Option<SecureBoot>,
    /// Every image the firmware has loaded (drivers and applications).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub loaded_images: Option<Vec<LoadedImage>>,
    /// The EFI binaries on the ESP (`bootaudit collect --esp`, `bootaudit
    /// esp`), absent when the producer did not read the ESP.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub esp: Option<Vec<EspBinary>>,
    /// The firmware's own inventory of its volumes: every
    /// EFI_FIRMWARE_VOLUME2_PROTOCOL instance and the files it holds, so
    /// that a driver that is stored but was never dispatched is seen too
    /// (added in format 1, later minor version; absent when not read).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub firmware_volumes: Option<Vec<FirmwareVolume>>,
    /// A copy of the machine's own flash, hashed, in a sidecar file
    /// (added in format 1, later minor version; absent when not read).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub firmware_flash: Option<FirmwareFlash>,
    /// What could not be collected, and why.
    #[serde(default)]
    pub errors: Vec<CollectError>,
}

/// Who produced the snapshot.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Source {
    /// `efi-collector` (in the firmware, before any OS) or `linux-host`.
    pub kind: SourceKind,
    /// The producer's version (its Cargo package version).
    pub version: String,
    /// How long the collection took, in microseconds, from entry to just
    /// before the snapshot was written (the collector measures it with the
    /// CPU's free-running counter: the time-stamp counter, calibrated
    /// against a 10 ms Stall, or Arm's generic timer at its stated rate).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub collection_us: Option<u64>,
    /// The architecture the producer ran on, as Rust names it (`x86_64`,
    /// `aarch64`). The collector records it; a running host's collection
    /// leaves it out, since the tree it reads (`--root`) may be another
    /// machine's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub architecture: Option<String>,
}

impl Source {
    /// Who produced the snapshot, for a report's heading:
    /// `efi-collector 0.1.0`, with the architecture where recorded
    /// (`efi-collector 0.1.0 on aarch64`).
    pub fn describe(&self) -> String {
        match &self.architecture {
            Some(a) => alloc::format!("{} {} on {a}", self.kind, self.version),
            None => alloc::format!("{} {}", self.kind, self.version),
        }
    }
}

/// Firmware and platform identity.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Identity {
    /// EFI_SYSTEM_TABLE.FirmwareVendor.
    pub firmware_vendor: String,
    /// EFI_SYSTEM_TABLE.FirmwareRevision.
    pub firmware_revision: u32,
    /// The UEFI revision the firmware implements ("2.70").
    pub uefi_revision: String,
    /// UEFI GetTime at collection, ISO 8601 in the firmware's clock
    /// (usually local time; `timezone_minutes` says when it knows).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time: Option<String>,
    /// Time zone offset in minutes from UTC, when the firmware reports one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timezone_minutes: Option<i16>,
    /// SMBIOS, from the SMBIOS 3 (64-bit) entry point, else the SMBIOS 2 one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub smbios: Option<Smbios>,
    /// Running hosts (`linux-host`): the kernel release.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kernel_release: Option<String>,
    /// Running hosts: the hostname.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hostname: Option<String>,
    /// Running hosts: /etc/machine-id, which names the installation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub machine_id: Option<String>,
    /// The TPM's endorsement key, the strongest identity a machine offers
    /// (a later minor addition; absent without a TPM, or from older
    /// producers).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub endorsement_key: Option<EndorsementKey>,
    /// The unique partition GUID of the ESP (upper case): on the
    /// collector, from the `HD()` node of the device it was loaded from;
    /// on a live host, from the mounted ESP's entry in its disk's GPT. The
    /// weakest identity: it names one partition of one disk, which a
    /// reinstall may remake (a later minor addition).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub esp_partition_guid: Option<String>,
}

/// The TPM's endorsement key, as TPM2_CreatePrimary of the TCG's default
/// RSA 2048 template in the endorsement hierarchy returns it
/// ([`tpm2::endorsement_key`]): the same TPM gives the same key for ever.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct EndorsementKey {
    /// SHA-256 of its TPMT_PUBLIC (hex).
    pub public_sha256: String,
    /// The template: `rsa-2048` (TCG EK Credential Profile, L-1).
    pub template: String,
    /// The EK certificate the TPM's maker put in NV index 0x01c00002, when
    /// there is one: its issuer, serial and the SHA-256 of its DER (what
    /// it says, not checked here: `bootaudit ak` verifies EK chains).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub certificate: Option<EkCertificate>,
}

impl EndorsementKey {
    /// The record of a key's TPMT_PUBLIC (made from the TCG default RSA
    /// template) and its certificate; `digest` is SHA-256 (hex).
    pub fn of(
        public: &[u8],
        certificate: Option<EkCertificate>,
        digest: impl Fn(&[u8]) -> String,
    ) -> EndorsementKey {
        EndorsementKey {
            public_sha256: digest(public),
            template: tpm2::EK_TEMPLATE_NAME.into(),
            certificate,
        }
    }
}

/// An EK certificate, as [`EndorsementKey::certificate`] records it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct EkCertificate {
    /// The issuer, as `C=US, O=..., CN=...`.
    pub issuer: String,
    /// The serial number (hex).
    pub serial: String,
    /// SHA-256 of the DER (hex).
    pub sha256: String,
    /// An error reading it, when it could not be parsed (then issuer and
    /// serial are empty).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unreadable: Option<String>,
}

impl EkCertificate {
    /// The record of a certificate's DER bytes; `digest` is SHA-256 (hex).
    pub fn of(der: &[u8], digest: impl Fn(&[u8]) -> String) -> EkCertificate {
        match x509::parse(der) {
            Ok(c) => EkCertificate {
                issuer: c.issuer,
                serial: c.serial,
                sha256: digest(der),
                unreadable: None,
            },
            Err(e) => EkCertificate {
                sha256: digest(der),
                unreadable: Some(alloc::format!("{e}")),
                ..EkCertificate::default()
            },
        }
    }
}

/// What SMBIOS says about the platform and its firmware.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Smbios {
    /// The entry point used: `3.x` (64-bit, "_SM3_") or `2.x` ("_SM_").
    pub version: String,
    /// Physical address of the structure table.
    pub table_address: u64,
    /// Length of the structure table in bytes (for SMBIOS 3, up to the
    /// end-of-table structure).
    pub table_length: u64,
    /// SHA-256 of the whole structure table (hex).
    pub sha256: String,
    /// Type 0: BIOS vendor.
    pub bios_vendor: String,
    /// Type 0: BIOS version.
    pub bios_version: String,
    /// Type 0: BIOS release date (as written, usually mm/dd/yyyy).
    pub bios_release_date: String,
    /// Type 1: system manufacturer.
    pub system_manufacturer: String,
    /// Type 1: product name.
    pub system_product: String,
    /// Type 1: version.
    pub system_version: String,
    /// Type 1: serial number.
    pub system_serial: String,
    /// Type 1: UUID, in the SMBIOS 2.6+ byte order, as text.
    pub system_uuid: String,
}

/// One UEFI memory map (GetMemoryMap) at a labelled moment.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemoryMap {
    /// When it was taken (`entry`, `quiet-1`, `quiet-2`, `after`), or, on a
    /// running host, which of the kernel's maps it is.
    pub label: MapLabel,
    /// The MapKey GetMemoryMap returned.
    pub map_key: u64,
    /// DescriptorSize in bytes (often larger than the structure).
    pub descriptor_size: u64,
    /// DescriptorVersion.
    pub descriptor_version: u32,
    /// Every descriptor, in firmware order.
    pub descriptors: Vec<MemoryDescriptor>,
}

/// The UEFI Memory Attributes Table (EFI_MEMORY_ATTRIBUTES_TABLE, UEFI
/// 2.6+): the runtime regions split by the permissions their pages need,
/// code read-only and data non-executable, which the OS maps them with
/// (Windows' VBS requires it).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemoryAttributes {
    /// True when the configuration table holds the table.
    pub present: bool,
    /// Its Version (1 or 2).
    #[serde(default)]
    pub version: u32,
    /// Its Flags (version 2: 1 = runtime code has forward control-flow
    /// guards).
    #[serde(default)]
    pub flags: u32,
    /// Its DescriptorSize.
    #[serde(default)]
    pub descriptor_size: u32,
    /// Its entries, at most [`MAX_MAT_ENTRIES`].
    #[serde(default)]
    pub descriptors: Vec<MemoryDescriptor>,
    /// Entries past [`MAX_MAT_ENTRIES`], counted.
    #[serde(default)]
    pub descriptors_dropped: u32,
}

/// The most Memory Attributes Table entries a producer records.
pub const MAX_MAT_ENTRIES: usize = 4096;
/// EFI_MEMORY_ATTRIBUTES_TABLE_GUID.
pub const MEMORY_ATTRIBUTES_TABLE_GUID: &str = "DCFA911D-26EB-469F-A220-38B7DC461220";
/// EFI_MEMORY_RO: the region's pages are read-only.
pub const MEMORY_RO: u64 = 0x0002_0000;
/// EFI_MEMORY_XP: the region's pages are not executable.
pub const MEMORY_XP: u64 = 0x0000_4000;

impl MemoryDescriptor {
    /// Decodes an EFI_MEMORY_DESCRIPTOR (the first 40 bytes of `d`): None
    /// when `d` is shorter.
    pub fn from_bytes(d: &[u8]) -> Option<MemoryDescriptor> {
        let u64at = |o: usize| -> Option<u64> {
            Some(u64::from_le_bytes(d.get(o..o + 8)?.try_into().ok()?))
        };
        Some(MemoryDescriptor {
            ty: MemoryType(u32::from_le_bytes(d.get(0..4)?.try_into().ok()?)),
            physical_start: u64at(8)?,
            virtual_start: u64at(16)?,
            pages: u64at(24)?,
            attributes: u64at(32)?,
        })
    }

    /// True for runtime services code or data that is neither read-only
    /// nor non-executable: writable and executable at once.
    pub fn is_writable_executable(&self) -> bool {
        self.ty.is_runtime() && self.attributes & (MEMORY_RO | MEMORY_XP) == 0
    }
}

/// One EFI_MEMORY_DESCRIPTOR.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemoryDescriptor {
    /// EFI_MEMORY_TYPE (a number in JSON).
    #[serde(rename = "type")]
    pub ty: MemoryType,
    /// PhysicalStart, bytes.
    pub physical_start: u64,
    /// VirtualStart, bytes (0 before SetVirtualAddressMap).
    pub virtual_start: u64,
    /// NumberOfPages (4 KiB pages).
    pub pages: u64,
    /// Attribute bits (EFI_MEMORY_UC, ..., EFI_MEMORY_RUNTIME = 1 << 63).
    pub attributes: u64,
}

/// An EFI_MEMORY_TYPE (UEFI 2.10 §7.2.1), named as the specification names
/// it. Any value is kept (the OEM and OS-vendor ranges, and values newer
/// than this reader); in JSON it is the plain number.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
#[serde(transparent)]
pub struct MemoryType(pub u32);

impl MemoryType {
    /// EfiReservedMemoryType.
    pub const RESERVED: MemoryType = MemoryType(0);
    /// EfiLoaderCode.
    pub const LOADER_CODE: MemoryType = MemoryType(1);
    /// EfiLoaderData.
    pub const LOADER_DATA: MemoryType = MemoryType(2);
    /// EfiBootServicesCode.
    pub const BOOT_SERVICES_CODE: MemoryType = MemoryType(3);
    /// EfiBootServicesData.
    pub const BOOT_SERVICES_DATA: MemoryType = MemoryType(4);
    /// EfiRuntimeServicesCode: firmware code that survives into the OS.
    pub const RUNTIME_SERVICES_CODE: MemoryType = MemoryType(5);
    /// EfiRuntimeServicesData.
    pub const RUNTIME_SERVICES_DATA: MemoryType = MemoryType(6);
    /// EfiConventionalMemory.
    pub const CONVENTIONAL: MemoryType = MemoryType(7);
    /// EfiUnusableMemory.
    pub const UNUSABLE: MemoryType = MemoryType(8);
    /// EfiACPIReclaimMemory.
    pub const ACPI_RECLAIM: MemoryType = MemoryType(9);
    /// EfiACPIMemoryNVS.
    pub const ACPI_NVS: MemoryType = MemoryType(10);
    /// EfiMemoryMappedIO.
    pub const MMIO: MemoryType = MemoryType(11);
    /// EfiMemoryMappedIOPortSpace.
    pub const MMIO_PORT_SPACE: MemoryType = MemoryType(12);
    /// EfiPalCode.
    pub const PAL_CODE: MemoryType = MemoryType(13);
    /// EfiPersistentMemory.
    pub const PERSISTENT: MemoryType = MemoryType(14);
    /// EfiUnacceptedMemoryType.
    pub const UNACCEPTED: MemoryType = MemoryType(15);

    /// The specification's name ([`memory_type_name`]).
    pub fn name(self) -> &'static str {
        memory_type_name(self.0)
    }

    /// Runtime services code or data: memory the firmware keeps, with its
    /// code in it, after the OS takes over.
    pub fn is_runtime(self) -> bool {
        self == Self::RUNTIME_SERVICES_CODE || self == Self::RUNTIME_SERVICES_DATA
    }

    /// Memory-mapped I/O (either kind).
    pub fn is_mmio(self) -> bool {
        self == Self::MMIO || self == Self::MMIO_PORT_SPACE
    }
}

impl core::fmt::Display for MemoryType {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(self.name())
    }
}

/// The spec's name of an EFI_MEMORY_TYPE.
pub fn memory_type_name(ty: u32) -> &'static str {
    match ty {
        0 => "Reserved",
        1 => "LoaderCode",
        2 => "LoaderData",
        3 => "BootServicesCode",
        4 => "BootServicesData",
        5 => "RuntimeServicesCode",
        6 => "RuntimeServicesData",
        7 => "Conventional",
        8 => "Unusable",
        9 => "ACPIReclaim",
        10 => "ACPINVS",
        11 => "MMIO",
        12 => "MMIOPortSpace",
        13 => "PalCode",
        14 => "Persistent",
        15 => "Unaccepted",
        0x7000_0000..=0x7fff_ffff => "OEM",
        0x8000_0000..=0xffff_ffff => "OSVendor",
        _ => "Invalid",
    }
}

/// The quiet-window evidence: two maps taken into buffers allocated
/// beforehand, with nothing of the collector's allocating in between, plus
/// how often the key moved while polled in that window. A key that moves
/// there was moved by somebody else: another driver, a timer callback, an
/// implant.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MapKeyWatch {
    /// How many times GetMemoryMap was called in the window.
    pub polls: u32,
    /// How many of those saw a key different from the one before.
    pub key_changes: u32,
    /// The window's length in microseconds (by Stall).
    pub window_us: u64,
    /// Descriptors present in the first map and not the second.
    pub removed: Vec<MemoryDescriptor>,
    /// Descriptors present in the second map and not the first.
    pub added: Vec<MemoryDescriptor>,
}

/// The collector's ExitBootServices lab run: the MapKey retry loop's
/// attempts and the memory map that ExitBootServices finally accepted.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExitBootServicesRecord {
    /// ExitBootServices calls made (at most 8).
    pub attempts: u32,
    /// The status of each call (`INVALID_PARAMETER` means the MapKey was
    /// stale: the map changed after GetMemoryMap).
    pub statuses: Vec<String>,
    /// True when the last call succeeded.
    pub succeeded: bool,
    /// The MapKey of the final map.
    pub final_map_key: u64,
    /// Descriptors in the final map.
    pub descriptors_total: u32,
    /// The final map's descriptors (all of them, unless the variable's size
    /// limit cut the list: compare with `descriptors_total`).
    pub descriptors: Vec<MemoryDescriptor>,
}

/// A confidential-computing event log (UEFI 2.10 §38.4) and the ACPI CCEL
/// table that publishes it: the firmware's measurements into a TDX guest's
/// RTMRs, the counterpart of a TPM's event log.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CcEventLog {
    /// The CCEL table's CC type (1 AMD SEV, 2 Intel TDX).
    pub cc_type: u8,
    /// Its CC subtype.
    pub cc_subtype: u8,
    /// LAML: the log area's minimum length in bytes.
    pub log_area_minimum_length: u64,
    /// LASA: the log area's physical address.
    pub log_area_start_address: u64,
    /// The log area (hex), 0xFF-filled after the last event.
    pub event_log: String,
}

/// The TPM as the firmware sees it (EFI_TCG2_PROTOCOL).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tpm {
    /// True when a TPM is present (TPMPresentFlag).
    pub present: bool,
    /// The TCG2 protocol's structure and protocol versions ("1.1").
    pub protocol_version: String,
    /// ManufacturerID, as the TPM reports it.
    pub manufacturer_id: u32,
    /// The active PCR banks ("sha1", "sha256", ...).
    pub active_banks: Vec<String>,
    /// The event log format returned: `crypto-agile` or `sha1`.
    pub log_format: String,
    /// The raw event log (hex), as GetEventLog describes it.
    pub event_log: String,
    /// True when the firmware says the log was truncated.
    pub log_truncated: bool,
    /// Events from EFI_TCG2_FINAL_EVENTS_TABLE (logged after GetEventLog
    /// was first called), raw TCG_PCR_EVENT2 records concatenated (hex).
    #[serde(default)]
    pub final_events: String,
    /// Number of records in `final_events`.
    #[serde(default)]
    pub final_events_count: u64,
    /// PCR values read with TPM2_PCR_Read: bank ("sha256") → PCR index (as
    /// a string in JSON) → value (hex). The same shape as the `pcrs` object
    /// of `bootaudit eventlog --format json` and its `--pcrs` files.
    pub pcrs: BTreeMap<String, BTreeMap<u32, String>>,
    /// A TPM2 quote over `pcrs` (`bootaudit collect --quote`), absent
    /// otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quote: Option<TpmQuote>,
}

/// A TPM2 quote, its structures marshalled as the TPM gives them (hex):
/// what `bootaudit verify-quote` checks against a trusted AK and nonce.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TpmQuote {
    /// The nonce the verifier supplied (qualifying data).
    pub nonce: String,
    /// TPMT_PUBLIC of the attestation key that signed.
    pub ak_public: String,
    /// TPMS_ATTEST: what was signed.
    pub attest: String,
    /// TPMT_SIGNATURE.
    pub signature: String,
}

/// The ACPI tables, from the RSDP the firmware publishes in its
/// configuration table.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Acpi {
    /// The Root System Description Pointer.
    pub rsdp: Rsdp,
    /// Every table reachable from the XSDT (the RSDT when there is none),
    /// then the DSDT and FACS the FADT points to, in that order.
    pub tables: Vec<AcpiTable>,
    /// The directory beside the snapshot holding each table's raw bytes
    /// (`<sidecar_dir>/<file>`), for `iasl -d`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sidecar_dir: Option<String>,
}

/// The flattened Device Tree in the configuration table (EFI_DTB_TABLE).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeviceTree {
    /// Its physical address.
    pub address: u64,
    /// Its size, as its header states it.
    pub size: u32,
    /// SHA-256 of those bytes.
    pub sha256: String,
    /// Each node, in the blob's order.
    pub nodes: Vec<DeviceTreeNode>,
    /// The sidecar file beside the snapshot holding the blob
    /// (`snap-NNNN.dtb`), for `dtc`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
}

/// One Device Tree node, summarised ([`fdt::summary`]).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeviceTreeNode {
    /// Its full path (`/memory@40000000`).
    pub path: String,
    /// The first string of its `compatible` property.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub compatible: Option<String>,
    /// How many properties it has.
    pub properties: u32,
    /// SHA-256 over its properties (each: name, NUL, length as 4
    /// big-endian bytes, value), but `/chosen`'s per-boot random seeds
    /// ([`fdt::PER_BOOT`]).
    pub sha256: String,
}

/// The RSDP.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rsdp {
    /// Its physical address.
    pub address: u64,
    /// 0 for ACPI 1.0, 2 for ACPI 2.0 and later.
    pub revision: u8,
    /// OEMID (6 characters).
    pub oem_id: String,
    /// The checksum over the first 20 bytes is valid.
    pub checksum_valid: bool,
    /// The extended checksum over the whole structure is valid (revision 2+).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extended_checksum_valid: Option<bool>,
    /// RsdtAddress.
    pub rsdt_address: u64,
    /// XsdtAddress (revision 2+).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub xsdt_address: Option<u64>,
}

/// One ACPI table: its header facts and digest.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AcpiTable {
    /// The four-character signature ("FACP", "SSDT", "WPBT", ...).
    pub signature: String,
    /// Physical address.
    pub address: u64,
    /// Length in bytes, from the header.
    pub length: u32,
    /// Header revision.
    pub revision: u8,
    /// OEMID.
    pub oem_id: String,
    /// OEM Table ID.
    pub oem_table_id: String,
    /// OEM Revision.
    pub oem_revision: u32,
    /// Creator ID.
    pub creator_id: String,
    /// Creator Revision.
    pub creator_revision: u32,
    /// The bytes sum to zero; `None` for the FACS, which has no checksum.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub checksum_valid: Option<bool>,
    /// SHA-256 of the table's `length` bytes (hex).
    pub sha256: String,
    /// How it was found: `xsdt`, `rsdt` or `fadt`.
    pub via: String,
    /// The sidecar file holding its raw bytes, when written.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
    /// SHA-256 of the table with its checksum and the fields that hold
    /// physical addresses of other firmware memory zeroed
    /// ([`mask_acpi_addresses`]): what the table says, wherever the firmware
    /// put things this boot. Absent in snapshots of older collectors and
    /// for the FACS (which the OS and firmware write at run time).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_sha256: Option<String>,
}

/// One EFI binary on the ESP.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct EspBinary {
    /// Path from the ESP's root, with `/` separators, as the file system
    /// spells it ("EFI/BOOT/BOOTX64.EFI").
    pub path: String,
    /// Size in bytes.
    pub size: u64,
    /// SHA-256 of the file (hex).
    pub sha256: String,
    /// Authenticode SHA-256 (hex): what PCR4 and db/dbx hold for it. Empty
    /// when the file is not a readable PE image (`error` says why).
    pub authenticode_sha256: String,
    /// COFF machine.
    pub machine: u16,
    /// PE subsystem (10 application, 11/12 drivers).
    pub subsystem: u16,
    /// Attribute certificates in the file (0: unsigned).
    pub certificates: u32,
    /// Why the file could not be read as a PE image.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// Secure Boot state, the key databases, and the boot entries.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SecureBoot {
    /// SecureBoot (1 on), absent when the variable does not exist.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secure_boot: Option<u8>,
    /// SetupMode (1: no PK enrolled).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub setup_mode: Option<u8>,
    /// AuditMode.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub audit_mode: Option<u8>,
    /// DeployedMode.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deployed_mode: Option<u8>,
    /// PK, KEK, db, dbx, dbt and shim's MokList/MokListX/MokListTrusted,
    /// those that exist.
    pub variables: Vec<Variable>,
    /// BootOrder ("Boot0001", ...).
    #[serde(default)]
    pub boot_order: Vec<String>,
    /// BootCurrent ("Boot0001").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub boot_current: Option<String>,
    /// Every Boot#### variable in BootOrder, then the others found.
    pub boot_entries: Vec<BootEntry>,
}

impl SecureBoot {
    /// The key database `name` (PK, KEK, db, dbx, dbt, shim's MokList...)
    /// under the vendor GUID the specification gives it
    /// ([`efivar::KEY_DATABASES`]); a variable of another name, by name.
    /// A same-named variable under another vendor (a decoy listed first)
    /// is never the one returned.
    pub fn variable(&self, name: &str) -> Option<&Variable> {
        self.variables
            .iter()
            .find(|v| v.name == name && !is_decoy(v))
    }

    /// The variables that carry a key database's name under another vendor
    /// GUID than its own: decoys a reader going by name would take for the
    /// real one.
    pub fn decoys(&self) -> impl Iterator<Item = &Variable> {
        self.variables.iter().filter(|v| is_decoy(v))
    }
}

/// True when `v` has a key database's name and another vendor GUID.
pub fn is_decoy(v: &Variable) -> bool {
    efivar::KEY_DATABASES
        .iter()
        .any(|k| k.name == v.name && !k.vendor.eq_ignore_ascii_case(&v.vendor))
}

/// One UEFI variable, by digest.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Variable {
    /// Its name.
    pub name: String,
    /// Its vendor GUID.
    pub vendor: String,
    /// EFI_VARIABLE_* attribute bits.
    pub attributes: u32,
    /// Size of the value in bytes.
    pub size: u64,
    /// SHA-256 of the value (hex).
    pub sha256: String,
    /// The value's signature lists, parsed ([`siglist::parse`]): every
    /// certificate and hash, for the key databases. Absent in snapshots of
    /// older producers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signatures: Option<siglist::SignatureDatabase>,
}

/// One Boot#### load option.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BootEntry {
    /// "Boot0001".
    pub name: String,
    /// LOAD_OPTION_* attributes (1 active, 8 hidden).
    pub attributes: u32,
    /// The description the boot manager shows.
    pub description: String,
    /// The first file path, as device-path text (the firmware's own
    /// DevicePathToText).
    pub device_path: String,
    /// Size of the variable in bytes.
    pub size: u64,
    /// SHA-256 of the variable's value (hex).
    pub sha256: String,
}

/// The most firmware volumes a producer records.
pub const MAX_FIRMWARE_VOLUMES: usize = 64;
/// The most files recorded per volume (the rest are counted).
pub const MAX_VOLUME_FILES: usize = 4096;
/// The largest flash copy a producer writes.
pub const MAX_FLASH: u64 = 64 << 20;

/// One firmware volume as the running firmware exposes it
/// (EFI_FIRMWARE_VOLUME2_PROTOCOL).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FirmwareVolume {
    /// The volume's name GUID (upper case), from its handle's device path
    /// (`Fv(GUID)`), when it has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Its handle's device path as text.
    #[serde(default)]
    pub device_path: String,
    /// Its base address, from the handle's
    /// EFI_FIRMWARE_VOLUME_BLOCK2_PROTOCOL, when it has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub base: Option<u64>,
    /// FvLength, from the volume header at `base`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size: Option<u64>,
    /// EFI_FV_ATTRIBUTES.
    #[serde(default)]
    pub attributes: u64,
    /// Its files, in GetNextFile order.
    #[serde(default)]
    pub files: Vec<FirmwareVolumeFile>,
    /// Files past [`MAX_VOLUME_FILES`], counted.
    #[serde(default)]
    pub files_dropped: u32,
}

/// True for an EFI_FV_FILETYPE the dispatchers run: SEC, PEI and DXE
/// cores, PEIMs, DXE and MM drivers, combined files and applications.
/// Defined once for the collector (which hashes these bodies first) and the
/// host (which weighs an added one as critical).
pub fn is_executable_file_type(t: u8) -> bool {
    matches!(t, 0x03..=0x0a | 0x0c..=0x0f)
}

/// One file of a [`FirmwareVolume`].
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FirmwareVolumeFile {
    /// The file's name GUID (upper case).
    pub guid: String,
    /// EFI_FV_FILETYPE.
    pub file_type: u8,
    /// Its size as GetNextFile reports it.
    pub size: u64,
    /// `pe32` or `te`: the body read with ReadSection, when it has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<String>,
    /// SHA-256 of that section's content (hex).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body_sha256: Option<String>,
}

/// A copy of the flash the machine runs from.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FirmwareFlash {
    /// Where it was read: the physical address of its first byte (or 0 for
    /// a file or device on a running host).
    pub base: u64,
    /// Its size.
    pub size: u64,
    /// SHA-256 of the copy (hex).
    pub sha256: String,
    /// The sidecar file holding the copy, beside the snapshot.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
    /// How it was found and read, for a person.
    pub how: String,
}

/// One loaded image (EFI_LOADED_IMAGE_PROTOCOL).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LoadedImage {
    /// The image's device path as text: `Fv(..)/FvFile(GUID)` for firmware
    /// drivers, a file path for images loaded from disk.
    pub device_path: String,
    /// ImageBase.
    pub base: u64,
    /// ImageSize in bytes.
    pub size: u64,
    /// ImageCodeType (EFI_MEMORY_TYPE).
    pub code_type: u32,
    /// ImageDataType (EFI_MEMORY_TYPE).
    pub data_type: u32,
    /// `pe`, `te` or `unknown` (header not recognised).
    pub format: String,
    /// COFF Machine (0x8664 x64).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub machine: Option<u16>,
    /// Subsystem (10 application, 11 boot driver, 12 runtime driver).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subsystem: Option<u16>,
    /// COFF TimeDateStamp (PE only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timestamp: Option<u32>,
    /// SizeOfImage from the optional header (PE only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size_of_image: Option<u32>,
}

/// One part that could not be collected.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CollectError {
    /// The part ("tpm", "memory-map", ...).
    pub part: Part,
    /// What was attempted.
    pub what: String,
    /// The EFI status (e.g. "NOT_FOUND"), when there is one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
}

/// Why a document is not a snapshot this version can read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum VersionError {
    /// `format` is not `bootaudit-snapshot/N`.
    NotASnapshot(String),
    /// A major version other than [`MAJOR`].
    UnsupportedMajor(u32),
}

impl core::fmt::Display for VersionError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            VersionError::NotASnapshot(s) => {
                write!(
                    f,
                    "field `format` is {s:?}, not \"{FORMAT_FAMILY}/<major>\""
                )
            }
            VersionError::UnsupportedMajor(m) => write!(
                f,
                "field `format`: major version {m} is not supported (this bootaudit reads {FORMAT})"
            ),
        }
    }
}

/// Checks the `format` field of a document.
pub fn check_format(format: &str) -> Result<(), VersionError> {
    let major = format
        .strip_prefix(FORMAT_FAMILY)
        .and_then(|r| r.strip_prefix('/'))
        .and_then(|m| m.split('.').next())
        .and_then(|m| m.parse::<u32>().ok())
        .ok_or_else(|| VersionError::NotASnapshot(String::from(format)))?;
    if major != MAJOR {
        return Err(VersionError::UnsupportedMajor(major));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn format_versions() {
        assert_eq!(check_format(FORMAT), Ok(()));
        assert_eq!(check_format("bootaudit-snapshot/1.3"), Ok(()));
        assert_eq!(
            check_format("bootaudit-snapshot/2"),
            Err(VersionError::UnsupportedMajor(2))
        );
        assert!(matches!(
            check_format("other/1"),
            Err(VersionError::NotASnapshot(_))
        ));
        assert!(matches!(
            check_format("bootaudit-snapshot/x"),
            Err(VersionError::NotASnapshot(_))
        ));
    }

    #[test]
    fn a_memory_attributes_table_reads_and_every_truncation_is_refused() {
        let mut t = Vec::new();
        for v in [1u32, 2, 48, 0] {
            t.extend(v.to_le_bytes());
        }
        for (ty, attrs) in [(5u32, MEMORY_RO), (6, 0)] {
            let mut d = [0u8; 48];
            d[..4].copy_from_slice(&ty.to_le_bytes());
            d[8..16].copy_from_slice(&0x7f00_0000u64.to_le_bytes());
            d[24..32].copy_from_slice(&2u64.to_le_bytes());
            d[32..40].copy_from_slice(&attrs.to_le_bytes());
            t.extend(d);
        }
        let m = memory_attributes(&t).unwrap();
        assert_eq!(m.descriptors.len(), 2);
        assert!(!m.descriptors[0].is_writable_executable());
        assert!(m.descriptors[1].is_writable_executable());
        for n in 0..t.len() {
            assert_eq!(memory_attributes(&t[..n]), None, "{n}");
        }
        t[8..12].copy_from_slice(&39u32.to_le_bytes());
        assert_eq!(memory_attributes(&t), None);
    }

    #[test]
    fn memory_type_names() {
        assert_eq!(memory_type_name(6), "RuntimeServicesData");
        assert_eq!(memory_type_name(0x8000_0001), "OSVendor");
    }

    #[test]
    fn masking_keeps_what_a_table_says_and_drops_where_things_are() {
        let mut facp = [0u8; 244];
        facp[..4].copy_from_slice(b"FACP");
        facp[9] = 0x5a;
        facp[40..44].copy_from_slice(&0x3f77_e000u32.to_le_bytes());
        facp[140..148].copy_from_slice(&0x3f77_e000u64.to_le_bytes());
        facp[46] = 1; // SCI_INT: what the table says
        let mut moved = facp;
        moved[40..44].copy_from_slice(&0x7f77_e000u32.to_le_bytes());
        moved[140..148].copy_from_slice(&0x7f77_e000u64.to_le_bytes());
        moved[9] = 0xa5;
        assert!(mask_acpi_addresses(&mut facp) && mask_acpi_addresses(&mut moved));
        assert_eq!(facp, moved);
        assert_eq!(facp[46], 1);
        // A truncated XSDT and a short table do not panic.
        let mut x = *b"XSDT\x30\0\0\0\x01\0AAAAAABBBBBBBB\0\0\0\0CCCC\0\0\0\0\x01\x02";
        assert!(mask_acpi_addresses(&mut x));
        assert_eq!(&x[36..], &[0, 0]);
        assert!(!mask_acpi_addresses(&mut [0u8; 10]));
        let mut facs = [0u8; 64];
        facs[..4].copy_from_slice(b"FACS");
        assert!(!mask_acpi_addresses(&mut facs));
    }
}
