//! Tables for `bootaudit show`.

use super::escape::E;
use super::new_table;
use crate::pcrs::Verdict;
use crate::show::ShowReport;
use std::fmt::Write;

/// Renders the summary as text tables.
pub fn table(r: &ShowReport) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{} ({}, from {})",
        E(&r.file),
        E(&r.format),
        E(&r.source)
    );
    if let Some(id) = &r.identity {
        let mut t = new_table(&["Identity", "Value"]);
        t.add_row(vec![
            "Firmware vendor".to_string(),
            id.firmware_vendor.clone(),
        ]);
        t.add_row(vec![
            "Firmware revision".to_string(),
            format!("0x{:08x}", id.firmware_revision),
        ]);
        t.add_row(vec!["UEFI revision".to_string(), id.uefi_revision.clone()]);
        t.add_row(vec![
            "Collected at (firmware clock)".to_string(),
            id.time.clone().unwrap_or_default(),
        ]);
        if let Some(sm) = &id.smbios {
            for (k, v) in [
                ("SMBIOS version", &sm.version),
                ("BIOS vendor", &sm.bios_vendor),
                ("BIOS version", &sm.bios_version),
                ("BIOS release date", &sm.bios_release_date),
                ("System manufacturer", &sm.system_manufacturer),
                ("System product", &sm.system_product),
                ("System serial", &sm.system_serial),
                ("System UUID", &sm.system_uuid),
                ("SMBIOS table SHA-256", &sm.sha256),
            ] {
                t.add_row(vec![k.to_string(), v.clone()]);
            }
        }
        let _ = writeln!(out, "{t}");
    }
    if let Some(m) = r.memory_maps.first() {
        let mut t = new_table(&["Memory type", "Regions", "Pages", "MiB"]);
        for ts in &m.by_type {
            t.add_row(vec![
                format!("{} ({})", ts.name, ts.ty),
                ts.regions.to_string(),
                ts.pages.to_string(),
                format!("{:.1}", ts.pages as f64 / 256.0),
            ]);
        }
        let keys: Vec<String> = r
            .memory_maps
            .iter()
            .map(|m| format!("{} {}", m.label, m.map_key))
            .collect();
        let _ = writeln!(
            out,
            "Memory map at {} ({} descriptors); MapKeys: {}\n{t}",
            E(&m.label),
            m.descriptors,
            E(keys.join(", "))
        );
    }
    if let Some(w) = &r.map_key_watch {
        let _ = writeln!(
            out,
            "Quiet window: {} polls over {} ms, MapKey moved {} times, {} descriptors added, {} removed",
            w.polls,
            w.window_us / 1000,
            w.key_changes,
            w.added.len(),
            w.removed.len()
        );
    }
    if let Some(e) = &r.previous_exit_boot_services {
        let _ = writeln!(
            out,
            "Previous boot's ExitBootServices lab run: {} attempts ({}), final MapKey {}, {} descriptors",
            e.attempts,
            e.statuses.join(", "),
            e.final_map_key,
            e.descriptors_total
        );
    }
    if let Some(cc) = &r.cc_event_log {
        let _ = writeln!(
            out,
            "CC event log: {}, log area at {:#x}, {} bytes, {} events",
            E(&cc.technology),
            cc.log_area_start_address,
            cc.log_bytes,
            cc.events
        );
        if let Some(e) = &cc.log_error {
            let _ = writeln!(out, "  CC event log unreadable: {}", E(e));
        }
        for (name, val) in &cc.registers {
            let _ = writeln!(out, "  {} replays to {}", E(name), E(val));
        }
        for m in &cc.digest_mismatches {
            let _ = writeln!(
                out,
                "  DIGEST MISMATCH event {} (offset {}, MR {}, {}) {}",
                m.event, m.offset, m.pcr, m.event_type, m.algorithm
            );
        }
    }
    if let Some(tpm) = &r.tpm {
        let _ = writeln!(
            out,
            "TPM: present {}, banks {}, {} log of {} bytes, {} events",
            tpm.present,
            tpm.active_banks.join(","),
            tpm.log_format,
            tpm.log_bytes,
            tpm.events
        );
        if let Some(e) = &tpm.log_error {
            let _ = writeln!(out, "  event log unreadable: {}", E(e));
        }
        let mut t = new_table(&["Bank", "PCR", "Value read from the TPM", "Log replay"]);
        for v in &tpm.verdicts {
            let verdict = match v.verdict {
                Verdict::Match => "match",
                Verdict::Mismatch => "MISMATCH",
                Verdict::Unavailable => "not read",
            };
            let val = v
                .actual
                .as_deref()
                .map(crate::hexser::encode)
                .unwrap_or_default();
            t.add_row(vec![
                v.bank.name(),
                v.pcr.to_string(),
                val,
                verdict.to_string(),
            ]);
        }
        let _ = writeln!(out, "{t}");
        for m in &tpm.digest_mismatches {
            let _ = writeln!(
                out,
                "  DIGEST MISMATCH event {} (offset {}, PCR {}, {}) {}: the data hashes to {}",
                m.event,
                m.offset,
                m.pcr,
                m.event_type,
                m.algorithm,
                crate::hexser::encode(&m.computed)
            );
        }
    }
    if let Some(a) = &r.acpi {
        let mut t = new_table(&[
            "Table",
            "Via",
            "Length",
            "OEM",
            "OEM table",
            "OEM rev",
            "Checksum",
            "SHA-256",
        ]);
        for x in &a.tables {
            let ck = match x.checksum_valid {
                Some(true) => "ok",
                Some(false) => "BAD",
                None => "-",
            };
            t.add_row(vec![
                x.signature.clone(),
                x.via.clone(),
                x.length.to_string(),
                x.oem_id.clone(),
                x.oem_table_id.clone(),
                format!("0x{:x}", x.oem_revision),
                ck.to_string(),
                crate::hexser::encode(
                    hex::decode(&x.sha256)
                        .unwrap_or_default()
                        .get(..8)
                        .unwrap_or(&[]),
                ),
            ]);
        }
        let _ = writeln!(
            out,
            "ACPI: RSDP rev {} at 0x{:x} ({}), checksum {}, {} tables\n{t}",
            a.rsdp.revision,
            a.rsdp.address,
            E(&a.rsdp.oem_id),
            if a.rsdp.checksum_valid && a.rsdp.extended_checksum_valid != Some(false) {
                "ok"
            } else {
                "BAD"
            },
            a.tables.len()
        );
    }
    if let Some(d) = &r.device_tree {
        let _ = writeln!(
            out,
            "Device Tree: {} nodes, {} bytes at 0x{:x}, SHA-256 {}{}",
            d.nodes.len(),
            d.size,
            d.address,
            E(&d.sha256),
            d.file
                .as_deref()
                .map(|f| format!(", in {}", E(f)))
                .unwrap_or_default()
        );
    }
    if let Some(sb) = &r.secure_boot {
        let v = |x: Option<u8>| x.map(|b| b.to_string()).unwrap_or_else(|| "-".into());
        let _ = writeln!(
            out,
            "Secure Boot: SecureBoot {}, SetupMode {}, AuditMode {}, DeployedMode {}; BootCurrent {}, BootOrder {}",
            v(sb.secure_boot),
            v(sb.setup_mode),
            v(sb.audit_mode),
            v(sb.deployed_mode),
            E(sb.boot_current.as_deref().unwrap_or("-")),
            E(sb.boot_order.join(","))
        );
        if !sb.variables.is_empty() {
            let mut t = new_table(&["Variable", "Attributes", "Size", "SHA-256"]);
            for x in &sb.variables {
                t.add_row(vec![
                    x.name.clone(),
                    format!("0x{:x}", x.attributes),
                    x.size.to_string(),
                    x.sha256.clone(),
                ]);
            }
            let _ = writeln!(out, "{t}");
        }
        let mut t = new_table(&["Entry", "Attr", "Description", "Device path"]);
        for e in &sb.boot_entries {
            t.add_row(vec![
                e.name.clone(),
                format!("0x{:x}", e.attributes),
                e.description.clone(),
                e.device_path.clone(),
            ]);
        }
        let _ = writeln!(out, "{t}");
    }
    if let Some(li) = &r.loaded_images {
        let _ = writeln!(
            out,
            "Loaded images: {} ({} from firmware volumes); others:",
            li.total, li.firmware_files
        );
        for o in &li.other {
            let _ = writeln!(out, "  {}", E(o));
        }
    }
    for (name, files, hashed) in r.firmware_volumes.iter().flatten() {
        let _ = writeln!(
            out,
            "Firmware volume {}: {files} files, {hashed} bodies hashed",
            E(name)
        );
    }
    if let Some(f) = &r.firmware_flash {
        let _ = writeln!(
            out,
            "Flash copy: {} bytes at {:#x}, SHA-256 {}{} ({})",
            f.size,
            f.base,
            f.sha256,
            f.file
                .as_ref()
                .map(|x| format!(", in {x}"))
                .unwrap_or_default(),
            f.how
        );
    }
    for e in &r.errors {
        let _ = writeln!(
            out,
            "not collected: [{}] {} {}",
            e.part,
            e.what,
            e.status.clone().unwrap_or_default()
        );
    }
    if !r.absent.is_empty() {
        let _ = writeln!(out, "Absent evidence: {}", r.absent.join(", "));
    }
    let _ = if !r.consistent {
        writeln!(
            out,
            "Result: the snapshot's event log does NOT check out against itself (see MISMATCH above)"
        )
    } else if r.checked.is_empty() {
        writeln!(
            out,
            "Result: nothing measured to check: the snapshot holds no TPM event log and no CC event log"
        )
    } else {
        writeln!(out, "Result: {}", r.checked.join("; and "))
    };
    out
}
