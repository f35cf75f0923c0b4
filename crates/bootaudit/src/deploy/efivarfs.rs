//! UEFI variables read and written through Linux's efivarfs
//! (`/sys/firmware/efi/efivars`): a file `Name-guid` holds the 4-byte
//! attributes and the value; a write is one `write(2)` of both; removing
//! the file deletes the variable.
//!
//! Every value read comes from a machine that may be compromised: reads are
//! capped at [`MAX_VARIABLE`] bytes, links and special files are refused,
//! and the listing of Boot#### variables is bounded.

use bootaudit_snapshot::efivar::MAX_VARIABLE;
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

/// Where Linux mounts efivarfs.
pub const LIVE: &str = "/sys/firmware/efi/efivars";
/// statfs's f_type of efivarfs.
const EFIVARFS_MAGIC: u64 = 0xde5e_81e4;
/// The inode flag `chattr +i` sets.
const FS_IMMUTABLE_FL: libc::c_long = 0x10;
/// The most directory entries read when listing variables.
const MAX_LISTED: usize = 1 << 17;
/// NON_VOLATILE | BOOTSERVICE_ACCESS | RUNTIME_ACCESS: what Boot####,
/// BootOrder and BootNext hold.
pub const NV_BS_RT: u32 = 0x7;

/// Why a variable could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum VarError {
    /// The store refuses the change (an immutable file, efivarfs absent).
    #[error("{0}")]
    Refused(String),
    /// A read or write failed.
    #[error("{path}: {cause}")]
    Io {
        /// The efivarfs file.
        path: String,
        /// The error.
        cause: std::io::Error,
    },
}

/// A store of UEFI variables: efivarfs on a live machine.
pub trait VarStore {
    /// A variable's (attributes, value), `None` when it does not exist.
    fn get(&self, name: &str, guid: &str) -> Result<Option<(u32, Vec<u8>)>, VarError>;
    /// The numbers of the `Boot####` variables of the global vendor GUID.
    fn boot_numbers(&self) -> Result<Vec<u16>, VarError>;
    /// Refuses when the variable exists and may not be changed.
    fn check_writable(&self, name: &str, guid: &str) -> Result<(), VarError>;
    /// Writes a variable.
    fn set(
        &mut self,
        name: &str,
        guid: &str,
        attributes: u32,
        value: &[u8],
    ) -> Result<(), VarError>;
    /// Deletes a variable.
    fn delete(&mut self, name: &str, guid: &str) -> Result<(), VarError>;
    /// Where a variable lives, for messages.
    fn describe(&self, name: &str, guid: &str) -> String;
}

/// efivarfs at a mount point.
pub struct Efivarfs {
    dir: PathBuf,
}

impl Efivarfs {
    /// The live machine's efivarfs; refused when it is not mounted there.
    pub fn live() -> Result<Efivarfs, VarError> {
        let dir = PathBuf::from(LIVE);
        if !Path::new("/sys/firmware/efi").is_dir() {
            return Err(VarError::Refused(
                "/sys/firmware/efi does not exist: this machine did not boot through UEFI (or its kernel hides it), so there are no boot variables to write".into(),
            ));
        }
        match statfs_type(&dir) {
            Ok(t) if t == EFIVARFS_MAGIC => Ok(Efivarfs { dir }),
            Ok(t) => Err(VarError::Refused(format!(
                "{LIVE} is not efivarfs (file system type {t:#x}): mount it first (mount -t efivarfs efivarfs {LIVE})"
            ))),
            Err(e) => Err(VarError::Refused(format!(
                "{LIVE}: {e}: efivarfs is not mounted (mount -t efivarfs efivarfs {LIVE})"
            ))),
        }
    }

    fn path(&self, name: &str, guid: &str) -> PathBuf {
        self.dir
            .join(format!("{name}-{}", guid.to_ascii_lowercase()))
    }
}

/// The file system type of `p` (statfs's f_type).
pub(crate) fn statfs_type(p: &Path) -> std::io::Result<u64> {
    use std::os::unix::ffi::OsStrExt;
    let c = std::ffi::CString::new(p.as_os_str().as_bytes())
        .map_err(|_| std::io::Error::other("a NUL in the path"))?;
    // SAFETY: statfs writes one struct statfs; c is NUL-terminated.
    let mut s: libc::statfs = unsafe { std::mem::zeroed() };
    // SAFETY: c and s are valid for the call.
    if unsafe { libc::statfs(c.as_ptr(), &mut s) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    #[allow(clippy::unnecessary_cast)]
    Ok(s.f_type as u64)
}

fn is_immutable(p: &Path) -> std::io::Result<bool> {
    use std::os::fd::AsRawFd;
    let f = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC | libc::O_NONBLOCK)
        .open(p)?;
    let mut flags: libc::c_long = 0;
    // SAFETY: FS_IOC_GETFLAGS writes one long (the kernel writes an int,
    // which a zeroed long holds) into flags, which outlives the call.
    if unsafe { libc::ioctl(f.as_raw_fd(), libc::FS_IOC_GETFLAGS, &mut flags) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(flags & FS_IMMUTABLE_FL != 0)
}

impl VarStore for Efivarfs {
    fn get(&self, name: &str, guid: &str) -> Result<Option<(u32, Vec<u8>)>, VarError> {
        let p = self.path(name, guid);
        match crate::fsutil::read_input(&p, MAX_VARIABLE as u64 + 4) {
            Ok(b) if b.len() >= 4 => Ok(Some((
                u32::from_le_bytes([b[0], b[1], b[2], b[3]]),
                b[4..].to_vec(),
            ))),
            Ok(b) => Err(VarError::Refused(format!(
                "{}: {} bytes, fewer than the 4 attribute bytes",
                p.display(),
                b.len()
            ))),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(cause) => Err(VarError::Io {
                path: p.display().to_string(),
                cause,
            }),
        }
    }

    fn boot_numbers(&self) -> Result<Vec<u16>, VarError> {
        let suffix = format!(
            "-{}",
            bootaudit_snapshot::efivar::GLOBAL_VARIABLE.to_ascii_lowercase()
        );
        let rd = std::fs::read_dir(&self.dir).map_err(|cause| VarError::Io {
            path: self.dir.display().to_string(),
            cause,
        })?;
        let mut out = Vec::new();
        for (i, e) in rd.enumerate() {
            if i >= MAX_LISTED {
                return Err(VarError::Refused(format!(
                    "{}: more than {MAX_LISTED} variables; not read",
                    self.dir.display()
                )));
            }
            let Ok(e) = e else { continue };
            let name = e.file_name();
            let Some(n) = name.to_str().and_then(|n| n.strip_suffix(&suffix)) else {
                continue;
            };
            if let Some(num) = boot_number(n) {
                out.push(num);
            }
        }
        out.sort_unstable();
        Ok(out)
    }

    fn check_writable(&self, name: &str, guid: &str) -> Result<(), VarError> {
        let p = self.path(name, guid);
        match is_immutable(&p) {
            Ok(true) => Err(VarError::Refused(format!(
                "{} is immutable (the kernel protects it, or chattr +i was set): `chattr -i {}` is your decision, not bootaudit's",
                p.display(),
                p.display()
            ))),
            Ok(false) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(cause) => Err(VarError::Io {
                path: p.display().to_string(),
                cause,
            }),
        }
    }

    fn set(
        &mut self,
        name: &str,
        guid: &str,
        attributes: u32,
        value: &[u8],
    ) -> Result<(), VarError> {
        let p = self.path(name, guid);
        let io = |cause| VarError::Io {
            path: p.display().to_string(),
            cause,
        };
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
            .open(&p)
            .map_err(io)?;
        // efivarfs takes the attributes and the value in one write.
        let mut b = Vec::with_capacity(4 + value.len());
        b.extend_from_slice(&attributes.to_le_bytes());
        b.extend_from_slice(value);
        let n = f.write(&b).map_err(io)?;
        if n != b.len() {
            return Err(io(std::io::Error::other(format!(
                "wrote {n} of {} bytes",
                b.len()
            ))));
        }
        Ok(())
    }

    fn delete(&mut self, name: &str, guid: &str) -> Result<(), VarError> {
        let p = self.path(name, guid);
        std::fs::remove_file(&p).map_err(|cause| VarError::Io {
            path: p.display().to_string(),
            cause,
        })
    }

    fn describe(&self, name: &str, guid: &str) -> String {
        self.path(name, guid).display().to_string()
    }
}

/// `Boot0001` → 1; only `Boot` and four upper-case hex digits, as UEFI
/// names load options.
pub fn boot_number(name: &str) -> Option<u16> {
    let hex = name.strip_prefix("Boot")?;
    if hex.len() != 4
        || !hex
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'A'..=b'F').contains(&b))
    {
        return None;
    }
    u16::from_str_radix(hex, 16).ok()
}

#[cfg(test)]
mod tests {
    #[test]
    fn only_four_upper_case_hex_digits_name_a_load_option() {
        use super::boot_number;
        assert_eq!(boot_number("Boot0001"), Some(1));
        assert_eq!(boot_number("BootFFFF"), Some(0xffff));
        for n in [
            "BootOrder",
            "BootNext",
            "Boot001",
            "Boot00001",
            "Boot000a",
            "boot0001",
            "Boot+001",
        ] {
            assert_eq!(boot_number(n), None, "{n}");
        }
    }
}
