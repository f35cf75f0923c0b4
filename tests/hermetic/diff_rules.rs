//! Diff rules that no QEMU scenario of this suite produces, checked on the
//! shipped collector snapshot with one field changed at a time: Secure Boot
//! turned off, dbx shrinking, PCR7 with and without a matching variable
//! change, a moving MapKey, a new or moved runtime region, a firmware blob
//! re-hashed in place, a changed boot entry.

use crate::common;

use bootaudit::diff::diff;
use bootaudit::snapshot::{self, MemoryDescriptor, Snapshot, Variable};

fn base() -> Snapshot {
    let p =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/collector/snap-0000.json");
    snapshot::read_file(&p).unwrap()
}

fn rules(a: &Snapshot, b: &Snapshot) -> Vec<(&'static str, String, bool)> {
    diff("a", a, "b", b)
        .findings
        .into_iter()
        .map(|f| (f.rule, f.severity.word().to_string(), f.explained))
        .collect()
}

fn var(name: &str, size: u64, sha: &str) -> Variable {
    // The vendor GUID the specification gives the key database.
    let vendor = if matches!(name, "db" | "dbx" | "dbt") {
        "D719B2CB-3D3A-4596-A3BC-DAD00E67656F"
    } else {
        "8BE4DF61-93CA-11D2-AA0D-00E098032B8C"
    };
    Variable {
        name: name.into(),
        vendor: vendor.into(),
        attributes: 0x27,
        size,
        sha256: sha.into(),
        signatures: None,
    }
}

#[test]
fn identical_snapshots_have_no_findings() {
    assert!(rules(&base(), &base()).is_empty());
}

#[test]
fn secure_boot_turned_off_and_dbx_shrinking_are_critical() {
    let mut a = base();
    let sa = a.secure_boot.as_mut().unwrap();
    sa.secure_boot = Some(1);
    sa.variables.push(var("dbx", 9000, "aa"));
    let mut b = a.clone();
    let sb = b.secure_boot.as_mut().unwrap();
    sb.secure_boot = Some(0);
    sb.variables = vec![var("dbx", 76, "bb")];
    let r = rules(&a, &b);
    assert!(
        r.contains(&("secure-boot.disabled", "critical".into(), false)),
        "{r:?}"
    );
    assert!(
        r.contains(&("secure-boot.dbx.shrank", "critical".into(), false)),
        "{r:?}"
    );
    // dbx growing (new revocations) is low.
    let r = rules(&b, &a);
    assert!(
        r.contains(&("secure-boot.variable.changed", "low".into(), false)),
        "{r:?}"
    );
}

/// `a` with its SHA-256 PCR7 set to the byte `byte` repeated.
fn with_pcr7(a: &Snapshot, byte: &str) -> Snapshot {
    let mut b = a.clone();
    b.tpm
        .as_mut()
        .unwrap()
        .pcrs
        .get_mut("sha256")
        .unwrap()
        .insert(7, byte.repeat(32));
    b
}

#[test]
fn a_decoy_variable_explains_no_pcr7_change() {
    let a = base();
    let mut b = with_pcr7(&a, "11");
    let mut decoy = var("db", 100, "cc");
    decoy.vendor = "0BADF00D-0000-4000-8000-000000000001".into();
    b.secure_boot.as_mut().unwrap().variables.push(decoy);
    let r = rules(&a, &b);
    assert!(
        r.contains(&("secure-boot.variable.decoy", "high".into(), false)),
        "{r:?}"
    );
    assert!(
        r.contains(&("tpm.pcr7.changed", "high".into(), false)),
        "{r:?}"
    );
}

#[test]
fn pcr7_is_explained_only_by_a_secure_boot_variable_change() {
    let a = base();
    let mut b = with_pcr7(&a, "11");
    let r = rules(&a, &b);
    assert!(
        r.contains(&("tpm.pcr7.changed", "high".into(), false)),
        "{r:?}"
    );
    b.secure_boot
        .as_mut()
        .unwrap()
        .variables
        .push(var("db", 100, "cc"));
    let r = rules(&a, &b);
    // A db that PCR7's log never measured explains nothing: the change is
    // only noted (a real boot's measured db does explain it, see
    // diff_scenarios' snakeoil boot).
    assert!(
        r.contains(&("tpm.pcr7.changed", "high".into(), false)),
        "{r:?}"
    );
    let f = bootaudit::diff::diff("a", &a, "b", &b).findings;
    let pcr7 = f.iter().find(|x| x.rule == "tpm.pcr7.changed").unwrap();
    assert!(
        pcr7.explanation
            .as_deref()
            .is_some_and(|w| w.contains("not what PCR7 measured: db differs")),
        "{:?}",
        pcr7.explanation
    );
    assert!(
        r.contains(&("secure-boot.variable.changed", "high".into(), false)),
        "{r:?}"
    );
    // The PCR no longer matches the log: the replay finding is critical.
    assert!(
        r.contains(&("tpm.log.replay-mismatch", "critical".into(), false)),
        "{r:?}"
    );
}

#[test]
fn a_new_runtime_region_and_a_moving_mapkey_are_flagged() {
    let a = base();
    let mut b = a.clone();
    let d = MemoryDescriptor {
        ty: bootaudit::snapshot::MemoryType(6),
        physical_start: 0x7e00_0000,
        virtual_start: 0,
        pages: 16,
        attributes: 0x8000_0000_0000_000f,
    };
    b.memory_maps[0].descriptors.push(d);
    let w = b.map_key_watch.as_mut().unwrap();
    w.key_changes = 3;
    w.added.push(d);
    let r = rules(&a, &b);
    assert!(
        r.contains(&("memory-map.region.added", "critical".into(), false)),
        "{r:?}"
    );
    assert!(
        r.contains(&("memory-map.mapkey.moved", "high".into(), false)),
        "{r:?}"
    );
}

#[test]
fn a_boot_entry_pointing_elsewhere_is_high() {
    let a = base();
    let mut b = a.clone();
    let e = &mut b.secure_boot.as_mut().unwrap().boot_entries[2];
    e.device_path =
        "PciRoot(0x0)/Pci(0x1F,0x2)/Sata(0x0,0xFFFF,0x0)/\\EFI\\evil\\loader.efi".into();
    e.sha256 = "dd".repeat(32);
    let r = rules(&a, &b);
    assert_eq!(r, [("boot-entries.changed", "high".into(), false)]);
}

#[test]
fn a_published_implant_guid_past_the_summary_width_of_a_logged_path_is_found() {
    // LoJax's SecDxe named only by the event log: a driver measured from
    // FvVol(GUID)/FvFile(GUID), 88 characters of text, longer than the
    // 72 a table summary keeps.
    let guid = |g: [u8; 16]| g.to_vec();
    let fv = guid([
        0xc9, 0xbd, 0xb8, 0x7c, 0xeb, 0xf8, 0x34, 0x4f, 0xaa, 0xea, 0x3e, 0xe4, 0xaf, 0x65, 0x16,
        0xa1,
    ]);
    let lojax = guid([
        0xb5, 0x94, 0x28, 0x68, 0x70, 0x6b, 0xba, 0x4e, 0x9e, 0x90, 0xa6, 0x07, 0xe5, 0x67, 0x62,
        0x97,
    ]);
    let mut dp = vec![4, 7, 20, 0];
    dp.extend(&fv);
    dp.extend([4, 6, 20, 0]);
    dp.extend(&lojax);
    dp.extend([0x7f, 0xff, 4, 0]);
    let mut ev = Vec::new();
    for v in [0x7e00_0000u64, 0x2000, 0, dp.len() as u64] {
        ev.extend(v.to_le_bytes());
    }
    ev.extend(&dp);
    let mut log = common::craft::agile_header();
    log.extend(common::craft::agile_event(2, 0x8000_0004, &ev));
    let a = base();
    let mut b = a.clone();
    b.loaded_images = None;
    b.tpm.as_mut().unwrap().event_log = hex::encode(&log);
    let r = diff("a", &a, "b", &b);
    let hits: Vec<_> = r
        .findings
        .iter()
        .filter(|f| f.rule == "indicator.match")
        .collect();
    assert_eq!(hits.len(), 1, "{:?}", r.findings);
    assert_eq!(hits[0].subject, "lojax.secdxe");
    let text = hits[0].evidence["found_in"][0]["text"].as_str().unwrap();
    assert!(text.len() > 72, "{text}");
    assert!(
        text.ends_with("FvFile(682894B5-6B70-4EBA-9E90-A607E5676297)")
            || text
                .to_ascii_uppercase()
                .ends_with("FVFILE(682894B5-6B70-4EBA-9E90-A607E5676297)"),
        "{text}"
    );
}

#[test]
fn a_published_implant_guid_is_critical_and_cites_its_source() {
    // LoJax's SecDxe, as ESET published it, loaded from a firmware volume.
    let a = base();
    let mut b = a.clone();
    let imgs = b.loaded_images.as_mut().unwrap();
    let mut lojax = imgs[1].clone();
    lojax.device_path =
        "Fv(7CB8BDC9-F8EB-4F34-AAEA-3EE4AF6516A1)/FvFile(682894b5-6b70-4eba-9e90-a607e5676297)"
            .into();
    imgs.push(lojax);
    let r = diff("a", &a, "b", &b);
    let hits: Vec<_> = r
        .findings
        .iter()
        .filter(|f| f.rule == "indicator.match")
        .collect();
    assert_eq!(hits.len(), 1, "{:?}", r.findings);
    assert_eq!(hits[0].severity.word(), "critical");
    assert!(!hits[0].explained);
    assert_eq!(hits[0].subject, "lojax.secdxe");
    assert!(hits[0].evidence["source"]
        .as_str()
        .unwrap()
        .contains("ESET"));
    // The same driver is also a new firmware driver.
    assert!(r
        .findings
        .iter()
        .any(|f| f.rule == "loaded-images.firmware-driver.added"));
    // A clean snapshot matches no indicator.
    assert!(diff("a", &a, "a", &a).findings.is_empty());
}

/// 1 GiB more conventional memory: a RAM change.
fn add_a_gib(s: &mut Snapshot) {
    s.memory_maps[0].descriptors.push(MemoryDescriptor {
        ty: bootaudit::snapshot::MemoryType(7),
        physical_start: 0x1_0000_0000,
        virtual_start: 0,
        pages: 0x40000,
        attributes: 0xf,
    });
}

#[test]
fn a_moved_runtime_region_is_explained_only_by_a_ram_change() {
    let a = base();
    let rt = a.memory_maps[0]
        .descriptors
        .iter()
        .position(|d| d.ty.0 == 6)
        .expect("the fixture has a RuntimeServicesData region");
    let mut b = a.clone();
    b.memory_maps[0].descriptors[rt].physical_start += 0x4000_0000;
    let r = rules(&a, &b);
    assert_eq!(r, [("memory-map.region.moved", "medium".into(), false)]);
    // The same move with 1 GiB more conventional memory: explained.
    let mut c = b.clone();
    add_a_gib(&mut c);
    let r = rules(&a, &c);
    assert!(
        r.contains(&("memory-map.region.moved", "low".into(), true)),
        "{r:?}"
    );
    assert!(
        r.iter().all(|x| x.2 || x.1 == "info"),
        "everything but the RAM change itself is explained: {r:?}"
    );
    // A region that moved and grew is no move: a new runtime region.
    let mut d = c.clone();
    d.memory_maps[0].descriptors[rt].pages += 1;
    let r = rules(&a, &d);
    assert!(
        r.contains(&("memory-map.region.added", "critical".into(), false)),
        "{r:?}"
    );
}

#[test]
fn a_rehashed_firmware_blob_is_explained_only_by_a_ram_change() {
    // The fixture's first FIRMWARE_BLOB gets another digest at the same
    // base and length, and PCR0 another value.
    let a = base();
    let t = a.tpm.as_ref().unwrap();
    let mut log = hex::decode(&t.event_log).unwrap();
    let parsed = bootaudit::eventlog::parse(&log).unwrap();
    let e = parsed
        .events
        .iter()
        .find(|e| e.type_name() == "EV_EFI_PLATFORM_FIRMWARE_BLOB")
        .expect("the fixture measures firmware blobs");
    let sha256 = e.digest(bootaudit::eventlog::HashAlg::Sha256).unwrap();
    let at = e.offset
        + log[e.offset..]
            .windows(32)
            .position(|w| w == sha256)
            .unwrap();
    log[at] ^= 1;
    let mut b = a.clone();
    let tb = b.tpm.as_mut().unwrap();
    tb.event_log = hex::encode(&log);
    tb.pcrs
        .get_mut("sha256")
        .unwrap()
        .insert(0, "22".repeat(32));
    let pcr0 = |r: &[(&str, String, bool)]| -> (String, bool) {
        let x = r.iter().find(|x| x.0 == "tpm.pcr0.changed").unwrap();
        (x.1.clone(), x.2)
    };
    let r = rules(&a, &b);
    assert_eq!(pcr0(&r), ("critical".into(), false), "{r:?}");
    // The alignment names it as one blob, changed in place.
    let f = diff("a", &a, "b", &b).findings;
    let ev = &f
        .iter()
        .find(|x| x.rule == "tpm.pcr0.changed")
        .unwrap()
        .evidence;
    let changed = ev["events_changed"].as_array().unwrap();
    assert_eq!(changed.len(), 1, "{ev}");
    assert_eq!(
        changed[0]["before"]["summary"],
        changed[0]["after"]["summary"]
    );
    assert_ne!(
        changed[0]["before"]["digest"],
        changed[0]["after"]["digest"]
    );
    assert!(ev["events_added"].as_array().unwrap().is_empty());
    let mut c = b.clone();
    add_a_gib(&mut c);
    assert_eq!(pcr0(&rules(&a, &c)), ("low".into(), true));
}

#[test]
fn the_shipped_implant_fixture_shows_every_implant_trace() {
    // fixtures/implant (`cargo xtask regen implant`): the README's
    // quick-start diff. The traces are the ones the test implant is built to
    // leave (see efi-collector/implant), as the real-boot scenario asserts
    // too. baseline.json was made by `bootaudit baseline create` over the
    // two plain boots shipped beside it (plain-a.json, plain-b.json), so it
    // is our own output used as the expected baseline: what it holds is
    // checked here against the snapshots it came from.
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/implant");
    let read = |name: &str| -> serde_json::Value {
        serde_json::from_slice(&std::fs::read(dir.join(name)).unwrap()).unwrap()
    };
    let b = read("baseline.json");
    // Its sources are the two shipped files, by name and by digest
    // (sha256sum, not ours).
    let sources = b["sources"].as_array().unwrap();
    assert_eq!(sources.len(), 2);
    for (src, name) in sources.iter().zip(["plain-a.json", "plain-b.json"]) {
        assert_eq!(src["file"], format!("fixtures/implant/{name}"));
        let o = std::process::Command::new("sha256sum")
            .arg(dir.join(name))
            .output()
            .unwrap();
        let sum = String::from_utf8(o.stdout).unwrap();
        assert_eq!(
            src["sha256"],
            sum.split_whitespace().next().unwrap(),
            "{name}"
        );
    }
    // The reference is the first boot as it was written, field for field.
    assert_eq!(b["reference"], read("plain-a.json"));
    // What two plain boots differ in, read from the snapshots themselves:
    // nothing that diff judges. Their PCRs, ACPI tables and loaded images
    // are equal; so the baseline must learn no variation.
    let (pa, pb) = (read("plain-a.json"), read("plain-b.json"));
    assert_eq!(pa["tpm"]["pcrs"], pb["tpm"]["pcrs"]);
    assert_eq!(pa["acpi"]["tables"], pb["acpi"]["tables"]);
    assert_eq!(pa["loaded_images"], pb["loaded_images"]);
    assert_ne!(pa, pb, "two real boots, not one file twice");
    assert_eq!(
        b["varies"],
        serde_json::json!([]),
        "two plain boots vary in nothing judged"
    );
    assert_eq!(b["accepted"], serde_json::json!([]));
    let tables = b["reference"]["acpi"]["tables"].as_array().unwrap();
    assert!(tables.iter().all(|t| t["signature"] != "WPBT"));
    assert!(tables.iter().any(|t| t["signature"] == "DSDT"));
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_bootaudit"))
        .args(["diff", "--format", "json"])
        .arg(dir.join("baseline.json"))
        .arg(dir.join("implant.json"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let got: std::collections::BTreeSet<(String, String)> = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["severity"] != "low" && f["severity"] != "info")
        .map(|f| {
            (
                f["rule"].as_str().unwrap().to_string(),
                f["severity"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let want: std::collections::BTreeSet<(String, String)> = [
        ("acpi.table.added", "critical"),
        ("memory-map.region.added", "critical"),
        ("acpi.table.changed", "high"),
        ("loaded-images.option-rom.added", "high"),
        ("memory-map.mapkey.moved", "high"),
        ("tpm.pcr2.changed", "high"),
    ]
    .iter()
    .map(|(a, b)| (a.to_string(), b.to_string()))
    .collect();
    assert_eq!(got, want);
}

fn facp(s: &mut Snapshot) -> &mut snapshot::AcpiTable {
    s.acpi
        .as_mut()
        .unwrap()
        .tables
        .iter_mut()
        .find(|t| t.signature == "FACP")
        .unwrap()
}

#[test]
fn a_facp_is_compared_without_its_addresses() {
    let mut a = base();
    facp(&mut a).content_sha256 = Some("aa".repeat(32));
    // Other bytes, same content once the addresses are masked: nothing.
    let mut b = a.clone();
    facp(&mut b).sha256 = "bb".repeat(32);
    assert!(rules(&a, &b).is_empty());
    // Other content under the same OEM revision: high, unexplained.
    let mut c = b.clone();
    facp(&mut c).content_sha256 = Some("cc".repeat(32));
    assert_eq!(
        rules(&a, &c),
        [("acpi.table.changed", "high".into(), false)]
    );
    // A snapshot from an older collector, without the masked hash: the
    // FACP's bytes alone say nothing.
    let mut d = c.clone();
    facp(&mut d).content_sha256 = None;
    assert!(rules(&a, &d).is_empty());
}

#[test]
fn another_option_rom_build_at_the_same_device_is_high() {
    // The implant fixture runs one option-ROM driver; the same device
    // bringing another build of it is code that changed under the firmware.
    let p = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/implant/implant.json");
    let a = snapshot::read_file(&p).unwrap();
    let mut b = a.clone();
    let rom = b
        .loaded_images
        .as_mut()
        .unwrap()
        .iter_mut()
        .find(|i| {
            i.device_path.contains("Pci(")
                && i.device_path.ends_with(')')
                && i.device_path.contains("/Offset(")
        })
        .expect("the implant's option-ROM image");
    rom.timestamp = Some(rom.timestamp.unwrap_or(0) ^ 0x1000);
    let path = rom.device_path.clone();
    // (The implant's moving MapKey is in both snapshots' own records.)
    let f: Vec<_> = diff("a", &a, "b", &b)
        .findings
        .into_iter()
        .filter(|f| f.rule != "memory-map.mapkey.moved")
        .collect();
    assert_eq!(f.len(), 1, "{f:?}");
    assert_eq!(f[0].rule, "loaded-images.option-rom.changed");
    assert_eq!(f[0].severity.word(), "high");
    assert!(!f[0].explained);
    assert_eq!(f[0].evidence["after"]["device_path"], path);
}
