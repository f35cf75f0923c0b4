//! Memory maps. Boot-services, loader and conventional memory churn from
//! boot to boot and are compared as totals; runtime, reserved, ACPI and
//! MMIO regions are what survives into the OS (where an implant's runtime
//! code lives) and are compared region by region. The quiet-window MapKey
//! evidence is reported as it was recorded.

use super::Context;
use crate::findings::{Explainers, Finding, Severity};
use crate::snapshot::{MapLabel, MemoryDescriptor, MemoryMap, MemoryType, Snapshot};
use serde_json::json;
use std::collections::BTreeMap;

/// Types that persist past ExitBootServices (or describe hardware).
pub(crate) const PERSISTENT: &[MemoryType] = &[
    MemoryType::RESERVED,
    MemoryType::RUNTIME_SERVICES_CODE,
    MemoryType::RUNTIME_SERVICES_DATA,
    MemoryType::ACPI_RECLAIM,
    MemoryType::ACPI_NVS,
    MemoryType::MMIO,
    MemoryType::MMIO_PORT_SPACE,
    MemoryType::PERSISTENT,
];
/// Types that churn.
const CHURN: &[MemoryType] = &[
    MemoryType::LOADER_CODE,
    MemoryType::LOADER_DATA,
    MemoryType::BOOT_SERVICES_CODE,
    MemoryType::BOOT_SERVICES_DATA,
    MemoryType::CONVENTIONAL,
];

/// The map taken at the collector's entry (or the first one).
pub(super) fn entry(s: &Snapshot) -> Option<&MemoryMap> {
    s.memory_maps
        .iter()
        .find(|m| m.label == MapLabel::Entry)
        .or(s.memory_maps.first())
}

/// A region's span, `[start, end)`, in the current map.
fn span(d: &MemoryDescriptor) -> (u64, u64) {
    (
        d.physical_start,
        d.physical_start
            .saturating_add(d.pages.saturating_mul(4096)),
    )
}

/// A region's stable name: type and start.
fn region(d: &MemoryDescriptor) -> String {
    format!("{}@{:#x}", d.ty.name(), d.physical_start)
}

fn ev(d: &MemoryDescriptor) -> serde_json::Value {
    json!({"type": d.ty.name(), "start": format!("{:#x}", d.physical_start),
           "end": format!("{:#x}", d.physical_start.saturating_add(d.pages.saturating_mul(4096))),
           "pages": d.pages, "attributes": format!("{:#x}", d.attributes)})
}

/// The labels of maps that are compared with the same label on the other
/// side: the collector's map at entry, and a running host's copy of the
/// firmware map and its EFI runtime map. A collector's map and a host's are
/// different views (before the OS loader, and after the kernel reshaped
/// it) and are never compared region by region.
const COMPARED: &[MapLabel] = &[
    MapLabel::Entry,
    MapLabel::FirmwareMemmap,
    MapLabel::EfiRuntimeMap,
];

fn labelled<'a>(s: &'a Snapshot, label: &MapLabel) -> Option<&'a MemoryMap> {
    s.memory_maps.iter().find(|m| &m.label == label)
}

pub(super) fn diff(a: &Snapshot, b: &Snapshot, f: &mut Vec<Finding>, ctx: &mut Context) {
    let mut compared = false;
    for label in COMPARED {
        if let (Some(ma), Some(mb)) = (labelled(a, label), labelled(b, label)) {
            compare(ma, mb, *label != MapLabel::EfiRuntimeMap, f, ctx);
            compared = true;
        }
    }
    let unlabelled = |s: &Snapshot| s.memory_maps.iter().all(|m| !COMPARED.contains(&m.label));
    if !compared && unlabelled(a) && unlabelled(b) {
        // Maps of an unknown producer: the first of each, as they come.
        if let (Some(ma), Some(mb)) = (a.memory_maps.first(), b.memory_maps.first()) {
            compare(ma, mb, true, f, ctx);
            compared = true;
        }
    }
    if !compared && !a.memory_maps.is_empty() && !b.memory_maps.is_empty() {
        f.push(Finding::new(
            crate::rules::MEMORY_MAP_NOT_COMPARABLE,
            format!(
                "the memory maps were not compared: {} and {} record different views of memory",
                a.source.kind, b.source.kind
            ),
            json!({"before": a.memory_maps.iter().map(|m| &m.label).collect::<Vec<_>>(),
                   "after": b.memory_maps.iter().map(|m| &m.label).collect::<Vec<_>>()}),
        ));
    }
    map_key(b, f);
}

/// Region findings of one rule listed one by one; past this many, the rest
/// are counted in one last finding of that rule. No real map moves more
/// than a few dozen regions; a crafted one with a million would otherwise
/// cost a finding (and its evidence) each.
pub const MAX_REGION_FINDINGS: usize = 256;

/// Region findings, at most [`MAX_REGION_FINDINGS`] per rule.
struct Capped<'a> {
    f: &'a mut Vec<Finding>,
    /// Per rule: listed, and (omitted, worst severity, explainers).
    counts: BTreeMap<&'static str, (usize, usize, Severity, Explainers)>,
}

impl Capped<'_> {
    fn push(&mut self, x: Finding) {
        let c = self
            .counts
            .entry(x.rule)
            .or_insert((0, 0, x.severity, x.explainable_by));
        if c.0 < MAX_REGION_FINDINGS {
            c.0 += 1;
            self.f.push(x);
        } else {
            c.1 += 1;
            c.2 = c.2.max(x.severity);
        }
    }

    fn finish(self) {
        for (rule, (_, omitted, sev, ex)) in self.counts {
            if omitted > 0 {
                let Some(r) = crate::rules::by_id(rule) else {
                    continue;
                };
                self.f.push(
                    Finding::new(
                        r,
                        format!("and {omitted} more regions like the {MAX_REGION_FINDINGS} listed (not listed one by one)"),
                        json!({"omitted": omitted}),
                    )
                    .at(sev)
                    .about("more")
                    .explainable(ex),
                );
            }
        }
    }
}

/// One map against the same kind of map. `totals`: also compare the amount
/// of RAM and of churning memory (not for a runtime-only map).
fn compare(ma: &MemoryMap, mb: &MemoryMap, totals: bool, f: &mut Vec<Finding>, ctx: &mut Context) {
    // RAM: every page the map describes except MMIO, which a firmware
    // change moves between types but not in total.
    let ram = |m: &MemoryMap| -> u64 {
        m.descriptors
            .iter()
            .filter(|d| !d.ty.is_mmio())
            .map(|d| d.pages)
            .sum()
    };
    let usable = |m: &MemoryMap| -> u64 {
        m.descriptors
            .iter()
            .filter(|d| CHURN.contains(&d.ty))
            .map(|d| d.pages)
            .sum()
    };
    let (ra, rb) = (ram(ma), ram(mb));
    if totals && ra != rb {
        let why = format!("{} MiB -> {} MiB of RAM", ra / 256, rb / 256);
        ctx.ram_change = Some(why.clone());
        f.push(Finding::new(
            crate::rules::MEMORY_MAP_RAM_CHANGED,
            format!("the amount of memory changed: {why}"),
            json!({"before_pages": ra, "after_pages": rb}),
        ));
    }
    let (ta, tb) = (usable(ma), usable(mb));
    if totals && ta != tb {
        f.push(
            Finding::new(
                crate::rules::MEMORY_MAP_USABLE_CHANGED,
                format!(
                    "usable memory (boot services, loader, conventional) changed: {} MiB -> {} MiB",
                    ta / 256,
                    tb / 256
                ),
                json!({"before_pages": ta, "after_pages": tb}),
            )
            .explainable(crate::rules::MEMORY_MAP_USABLE_CHANGED.explainers()),
        );
    }
    let key = |d: &MemoryDescriptor| (d.ty, d.physical_start);
    let pa: BTreeMap<_, _> = ma
        .descriptors
        .iter()
        .filter(|d| PERSISTENT.contains(&d.ty))
        .map(|d| (key(d), d))
        .collect();
    let pb: BTreeMap<_, _> = mb
        .descriptors
        .iter()
        .filter(|d| PERSISTENT.contains(&d.ty))
        .map(|d| (key(d), d))
        .collect();
    let mut f = Capped {
        f,
        counts: BTreeMap::new(),
    };
    // Regions that kept their type and size but not their address: when
    // the amount of RAM changes, the firmware's top-of-memory allocations
    // all shift together. Paired here (in address order within each
    // (type, pages) class), they are "moved", not "added" and "removed".
    let mut gone: BTreeMap<(MemoryType, u64), std::collections::VecDeque<&MemoryDescriptor>> =
        BTreeMap::new();
    for (k, d) in &pa {
        if !pb.contains_key(k) {
            gone.entry((d.ty, d.pages)).or_default().push_back(d);
        }
    }
    let mut moved_from: BTreeMap<(MemoryType, u64), &MemoryDescriptor> = BTreeMap::new();
    for (k, d) in &pb {
        if pa.contains_key(k) {
            continue;
        }
        // Oldest first, in O(1): a million regions of one class pair in
        // linear time, not quadratic.
        if let Some(o) = gone.get_mut(&(d.ty, d.pages)).and_then(|v| v.pop_front()) {
            moved_from.insert(*k, o);
        }
    }
    for (k, d) in &pb {
        if let Some(o) = moved_from.get(k) {
            f.push(
                Finding::new(
                    crate::rules::MEMORY_MAP_REGION_MOVED,
                    format!(
                        "{} region of {} pages moved from {:#x} to {:#x}",
                        d.ty.name(),
                        d.pages,
                        o.physical_start,
                        d.physical_start
                    ),
                    json!({"before": ev(o), "after": ev(d)}),
                )
                .about(region(d))
                .explainable(crate::rules::MEMORY_MAP_REGION_MOVED.explainers()),
            );
            ctx.changed_regions.push(span(d));
            continue;
        }
        match pa.get(k) {
            None => {
                ctx.changed_regions.push(span(d));
                f.push(
                    Finding::new(
                        crate::rules::MEMORY_MAP_REGION_ADDED,
                        format!(
                        "new {} region at {:#x} ({} pages): runtime memory survives into the OS",
                        d.ty.name(),
                        d.physical_start,
                        d.pages
                    ),
                        json!({"after": ev(d)}),
                    )
                    .at(crate::rules::memory_region_added(d.ty))
                    .about(region(d))
                    .explainable(crate::rules::memory_region_added_explainers(d.ty)),
                )
            }
            Some(o) if d.pages > o.pages => {
                ctx.changed_regions.push(span(d));
                f.push(
                    Finding::new(
                        crate::rules::MEMORY_MAP_REGION_GREW,
                        format!(
                            "{} region at {:#x} grew from {} to {} pages",
                            d.ty.name(),
                            d.physical_start,
                            o.pages,
                            d.pages
                        ),
                        json!({"before": ev(o), "after": ev(d)}),
                    )
                    .about(region(d))
                    .explainable(crate::rules::MEMORY_MAP_REGION_GREW.explainers()),
                )
            }
            Some(_) => {}
        }
    }
    let moved: std::collections::BTreeSet<_> = moved_from.values().map(|d| key(d)).collect();
    for (k, d) in &pa {
        if !pb.contains_key(k) && !moved.contains(k) {
            f.push(
                Finding::new(
                    crate::rules::MEMORY_MAP_REGION_REMOVED,
                    format!(
                        "{} region at {:#x} ({} pages) is gone",
                        d.ty.name(),
                        d.physical_start,
                        d.pages
                    ),
                    json!({"before": ev(d)}),
                )
                .about(region(d))
                .explainable(crate::rules::MEMORY_MAP_REGION_REMOVED.explainers()),
            );
        }
    }
    f.finish();
}

/// The quiet-window MapKey evidence, as the collector recorded it.
fn map_key(b: &Snapshot, f: &mut Vec<Finding>) {
    if let Some(w) = &b.map_key_watch {
        if w.key_changes > 0 || !w.added.is_empty() || !w.removed.is_empty() {
            f.push(Finding::new(
 crate::rules::MEMORY_MAP_MAPKEY_MOVED,
format!(
                    "the MapKey moved {} times in the quiet window ({} polls over {} ms) while the collector allocated nothing: somebody else allocates during boot",
                    w.key_changes,
                    w.polls,
                    w.window_us / 1000
                ),
                json!({"key_changes": w.key_changes, "added": w.added.iter().map(ev).collect::<Vec<_>>(),
                       "removed": w.removed.iter().map(ev).collect::<Vec<_>>()}),
            ));
        }
    }
}
