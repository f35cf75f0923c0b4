//! Identity: a changed firmware identity (version, revision, release date)
//! is reported, and what it may explain is graded by
//! [`super::firmware_update`] from measurements, never from the strings
//! themselves; a different platform is a finding of its own.

use crate::findings::Finding;
use crate::snapshot::Snapshot;
use serde_json::json;

pub(super) fn diff(a: &Snapshot, b: &Snapshot, f: &mut Vec<Finding>) {
    let (Some(ia), Some(ib)) = (&a.identity, &b.identity) else {
        return;
    };
    // The TPM's endorsement key, compared when both record one.
    if let (Some(x), Some(y)) = (&ia.endorsement_key, &ib.endorsement_key) {
        if x.public_sha256 != y.public_sha256 {
            f.push(Finding::new(
                crate::rules::IDENTITY_ENDORSEMENT_KEY_CHANGED,
                format!(
                    "the TPM's endorsement key changed: SHA-256 {} -> {}",
                    x.public_sha256, y.public_sha256
                ),
                json!({"before": x, "after": y}),
            ));
        }
    }
    // SMBIOS facts are compared only when both snapshots have them (an older
    // collector, or a platform without SMBIOS, is not a platform change).
    let both = ia.smbios.is_some() && ib.smbios.is_some();
    let empty = crate::snapshot::Smbios::default();
    let (sa, sb) = if both {
        (
            ia.smbios.as_ref().unwrap_or(&empty),
            ib.smbios.as_ref().unwrap_or(&empty),
        )
    } else {
        (&empty, &empty)
    };
    // The UEFI system table's vendor and revision are known only to the
    // collector; a running host's snapshot leaves them empty.
    let uefi = !ia.firmware_vendor.is_empty() && !ib.firmware_vendor.is_empty();
    let (ia_vendor, ib_vendor, ia_rev, ib_rev) = if uefi {
        (
            ia.firmware_vendor.as_str(),
            ib.firmware_vendor.as_str(),
            ia.firmware_revision,
            ib.firmware_revision,
        )
    } else {
        ("", "", 0, 0)
    };
    let fw_a = (
        ia_vendor,
        ia_rev,
        sa.bios_version.as_str(),
        sa.bios_release_date.as_str(),
    );
    let fw_b = (
        ib_vendor,
        ib_rev,
        sb.bios_version.as_str(),
        sb.bios_release_date.as_str(),
    );
    if fw_a != fw_b {
        let why = format!(
            "{} {:#x} \"{}\" {} -> {} {:#x} \"{}\" {}",
            fw_a.0, fw_a.1, fw_a.2, fw_a.3, fw_b.0, fw_b.1, fw_b.2, fw_b.3
        );
        f.push(Finding::new(
 crate::rules::IDENTITY_FIRMWARE_CHANGED,
format!("firmware identity changed: {why}"),
            json!({"before": {"vendor": fw_a.0, "revision": fw_a.1, "bios_version": fw_a.2, "bios_release_date": fw_a.3},
                   "after": {"vendor": fw_b.0, "revision": fw_b.1, "bios_version": fw_b.2, "bios_release_date": fw_b.3}}),
        ));
    }
    let plat = |s: &crate::snapshot::Smbios| {
        (
            s.system_manufacturer.clone(),
            s.system_product.clone(),
            s.system_serial.clone(),
            s.system_uuid.clone(),
        )
    };
    if plat(sa) != plat(sb) {
        f.push(Finding::new(
 crate::rules::IDENTITY_PLATFORM_CHANGED,
format!(
                "platform identity changed: {} {} serial {:?} -> {} {} serial {:?} (another machine, or edited SMBIOS)",
                sa.system_manufacturer, sa.system_product, sa.system_serial, sb.system_manufacturer, sb.system_product, sb.system_serial
            ),
            json!({"before": plat(sa), "after": plat(sb)}),
        ));
    }
}
