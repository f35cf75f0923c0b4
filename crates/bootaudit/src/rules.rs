//! The rule registry: every finding bootaudit can report, with its id,
//! category, severity and what may explain it. This is the only place a
//! rule id, a severity or an explainer is written: `diff`, `fleet`,
//! `check`, `firmware` and `timeline` take their rules (and, where the
//! severity or the explainers depend on the case, the function that
//! decides them) from here. `bootaudit rules` lists them; the book's rule
//! table (docs/src/rules.md) is checked against this list by a test.
//!
//! A finding's severity passes through three stages:
//!
//! 1. **The rule**: [`Rule::severity`], or what the rule's case function
//!    says for this case ([`pcr_changed`], [`acpi_table_added`],
//!    [`memory_region_added`], ...; `severity_varies` says how, in words).
//! 2. **The evidence**: what may explain it is the rule's [`Explains`]
//!    ([`Rule::explainers`], or the case function's
//!    [`Rule::explainers_where`]). Only measured evidence acts on it: a
//!    verified firmware update or a RAM change explains it (lowered to
//!    `low`), a corroborated update lowers it to `medium` at most, a
//!    signed baseline acceptance explains it; a string the judged machine
//!    wrote about itself never does.
//! 3. **The exit code**: `--fail-on` compares what is left, unexplained,
//!    with the chosen severity.

use crate::findings::{Category, Severity};
use serde::Serialize;

/// One rule.
#[derive(Debug, Serialize)]
pub struct Rule {
    /// The stable id (`acpi.table.added`): what suppressions, baselines and
    /// SIEM mappings name.
    pub id: &'static str,
    /// The artefact it is about.
    pub category: Category,
    /// Its severity (the usual one, where it depends on the case).
    pub severity: Severity,
    /// How the severity depends on the case, when it does.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub severity_varies: Option<&'static str>,
    /// What evidence may explain it (and so lower its weight), as data:
    /// the checkers apply exactly these, and `bootaudit rules` prints them
    /// as `explained_by` ([`Rule::explained_by`]). Empty when nothing may.
    #[serde(
        rename = "explained_by",
        serialize_with = "serialize_explains",
        skip_serializing_if = "<[Explains]>::is_empty"
    )]
    pub explains: &'static [Explains],
    /// What it means, in one line.
    pub description: &'static str,
    /// For a check of `bootaudit check` (one machine judged alone, with a
    /// pass, fail, not-applicable or unknown result), the security level it
    /// counts toward, in the spirit of fwupd's HSI levels: the machine's
    /// level is the highest one whose checks, and all below, pass. `None`
    /// for a finding of `diff` and `fleet`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub level: Option<u8>,
}

/// One kind of evidence that may explain a finding.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Explainer {
    /// A firmware update: verified by a vendor reference, it explains (to
    /// low); corroborated by the S-CRTM version or the system-table
    /// revision, it lowers to medium at most; claimed by SMBIOS alone,
    /// nothing.
    FirmwareUpdate,
    /// A firmware update corroborated by measurements but not verified: it
    /// lowers the finding to medium at most and explains nothing (where a
    /// verified one must also have brought no new code).
    CorroboratedUpdate,
    /// A verified firmware update that brought no code outside its
    /// reference ([`crate::diff::firmware_update::memory_backed`]).
    NoNewCode,
    /// A change in the amount of RAM.
    RamChange,
    /// A Secure Boot variable change whose new values PCR7's log measured.
    SecureBootChange,
    /// A verified firmware update under which the Secure Boot policy
    /// PCR7 measured is the same ([`crate::secure_boot::policy::same_policy`]).
    SamePolicy,
    /// For `timeline`: a firmware update a vendor reference verifies and
    /// fwupd's history names; never OS-side evidence alone.
    VendorUpdateInHistory,
}

impl Explainer {
    /// How `bootaudit rules` says it.
    pub const fn phrase(self) -> &'static str {
        match self {
            Explainer::FirmwareUpdate => "a firmware update",
            Explainer::CorroboratedUpdate => {
                "a firmware update its measurements corroborate but no reference verifies: lowered to medium at most, not explained"
            }
            Explainer::NoNewCode => {
                "a verified firmware update that brought no code outside its reference"
            }
            Explainer::RamChange => "a RAM change",
            Explainer::SecureBootChange => {
                "a Secure Boot variable change whose new values PCR7's log measured"
            }
            Explainer::SamePolicy => {
                "a verified firmware update when the Secure Boot policy PCR7's verified log measured (state, setup mode, PK, KEK, db, dbx, authorities) is the same before and after"
            }
            Explainer::VendorUpdateInHistory => {
                "a firmware update a vendor reference verifies (--references) and fwupd's history names; never OS-side evidence alone"
            }
        }
    }
}

/// An explainer of a rule, and the case it is limited to (`None`: every
/// case of the rule).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Explains {
    /// What may explain the finding.
    pub by: Explainer,
    /// In which cases only, in words; the rule's case function decides it.
    pub only: Option<&'static str>,
}

const fn always(by: Explainer) -> Explains {
    Explains { by, only: None }
}

const fn only(by: Explainer, when: &'static str) -> Explains {
    Explains {
        by,
        only: Some(when),
    }
}

fn serialize_explains<S: serde::Serializer>(e: &&[Explains], s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&render_explains(e))
}

fn render_explains(e: &[Explains]) -> String {
    e.iter()
        .map(|x| match x.only {
            Some(w) => format!("{}, {w}", x.by.phrase()),
            None => x.by.phrase().to_string(),
        })
        .collect::<Vec<_>>()
        .join("; ")
}

/// Which explanations a finding may take, as the diff applies them: the
/// flags a rule's [`Explains`] set, for one case.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Explainers {
    /// A firmware version, revision or release-date change
    /// ([`Explainer::FirmwareUpdate`], [`Explainer::CorroboratedUpdate`]).
    pub firmware_update: bool,
    /// A change in the amount of RAM.
    pub ram_change: bool,
    /// A Secure Boot variable change (explains PCR7).
    pub secure_boot_change: bool,
    /// A verified firmware update that brought no new code.
    pub no_new_code: bool,
    /// A verified firmware update under the same Secure Boot policy.
    pub policy_form: bool,
}

impl Rule {
    /// What may explain it, in words (`None` when nothing may): rendered
    /// from [`Rule::explains`].
    pub fn explained_by(&self) -> Option<String> {
        (!self.explains.is_empty()).then(|| render_explains(self.explains))
    }

    /// The flags of every explainer of the rule that holds in every case.
    pub fn explainers(&self) -> Explainers {
        self.explainers_where(|_| false)
    }

    /// The flags of the rule's explainers that hold in every case, and of
    /// those limited to some cases for which `holds` says the case is one:
    /// a case can enable only what the registry lists for its rule.
    pub fn explainers_where(&self, holds: impl Fn(Explainer) -> bool) -> Explainers {
        let mut e = Explainers::default();
        for x in self.explains {
            if x.only.is_some() && !holds(x.by) {
                continue;
            }
            match x.by {
                Explainer::FirmwareUpdate | Explainer::CorroboratedUpdate => {
                    e.firmware_update = true
                }
                Explainer::NoNewCode => e.no_new_code = true,
                Explainer::RamChange => e.ram_change = true,
                Explainer::SecureBootChange => e.secure_boot_change = true,
                Explainer::SamePolicy => e.policy_form = true,
                Explainer::VendorUpdateInHistory => {}
            }
        }
        e
    }

    /// Whether `by` may explain a finding of this rule.
    pub fn may_be_explained_by(&self, by: Explainer) -> bool {
        self.explains.iter().any(|x| x.by == by)
    }
}

macro_rules! rules {
    (
        $($name:ident = $id:literal, $cat:ident, $sev:ident, $varies:expr, $explained:expr, $desc:literal;)*
        @checks
        $($cname:ident = $cid:literal, $ccat:ident, $csev:ident, level $lvl:literal, $cdesc:literal;)*
    ) => {
        $(
            #[doc = $desc]
            pub const $name: &Rule = &Rule {
                id: $id,
                category: Category::$cat,
                severity: Severity::$sev,
                severity_varies: $varies,
                explains: $explained,
                description: $desc,
                level: None,
            };
        )*
        $(
            #[doc = $cdesc]
            pub const $cname: &Rule = &Rule {
                id: $cid,
                category: Category::$ccat,
                severity: Severity::$csev,
                severity_varies: None,
                explains: NO,
                description: $cdesc,
                level: Some($lvl),
            };
        )*
        /// Every rule, in the order `bootaudit rules` lists them: the
        /// findings of `diff` and `fleet`, then the checks of `check`.
        pub const ALL: &[&Rule] = &[$($name,)* $($cname),*];
        /// The checks of `bootaudit check`, in the order it runs them.
        pub const CHECKS: &[&Rule] = &[$($cname),*];
    };
}

const NONE: Option<&str> = None;
/// Nothing explains it.
const NO: &[Explains] = &[];
/// A firmware update: verified by a reference, it explains (low);
/// corroborated by the S-CRTM version or the system-table revision, it
/// lowers to medium at most; claimed by SMBIOS alone, nothing.
const FW: &[Explains] = &[always(Explainer::FirmwareUpdate)];
/// Memory the firmware allocates: explained by a verified update only when
/// no image outside the reference runs in the changed regions, PCR2 and
/// PCR4 measure no new code, and the flash copy (if any) is the
/// reference's image.
const NO_NEW_CODE: &[Explains] = &[always(Explainer::NoNewCode)];
/// The same for PCR2, which a corroborated update also lowers.
const NO_NEW_CODE_CORROBORATED: &[Explains] = &[
    always(Explainer::NoNewCode),
    always(Explainer::CorroboratedUpdate),
];
/// The same, and a RAM change.
const NO_NEW_CODE_OR_RAM: &[Explains] = &[
    always(Explainer::RamChange),
    always(Explainer::NoNewCode),
    always(Explainer::CorroboratedUpdate),
];

rules! {
    IDENTITY_FIRMWARE_CHANGED = "identity.firmware.changed", Identity, Info, NONE, NO,
        "The firmware's identity (vendor, revision, BIOS version or date) changed. It explains other firmware findings only as far as measurements back it: verified by a reference (low), corroborated by the S-CRTM version or system-table revision (at least medium), or claimed by SMBIOS alone (nothing).";
    IDENTITY_PLATFORM_CHANGED = "identity.platform.changed", Identity, Medium, NONE, NO,
        "The SMBIOS system identity changed: another machine, or edited SMBIOS (diff refuses it unless --allow-other-machine).";
    IDENTITY_ENDORSEMENT_KEY_CHANGED = "identity.endorsement-key.changed", Identity, High, NONE, NO,
        "The TPM's endorsement key is another one while the machine's other identity stayed: a replaced TPM (or motherboard), a TPM whose endorsement seed was changed, or an identity cloned onto another machine. Nothing explains it.";
    MEMORY_MAP_RAM_CHANGED = "memory-map.ram.changed", MemoryMap, Info, NONE, NO,
        "The amount of memory changed; it explains regions that moved and tables rewritten in place.";
    MEMORY_MAP_USABLE_CHANGED = "memory-map.usable.changed", MemoryMap, Low, NONE,
        NO_NEW_CODE_OR_RAM,
        "Boot-services, loader and conventional memory changed in total.";
    MEMORY_MAP_REGION_MOVED = "memory-map.region.moved", MemoryMap, Medium, NONE,
        NO_NEW_CODE_OR_RAM,
        "A persistent region kept its type and size but not its address.";
    MEMORY_MAP_REGION_ADDED = "memory-map.region.added", MemoryMap, High,
        Some("critical for runtime services code or data"),
        &[always(Explainer::NoNewCode), only(Explainer::RamChange, "for reserved and MMIO regions")],
        "A new region that survives into the OS: where an implant's runtime code lives.";
    MEMORY_MAP_REGION_GREW = "memory-map.region.grew", MemoryMap, High, NONE, NO_NEW_CODE,
        "A persistent region grew.";
    MEMORY_MAP_REGION_REMOVED = "memory-map.region.removed", MemoryMap, Low, NONE,
        NO_NEW_CODE_OR_RAM,
        "A persistent region is gone.";
    MEMORY_MAP_NOT_COMPARABLE = "memory-map.not-comparable", MemoryMap, Info, NONE, NO,
        "The two snapshots record different views of memory (before the OS, and after the kernel reshaped it).";
    MEMORY_MAP_MAPKEY_MOVED = "memory-map.mapkey.moved", MemoryMap, High, NONE, NO,
        "The MapKey moved in the collector's quiet window: something else allocates during boot.";
    SECURE_BOOT_DISABLED = "secure-boot.disabled", SecureBoot, Critical, NONE, NO,
        "Secure Boot was on and is off.";
    SECURE_BOOT_ENABLED = "secure-boot.enabled", SecureBoot, Info, NONE, NO,
        "Secure Boot was off and is on.";
    SECURE_BOOT_SETUP_MODE = "secure-boot.setup-mode", SecureBoot, High, NONE, NO,
        "The platform is in setup mode: anyone may enroll keys.";
    SECURE_BOOT_DBX_SHRANK = "secure-boot.dbx.shrank", SecureBoot, Critical, NONE, NO,
        "The revocation list lost entries (or is gone): revoked boot code may run again.";
    SECURE_BOOT_VARIABLE_DECOY = "secure-boot.variable.decoy", SecureBoot, High, NONE, NO,
        "A variable carries a key database's name (PK, KEK, db, dbx, dbt, MokList) under another vendor GUID than the specification's: a decoy for readers that go by name.";
    SECURE_BOOT_VARIABLE_CHANGED = "secure-boot.variable.changed", SecureBoot, Medium,
        Some("high for PK, KEK and db; low for dbx"), NO,
        "A Secure Boot variable changed; it explains a PCR7 change.";
    BOOT_ENTRIES_ADDED = "boot-entries.added", BootEntries, Medium,
        Some("high when it points outside the ESP's known loaders"), NO,
        "A new Boot#### entry.";
    BOOT_ENTRIES_CHANGED = "boot-entries.changed", BootEntries, Medium,
        Some("high when its device path changed"), NO,
        "A Boot#### entry changed.";
    ACPI_TABLE_ADDED = "acpi.table.added", Acpi, Medium,
        Some("critical for a WPBT (code Windows runs at boot), high for an SSDT"),
        &[only(Explainer::FirmwareUpdate, "except for a WPBT or an SSDT")],
        "A new ACPI table.";
    ACPI_TABLE_CHANGED = "acpi.table.changed", Acpi, Medium,
        Some("high for DSDT, SSDT, FACP, MCFG, DMAR, IVRS, TPM2, WSMT and WPBT changed under the same OEM revision"),
        &[only(Explainer::FirmwareUpdate, "except for the tables changed under the same OEM revision"), only(Explainer::RamChange, "when rewritten at the same length")],
        "An ACPI table's content changed.";
    ACPI_TABLE_REMOVED = "acpi.table.removed", Acpi, Medium,
        Some("high for DMAR, IVRS, TPM2, WSMT and TCPA"), FW,
        "An ACPI table is gone.";
    ACPI_RSDP_CHECKSUM = "acpi.rsdp.checksum", Acpi, High, NONE, NO,
        "The RSDP's checksum is invalid: it was edited after the firmware built it.";
    DEVICE_TREE_NODE_ADDED = "device-tree.node.added", DeviceTree, Medium, NONE, FW,
        "A Device Tree node the firmware did not hand the OS before: a device the OS will trust and drive.";
    DEVICE_TREE_NODE_CHANGED = "device-tree.node.changed", DeviceTree, Medium, NONE,
        &[always(Explainer::FirmwareUpdate), only(Explainer::RamChange, "for the /memory nodes")],
        "A Device Tree node's properties changed (the per-boot random seeds of /chosen aside).";
    DEVICE_TREE_NODE_REMOVED = "device-tree.node.removed", DeviceTree, Medium, NONE, FW,
        "A Device Tree node is gone: a device the OS no longer sees, or a protection it no longer knows of.";
    DEVICE_TREE_PRESENCE = "device-tree.presence", DeviceTree, Medium, NONE, FW,
        "The firmware handed the OS a Device Tree in one boot and none in the other.";
    LOADED_IMAGES_FIRMWARE_DRIVER_ADDED = "loaded-images.firmware-driver.added", LoadedImages, Critical, NONE, FW,
        "A firmware-volume driver is loaded that was not before: the LoJax case.";
    LOADED_IMAGES_OPTION_ROM_ADDED = "loaded-images.option-rom.added", LoadedImages, High, NONE, NO,
        "Code from a PCI device's expansion ROM ran in the firmware that did not before.";
    LOADED_IMAGES_IMAGE_ADDED = "loaded-images.image.added", LoadedImages, High, NONE, NO,
        "An image is loaded that was not before.";
    LOADED_IMAGES_FIRMWARE_DRIVER_CHANGED = "loaded-images.firmware-driver.changed", LoadedImages, High, NONE, FW,
        "A firmware-volume driver is another build (size or timestamp).";
    LOADED_IMAGES_OPTION_ROM_CHANGED = "loaded-images.option-rom.changed", LoadedImages, High, NONE, NO,
        "An option-ROM driver is another build: the device's ROM changed.";
    LOADED_IMAGES_IMAGE_REMOVED = "loaded-images.image.removed", LoadedImages, Low, NONE, FW,
        "An image is no longer loaded.";
    TPM_ABSENT = "tpm.absent", Tpm, High, NONE, NO,
        "The TPM (or its event log) is gone: measured boot no longer vouches for anything.";
    TPM_LOG_REPLAY_MISMATCH = "tpm.log.replay-mismatch", Tpm, Critical, NONE, NO,
        "The snapshot's event log does not replay to the PCRs the TPM holds: the log is not what was measured.";
    TPM_LOG_DIGEST_MISMATCH = "tpm.log.digest-mismatch", Tpm, Critical, NONE, NO,
        "An event's digest does not cover its own data: the log lies.";
    TPM_LOG_UNREADABLE = "tpm.log.unreadable", Tpm, High, NONE, NO,
        "The snapshot's event log does not parse.";
    TPM_PCR0_CHANGED = "tpm.pcr0.changed", Firmware, Critical, NONE,
        &[always(Explainer::FirmwareUpdate), only(Explainer::RamChange, "when only firmware blobs were re-hashed in place")],
        "PCR0 (firmware code) changed.";
    TPM_PCR2_CHANGED = "tpm.pcr2.changed", Firmware, High, NONE, NO_NEW_CODE_CORROBORATED,
        "PCR2 (option ROMs and UEFI drivers) changed.";
    TPM_PCR4_CHANGED = "tpm.pcr4.changed", BootEntries, High, NONE, NO,
        "PCR4 (boot applications) changed.";
    TPM_PCR7_CHANGED = "tpm.pcr7.changed", SecureBoot, High, NONE,
        &[always(Explainer::SecureBootChange), always(Explainer::SamePolicy)],
        "PCR7 (Secure Boot policy) changed.";
    TPM_PCR_CHANGED = "tpm.pcr.changed", Tpm, Medium,
        Some("low for PCRs 8-23 (OS and boot loader measurements)"),
        &[only(Explainer::FirmwareUpdate, "for PCRs 1, 3, 5 and 6")],
        "Another PCR changed.";
    BOOT_APPLICATION_CHANGED = "boot-entries.boot-application.changed", BootEntries, High, NONE, NO,
        "A boot application at the same place has another Authenticode hash.";
    BOOT_APPLICATION_ADDED = "boot-entries.boot-application.added", BootEntries, Critical,
        Some("high for an extra run of a known loader's place"), NO,
        "A boot application ran that did not before (a pre-loader, a bootkit).";
    BOOT_APPLICATION_REMOVED = "boot-entries.boot-application.removed", BootEntries, Low, NONE, NO,
        "A boot application no longer ran.";
    ESP_BINARY_ADDED = "esp.binary.added", BootEntries, High,
        Some("medium at a known loader's place"), NO,
        "A new EFI binary on the ESP.";
    ESP_BINARY_CHANGED = "esp.binary.changed", BootEntries, High, NONE, NO,
        "An EFI binary on the ESP has another Authenticode hash.";
    ESP_BINARY_REMOVED = "esp.binary.removed", BootEntries, Low, NONE, NO,
        "An EFI binary is no longer on the ESP.";
    INDICATOR_MATCH = "indicator.match", LoadedImages, Critical, NONE, NO,
        "A published implant indicator (a GUID, a hash, a name) matches.";
    WINDOWS_TEST_SIGNING = "windows.test-signing", Windows, High, NONE, NO,
        "Windows booted with test signing on: any self-signed driver loads.";
    WINDOWS_DEBUGGING = "windows.debugging", Windows, High, NONE, NO,
        "Windows booted with boot, kernel or hypervisor debugging on: a debugger can rewrite the running system.";
    WINDOWS_SETTING_UNREADABLE = "windows.setting.unreadable", Windows, Medium, NONE, NO,
        "A verified SIPA record of debugging, test signing or flight signing holds no readable value: the setting is unknown, never read as off.";
    WINDOWS_CODE_INTEGRITY_OFF = "windows.code-integrity.off", Windows, Critical, NONE, NO,
        "Windows booted with code integrity off: unsigned kernel code loads.";
    WINDOWS_DEP_OFF = "windows.dep.off", Windows, Medium, NONE, NO,
        "Windows booted with the NX policy AlwaysOff: data execution prevention is off.";
    WINDOWS_VSM_STOPPED = "windows.vsm.stopped", Windows, High, NONE, NO,
        "Virtualization-based security ran in the baseline's boot and did not in this one.";
    FIRMWARE_FILE_ADDED = "firmware.file.added", Firmware, Critical,
        Some("medium for a file that holds no code (raw, freeform, pad)"), FW,
        "A firmware image (or the firmware's own volume inventory) holds an FFS file the known-good one does not: an executable one is how an implant enters the flash (LoJax's SecDxe).";
    FIRMWARE_FILE_CHANGED = "firmware.file.changed", Firmware, High,
        Some("medium for a file without code, or one whose executable body is unchanged"), FW,
        "An FFS file has the same GUID and volume as in the known-good image but other bytes: a patched module (MoonBounce patched the DXE core).";
    FIRMWARE_FILE_REMOVED = "firmware.file.removed", Firmware, Medium, NONE, FW,
        "An FFS file of the known-good image is missing: a protection may have been taken out.";
    FIRMWARE_FLASH_CHANGED = "firmware.flash.changed", Firmware, High, NONE, FW,
        "The copy of the machine's flash has another hash than in the baseline: another firmware (firmware diff the two copies).";
    FIRMWARE_VOLUME_ADDED = "firmware.volume.added", Firmware, High, NONE, NO,
        "A firmware volume the known-good image does not have.";
    FIRMWARE_VOLUME_CHANGED = "firmware.volume.changed", Firmware, Low,
        Some("high when none of its files changed: data outside the files (free space, padding)"), NO,
        "A firmware volume's bytes differ from the known-good image's.";
    FIRMWARE_VOLUME_REMOVED = "firmware.volume.removed", Firmware, Medium, NONE, NO,
        "A firmware volume of the known-good image is missing.";
    FIRMWARE_STRUCTURE_DAMAGED = "firmware.structure.damaged", Firmware, Medium, NONE, NO,
        "A firmware image has a structural problem the known-good one does not: a bad checksum, data hidden in free space, a section that cannot be opened.";
    FIRMWARE_BLOB_NOT_IN_REFERENCE = "firmware.blob.not-in-reference", Firmware, Critical,
        Some("high when no reference has a volume of the blob's size"), NO,
        "With --references, a PCR0 firmware blob measured a digest no reference volume has: the firmware that ran is not the vendor's.";
    FIRMWARE_BLOB_UNCHECKABLE = "firmware.blob.uncheckable", Firmware, Medium, NONE, NO,
        "With --references, a PCR0 blob measures a volume whose measurement depends on the boot (a PEI volume run in place from RAM), and no flash copy proves it is the vendor's: unknown, not a pass.";
    FIRMWARE_DRIVER_NOT_IN_REFERENCE = "firmware.driver.not-in-reference", Firmware, Critical, NONE, NO,
        "With --references, a firmware driver (Fv/FvFile) was loaded that the vendor's firmware does not hold: the LoJax signature, with or without a baseline.";
    FIRMWARE_DRIVER_DIFFERS_FROM_REFERENCE = "firmware.driver.differs-from-reference", Firmware, High, NONE, NO,
        "With --references, a loaded firmware driver's SizeOfImage is not that of the vendor's file of the same GUID: a patched driver.";
    FIRMWARE_STORED_FILE_NOT_IN_REFERENCE = "firmware.stored-file.not-in-reference", Firmware, Critical,
        Some("medium for a file that holds no code"), NO,
        "With --references, the firmware's own volume inventory lists a file the vendor's firmware does not hold: stored, whether or not it was ever dispatched.";
    FIRMWARE_FLASH_DIFFERS_FROM_REFERENCE = "firmware.flash.differs-from-reference", Firmware, High, NONE, NO,
        "With --references, the copy of the machine's flash is not the vendor's image of the same size (firmware diff names what differs).";
    FIRMWARE_REFERENCE_UNCHECKED = "firmware.reference.unchecked", Firmware, High, NONE, NO,
        "With --references, nothing in the snapshot could be compared with them (no PCR0 blob, no firmware driver, or none of the references' volumes): unknown, not a pass.";
    IDENTITY_FIRMWARE_UNBACKED = "identity.firmware.unbacked", Identity, High, NONE, NO,
        "The firmware's SMBIOS strings claim an update that its measurements (S-CRTM version, system-table revision) do not show, while its code changed.";
    BASELINE_MISSING = "baseline.missing", Baseline, High, NONE, NO,
        "With --baselines, a host has no usable baseline: none, unreadable, unsigned, of another machine, or an id that cannot name one.";
    TIMELINE_FIRMWARE_CHANGED_BY_TOOL = "timeline.firmware.changed-by-tool", Timeline, Critical, NONE,
        &[always(Explainer::VendorUpdateInHistory)],
        "The firmware changed between two consecutive boots, and a tool or driver that can write the flash from the OS was seen in between: who, when and what, with the states on either side.";
    TIMELINE_FIRMWARE_CHANGED_UNEXPLAINED = "timeline.firmware.changed-unexplained", Timeline, High, NONE,
        &[always(Explainer::VendorUpdateInHistory)],
        "The firmware changed between two consecutive boots, and the OS logs record no flash-capable tool or driver in between (or the window is blind: a log was cleared, damaged, or none covers it).";
    TIMELINE_FIRMWARE_UNCOMPARABLE = "timeline.firmware.uncomparable", Timeline, Medium, NONE, NO,
        "Two consecutive firmware states cannot be compared (one has no measurement of the firmware), or a state cannot be placed in time: whether and when the firmware changed is unknown.";
    TIMELINE_FIRMWARE_UNOBSERVED = "timeline.firmware.unobserved", Timeline, Medium, NONE, NO,
        "Fewer than two firmware states (measured boots: snapshots, MeasuredBoot logs, bundles) could be placed in time: whether the firmware changed while the OS logs ran is unknown, not unchanged.";
    TIMELINE_FLASH_TOOL_SEEN = "timeline.flash-tool.seen", Timeline, High, NONE,
        &[always(Explainer::VendorUpdateInHistory)],
        "A tool or driver that can write the firmware from the OS (bootaudit's curated list, or raw access to /dev/mem, /dev/port or an MTD device) was installed, loaded or run.";
    TIMELINE_FLASH_TOOL_ATTEMPT = "timeline.flash-tool.attempt", Timeline, Medium, NONE, NO,
        "A flash-capable tool or driver was seen, and the next firmware state is the same as the one before it: an attempt that left no change, or a write the measurements do not show.";
    TIMELINE_DRIVER_KNOWN_VULNERABLE = "timeline.driver.known-vulnerable", Timeline, High,
        Some("medium when matched by file name only"), NO,
        "A driver on the LOLDrivers list (--loldrivers) was installed or loaded: matched by SHA-256, SHA-1, MD5 or Authentihash, or by file name only where the record has no hash.";
    TIMELINE_BOOT_CONFIG_WEAKENED = "timeline.boot-config.weakened", Timeline, High, NONE, NO,
        "Windows loaded a boot configuration with test signing, kernel debugging, flight signing or integrity checks off (Security 4826): unsigned drivers could load.";
    TIMELINE_DRIVER_BLOCKED = "timeline.driver.blocked", Timeline, Medium, NONE, NO,
        "Code Integrity refused or would have refused a driver (3023, 3033, 3034, 3077): something tried to load a driver that is unsigned or on the block list.";
    TIMELINE_LOCKDOWN_DENIED = "timeline.lockdown.denied", Timeline, Medium, NONE, NO,
        "The kernel's lockdown refused a program raw access to hardware or memory (/dev/mem, /dev/port, MSRs, module parameters).";
    TIMELINE_LOG_CLEARED = "timeline.log.cleared", Timeline, Medium, NONE, NO,
        "An event log was cleared (Security 1102, System 104): what it held before is gone, and the time before the clear is blind.";
    TIMELINE_LOG_DAMAGED = "timeline.log.damaged", Timeline, Low, NONE, NO,
        "A log is damaged (a chunk, record or line that cannot be read): records may be missing, so its silence cannot show that nothing happened (a window it alone covers is blind).";
    TIMELINE_FIRMWARE_LOG_MISMATCH = "timeline.firmware-log.mismatch", Timeline, High, NONE, NO,
        "The firmware's own boot log (EDK II DEBUG output) and a snapshot of the same boot disagree: a driver one shows loaded the other does not have.";
    TIMELINE_FIRMWARE_LOG_UNKNOWN = "timeline.firmware-log.unknown", Timeline, Medium, NONE, NO,
        "A firmware boot log was given but holds no driver-load lines (release firmware prints none), or has no snapshot of its boot: the cross-check could not run.";
@checks
    CHECK_TPM_PRESENT = "tpm.present", Tpm, High, level 1,
        "A TPM 2.0 is present, with an event log of the boot: without one, nothing below vouches for what ran.";
    CHECK_TPM_LOG_DIGESTS = "tpm.log.digests", Tpm, Critical, level 1,
        "Every event's digest covers its own data, where the data is what was hashed.";
    CHECK_TPM_LOG_REPLAYS = "tpm.log.replays", Tpm, Critical, level 1,
        "The event log replays to the PCR values read from the TPM (and, with a quote, to the quoted PCR digest): the log is what was measured.";
    CHECK_SECURE_BOOT_ON = "secure-boot.on", SecureBoot, High, level 1,
        "Secure Boot is on, as the verified PCR7 log records it (the SecureBoot variable's measured value).";
    CHECK_SECURE_BOOT_USER_MODE = "secure-boot.user-mode", SecureBoot, High, level 1,
        "The platform is in user mode: a Platform Key is enrolled, and it is not in setup or audit mode, where anyone may enrol keys.";
    CHECK_SECURE_BOOT_STATE_MEASURED = "secure-boot.state.measured", SecureBoot, Critical, level 1,
        "The SecureBoot variable the firmware reports (GetVariable or efivarfs) is the value PCR7 measured.";
    CHECK_SECURE_BOOT_NO_DECOYS = "secure-boot.variables.no-decoys", SecureBoot, High, level 1,
        "No variable carries a key database's name (PK, KEK, db, dbx, dbt, MokList) under another vendor GUID than the specification's: each database is judged under its own GUID, and a same-named decoy is named.";
    CHECK_SECURE_BOOT_KEYS_MEASURED = "secure-boot.keys.measured", SecureBoot, Critical, level 1,
        "PK, KEK, db and dbx, as read from the firmware, hash to the values PCR7's EV_EFI_VARIABLE_DRIVER_CONFIG events measured, and each was measured.";
    CHECK_SECURE_BOOT_PK_TEST_KEY = "secure-boot.pk.test-key", SecureBoot, Critical, level 1,
        "The Platform Key or a KEK is a test key: one whose subject or issuer says DO NOT TRUST or DO NOT SHIP (PKfail, 2024), or a published test key whose private key is public.";
    CHECK_SECURE_BOOT_DB_TEST_KEY = "secure-boot.db.test-key", SecureBoot, High, level 1,
        "A certificate in db is a test key (as for the PK): anything signed with its public private key boots.";
    CHECK_SECURE_BOOT_DBX_CURRENT = "secure-boot.dbx.current", SecureBoot, High, level 2,
        "With --dbx, the revocation list holds every entry of the newest UEFI revocation update given: boot code revoked since (BootHole's grub, BlackLotus's boot manager) still boots otherwise.";
    CHECK_SECURE_BOOT_CA_2023 = "secure-boot.ca-2023", SecureBoot, Medium, level 2,
        "KEK and db do not trust only Microsoft's 2011 UEFI CAs, which expired in 2026: a machine with no 2023 CA cannot take new boot managers or dbx updates.";
    CHECK_SECURE_BOOT_SBAT_CURRENT = "secure-boot.sbat.current", SecureBoot, Medium, level 2,
        "The SBAT level shim measured into PCR7 (SbatLevel) holds every revocation of the newest level the shim binaries given (--shim, or the host's /usr/lib/shim with --live) carry: binaries revoked since (grub's BootHole successors) still boot otherwise.";
    CHECK_OPTION_ROM_MEASURED = "option-rom.measured", Firmware, Critical, level 1,
        "Every option-ROM driver that was loaded (a Pci(...)/Offset(...) image) has its EV_EFI_BOOT_SERVICES_DRIVER in PCR2: code from a device ran unmeasured otherwise.";
    CHECK_BOOT_APPLICATION_MEASURED = "boot-application.measured", BootEntries, Critical, level 1,
        "Every boot application that was loaded from a file has its EV_EFI_BOOT_SERVICES_APPLICATION in PCR4.";
    CHECK_ACPI_CHECKSUMS = "acpi.checksums", Acpi, High, level 1,
        "The RSDP's and every ACPI table's checksum holds: a table edited after the firmware built it fails.";
    CHECK_ACPI_XSDT_COMPLETE = "acpi.xsdt.complete", Acpi, High, level 1,
        "Every table the XSDT lists was found, and the handoff-table event of PCR1, where there is one, names the RSDP the snapshot read.";
    CHECK_ACPI_WPBT_ABSENT = "acpi.wpbt.absent", Acpi, High, level 2,
        "No WPBT: the table through which firmware hands Windows a program to run at every boot (Computrace, and LoJax after it).";
    CHECK_MEMORY_MAPKEY_QUIET = "memory.mapkey.quiet", MemoryMap, High, level 1,
        "The MapKey did not move in the collector's quiet window: nothing else allocates while the boot is idle (an implant's timer does).";
    CHECK_FIRMWARE_REFERENCE = "firmware.matches-reference", Firmware, Critical, level 2,
        "With --references, the firmware that ran is the vendor's: PCR0's blobs, the loaded drivers, the stored files and the flash copy match a reference (firmware check's findings, none above medium).";
    CHECK_MEMORY_ATTRIBUTES_PRESENT = "memory.attributes-table.present", MemoryMap, Medium, level 2,
        "UEFI 2.6+ firmware publishes the Memory Attributes Table (Windows' VBS requires it): without it the OS maps runtime services code writable and executable.";
    CHECK_MEMORY_RUNTIME_NO_WX = "memory.runtime.no-wx", MemoryMap, High, level 2,
        "No entry of the Memory Attributes Table is runtime memory both writable and executable, and every entry lies inside a runtime region of the memory map.";
    CHECK_PLATFORM_SPI_BIOSWE = "platform.spi.bioswe", Platform, High, level 1,
        "--live: BIOS Control's BIOSWE (write enable) is clear, or BLE makes setting it trap to SMM: the OS cannot simply write the BIOS flash (Intel PCH datasheets; CHIPSEC common.spi_lock, fwupd Spi.Bioswe).";
    CHECK_PLATFORM_SPI_BLE = "platform.spi.ble", Platform, High, level 1,
        "--live: BIOS Control's BLE (BIOS lock enable) is set: setting BIOSWE raises an SMI for the firmware to refuse.";
    CHECK_PLATFORM_SPI_SMM_BWP = "platform.spi.smm-bwp", Platform, High, level 1,
        "--live: BIOS Control's SMM_BWP (EISS) is set: the BIOS region is writable only by SMM, not by a CPU outside it (the race BLE alone loses).";
    CHECK_PLATFORM_SPI_FLOCKDN = "platform.spi.flockdn", Platform, High, level 1,
        "--live: the SPI controller's HSFS.FLOCKDN is set: the flash configuration and protected ranges are locked until reset.";
    CHECK_PLATFORM_SPI_PROTECTED_RANGES = "platform.spi.protected-ranges", Platform, Medium, level 3,
        "--live: at least one SPI protected range (PR0-PR4) write-protects part of the flash, independently of SMM.";
    CHECK_PLATFORM_BOOT_GUARD = "platform.boot-guard", Platform, Medium, level 2,
        "--live: on a CPU with Intel Boot Guard (MSR 0x13A bit 32), verified boot is on (bit 6): the initial boot block is checked by the CPU's ACM before it runs.";
    CHECK_PLATFORM_IOMMU = "platform.iommu", Platform, High, level 2,
        "--live: the firmware describes an IOMMU (ACPI DMAR or IVRS), the kernel command line does not turn it off, and the kernel enabled it (/sys/class/iommu): devices cannot DMA into the OS at will.";
    CHECK_PLATFORM_LOCKDOWN = "platform.kernel-lockdown", Platform, Medium, level 3,
        "--live: the kernel is locked down (integrity or confidentiality): root cannot rewrite the running kernel, /dev/mem or the MSRs.";
    CHECK_PLATFORM_OPTION_ROMS = "platform.option-roms", Platform, Info, level 4,
        "--live: the PCI devices with an expansion ROM, whose code the firmware may run (their drivers must then be in PCR2).";
    CHECK_INDICATORS = "indicators.none", LoadedImages, Critical, level 1,
        "No published implant indicator (and none of --indicators, CHIPSEC's blockedlist.json format) matches a loaded image, a boot entry or a device path in the event log.";
}

/// The most severe `firmware check` finding that still lets
/// [`CHECK_FIRMWARE_REFERENCE`] pass (a boot-dependent blob no flash copy
/// proves is medium: noted, not a failure of the firmware).
pub const FIRMWARE_REFERENCE_TOLERATED: Severity = Severity::Medium;

/// The severity of a new ACPI table.
pub fn acpi_table_added(signature: &str) -> Severity {
    match signature {
        "WPBT" => Severity::Critical,
        "SSDT" => Severity::High,
        _ => ACPI_TABLE_ADDED.severity,
    }
}

/// Tables whose content is code or security policy: changed under the same
/// OEM revision, they are high and no firmware update explains them.
pub const CRITICAL_CONTENT: &[&str] = &[
    "DSDT", "SSDT", "FACP", "MCFG", "DMAR", "IVRS", "TPM2", "WSMT", "WPBT",
];

/// The severity of a changed ACPI table.
pub fn acpi_table_changed(signature: &str, same_revision: bool) -> Severity {
    if same_revision && CRITICAL_CONTENT.contains(&signature) {
        Severity::High
    } else {
        ACPI_TABLE_CHANGED.severity
    }
}

/// The severity of a removed ACPI table: the tables that enable a
/// protection (DMA remapping, the TPM, SMM mitigations) weigh more.
pub fn acpi_table_removed(signature: &str) -> Severity {
    if ["DMAR", "IVRS", "TPM2", "WSMT", "TCPA"].contains(&signature) {
        Severity::High
    } else {
        ACPI_TABLE_REMOVED.severity
    }
}

/// The severity of a new persistent region of EFI memory type `ty`:
/// runtime services code or data (memory that survives into the OS with
/// firmware code in it) is critical, any other persistent region high.
pub fn memory_region_added(ty: crate::snapshot::MemoryType) -> Severity {
    if ty.is_runtime() {
        Severity::Critical
    } else {
        MEMORY_MAP_REGION_ADDED.severity
    }
}

/// The severity of a changed Secure Boot variable.
pub fn secure_boot_variable_changed(name: &str) -> Severity {
    match name {
        "PK" | "KEK" | "db" => Severity::High,
        "dbx" => Severity::Low,
        _ => SECURE_BOOT_VARIABLE_CHANGED.severity,
    }
}

/// The severity of a new Boot#### entry.
pub fn boot_entry_added(outside_known_loaders: bool) -> Severity {
    if outside_known_loaders {
        Severity::High
    } else {
        BOOT_ENTRIES_ADDED.severity
    }
}

/// The severity of a changed Boot#### entry.
pub fn boot_entry_changed(device_path_changed: bool) -> Severity {
    if device_path_changed {
        Severity::High
    } else {
        BOOT_ENTRIES_CHANGED.severity
    }
}

/// The severity of a new boot application.
pub fn boot_application_added(at_known_loader: bool) -> Severity {
    if at_known_loader {
        Severity::High
    } else {
        BOOT_APPLICATION_ADDED.severity
    }
}

/// The severity of a new binary on the ESP.
pub fn esp_binary_added(at_known_loader: bool) -> Severity {
    if at_known_loader {
        Severity::Medium
    } else {
        ESP_BINARY_ADDED.severity
    }
}

/// A changed PCR, judged: its rule, severity, what may explain it in this
/// case, and what the PCR measures.
#[derive(Clone, Copy, Debug)]
pub struct PcrChange {
    /// The rule.
    pub rule: &'static Rule,
    /// Its severity here.
    pub severity: Severity,
    /// What may explain it here.
    pub explainers: Explainers,
    /// What the PCR measures, in words.
    pub role: &'static str,
}

/// The one place the PCRs are told apart: a change of `pcr`, where
/// `blobs_rehashed_in_place` says that only firmware blobs were measured
/// again, at the same base and length (EDK II's PEI volume runs in place
/// from RAM before it is measured, so its digest follows the memory size).
pub fn pcr_changed(pcr: u32, blobs_rehashed_in_place: bool) -> PcrChange {
    let (rule, severity, role) = match pcr {
        0 => (TPM_PCR0_CHANGED, TPM_PCR0_CHANGED.severity, "firmware code"),
        2 => (
            TPM_PCR2_CHANGED,
            TPM_PCR2_CHANGED.severity,
            "option ROMs and UEFI drivers",
        ),
        4 => (
            TPM_PCR4_CHANGED,
            TPM_PCR4_CHANGED.severity,
            "boot applications",
        ),
        7 => (
            TPM_PCR7_CHANGED,
            TPM_PCR7_CHANGED.severity,
            "Secure Boot policy",
        ),
        1 | 3 | 5 | 6 => (
            TPM_PCR_CHANGED,
            TPM_PCR_CHANGED.severity,
            "platform configuration",
        ),
        _ => (
            TPM_PCR_CHANGED,
            Severity::Low,
            "OS and boot loader measurements",
        ),
    };
    let explainers = rule.explainers_where(|by| match by {
        Explainer::RamChange => blobs_rehashed_in_place,
        Explainer::FirmwareUpdate => matches!(pcr, 1 | 3 | 5 | 6),
        _ => false,
    });
    PcrChange {
        rule,
        severity,
        explainers,
        role,
    }
}

/// What may explain a new ACPI table: a firmware update, but never for a
/// WPBT or an SSDT (code the OS runs).
pub fn acpi_table_added_explainers(signature: &str) -> Explainers {
    ACPI_TABLE_ADDED.explainers_where(|_| !matches!(signature, "WPBT" | "SSDT"))
}

/// What may explain a changed ACPI table: a firmware update, unless its
/// content is code or policy changed under the same OEM revision; a RAM
/// change, when it was rewritten at the same length (tables encode the
/// memory layout in fixed-width fields).
pub fn acpi_table_changed_explainers(
    signature: &str,
    same_revision: bool,
    same_length: bool,
) -> Explainers {
    ACPI_TABLE_CHANGED.explainers_where(|by| match by {
        Explainer::FirmwareUpdate => {
            acpi_table_changed(signature, same_revision) <= ACPI_TABLE_CHANGED.severity
        }
        Explainer::RamChange => same_length,
        _ => false,
    })
}

/// What may explain a changed Device Tree node: a firmware update; a RAM
/// change for a `/memory` node (its `reg` is the RAM's size).
pub fn device_tree_node_changed_explainers(path: &str) -> Explainers {
    DEVICE_TREE_NODE_CHANGED.explainers_where(|by| match by {
        Explainer::RamChange => path == "/memory" || path.starts_with("/memory@"),
        _ => true,
    })
}

/// What may explain a new persistent region of type `ty`: a verified update
/// with no new code; a RAM change for reserved and MMIO regions only.
pub fn memory_region_added_explainers(ty: crate::snapshot::MemoryType) -> Explainers {
    use crate::snapshot::MemoryType;
    MEMORY_MAP_REGION_ADDED.explainers_where(|by| {
        by == Explainer::RamChange && (ty == MemoryType::RESERVED || ty == MemoryType::MMIO)
    })
}

/// The severity of an FFS file the known-good image does not hold.
pub fn firmware_file_added(executable: bool) -> Severity {
    if executable {
        FIRMWARE_FILE_ADDED.severity
    } else {
        Severity::Medium
    }
}

/// The severity of an FFS file whose bytes changed.
pub fn firmware_file_changed(executable: bool, same_body: bool) -> Severity {
    if executable && !same_body {
        FIRMWARE_FILE_CHANGED.severity
    } else {
        Severity::Medium
    }
}

/// The severity of a changed volume.
pub fn firmware_volume_changed(files_same: bool) -> Severity {
    if files_same {
        Severity::High
    } else {
        FIRMWARE_VOLUME_CHANGED.severity
    }
}

/// The severity of a PCR0 blob no reference holds: critical when a
/// reference says which volume it should have been.
pub fn firmware_blob_not_in_reference(volume_known: bool) -> Severity {
    if volume_known {
        FIRMWARE_BLOB_NOT_IN_REFERENCE.severity
    } else {
        Severity::High
    }
}

/// The severity of a stored file no reference holds.
pub fn firmware_stored_file_not_in_reference(executable: bool) -> Severity {
    if executable {
        FIRMWARE_STORED_FILE_NOT_IN_REFERENCE.severity
    } else {
        Severity::Medium
    }
}

/// The severity of a LOLDrivers match: by a hash of the file, the rule's;
/// by its file name only (the record carries no hash), medium.
pub fn known_vulnerable_driver(by_name_only: bool) -> Severity {
    if by_name_only {
        Severity::Medium
    } else {
        TIMELINE_DRIVER_KNOWN_VULNERABLE.severity
    }
}

/// The most a firmware update that is claimed and corroborated by the
/// measured identity, but verified by no reference, may lower a finding to.
pub const CORROBORATED_FLOOR: Severity = Severity::Medium;

/// The rule with this id.
pub fn by_id(id: &str) -> Option<&'static Rule> {
    ALL.iter().copied().find(|r| r.id == id)
}

#[cfg(test)]
mod tests {
    #[test]
    fn ids_are_unique_and_well_formed() {
        let mut ids: Vec<&str> = super::ALL.iter().map(|r| r.id).collect();
        let n = ids.len();
        ids.sort();
        ids.dedup();
        assert_eq!(ids.len(), n, "a rule id is defined twice");
        for id in ids {
            assert!(
                id.contains('.')
                    && id.bytes().all(|b| b.is_ascii_lowercase()
                        || b.is_ascii_digit()
                        || b == b'.'
                        || b == b'-'),
                "{id}"
            );
        }
    }
}
