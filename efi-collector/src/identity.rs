//! Firmware identity from the system table and the clock.

use alloc::format;
use alloc::string::ToString;
use alloc::vec::Vec;
use bootaudit_snapshot::{CollectError, Identity, Part};
use uefi::prelude::*;

/// Collects what the system table and GetTime say.
pub fn collect(errors: &mut Vec<CollectError>) -> Identity {
    let rev = system::uefi_revision();
    let mut id = Identity {
        firmware_vendor: system::firmware_vendor().to_string(),
        firmware_revision: system::firmware_revision(),
        uefi_revision: format!("{}.{}", rev.major(), rev.minor()),
        time: None,
        timezone_minutes: None,
        smbios: None,
        ..Identity::default()
    };
    match runtime::get_time() {
        Ok(t) => {
            id.time = Some(format!(
                "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}",
                t.year(),
                t.month(),
                t.day(),
                t.hour(),
                t.minute(),
                t.second()
            ));
            id.timezone_minutes = t.time_zone();
        }
        Err(e) => crate::failed(
            errors,
            Part::Identity,
            "GetTime".to_string(),
            Some(e.status()),
        ),
    }
    id
}
