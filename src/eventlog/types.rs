//! Event types of the TCG PC Client Platform Firmware Profile (PFP 1.06,
//! §10.4.1) and their names.

/// Named event types. Values not listed here are still carried as numbers.
#[allow(missing_docs)]
pub mod ev {
    pub const PREBOOT_CERT: u32 = 0x0;
    pub const POST_CODE: u32 = 0x1;
    pub const UNUSED: u32 = 0x2;
    pub const NO_ACTION: u32 = 0x3;
    pub const SEPARATOR: u32 = 0x4;
    pub const ACTION: u32 = 0x5;
    pub const EVENT_TAG: u32 = 0x6;
    pub const S_CRTM_CONTENTS: u32 = 0x7;
    pub const S_CRTM_VERSION: u32 = 0x8;
    pub const CPU_MICROCODE: u32 = 0x9;
    pub const PLATFORM_CONFIG_FLAGS: u32 = 0xa;
    pub const TABLE_OF_DEVICES: u32 = 0xb;
    pub const COMPACT_HASH: u32 = 0xc;
    pub const IPL: u32 = 0xd;
    pub const IPL_PARTITION_DATA: u32 = 0xe;
    pub const NONHOST_CODE: u32 = 0xf;
    pub const NONHOST_CONFIG: u32 = 0x10;
    pub const NONHOST_INFO: u32 = 0x11;
    pub const OMIT_BOOT_DEVICE_EVENTS: u32 = 0x12;
    pub const POST_CODE2: u32 = 0x13;
    pub const EFI_VARIABLE_DRIVER_CONFIG: u32 = 0x8000_0001;
    pub const EFI_VARIABLE_BOOT: u32 = 0x8000_0002;
    pub const EFI_BOOT_SERVICES_APPLICATION: u32 = 0x8000_0003;
    pub const EFI_BOOT_SERVICES_DRIVER: u32 = 0x8000_0004;
    pub const EFI_RUNTIME_SERVICES_DRIVER: u32 = 0x8000_0005;
    pub const EFI_GPT_EVENT: u32 = 0x8000_0006;
    pub const EFI_ACTION: u32 = 0x8000_0007;
    pub const EFI_PLATFORM_FIRMWARE_BLOB: u32 = 0x8000_0008;
    pub const EFI_HANDOFF_TABLES: u32 = 0x8000_0009;
    pub const EFI_PLATFORM_FIRMWARE_BLOB2: u32 = 0x8000_000a;
    pub const EFI_HANDOFF_TABLES2: u32 = 0x8000_000b;
    pub const EFI_VARIABLE_BOOT2: u32 = 0x8000_000c;
    pub const EFI_GPT_EVENT2: u32 = 0x8000_000d;
    pub const EFI_HCRTM_EVENT: u32 = 0x8000_0010;
    pub const EFI_VARIABLE_AUTHORITY: u32 = 0x8000_00e0;
    pub const EFI_SPDM_FIRMWARE_BLOB: u32 = 0x8000_00e1;
    pub const EFI_SPDM_FIRMWARE_CONFIG: u32 = 0x8000_00e2;
    pub const EFI_SPDM_DEVICE_POLICY: u32 = 0x8000_00e3;
    pub const EFI_SPDM_DEVICE_AUTHORITY: u32 = 0x8000_00e4;
}

/// The spec's name for an event type ("EV_SEPARATOR"), or its number in hex.
pub fn event_type_name(t: u32) -> String {
    known_event_type_name(t).map_or_else(|| format!("0x{t:08X}"), str::to_string)
}

/// The spec's name for an event type, when it has one.
pub fn known_event_type_name(t: u32) -> Option<&'static str> {
    use ev::*;
    let s = match t {
        PREBOOT_CERT => "EV_PREBOOT_CERT",
        POST_CODE => "EV_POST_CODE",
        UNUSED => "EV_UNUSED",
        NO_ACTION => "EV_NO_ACTION",
        SEPARATOR => "EV_SEPARATOR",
        ACTION => "EV_ACTION",
        EVENT_TAG => "EV_EVENT_TAG",
        S_CRTM_CONTENTS => "EV_S_CRTM_CONTENTS",
        S_CRTM_VERSION => "EV_S_CRTM_VERSION",
        CPU_MICROCODE => "EV_CPU_MICROCODE",
        PLATFORM_CONFIG_FLAGS => "EV_PLATFORM_CONFIG_FLAGS",
        TABLE_OF_DEVICES => "EV_TABLE_OF_DEVICES",
        COMPACT_HASH => "EV_COMPACT_HASH",
        IPL => "EV_IPL",
        IPL_PARTITION_DATA => "EV_IPL_PARTITION_DATA",
        NONHOST_CODE => "EV_NONHOST_CODE",
        NONHOST_CONFIG => "EV_NONHOST_CONFIG",
        NONHOST_INFO => "EV_NONHOST_INFO",
        OMIT_BOOT_DEVICE_EVENTS => "EV_OMIT_BOOT_DEVICE_EVENTS",
        POST_CODE2 => "EV_POST_CODE2",
        EFI_VARIABLE_DRIVER_CONFIG => "EV_EFI_VARIABLE_DRIVER_CONFIG",
        EFI_VARIABLE_BOOT => "EV_EFI_VARIABLE_BOOT",
        EFI_BOOT_SERVICES_APPLICATION => "EV_EFI_BOOT_SERVICES_APPLICATION",
        EFI_BOOT_SERVICES_DRIVER => "EV_EFI_BOOT_SERVICES_DRIVER",
        EFI_RUNTIME_SERVICES_DRIVER => "EV_EFI_RUNTIME_SERVICES_DRIVER",
        EFI_GPT_EVENT => "EV_EFI_GPT_EVENT",
        EFI_ACTION => "EV_EFI_ACTION",
        EFI_PLATFORM_FIRMWARE_BLOB => "EV_EFI_PLATFORM_FIRMWARE_BLOB",
        EFI_HANDOFF_TABLES => "EV_EFI_HANDOFF_TABLES",
        EFI_PLATFORM_FIRMWARE_BLOB2 => "EV_EFI_PLATFORM_FIRMWARE_BLOB2",
        EFI_HANDOFF_TABLES2 => "EV_EFI_HANDOFF_TABLES2",
        EFI_VARIABLE_BOOT2 => "EV_EFI_VARIABLE_BOOT2",
        EFI_GPT_EVENT2 => "EV_EFI_GPT_EVENT2",
        EFI_HCRTM_EVENT => "EV_EFI_HCRTM_EVENT",
        EFI_VARIABLE_AUTHORITY => "EV_EFI_VARIABLE_AUTHORITY",
        EFI_SPDM_FIRMWARE_BLOB => "EV_EFI_SPDM_FIRMWARE_BLOB",
        EFI_SPDM_FIRMWARE_CONFIG => "EV_EFI_SPDM_FIRMWARE_CONFIG",
        EFI_SPDM_DEVICE_POLICY => "EV_EFI_SPDM_DEVICE_POLICY",
        EFI_SPDM_DEVICE_AUTHORITY => "EV_EFI_SPDM_DEVICE_AUTHORITY",
        _ => return None,
    };
    Some(s)
}
