//! How an image packages its volumes: bare (an OVMF `.fd`, a BIOS region),
//! a full SPI dump whose Intel flash descriptor names the BIOS region, or
//! an EFI capsule (a vendor's `.cap`, FMP or not) whose payload holds them.

use super::{le, Guid};
use serde::Serialize;

/// The Intel flash descriptor's signature (FLVALSIG) at byte 16.
const FLVALSIG: u32 = 0x0ff0_a55a;

/// One region of an Intel flash descriptor.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Region {
    /// 0 descriptor, 1 BIOS, 2 ME, 3 GbE, 4 platform data, ...
    pub index: usize,
    /// Its name.
    pub name: &'static str,
    /// First byte.
    pub base: u64,
    /// Bytes.
    pub size: u64,
}

/// How the volumes are packaged.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Container {
    /// Volumes (and padding) only.
    Raw,
    /// A full SPI flash image; volumes are read from the BIOS region.
    FlashDescriptor {
        /// The regions the descriptor names.
        regions: Vec<Region>,
    },
    /// An EFI capsule.
    Capsule {
        /// The capsule GUID.
        guid: Guid,
        /// What the GUID says it is.
        format: &'static str,
        /// HeaderSize.
        header_size: u32,
        /// Flags.
        flags: u32,
        /// CapsuleImageSize.
        image_size: u32,
    },
}

/// Capsule GUIDs vendors ship (name, GUID in memory order).
const CAPSULES: &[(&str, &str)] = &[
    ("FMP", "6dcbd5ed-e82d-4c44-bda1-7194199ad92a"),
    ("EFI", "3b6686bd-0d76-4030-b70e-b5519e2fc5a0"),
    ("Intel", "539182b9-abb5-4391-b69a-e3a943f72fcc"),
    ("AMI Aptio", "3be07062-1d51-45d2-832b-f093257ed461"),
    ("AMI Aptio signed", "4a3ca68b-7723-48fb-803d-578cc1fec44d"),
    ("Lenovo", "e20bafd3-9914-4f4f-9537-3129e090eb3c"),
    ("Toshiba", "3be07062-1d51-45d2-832b-f093257ed461"),
];

const REGION_NAMES: &[&str] = &[
    "descriptor",
    "BIOS",
    "ME",
    "GbE",
    "platform data",
    "device expansion",
    "BIOS 2",
    "microcode",
    "EC",
    "device expansion 2",
    "IE",
    "10GbE 0",
    "10GbE 1",
    "reserved 13",
    "reserved 14",
    "PTT",
];

/// A GUID constant of this module, written as text.
pub(super) fn guid(s: &str) -> Guid {
    Guid::parse(s).unwrap_or(Guid([0; 16]))
}

/// Finds the container.
pub fn detect(image: &[u8]) -> Container {
    if let Some(c) = capsule(image) {
        return c;
    }
    if let Some(regions) = descriptor(image) {
        return Container::FlashDescriptor { regions };
    }
    Container::Raw
}

fn capsule(image: &[u8]) -> Option<Container> {
    let g = Guid::from_slice(image)?;
    let (format, _) = CAPSULES.iter().find(|(_, s)| guid(s) == g)?;
    let header_size = u32::from_le_bytes(le(image, 16)?);
    let flags = u32::from_le_bytes(le(image, 20)?);
    let image_size = u32::from_le_bytes(le(image, 24)?);
    if (header_size as usize) < 28 || header_size as usize > image.len() {
        return None;
    }
    Some(Container::Capsule {
        guid: g,
        format,
        header_size,
        flags,
        image_size,
    })
}

fn descriptor(image: &[u8]) -> Option<Vec<Region>> {
    if u32::from_le_bytes(le(image, 16)?) != FLVALSIG {
        return None;
    }
    let flmap0 = u32::from_le_bytes(le(image, 20)?);
    let frba = (((flmap0 >> 16) & 0xff) << 4) as usize;
    let nr = ((flmap0 >> 24) & 0x7) as usize;
    // Newer descriptors have up to 16 region registers; NR counts only
    // some of them, so read all that fit and keep the ones in use.
    let count = REGION_NAMES.len().max(nr + 1);
    let mut regions = Vec::new();
    for i in 0..count {
        let Some(r) = le::<4>(image, frba + 4 * i).map(u32::from_le_bytes) else {
            break;
        };
        let base = u64::from(r & 0x7fff) << 12;
        let limit = (u64::from((r >> 16) & 0x7fff) << 12) | 0xfff;
        if base > limit || base >= image.len() as u64 {
            continue;
        }
        regions.push(Region {
            index: i,
            name: REGION_NAMES.get(i).copied().unwrap_or("unknown"),
            base,
            size: limit.min(image.len() as u64 - 1) - base + 1,
        });
    }
    regions.iter().any(|r| r.index == 1).then_some(regions)
}

impl Container {
    /// The bytes of the image that hold volumes.
    pub fn volume_area(&self, len: usize) -> (usize, usize) {
        match self {
            Container::Raw => (0, len),
            Container::FlashDescriptor { regions } => regions
                .iter()
                .find(|r| r.index == 1)
                .map(|r| (r.base as usize, (r.base + r.size) as usize))
                .unwrap_or((0, len)),
            Container::Capsule {
                header_size,
                image_size,
                ..
            } => {
                let end = if *image_size as usize > *header_size as usize {
                    (*image_size as usize).min(len)
                } else {
                    len
                };
                (*header_size as usize, end)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn guid_text_is_memory_order() {
        // EFI_GLOBAL_VARIABLE, whose bytes efi.rs writes out by hand.
        assert_eq!(
            guid("8be4df61-93ca-11d2-aa0d-00e098032b8c"),
            Guid::GLOBAL_VARIABLE
        );
    }

    #[test]
    fn a_flash_descriptor_names_the_bios_region() {
        let mut img = vec![0xffu8; 0x10_0000];
        img[16..20].copy_from_slice(&FLVALSIG.to_le_bytes());
        // FRBA = 0x40 (FLMAP0 bits 16-23 = 4), NR = 2.
        img[20..24].copy_from_slice(&0x0204_0003u32.to_le_bytes());
        let reg = |base: u32, limit: u32| ((limit >> 12) << 16) | (base >> 12);
        img[0x40..0x44].copy_from_slice(&reg(0, 0xfff).to_le_bytes());
        img[0x44..0x48].copy_from_slice(&reg(0x8_0000, 0xf_ffff).to_le_bytes());
        img[0x48..0x4c].copy_from_slice(&reg(0x1000, 0x7_ffff).to_le_bytes());
        let c = detect(&img);
        assert_eq!(c.volume_area(img.len()), (0x8_0000, 0x10_0000));
        let Container::FlashDescriptor { regions } = c else {
            panic!("not a descriptor")
        };
        assert_eq!(
            regions.iter().map(|r| r.name).collect::<Vec<_>>(),
            ["descriptor", "BIOS", "ME"]
        );
    }
}
