//! Writing a bundle: a directory made atomically, or a tar stream.

use super::*;

/// Writes the bundle directory `out` (which must not exist): the files, the
/// manifest, and the quote if any, into a temporary sibling that is then
/// renamed to `out`, so that `out` is whole or absent.
pub fn write(
    out: &Path,
    files: &[(String, Vec<u8>)],
    manifest_bytes: &[u8],
    quote: Option<&BundleQuote>,
    seal: Option<&str>,
) -> Result<(), BundleError> {
    if std::fs::symlink_metadata(out).is_ok() {
        return Err(io(out, "already exists; a bundle is never overwritten"));
    }
    let name = out
        .file_name()
        .ok_or_else(|| io(out, "names no directory"))?
        .to_string_lossy()
        .into_owned();
    let parent = match out.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let tmp = parent.join(format!(".{name}.tmp-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&tmp);
    std::fs::create_dir(&tmp).map_err(|e| io(&tmp, e))?;
    let result = (|| {
        for (rel, bytes) in files {
            if !safe_rel(rel) || rel == MANIFEST || rel == QUOTE || rel == SEAL {
                return Err(io(Path::new(rel), "not a path a bundle may hold"));
            }
            let p = tmp.join(rel);
            if let Some(d) = p.parent() {
                std::fs::create_dir_all(d).map_err(|e| io(d, e))?;
            }
            write_new(&p, bytes)?;
        }
        write_new(&tmp.join(MANIFEST), manifest_bytes)?;
        if let Some(q) = quote {
            write_new(&tmp.join(QUOTE), &json_bytes(q))?;
        }
        if let Some(sig) = seal {
            write_new(&tmp.join(SEAL), sig.as_bytes())?;
        }
        std::fs::rename(&tmp, out).map_err(|e| io(out, e))
    })();
    if result.is_err() {
        let _ = std::fs::remove_dir_all(&tmp);
    }
    result
}

/// Writes the bundle as a tar file when `out` ends in `.tar`
/// ([`write_tar`]), else as a directory ([`write`]).
pub fn write_any(
    out: &Path,
    files: &[(String, Vec<u8>)],
    manifest_bytes: &[u8],
    quote: Option<&BundleQuote>,
    seal: Option<&str>,
    now: u64,
) -> Result<(), BundleError> {
    if out.extension().is_some_and(|e| e == "tar") {
        write_tar(out, files, manifest_bytes, quote, seal, now)
    } else {
        write(out, files, manifest_bytes, quote, seal)
    }
}

/// Writes the bundle as a tar file `out` (which must not exist),
/// atomically: the same entries as the directory form, regular files only,
/// mode 0644, the manifest's time as their mtime.
pub fn write_tar(
    out: &Path,
    files: &[(String, Vec<u8>)],
    manifest_bytes: &[u8],
    quote: Option<&BundleQuote>,
    seal: Option<&str>,
    now: u64,
) -> Result<(), BundleError> {
    if std::fs::symlink_metadata(out).is_ok() {
        return Err(io(out, "already exists; a bundle is never overwritten"));
    }
    let f = crate::fsutil::AtomicFile::create(out).map_err(|e| io(out, e))?;
    let mut b = tar::Builder::new(f);
    let quote_bytes = quote.map(json_bytes);
    let all = files
        .iter()
        .map(|(p, v)| (p.as_str(), v.as_slice()))
        .chain([(MANIFEST, manifest_bytes)])
        .chain(quote_bytes.as_deref().map(|q| (QUOTE, q)))
        .chain(seal.map(|x| (SEAL, x.as_bytes())));
    for (rel, bytes) in all {
        if !safe_rel(rel) {
            return Err(io(Path::new(rel), "not a path a bundle may hold"));
        }
        let mut h = tar::Header::new_gnu();
        h.set_size(bytes.len() as u64);
        h.set_mode(0o644);
        h.set_mtime(now);
        h.set_entry_type(tar::EntryType::Regular);
        b.append_data(&mut h, rel, bytes).map_err(|e| io(out, e))?;
    }
    let f = b.into_inner().map_err(|e| io(out, e))?;
    f.commit().map_err(|e| io(out, e))
}

fn write_new(p: &Path, bytes: &[u8]) -> Result<(), BundleError> {
    use std::io::Write;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(p)
        .map_err(|e| io(p, e))?;
    f.write_all(bytes)
        .and_then(|_| f.sync_all())
        .map_err(|e| io(p, e))
}
