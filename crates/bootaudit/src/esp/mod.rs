//! The EFI System Partition as evidence: a mounted directory, or a raw disk
//! image read in-process (a bare FAT file system, or the FAT partition of an
//! MBR or GPT disk), never mounted and never modified. The image is opened
//! read-only and read by bootaudit's own FAT reader ([`crate::fat`]), so the
//! evidence file stays byte-for-byte intact. In a directory, symbolic links
//! and special files are not followed.
//!
//! Images come from machines that may be compromised: partition tables are
//! bounds-checked against the image size, the walk is bounded in depth,
//! file count and bytes read, and every error names the image and what was
//! wrong.

pub mod binaries;
pub(crate) mod diff;
pub mod path;

use std::io::{self, Read, Seek, SeekFrom};
use std::path::Path;

/// The ESP partition type GUID C12A7328-F81F-11D2-BA4B-00A0C93EC93B, as
/// stored on disk.
pub const ESP_TYPE: [u8; 16] = [
    0x28, 0x73, 0x2a, 0xc1, 0x1f, 0xf8, 0xd2, 0x11, 0xba, 0x4b, 0x00, 0xa0, 0xc9, 0x3e, 0xc9, 0x3b,
];
/// The most bytes read out of one ESP (files are small; an ESP is at most a
/// few hundred MiB).
pub const MAX_BYTES: u64 = 1 << 30;
/// The most entries (files and directories) walked in one ESP.
pub const MAX_FILES: usize = 100_000;
const MAX_DEPTH: usize = 16;
const SECTOR: u64 = 512;

/// Why an ESP could not be read.
#[derive(Debug, thiserror::Error)]
pub enum EspError {
    /// The path could not be read.
    #[error("{path}: {what}: {cause}")]
    Io {
        /// The directory or image.
        path: String,
        /// What was being read.
        what: String,
        /// The error.
        cause: io::Error,
    },
    /// The image holds no FAT file system bootaudit can find.
    #[error("{path}: {why}")]
    Layout {
        /// The image.
        path: String,
        /// What was wrong, with the byte offset.
        why: String,
    },
    /// More files or bytes than an ESP can hold.
    #[error("{path}: more than {limit} {what}; not an ESP")]
    TooLarge {
        /// The directory or image.
        path: String,
        /// The limit.
        limit: u64,
        /// Files or bytes.
        what: &'static str,
    },
}

/// Where the FAT file system starts in an image, and how it was found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Volume {
    /// Byte offset of the file system.
    pub offset: u64,
    /// Its length in bytes.
    pub length: u64,
    /// `fat` (a bare file system), `mbr` or `gpt` (with the partition number).
    pub layout: String,
}

fn looks_fat(boot: &[u8]) -> bool {
    boot.len() >= 512
        && boot[510] == 0x55
        && boot[511] == 0xaa
        && (boot[0] == 0xeb || boot[0] == 0xe9)
        && u16::from_le_bytes([boot[11], boot[12]]).is_power_of_two()
        && (&boot[54..57] == b"FAT" || &boot[82..85] == b"FAT")
}

/// Fields of the fixed-size sectors read below; a short slice reads as 0.
fn le32(b: &[u8], o: usize) -> u32 {
    crate::le::u32_at(b, o).unwrap_or(0)
}
fn le64(b: &[u8], o: usize) -> u64 {
    crate::le::u64_at(b, o).unwrap_or(0)
}

/// Finds the FAT volume in an image of `size` bytes: a bare FAT file
/// system, else the ESP of a GPT disk (its first FAT partition when no ESP
/// type is set), else the first FAT partition of an MBR disk.
pub fn find_volume<R: Read + Seek>(r: &mut R, size: u64) -> Result<Volume, LayoutError> {
    let mut s0 = [0u8; 512];
    read_at(r, 0, &mut s0)
        .map_err(|e| LayoutError::at(0, format!("cannot read the first sector: {e}")))?;
    if looks_fat(&s0) {
        return Ok(Volume {
            offset: 0,
            length: size,
            layout: "fat".into(),
        });
    }
    if s0[510] != 0x55 || s0[511] != 0xaa {
        return Err(LayoutError::at(
            510,
            "no boot signature (55 AA): neither a FAT file system nor a partitioned disk",
        ));
    }
    let parts: Vec<(u8, u64, u64)> = (0..4)
        .map(|i| {
            let e = &s0[446 + 16 * i..462 + 16 * i];
            (
                e[4],
                le32(e, 8) as u64 * SECTOR,
                le32(e, 12) as u64 * SECTOR,
            )
        })
        .collect();
    if parts.iter().any(|p| p.0 == 0xee) {
        return gpt(r, size);
    }
    for (i, (ty, start, len)) in parts.into_iter().enumerate() {
        if ty == 0 || len == 0 {
            continue;
        }
        if start.checked_add(len).is_none_or(|end| end > size) {
            return Err(LayoutError::at(
                446 + 16 * i as u64,
                format!(
                    "MBR partition {} ({start}+{len} bytes) runs past the {size}-byte image",
                    i + 1
                ),
            ));
        }
        let mut b = [0u8; 512];
        if read_at(r, start, &mut b).is_ok() && looks_fat(&b) {
            return Ok(Volume {
                offset: start,
                length: len,
                layout: format!("mbr partition {}", i + 1),
            });
        }
    }
    Err(LayoutError::at(446, "no FAT partition in the MBR"))
}

fn gpt<R: Read + Seek>(r: &mut R, size: u64) -> Result<Volume, LayoutError> {
    let (parts, table_at) = gpt_partitions(r, size, SECTOR)?;
    let mut first_fat = None;
    for p in parts {
        let v = Volume {
            offset: p.first_lba * SECTOR,
            length: (p.last_lba + 1 - p.first_lba) * SECTOR,
            layout: format!("gpt partition {}", p.number),
        };
        if p.type_guid == ESP_TYPE {
            return Ok(v);
        }
        let mut b = [0u8; 512];
        if first_fat.is_none() && read_at(r, v.offset, &mut b).is_ok() && looks_fat(&b) {
            first_fat = Some(v);
        }
    }
    first_fat.ok_or_else(|| {
        LayoutError::at(
            table_at,
            "no EFI System Partition (nor any FAT partition) in the GPT",
        )
    })
}

/// One used entry of a GUID partition table.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GptPartition {
    /// Its number: the entry's index from 1, as Linux and the UEFI
    /// HardDrive device-path node count.
    pub number: u32,
    /// The partition type GUID, as stored on disk ([`ESP_TYPE`]).
    pub type_guid: [u8; 16],
    /// The unique partition GUID, as stored on disk (what a `HD()` node's
    /// signature holds).
    pub unique_guid: [u8; 16],
    /// First LBA.
    pub first_lba: u64,
    /// Last LBA (inclusive).
    pub last_lba: u64,
}

/// The used entries of the GUID partition table of a disk of `size` bytes
/// with `sector`-byte logical blocks (512 or 4096), and the byte offset of
/// the entry array. The header and entries come from a disk a compromised
/// machine wrote: at most 4096 entries of 128 to 4096 bytes are read, and
/// every partition must lie inside the disk.
pub fn gpt_partitions<R: Read + Seek>(
    r: &mut R,
    size: u64,
    sector: u64,
) -> Result<(Vec<GptPartition>, u64), LayoutError> {
    if !(sector == 512 || sector == 4096) {
        return Err(LayoutError::at(
            0,
            format!("a logical block of {sector} bytes (512 or 4096 are read)"),
        ));
    }
    let mut h = [0u8; 92];
    read_at(r, sector, &mut h)
        .map_err(|e| LayoutError::at(sector, format!("cannot read the GPT header: {e}")))?;
    if &h[..8] != b"EFI PART" {
        return Err(LayoutError::at(
            sector,
            "protective MBR but no \"EFI PART\" header",
        ));
    }
    let entries_lba = le64(&h, 72);
    let count = le32(&h, 80) as u64;
    let esize = le32(&h, 84) as u64;
    if !(128..=4096).contains(&esize) || count > 4096 {
        return Err(LayoutError::at(
            sector + 80,
            format!("{count} partition entries of {esize} bytes"),
        ));
    }
    let table_at = entries_lba
        .checked_mul(sector)
        .filter(|&o| o.saturating_add(count * esize) <= size);
    let Some(table_at) = table_at else {
        return Err(LayoutError::at(
            sector + 72,
            format!("partition entries at LBA {entries_lba} lie outside the disk"),
        ));
    };
    let mut out = Vec::new();
    for i in 0..count {
        let mut e = [0u8; 128];
        let at = table_at + i * esize;
        read_at(r, at, &mut e).map_err(|x| LayoutError::at(at, x.to_string()))?;
        if e[..16] == [0; 16] {
            continue;
        }
        let (first, last) = (le64(&e, 32), le64(&e, 40));
        let end = last.saturating_add(1).saturating_mul(sector);
        if last < first || end > size {
            return Err(LayoutError::at(
                at,
                format!(
                    "GPT partition {} (LBA {first}-{last}) runs past the disk",
                    i + 1
                ),
            ));
        }
        let mut type_guid = [0u8; 16];
        type_guid.copy_from_slice(&e[..16]);
        let mut unique_guid = [0u8; 16];
        unique_guid.copy_from_slice(&e[16..32]);
        out.push(GptPartition {
            number: i as u32 + 1,
            type_guid,
            unique_guid,
            first_lba: first,
            last_lba: last,
        });
    }
    Ok((out, table_at))
}

/// Why no FAT volume could be found in an image, and where.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("byte offset {offset}: {why}")]
pub struct LayoutError {
    /// Byte offset of the structure that was wrong.
    pub offset: u64,
    /// What was wrong with it.
    pub why: String,
}

impl LayoutError {
    fn at(offset: u64, why: impl Into<String>) -> LayoutError {
        LayoutError {
            offset,
            why: why.into(),
        }
    }
}

fn read_at<R: Read + Seek>(r: &mut R, at: u64, buf: &mut [u8]) -> io::Result<()> {
    r.seek(SeekFrom::Start(at))?;
    r.read_exact(buf)
}

/// One file read from an ESP: its path relative to the ESP root, with `/`
/// separators, and its bytes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EspFile {
    /// Path relative to the root ("bootaudit/snap-0000.json").
    pub path: String,
    /// Contents.
    pub bytes: Vec<u8>,
}

/// Reads every file under `subdir` (case-insensitive, e.g. "bootaudit") of
/// the ESP at `source`: a directory, or an image file.
pub fn read_tree(source: &Path, subdir: &str) -> Result<(String, Vec<EspFile>), EspError> {
    let name = source.display().to_string();
    let io = |what: &str, cause| EspError::Io {
        path: name.clone(),
        what: what.to_string(),
        cause,
    };
    let ft = std::fs::symlink_metadata(source)
        .map_err(|e| io("open", e))?
        .file_type();
    if ft.is_dir() {
        let mut w = Walk::new(&name, MAX_BYTES);
        // The entry must itself be a directory, not a link to one: nothing
        // outside the ESP that was named is read.
        let Some(dir) = std::fs::read_dir(source)
            .map_err(|e| io("list", e))?
            .flatten()
            .find(|e| {
                e.file_name().to_string_lossy().eq_ignore_ascii_case(subdir)
                    && e.file_type().is_ok_and(|t| t.is_dir())
            })
        else {
            return Ok(("directory".into(), w.out));
        };
        walk_dir(&mut w, &dir.path(), &dir.file_name().to_string_lossy(), 0)?;
        return Ok(("directory".into(), w.out));
    }
    if !ft.is_file() {
        return Err(io(
            "open",
            io::Error::new(
                io::ErrorKind::InvalidInput,
                format!(
                    "{}, neither a directory nor an image file",
                    crate::fsutil::kind_of(&ft)
                ),
            ),
        ));
    }
    let f = crate::fsutil::open_input(source).map_err(|e| io("open", e))?;
    let size = f.metadata().map_err(|e| io("size", e))?.len();
    read_image(f, size, subdir, &name)
}

/// Reads every file under `subdir` of the FAT volume in an image of `size`
/// bytes; `name` names the image in errors. The FAT is read by
/// [`crate::fat`], which ends every walk with an error naming the cluster
/// or entry and never reads more than the volume holds; a panic, were one
/// left, is still caught and reported as a malformed image.
pub fn read_image<R: Read + Seek>(
    f: R,
    size: u64,
    subdir: &str,
    name: &str,
) -> Result<(String, Vec<EspFile>), EspError> {
    crate::guard::quietly(|| read_image_inner(f, size, subdir, name)).unwrap_or_else(|| {
        Err(EspError::Layout {
            path: name.to_string(),
            why: "the FAT file system is malformed (the FAT reader failed on it)".into(),
        })
    })
}

fn read_image_inner<R: Read + Seek>(
    mut f: R,
    size: u64,
    subdir: &str,
    name: &str,
) -> Result<(String, Vec<EspFile>), EspError> {
    let name = name.to_string();
    let vol = find_volume(&mut f, size).map_err(|e| EspError::Layout {
        path: name.clone(),
        why: e.to_string(),
    })?;
    let fat_err = |e: crate::fat::FatError| EspError::Layout {
        path: name.clone(),
        why: e.to_string(),
    };
    let mut fs =
        crate::fat::Volume::open(f, vol.offset, vol.length).map_err(|e| EspError::Layout {
            path: name.clone(),
            why: format!("not a FAT file system: {e}"),
        })?;
    // Nothing read from the image exceeds its own size, nor the cap.
    let mut w = Walk::new(&name, MAX_BYTES.min(vol.length));
    let root = fs.root().map_err(fat_err)?;
    if let Some(d) = root
        .iter()
        .find(|e| e.is_dir && e.name.eq_ignore_ascii_case(subdir))
    {
        walk_fat(&mut w, &mut fs, d, &d.name, 0)?;
    }
    Ok((vol.layout, w.out))
}

/// What a walk has read so far, and what it may still read: every entry
/// (directories too: a tree of empty directories is no cheaper to walk
/// than one of files) counts against [`MAX_FILES`], every file's bytes
/// against the byte budget.
struct Walk<'a> {
    /// The ESP, for errors.
    name: &'a str,
    out: Vec<EspFile>,
    entries: usize,
    budget: u64,
}

impl<'a> Walk<'a> {
    fn new(name: &'a str, budget: u64) -> Self {
        Walk {
            name,
            out: Vec::new(),
            entries: 0,
            budget,
        }
    }

    fn too_large(&self, limit: u64, what: &'static str) -> EspError {
        EspError::TooLarge {
            path: self.name.into(),
            limit,
            what,
        }
    }

    /// Counts one more directory entry.
    fn enter(&mut self) -> Result<(), EspError> {
        self.entries += 1;
        if self.entries > MAX_FILES {
            return Err(self.too_large(MAX_FILES as u64, "files"));
        }
        Ok(())
    }

    /// Keeps a file read, charging its bytes to the budget.
    fn push(&mut self, file: EspFile) -> Result<(), EspError> {
        self.budget = self
            .budget
            .checked_sub(file.bytes.len() as u64)
            .ok_or_else(|| self.too_large(MAX_BYTES, "bytes"))?;
        self.out.push(file);
        Ok(())
    }

    fn nested_too_deep(&self, rel: &str) -> EspError {
        EspError::Layout {
            path: self.name.into(),
            why: format!("{rel}: directories nested deeper than {MAX_DEPTH}"),
        }
    }
}

fn walk_dir(w: &mut Walk, dir: &Path, rel: &str, depth: usize) -> Result<(), EspError> {
    if depth > MAX_DEPTH {
        return Err(w.nested_too_deep(rel));
    }
    let name = w.name;
    let io = |what: String, cause| EspError::Io {
        path: name.to_string(),
        what,
        cause,
    };
    for e in std::fs::read_dir(dir)
        .map_err(|c| io(format!("list {rel}"), c))?
        .flatten()
    {
        let p = e.path();
        let child = format!("{rel}/{}", e.file_name().to_string_lossy());
        // Not followed: a symbolic link (to a file or a directory) and any
        // special file are left out, so nothing outside the ESP is read.
        let ft = e.file_type().map_err(|c| io(child.clone(), c))?;
        w.enter()?;
        if ft.is_dir() {
            walk_dir(w, &p, &child, depth + 1)?;
        } else if ft.is_file() {
            let mut bytes = Vec::new();
            crate::fsutil::open_input(&p)
                .and_then(|f| f.take(w.budget + 1).read_to_end(&mut bytes))
                .map_err(|c| io(child.clone(), c))?;
            w.push(EspFile { path: child, bytes })?;
        }
    }
    Ok(())
}

fn walk_fat<R: Read + Seek>(
    w: &mut Walk,
    fs: &mut crate::fat::Volume<R>,
    dir: &crate::fat::DirEntry,
    rel: &str,
    depth: usize,
) -> Result<(), EspError> {
    let name = w.name;
    let layout = |e: crate::fat::FatError| EspError::Layout {
        path: name.into(),
        why: e.to_string(),
    };
    if depth > MAX_DEPTH {
        return Err(w.nested_too_deep(rel));
    }
    let entries = fs.dir_at(dir.cluster, rel).map_err(layout)?;
    for e in entries {
        if e.name == "." || e.name == ".." {
            continue;
        }
        let child = format!("{rel}/{}", e.name);
        w.enter()?;
        if e.is_dir {
            walk_fat(w, fs, &e, &child, depth + 1)?;
        } else {
            // A size past the budget (the image's own size, at most
            // MAX_BYTES) is an error naming the file, before any read.
            let bytes = fs.read_file(&e, &child, w.budget).map_err(layout)?;
            w.push(EspFile { path: child, bytes })?;
        }
    }
    Ok(())
}
