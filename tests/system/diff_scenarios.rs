//! `bootaudit diff` proven in real boots: a plain OVMF + swtpm boot is the
//! baseline; each scenario boots again with one change (collector's QEMU
//! command, `cargo xtask boot`) and asserts the rule ids and severities
//! it expects, and that nothing else is flagged.

use crate::common;

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

fn boot(out: &Path, args: &[&str]) -> PathBuf {
    common::boot_collector(out, args)
}

/// The baseline: two plain boots made into a baseline with `bootaudit
/// baseline create`, shared by every scenario. Returns (baseline, the first
/// boot's snapshot).
fn baseline_files() -> &'static (PathBuf, PathBuf) {
    static B: OnceLock<(tempfile::TempDir, (PathBuf, PathBuf))> = OnceLock::new();
    let (_, p) = B.get_or_init(|| {
        let d = tempfile::tempdir().unwrap();
        let a = boot(&d.path().join("a"), &[]);
        let b = boot(&d.path().join("b"), &[]);
        let base = baseline_of(d.path(), &a, &b);
        (d, (base, a))
    });
    p
}

/// `bootaudit baseline create A B -o DIR/baseline.json`, which must
/// succeed; the baseline's path.
fn baseline_of(dir: &Path, a: &Path, b: &Path) -> PathBuf {
    let base = dir.join("baseline.json");
    let o = common::bootaudit()
        .args(["baseline", "create"])
        .arg(a)
        .arg(b)
        .arg("-o")
        .arg(&base)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    base
}

fn baseline() -> &'static Path {
    &baseline_files().0
}

/// `diff --format json --fail-on FAIL_ON` of the baseline and `now`,
/// which must exit with `code`.
#[track_caller]
fn diff(now: &Path, fail_on: &str, code: i32) -> Value {
    common::run_command(
        common::bootaudit()
            .args(["diff", "--format", "json", "--fail-on", fail_on])
            .arg(baseline())
            .arg(now),
    )
    .exits(code)
    .json()
}

/// (rule, severity, explained) of every finding.
fn rules(v: &Value) -> Vec<(String, String, bool)> {
    v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["rule"].as_str().unwrap().to_string(),
                f["severity"].as_str().unwrap().to_string(),
                f["explained"].as_bool().unwrap(),
            )
        })
        .collect()
}

fn iasl(dir: &Path, name: &str, source: &str) -> PathBuf {
    let asl = dir.join(format!("{name}.asl"));
    std::fs::write(&asl, source).unwrap();
    let o = Command::new("iasl")
        .arg(&asl)
        .current_dir(dir)
        .output()
        .expect("iasl (acpica-tools)");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stdout));
    dir.join(format!("{name}.aml"))
}

#[test]
fn same_configuration_again_has_no_findings_at_or_above_low() {
    let d = tempfile::tempdir().unwrap();
    let now = boot(d.path(), &[]);
    let v = diff(&now, "low", 0);
    let s = &v["summary"];
    for k in ["critical", "high", "medium", "low"] {
        assert_eq!(s[k], 0, "{k}: {:?}", rules(&v));
    }
}

#[test]
fn an_injected_wpbt_is_critical_and_unexplained() {
    let d = tempfile::tempdir().unwrap();
    // iasl's own WPBT template, compiled.
    let o = Command::new("iasl")
        .args(["-T", "WPBT"])
        .current_dir(d.path())
        .output()
        .expect("iasl");
    assert!(o.status.success());
    let o = Command::new("iasl")
        .arg("wpbt.asl")
        .current_dir(d.path())
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stdout));
    let now = boot(
        &d.path().join("out"),
        &["--acpitable", d.path().join("wpbt.aml").to_str().unwrap()],
    );
    let v = diff(&now, "high", 1);
    assert_eq!(
        rules(&v),
        [(
            "acpi.table.added".to_string(),
            "critical".to_string(),
            false
        )],
        "{v}"
    );
    assert_eq!(v["findings"][0]["evidence"]["after"]["signature"], "WPBT");
}

#[test]
fn an_injected_ssdt_is_high_and_unexplained() {
    let d = tempfile::tempdir().unwrap();
    let aml = iasl(d.path(), "extra", "DefinitionBlock (\"extra.aml\", \"SSDT\", 2, \"BATEST\", \"BAEXTRA\", 1)\n{ Scope (\\_SB) { Name (BAXT, 1) } }\n");
    let now = boot(
        &d.path().join("out"),
        &["--acpitable", aml.to_str().unwrap()],
    );
    let v = diff(&now, "high", 1);
    assert_eq!(
        rules(&v),
        [("acpi.table.added".to_string(), "high".to_string(), false)],
        "{v}"
    );
}

#[test]
fn more_ram_is_explained_by_the_ram_change_and_nothing_is_above_low() {
    let d = tempfile::tempdir().unwrap();
    let now = boot(d.path(), &["--ram", "2048"]);
    let v = diff(&now, "medium", 0);
    let r = rules(&v);
    assert!(
        r.contains(&("memory-map.ram.changed".into(), "info".into(), false)),
        "{r:?}"
    );
    // The firmware's runtime regions move up with the top of memory; they
    // are reported as moved, and explained.
    let moved: Vec<_> = r
        .iter()
        .filter(|x| x.0 == "memory-map.region.moved")
        .collect();
    assert!(!moved.is_empty(), "{r:?}");
    assert!(moved.iter().all(|x| x.1 == "low" && x.2), "{moved:?}");
    // FACP and TPM2 hold addresses (DSDT, FACS, the log area) that moved
    // with the memory: their bytes differ, their masked content does not.
    let (a, b) = (
        bootaudit::snapshot::read_file(&baseline_files().1).unwrap(),
        bootaudit::snapshot::read_file(&now).unwrap(),
    );
    for sig in ["FACP", "TPM2"] {
        let t = |s: &bootaudit::snapshot::Snapshot| {
            s.acpi
                .as_ref()
                .unwrap()
                .tables
                .iter()
                .find(|t| t.signature == sig)
                .cloned()
                .unwrap()
        };
        let (x, y) = (t(&a), t(&b));
        assert_ne!(x.sha256, y.sha256, "{sig}");
        assert!(x.content_sha256.is_some(), "{sig}");
        assert_eq!(x.content_sha256, y.content_sha256, "{sig}");
    }
    for x in &r {
        assert!(x.1 == "info" || x.1 == "low", "{x:?} is above low in {r:?}");
        assert!(x.2 || x.0 == "memory-map.ram.changed", "{x:?} in {r:?}");
    }
}

#[test]
fn another_build_of_the_same_firmware_version_is_the_lojax_case() {
    // OVMF_CODE_4M.secboot.fd: the same EDK II version, other drivers.
    let d = tempfile::tempdir().unwrap();
    let now = boot(d.path(), &["--ovmf", "secboot"]);
    let v = diff(&now, "high", 1);
    let r = rules(&v);
    assert!(
        r.contains(&(
            "loaded-images.firmware-driver.added".into(),
            "critical".into(),
            false
        )),
        "{r:?}"
    );
    assert!(
        r.contains(&("tpm.pcr0.changed".into(), "critical".into(), false)),
        "{r:?}"
    );
    assert!(
        !r.iter().any(|x| x.0 == "identity.firmware.changed"),
        "{r:?}"
    );
}

/// `diff` with `--references DIR`.
#[track_caller]
fn diff_with_refs(now: &Path, fail_on: &str, refs: &Path, code: i32) -> Value {
    common::run_command(
        common::bootaudit()
            .args([
                "diff",
                "--format",
                "json",
                "--fail-on",
                fail_on,
                "--references",
            ])
            .arg(refs)
            .arg(baseline())
            .arg(now),
    )
    .exits(code)
    .json()
}

/// A reference store holding `image` (`bootaudit reference add`).
fn reference_store(dir: &Path, image: &str, vendor: &str, version: &str) -> PathBuf {
    let store = dir.join("refs");
    common::reference_add(&store, image, vendor, version);
    store
}

/// A firmware update that only SMBIOS claims, next to new firmware code:
/// nothing explained, plus `identity.firmware.unbacked`. Returns the
/// (rule, severity, explained) list and the report.
fn assert_claimed_update_with_new_code(now: &Path) -> (Vec<(String, String, bool)>, Value) {
    let v = diff(now, "high", 1);
    let r = rules(&v);
    assert_eq!(
        v["firmware_update"]["grade"], "claimed",
        "{:#}",
        v["firmware_update"]
    );
    for (rule, sev) in [
        ("identity.firmware.changed", "info"),
        ("identity.firmware.unbacked", "high"),
        ("loaded-images.firmware-driver.added", "critical"),
        ("tpm.pcr0.changed", "critical"),
    ] {
        assert!(
            r.contains(&(rule.into(), sev.into(), false)),
            "{rule} {sev}: {r:?}"
        );
    }
    (r, v)
}

#[test]
fn the_same_swap_with_a_new_bios_version_explains_nothing_until_a_reference_verifies_it() {
    // The secboot build with a new SMBIOS BIOS version and date. The
    // measurements show no update (the S-CRTM version event and the system
    // table's revision are those of the plain build): the version string
    // is the firmware's word about itself, and explains nothing.
    let d = tempfile::tempdir().unwrap();
    let now = boot(
        d.path(),
        &[
            "--ovmf",
            "secboot",
            "--smbios",
            "type=0,version=bootaudit-fw-2.0,date=11/24/2026",
            // The SMM build's maps do not describe its flash: named here.
            "--config",
            "mode=shutdown flash-window=0x400000",
        ],
    );
    assert_claimed_update_with_new_code(&now);
    // With the vendor's secboot image as the reference, under the version
    // the SMBIOS claims: the PCR0 DXE-volume blob is that image's, the PEI
    // blob a boot-dependent volume of it, every loaded driver is in it. A
    // verified update: the firmware code findings drop to low, explained.
    let refs = reference_store(
        d.path(),
        "/usr/share/OVMF/OVMF_CODE_4M.secboot.fd",
        "Debian OVMF",
        "bootaudit-fw-2.0",
    );
    // Exit 1 still: the firmware code findings are explained, not every
    // finding of the swap.
    let v = diff_with_refs(&now, "high", &refs, 1);
    let r = rules(&v);
    assert_eq!(
        v["firmware_update"]["grade"], "verified",
        "{:#}",
        v["firmware_update"]
    );
    assert_eq!(
        v["firmware_update"]["reference"],
        "Debian OVMF bootaudit-fw-2.0"
    );
    let blobs = v["references"]["blobs"].as_array().unwrap();
    assert_eq!(blobs.len(), 2, "{blobs:#?}");
    assert!(blobs.iter().any(
        |b| b["verdict"] == "matched" && b["volume"] == "7CB8BDC9-F8EB-4F34-AAEA-3EE4AF6516A1"
    ));
    assert!(blobs.iter().any(|b| b["verdict"] == "boot-dependent"));
    for rule in ["loaded-images.firmware-driver.added", "tpm.pcr0.changed"] {
        let hits: Vec<_> = r.iter().filter(|x| x.0 == rule).collect();
        assert!(!hits.is_empty(), "{rule}: {r:?}");
        assert!(hits.iter().all(|x| x.2 && x.1 == "low"), "{rule}: {hits:?}");
    }
    // The firmware's own inventory changed with it (the secboot build's
    // files): explained too. Nothing of the reference's is unexplained,
    // and the flash copy is the secboot image byte for byte.
    assert!(
        !r.iter()
            .any(|x| (x.0.starts_with("firmware.") && !x.2) || x.0 == "identity.firmware.unbacked"),
        "{r:?}"
    );
    assert!(
        v["references"]["flash"].as_str().is_some_and(
            |f| f.starts_with("byte for byte the vendor's image Debian OVMF bootaudit-fw-2.0")
        ),
        "{:#}",
        v["references"]
    );
    // The SMM build allocates other memory (SMRAM reserved, more ACPI NVS,
    // runtime regions moved): explained by the verified update, because no
    // image outside the reference runs there, PCR2 and PCR4 measure no new
    // code, and the flash copy is the reference's image.
    let memory: Vec<&Value> = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["rule"].as_str().unwrap().starts_with("memory-map."))
        .collect();
    assert!(
        memory
            .iter()
            .any(|f| f["rule"] == "memory-map.region.added"),
        "{r:?}"
    );
    for f in &memory {
        assert_eq!(f["explained"], true, "{f:#}");
        let why = f["explanation"].as_str().unwrap();
        assert!(
            why.contains("PCR2 and PCR4 measure no new code")
                && why.ends_with("the flash copy is the reference's image byte for byte"),
            "{why}"
        );
    }
    // What is left is the whole unexplained set: the SMBIOS claim (info)
    // and the DSDT, which QEMU builds (not the firmware image, so no
    // reference covers it) and changes for the SMM build's CPU hotplug.
    assert_eq!(
        unexplained(&v),
        [
            ("acpi.table.changed".to_string(), "high".to_string()),
            ("identity.firmware.changed".to_string(), "info".to_string())
        ]
    );
    assert_eq!(
        common::findings_of(&v, "acpi.table.changed")[0]["subject"],
        "DSDT BXPC",
        "{r:?}"
    );
}

/// (rule, severity) of every unexplained finding, sorted.
fn unexplained(v: &Value) -> Vec<(String, String)> {
    let mut u: Vec<(String, String)> = rules(v)
        .into_iter()
        .filter(|x| !x.2)
        .map(|x| (x.0, x.1))
        .collect();
    u.sort();
    u
}

/// Debian's ovmf release installed here (`dpkg-query`).
fn installed_ovmf_version() -> String {
    let o = Command::new("dpkg-query")
        .args(["-W", "-f=${Version}", "ovmf"])
        .output()
        .expect("dpkg-query");
    assert!(o.status.success(), "the ovmf package is not installed");
    String::from_utf8(o.stdout).unwrap()
}

/// Another release of Debian's OVMF than the installed one, which .ci/run
/// unpacks: (its OVMF_CODE_4M.fd, its version).
fn other_ovmf() -> (PathBuf, String) {
    let dir = Path::new("/var/cache/bootaudit/ovmf-other");
    let version = std::fs::read_to_string(dir.join("VERSION")).unwrap_or_else(|e| {
        panic!(
            "{}/VERSION: {e}: .ci/run unpacks another release of Debian's ovmf there",
            dir.display()
        )
    });
    (
        dir.join("usr/share/OVMF/OVMF_CODE_4M.fd"),
        version.trim().to_string(),
    )
}

#[test]
fn a_real_update_between_two_debian_releases_of_ovmf_leaves_nothing_unexplained() {
    // Baseline: two boots of the other release (.ci/run unpacks it: the
    // point release and the security update are both in the archive).
    // Now: a boot of the installed release, with its image as the
    // reference. Two builds of different sources, byte for byte.
    let (old, old_version) = other_ovmf();
    let new = "/usr/share/OVMF/OVMF_CODE_4M.fd";
    let new_version = installed_ovmf_version();
    assert_ne!(old_version, new_version);
    assert_ne!(std::fs::read(&old).unwrap(), std::fs::read(new).unwrap());
    let d = tempfile::tempdir().unwrap();
    let code = old.to_str().unwrap();
    let a = boot(&d.path().join("a"), &["--ovmf-code", code]);
    let b = boot(&d.path().join("b"), &["--ovmf-code", code]);
    let base = baseline_of(d.path(), &a, &b);
    let now = &baseline_files().1;
    let refs = reference_store(d.path(), new, "Debian OVMF", &new_version);
    let run = |format: &str| {
        common::bootaudit()
            .args([
                "diff",
                "--fail-on",
                "low",
                "--format",
                format,
                "--references",
            ])
            .arg(&refs)
            .arg(&base)
            .arg(now)
            .output()
            .unwrap()
    };
    let o = run("json");
    let v: Value = serde_json::from_slice(&o.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&o.stderr)));
    let label = format!("Debian OVMF {new_version}");
    assert_eq!(v["firmware_update"]["grade"], "verified", "{v:#}");
    assert_eq!(v["firmware_update"]["reference"], label.as_str());
    // The update is seen (PCR0's blobs changed), and every finding is
    // explained by it: no finding is left to alarm on.
    let r = rules(&v);
    assert!(r.iter().any(|x| x.0 == "tpm.pcr0.changed"), "{r:?}");
    assert_eq!(unexplained(&v), []);
    // --fail-on low: explained findings are low, but explained.
    assert_eq!(o.status.code(), Some(0), "{r:?}");
    // The table's summary line names the reference and counts what the
    // update explains, as the JSON's findings do.
    let by_update = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| {
            f["explained"] == true
                && f["explanation"]
                    .as_str()
                    .is_some_and(|e| e.starts_with("firmware update: "))
        })
        .count();
    assert!(by_update > 0);
    let o = run("table");
    let table = String::from_utf8(o.stdout).unwrap();
    let last = table.lines().last().unwrap();
    assert!(
        last.ends_with(&format!(
            "; 0 unexplained (marked !); firmware update verified against the reference {label}, which explains {by_update} findings"
        )),
        "{last}"
    );
}

/// The GUID the firmware-implant scenarios give the inserted driver.
const FW_IMPLANT_GUID: &str = "8BA1D0E5-71AE-4B3B-9C1E-0A5E1E7B00A7";
/// A second copy, inserted with a dependency expression that is never
/// satisfied: stored, never dispatched.
const FW_DORMANT_GUID: &str = "8BA1D0E5-71AE-4B3B-9C1E-0A5E1E7B00D0";

/// OVMF_CODE_4M.fd with the test implant inserted into its DXE volume
/// (inside FVMAIN_COMPACT's LZMA section): the firmware dispatches it
/// itself at every boot. A dormant copy whose dependency is never met sits
/// beside it. Made once per test binary.
fn implanted_ovmf() -> &'static Path {
    static F: OnceLock<(tempfile::TempDir, PathBuf)> = OnceLock::new();
    let (_, p) = F.get_or_init(|| {
        let d = tempfile::tempdir().unwrap();
        let (pe, file) = implant_file();
        let dormant = common::fwbuild::driver_file(
            common::fwbuild::guid(FW_DORMANT_GUID),
            &pe,
            "BootauditDormant",
            Some(&common::fwbuild::never_depex()),
        );
        let p = d.path().join("implanted.fd");
        implant_into("/usr/share/OVMF/OVMF_CODE_4M.fd", &[file, dormant], &p);
        (d, p)
    });
    p
}

/// The test implant's PE, and its FFS driver file under
/// [`FW_IMPLANT_GUID`].
fn implant_file() -> (Vec<u8>, Vec<u8>) {
    let (_, implant) = common::built_efi();
    let pe = std::fs::read(implant).unwrap();
    let file = common::fwbuild::driver_file(
        common::fwbuild::guid(FW_IMPLANT_GUID),
        &pe,
        "BootauditTestImplant",
        None,
    );
    (pe, file)
}

/// Writes `image` with `files` inserted into its DXE volume to `out`.
fn implant_into(image: &str, files: &[Vec<u8>], out: &Path) {
    let img = std::fs::read(image).unwrap();
    std::fs::write(out, common::fwbuild::insert_into_ovmf_dxe(&img, files)).unwrap();
}

/// The secboot build's boot, as the verified-update scenarios make it.
const SECBOOT: [&str; 4] = [
    "--ovmf",
    "secboot",
    "--config",
    "mode=shutdown flash-window=0x400000",
];

/// Boots the secboot build with `extra` QEMU arguments and diffs it
/// against the plain baseline, with the clean secboot image as the
/// reference: the diff's report, which must exit with `code`.
#[track_caller]
fn secboot_update(dir: &Path, extra: &[&str], code: i32) -> Value {
    let mut args = SECBOOT.to_vec();
    args.extend(extra);
    let now = boot(&dir.join("out"), &args);
    let refs = reference_store(
        dir,
        "/usr/share/OVMF/OVMF_CODE_4M.secboot.fd",
        "Debian OVMF",
        "secboot",
    );
    diff_with_refs(&now, "high", &refs, code)
}

#[test]
fn the_same_update_with_a_driver_added_to_the_new_image_stays_critical() {
    // The plain-to-secboot update, but the secboot image carries the test
    // implant in its DXE volume; the reference is the clean secboot image.
    let d = tempfile::tempdir().unwrap();
    let (_, file) = implant_file();
    let img = d.path().join("secboot-implanted.fd");
    implant_into("/usr/share/OVMF/OVMF_CODE_4M.secboot.fd", &[file], &img);
    let v = secboot_update(d.path(), &["--ovmf-code", img.to_str().unwrap()], 1);
    assert_ne!(v["firmware_update"]["grade"], "verified", "{v:#}");
    let un = unexplained(&v);
    for (rule, sev) in [
        ("loaded-images.firmware-driver.added", "critical"),
        ("firmware.driver.not-in-reference", "critical"),
        // The implant's runtime data region, and the SMM build's own.
        ("memory-map.region.added", "critical"),
        ("memory-map.region.added", "high"),
    ] {
        assert!(
            un.contains(&(rule.to_string(), sev.to_string())),
            "{rule} {sev}: {un:?}"
        );
    }
    // No memory-map finding is explained: the update is not verified.
    assert!(
        common::findings_of(&v, "memory-map.region.added")
            .iter()
            .all(|f| f["explained"] == false),
        "{v:#}"
    );
}

#[test]
fn a_verified_update_does_not_explain_an_option_rom_implant_riding_along() {
    // The clean secboot image, verified by its reference, but the boot
    // also runs the test implant from a PCI option ROM: its runtime region
    // stays critical, because code came with the change (PCR2).
    let d = tempfile::tempdir().unwrap();
    let rom = implant_rom(d.path());
    let dev = format!("pci-testdev,romfile={}", rom.display());
    let v = secboot_update(d.path(), &["--device", &dev], 1);
    assert_eq!(v["firmware_update"]["grade"], "verified", "{v:#}");
    // The implant's 260 pages of runtime data (efi-collector/implant),
    // which this build's allocator places beside a region of its own.
    let region: Vec<&Value> = common::findings_of(&v, "memory-map.region.added")
        .into_iter()
        .filter(|f| f["evidence"]["after"]["type"] == "RuntimeServicesData")
        .collect();
    assert_eq!(region.len(), 1, "{v:#}");
    assert!(region[0]["evidence"]["after"]["pages"].as_u64().unwrap() >= 260);
    assert_eq!(region[0]["severity"], "critical");
    assert_eq!(region[0]["explained"], false);
    let why = region[0]["explanation"].as_str().unwrap();
    assert!(
        why.starts_with("a verified firmware update, but code came with the update that the baseline's boot did not measure: PCR2 event"),
        "{why}"
    );
    // No memory-map finding of this boot is explained by the update.
    assert!(
        v["findings"].as_array().unwrap().iter().all(|f| {
            !f["rule"].as_str().unwrap().starts_with("memory-map.") || f["explained"] == false
        }),
        "{v:#}"
    );
    // The whole unexplained set, by rule and severity: the implant's
    // traces (its WPBT, its runtime region, its option ROM in PCR2 and
    // among the loaded images, its timer's allocations in the quiet
    // window), the DSDT QEMU builds for the SMM build, and the SMM build's
    // own memory changes, which the update no longer explains because code
    // came with it.
    let mut kinds = unexplained(&v);
    kinds.dedup();
    let mut want: Vec<(String, String)> = [
        ("acpi.table.added", "critical"),
        ("acpi.table.changed", "high"),
        ("loaded-images.option-rom.added", "high"),
        ("memory-map.mapkey.moved", "high"),
        ("memory-map.region.added", "critical"),
        ("memory-map.region.added", "high"),
        ("memory-map.region.grew", "high"),
        ("memory-map.region.moved", "medium"),
        ("memory-map.region.removed", "low"),
        ("memory-map.usable.changed", "low"),
        ("tpm.pcr2.changed", "high"),
    ]
    .iter()
    .map(|(r, s)| (r.to_string(), s.to_string()))
    .collect();
    want.sort();
    assert_eq!(kinds, want);
}

#[test]
fn an_implant_in_the_firmware_volume_is_critical_with_and_without_a_baseline() {
    let d = tempfile::tempdir().unwrap();
    let img = implanted_ovmf().to_str().unwrap().to_string();
    let now = boot(&d.path().join("out"), &["--ovmf-code", &img]);
    let v = diff(&now, "high", 1);
    let r = rules(&v);
    common::firmware_driver_added(&v, FW_IMPLANT_GUID);
    assert!(
        r.contains(&("tpm.pcr0.changed".into(), "critical".into(), false)),
        "{r:?}"
    );
    assert!(
        !r.iter().any(|x| x.0 == "identity.firmware.changed"),
        "{r:?}"
    );
    // The PCR0 finding names the volumes its blobs measured (from the
    // firmware's own inventory: the DXE volume at the blob's base and
    // length) and the driver findings it goes with.
    let pcr0 = common::findings_of(&v, "tpm.pcr0.changed");
    let vols = pcr0[0]["evidence"]["volumes"].as_array().unwrap();
    assert!(
        vols.iter()
            .any(|x| x["volume"] == "7CB8BDC9-F8EB-4F34-AAEA-3EE4AF6516A1"
                && x["named_by"] == "the firmware's inventory"
                && x["length"] == 0xc0_0000),
        "{vols:?}"
    );
    assert!(
        pcr0[0]["evidence"]["related_findings"]
            .to_string()
            .contains(&format!("loaded-images.firmware-driver.added:Fv(7CB8BDC9-F8EB-4F34-AAEA-3EE4AF6516A1)/FvFile({FW_IMPLANT_GUID})")),
        "{:#}",
        pcr0[0]["evidence"]["related_findings"]
    );
    // The firmware's own inventory holds both inserted drivers; only one
    // was dispatched (the dormant one's dependency is never met).
    let stored: Vec<String> = common::findings_of(&v, "firmware.file.added")
        .iter()
        .map(|f| format!("{} {}", f["severity"], f["evidence"]["after"]["guid"]))
        .collect();
    assert_eq!(
        stored,
        [
            format!("\"critical\" \"{FW_IMPLANT_GUID}\""),
            format!("\"critical\" \"{FW_DORMANT_GUID}\"")
        ],
        "{r:?}"
    );
    let snap: Value = serde_json::from_slice(&std::fs::read(&now).unwrap()).unwrap();
    assert!(
        !snap["loaded_images"].to_string().contains(FW_DORMANT_GUID),
        "the dormant driver was loaded"
    );
    assert!(
        r.contains(&("firmware.flash.changed".into(), "high".into(), false)),
        "{r:?}"
    );
    // The flash copy is the implanted image byte for byte, and `firmware
    // diff` of the vendor's image and that copy names both drivers.
    let flash = now
        .parent()
        .unwrap()
        .join(snap["firmware_flash"]["file"].as_str().unwrap());
    assert!(std::fs::read(&flash).unwrap() == std::fs::read(implanted_ovmf()).unwrap());
    let o = common::run_command(
        common::bootaudit()
            .args([
                "firmware",
                "diff",
                "--format",
                "json",
                "/usr/share/OVMF/OVMF_CODE_4M.fd",
            ])
            .arg(&flash),
    )
    .exits(1);
    let fd: Value = serde_json::from_slice(&o.stdout).unwrap();
    let mut added: Vec<String> = common::findings_of(&fd, "firmware.file.added")
        .iter()
        .map(|f| f["evidence"]["guid"].as_str().unwrap().to_string())
        .collect();
    added.sort();
    assert_eq!(added, [FW_IMPLANT_GUID, FW_DORMANT_GUID]);
    // With the genuine image as the reference: the driver is not the
    // vendor's, and the PCR0 blob names the DXE volume it should have been.
    let refs = reference_store(
        d.path(),
        "/usr/share/OVMF/OVMF_CODE_4M.fd",
        "Debian OVMF",
        "0.0.0",
    );
    let v = diff_with_refs(&now, "high", &refs, 1);
    let dxe = "7CB8BDC9-F8EB-4F34-AAEA-3EE4AF6516A1";
    let not_in = common::findings_of(&v, "firmware.driver.not-in-reference");
    assert_eq!(not_in.len(), 1, "{:?}", rules(&v));
    assert_eq!(not_in[0]["severity"], "critical");
    assert_eq!(not_in[0]["evidence"]["guid"], FW_IMPLANT_GUID);
    assert_eq!(not_in[0]["evidence"]["volume"], dxe);
    let blob = common::findings_of(&v, "firmware.blob.not-in-reference");
    assert_eq!(blob.len(), 1, "{:?}", rules(&v));
    assert_eq!(blob[0]["severity"], "critical");
    assert!(
        blob[0]["message"].as_str().unwrap().contains(dxe),
        "{:#}",
        blob[0]
    );
    // Without a baseline: the boot judged by the reference alone.
    let o = common::run_command(
        common::bootaudit()
            .args(["firmware", "check", "--format", "json", "--references"])
            .arg(&refs)
            .arg(&now),
    )
    .exits(1);
    let c: Value = serde_json::from_slice(&o.stdout).unwrap();
    let rs = common::finding_rules(&c);
    assert_eq!(
        rs,
        [
            "firmware.blob.not-in-reference",
            "firmware.driver.not-in-reference",
            "firmware.stored-file.not-in-reference",
            "firmware.flash.differs-from-reference",
            "firmware.blob.uncheckable"
        ],
        "{c:#}"
    );
    let dormant = common::findings_of(&c, "firmware.stored-file.not-in-reference");
    assert_eq!(dormant[0]["evidence"]["guid"], FW_DORMANT_GUID);
    assert_eq!(dormant[0]["severity"], "critical");
    // And the genuine boot, judged alone, is clean: every blob and driver
    // is the vendor's (the baseline's first boot).
    common::run_command(
        common::bootaudit()
            .args([
                "firmware",
                "check",
                "--format",
                "json",
                "--fail-on",
                "low",
                "--references",
            ])
            .arg(&refs)
            .arg(&baseline_files().1),
    )
    .exits(0);
}

#[test]
fn a_forged_smbios_version_does_not_explain_an_implanted_firmware() {
    // The LoJax case of the issue: the implanted firmware, booted with a
    // forged BIOS version and date. Nothing measured changed with them.
    let d = tempfile::tempdir().unwrap();
    let img = implanted_ovmf().to_str().unwrap().to_string();
    let now = boot(
        &d.path().join("out"),
        &[
            "--ovmf-code",
            &img,
            "--smbios",
            "type=0,version=9.9.9-forged,date=01/01/2027",
        ],
    );
    let (r, _) = assert_claimed_update_with_new_code(&now);
    assert!(
        !r.iter().any(|x| x.2 && x.0 != "memory-map.ram.changed"),
        "something was explained: {r:?}"
    );
}

#[test]
fn a_tampered_event_log_is_a_critical_replay_mismatch() {
    // One digest byte altered in a copy of the baseline itself.
    let mut v: Value =
        serde_json::from_slice(&std::fs::read(&baseline_files().1).unwrap()).unwrap();
    let mut log = hex::decode(v["tpm"]["event_log"].as_str().unwrap()).unwrap();
    let parsed = bootaudit::eventlog::parse(&log).unwrap();
    let e = parsed
        .events
        .iter()
        .find(|e| e.pcr == 0 && e.type_name() == "EV_EFI_PLATFORM_FIRMWARE_BLOB")
        .unwrap();
    log[e.offset + 14] ^= 0xff; // inside its SHA-1 digest
    v["tpm"]["event_log"] = Value::String(hex::encode(&log));
    let d = tempfile::tempdir().unwrap();
    let p = d.path().join("tampered.json");
    std::fs::write(&p, serde_json::to_vec(&v).unwrap()).unwrap();
    let out = diff(&p, "high", 1);
    assert_eq!(
        rules(&out),
        [(
            "tpm.log.replay-mismatch".to_string(),
            "critical".to_string(),
            false
        )],
        "{out}"
    );
}

#[test]
fn an_extra_boot_application_before_the_loader_is_reported() {
    // \EFI\BOOT\BOOTX64.EFI (the place the baseline's loader ran from)
    // now starts \EFI\BOOT\stage2.efi before the loader that records the
    // snapshot: the pre-loader pattern of ESP bootkits. The stage is a
    // copy of the collector; its own snapshot, taken first, is not used.
    let d = tempfile::tempdir().unwrap();
    let stage = d.path().join("stage2.efi");
    common::collector_copy(&stage);
    let first = boot(
        &d.path().join("out"),
        &[
            "--file",
            &format!("{}=EFI\\BOOT\\stage2.efi", stage.display()),
            "--config",
            "mode=chain chain=\\EFI\\BOOT\\stage2.efi chain-options=mode=shutdown",
        ],
    );
    let now = first.with_file_name("snap-0001.json");
    let v = diff(&now, "high", 1);
    let r = rules(&v);
    let app: Vec<_> = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["rule"] == "boot-entries.boot-application.added")
        .collect();
    assert_eq!(app.len(), 1, "{r:?}");
    assert_eq!(app[0]["severity"], "critical");
    assert_eq!(app[0]["explained"], false);
    assert!(app[0]["evidence"]["after"]["device_path"]
        .as_str()
        .unwrap()
        .ends_with("\\EFI\\BOOT\\stage2.efi"));
    assert!(
        r.contains(&("tpm.pcr4.changed".into(), "high".into(), false)),
        "{r:?}"
    );
    // The snapshot-taker itself is a new image on the ESP; nothing else
    // changed (no firmware, ACPI, memory-map or Secure Boot finding).
    for x in &r {
        assert!(
            [
                "boot-entries.boot-application.added",
                "tpm.pcr4.changed",
                "loaded-images.image.added"
            ]
            .contains(&x.0.as_str())
                || x.1 == "info"
                || x.1 == "low",
            "{x:?} in {r:?}"
        );
    }
}

#[test]
fn secure_boot_with_test_keys_changes_the_policy_and_pcr7() {
    // OVMF's secboot build with Debian's snakeoil PK/KEK/db enrolled; xtask boot
    // signs the collector with the snakeoil key (Secure Boot refuses it
    // otherwise).
    let d = tempfile::tempdir().unwrap();
    let now = boot(d.path(), &["--ovmf", "snakeoil"]);
    let s = bootaudit::snapshot::read_file(&now).unwrap();
    assert_eq!(s.secure_boot.as_ref().unwrap().secure_boot, Some(1));
    // The collector recorded the PK's certificate, parsed: it is the
    // snakeoil certificate of the ovmf package (its SHA-256 by openssl).
    let pk = s
        .secure_boot
        .as_ref()
        .unwrap()
        .variables
        .iter()
        .find(|v| v.name == "PK")
        .unwrap();
    let sigs = &pk.signatures.as_ref().unwrap().signatures;
    assert_eq!(sigs.len(), 1);
    let fp = common::snakeoil_sha256();
    assert_eq!(sigs[0].digest, fp);
    assert_eq!(sigs[0].kind, "x509");
    assert!(sigs[0]
        .certificate
        .as_ref()
        .unwrap()
        .subject
        .contains("O=SnakeOil"));
    // And `check` finds the test PK from the snapshot alone.
    let (_, c) = common::check_json(&now, &[]);
    let pk_check = common::check_result(&c, "secure-boot.pk.test-key");
    assert_eq!(pk_check["result"], "fail", "{pk_check}");
    let v = diff(&now, "high", 1);
    let r = rules(&v);
    let has = |rule: &str, sev: &str, explained: bool| {
        assert!(
            r.contains(&(rule.into(), sev.into(), explained)),
            "{rule} {sev} {explained}: {r:?}"
        )
    };
    has("secure-boot.enabled", "info", false);
    for name in ["PK", "KEK", "db"] {
        let hit = v["findings"].as_array().unwrap().iter().any(|f| {
            f["rule"] == "secure-boot.variable.changed"
                && f["message"]
                    .as_str()
                    .unwrap()
                    .contains(&format!(" {name} "))
                && f["severity"] == "high"
        });
        assert!(hit, "{name}: {r:?}");
    }
    // PCR7 changed, and the variable changes explain it.
    has("tpm.pcr7.changed", "low", true);
    let pcr7 = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["rule"] == "tpm.pcr7.changed")
        .unwrap();
    // The log alignment pairs the SecureBoot variable's two measurements:
    // the same variable, another value.
    let changed = pcr7["evidence"]["events_changed"].as_array().unwrap();
    assert!(
        changed
            .iter()
            .any(|c| c["before"]["summary"] == "SecureBoot = 0"
                && c["after"]["summary"] == "SecureBoot = 1"),
        "{changed:?}"
    );
    // The secboot build under the same firmware version: the LoJax case.
    has("loaded-images.firmware-driver.added", "critical", false);
    has("tpm.pcr0.changed", "critical", false);
}

/// Builds the test implant (efi-collector/implant) and wraps it as a PCI
/// option ROM for QEMU's pci-testdev (1b36:0005).
fn implant_rom(dir: &Path) -> PathBuf {
    let (_, implant) = common::built_efi();
    let rom = dir.join("implant.rom");
    let o = common::xtask()
        .arg("option-rom")
        .arg(&implant)
        .arg(&rom)
        .args(["1b36", "0005"])
        .output()
        .unwrap();
    assert!(
        o.status.success(),
        "xtask option-rom: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    rom
}

#[test]
fn the_test_implant_in_an_option_rom_leaves_every_trace() {
    // efi-collector/implant, a harmless driver of our own, in a PCI option
    // ROM on a QEMU pci-testdev: OVMF's PCI bus driver loads it, and it
    // allocates runtime memory, installs a WPBT through
    // EFI_ACPI_TABLE_PROTOCOL and allocates from a timer.
    let d = tempfile::tempdir().unwrap();
    let rom = implant_rom(d.path());
    let now = boot(
        &d.path().join("out"),
        &[
            "--device",
            &format!("pci-testdev,romfile={}", rom.display()),
        ],
    );
    let v = diff(&now, "high", 1);
    let r = rules(&v);
    let find = |rule: &str| -> Vec<&Value> {
        v["findings"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|f| f["rule"] == rule)
            .collect()
    };
    let one = |rule: &str, sev: &str| -> &Value {
        let hits = find(rule);
        assert_eq!(hits.len(), 1, "{rule}: {r:?}");
        assert_eq!(hits[0]["severity"], sev, "{rule}: {r:?}");
        assert_eq!(hits[0]["explained"], false, "{rule}: {r:?}");
        hits[0]
    };
    // The option-ROM driver, measured into PCR2 and loaded from the device.
    let pcr2 = one("tpm.pcr2.changed", "high");
    let added = pcr2["evidence"]["events_added"].as_array().unwrap();
    assert!(
        added
            .iter()
            .any(|e| e["type"] == "EV_EFI_BOOT_SERVICES_DRIVER"
                && e["summary"].as_str().unwrap().contains("/Offset(")),
        "{added:?}"
    );
    let img = one("loaded-images.option-rom.added", "high");
    assert!(img["evidence"]["after"]["device_path"]
        .as_str()
        .unwrap()
        .contains("Pci("));
    // Its runtime region: 260 pages of RuntimeServicesData.
    let region = one("memory-map.region.added", "critical");
    assert_eq!(region["evidence"]["after"]["type"], "RuntimeServicesData");
    assert_eq!(region["evidence"]["after"]["pages"], 260);
    // Its WPBT, with the OEM facts the implant wrote.
    let wpbt = one("acpi.table.added", "critical");
    assert_eq!(wpbt["evidence"]["after"]["signature"], "WPBT");
    assert_eq!(wpbt["evidence"]["after"]["oem_id"], "BATEST");
    // `check`, with no baseline, finds the option-ROM driver among the
    // loaded images and matches it to its PCR2 event: the event diff lists
    // as added, at the device path diff reports for the image.
    let (_, c) = common::check_json(&now, &[]);
    let rom = common::check_result(&c, "option-rom.measured");
    assert_eq!(rom["result"], "pass", "{rom}");
    let path = img["evidence"]["after"]["device_path"].as_str().unwrap();
    assert_eq!(rom["evidence"][0]["device_path"], path);
    assert!(added
        .iter()
        .any(|e| e["type"] == "EV_EFI_BOOT_SERVICES_DRIVER"
            && e["summary"]
                .as_str()
                .unwrap()
                .starts_with(rom["evidence"][0]["event_device_path"].as_str().unwrap())));
    let wpbt_check = common::check_result(&c, "acpi.wpbt.absent");
    assert_eq!(wpbt_check["result"], "fail");
    // Its timer's allocations, seen in the collector's quiet window.
    let key = one("memory-map.mapkey.moved", "high");
    assert!(key["evidence"]["key_changes"].as_u64().unwrap() > 0);
    // Nothing else above low but the DSDT, which QEMU rewrites for the
    // added PCI device (a hardware change the snapshot cannot tell apart).
    for x in r.iter().filter(|x| x.1 != "low" && x.1 != "info") {
        assert!(
            [
                "tpm.pcr2.changed",
                "loaded-images.option-rom.added",
                "memory-map.region.added",
                "acpi.table.added",
                "memory-map.mapkey.moved",
                "acpi.table.changed"
            ]
            .contains(&x.0.as_str()),
            "{x:?} in {r:?}"
        );
    }
}
