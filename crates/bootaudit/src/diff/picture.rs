//! The memory-map picture of a diff: each snapshot's entry map as a column
//! of regions in address order, each region's share of the column its share
//! of the pages the map describes, coloured by kind, and the regions the
//! findings name (added, grown, moved, removed) marked. Computed here so
//! that the HTML renderer only draws.

use super::memmap::entry;
use crate::findings::Finding;
use crate::snapshot::{MemoryType, Snapshot};
use std::collections::BTreeSet;

/// The smallest share a region is drawn with, so that a one-page runtime
/// region stays visible beside a gigabyte of conventional memory. The
/// legend says regions are drawn at least this tall.
pub const MIN_SHARE: f64 = 0.006;

/// Most segments drawn per map; runs of the same type are merged first, and
/// a map with more segments than this (a hostile one) is cut, with the cut
/// counted in [`MapPicture::left_out`].
const MAX_SEGMENTS: usize = 400;

/// One side's map.
#[derive(Clone, Debug, PartialEq)]
pub struct MapPicture {
    /// "baseline" or "current".
    pub label: &'static str,
    /// Pages the map describes (all types).
    pub total_pages: u64,
    /// Regions in address order.
    pub segments: Vec<Segment>,
    /// Segments not drawn (over [`MAX_SEGMENTS`]).
    pub left_out: usize,
}

/// One drawn region (adjacent descriptors of one type merged).
#[derive(Clone, Debug, PartialEq)]
pub struct Segment {
    /// The EFI memory type's name.
    pub ty: &'static str,
    /// Its kind, for colour: runtime, acpi, reserved, mmio, usable, other.
    pub kind: &'static str,
    /// First physical address.
    pub start: u64,
    /// Pages (4 KiB).
    pub pages: u64,
    /// Share of the column, 0..=1 (at least [`MIN_SHARE`] before the
    /// shares are normalised to sum to 1).
    pub share: f64,
    /// Named by a memory-map finding (added, grown, moved or removed).
    pub changed: bool,
}

/// The name of a merged run of churning types.
const USABLE: &str = "boot services / loader / conventional";

fn kind(ty: MemoryType) -> &'static str {
    use MemoryType as M;
    match ty {
        M::RUNTIME_SERVICES_CODE | M::RUNTIME_SERVICES_DATA => "runtime",
        M::ACPI_RECLAIM | M::ACPI_NVS => "acpi",
        M::RESERVED | M::UNUSABLE | M::PAL_CODE | M::PERSISTENT => "reserved",
        M::MMIO | M::MMIO_PORT_SPACE => "mmio",
        M::LOADER_CODE
        | M::LOADER_DATA
        | M::BOOT_SERVICES_CODE
        | M::BOOT_SERVICES_DATA
        | M::CONVENTIONAL => "usable",
        _ => "other",
    }
}

/// Start addresses the memory-map findings name on one side (`before` or
/// `after` in their evidence).
fn changed_starts(findings: &[Finding], side: &str) -> BTreeSet<u64> {
    findings
        .iter()
        .filter(|f| f.rule.starts_with("memory-map.region."))
        .filter_map(|f| f.evidence.get(side)?.get("start")?.as_str())
        .filter_map(|s| u64::from_str_radix(s.trim_start_matches("0x"), 16).ok())
        .collect()
}

fn picture(label: &'static str, s: &Snapshot, changed: &BTreeSet<u64>) -> Option<MapPicture> {
    let m = entry(s)?;
    let mut d: Vec<_> = m.descriptors.iter().collect();
    d.sort_by_key(|x| x.physical_start);
    let mut segs: Vec<Segment> = Vec::new();
    for x in d {
        let end_of_last = segs
            .last()
            .map(|l| l.start.saturating_add(l.pages.saturating_mul(4096)));
        let mark = changed.contains(&x.physical_start);
        match segs.last_mut() {
            // Merge contiguous runs of one type, and of the churning types
            // among themselves (they are compared as totals, not one by
            // one), but never across a marked region.
            Some(l)
                if (l.ty == x.ty.name() || (l.kind == "usable" && kind(x.ty) == "usable"))
                    && !l.changed
                    && !mark
                    && end_of_last == Some(x.physical_start) =>
            {
                if l.ty != x.ty.name() {
                    l.ty = USABLE;
                }
                l.pages = l.pages.saturating_add(x.pages)
            }
            _ => segs.push(Segment {
                ty: x.ty.name(),
                kind: kind(x.ty),
                start: x.physical_start,
                pages: x.pages,
                share: 0.0,
                changed: mark,
            }),
        }
    }
    let left_out = segs.len().saturating_sub(MAX_SEGMENTS);
    segs.truncate(MAX_SEGMENTS);
    let total: u64 = segs.iter().map(|x| x.pages).fold(0, u64::saturating_add);
    for x in &mut segs {
        x.share = (x.pages as f64 / total.max(1) as f64).max(MIN_SHARE);
    }
    let sum: f64 = segs.iter().map(|x| x.share).sum();
    for x in &mut segs {
        x.share /= sum.max(f64::MIN_POSITIVE);
    }
    Some(MapPicture {
        label,
        total_pages: total,
        segments: segs,
        left_out,
    })
}

/// Both sides' pictures, when both snapshots have a memory map.
pub fn pictures(a: &Snapshot, b: &Snapshot, findings: &[Finding]) -> Option<[MapPicture; 2]> {
    Some([
        picture("baseline", a, &changed_starts(findings, "before"))?,
        picture("current", b, &changed_starts(findings, "after"))?,
    ])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::snapshot::{MemoryDescriptor, MemoryMap};

    fn snap(d: &[(u32, u64, u64)]) -> Snapshot {
        Snapshot {
            memory_maps: vec![MemoryMap {
                label: "entry".into(),
                descriptors: d
                    .iter()
                    .map(|&(ty, start, pages)| MemoryDescriptor {
                        ty: MemoryType(ty),
                        physical_start: start,
                        virtual_start: 0,
                        pages,
                        attributes: 0,
                    })
                    .collect(),
                ..Default::default()
            }],
            ..Default::default()
        }
    }

    #[test]
    fn merges_runs_keeps_small_regions_visible_and_marks_changes() {
        let a = snap(&[
            (7, 0x2000, 1),
            (4, 0, 2),
            (6, 0x3000, 1),
            (7, 0x4000, 10_000),
        ]);
        let mut b = a.clone();
        b.memory_maps[0].descriptors[2].pages = 2;
        let f = super::super::diff("a", &a, "b", &b).findings;
        let [pa, pb] = pictures(&a, &b, &f).unwrap();
        // Boot-services data and conventional below 0x3000: one segment.
        assert_eq!(pa.segments.len(), 3);
        assert_eq!(pa.segments[0].pages, 3);
        assert_eq!(pa.segments[0].ty, USABLE);
        assert!((pa.segments.iter().map(|s| s.share).sum::<f64>() - 1.0).abs() < 1e-9);
        // One runtime page out of 10,004 is drawn at the minimum share.
        assert!(pa.segments[1].share > 0.005, "{:?}", pa.segments[1]);
        assert!(pb.segments[1].changed && pb.segments[1].kind == "runtime");
        assert!(!pb.segments[0].changed && !pb.segments[2].changed);
        // A map without descriptors still gives a picture, without NaN.
        let e = snap(&[]);
        let [pe, _] = pictures(&e, &e, &[]).unwrap();
        assert!(pe.segments.is_empty());
    }
}
