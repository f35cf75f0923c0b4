//! Identity on a running host: SMBIOS from /sys/firmware/dmi/tables (the
//! entry point and the structure table as the firmware published them,
//! parsed by the snapshot crate's SMBIOS reader the collector uses), else
//! the kernel's summary in /sys/class/dmi/id; and what names this host to a
//! fleet: kernel release, hostname, machine-id. The UEFI system table's
//! vendor and revision are not exposed by Linux and stay empty.

use super::{failed, read_or_record, read_text, under};
use crate::snapshot::{CollectError, Identity, Part, Smbios};
use bootaudit_snapshot::smbios;
use std::path::Path;

const MAX_TABLE: u64 = 1 << 20;

fn from_tables(root: &Path, errors: &mut Vec<CollectError>) -> Option<Smbios> {
    let dir = under(root, "/sys/firmware/dmi/tables");
    let ep = read_or_record(&dir.join("smbios_entry_point"), 64, Part::Smbios, errors)?;
    let ep = match smbios::entry_point(&ep) {
        Ok(ep) => ep,
        Err(e) => {
            failed(
                errors,
                Part::Smbios,
                format!("{}/smbios_entry_point: {e}", dir.display()),
                "malformed",
            );
            return None;
        }
    };
    let table = read_or_record(&dir.join("DMI"), MAX_TABLE, Part::Smbios, errors)?;
    let mut s = smbios::parse(&ep, &table);
    let used = (s.table_length as usize).min(table.len());
    s.sha256 = crate::hexser::sha256(&table[..used]);
    Some(s)
}

/// The kernel's DMI summary, when the raw tables are not readable.
fn from_dmi_id(root: &Path) -> Option<Smbios> {
    let dir = under(root, "/sys/class/dmi/id");
    if !dir.is_dir() {
        return None;
    }
    let f = |n: &str| read_text(&dir.join(n)).unwrap_or_default();
    Some(Smbios {
        version: "sysfs-dmi-id".into(),
        bios_vendor: f("bios_vendor"),
        bios_version: f("bios_version"),
        bios_release_date: f("bios_date"),
        system_manufacturer: f("sys_vendor"),
        system_product: f("product_name"),
        system_version: f("product_version"),
        system_serial: f("product_serial"),
        system_uuid: f("product_uuid").to_ascii_uppercase(),
        ..Smbios::default()
    })
}

pub(super) fn collect(root: &Path, errors: &mut Vec<CollectError>) -> Identity {
    let text = |p: &str| read_text(&under(root, p)).ok().filter(|s| !s.is_empty());
    let smbios = from_tables(root, errors).or_else(|| from_dmi_id(root));
    Identity {
        smbios,
        kernel_release: text("/proc/sys/kernel/osrelease"),
        hostname: text("/proc/sys/kernel/hostname"),
        machine_id: text("/etc/machine-id"),
        ..Identity::default()
    }
}
