//! `collector media`: a bootable disk image for a USB stick. A GPT disk
//! with one EFI System Partition, a FAT file system (written with the
//! `fatfs` crate: the image is bootaudit's own, not evidence) holding the
//! collector as the removable-media loader (`\EFI\BOOT\BOOTX64.EFI`) and a
//! configuration of `mode=shutdown`. The responder boots the suspect machine
//! from it, and reads the stick back with `bootaudit ingest` (bootaudit's
//! own bounded FAT reader).

use serde::Serialize;
use std::io::{Cursor, Write};
use std::path::Path;

const SECTOR: u64 = 512;
/// The partition starts at 1 MiB, as partitioning tools align it.
const FIRST_LBA: u64 = 2048;
/// 128 entries of 128 bytes: 32 sectors.
const ENTRIES: u32 = 128;
const ENTRY_SIZE: u32 = 128;
const ENTRY_SECTORS: u64 = (ENTRIES as u64 * ENTRY_SIZE as u64) / SECTOR;
/// The smallest image: a FAT32 file system needs 65,525 clusters.
pub const MIN_MIB: u64 = 40;
/// The largest image written: it is built in memory, and a collector's
/// snapshots take a few MiB (the rest of a larger stick stays unused).
pub const MAX_MIB: u64 = 256;

/// What was written.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Media {
    /// The image file.
    pub image: String,
    /// Its size in bytes.
    pub bytes: u64,
    /// The disk GUID.
    pub disk_guid: String,
    /// The ESP's unique partition GUID.
    pub partition_guid: String,
    /// The ESP's first LBA and size in sectors.
    pub partition_lba: (u64, u64),
    /// The loader's path on the ESP and the collector's SHA-256.
    pub loader: String,
    /// The collector's SHA-256.
    pub collector_sha256: String,
    /// The configuration written to `\bootaudit\config`.
    pub config: String,
}

/// A version 4 (random) GUID in its on-disk byte order.
fn random_guid() -> std::io::Result<[u8; 16]> {
    use rand_core::RngCore;
    let mut g = [0u8; 16];
    rand_core::OsRng
        .try_fill_bytes(&mut g)
        .map_err(std::io::Error::other)?;
    g[7] = (g[7] & 0x0f) | 0x40; // version 4 (the high nibble of field 3)
    g[8] = (g[8] & 0x3f) | 0x80; // variant 10
    Ok(g)
}

fn gpt_header(
    disk_guid: &[u8; 16],
    this_lba: u64,
    other_lba: u64,
    entries_lba: u64,
    last_usable: u64,
    entries_crc: u32,
) -> [u8; 512] {
    let mut h = [0u8; 512];
    h[..8].copy_from_slice(b"EFI PART");
    h[8..12].copy_from_slice(&0x0001_0000u32.to_le_bytes());
    h[12..16].copy_from_slice(&92u32.to_le_bytes());
    h[24..32].copy_from_slice(&this_lba.to_le_bytes());
    h[32..40].copy_from_slice(&other_lba.to_le_bytes());
    h[40..48].copy_from_slice(&(2 + ENTRY_SECTORS).to_le_bytes());
    h[48..56].copy_from_slice(&last_usable.to_le_bytes());
    h[56..72].copy_from_slice(disk_guid);
    h[72..80].copy_from_slice(&entries_lba.to_le_bytes());
    h[80..84].copy_from_slice(&ENTRIES.to_le_bytes());
    h[84..88].copy_from_slice(&ENTRY_SIZE.to_le_bytes());
    h[88..92].copy_from_slice(&entries_crc.to_le_bytes());
    let crc = crc32fast::hash(&h[..92]);
    h[16..20].copy_from_slice(&crc.to_le_bytes());
    h
}

/// The files' times: now, in UTC (fatfs without its chrono feature
/// would write the invalid date 1980-00-00).
#[derive(Debug)]
struct UtcNow;
static UTC_NOW: UtcNow = UtcNow;

impl fatfs::TimeProvider for UtcNow {
    fn get_current_date(&self) -> fatfs::Date {
        self.get_current_date_time().date
    }
    fn get_current_date_time(&self) -> fatfs::DateTime {
        let t = jiff::Timestamp::now().to_zoned(jiff::tz::TimeZone::UTC);
        // FAT dates run from 1980 to 2107.
        let year = t.year().clamp(1980, 2107) as u16;
        fatfs::DateTime {
            date: fatfs::Date {
                year,
                month: t.month() as u16,
                day: t.day() as u16,
            },
            time: fatfs::Time {
                hour: t.hour() as u16,
                min: t.minute() as u16,
                sec: t.second() as u16,
                millis: 0,
            },
        }
    }
}

/// The FAT file system of the ESP, `bytes` long, holding `files`
/// (`(path with /, contents)`).
fn fat_volume(bytes: u64, files: &[(&str, &[u8])]) -> std::io::Result<Vec<u8>> {
    let len = usize::try_from(bytes).map_err(std::io::Error::other)?;
    let mut vol = Cursor::new(vec![0u8; len]);
    fatfs::format_volume(
        &mut vol,
        fatfs::FormatVolumeOptions::new()
            .fat_type(fatfs::FatType::Fat32)
            .bytes_per_cluster(512)
            .volume_label(*b"BOOTAUDIT  ")
            .volume_id(u32::from_le_bytes(
                random_guid()?[..4].try_into().unwrap_or([0; 4]),
            )),
    )?;
    vol.set_position(0);
    {
        let fs = fatfs::FileSystem::new(&mut vol, fatfs::FsOptions::new().time_provider(&UTC_NOW))?;
        write_files(&fs.root_dir(), files)?;
        fs.unmount()?;
    }
    Ok(vol.into_inner())
}

fn write_files<T: fatfs::ReadWriteSeek>(
    root: &fatfs::Dir<'_, T>,
    files: &[(&str, &[u8])],
) -> std::io::Result<()> {
    for (path, body) in files {
        // Each parent directory, shortest first (the volume is new).
        for (i, _) in path.match_indices('/') {
            if root.open_dir(&path[..i]).is_err() {
                root.create_dir(&path[..i])?;
            }
        }
        let mut f = root.create_file(path)?;
        f.write_all(body)?;
        f.flush()?;
    }
    Ok(())
}

/// Writes the image at `out` atomically: `size_mib` MiB, the collector
/// `efi` as the loader `loader_name` (`BOOTX64.EFI`), and `config`.
pub fn write(
    out: &Path,
    efi: &[u8],
    loader_name: &str,
    config: &str,
    size_mib: u64,
) -> std::io::Result<Media> {
    if !(MIN_MIB..=MAX_MIB).contains(&size_mib) {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            format!("--size {size_mib}: from {MIN_MIB} to {MAX_MIB} MiB"),
        ));
    }
    let total = size_mib * (1 << 20) / SECTOR;
    let last_usable = total - 1 - ENTRY_SECTORS - 1;
    // The partition ends on a 1 MiB boundary below the backup table.
    let last = (last_usable + 1) / FIRST_LBA * FIRST_LBA - 1;
    let part_sectors = last + 1 - FIRST_LBA;
    let (disk_guid, part_guid) = (random_guid()?, random_guid()?);

    let loader = format!("EFI/BOOT/{loader_name}");
    let cfg = format!("{config}\n");
    let volume = fat_volume(
        part_sectors * SECTOR,
        &[(&loader, efi), ("bootaudit/config", cfg.as_bytes())],
    )?;

    let mut entries = vec![0u8; (ENTRIES * ENTRY_SIZE) as usize];
    entries[..16].copy_from_slice(&crate::esp::ESP_TYPE);
    entries[16..32].copy_from_slice(&part_guid);
    entries[32..40].copy_from_slice(&FIRST_LBA.to_le_bytes());
    entries[40..48].copy_from_slice(&last.to_le_bytes());
    // Attribute 0 (required by the platform) stays clear; the name.
    for (i, u) in "EFI System Partition".encode_utf16().enumerate() {
        entries[56 + 2 * i..58 + 2 * i].copy_from_slice(&u.to_le_bytes());
    }
    let ecrc = crc32fast::hash(&entries);

    let mut mbr = [0u8; 512];
    mbr[446 + 1..446 + 4].copy_from_slice(&[0x00, 0x02, 0x00]);
    mbr[446 + 4] = 0xee;
    mbr[446 + 5..446 + 8].copy_from_slice(&[0xff, 0xff, 0xff]);
    mbr[446 + 8..446 + 12].copy_from_slice(&1u32.to_le_bytes());
    let span = u32::try_from(total - 1).unwrap_or(u32::MAX);
    mbr[446 + 12..446 + 16].copy_from_slice(&span.to_le_bytes());
    mbr[510] = 0x55;
    mbr[511] = 0xaa;

    let primary = gpt_header(&disk_guid, 1, total - 1, 2, last_usable, ecrc);
    let backup = gpt_header(
        &disk_guid,
        total - 1,
        1,
        total - 1 - ENTRY_SECTORS,
        last_usable,
        ecrc,
    );

    crate::fsutil::check_output(out)?;
    let mut f = crate::fsutil::AtomicFile::create(out)?;
    let zeros = vec![0u8; SECTOR as usize];
    f.write_all(&mbr)?;
    f.write_all(&primary)?;
    f.write_all(&entries)?;
    for _ in (2 + ENTRY_SECTORS)..FIRST_LBA {
        f.write_all(&zeros)?;
    }
    f.write_all(&volume)?;
    for _ in (last + 1)..(total - 1 - ENTRY_SECTORS) {
        f.write_all(&zeros)?;
    }
    f.write_all(&entries)?;
    f.write_all(&backup)?;
    f.commit()?;

    use sha2::Digest;
    Ok(Media {
        image: out.display().to_string(),
        bytes: total * SECTOR,
        disk_guid: bootaudit_eventlog::efi::Guid(disk_guid).to_string(),
        partition_guid: bootaudit_eventlog::efi::Guid(part_guid).to_string(),
        partition_lba: (FIRST_LBA, part_sectors),
        loader: format!("\\EFI\\BOOT\\{loader_name}"),
        collector_sha256: hex::encode(sha2::Sha256::digest(efi)),
        config: config.to_string(),
    })
}
