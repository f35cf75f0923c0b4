//! `bootaudit firmware` against an oracle that is not ours: UEFIExtract
//! (Debian's uefitool-cli) must list the same volumes and the same files
//! (GUID, type, size), in the same order, on Debian's OVMF builds and on an
//! OVMF with a DXE driver inserted by `common::fwbuild`. Then `firmware
//! diff` must find that driver, and hostile images must be read around.

use crate::common;

use common::fwbuild;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;

const PLAIN: &str = "/usr/share/OVMF/OVMF_CODE_4M.fd";
const SECBOOT: &str = "/usr/share/OVMF/OVMF_CODE_4M.secboot.fd";
/// The GUID the tests give the inserted driver.
const IMPLANT_GUID: &str = "8BA1D0E5-71AE-4B3B-9C1E-0A5E1E7B00A7";

fn ovmf(p: &str) -> Vec<u8> {
    std::fs::read(p)
        .unwrap_or_else(|e| panic!("{p}: {e} (Debian package ovmf, installed by .ci/run)"))
}

/// (kind, GUID, size, UEFIExtract's subtype) of every volume and non-pad
/// file in `UEFIExtract IMAGE report`, in its order.
fn uefiextract(image: &Path) -> Vec<(String, String, u64, String)> {
    let d = tempfile::tempdir().unwrap();
    let copy = d.path().join("image.fd");
    std::fs::copy(image, &copy).unwrap();
    let o = Command::new("UEFIExtract")
        .arg(&copy)
        .arg("report")
        .output()
        .unwrap_or_else(|e| {
            panic!("UEFIExtract: {e} (Debian package uefitool-cli, installed by .ci/run)")
        });
    assert!(
        o.status.success(),
        "UEFIExtract failed: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    let report = std::fs::read_to_string(d.path().join("image.fd.report.txt")).unwrap();
    let mut out = Vec::new();
    for line in report.lines().skip(1) {
        let cols: Vec<&str> = line.split('|').map(str::trim).collect();
        if cols.len() < 6 || !(cols[0] == "Volume" || cols[0] == "File") || cols[1] == "Pad" {
            continue;
        }
        let name = cols[5].trim_start_matches('-').trim();
        let guid = name.split_whitespace().next().unwrap_or("").to_string();
        let size = u64::from_str_radix(cols[3], 16).unwrap();
        out.push((cols[0].to_string(), guid, size, cols[1].to_string()));
    }
    out
}

/// UEFIExtract's file subtype for our EFI_FV_FILETYPE.
fn subtype(t: u64) -> &'static str {
    match t {
        0x01 => "Raw",
        0x02 => "Freeform",
        0x03 => "SEC core",
        0x04 => "PEI core",
        0x05 => "DXE core",
        0x06 => "PEI module",
        0x07 => "DXE driver",
        0x09 => "Application",
        0x0a => "SMM module",
        0x0b => "Volume image",
        0x0d => "SMM core",
        _ => panic!("file type {t:#x} is not in OVMF"),
    }
}

/// `firmware --format json IMAGE`, which must exit with `code` (1 when
/// the reader found problems).
#[track_caller]
fn inventory(image: &Path, code: i32) -> Value {
    common::run_command(
        common::bootaudit()
            .args(["firmware", "--format", "json"])
            .arg(image),
    )
    .exits(code)
    .json()
}

/// Ours, in UEFIExtract's tree order: each volume, then its files, a
/// file's nested volumes right after it.
fn ours(v: &Value) -> Vec<(String, String, u64, String)> {
    let vols = v["volumes"].as_array().unwrap();
    let files = v["files"].as_array().unwrap();
    let mut out = Vec::new();
    fn walk(
        vi: usize,
        vols: &[Value],
        files: &[Value],
        out: &mut Vec<(String, String, u64, String)>,
    ) {
        let vol = &vols[vi];
        let name = vol["name"]
            .as_str()
            .or(vol["file_system"].as_str())
            .unwrap();
        out.push((
            "Volume".into(),
            name.into(),
            vol["size"].as_u64().unwrap(),
            "FFSv2".into(),
        ));
        for f in files
            .iter()
            .filter(|f| f["volume"] == vi && f["file_type"] != 0xf0)
        {
            out.push((
                "File".into(),
                f["guid"].as_str().unwrap().into(),
                f["size"].as_u64().unwrap(),
                subtype(f["file_type"].as_u64().unwrap()).into(),
            ));
            for (ni, _) in vols
                .iter()
                .enumerate()
                .filter(|(_, n)| n["parent_file"] == f["index"])
            {
                walk(ni, vols, files, out);
            }
        }
    }
    for (i, _) in vols
        .iter()
        .enumerate()
        .filter(|(_, x)| x["parent_file"].is_null())
    {
        walk(i, vols, files, &mut out);
    }
    out
}

fn assert_same_as_uefiextract(image: &Path) -> Value {
    let v = inventory(image, 0);
    let theirs = uefiextract(image);
    let mine = ours(&v);
    assert!(
        theirs.len() > 100,
        "UEFIExtract listed only {} items",
        theirs.len()
    );
    for (i, (a, b)) in mine.iter().zip(&theirs).enumerate() {
        assert_eq!(a, b, "{}: item {i} differs", image.display());
    }
    assert_eq!(mine.len(), theirs.len(), "{}", image.display());
    v
}

fn implanted(dir: &Path, depex: Option<&[u8]>) -> PathBuf {
    let (_, implant) = common::built_efi();
    let pe = std::fs::read(implant).unwrap();
    let file = fwbuild::driver_file(
        fwbuild::guid(IMPLANT_GUID),
        &pe,
        "BootauditTestImplant",
        depex,
    );
    let out = fwbuild::insert_into_ovmf_dxe(&ovmf(PLAIN), &[file]);
    let p = dir.join("implanted.fd");
    std::fs::write(&p, out).unwrap();
    p
}

#[test]
fn ovmf_inventories_match_uefiextract() {
    let v = assert_same_as_uefiextract(Path::new(PLAIN));
    // The DXE volume's SHA-256 is the digest OVMF's real boot measured
    // into PCR0 (fixtures/ovmf-swtpm's log, event EV_EFI_PLATFORM_FIRMWARE_BLOB2);
    // the PEI volume's is virt-fw-measure's prediction.
    let by_name = |n: &str| {
        v["volumes"]
            .as_array()
            .unwrap()
            .iter()
            .find(|x| x["name"] == n)
            .unwrap()["sha256"]
            .as_str()
            .unwrap()
            .to_string()
    };
    assert!(by_name("7CB8BDC9-F8EB-4F34-AAEA-3EE4AF6516A1").starts_with("82a04452"));
    assert!(by_name("6938079B-B503-4E3D-9D24-B28337A25806").starts_with("471281a7"));
    assert_same_as_uefiextract(Path::new(SECBOOT));
}

#[test]
fn an_inserted_dxe_driver_is_listed_and_found_by_firmware_diff() {
    let d = tempfile::tempdir().unwrap();
    let img = implanted(d.path(), None);
    let v = assert_same_as_uefiextract(&img);
    let f = v["files"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["guid"] == IMPLANT_GUID)
        .expect("the inserted driver is not listed");
    assert_eq!(f["ui_name"], "BootauditTestImplant");
    assert_eq!(f["compressed"], true);
    // The body hashes agree with the driver file itself (sha256sum and
    // pesign's Authenticode digest are the oracles).
    let (_, implant) = common::built_efi();
    let sha = Command::new("sha256sum").arg(&implant).output().unwrap();
    let sha = String::from_utf8(sha.stdout).unwrap();
    assert_eq!(f["body"]["sha256"], sha.split_whitespace().next().unwrap());
    let pesign = Command::new("pesign")
        .args(["-h", "-P", "-i"])
        .arg(&implant)
        .output()
        .expect("pesign (installed by .ci/run)");
    let text = String::from_utf8_lossy(&pesign.stdout).to_lowercase();
    let auth = f["body"]["authenticode_sha256"].as_str().unwrap();
    assert!(text.contains(auth), "pesign says {text:?}, we say {auth}");

    let o = common::run_command(
        common::bootaudit()
            .args(["firmware", "diff", "--format", "json", PLAIN])
            .arg(&img),
    )
    .exits(1);
    let r: Value = serde_json::from_slice(&o.stdout).unwrap();
    let findings = r["findings"].as_array().unwrap();
    let added: Vec<_> = findings
        .iter()
        .filter(|x| x["rule"] == "firmware.file.added")
        .collect();
    assert_eq!(added.len(), 1, "{findings:#?}");
    assert_eq!(added[0]["severity"], "critical");
    assert_eq!(added[0]["evidence"]["guid"], IMPLANT_GUID);
    assert_eq!(
        added[0]["evidence"]["volume"],
        fwbuild::OVMF_DXEFV.to_uppercase()
    );
    // Nothing else of the DXE volume changed; the compressed volume and its
    // holder changed because the driver is in them.
    for x in findings
        .iter()
        .filter(|x| x["rule"] != "firmware.file.added")
    {
        assert!(
            ["firmware.volume.changed", "firmware.file.changed"]
                .contains(&x["rule"].as_str().unwrap())
                && x["severity"] != "critical",
            "{x:#}"
        );
    }
    // The same image is no finding against itself.
    common::run_command(common::bootaudit().args(["firmware", "diff", PLAIN, PLAIN])).exits(0);
}

#[test]
fn a_driver_that_can_never_run_is_listed_with_its_dependency() {
    let d = tempfile::tempdir().unwrap();
    let img = implanted(d.path(), Some(&fwbuild::never_depex()));
    let v = inventory(&img, 0);
    let f = v["files"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["guid"] == IMPLANT_GUID)
        .unwrap();
    assert_eq!(f["depex"]["dispatcher"], "dxe");
    assert_eq!(
        f["depex"]["expression"],
        "B00D1E55-0000-4000-8000-0000000000DE"
    );
    assert_eq!(f["depex"]["well_formed"], true);
}

/// A 16 MiB SPI image with an Intel flash descriptor: descriptor region
/// 0-4 KiB, ME region from 4 KiB to `me_limit` (0xFF), and the BIOS region
/// at the top holding `img`. Returns the image and the BIOS region's
/// offset.
fn spi_image(img: &[u8], me_limit: u32) -> (Vec<u8>, usize) {
    let mut spi = vec![0xffu8; 16 << 20];
    spi[16..20].copy_from_slice(&0x0ff0_a55au32.to_le_bytes());
    spi[20..24].copy_from_slice(&0x0204_0003u32.to_le_bytes());
    let reg = |base: u32, limit: u32| ((limit >> 12) << 16) | (base >> 12);
    let bios = (16 << 20) - img.len();
    spi[0x40..0x44].copy_from_slice(&reg(0, 0xfff).to_le_bytes());
    spi[0x44..0x48].copy_from_slice(&reg(bios as u32, (16 << 20) - 1).to_le_bytes());
    spi[0x48..0x4c].copy_from_slice(&reg(0x1000, me_limit).to_le_bytes());
    spi[bios..].copy_from_slice(img);
    (spi, bios)
}

#[test]
fn a_flash_descriptor_and_a_capsule_hold_the_same_volumes() {
    let img = ovmf(PLAIN);
    let d = tempfile::tempdir().unwrap();
    // The ME region (0xFF) holds a decoy volume a BIOS reader must not list.
    let (mut spi, bios) = spi_image(&img, 0x7f_ffff);
    let decoy = fwbuild::volume(
        fwbuild::guid("decafbad-0000-4000-8000-000000000001"),
        &[],
        0x1000,
    );
    spi[0x2000..0x3000].copy_from_slice(&decoy);
    let p = d.path().join("spi.bin");
    std::fs::write(&p, &spi).unwrap();
    let base = inventory(Path::new(PLAIN), 0);
    let v = inventory(&p, 0);
    assert_eq!(v["container"]["kind"], "flash-descriptor");
    assert_eq!(ours(&v), ours(&base));
    assert_eq!(v["volumes"][0]["offset"], bios as u64);
    // An FMP capsule: EFI_CAPSULE_HEADER, then the image.
    let mut cap = fwbuild::guid("6dcbd5ed-e82d-4c44-bda1-7194199ad92a").to_vec();
    cap.extend_from_slice(&32u32.to_le_bytes());
    cap.extend_from_slice(&0u32.to_le_bytes());
    cap.extend_from_slice(&((img.len() + 32) as u32).to_le_bytes());
    cap.resize(32, 0);
    cap.extend_from_slice(&img);
    let p = d.path().join("fw.cap");
    std::fs::write(&p, &cap).unwrap();
    let v = inventory(&p, 0);
    assert_eq!(v["container"]["format"], "FMP");
    assert_eq!(ours(&v), ours(&base));
}

#[test]
fn hostile_images_are_read_around_and_named() {
    let d = tempfile::tempdir().unwrap();
    let name = fwbuild::guid("0badf00d-0000-4000-8000-000000000001");
    // Encapsulations nested a thousand deep: bounded, a problem, no crash.
    let mut s = fwbuild::section(fwbuild::RAW, b"x");
    for _ in 0..1000 {
        let mut body = vec![0u8; 4];
        body[..4].copy_from_slice(&(s.len() as u32).to_le_bytes());
        body.push(0); // EFI_NOT_COMPRESSED
        body.extend_from_slice(&s);
        s = fwbuild::section(0x01, &body);
    }
    let file = fwbuild::ffs(name, 0x02, &s);
    let fv = fwbuild::volume(name, &[file], 0x40000);
    let p = d.path().join("deep.fd");
    std::fs::write(&p, &fv).unwrap();
    let v = inventory(&p, 1);
    assert!(
        v["problems"].to_string().contains("deeper than 8"),
        "{}",
        v["problems"]
    );
    // An LZMA section that claims 64 GiB: refused before allocation.
    let mut bomb = fwbuild::lzma_section(&fwbuild::section(fwbuild::RAW, &[0u8; 64]));
    let at = 4 + 20 + 5;
    bomb[at..at + 8].copy_from_slice(&(64u64 << 30).to_le_bytes());
    let file = fwbuild::ffs(name, 0x02, &bomb);
    let fv = fwbuild::volume(name, &[file], 0x10000);
    let p = d.path().join("bomb.fd");
    std::fs::write(&p, &fv).unwrap();
    let v = inventory(&p, 1);
    let problems = v["problems"].to_string();
    assert!(
        problems.contains("ratio cap") && problems.contains("LZMA"),
        "{problems}"
    );
    // Data hidden in a volume's free space is a problem, at its offset.
    let mut fv = fwbuild::volume(name, &[], 0x10000);
    fv[0x8000..0x8010].copy_from_slice(b"hidden payload!!");
    let p = d.path().join("hidden.fd");
    std::fs::write(&p, &fv).unwrap();
    let v = inventory(&p, 1);
    assert_eq!(v["problems"][0]["offset"], 0x8000);
    assert_eq!(v["problems"][0]["structure"], "volume free space");
    // No volume at all: exit 2, the file named.
    let p = d.path().join("nothing.bin");
    std::fs::write(&p, vec![0u8; 4096]).unwrap();
    let o = common::run_command(common::bootaudit().arg("firmware").arg(&p)).exits(2);
    let e = o.stderr;
    assert!(
        e.contains("nothing.bin") && e.contains("no UEFI firmware volume"),
        "{e}"
    );
    // A symbolic link is refused.
    let l = d.path().join("link.fd");
    std::os::unix::fs::symlink(PLAIN, &l).unwrap();
    common::run_command(common::bootaudit().arg("firmware").arg(&l)).exits(2);
}

#[test]
fn efi_and_tiano_compressed_sections_are_opened() {
    // The SEC core's PE32 from OVMF (real code), wrapped as a driver file
    // whose sections are EFI-compressed (EFI_COMPRESSION_SECTION type 1)
    // and, in a second file, Tiano-compressed (the GUID-defined form).
    let pe = fwbuild::ovmf_sec_core_pe();
    let inner = fwbuild::sections(&[fwbuild::section(fwbuild::PE32, &pe), fwbuild::ui("Packed")]);
    let mut efi = (inner.len() as u32).to_le_bytes().to_vec();
    efi.push(1);
    efi.extend_from_slice(&fwbuild::edk2_compress("Efi", &inner));
    let mut tiano = fwbuild::guid("a31280ad-481e-41b6-95e8-127f4c984779").to_vec();
    tiano.extend_from_slice(&24u16.to_le_bytes());
    tiano.extend_from_slice(&1u16.to_le_bytes());
    tiano.extend_from_slice(&fwbuild::edk2_compress("Tiano", &inner));
    let g1 = fwbuild::guid("11111111-2222-4333-8444-555555555501");
    let g2 = fwbuild::guid("11111111-2222-4333-8444-555555555502");
    let fv = fwbuild::volume(
        g1,
        &[
            fwbuild::ffs(g1, fwbuild::DRIVER, &fwbuild::section(0x01, &efi)),
            fwbuild::ffs(g2, fwbuild::DRIVER, &fwbuild::section(0x02, &tiano)),
        ],
        0x40000,
    );
    let d = tempfile::tempdir().unwrap();
    let p = d.path().join("packed.fd");
    std::fs::write(&p, &fv).unwrap();
    let v = inventory(&p, 0);
    let files = v["files"].as_array().unwrap();
    assert_eq!(files.len(), 2);
    for f in files {
        assert_eq!(f["ui_name"], "Packed");
        assert_eq!(f["body"]["sha256"], sec_body_sha(&pe), "{f:#}");
    }
    assert_eq!(v["decompressed"], 2 * inner.len() as u64);
}

#[test]
fn lzma_f86_large_files_and_extended_sections_are_read() {
    use liblzma::stream::{Action, Filters, LzmaOptions, Stream};
    // The SEC core's body from OVMF, as real x86 code to filter.
    let pe = fwbuild::ovmf_sec_core_pe();
    let inner = fwbuild::sections(&[fwbuild::section(fwbuild::PE32, &pe)]);
    // liblzma's own x86 (BCJ) filter makes the filtered bytes: a raw
    // [x86, LZMA2] stream decoded with LZMA2 alone. EDK II's LZMA-F86 is
    // LZMA over exactly those bytes.
    let opts = LzmaOptions::new_preset(1).unwrap();
    let mut f = Filters::new();
    f.x86().lzma2(&opts);
    let mut packed = Vec::with_capacity(inner.len() * 2 + 4096);
    Stream::new_raw_encoder(&f)
        .unwrap()
        .process_vec(&inner, &mut packed, Action::Finish)
        .unwrap();
    let mut g = Filters::new();
    g.lzma2(&opts);
    let mut filtered = Vec::with_capacity(inner.len() + 64);
    Stream::new_raw_decoder(&g)
        .unwrap()
        .process_vec(&packed, &mut filtered, Action::Finish)
        .unwrap();
    assert_ne!(filtered, inner, "the filter changed nothing");
    let mut body = fwbuild::guid("d42ae6bd-1352-4bfb-909a-ca72a6eae889").to_vec();
    body.extend_from_slice(&24u16.to_le_bytes());
    body.extend_from_slice(&1u16.to_le_bytes());
    body.extend_from_slice(&fwbuild::lzma(&filtered));
    let g1 = fwbuild::guid("22222222-2222-4333-8444-555555555501");
    let f86 = fwbuild::ffs(g1, fwbuild::DRIVER, &fwbuild::section(0x02, &body));
    // A large file (FFS_ATTRIB_LARGE_FILE, EFI_FFS_FILE_HEADER2) holding a
    // raw section in the extended section header form (size 0xFFFFFF then
    // a 32-bit size), 17 MiB: both forms, read by their own sizes.
    let big_raw = vec![0x5a; 17 << 20];
    let mut sec = vec![0xff, 0xff, 0xff, fwbuild::RAW];
    sec.extend_from_slice(&((big_raw.len() + 8) as u32).to_le_bytes());
    sec.extend_from_slice(&big_raw);
    let g2 = fwbuild::guid("22222222-2222-4333-8444-555555555502");
    let mut large = g2.to_vec();
    large.extend_from_slice(&[0, 0xaa, 0x02, 0x01]); // freeform, LARGE_FILE
    large.extend_from_slice(&[0, 0, 0, 0]); // Size[3] unused, State
    large.extend_from_slice(&((sec.len() + 32) as u64).to_le_bytes());
    let sum = large
        .iter()
        .enumerate()
        .filter(|(i, _)| *i != 17 && *i != 23)
        .fold(0u8, |s, (_, b)| s.wrapping_add(*b));
    large[16] = sum.wrapping_neg();
    large[23] = !0x07;
    large.extend_from_slice(&sec);
    let mut fv = fwbuild::volume(g1, &[f86, large], 18 << 20);
    // FFSv3: large files are that file system's.
    fv[16..32].copy_from_slice(&fwbuild::guid("5473c07a-3dcb-4dca-bd6f-1e9689e7349a"));
    fv[50..52].copy_from_slice(&[0, 0]);
    let hsum = fv[..0x48].chunks_exact(2).fold(0u16, |s, c| {
        s.wrapping_add(u16::from_le_bytes([c[0], c[1]]))
    });
    fv[50..52].copy_from_slice(&hsum.wrapping_neg().to_le_bytes());
    let d = tempfile::tempdir().unwrap();
    let p = d.path().join("v3.fd");
    std::fs::write(&p, &fv).unwrap();
    let v = inventory(&p, 0);
    assert_eq!(v["volumes"][0]["format"], "FFSv3");
    let files = v["files"].as_array().unwrap();
    assert_eq!(files.len(), 2);
    assert_eq!(files[0]["body"]["sha256"], sec_body_sha(&pe));
    assert_eq!(files[1]["size"], (sec.len() + 32) as u64);
    assert_eq!(files[1]["sections"], 1);
    assert_eq!(files[1]["header_checksum_ok"], true);
}

fn sec_body_sha(pe: &[u8]) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(pe))
}

/// The GUIDs UEFIExtract names in "invalid data checksum" messages when it
/// unpacks `image` (its default mode prints the parser's messages).
fn uefiextract_bad_data_checksums(image: &Path) -> usize {
    let d = tempfile::tempdir().unwrap();
    let copy = d.path().join("image.fd");
    std::fs::copy(image, &copy).unwrap();
    let o = Command::new("UEFIExtract")
        .arg(&copy)
        .output()
        .expect("UEFIExtract (uefitool-cli, installed by .ci/run)");
    String::from_utf8_lossy(&o.stdout)
        .lines()
        .filter(|l| l.contains("invalid data checksum"))
        .count()
}

#[test]
fn the_fixed_data_checksum_follows_the_volume_revision_as_uefitool_reads_it() {
    use common::fwbuild;
    // Two raw files without the checksum attribute: one holding 0x5A (the
    // pre-PI fixed value), one 0xAA (the PI one), in a volume of header
    // revision 1 and in one of revision 2.
    let file = |g: &str, fixed: u8| {
        let mut f = fwbuild::ffs(fwbuild::guid(g), 0x01, &[0x5a; 16]);
        f[17] = fixed;
        f
    };
    let a = "11111111-0000-4000-8000-00000000005A";
    let b = "22222222-0000-4000-8000-0000000000AA";
    let d = tempfile::tempdir().unwrap();
    let mut compared = 0;
    for (revision, bad) in [(1u8, b), (2, a)] {
        // A volume header without an extended header (revision 1 has
        // none): FFSv2 file system, erase polarity 1, one 8 KiB block.
        let mut v = vec![0u8; 16];
        v.extend(fwbuild::guid("8C8CE578-8A3D-4F1C-9935-896185C32DD3"));
        v.extend(0x2000u64.to_le_bytes());
        v.extend(b"_FVH");
        v.extend(0x0004_feffu32.to_le_bytes());
        v.extend(0x48u16.to_le_bytes());
        v.extend([0u8; 5]);
        v.push(revision);
        v.extend(2u32.to_le_bytes());
        v.extend(0x1000u32.to_le_bytes());
        v.extend([0u8; 8]);
        let sum = v.chunks_exact(2).fold(0u16, |s, c| {
            s.wrapping_add(u16::from_le_bytes([c[0], c[1]]))
        });
        v[50..52].copy_from_slice(&sum.wrapping_neg().to_le_bytes());
        for f in [file(a, 0x5a), file(b, 0xaa)] {
            while v.len() % 8 != 0 {
                v.push(0xff);
            }
            v.extend(f);
        }
        v.resize(0x2000, 0xff);
        let p = d.path().join(format!("rev{revision}.fd"));
        std::fs::write(&p, &v).unwrap();
        // UEFIExtract: exactly one file's fixed checksum is wrong.
        assert_eq!(uefiextract_bad_data_checksums(&p), 1, "revision {revision}");
        // The one bad checksum is a problem: exit 1.
        let inv = inventory(&p, 1);
        let problems: Vec<&Value> = inv["problems"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|x| x["message"] == "the data checksum does not hold")
            .collect();
        assert_eq!(problems.len(), 1, "revision {revision}: {problems:?}");
        assert!(
            problems[0]["location"].as_str().unwrap().ends_with(bad),
            "revision {revision}: {problems:?}"
        );
        compared += 1;
    }
    assert_eq!(compared, 2);
}

#[test]
fn a_customized_compression_section_is_read_as_lzma_as_uefitool_reads_it() {
    // Insyde's layout: a volume-image file whose EFI_COMPRESSION_SECTION
    // has CompressionType 2 (EFI_CUSTOMIZED_COMPRESSION), LZMA inside,
    // holding a nested volume of drivers (the real SEC core's PE32). Once
    // plain, once with Intel's 4-byte prefix before the LZMA header.
    let pe = fwbuild::ovmf_sec_core_pe();
    let driver = |n: u8| {
        let g = fwbuild::guid(&format!("44444444-2222-4333-8444-5555555555{n:02X}"));
        fwbuild::ffs(
            g,
            fwbuild::DRIVER,
            &fwbuild::sections(&[fwbuild::section(fwbuild::PE32, &pe), fwbuild::ui("Inner")]),
        )
    };
    let d = tempfile::tempdir().unwrap();
    let mut checked = 0;
    for prefix in [&[][..], &[0u8, 0, 0, 0][..]] {
        let inner = fwbuild::volume(
            fwbuild::guid("55555555-2222-4333-8444-555555555555"),
            &[driver(1), driver(2), driver(3)],
            0x10000,
        );
        let fv_section = fwbuild::section(0x17, &inner);
        let mut body = (fv_section.len() as u32).to_le_bytes().to_vec();
        body.push(2);
        body.extend_from_slice(prefix);
        body.extend(fwbuild::lzma(&fv_section));
        let outer = fwbuild::volume(
            fwbuild::guid("66666666-2222-4333-8444-555555555555"),
            &[fwbuild::ffs(
                fwbuild::guid("77777777-2222-4333-8444-555555555555"),
                0x0b,
                &fwbuild::section(0x01, &body),
            )],
            0x20000,
        );
        let p = d.path().join(format!("custom-{}.fd", prefix.len()));
        std::fs::write(&p, &outer).unwrap();
        let v = inventory(&p, 0);
        // UEFIExtract's listing, volume by volume and file by file.
        let theirs = uefiextract(&p);
        let mine = ours(&v);
        assert_eq!(mine, theirs, "prefix of {} bytes", prefix.len());
        let inner_drivers = v["files"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|f| f["ui_name"] == "Inner")
            .count();
        assert_eq!(inner_drivers, 3);
        checked += 1;
    }
    assert_eq!(checked, 2);
}

#[test]
fn a_decoy_volume_header_cannot_hide_the_volume_it_covers() {
    // A volume header of an unknown file system whose FvLength covers the
    // next, real volume, which holds three DXE drivers, one an "implant".
    let pe = fwbuild::ovmf_sec_core_pe();
    let implant = "DEC0DEC0-0000-4000-8000-00000000BAD1";
    let driver = |g: &str, ui: &str| fwbuild::driver_file(fwbuild::guid(g), &pe, ui, None);
    let files = [
        driver("DEC0DEC0-0000-4000-8000-000000000001", "One"),
        driver("DEC0DEC0-0000-4000-8000-000000000002", "Two"),
        driver(implant, "Implant"),
    ];
    let real_name = fwbuild::guid("DEC0DEC0-0000-4000-8000-0000000000F0");
    let real = fwbuild::volume(real_name, &files, 0x20000);
    let clean_without = fwbuild::volume(real_name, &files[..2], 0x20000);
    let decoy = |body: &[u8]| {
        let mut h = vec![0u8; 16];
        h.extend(fwbuild::guid("DEADBEEF-0000-4000-8000-000000000000"));
        h.extend(((0x1000 + body.len()) as u64).to_le_bytes());
        h.extend(b"_FVH");
        h.extend(0x0004_feffu32.to_le_bytes());
        h.extend(0x48u16.to_le_bytes());
        h.extend([0u8; 5]);
        h.push(2);
        h.extend((((0x1000 + body.len()) / 0x1000) as u32).to_le_bytes());
        h.extend(0x1000u32.to_le_bytes());
        h.extend([0u8; 8]);
        let sum = h.chunks_exact(2).fold(0u16, |s, c| {
            s.wrapping_add(u16::from_le_bytes([c[0], c[1]]))
        });
        h[50..52].copy_from_slice(&sum.wrapping_neg().to_le_bytes());
        h.resize(0x1000, 0xff);
        h.extend_from_slice(body);
        h
    };
    let d = tempfile::tempdir().unwrap();
    let img = d.path().join("decoy.fd");
    std::fs::write(&img, decoy(&real)).unwrap();
    let clean = d.path().join("clean.fd");
    std::fs::write(&clean, decoy(&clean_without)).unwrap();
    // UEFIExtract also calls the outer file system unknown.
    let o = Command::new("UEFIExtract").arg(&img).output().unwrap();
    assert!(
        String::from_utf8_lossy(&o.stdout).contains("unknown file system DEADBEEF"),
        "{}",
        String::from_utf8_lossy(&o.stdout)
    );
    let _ = std::fs::remove_dir_all(d.path().join("decoy.fd.dump"));
    // bootaudit lists the covered volume and its three drivers, and calls
    // the cover a structural problem (exit 1).
    let v = inventory(&img, 1);
    let vols = v["volumes"].as_array().unwrap();
    assert_eq!(vols.len(), 2, "{vols:#?}");
    assert_eq!(vols[1]["format"], "FFSv2");
    let guids: Vec<&str> = v["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["guid"].as_str().unwrap())
        .collect();
    assert_eq!(guids.len(), 3);
    assert!(guids.contains(&implant), "{guids:?}");
    let problems = v["problems"].as_array().unwrap();
    assert!(
        problems.iter().any(|p| p["message"]
            .as_str()
            .unwrap()
            .contains("1 volumes lie inside it")),
        "{problems:#?}"
    );
    // No reference of it without --accept-problems; with it, the
    // reference records the problem and holds the implant.
    let store = d.path().join("refs");
    let o = common::run_command(
        common::bootaudit()
            .args(["reference", "add", "--vendor", "V", "--version", "1", "-o"])
            .arg(&store)
            .arg(&img),
    )
    .exits(2);
    assert!(o.stderr.contains("structural problems"));
    assert!(!store.exists() || std::fs::read_dir(&store).unwrap().next().is_none());
    let r = common::bootaudit()
        .args([
            "reference",
            "add",
            "--accept-problems",
            "--vendor",
            "V",
            "--version",
            "1",
            "-o",
        ])
        .arg(&store)
        .arg(&img)
        .output()
        .unwrap();
    assert!(r.status.success(), "{}", String::from_utf8_lossy(&r.stderr));
    let text = String::from_utf8(r.stdout).unwrap();
    let file = text.trim().rsplit(" -> ").next().unwrap();
    let reference: Value = serde_json::from_slice(&std::fs::read(file).unwrap()).unwrap();
    assert_eq!(reference["problems"].as_array().unwrap().len(), 1);
    assert!(reference["files"]
        .as_array()
        .unwrap()
        .iter()
        .any(|f| f["guid"] == implant));
    // firmware diff against the same image without the driver names it.
    let o = common::bootaudit()
        .args(["firmware", "diff", "--format", "json"])
        .arg(&clean)
        .arg(&img)
        .output()
        .unwrap();
    let r: Value = serde_json::from_slice(&o.stdout).unwrap();
    let added: Vec<&Value> = r["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|x| x["rule"] == "firmware.file.added")
        .collect();
    assert_eq!(added.len(), 1, "{r:#}");
    assert_eq!(added[0]["evidence"]["guid"], implant);
    assert_eq!(added[0]["severity"], "critical");
}

#[test]
fn data_in_a_pad_file_is_a_structural_problem() {
    let pad = |fill: u8| {
        let mut f = fwbuild::ffs(
            fwbuild::guid("FFFFFFFF-FFFF-FFFF-FFFF-FFFFFFFFFFFF"),
            0xf0,
            &[0xff; 64],
        );
        f[24 + 10] = fill;
        f
    };
    let d = tempfile::tempdir().unwrap();
    let mut seen = Vec::new();
    for fill in [0xff, 0xcc] {
        let v = fwbuild::volume(
            fwbuild::guid("ABABABAB-0000-4000-8000-000000000000"),
            &[pad(fill)],
            0x2000,
        );
        let p = d.path().join(format!("pad-{fill:x}.fd"));
        std::fs::write(&p, &v).unwrap();
        // A pad file of another fill than the erase byte is a problem:
        // exit 1.
        let code = i32::from(fill != 0xff);
        let inv = inventory(&p, code);
        let pads: Vec<&Value> = inv["problems"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|x| x["structure"] == "pad file")
            .collect();
        seen.push((code, pads.len()));
    }
    assert_eq!(seen, [(0, 0), (1, 1)]);
}

#[test]
fn overlapping_flash_descriptor_regions_are_a_structural_problem() {
    // The SPI layout of a_flash_descriptor_and_a_capsule_hold_the_same_
    // volumes, with the ME region's limit laid over the BIOS region's
    // first 64 KiB.
    let img = ovmf(PLAIN);
    let d = tempfile::tempdir().unwrap();
    let bios = (16 << 20) - img.len();
    let mut checked = 0;
    for (me_limit, overlap) in [(0x7f_ffff, false), (bios as u32 + 0xffff, true)] {
        let (spi, _) = spi_image(&img, me_limit);
        let p = d.path().join("spi.bin");
        std::fs::write(&p, &spi).unwrap();
        let v = inventory(&p, i32::from(overlap));
        let named: Vec<&Value> = v["problems"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|x| x["structure"] == "flash descriptor")
            .collect();
        assert_eq!(named.len(), usize::from(overlap), "{named:?}");
        if overlap {
            assert_eq!(named[0]["offset"], bios as u64);
            assert!(named[0]["message"].as_str().unwrap().contains("overlap"));
        }
        checked += 1;
    }
    assert_eq!(checked, 2);
}
