//! Writing the snapshot to `\bootaudit\` on the ESP the collector was loaded
//! from, under a name that never overwrites an earlier one, then reading it
//! back and comparing SHA-256. The result goes into a sidecar
//! `snap-NNNN.sha256` (`<hex>  snap-NNNN.json`, sha256sum's format), written
//! only when the read-back matched.

use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;
use bootaudit_snapshot::Snapshot;
use sha2::{Digest, Sha256};
use uefi::fs::{FileSystem, Path, PathBuf};
use uefi::prelude::*;
use uefi::CString16;

const DIR: &str = "bootaudit";
const MAX_SNAPSHOTS: u32 = 10_000;

fn path(s: &str) -> Result<PathBuf, String> {
    CString16::try_from(s)
        .map(PathBuf::from)
        .map_err(|_| format!("path {s} is not UCS-2"))
}

/// Writes `bytes` as `DIR\file` and reads them back: whether what is there
/// hashes to `sha256`.
fn write_checked(fs: &mut FileSystem, file: &str, bytes: &[u8], sha256: &str) -> bool {
    let Ok(full) = path(&format!("{DIR}\\{file}")) else {
        return false;
    };
    fs.write(full.as_ref() as &Path, bytes).is_ok()
        && fs
            .read(full.as_ref() as &Path)
            .is_ok_and(|back| crate::hex(&Sha256::digest(&back)) == sha256)
}

/// Writes the snapshot, the raw ACPI tables (in the order of
/// `snap.acpi.tables`) as sidecar files in `snap-NNNN.acpi\`, the flash
/// copy as `snap-NNNN.flash` and the Device Tree as `snap-NNNN.dtb` (each
/// read back and compared with the hash the snapshot records); returns the
/// snapshot's file name, number and SHA-256.
pub fn write(
    snap: &mut Snapshot,
    tables: &[Vec<u8>],
    flash: Option<&[u8]>,
    dtb: Option<&[u8]>,
) -> Result<Written, String> {
    let sfs = boot::get_image_file_system(boot::image_handle())
        .map_err(|e| format!("the ESP's file system: {:?}", e.status()))?;
    let mut fs = FileSystem::new(sfs);
    fs.create_dir_all(path(DIR)?.as_ref() as &Path)
        .map_err(|e| format!("create {DIR}: {e:?}"))?;
    // The first free number: earlier snapshots are never overwritten.
    let mut name = None;
    for n in 0..MAX_SNAPSHOTS {
        let candidate = format!("{DIR}\\snap-{n:04}.json");
        match fs.try_exists(path(&candidate)?.as_ref() as &Path) {
            Ok(false) => {
                name = Some((n, candidate));
                break;
            }
            Ok(true) => continue,
            Err(e) => return Err(format!("look up {candidate}: {e:?}")),
        }
    }
    let (n, name) = name.ok_or("no free snapshot name")?;
    if let Some(acpi) = snap.acpi.as_mut() {
        let dir = format!("snap-{n:04}.acpi");
        let full = format!("{DIR}\\{dir}");
        match fs.create_dir_all(path(&full)?.as_ref() as &Path) {
            Ok(()) => {
                acpi.sidecar_dir = Some(dir);
                for (i, (t, bytes)) in acpi.tables.iter_mut().zip(tables).enumerate() {
                    let file = format!("{i:02}-{}.dat", t.signature.replace(['.', '\\', '/'], "_"));
                    let p = path(&format!("{full}\\{file}"))?;
                    if fs.write(p.as_ref() as &Path, bytes).is_ok() {
                        t.file = Some(file);
                    }
                }
            }
            Err(e) => snap.errors.push(bootaudit_snapshot::CollectError {
                part: bootaudit_snapshot::Part::Acpi,
                what: format!("create {full}: {e:?}"),
                status: None,
            }),
        }
    }
    if let (Some(rec), Some(bytes)) = (snap.firmware_flash.as_mut(), flash) {
        let file = format!("snap-{n:04}.flash");
        if write_checked(&mut fs, &file, bytes, &rec.sha256) {
            rec.file = Some(file);
        } else {
            snap.errors.push(bootaudit_snapshot::CollectError {
                part: bootaudit_snapshot::Part::FirmwareFlash,
                what: format!(
                    "write or read back {file} failed: the copy is recorded by its hash only"
                ),
                status: None,
            });
        }
    }
    if let (Some(rec), Some(bytes)) = (snap.device_tree.as_mut(), dtb) {
        let file = format!("snap-{n:04}.dtb");
        if write_checked(&mut fs, &file, bytes, &rec.sha256) {
            rec.file = Some(file);
        } else {
            snap.errors.push(bootaudit_snapshot::CollectError {
                part: bootaudit_snapshot::Part::DeviceTree,
                what: format!(
                    "write or read back {file} failed: the tree is recorded by its hash and nodes only"
                ),
                status: None,
            });
        }
    }
    let json = serde_json::to_vec_pretty(&*snap).map_err(|e| format!("serialize: {e}"))?;
    let p = path(&name)?;
    fs.write(p.as_ref() as &Path, &json)
        .map_err(|e| format!("write {name}: {e:?}"))?;
    let back = fs
        .read(p.as_ref() as &Path)
        .map_err(|e| format!("read back {name}: {e:?}"))?;
    let want = Sha256::digest(&json);
    let got = Sha256::digest(&back);
    if want != got {
        return Err(format!(
            "{name}: read-back SHA-256 differs from what was written"
        ));
    }
    let hexd = crate::hex(&want);
    let side = format!("{DIR}\\snap-{n:04}.sha256");
    let line = format!("{hexd}  snap-{n:04}.json\n");
    fs.write(path(&side)?.as_ref() as &Path, line.as_bytes())
        .map_err(|e| format!("write {side}: {e:?}"))?;
    Ok(Written {
        name,
        n,
        sha256: want.into(),
    })
}

/// A snapshot written and read back.
pub struct Written {
    /// `bootaudit\snap-NNNN.json`.
    pub name: String,
    /// NNNN.
    pub n: u32,
    /// The SHA-256 of the file's bytes.
    pub sha256: [u8; 32],
}

/// Writes the boot quote beside snapshot `n` as `snap-NNNN.quote.json`
/// (a `TpmQuote` whose nonce is the snapshot file's SHA-256); returns its
/// name.
pub fn write_quote(n: u32, quote: &bootaudit_snapshot::TpmQuote) -> Result<String, String> {
    let sfs = boot::get_image_file_system(boot::image_handle())
        .map_err(|e| format!("the ESP's file system: {:?}", e.status()))?;
    let mut fs = FileSystem::new(sfs);
    let json = serde_json::to_vec_pretty(quote).map_err(|e| format!("serialize: {e}"))?;
    let name = format!("{DIR}\\snap-{n:04}.quote.json");
    fs.write(path(&name)?.as_ref() as &Path, &json)
        .map_err(|e| format!("write {name}: {e:?}"))?;
    Ok(name)
}
