//! A synthetic fleet made from real snapshots, for `tests/system/fleet.rs` and
//! `benches/fleet.rs`: N hosts in M groups, each group one of the shipped
//! real snapshots (plain OVMF, Secure Boot OVMF, a running Linux host's
//! `collect`, an older plain boot) under its own product name, and a few
//! hosts per kind carrying a real implant trace:
//!
//! - `Driver`: a firmware driver (FvFile) that another real OVMF build
//!   loads and this group's does not (the LoJax case);
//! - `Blob`: the first firmware blob measured with another SHA-256 digest,
//!   PCR0 replayed to match (a modified firmware volume, MoonBounce-like);
//! - `Wpbt`: the WPBT table the project's test implant really installed
//!   (fixtures/implant/implant.json);
//! - `Runtime`: that implant's real 260-page RuntimeServicesData region.
//!
//! Clean hosts vary the way identical siblings really do: their ids,
//! hostname, collection time, MapKeys, boot-services and conventional
//! memory split, Boot#### variables and ACPI table addresses. What they do
//! not vary is what a fleet compares; a host whose RAM differs would have
//! another PEI-volume digest on OVMF (it runs in place before being
//! measured), which real firmware does not do, so RAM is not varied.

#![allow(dead_code)]

use super::Rng;
use bootaudit::eventlog::{self, HashAlg};
use bootaudit::snapshot::{self, LoadedImage, MapLabel, MemoryDescriptor, Snapshot};
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// The implant kinds the generator plants.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Implant {
    Driver,
    Blob,
    Wpbt,
    Runtime,
}

pub const KINDS: [Implant; 4] = [
    Implant::Driver,
    Implant::Blob,
    Implant::Wpbt,
    Implant::Runtime,
];

/// What was generated.
pub struct Fleet {
    /// Host id → the implant it carries.
    pub implanted: BTreeMap<String, (Implant, String)>,
    /// Host ids of the clean hosts.
    pub clean: Vec<String>,
}

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).to_path_buf()
}

/// The real snapshots the groups are made of.
pub fn templates() -> Vec<Snapshot> {
    let read = |rel: &str| {
        bootaudit::baseline::load(&root().join(rel), None)
            .unwrap()
            .reference
    };
    let host = bootaudit::collect::collect(&bootaudit::collect::Options {
        root: root().join("fixtures/linux-host/root"),
        tpm_tcti: None,
        quote_nonce: None,
        esp: None,
        firmware: None,
    });
    vec![
        read("fixtures/implant/baseline.json"),
        read("fixtures/linux-host/collector.json"),
        host,
        read("fixtures/collector/snap-0000.json"),
    ]
}

/// The real implant snapshot whose traces are planted.
pub fn implant_snapshot() -> Snapshot {
    snapshot::read_file(&root().join("fixtures/implant/implant.json")).unwrap()
}

/// Host `i`'s id, shaped like a machine-id; it is also its SMBIOS serial
/// (the collector's snapshots have no machine-id, and QEMU's UUID is zero,
/// so `fleet` falls back to the serial).
pub fn host_id(i: usize) -> String {
    format!("f1ee7{i:027x}")
}

/// Makes host `i` of group `g` from its template: sibling variation, and
/// the implant if any. Returns the implant's key (what a finding names).
fn make(
    t: &Snapshot,
    g: usize,
    i: usize,
    implant: Option<Implant>,
    traces: &Traces,
    rng: &mut Rng,
) -> (Snapshot, String) {
    let mut s = t.clone();
    let id = host_id(i);
    let ident = s.identity.get_or_insert_with(Default::default);
    ident.hostname = Some(format!("{id}.fleet.example"));
    if ident.machine_id.is_some() {
        ident.machine_id = Some(id.clone());
    }
    ident.time = Some(format!("2026-11-25T{:02}:{:02}:00", i / 60 % 24, i % 60));
    if let Some(sm) = ident.smbios.as_mut() {
        sm.system_product = format!("{} (fleet model {g})", sm.system_product);
        sm.system_serial = id.clone();
    }
    for m in &mut s.memory_maps {
        m.map_key = m.map_key.wrapping_add(rng.next() % 64);
        // Boot-services memory and conventional memory trade pages.
        let shift = rng.next() % 512;
        let bs = m
            .descriptors
            .iter()
            .position(|d| d.ty.0 == 4 && d.pages > shift);
        let conv = m.descriptors.iter().position(|d| d.ty.0 == 7);
        if let (Some(b), Some(c)) = (bs, conv) {
            m.descriptors[b].pages -= shift;
            m.descriptors[c].pages += shift;
        }
    }
    if let Some(sb) = s.secure_boot.as_mut() {
        for v in sb
            .variables
            .iter_mut()
            .filter(|v| v.name.starts_with("Boot"))
        {
            v.sha256 = format!("{:064x}", rng.next() as u128 * 0x9e37_79b9 + i as u128);
        }
    }
    if let Some(a) = s.acpi.as_mut() {
        let slide = (rng.next() % 16) << 12;
        for t in &mut a.tables {
            t.address = t.address.wrapping_add(slide);
        }
    }
    let key = match implant {
        None => String::new(),
        Some(Implant::Driver) => {
            let have: Vec<&str> = s
                .loaded_images
                .iter()
                .flatten()
                .map(|i| i.device_path.as_str())
                .collect();
            let d = traces
                .drivers
                .iter()
                .find(|d| !have.contains(&d.device_path.as_str()))
                .expect("another OVMF build loads a driver this one does not")
                .clone();
            let key = d.device_path.clone();
            s.loaded_images.get_or_insert_with(Vec::new).push(d);
            key
        }
        Some(Implant::Blob) => rehash_first_blob(&mut s),
        Some(Implant::Wpbt) => {
            let w = traces.wpbt.clone();
            let key = format!("WPBT {}", w.oem_table_id);
            s.acpi.as_mut().expect("ACPI").tables.push(w);
            key
        }
        Some(Implant::Runtime) => {
            let d = traces.runtime;
            let key = format!("{} {} pages", d.ty.name(), d.pages);
            let m = s
                .memory_maps
                .iter_mut()
                .find(|m| matches!(m.label, MapLabel::Entry | MapLabel::EfiRuntimeMap))
                .expect("a memory map");
            m.descriptors.push(d);
            key
        }
    };
    (s, key)
}

/// Gives the first EV_EFI_PLATFORM_FIRMWARE_BLOB(2) another SHA-256 digest
/// and replays PCR0 so the snapshot stays self-consistent. Returns the
/// blob's `base+length`.
fn rehash_first_blob(s: &mut Snapshot) -> String {
    let t = s.tpm.as_mut().expect("TPM");
    let mut log = hex::decode(&t.event_log).unwrap();
    let parsed = eventlog::parse(&log).unwrap();
    let e = parsed
        .events
        .iter()
        .find(|e| e.pcr == 0 && e.type_name().starts_with("EV_EFI_PLATFORM_FIRMWARE_BLOB"))
        .expect("a measured firmware blob");
    use eventlog::decode::EventData;
    let key = match e.decode() {
        EventData::FirmwareBlob { base, length }
        | EventData::FirmwareBlob2 { base, length, .. } => {
            format!("{base:#x}+{length:#x}")
        }
        other => panic!("not a blob: {other:?}"),
    };
    let d = e.digest(HashAlg::Sha256).unwrap().to_vec();
    let at = e.offset + log[e.offset..].windows(32).position(|w| w == d).unwrap();
    log[at] ^= 0x5a;
    let parsed = eventlog::parse(&log).unwrap();
    let replay = eventlog::replay::replay(&parsed);
    for (alg, pcrs) in &replay.banks {
        if let (Some(v), Some(bank)) = (pcrs.get(&0), t.pcrs.get_mut(&alg.name())) {
            bank.insert(0, hex::encode(v));
        }
    }
    t.event_log = hex::encode(&log);
    key
}

/// The real traces planted.
pub struct Traces {
    drivers: Vec<LoadedImage>,
    wpbt: snapshot::AcpiTable,
    runtime: MemoryDescriptor,
}

pub fn traces(templates: &[Snapshot]) -> Traces {
    let imp = implant_snapshot();
    let wpbt = imp
        .acpi
        .as_ref()
        .unwrap()
        .tables
        .iter()
        .find(|t| t.signature == "WPBT")
        .expect("the implant's WPBT")
        .clone();
    let runtime = *imp.memory_maps[0]
        .descriptors
        .iter()
        .find(|d| d.ty.0 == 6 && d.pages == 260)
        .expect("the implant's 260-page RuntimeServicesData region");
    let mut drivers: Vec<LoadedImage> = templates
        .iter()
        .flat_map(|t| t.loaded_images.iter().flatten())
        .filter(|i| i.device_path.contains("FvFile("))
        .cloned()
        .collect();
    // Drivers only some builds load come first.
    let all = templates
        .iter()
        .filter(|t| t.loaded_images.is_some())
        .count();
    drivers.sort_by_key(|d| {
        templates
            .iter()
            .filter(|t| {
                t.loaded_images
                    .iter()
                    .flatten()
                    .any(|i| i.device_path == d.device_path)
            })
            .count()
            == all
    });
    Traces {
        drivers,
        wpbt,
        runtime,
    }
}

/// Writes `hosts` hosts in `groups` groups, `per_kind` implanted hosts of
/// each kind (in groups that can carry it), with `write` given each host's
/// group index, host id and snapshot JSON.
pub fn generate(
    hosts: usize,
    groups: usize,
    per_kind: usize,
    write: impl FnMut(usize, &str, &[u8]),
) -> Fleet {
    generate_as(hosts, groups, per_kind, true, write)
}

/// [`generate`], with each snapshot pretty-printed (as the collector and
/// `collect` write files) or compact (one JSON line).
pub fn generate_as(
    hosts: usize,
    groups: usize,
    per_kind: usize,
    pretty: bool,
    mut write: impl FnMut(usize, &str, &[u8]),
) -> Fleet {
    let templates = templates();
    let traces = traces(&templates);
    let mut rng = Rng(0x243f_6a88_85a3_08d3);
    let planned = planned(hosts, groups, per_kind, &templates);
    let mut fleet = Fleet {
        implanted: BTreeMap::new(),
        clean: Vec::new(),
    };
    let mut buf = Vec::with_capacity(256 << 10);
    for i in 0..hosts {
        let g = i % groups;
        let t = &templates[g % templates.len()];
        let implant = planned.get(&i).copied();
        let (s, key) = make(t, g, i, implant, &traces, &mut rng);
        buf.clear();
        if pretty {
            serde_json::to_writer_pretty(&mut buf, &s).unwrap();
        } else {
            serde_json::to_writer(&mut buf, &s).unwrap();
        }
        write(g, &host_id(i), &buf);
        match implant {
            Some(k) => {
                fleet.implanted.insert(host_id(i), (k, key));
            }
            None => fleet.clean.push(host_id(i)),
        }
    }
    fleet
}

/// Which hosts carry which implant: implanted hosts spread over the fleet,
/// no two of a kind in one group.
fn planned(
    hosts: usize,
    groups: usize,
    per_kind: usize,
    templates: &[Snapshot],
) -> BTreeMap<usize, Implant> {
    let mut planned: BTreeMap<usize, Implant> = BTreeMap::new();
    // Implanted hosts spread over the fleet, no two of a kind in one group
    // (two hosts with the same implant in a group of 25 are 8% of it: a
    // minority, not an outlier, at the default share).
    let per_group = hosts / groups;
    let slots = KINDS.len() * per_kind;
    let mut used = std::collections::BTreeSet::new();
    for n in 0..slots {
        let k = KINDS[n % KINDS.len()];
        let mut g = n % groups;
        // A driver implant needs a group whose snapshots list images.
        for _ in 0..groups {
            let t = &templates[g % templates.len()];
            if !used.contains(&(g, k)) && (k != Implant::Driver || t.loaded_images.is_some()) {
                break;
            }
            g = (g + 1) % groups;
        }
        assert!(
            used.insert((g, k)),
            "too few groups for {per_kind} implants of each kind"
        );
        let row = (n + 1) * per_group / (slots + 1);
        planned.insert(row * groups + g, k);
    }
    planned
}

/// The hosts [`generate`] would make implanted and clean, without making
/// them (the implant's key is left empty): for a fleet written earlier.
pub fn plan(hosts: usize, groups: usize, per_kind: usize) -> Fleet {
    let planned = planned(hosts, groups, per_kind, &templates());
    let mut fleet = Fleet {
        implanted: BTreeMap::new(),
        clean: Vec::new(),
    };
    for i in 0..hosts {
        match planned.get(&i) {
            Some(&k) => {
                fleet.implanted.insert(host_id(i), (k, String::new()));
            }
            None => fleet.clean.push(host_id(i)),
        }
    }
    fleet
}

/// Writes the fleet as a tree: `dir/group-G/host-NNNNN.json`.
pub fn write_tree(dir: &Path, hosts: usize, groups: usize, per_kind: usize) -> Fleet {
    generate(hosts, groups, per_kind, |g, id, bytes| {
        let d = dir.join(format!("group-{g}"));
        std::fs::create_dir_all(&d).unwrap();
        std::fs::write(d.join(format!("{id}.json")), bytes).unwrap();
    })
}

/// Writes the fleet as one JSON-lines file, a compact snapshot per line.
pub fn write_lines(path: &Path, hosts: usize, groups: usize, per_kind: usize) -> Fleet {
    use std::io::Write;
    let mut out = std::io::BufWriter::new(std::fs::File::create(path).unwrap());
    let f = generate_as(hosts, groups, per_kind, false, |_, _, bytes| {
        out.write_all(bytes).unwrap();
        out.write_all(b"\n").unwrap();
    });
    out.flush().unwrap();
    f
}

/// `fleet ARGS` with `stdin`, which must exit with one of `codes`: (the
/// JSON lines, for --format json or jsonl; stdout and stderr as text).
#[track_caller]
pub fn run(args: &[&str], stdin: Option<&[u8]>, codes: &[i32]) -> (Vec<Value>, String) {
    let mut c = Command::new(env!("CARGO_BIN_EXE_bootaudit"));
    c.arg("fleet").args(args);
    c.stdin(if stdin.is_some() {
        Stdio::piped()
    } else {
        Stdio::null()
    });
    c.stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut child = c.spawn().unwrap();
    if let Some(b) = stdin {
        use std::io::Write;
        let mut w = child.stdin.take().unwrap();
        w.write_all(b).unwrap();
    }
    let out = super::finished(format!("fleet {args:?}"), child.wait_with_output().unwrap())
        .exits_in(codes);
    let text = String::from_utf8(out.stdout).unwrap();
    let lines = if args.contains(&"json") || args.contains(&"jsonl") {
        text.lines()
            .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
            .collect()
    } else {
        Vec::new()
    };
    (lines, text + &out.stderr)
}

/// Host records by host id, and the summary record.
pub fn records(lines: Vec<Value>) -> (BTreeMap<String, Value>, Value) {
    let mut hosts = BTreeMap::new();
    let mut summary = Value::Null;
    for v in lines {
        match v["type"].as_str() {
            Some("host") => {
                let id = v["host"].as_str().unwrap().to_string();
                assert!(hosts.insert(id.clone(), v).is_none(), "{id} twice");
            }
            Some("summary") => summary = v,
            other => panic!("record type {other:?}"),
        }
    }
    (hosts, summary)
}

/// The finding a planted implant must give: rule, severity, and a piece
/// of the key it names.
pub fn expected(k: Implant) -> (&'static str, &'static str) {
    match k {
        Implant::Driver => ("loaded-images.firmware-driver.added", "critical"),
        Implant::Blob => ("tpm.pcr0.changed", "critical"),
        Implant::Wpbt => ("acpi.table.added", "critical"),
        Implant::Runtime => ("memory-map.region.added", "critical"),
    }
}
