//! Firmware volumes (EFI_FIRMWARE_VOLUME_HEADER) and the FFS files in them
//! (EFI_FFS_FILE_HEADER and EFI_FFS_FILE_HEADER2), per the PI
//! specification, volume 3.

use super::layout::guid;
use super::{align, le, FfsFile, Guid, Place, Reader, Volume, MAX_DEPTH, MAX_FILES};

/// The header's signature, at byte 40.
const FVH: &[u8; 4] = b"_FVH";
/// The smallest header: 56 bytes with one block-map entry and its end.
const MIN_HEADER: usize = 0x38;
/// EFI_FVB2_ERASE_POLARITY.
const ERASE_POLARITY: u32 = 0x800;
/// FFS_ATTRIB_LARGE_FILE.
const LARGE_FILE: u8 = 0x01;
/// FFS_ATTRIB_CHECKSUM.
const DATA_CHECKSUM: u8 = 0x40;

fn format_of(fs: Guid) -> &'static str {
    const KNOWN: &[(&str, &str)] = &[
        ("FFSv2", "8c8ce578-8a3d-4f1c-9935-896185c32dd3"),
        ("FFSv3", "5473c07a-3dcb-4dca-bd6f-1e9689e7349a"),
        ("NVRAM", "fff12b8d-7696-4c8b-a985-2747075b4f50"),
        ("NVRAM", "cef5b9a3-476d-497f-9fdc-e98143e0422c"),
        ("FFSv2", "7a9354d9-0468-444a-81ce-0bf617d890df"),
    ];
    KNOWN
        .iter()
        .find(|(_, g)| guid(g) == fs)
        .map_or("unknown", |(n, _)| n)
}

/// The name of an EFI_FV_FILETYPE.
pub fn type_name(t: u8) -> &'static str {
    match t {
        0x01 => "raw",
        0x02 => "freeform",
        0x03 => "SEC core",
        0x04 => "PEI core",
        0x05 => "DXE core",
        0x06 => "PEI module",
        0x07 => "DXE driver",
        0x08 => "combined PEIM/driver",
        0x09 => "application",
        0x0a => "MM module",
        0x0b => "volume image",
        0x0c => "combined MM/DXE",
        0x0d => "MM core",
        0x0e => "MM standalone",
        0x0f => "MM core standalone",
        0xc0..=0xdf => "OEM",
        0xe0..=0xef => "debug",
        0xf0 => "pad",
        0xf1..=0xff => "FFS",
        _ => "unknown",
    }
}

/// The file's state, read with the erase polarity: the highest bit set
/// decides.
fn state(raw: u8, erase_byte: u8) -> &'static str {
    let s = if erase_byte == 0xff { !raw } else { raw };
    match 8 - s.leading_zeros() {
        0 => "none",
        1 => "header-construction",
        2 => "header-valid",
        3 => "valid",
        4 => "marked-for-update",
        5 => "deleted",
        6 => "header-invalid",
        _ => "erased",
    }
}

impl Reader<'_> {
    /// Finds every volume in `area` (an image, a region, a section's
    /// content): each `_FVH` whose header fits is read, and the search goes
    /// on past its end. Linear in the area.
    pub(crate) fn scan(&mut self, area: &[u8], at: Place) {
        if at.depth > MAX_DEPTH {
            self.problem(&at, 0, "volume", format!("nested deeper than {MAX_DEPTH}"));
            return;
        }
        let mut from = 0usize;
        let finder = memchr::memmem::Finder::new(FVH);
        while let Some(hit) = area.get(from..).and_then(|a| finder.find(a)) {
            let sig = from + hit;
            from = sig + 1;
            let Some(start) = sig.checked_sub(40) else {
                continue;
            };
            if let Some(len) = self.volume(area, start, &at) {
                from = start + len;
            }
        }
    }

    /// Reads the volume at `start` of `area`; its length when the header is
    /// a volume's.
    fn volume(&mut self, area: &[u8], start: usize, at: &Place) -> Option<usize> {
        let h = area.get(start..)?;
        let fs = Guid::from_slice(h.get(16..32)?)?;
        let fv_len = u64::from_le_bytes(le(h, 32)?);
        let attributes = u32::from_le_bytes(le(h, 44)?);
        let header_len = u16::from_le_bytes(le(h, 48)?) as usize;
        let ext_off = u16::from_le_bytes(le(h, 52)?) as usize;
        let revision = *h.get(55)?;
        if header_len < MIN_HEADER
            || header_len % 2 != 0
            || fv_len < header_len as u64
            || header_len > h.len()
        {
            return None;
        }
        // A volume running past its container (a truncated dump) is read as
        // far as it goes when its file system is one bootaudit knows; an
        // unknown one is more likely four stray bytes spelling _FVH.
        let truncated = fv_len > h.len() as u64;
        if truncated && format_of(fs) == "unknown" {
            return None;
        }
        let fv_len = fv_len.min(h.len() as u64);
        if self.inv.volumes.len() >= MAX_FILES {
            self.problem(
                at,
                start,
                "volume",
                format!("more than {MAX_FILES} volumes"),
            );
            return Some(fv_len as usize);
        }
        let fv = &h[..fv_len as usize];
        let checksum_ok = fv[..header_len].chunks_exact(2).fold(0u16, |s, c| {
            s.wrapping_add(u16::from_le_bytes([c[0], c[1]]))
        }) == 0;
        let erase_byte = if attributes & ERASE_POLARITY != 0 {
            0xff
        } else {
            0
        };
        // The extended header (FvName) follows the block map.
        let mut files_start = header_len;
        let mut name = None;
        if ext_off != 0 {
            match (
                Guid::from_slice(fv.get(ext_off..).unwrap_or_default()),
                le::<4>(fv, ext_off + 16),
            ) {
                (Some(g), Some(sz)) if ext_off >= header_len => {
                    name = Some(g);
                    let sz = u32::from_le_bytes(sz) as usize;
                    files_start = ext_off.saturating_add(sz.max(20));
                }
                _ => self.problem(
                    at,
                    start + ext_off,
                    "volume extended header",
                    format!("at {ext_off:#x}, outside the volume or inside its header"),
                ),
            }
        }
        let index = self.inv.volumes.len();
        let label = name.unwrap_or(fs);
        let path = if at.path.is_empty() {
            format!("FV {label}@{start:#x}")
        } else {
            format!("{}/FV {label}@{start:#x}", at.path)
        };
        self.inv.volumes.push(Volume {
            index,
            name,
            file_system: fs,
            format: format_of(fs),
            offset: at.image_offset(start),
            offset_in_parent: start as u64,
            size: fv_len,
            revision,
            attributes,
            erase_byte,
            checksum_ok,
            parent_file: at.parent_file,
            compressed: at.compressed,
            depth: at.depth,
            sha256: bootaudit_eventlog::hexser::sha256(fv),
            other_digests: self.all_banks.then(|| {
                use bootaudit_eventlog::alg::HashAlg;
                [HashAlg::Sha1, HashAlg::Sha384]
                    .iter()
                    .filter_map(|a| {
                        Some((a.name(), bootaudit_eventlog::hexser::encode(a.hash(&[fv])?)))
                    })
                    .collect()
            }),
            free_space: 0,
            path: path.clone(),
        });
        let here = Place {
            base: at.image_offset(start),
            path,
            parent_file: at.parent_file,
            compressed: at.compressed,
            depth: at.depth,
        };
        if truncated {
            self.problem(
                &here,
                0,
                "volume header",
                format!(
                    "FvLength runs past the {:#x} bytes that hold the volume: truncated",
                    h.len()
                ),
            );
        }
        if !checksum_ok {
            self.problem(
                &here,
                0,
                "volume header",
                "the header checksum does not sum to zero".into(),
            );
        }
        match format_of(fs) {
            "FFSv2" | "FFSv3" => self.files(fv, align(files_start, 8), index, erase_byte, &here),
            "NVRAM" => {}
            _ => {
                // A file system bootaudit does not read: its bytes are
                // still searched for volumes, so that a header whose
                // FvLength covers a real volume cannot hide it (every byte
                // accounted for), and the volume itself is a problem.
                let before = self.inv.volumes.len();
                let inside = Place {
                    base: at.image_offset(start + header_len),
                    path: here.path.clone(),
                    parent_file: at.parent_file,
                    compressed: at.compressed,
                    depth: at.depth + 1,
                };
                self.scan(&fv[header_len..], inside);
                let found = self.inv.volumes.len() - before;
                self.problem(
                    &here,
                    0,
                    "volume",
                    if found > 0 {
                        format!(
                            "file system {fs} is unknown, and {found} volumes lie inside it: a header that covers other volumes"
                        )
                    } else {
                        format!("file system {fs} is unknown: its content is not inventoried")
                    },
                );
            }
        }
        Some(fv_len as usize)
    }

    /// Reads the files of a volume from `off`.
    fn files(&mut self, fv: &[u8], mut off: usize, volume: usize, erase: u8, at: &Place) {
        while off < fv.len() {
            let rest = &fv[off..];
            if rest.len() < 24 || rest[..24].iter().all(|&b| b == erase) {
                // Free space to the end: anything else in it is hidden data.
                let free = rest.len() as u64;
                if let Some(p) = rest.iter().position(|&b| b != erase) {
                    self.problem(
                        at,
                        off + p,
                        "volume free space",
                        format!(
                            "{} bytes of data after the volume's free space begins at {off:#x}",
                            rest.len() - p
                        ),
                    );
                }
                self.inv.volumes[volume].free_space = free;
                return;
            }
            if self.inv.files.len() >= MAX_FILES {
                self.problem(at, off, "FFS file", format!("more than {MAX_FILES} files"));
                return;
            }
            let size24 = u32::from_le_bytes([rest[20], rest[21], rest[22], 0]) as u64;
            let attributes = rest[19];
            let (size, header) = if attributes & LARGE_FILE != 0 {
                match le::<8>(rest, 24) {
                    Some(s) => (u64::from_le_bytes(s), 32usize),
                    None => (0, 32),
                }
            } else {
                (size24, 24usize)
            };
            if size < header as u64 || size > rest.len() as u64 {
                self.problem(
                    at,
                    off,
                    "FFS file",
                    format!(
                        "size {size:#x} is outside the {:#x} bytes left in the volume",
                        rest.len()
                    ),
                );
                return;
            }
            let file = &rest[..size as usize];
            self.file(file, header, off, volume, erase, at);
            off = align(off + size as usize, 8);
        }
    }

    fn file(
        &mut self,
        file: &[u8],
        header: usize,
        off: usize,
        volume: usize,
        erase: u8,
        at: &Place,
    ) {
        let guid = Guid::from_slice(file).unwrap_or(Guid([0; 16]));
        let file_type = file[18];
        let attributes = file[19];
        let sum = file[..header]
            .iter()
            .enumerate()
            .filter(|(i, _)| *i != 17 && *i != 23)
            .fold(0u8, |s, (_, b)| s.wrapping_add(*b));
        let header_checksum_ok = sum == 0;
        let data_checksum_ok = if attributes & DATA_CHECKSUM != 0 {
            file[header..]
                .iter()
                .fold(file[17], |s, b| s.wrapping_add(*b))
                == 0
        } else {
            // The fixed value of a file whose data is not summed: 0xAA in a
            // PI volume (header revision 2), 0x5A in a pre-PI (Framework)
            // volume of revision 1, as UEFITool reads them.
            let revision = self.inv.volumes.get(volume).map_or(2, |v| v.revision);
            file[17] == if revision == 1 { 0x5a } else { 0xaa }
        };
        let index = self.inv.files.len();
        let path = format!("{}/{guid}", at.path);
        self.inv.files.push(FfsFile {
            index,
            volume,
            guid,
            file_type,
            type_name: type_name(file_type),
            offset_in_volume: off as u64,
            offset: at.image_offset(off),
            size: file.len() as u64,
            attributes,
            state: state(file[23], erase),
            header_checksum_ok,
            data_checksum_ok,
            ui_name: None,
            version: None,
            sha256: bootaudit_eventlog::hexser::sha256(file),
            body: None,
            depex: None,
            freeform_guid: None,
            compressed: at.compressed,
            sections: 0,
            path: path.clone(),
        });
        let here = Place {
            base: at.image_offset(off),
            path,
            parent_file: Some(index),
            compressed: at.compressed,
            depth: at.depth,
        };
        if !header_checksum_ok {
            self.problem(
                &here,
                0,
                "FFS file header",
                "the header checksum does not sum to zero".into(),
            );
        }
        if !data_checksum_ok {
            self.problem(
                &here,
                0,
                "FFS file",
                "the data checksum does not hold".into(),
            );
        }
        // A pad file is erased space: data in it is hidden from every
        // reader that skips pads (UEFITool calls it non-empty).
        if file_type == 0xf0 {
            if let Some(p) = file[header..].iter().position(|&b| b != erase) {
                let n = file[header..].iter().filter(|&&b| b != erase).count();
                self.problem(
                    &here,
                    header + p,
                    "pad file",
                    format!("{n} bytes of data in a pad file, which should hold only erased bytes"),
                );
            }
        }
        // Raw, pad and OEM files hold no sections.
        if matches!(file_type, 0x02..=0x0f) {
            self.sections(&file[header..], header, index, &here);
        }
    }
}
