//! FFS sections (EFI_COMMON_SECTION_HEADER and its extended form): leaf
//! sections fill in the file's facts, encapsulation sections (compression,
//! GUID-defined, firmware-volume image) are opened, within the depth and
//! decompression budget.

use super::decompress::{self, Standard};
use super::layout::guid;
use super::{align, le, Body, FileDepex, Guid, Place, Reader, MAX_DEPTH};

/// GUID-defined sections bootaudit opens.
const LZMA: &str = "ee4e5898-3914-4259-9d6e-dc7bd79403cf";
const LZMA_F86: &str = "d42ae6bd-1352-4bfb-909a-ca72a6eae889";
const TIANO: &str = "a31280ad-481e-41b6-95e8-127f4c984779";
const CRC32: &str = "fc1bcdb0-7d31-49aa-936a-a4600d9dd083";
/// EFI_GUIDED_SECTION_PROCESSING_REQUIRED.
const PROCESSING_REQUIRED: u16 = 0x01;

impl Reader<'_> {
    /// Reads the sections of `data`, the body of file `file`; `off` is the
    /// body's offset in `at`'s buffer.
    pub(crate) fn sections(&mut self, data: &[u8], off: usize, file: usize, at: &Place) {
        if at.depth > MAX_DEPTH {
            self.problem(
                at,
                off,
                "section",
                format!("encapsulated deeper than {MAX_DEPTH}"),
            );
            return;
        }
        let mut pos = 0usize;
        while pos + 4 <= data.len() {
            let s = &data[pos..];
            let size24 = u32::from_le_bytes([s[0], s[1], s[2], 0]) as usize;
            let ty = s[3];
            let (size, header) = if size24 == 0xff_ffff {
                match le::<4>(s, 4) {
                    Some(b) => (u32::from_le_bytes(b) as usize, 8),
                    None => (0, 8),
                }
            } else {
                (size24, 4)
            };
            if size < header || size > s.len() {
                // A file's tail may be padded with the erase byte.
                if !s.iter().all(|&b| b == 0xff || b == 0) {
                    self.problem(at, off + pos, "section", format!("type {ty:#04x}: size {size:#x} is outside the {:#x} bytes left in the file", s.len()));
                }
                return;
            }
            self.inv.files[file].sections += 1;
            self.section(ty, &s[..size], header, off + pos, file, at);
            pos = align(pos + size, 4);
        }
    }

    fn section(&mut self, ty: u8, s: &[u8], header: usize, off: usize, file: usize, at: &Place) {
        let content = &s[header..];
        match ty {
            0x01 => self.compression(s, header, off, file, at),
            0x02 => self.guid_defined(s, header, off, file, at),
            0x10..=0x12 => {
                let f = &mut self.inv.files[file];
                if f.body.is_none() {
                    f.body = Some(body(ty, content));
                    if let Some(v) = self.visit.as_mut() {
                        v(file, content);
                    }
                }
            }
            0x13 | 0x1b | 0x1c => {
                let dispatcher = match ty {
                    0x13 => "dxe",
                    0x1b => "pei",
                    _ => "mm",
                };
                let f = &mut self.inv.files[file];
                if f.depex.is_none() {
                    f.depex = Some(FileDepex {
                        dispatcher,
                        depex: super::depex::decode(content),
                    });
                }
            }
            0x14 => {
                let f = &mut self.inv.files[file];
                if f.version.is_none() {
                    f.version = Some(bootaudit_eventlog::efi::ucs2_to_string(
                        content.get(2..).unwrap_or_default(),
                    ));
                }
            }
            0x15 => {
                let f = &mut self.inv.files[file];
                if f.ui_name.is_none() {
                    f.ui_name = Some(bootaudit_eventlog::efi::ucs2_to_string(content));
                }
            }
            0x17 => {
                let here = Place {
                    base: at.image_offset(off + header),
                    path: format!("{}/FV-image", at.path),
                    parent_file: Some(file),
                    compressed: at.compressed,
                    depth: at.depth + 1,
                };
                self.scan(content, here);
            }
            0x18 => {
                let f = &mut self.inv.files[file];
                f.freeform_guid = Guid::from_slice(content);
            }
            _ => {}
        }
    }

    fn compression(&mut self, s: &[u8], header: usize, off: usize, file: usize, at: &Place) {
        let (Some(len), Some(&kind)) = (le::<4>(s, header), s.get(header + 4)) else {
            self.problem(at, off, "compression section", "truncated header".into());
            return;
        };
        let body = &s[(header + 5).min(s.len())..];
        match kind {
            0 => self.sections(body, off + header + 5, file, &deeper(at)),
            1 => match decompress::efi_standard(
                body,
                Standard::Efi,
                &mut self.budget,
                (off + header + 5) as u64,
            ) {
                Ok((out, algo)) => {
                    self.uncompressed_length(at, off, len, out.len());
                    let name = match algo {
                        Standard::Efi => "EFI",
                        Standard::Tiano => "Tiano",
                    };
                    self.decompressed(&out, name, off, file, at);
                }
                Err(e) => self.error(at, e),
            },
            // EFI_CUSTOMIZED_COMPRESSION: the vendor's own algorithm. Insyde,
            // Phoenix and others put LZMA there (UEFITool reads it so),
            // some with a 4-byte prefix before the LZMA header (Intel's
            // legacy form).
            2 => {
                let at_body = (off + header + 5) as u64;
                let plain = decompress::lzma(body, &mut self.budget, at_body);
                let out = match plain {
                    Ok(out) => Ok(out),
                    Err(e) if body.len() > 4 => {
                        decompress::lzma(&body[4..], &mut self.budget, at_body + 4).map_err(|_| e)
                    }
                    Err(e) => Err(e),
                };
                match out {
                    Ok(out) => {
                        self.uncompressed_length(at, off, len, out.len());
                        self.decompressed(&out, "LZMA (customized)", off, file, at)
                    }
                    Err(e) => self.error(at, e),
                }
            }
            k => self.problem(
                at,
                off,
                "compression section",
                format!("unknown compression type {k}"),
            ),
        }
    }

    /// A compression section whose UncompressedLength is not what it
    /// decoded to is a problem (the section is still read).
    fn uncompressed_length(&mut self, at: &Place, off: usize, len: [u8; 4], decoded: usize) {
        let want = u32::from_le_bytes(len);
        if decoded as u64 != u64::from(want) {
            self.problem(
                at,
                off,
                "compression section",
                format!("UncompressedLength {want} but {decoded} bytes decoded"),
            );
        }
    }

    fn guid_defined(&mut self, s: &[u8], header: usize, off: usize, file: usize, at: &Place) {
        let (Some(g), Some(data_off), Some(attr)) = (
            Guid::from_slice(s.get(header..).unwrap_or_default()),
            le::<2>(s, header + 16).map(u16::from_le_bytes),
            le::<2>(s, header + 18).map(u16::from_le_bytes),
        ) else {
            self.problem(at, off, "GUID-defined section", "truncated header".into());
            return;
        };
        let data_off = data_off as usize;
        if data_off < header + 20 || data_off > s.len() {
            self.problem(
                at,
                off,
                "GUID-defined section",
                format!(
                    "DataOffset {data_off:#x} is outside the section's {:#x} bytes",
                    s.len()
                ),
            );
            return;
        }
        let data = &s[data_off..];
        let at_data = (off + data_off) as u64;
        let result = if g == guid(LZMA) {
            Some(("LZMA", decompress::lzma(data, &mut self.budget, at_data)))
        } else if g == guid(LZMA_F86) {
            Some((
                "LZMA-F86",
                decompress::lzma_f86(data, &mut self.budget, at_data),
            ))
        } else if g == guid(TIANO) {
            Some((
                "Tiano",
                decompress::efi_standard(data, Standard::Tiano, &mut self.budget, at_data)
                    .map(|(o, _)| o),
            ))
        } else {
            None
        };
        match result {
            Some((name, Ok(out))) => self.decompressed(&out, name, off, file, at),
            Some((_, Err(e))) => self.error(at, e),
            None if g == guid(CRC32) => {
                if let Some(want) = le::<4>(s, header + 20).map(u32::from_le_bytes) {
                    if crc32fast::hash(data) != want {
                        self.problem(
                            at,
                            off,
                            "CRC32 section",
                            "the CRC32 does not match the content".into(),
                        );
                    }
                }
                self.sections(data, off + data_off, file, &deeper(at));
            }
            None if attr & PROCESSING_REQUIRED == 0 => {
                self.sections(data, off + data_off, file, &deeper(at))
            }
            None => self.problem(
                at,
                off,
                "GUID-defined section",
                format!("{g}: an encoding bootaudit cannot open; its content is not inventoried"),
            ),
        }
    }

    /// Reads the sections of a decompressed buffer.
    fn decompressed(&mut self, out: &[u8], name: &str, off: usize, file: usize, at: &Place) {
        let here = Place {
            base: None,
            path: format!("{}/{name}@{off:#x}", at.path),
            parent_file: Some(file),
            compressed: true,
            depth: at.depth + 1,
        };
        self.sections(out, 0, file, &here);
    }
}

/// The same place, one encapsulation deeper: every nesting counts against
/// [`MAX_DEPTH`], so that no chain of sections can exhaust the stack.
fn deeper(at: &Place) -> Place {
    Place {
        depth: at.depth + 1,
        ..at.clone()
    }
}

fn body(ty: u8, content: &[u8]) -> Body {
    let kind = match ty {
        0x10 => "pe32",
        0x11 => "pic",
        _ => "te",
    };
    // A PE32 body is hashed once, by inspect() (whose SHA-256 is of the
    // whole content), not again here.
    let pe = (ty == 0x10).then(|| crate::pe::inspect(content));
    let sha256 = match &pe {
        Some(Ok(p)) => p.sha256.clone(),
        _ => bootaudit_eventlog::hexser::sha256(content),
    };
    let mut b = Body {
        kind,
        size: content.len() as u64,
        sha256,
        authenticode_sha256: None,
        machine: None,
        subsystem: None,
        size_of_image: None,
        error: None,
    };
    match pe {
        Some(Ok(p)) => {
            b.authenticode_sha256 = Some(p.authenticode_sha256);
            b.machine = Some(p.machine);
            b.subsystem = Some(p.subsystem);
            // SizeOfImage sits at byte 56 of the optional header in PE32
            // and PE32+ alike; inspect() has checked the headers.
            b.size_of_image = le::<4>(content, 0x3c)
                .map(|x| u32::from_le_bytes(x) as usize)
                .and_then(|pe| le::<4>(content, pe.checked_add(24 + 56)?))
                .map(u32::from_le_bytes);
        }
        Some(Err(e)) => b.error = Some(e.to_string()),
        None => {}
    }
    b
}
