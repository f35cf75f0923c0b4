//! Wire values of the TCG specifications, defined once, here, where the
//! collector and every host module read them: the TPM 2.0 algorithm ids
//! (TPM 2.0 Part 2, TPM_ALG_ID; the TCG Algorithm Registry) and the event
//! types of the PC Client Platform Firmware Profile (PFP 1.06, §10.4.1).
//! Both are newtypes, as uefi-raw's are: a value the specification does not
//! name is still carried, as its number.

use serde::{Deserialize, Serialize};

/// A TPM_ALG_ID.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct AlgorithmId(pub u16);

impl AlgorithmId {
    /// TPM_ALG_RSA.
    pub const RSA: AlgorithmId = AlgorithmId(0x0001);
    /// TPM_ALG_SHA1.
    pub const SHA1: AlgorithmId = AlgorithmId(0x0004);
    /// TPM_ALG_SHA256.
    pub const SHA256: AlgorithmId = AlgorithmId(0x000b);
    /// TPM_ALG_SHA384.
    pub const SHA384: AlgorithmId = AlgorithmId(0x000c);
    /// TPM_ALG_SHA512.
    pub const SHA512: AlgorithmId = AlgorithmId(0x000d);
    /// TPM_ALG_NULL.
    pub const NULL: AlgorithmId = AlgorithmId(0x0010);
    /// TPM_ALG_SM3_256.
    pub const SM3_256: AlgorithmId = AlgorithmId(0x0012);
    /// TPM_ALG_RSASSA.
    pub const RSASSA: AlgorithmId = AlgorithmId(0x0014);
    /// TPM_ALG_ECDSA.
    pub const ECDSA: AlgorithmId = AlgorithmId(0x0018);
    /// TPM_ALG_ECC.
    pub const ECC: AlgorithmId = AlgorithmId(0x0023);

    /// The digest size of a hash algorithm bootaudit knows (SHA-1, SHA-256,
    /// SHA-384, SHA-512, SM3-256).
    pub const fn digest_size(self) -> Option<usize> {
        Some(match self {
            AlgorithmId::SHA1 => 20,
            AlgorithmId::SHA256 | AlgorithmId::SM3_256 => 32,
            AlgorithmId::SHA384 => 48,
            AlgorithmId::SHA512 => 64,
            _ => return None,
        })
    }

    /// The specification's name ("TPM_ALG_SHA256"), when it has one here.
    pub const fn name(self) -> Option<&'static str> {
        Some(match self {
            AlgorithmId::RSA => "TPM_ALG_RSA",
            AlgorithmId::SHA1 => "TPM_ALG_SHA1",
            AlgorithmId::SHA256 => "TPM_ALG_SHA256",
            AlgorithmId::SHA384 => "TPM_ALG_SHA384",
            AlgorithmId::SHA512 => "TPM_ALG_SHA512",
            AlgorithmId::NULL => "TPM_ALG_NULL",
            AlgorithmId::SM3_256 => "TPM_ALG_SM3_256",
            AlgorithmId::RSASSA => "TPM_ALG_RSASSA",
            AlgorithmId::ECDSA => "TPM_ALG_ECDSA",
            AlgorithmId::ECC => "TPM_ALG_ECC",
            _ => return None,
        })
    }
}

/// A TCG event type (TCG_EVENTTYPE).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct EventType(pub u32);

macro_rules! event_types {
    ($($(#[$doc:meta])* $name:ident = $value:expr, $spec:literal;)*) => {
        impl EventType {
            $($(#[$doc])* #[doc = concat!("`", $spec, "`.")]
            pub const $name: EventType = EventType($value);)*

            /// The specification's name ("EV_SEPARATOR"), when it has one.
            pub const fn name(self) -> Option<&'static str> {
                match self {
                    $(EventType::$name => Some($spec),)*
                    _ => None,
                }
            }
        }
    };
}

event_types! {
    PREBOOT_CERT = 0x0, "EV_PREBOOT_CERT";
    POST_CODE = 0x1, "EV_POST_CODE";
    UNUSED = 0x2, "EV_UNUSED";
    NO_ACTION = 0x3, "EV_NO_ACTION";
    SEPARATOR = 0x4, "EV_SEPARATOR";
    ACTION = 0x5, "EV_ACTION";
    EVENT_TAG = 0x6, "EV_EVENT_TAG";
    S_CRTM_CONTENTS = 0x7, "EV_S_CRTM_CONTENTS";
    S_CRTM_VERSION = 0x8, "EV_S_CRTM_VERSION";
    CPU_MICROCODE = 0x9, "EV_CPU_MICROCODE";
    PLATFORM_CONFIG_FLAGS = 0xa, "EV_PLATFORM_CONFIG_FLAGS";
    TABLE_OF_DEVICES = 0xb, "EV_TABLE_OF_DEVICES";
    COMPACT_HASH = 0xc, "EV_COMPACT_HASH";
    IPL = 0xd, "EV_IPL";
    IPL_PARTITION_DATA = 0xe, "EV_IPL_PARTITION_DATA";
    NONHOST_CODE = 0xf, "EV_NONHOST_CODE";
    NONHOST_CONFIG = 0x10, "EV_NONHOST_CONFIG";
    NONHOST_INFO = 0x11, "EV_NONHOST_INFO";
    OMIT_BOOT_DEVICE_EVENTS = 0x12, "EV_OMIT_BOOT_DEVICE_EVENTS";
    POST_CODE2 = 0x13, "EV_POST_CODE2";
    EFI_VARIABLE_DRIVER_CONFIG = 0x8000_0001, "EV_EFI_VARIABLE_DRIVER_CONFIG";
    EFI_VARIABLE_BOOT = 0x8000_0002, "EV_EFI_VARIABLE_BOOT";
    EFI_BOOT_SERVICES_APPLICATION = 0x8000_0003, "EV_EFI_BOOT_SERVICES_APPLICATION";
    EFI_BOOT_SERVICES_DRIVER = 0x8000_0004, "EV_EFI_BOOT_SERVICES_DRIVER";
    EFI_RUNTIME_SERVICES_DRIVER = 0x8000_0005, "EV_EFI_RUNTIME_SERVICES_DRIVER";
    EFI_GPT_EVENT = 0x8000_0006, "EV_EFI_GPT_EVENT";
    EFI_ACTION = 0x8000_0007, "EV_EFI_ACTION";
    EFI_PLATFORM_FIRMWARE_BLOB = 0x8000_0008, "EV_EFI_PLATFORM_FIRMWARE_BLOB";
    EFI_HANDOFF_TABLES = 0x8000_0009, "EV_EFI_HANDOFF_TABLES";
    EFI_PLATFORM_FIRMWARE_BLOB2 = 0x8000_000a, "EV_EFI_PLATFORM_FIRMWARE_BLOB2";
    EFI_HANDOFF_TABLES2 = 0x8000_000b, "EV_EFI_HANDOFF_TABLES2";
    EFI_VARIABLE_BOOT2 = 0x8000_000c, "EV_EFI_VARIABLE_BOOT2";
    EFI_GPT_EVENT2 = 0x8000_000d, "EV_EFI_GPT_EVENT2";
    EFI_HCRTM_EVENT = 0x8000_0010, "EV_EFI_HCRTM_EVENT";
    EFI_VARIABLE_AUTHORITY = 0x8000_00e0, "EV_EFI_VARIABLE_AUTHORITY";
    EFI_SPDM_FIRMWARE_BLOB = 0x8000_00e1, "EV_EFI_SPDM_FIRMWARE_BLOB";
    EFI_SPDM_FIRMWARE_CONFIG = 0x8000_00e2, "EV_EFI_SPDM_FIRMWARE_CONFIG";
    EFI_SPDM_DEVICE_POLICY = 0x8000_00e3, "EV_EFI_SPDM_DEVICE_POLICY";
    EFI_SPDM_DEVICE_AUTHORITY = 0x8000_00e4, "EV_EFI_SPDM_DEVICE_AUTHORITY";
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_the_specifications() {
        // TCG Algorithm Registry 1.32, table 3; PFP 1.06, table 9.
        assert_eq!(AlgorithmId::SHA256.0, 0x000B);
        assert_eq!(AlgorithmId::SM3_256.digest_size(), Some(32));
        assert_eq!(AlgorithmId(0x0099).digest_size(), None);
        assert_eq!(EventType::SEPARATOR.name(), Some("EV_SEPARATOR"));
        assert_eq!(
            EventType(0x8000_00e0).name(),
            Some("EV_EFI_VARIABLE_AUTHORITY")
        );
        assert_eq!(EventType(0x1234).name(), None);
    }
}
