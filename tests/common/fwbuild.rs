//! FOR TESTS: writes PI firmware structures (sections, FFS files, volumes)
//! as the PI specification lays them out, and inserts a DXE driver into
//! OVMF's DXE volume the way an implant author would: FVMAIN_COMPACT's
//! LZMA section is decompressed, the driver is written into the DXE
//! volume's free space, and the section is compressed again, so the
//! firmware itself dispatches the driver at every boot.
//!
//! The writer is independent of bootaudit's reader on purpose: the reader
//! only locates the structures to patch (offsets UEFIExtract confirms).
#![allow(dead_code)]

use bootaudit::efi::Guid;

/// EFI_SECTION_* types used here.
pub const PE32: u8 = 0x10;
pub const DXE_DEPEX: u8 = 0x13;
pub const UI: u8 = 0x15;
pub const FV_IMAGE: u8 = 0x17;
pub const RAW: u8 = 0x19;
/// EFI_FV_FILETYPE_DRIVER.
pub const DRIVER: u8 = 0x07;
/// EFI_FV_FILETYPE_FIRMWARE_VOLUME_IMAGE.
pub const FV_IMAGE_FILE: u8 = 0x0b;

pub const LZMA_GUID: &str = "ee4e5898-3914-4259-9d6e-dc7bd79403cf";
pub const FFS2_GUID: &str = "8c8ce578-8a3d-4f1c-9935-896185c32dd3";
/// OVMF's DXE volume (DXEFV), by its name GUID.
pub const OVMF_DXEFV: &str = "7cb8bdc9-f8eb-4f34-aaea-3ee4af6516a1";

pub fn guid(s: &str) -> [u8; 16] {
    Guid::parse(s)
        .unwrap_or_else(|| panic!("{s}: not a GUID"))
        .0
}

fn pad_to(v: &mut Vec<u8>, align: usize, byte: u8) {
    while v.len() % align != 0 {
        v.push(byte);
    }
}

/// A leaf section (EFI_COMMON_SECTION_HEADER, extended when large).
pub fn section(ty: u8, body: &[u8]) -> Vec<u8> {
    let mut v = Vec::with_capacity(body.len() + 8);
    if body.len() + 4 < 0xff_ffff {
        v.extend_from_slice(&((body.len() + 4) as u32).to_le_bytes()[..3]);
        v.push(ty);
    } else {
        v.extend_from_slice(&[0xff, 0xff, 0xff, ty]);
        v.extend_from_slice(&((body.len() + 8) as u32).to_le_bytes());
    }
    v.extend_from_slice(body);
    v
}

/// A UI section holding `name` in UCS-2.
pub fn ui(name: &str) -> Vec<u8> {
    let mut b: Vec<u8> = name.encode_utf16().flat_map(u16::to_le_bytes).collect();
    b.extend_from_slice(&[0, 0]);
    section(UI, &b)
}

/// Sections laid one after another, each 4-byte aligned.
pub fn sections(parts: &[Vec<u8>]) -> Vec<u8> {
    let mut v = Vec::new();
    for p in parts {
        pad_to(&mut v, 4, 0);
        v.extend_from_slice(p);
    }
    v
}

/// EDK II's LZMA format: 5 property bytes, the 64-bit size, the stream
/// (liblzma's "alone" encoder writes an unknown size; EDK II needs it).
pub fn lzma(data: &[u8]) -> Vec<u8> {
    use liblzma::stream::{Action, LzmaOptions, Stream};
    let opts = LzmaOptions::new_preset(6).unwrap();
    let mut enc = Stream::new_lzma_encoder(&opts).unwrap();
    let mut out = Vec::with_capacity(data.len() / 2 + 4096);
    loop {
        let before = enc.total_in() as usize;
        let st = enc
            .process_vec(&data[before..], &mut out, Action::Finish)
            .unwrap();
        if st == liblzma::stream::Status::StreamEnd {
            break;
        }
        out.reserve(out.len() + (1 << 20));
    }
    out[5..13].copy_from_slice(&(data.len() as u64).to_le_bytes());
    out
}

/// A GUID-defined LZMA section around `inner` (sections).
pub fn lzma_section(inner: &[u8]) -> Vec<u8> {
    let packed = lzma(inner);
    let mut body = guid(LZMA_GUID).to_vec();
    body.extend_from_slice(&24u16.to_le_bytes()); // DataOffset
    body.extend_from_slice(&1u16.to_le_bytes()); // PROCESSING_REQUIRED
    body.extend_from_slice(&packed);
    section(0x02, &body)
}

/// An FFS file (erase polarity 1): header checksum set, data checksum
/// unused (0xAA), state "data valid".
pub fn ffs(name: [u8; 16], ty: u8, body: &[u8]) -> Vec<u8> {
    let size = body.len() + 24;
    assert!(size < 0xff_ffff, "large files are not needed here");
    let mut h = name.to_vec();
    h.extend_from_slice(&[0, 0xaa, ty, 0]);
    h.extend_from_slice(&(size as u32).to_le_bytes()[..3]);
    h.push(0);
    let sum = h
        .iter()
        .fold(0u8, |s, b| s.wrapping_add(*b))
        .wrapping_sub(0xaa);
    h[16] = sum.wrapping_neg();
    // EFI_FILE_HEADER_CONSTRUCTION | HEADER_VALID | DATA_VALID, inverted
    // for erase polarity 1.
    h[23] = !0x07;
    h.extend_from_slice(body);
    h
}

/// A firmware volume of `size` bytes (4 KiB blocks, erase polarity 1)
/// named `name` in an extended header, holding `files`.
pub fn volume(name: [u8; 16], files: &[Vec<u8>], size: usize) -> Vec<u8> {
    let mut v = vec![0u8; 16];
    v.extend_from_slice(&guid(FFS2_GUID));
    v.extend_from_slice(&(size as u64).to_le_bytes());
    v.extend_from_slice(b"_FVH");
    v.extend_from_slice(&0x0004_feffu32.to_le_bytes()); // attributes, erase polarity
    v.extend_from_slice(&0x48u16.to_le_bytes()); // HeaderLength
    v.extend_from_slice(&0u16.to_le_bytes()); // Checksum
    v.extend_from_slice(&0x48u16.to_le_bytes()); // ExtHeaderOffset
    v.push(0);
    v.push(2); // Revision
    v.extend_from_slice(&((size / 0x1000) as u32).to_le_bytes());
    v.extend_from_slice(&0x1000u32.to_le_bytes());
    v.extend_from_slice(&[0; 8]);
    assert_eq!(v.len(), 0x48);
    let sum = v.chunks_exact(2).fold(0u16, |s, c| {
        s.wrapping_add(u16::from_le_bytes([c[0], c[1]]))
    });
    v[50..52].copy_from_slice(&sum.wrapping_neg().to_le_bytes());
    // EFI_FIRMWARE_VOLUME_EXT_HEADER: FvName, ExtHeaderSize.
    v.extend_from_slice(&name);
    v.extend_from_slice(&20u32.to_le_bytes());
    for f in files {
        pad_to(&mut v, 8, 0xff);
        v.extend_from_slice(f);
    }
    assert!(v.len() <= size, "files do not fit the volume");
    v.resize(size, 0xff);
    v
}

/// A DXE driver file: an optional dependency expression, the PE32 image and
/// a UI name.
pub fn driver_file(name: [u8; 16], pe: &[u8], ui_name: &str, depex: Option<&[u8]>) -> Vec<u8> {
    let mut parts = Vec::new();
    if let Some(d) = depex {
        parts.push(section(DXE_DEPEX, d));
    }
    parts.push(section(PE32, pe));
    parts.push(ui(ui_name));
    ffs(name, DRIVER, &sections(&parts))
}

/// A dependency expression that is never satisfied: PUSH a GUID no
/// protocol has, END.
pub fn never_depex() -> Vec<u8> {
    let mut d = vec![0x02];
    d.extend_from_slice(&guid("b00d1e55-0000-4000-8000-0000000000de"));
    d.push(0x08);
    d
}

fn le24(b: &[u8]) -> usize {
    u32::from_le_bytes([b[0], b[1], b[2], 0]) as usize
}

/// Inserts `files` (FFS files) into OVMF's DXE volume inside
/// FVMAIN_COMPACT, and returns the new image. Panics with a clear message
/// when the image is not laid out as OVMF's is.
pub fn insert_into_ovmf_dxe(image: &[u8], files: &[Vec<u8>]) -> Vec<u8> {
    insert_into_dxe(image, OVMF_DXEFV, files)
}

/// The DXE volume of Debian's AAVMF (ArmVirtQemu), inside its
/// FVMAIN_COMPACT at 0x1000.
pub const AAVMF_DXEFV: &str = "64074AFE-340A-4BE6-94BA-91B5B4D0F71E";

/// Inserts `files` into the DXE volume named `dxe_guid`, which sits in the
/// LZMA section of the first volume's volume-image file (FVMAIN_COMPACT,
/// as OVMF and AAVMF lay it out), and returns the new image.
pub fn insert_into_dxe(image: &[u8], dxe_guid: &str, files: &[Vec<u8>]) -> Vec<u8> {
    let inv = bootaudit::firmware::read(image).expect("the firmware image must read");
    let outer = &inv.volumes[0];
    let outer_at = outer
        .offset
        .expect("FVMAIN_COMPACT is not at a known offset") as usize;
    let vfile = inv
        .files
        .iter()
        .find(|f| f.volume == 0 && f.file_type == FV_IMAGE_FILE)
        .expect("no volume-image file in FVMAIN_COMPACT");
    let file_off = vfile.offset.unwrap() as usize;
    let file_size = vfile.size as usize;
    // The file holds one GUID-defined LZMA section right after its header.
    let sec = &image[file_off + 24..file_off + file_size];
    assert_eq!(sec[3], 0x02, "not a GUID-defined section");
    assert_eq!(sec[4..20], guid(LZMA_GUID), "not LZMA");
    let data_off = u16::from_le_bytes([sec[20], sec[21]]) as usize;
    let packed = &sec[data_off..le24(sec)];
    let mut inner = bootaudit::firmware::decompress::lzma(
        packed,
        &mut bootaudit::firmware::decompress::Budget::for_input(image.len()),
        0,
    )
    .unwrap();
    // Find the FV-image section holding DXEFV, and its free space.
    let mut pos = 0;
    let mut done = false;
    while pos + 4 <= inner.len() {
        let size = le24(&inner[pos..]);
        assert!(size >= 4, "malformed section at {pos:#x}");
        let fv = pos + 4;
        let ext = u16::from_le_bytes([inner[fv + 52], inner[fv + 53]]) as usize;
        if inner[pos + 3] == FV_IMAGE
            && ext != 0
            && inner[fv + ext..fv + ext + 16] == guid(dxe_guid)
        {
            let mut fv_len =
                u64::from_le_bytes(inner[fv + 32..fv + 40].try_into().unwrap()) as usize;
            let dxe = inv
                .volumes
                .iter()
                .find(|v| v.name == Guid::parse(dxe_guid))
                .unwrap();
            assert_eq!(dxe.size as usize, fv_len);
            let mut at = fv + fv_len - dxe.free_space as usize;
            let need: usize = files.iter().map(|f| (f.len() + 7) & !7).sum();
            if at + need > fv + fv_len {
                // A full volume (AAVMF's has 16 bytes free): grow it by
                // whole blocks of erased bytes, as a bigger build would
                // have laid it out.
                let grow = grow_volume(&mut inner, pos, at + need - (fv + fv_len));
                fv_len += grow;
            }
            for f in files {
                assert!(at + f.len() <= fv + fv_len, "no room in DXEFV");
                inner[at..at + f.len()].copy_from_slice(f);
                at = (at + f.len() + 7) & !7;
            }
            done = true;
            break;
        }
        pos = (pos + size + 3) & !3;
    }
    assert!(done, "DXEFV not found in FVMAIN_COMPACT's LZMA section");
    let mut body = sec[4..data_off].to_vec();
    body.extend_from_slice(&lzma(&inner));
    let new_sec = section(0x02, &body);
    let name: [u8; 16] = image[file_off..file_off + 16].try_into().unwrap();
    let attributes = image[file_off + 19];
    assert_eq!(
        attributes & 0x41,
        0,
        "a checksummed or large file: not OVMF's layout"
    );
    let mut new_file = ffs(name, FV_IMAGE_FILE, &new_sec);
    new_file[19] = attributes;
    // Re-sum the header with the original attributes.
    new_file[16] = 0;
    let sum = new_file[..24]
        .iter()
        .enumerate()
        .filter(|(i, _)| *i != 17 && *i != 23)
        .fold(0u8, |s, (_, b)| s.wrapping_add(*b));
    new_file[16] = sum.wrapping_neg();
    assert!(
        inv.files
            .iter()
            .filter(|f| f.volume == 0 && f.file_type != 0xf0)
            .all(|f| f.offset.unwrap() as usize <= file_off),
        "files follow the volume image in FVMAIN_COMPACT: not OVMF's layout"
    );
    let end = outer_at + outer.size as usize;
    assert!(
        file_off + new_file.len() <= end,
        "FVMAIN_COMPACT has no room"
    );
    let mut out = image.to_vec();
    out[file_off..file_off + new_file.len()].copy_from_slice(&new_file);
    out[file_off + new_file.len()..end].fill(0xff);
    out
}

/// Grows the FV-image section at `pos` of `sections` (its volume the last
/// thing in the section) by at least `more` bytes, in whole blocks of the
/// volume's erase byte: the section's size, the volume's FvLength, its
/// one-entry block map and its header checksum are rewritten. Returns the
/// growth.
fn grow_volume(sections: &mut Vec<u8>, pos: usize, more: usize) -> usize {
    let fv = pos + 4;
    let le32 = |b: &[u8], o: usize| u32::from_le_bytes(b[o..o + 4].try_into().unwrap()) as usize;
    let fv_len = u64::from_le_bytes(sections[fv + 32..fv + 40].try_into().unwrap()) as usize;
    let header_len = u16::from_le_bytes([sections[fv + 48], sections[fv + 49]]) as usize;
    let (blocks, block) = (le32(sections, fv + 56), le32(sections, fv + 60));
    assert!(
        block > 0 && blocks * block == fv_len && le32(sections, fv + 64) == 0,
        "a block map of more than one entry"
    );
    assert_eq!(
        le24(&sections[pos..]),
        4 + fv_len,
        "the volume is not the whole section"
    );
    let grow = more.div_ceil(block) * block;
    // EFI_FVB2_ERASE_POLARITY (bit 11 of the attributes): erased bytes are 0xff.
    let erase = if le32(sections, fv + 44) & 0x800 != 0 {
        0xff
    } else {
        0
    };
    sections.splice(fv + fv_len..fv + fv_len, std::iter::repeat_n(erase, grow));
    let new_len = fv_len + grow;
    let size = (4 + new_len) as u32;
    assert!(
        size < 0xff_ffff,
        "the grown volume needs an extended section size"
    );
    sections[pos..pos + 3].copy_from_slice(&size.to_le_bytes()[..3]);
    sections[fv + 32..fv + 40].copy_from_slice(&(new_len as u64).to_le_bytes());
    sections[fv + 56..fv + 60].copy_from_slice(&((new_len / block) as u32).to_le_bytes());
    sections[fv + 50..fv + 52].copy_from_slice(&[0, 0]);
    let sum = sections[fv..fv + header_len].chunks(2).fold(0u16, |s, w| {
        s.wrapping_add(u16::from_le_bytes([w[0], w[1]]))
    });
    sections[fv + 50..fv + 52].copy_from_slice(&sum.wrapping_neg().to_le_bytes());
    grow
}

/// Compresses `data` with EDK II's own EFI or Tiano compressor (`algo`:
/// `Efi` or `Tiano`; the C code of uefi_firmware, in the project's venv):
/// a writer independent of bootaudit's decoder.
pub fn edk2_compress(algo: &str, data: &[u8]) -> Vec<u8> {
    let d = tempfile::tempdir().unwrap();
    let p = d.path().join("in");
    std::fs::write(&p, data).unwrap();
    let o = std::process::Command::new(super::venv_python())
        .arg("-c")
        .arg(format!(
            "import sys, uefi_firmware.efi_compressor as e\n\
             d = open(sys.argv[1], 'rb').read()\n\
             sys.stdout.buffer.write(e.{algo}Compress(d, len(d)))"
        ))
        .arg(&p)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    o.stdout
}

/// The content of the first section of type `ty` among the sections of
/// the FFS file `file` (a 24-byte header, then 4-byte aligned sections).
pub fn first_section(file: &[u8], ty: u8) -> Vec<u8> {
    let mut pos = 24;
    while pos + 4 <= file.len() {
        let n = le24(&file[pos..]);
        assert!(n >= 4, "malformed section at {pos:#x}");
        if file[pos + 3] == ty {
            return file[pos + 4..pos + n].to_vec();
        }
        pos = (pos + n + 3) & !3;
    }
    panic!("no section of type {ty:#04x}");
}

/// The PE32 body of the SEC core in Debian's OVMF_CODE_4M.fd: real x86 code
/// for the tests to wrap.
pub fn ovmf_sec_core_pe() -> Vec<u8> {
    let img = std::fs::read("/usr/share/OVMF/OVMF_CODE_4M.fd")
        .expect("/usr/share/OVMF/OVMF_CODE_4M.fd (Debian package ovmf, installed by .ci/run)");
    let inv = bootaudit::firmware::read(&img).unwrap();
    let sec = inv
        .files
        .iter()
        .find(|f| f.file_type == 0x03)
        .expect("a SEC core");
    let at = sec.offset.expect("the SEC core is not compressed") as usize;
    first_section(&img[at..at + sec.size as usize], PE32)
}
