//! Input files, opened safely: a symbolic link and anything that is not a
//! regular file (a FIFO or a device would block or never end) are refused
//! without blocking on them, and reads are capped. Every bootaudit reader
//! opens its inputs here.

use std::os::unix::fs::{FileTypeExt, OpenOptionsExt};
use std::path::Path;

/// What a path is, when it is not a regular file.
pub fn kind_of(ft: &std::fs::FileType) -> &'static str {
    if ft.is_symlink() {
        "a symbolic link"
    } else if ft.is_dir() {
        "a directory"
    } else if ft.is_fifo() {
        "a FIFO"
    } else if ft.is_char_device() {
        "a character device"
    } else if ft.is_block_device() {
        "a block device"
    } else if ft.is_socket() {
        "a socket"
    } else if ft.is_file() {
        "a regular file"
    } else {
        "not a regular file"
    }
}

/// Called with every input file [`open_input`] opened and its size:
/// `bootaudit -v` names each on stderr, a record of what a run read.
static ON_OPEN: std::sync::OnceLock<fn(&Path, u64)> = std::sync::OnceLock::new();

/// Sets the function [`open_input`] calls with each file it opened (once
/// per process; a second call is ignored).
pub fn on_open(f: fn(&Path, u64)) {
    let _ = ON_OPEN.set(f);
}

/// Opens a file the user named (or one found under a directory the user
/// named) for reading: a symbolic link is refused (`O_NOFOLLOW`), the open
/// does not block (`O_NONBLOCK`: a FIFO with no writer would wait
/// forever), and anything that is not a regular file is refused.
pub fn open_input(path: &Path) -> std::io::Result<std::fs::File> {
    open_input_sized(path).map(|(f, _)| f)
}

/// [`open_input`], with the size the file reports when opened: a hint
/// for a reader's first buffer, never a bound (the file may change, and
/// reads still go to EOF).
pub(crate) fn open_input_sized(path: &Path) -> std::io::Result<(std::fs::File, u64)> {
    let f = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK | libc::O_CLOEXEC)
        .open(path)
        .map_err(|e| {
            if e.raw_os_error() == Some(libc::ELOOP) {
                std::io::Error::new(
                    std::io::ErrorKind::InvalidInput,
                    "a symbolic link; bootaudit reads only regular files",
                )
            } else {
                e
            }
        })?;
    let m = f.metadata()?;
    let ft = m.file_type();
    if !ft.is_file() {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            format!("{}, not a regular file", kind_of(&ft)),
        ));
    }
    if let Some(hook) = ON_OPEN.get() {
        hook(path, m.len());
    }
    Ok((f, m.len()))
}

/// Reads a whole input file of at most `max` bytes (see [`open_input`]);
/// a larger one is an error, not an allocation.
pub fn read_input(path: &Path, max: u64) -> std::io::Result<Vec<u8>> {
    use std::io::Read;
    let (f, size) = open_input_sized(path)?;
    let mut v = Vec::with_capacity(first_buffer(size, max));
    f.take(max.saturating_add(1)).read_to_end(&mut v)?;
    if v.len() as u64 > max {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            format!("larger than {max} bytes"),
        ));
    }
    Ok(v)
}

/// The first buffer for reading a file that reports `size` bytes, of at
/// most `max`: the whole file and one byte more, so that a file read to
/// its end fills it without growing it (securityfs reports 0: the buffer
/// then grows as the file is read).
pub(crate) fn first_buffer(size: u64, max: u64) -> usize {
    usize::try_from(size.min(max).saturating_add(1)).unwrap_or(usize::MAX)
}

/// Checks that a directory the user named is a directory and not a
/// symbolic link to one.
pub fn check_input_dir(path: &Path) -> std::io::Result<()> {
    let ft = std::fs::symlink_metadata(path)?.file_type();
    if ft.is_dir() {
        Ok(())
    } else {
        Err(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            format!("{}, not a directory", kind_of(&ft)),
        ))
    }
}
