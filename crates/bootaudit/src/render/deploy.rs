//! `collector install|uninstall|media` for a person.

use crate::deploy::{media::Media, Plan};
use serde::Serialize;

/// A plan, and what was done of it.
#[derive(Serialize)]
pub struct Report<'a> {
    /// The plan.
    #[serde(flatten)]
    pub plan: &'a Plan,
    /// Whether nothing was changed (`--dry-run`).
    pub dry_run: bool,
    /// The steps done.
    pub done: Option<&'a Vec<String>>,
}

/// The plan as lines.
pub fn table(r: &Report) -> String {
    let p = r.plan;
    let mut s = format!(
        "collector {}{} on the ESP at {}\n",
        p.command,
        if r.dry_run {
            " (dry run: nothing is changed)"
        } else {
            ""
        },
        p.esp.display()
    );
    let verb = if r.dry_run { "would" } else { "did" };
    if p.steps.is_empty() {
        s.push_str("  no change\n");
    }
    for (i, step) in p.steps.iter().enumerate() {
        s.push_str(&format!("  {}. {verb} {}\n", i + 1, step.line()));
    }
    for n in &p.notes {
        s.push_str(&format!("note: {n}\n"));
    }
    if !r.dry_run && !p.steps.is_empty() {
        s.push_str(&format!("undo: {}\n", p.undo));
    }
    s
}

/// What `collector media` wrote.
pub fn media(m: &Media) -> String {
    format!(
        "wrote {} ({} bytes): GPT disk {}, ESP partition {} at LBA {} ({} sectors)\n  {}: the collector, SHA-256 {}\n  \\bootaudit\\config: {}\nWrite it to a USB stick (dd if={} of=/dev/sdX bs=4M conv=fsync), boot the machine from it, then read the stick back with `bootaudit ingest /dev/sdX1 -o DIR` (or the image).\n",
        m.image,
        m.bytes,
        m.disk_guid,
        m.partition_guid,
        m.partition_lba.0,
        m.partition_lba.1,
        m.loader,
        m.collector_sha256,
        m.config,
        m.image
    )
}
