//! bootaudit-firmware: the UEFI PI firmware image reader.
//!
//! A vendor's image is bootaudit's known-good, read from what the judged
//! machine cannot write. [`read`] turns an image (an OVMF `.fd`, a full SPI dump with an Intel
//! flash descriptor, or a vendor's EFI capsule) into an [`Inventory`]:
//! every firmware volume (FFSv2 and FFSv3, nested ones inside compressed
//! sections included), every FFS file with its UI name, version, body
//! hashes and dependency expression, and every structural problem found on
//! the way. The judgement (comparing two inventories, the reference store,
//! checking a snapshot against a reference) is the `bootaudit` library's.
//!
//! The image may come from a compromised machine (a dump of its flash),
//! so every structure is checked against its container before it is read,
//! decompression draws from one [`decompress::Budget`], nesting is bounded
//! by [`MAX_DEPTH`], and a malformed part is a [`Problem`] naming its place
//! and offset while the rest of the image is still read.
//!
//! ```
//! use bootaudit_firmware::read;
//!
//! // A 4 KiB FFSv2 volume (erase polarity 1) holding one DXE driver file
//! // whose only section is its UI name, laid out as EDK II's GenFv does.
//! let ffs2 = [
//!     0x78, 0xe5, 0x8c, 0x8c, 0x3d, 0x8a, 0x1c, 0x4f, //
//!     0x99, 0x35, 0x89, 0x61, 0x85, 0xc3, 0x2d, 0xd3,
//! ];
//! let mut fv = vec![0u8; 16];
//! fv.extend_from_slice(&ffs2); // FileSystemGuid
//! fv.extend_from_slice(&0x1000u64.to_le_bytes()); // FvLength
//! fv.extend_from_slice(b"_FVH");
//! fv.extend_from_slice(&0x0004_feffu32.to_le_bytes()); // Attributes
//! fv.extend_from_slice(&0x48u16.to_le_bytes()); // HeaderLength
//! fv.extend_from_slice(&[0, 0, 0, 0, 0, 2]); // Checksum, ExtHeaderOffset, Revision
//! fv.extend_from_slice(&1u32.to_le_bytes()); // one block
//! fv.extend_from_slice(&0x1000u32.to_le_bytes()); // of 4 KiB
//! fv.extend_from_slice(&[0; 8]); // the block map's end
//! let sum = fv
//!     .chunks(2)
//!     .fold(0u16, |s, c| s.wrapping_add(u16::from_le_bytes([c[0], c[1]])));
//! fv[50..52].copy_from_slice(&sum.wrapping_neg().to_le_bytes());
//!
//! // The file: its UI section ("Demo" in UCS-2), under a 24-byte header.
//! let name: Vec<u8> = "Demo\0".encode_utf16().flat_map(u16::to_le_bytes).collect();
//! let mut file = vec![0x11; 16]; // the file's name GUID
//! let size = 24 + 4 + name.len();
//! file.extend_from_slice(&[0, 0xaa, 0x07, 0]); // checksums, DXE driver, attributes
//! file.extend_from_slice(&(size as u32).to_le_bytes()[..3]);
//! file.push(0);
//! let header_sum = file.iter().fold(0u8, |s, b| s.wrapping_add(*b)).wrapping_sub(0xaa);
//! file[16] = header_sum.wrapping_neg();
//! file[23] = !0x07; // State: header and data valid (inverted, polarity 1)
//! file.extend_from_slice(&((4 + name.len()) as u32).to_le_bytes()[..3]);
//! file.push(0x15); // EFI_SECTION_USER_INTERFACE
//! file.extend_from_slice(&name);
//! fv.extend_from_slice(&file);
//! fv.resize(0x1000, 0xff);
//!
//! let inventory = read(&fv)?;
//! assert_eq!(inventory.volumes.len(), 1);
//! let driver = &inventory.files[0];
//! assert_eq!(driver.ui_name.as_deref(), Some("Demo"));
//! assert!(inventory.problems.is_empty());
//! // Bytes with no volume in them are an error, not an empty inventory.
//! assert!(read(&[0xff; 4096]).is_err());
//! # Ok::<(), bootaudit_firmware::FirmwareError>(())
//! ```

pub mod decompress;
pub mod depex;
pub mod efilist;
pub mod guard;
mod layout;
pub mod pe;
mod section;
mod volume;

pub use layout::Container;

use bootaudit_eventlog::efi::Guid;
use serde::Serialize;

/// The largest image read (a full SPI dump is at most 64 MiB today).
pub const MAX_IMAGE: u64 = 256 << 20;
/// How deep volumes and encapsulation sections may nest.
pub const MAX_DEPTH: usize = 8;
/// The most files an image may hold (OVMF has about 150).
pub const MAX_FILES: usize = 100_000;
/// The most problems kept; the rest are counted.
pub const MAX_PROBLEMS: usize = 1000;

/// Why an image cannot be read at all (a damaged part of a readable image
/// is a [`Problem`] instead).
#[derive(Debug, thiserror::Error)]
pub enum FirmwareError {
    /// A structure at `offset` cannot be read.
    #[error("byte {offset:#x}, {structure}: {message}")]
    At {
        /// The byte offset (in the image, or in a decompressed buffer whose
        /// place the message names).
        offset: u64,
        /// The structure being read.
        structure: &'static str,
        /// What is wrong.
        message: String,
    },
    /// Nothing in the file is a firmware volume.
    #[error("no UEFI firmware volume (_FVH) found in {size} bytes")]
    NoVolume {
        /// The file's size.
        size: u64,
    },
}

impl FirmwareError {
    pub(crate) fn at(offset: u64, structure: &'static str, message: String) -> FirmwareError {
        FirmwareError::At {
            offset,
            structure,
            message,
        }
    }
}

/// A damaged or suspicious part of an image that was still read around.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Problem {
    /// Where: the path of the volume, file or section (see
    /// [`Volume::path`]).
    pub location: String,
    /// The byte offset, in the image when `in_image`, else in the
    /// decompressed buffer the location names.
    pub offset: u64,
    /// True when `offset` is an offset in the image file.
    pub in_image: bool,
    /// The structure (`volume header`, `FFS file`, `LZMA section`).
    pub structure: String,
    /// What is wrong.
    pub message: String,
}

/// One firmware volume.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Volume {
    /// Its index in [`Inventory::volumes`].
    pub index: usize,
    /// The volume's name GUID (its extended header's FvName), when it has
    /// one: what EDK II's build names FVMAIN, PEIFV, DXEFV by.
    pub name: Option<Guid>,
    /// The file-system GUID of the header.
    pub file_system: Guid,
    /// `FFSv2`, `FFSv3`, `NVRAM`, or `unknown`.
    pub format: &'static str,
    /// Offset in the image file; `None` inside a decompressed section.
    pub offset: Option<u64>,
    /// Offset in its parent buffer (the image, or a section's content).
    pub offset_in_parent: u64,
    /// FvLength.
    pub size: u64,
    /// The header's revision (2 for PI volumes).
    pub revision: u8,
    /// EFI_FVB_ATTRIBUTES_2.
    pub attributes: u32,
    /// The erase byte (0xFF when EFI_FVB2_ERASE_POLARITY is set).
    pub erase_byte: u8,
    /// The header's 16-bit checksum sums to zero.
    pub checksum_ok: bool,
    /// The file whose FV-image section holds this volume, if any.
    pub parent_file: Option<usize>,
    /// True when the volume sits inside a compressed section, at any depth.
    pub compressed: bool,
    /// How deep it is nested (0 for a volume of the image itself).
    pub depth: usize,
    /// SHA-256 of the volume's bytes: what EDK II measures as an
    /// EV_EFI_PLATFORM_FIRMWARE_BLOB(2) when it measures a volume.
    pub sha256: String,
    /// SHA-1 and SHA-384 of the volume's bytes too, for the TPM banks a
    /// log may use; only when asked for ([`read_with_all_banks`]).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub other_digests: Option<std::collections::BTreeMap<String, String>>,
    /// Bytes of free space (erase bytes) after the last file.
    pub free_space: u64,
    /// Where it sits: `FV@0x0`, `FV@0x0/<file GUID>/LZMA/FV@0x0`.
    pub path: String,
}

/// The PE32, TE or PIC image of a file.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Body {
    /// `pe32`, `te` or `pic`.
    pub kind: &'static str,
    /// Its size.
    pub size: u64,
    /// SHA-256 of the section's content.
    pub sha256: String,
    /// The Authenticode SHA-256 of a PE32 body: what a loaded image's
    /// measurement and db/dbx name it by.
    pub authenticode_sha256: Option<String>,
    /// COFF machine of a PE32 body.
    pub machine: Option<u16>,
    /// Subsystem of a PE32 body (11 boot-service driver, 12 runtime).
    pub subsystem: Option<u16>,
    /// A PE32 body's SizeOfImage: what the loaded-image protocol of the
    /// running firmware reports for it, so a loaded driver can be matched
    /// to the stored one.
    pub size_of_image: Option<u32>,
    /// Why a PE32 body could not be read as PE, when it could not.
    pub error: Option<String>,
}

/// A dependency expression and which dispatcher reads it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct FileDepex {
    /// `pei`, `dxe` or `mm`.
    pub dispatcher: &'static str,
    /// The expression.
    #[serde(flatten)]
    pub depex: depex::Depex,
}

/// One FFS file.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct FfsFile {
    /// Its index in [`Inventory::files`].
    pub index: usize,
    /// The volume that holds it.
    pub volume: usize,
    /// The file's name GUID.
    pub guid: Guid,
    /// EFI_FV_FILETYPE.
    pub file_type: u8,
    /// The type's name (`DXE driver`, `PEI module`, `application`, `pad`).
    pub type_name: &'static str,
    /// Offset in its volume.
    pub offset_in_volume: u64,
    /// Offset in the image file; `None` inside a decompressed section.
    pub offset: Option<u64>,
    /// The whole file's size, header included.
    pub size: u64,
    /// The header's attributes byte.
    pub attributes: u8,
    /// The state (`valid`, `deleted`, `marked-for-update`, ...), read with
    /// the volume's erase polarity.
    pub state: &'static str,
    /// The header checksum holds.
    pub header_checksum_ok: bool,
    /// The data checksum holds (or is the fixed value when not used: 0xAA
    /// in a PI volume, 0x5A in a pre-PI volume of header revision 1).
    pub data_checksum_ok: bool,
    /// The UI section's name.
    pub ui_name: Option<String>,
    /// The version section's string.
    pub version: Option<String>,
    /// SHA-256 of the whole file.
    pub sha256: String,
    /// The executable body.
    pub body: Option<Body>,
    /// The dependency expression.
    pub depex: Option<FileDepex>,
    /// A freeform-subtype-GUID section's GUID.
    pub freeform_guid: Option<Guid>,
    /// True when it sits inside a compressed section, at any depth.
    pub compressed: bool,
    /// Sections read (encapsulated ones included).
    pub sections: usize,
    /// Where it sits: its volume's path and its GUID.
    pub path: String,
}

impl FfsFile {
    /// True for a file the dispatchers run: a PEIM, a DXE or MM driver, a
    /// core, or an application.
    pub fn is_executable(&self) -> bool {
        bootaudit_snapshot::is_executable_file_type(self.file_type)
    }
}

/// Everything read from one image.
#[derive(Clone, Debug, Serialize)]
pub struct Inventory {
    /// The image's size.
    pub size: u64,
    /// SHA-256 of the image file.
    pub sha256: String,
    /// How the volumes are packaged.
    pub container: Container,
    /// Every volume, parents before the volumes they hold.
    pub volumes: Vec<Volume>,
    /// Every file, in volume order.
    pub files: Vec<FfsFile>,
    /// Every problem found, at most [`MAX_PROBLEMS`].
    pub problems: Vec<Problem>,
    /// Problems past [`MAX_PROBLEMS`], counted.
    pub problems_dropped: usize,
    /// Bytes decompressed in all.
    pub decompressed: u64,
}

impl Inventory {
    /// The files of every volume, indexed by volume (one pass: an image may
    /// hold many volumes and files, and a per-volume scan would be
    /// quadratic).
    pub fn files_by_volume(&self) -> Vec<Vec<&FfsFile>> {
        let mut out: Vec<Vec<&FfsFile>> = vec![Vec::new(); self.volumes.len()];
        for f in &self.files {
            if let Some(v) = out.get_mut(f.volume) {
                v.push(f);
            }
        }
        out
    }

    /// The display name of a volume: its name GUID, else its file system.
    pub fn volume_label(&self, v: usize) -> String {
        self.volumes
            .get(v)
            .map(|v| v.name.unwrap_or(v.file_system).to_string())
            .unwrap_or_default()
    }
}

/// Reads an image.
pub fn read(image: &[u8]) -> Result<Inventory, FirmwareError> {
    read_inner(image, false, None)
}

/// [`read`], calling `visit` with each executable body (PE32, TE, PIC) as
/// it is found: the file's index in [`Inventory::files`] and the section's
/// content. What an indicator's byte pattern or hash is matched against,
/// without keeping every body in memory.
pub fn read_visiting(
    image: &[u8],
    visit: &mut dyn FnMut(usize, &[u8]),
) -> Result<Inventory, FirmwareError> {
    read_inner(image, false, Some(visit))
}

/// Reads an image, and hashes every volume in the SHA-1 and SHA-384 banks
/// as well (for a reference, which a log of any bank is matched with).
pub fn read_with_all_banks(image: &[u8]) -> Result<Inventory, FirmwareError> {
    read_inner(image, true, None)
}

fn read_inner(
    image: &[u8],
    all_banks: bool,
    visit: Option<BodyVisitor<'_>>,
) -> Result<Inventory, FirmwareError> {
    let container = layout::detect(image);
    let (start, end) = container.volume_area(image.len());
    let mut r = Reader {
        budget: decompress::Budget::for_input(image.len()),
        inv: Inventory {
            size: image.len() as u64,
            sha256: bootaudit_eventlog::hexser::sha256(image),
            container,
            volumes: Vec::new(),
            files: Vec::new(),
            problems: Vec::new(),
            problems_dropped: 0,
            decompressed: 0,
        },
        total_budget: 0,
        all_banks,
        visit,
    };
    r.total_budget = r.budget.remaining;
    // Flash-descriptor regions that overlap: the same bytes would be two
    // regions (a BIOS region laid over the ME's hides code from a reader
    // of either). Sorted by base, each against the next: linear.
    if let Container::FlashDescriptor { regions } = &r.inv.container {
        let mut sorted: Vec<&layout::Region> = regions.iter().collect();
        sorted.sort_by_key(|x| (x.base, x.index));
        let overlaps: Vec<(String, u64)> = sorted
            .windows(2)
            .filter(|w| w[1].base < w[0].base.saturating_add(w[0].size))
            .map(|w| {
                (
                    format!(
                        "regions {} ({:#x}+{:#x}) and {} ({:#x}+{:#x}) overlap",
                        w[0].name, w[0].base, w[0].size, w[1].name, w[1].base, w[1].size
                    ),
                    w[1].base,
                )
            })
            .collect();
        for (why, at) in overlaps {
            let place = Place {
                base: Some(0),
                path: String::new(),
                parent_file: None,
                compressed: false,
                depth: 0,
            };
            r.problem(&place, at as usize, "flash descriptor", why);
        }
    }
    let area = image.get(start..end).unwrap_or_default();
    r.scan(
        area,
        Place {
            base: Some(start as u64),
            path: String::new(),
            parent_file: None,
            compressed: false,
            depth: 0,
        },
    );
    if r.inv.volumes.is_empty() {
        return Err(FirmwareError::NoVolume {
            size: image.len() as u64,
        });
    }
    r.inv.decompressed = r.total_budget - r.budget.remaining;
    Ok(r.inv)
}

/// Where a buffer being read sits.
#[derive(Clone, Debug)]
pub(crate) struct Place {
    /// The image offset of the buffer's first byte, when it is image bytes.
    pub base: Option<u64>,
    /// The path of what holds it.
    pub path: String,
    /// The file holding it.
    pub parent_file: Option<usize>,
    /// Inside a compressed section.
    pub compressed: bool,
    /// Nesting depth.
    pub depth: usize,
}

impl Place {
    /// The image offset of byte `off` of the buffer, when known.
    pub fn image_offset(&self, off: usize) -> Option<u64> {
        self.base.map(|b| b + off as u64)
    }
}

/// What [`read_visiting`] calls with each executable body: the file's
/// index in [`Inventory::files`], and the section's content.
pub type BodyVisitor<'v> = &'v mut dyn FnMut(usize, &[u8]);

/// The reader's state for one image.
pub(crate) struct Reader<'v> {
    pub budget: decompress::Budget,
    pub inv: Inventory,
    total_budget: u64,
    /// Hash volumes in every bank.
    pub all_banks: bool,
    /// Called with each file's executable body (its index in `inv.files`
    /// and the section's content), while the bytes are at hand.
    pub visit: Option<BodyVisitor<'v>>,
}

impl Reader<'_> {
    /// Records a problem at byte `off` of the buffer `at` describes.
    pub fn problem(&mut self, at: &Place, off: usize, structure: &str, message: String) {
        if self.inv.problems.len() >= MAX_PROBLEMS {
            self.inv.problems_dropped += 1;
            return;
        }
        self.inv.problems.push(Problem {
            location: if at.path.is_empty() {
                "image".into()
            } else {
                at.path.clone()
            },
            offset: at.image_offset(off).unwrap_or(off as u64),
            in_image: at.base.is_some(),
            structure: structure.into(),
            message,
        });
    }

    /// Records a decompression or structure error as a problem.
    pub fn error(&mut self, at: &Place, e: FirmwareError) {
        match e {
            FirmwareError::At {
                offset,
                structure,
                message,
            } => self.problem(at, offset as usize, structure, message),
            e => self.problem(at, 0, "image", e.to_string()),
        }
    }
}

/// Rounds `x` up to a multiple of `a` (a power of two).
pub(crate) fn align(x: usize, a: usize) -> usize {
    x.checked_add(a - 1).map_or(usize::MAX, |v| v & !(a - 1))
}

/// The `N` bytes at `off` (a little-endian field's), if they are there:
/// the one byte reader's point read.
pub(crate) use bootaudit_snapshot::bytes::array_at as le;
