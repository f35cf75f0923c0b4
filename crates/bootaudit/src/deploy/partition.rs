//! Which GPT partition a mounted ESP is: from the kernel's view of the
//! mount (its device number, and sysfs's partition number, start and
//! size), then the disk's own partition table, read by bootaudit's bounded
//! GPT reader ([`crate::esp::gpt_partitions`]) for the partition's unique
//! GUID and type. The two must agree: the partition sysfs names must be a
//! GPT entry of the EFI System Partition type at the same place.

use crate::esp::{gpt_partitions, ESP_TYPE};
use std::os::unix::fs::{FileTypeExt, MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

/// Where Linux distributions mount the ESP, in the order looked at.
pub const ESP_MOUNTS: [&str; 2] = ["/boot/efi", "/efi"];

/// statfs's f_type of FAT (vfat and msdos).
const MSDOS_SUPER_MAGIC: u64 = 0x4d44;

/// The ESP: where it is mounted and which partition it is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EspPartition {
    /// The mount point.
    pub mount: PathBuf,
    /// The disk's device node (`/dev/vda`).
    pub disk: PathBuf,
    /// The partition's number (from 1).
    pub number: u32,
    /// The unique partition GUID, as stored on disk.
    pub unique_guid: [u8; 16],
    /// First logical block.
    pub first_lba: u64,
    /// Size in logical blocks.
    pub size_lba: u64,
    /// The disk's logical block size.
    pub lba_size: u64,
}

fn read_sys(p: &Path) -> Result<String, String> {
    crate::fsutil::read_input(p, 4096)
        .map(|b| String::from_utf8_lossy(&b).trim().to_string())
        .map_err(|e| format!("{}: {e}", p.display()))
}

fn read_sys_u64(p: &Path) -> Result<u64, String> {
    let s = read_sys(p)?;
    s.parse()
        .map_err(|_| format!("{}: {s:?} is not a number", p.display()))
}

/// The ESP `given`, else the first of [`ESP_MOUNTS`] that is one; the
/// error says why each was not.
pub fn find(given: Option<&Path>) -> Result<EspPartition, String> {
    if let Some(p) = given {
        return locate(p);
    }
    let mut why = Vec::new();
    for p in ESP_MOUNTS {
        match locate(Path::new(p)) {
            Ok(e) => return Ok(e),
            Err(e) => why.push(e),
        }
    }
    Err(format!(
        "no ESP found ({}); name it with --esp",
        why.join("; ")
    ))
}

/// Checks that `esp` is a FAT mount point (itself, not a link to one) and
/// finds its partition. Every refusal says what was found.
pub fn locate(esp: &Path) -> Result<EspPartition, String> {
    let shown = esp.display();
    let m = std::fs::symlink_metadata(esp).map_err(|e| format!("{shown}: {e}"))?;
    if m.file_type().is_symlink() {
        return Err(format!(
            "{shown} is a symbolic link: name the ESP's mount point itself (--esp)"
        ));
    }
    if !m.is_dir() {
        return Err(format!("{shown} is not a directory"));
    }
    let t = super::efivarfs::statfs_type(esp).map_err(|e| format!("{shown}: {e}"))?;
    if t != MSDOS_SUPER_MAGIC {
        return Err(format!(
            "{shown} is not a FAT file system (type {t:#x}): is the ESP mounted there? (--esp names it)"
        ));
    }
    let parent = std::fs::metadata(esp.join("..")).map_err(|e| format!("{shown}/..: {e}"))?;
    if parent.dev() == m.dev() && parent.ino() != m.ino() {
        return Err(format!("{shown} is not a mount point"));
    }
    let dev = m.dev();
    let (maj, min) = (libc::major(dev), libc::minor(dev));
    let sys = PathBuf::from(format!("/sys/dev/block/{maj}:{min}"));
    let number = match read_sys_u64(&sys.join("partition")) {
        Ok(n) => u32::try_from(n).map_err(|_| format!("partition number {n}"))?,
        Err(_) => {
            return Err(format!(
                "{shown} is on block device {maj}:{min}, which is not a partition: a boot entry names a partition of a GPT disk"
            ))
        }
    };
    let start = read_sys_u64(&sys.join("start"))?;
    let size = read_sys_u64(&sys.join("size"))?;
    let real = std::fs::canonicalize(&sys).map_err(|e| format!("{}: {e}", sys.display()))?;
    let disk_sys = real
        .parent()
        .ok_or_else(|| format!("{}: no parent disk", real.display()))?;
    let disk_name = disk_sys
        .file_name()
        .and_then(|n| n.to_str())
        .filter(|n| {
            !n.is_empty()
                && n.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        })
        .ok_or_else(|| format!("{}: not a disk's name", disk_sys.display()))?
        .to_string();
    let lba_size = read_sys_u64(&disk_sys.join("queue/logical_block_size"))?;
    let disk_bytes = read_sys_u64(&disk_sys.join("size"))?.saturating_mul(512);
    let disk_dev = read_sys(&disk_sys.join("dev"))?;
    let node = PathBuf::from("/dev").join(&disk_name);
    let f = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
        .open(&node)
        .map_err(|e| format!("{}: {e}", node.display()))?;
    let fm = f
        .metadata()
        .map_err(|e| format!("{}: {e}", node.display()))?;
    let rdev = fm.rdev();
    if !fm.file_type().is_block_device()
        || format!("{}:{}", libc::major(rdev), libc::minor(rdev)) != disk_dev
    {
        return Err(format!(
            "{} is not block device {disk_dev} (the disk sysfs names)",
            node.display()
        ));
    }
    let mut r = std::io::BufReader::new(f);
    let mut mbr = [0u8; 512];
    {
        use std::io::{Read, Seek, SeekFrom};
        r.seek(SeekFrom::Start(0))
            .and_then(|_| r.read_exact(&mut mbr))
            .map_err(|e| format!("{}: byte 0: {e}", node.display()))?;
    }
    if mbr[450] != 0xee {
        return Err(format!(
            "{}: byte 450: no protective MBR entry (type {:#04x}): the disk is not GPT; bootaudit writes boot entries for GPT partitions only",
            node.display(),
            mbr[450]
        ));
    }
    let (parts, _) = gpt_partitions(&mut r, disk_bytes, lba_size)
        .map_err(|e| format!("{}: {e}", node.display()))?;
    let start_bytes = start.saturating_mul(512);
    let p = parts
        .iter()
        .find(|p| p.first_lba.saturating_mul(lba_size) == start_bytes)
        .ok_or_else(|| {
            format!(
                "{}: no GPT entry starts where the kernel's partition {number} does (byte {start_bytes})",
                node.display()
            )
        })?;
    if p.type_guid != ESP_TYPE {
        return Err(format!(
            "{}: partition {} is not an EFI System Partition (type {})",
            node.display(),
            p.number,
            bootaudit_eventlog::efi::Guid(p.type_guid)
        ));
    }
    let gpt_bytes = (p.last_lba + 1 - p.first_lba).saturating_mul(lba_size);
    if gpt_bytes != size.saturating_mul(512) {
        return Err(format!(
            "{}: the GPT entry of partition {} is {gpt_bytes} bytes, the kernel's {} bytes",
            node.display(),
            p.number,
            size.saturating_mul(512)
        ));
    }
    if p.number != number {
        return Err(format!(
            "{}: the kernel calls the partition {number}, the GPT entry is {}",
            node.display(),
            p.number
        ));
    }
    Ok(EspPartition {
        mount: esp.to_path_buf(),
        disk: node,
        number,
        unique_guid: p.unique_guid,
        first_lba: p.first_lba,
        size_lba: size.saturating_mul(512) / lba_size.max(1),
        lba_size,
    })
}
