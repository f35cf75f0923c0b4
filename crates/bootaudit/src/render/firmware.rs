//! Tables for `bootaudit firmware`: the volumes, then the files of each
//! (pad files left out, as they hold nothing), then the problems; and the
//! findings of `firmware diff`.

use super::escape::E;
use super::new_table;
use crate::firmware::diff::FirmwareDiff;
use crate::firmware::{Container, Inventory};
use std::fmt::Write;

/// Renders an inventory (`name` is the image file as the user gave it).
pub fn inventory(name: &str, inv: &Inventory) -> String {
    let mut out = String::new();
    let container = match &inv.container {
        Container::Raw => "volumes".to_string(),
        Container::FlashDescriptor { regions } => format!(
            "SPI flash image; regions {}",
            regions
                .iter()
                .map(|r| format!("{} {:#x}+{:#x}", r.name, r.base, r.size))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        Container::Capsule { guid, format, .. } => format!("{format} capsule {guid}"),
    };
    let _ = writeln!(
        out,
        "{name}: {} bytes, {container}; {} volumes, {} files; {} bytes decompressed\nSHA-256 {}",
        inv.size,
        inv.volumes.len(),
        inv.files.iter().filter(|f| f.file_type != 0xf0).count(),
        inv.decompressed,
        inv.sha256
    );
    let by_volume = inv.files_by_volume();
    for v in &inv.volumes {
        let at = match v.offset {
            Some(o) => format!("at {o:#x}"),
            None => "compressed".into(),
        };
        let _ = writeln!(
            out,
            "\nVolume {} ({}, {at}, {} bytes, {} free{}): {}\n  SHA-256 {}",
            E(inv.volume_label(v.index)),
            E(&v.format),
            v.size,
            v.free_space,
            if v.checksum_ok { "" } else { ", BAD CHECKSUM" },
            v.path,
            v.sha256
        );
        let files: Vec<_> = by_volume[v.index]
            .iter()
            .filter(|f| f.file_type != 0xf0)
            .collect();
        if files.is_empty() {
            continue;
        }
        // The full hashes and the dependency expressions are in the JSON.
        let mut t = new_table(&["File", "Type", "Name", "Size", "Body SHA-256"]);
        for f in files {
            t.add_row(vec![
                f.guid.to_string(),
                f.type_name.to_string(),
                f.ui_name.clone().unwrap_or_default(),
                f.size.to_string(),
                f.body
                    .as_ref()
                    .map(|b| format!("{} {}…", b.kind, b.sha256.get(..16).unwrap_or_default()))
                    .unwrap_or_default(),
            ]);
        }
        let _ = writeln!(out, "{t}");
    }
    if inv.problems.is_empty() {
        let _ = writeln!(out, "\nNo structural problems.");
    } else {
        let mut t = new_table(&["Where", "Offset", "Structure", "Problem"]);
        for p in &inv.problems {
            t.add_row(vec![
                p.location.clone(),
                format!(
                    "{:#x}{}",
                    p.offset,
                    if p.in_image { "" } else { " (decompressed)" }
                ),
                p.structure.clone(),
                p.message.clone(),
            ]);
        }
        let _ = writeln!(
            out,
            "\n{} structural problems:\n{t}",
            inv.problems.len() + inv.problems_dropped
        );
    }
    out
}

/// Renders a firmware diff.
pub fn diff(r: &FirmwareDiff) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "{} -> {}", E(&r.before), E(&r.after));
    if r.findings.is_empty() {
        let _ = writeln!(out, "No differences.");
        return out;
    }
    super::diff::findings(&mut out, &r.findings, &r.summary);
    out
}

/// Renders `bootaudit reference list`.
pub fn references(rows: &[crate::firmware::reference::Listed]) -> String {
    let mut t = new_table(&[
        "Vendor",
        "Version",
        "Image SHA-256",
        "Volumes",
        "Files",
        "File",
    ]);
    for r in rows {
        t.add_row(vec![
            r.vendor.clone(),
            r.version.clone(),
            r.image_sha256.clone(),
            r.volumes.to_string(),
            r.files.to_string(),
            r.file.clone(),
        ]);
    }
    format!("{t}\n")
}

/// Renders `bootaudit firmware check`: the blobs and their verdicts, then
/// the findings.
pub fn check(r: &crate::firmware::judge::FirmwareCheck) -> String {
    use crate::firmware::judge::BlobVerdict;
    let mut out = String::new();
    let j = &r.judgement;
    let _ = writeln!(
        out,
        "{}: judged by {}; {} firmware drivers found in it; the log {} the recorded PCRs",
        E(&r.snapshot),
        E(if j.judged_by.is_empty() {
            "no reference".to_string()
        } else {
            j.judged_by.join(", ")
        }),
        j.drivers_matched,
        if j.log_replays {
            "replays to"
        } else {
            "does NOT replay to"
        }
    );
    let mut t = new_table(&["Event", "Blob", "Digest", "Verdict"]);
    for b in &j.blobs {
        t.add_row(vec![
            b.event.to_string(),
            format!("{:#x}+{:#x}", b.base, b.length),
            b.digest.clone(),
            match &b.verdict {
                BlobVerdict::Matched { reference, volume } => {
                    format!("volume {volume} of {reference}")
                }
                BlobVerdict::BootDependent { reference, volume } => {
                    format!("boot-dependent volume {volume} of {reference}: not checkable")
                }
                BlobVerdict::Unknown { .. } => "in no reference".into(),
            },
        ]);
    }
    let _ = writeln!(out, "{t}");
    let _ = writeln!(
        out,
        "The firmware's inventory: {} stored files found in the references, {} bodies unhashed (unchecked){}",
        j.stored_files_matched,
        j.stored_bodies_unchecked,
        if j.unknown_volumes.is_empty() {
            String::new()
        } else {
            format!("; volumes no reference names: {}", j.unknown_volumes.join(", "))
        }
    );
    if let Some(fl) = &j.flash {
        let _ = writeln!(out, "The flash copy: {fl}");
    }
    if r.findings.is_empty() {
        let _ = writeln!(
            out,
            "Every blob, firmware driver and stored file compared is the vendor's."
        );
    } else {
        super::diff::findings(&mut out, &r.findings, &r.summary);
    }
    out
}
