//! Sealed evidence bundles for incident response: a directory with the
//! snapshot, the raw artefacts it was made from (the TPM event log, the
//! ACPI tables, the EFI variables, the SMBIOS tables, the ESP's binaries'
//! hashes), and a manifest that records the SHA-256 and size of every
//! file, the host, the UTC time, the operator, the command line and the
//! tool's version. With a TPM, `quote.json` holds a quote whose nonce is
//! the manifest's SHA-256: the TPM vouches for the manifest, and the
//! manifest for every byte.
//!
//! [`write`] makes the directory atomically (a temporary sibling, renamed
//! into place); [`verify`] walks a bundle that may have been tampered with:
//! every file is hashed within caps, symbolic links and special files are
//! findings, and each changed, added or removed file is named.

use crate::hexser;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::path::{Component, Path, PathBuf};

/// The manifest's format.
pub const FORMAT: &str = "bootaudit-bundle/1";
/// The quote file's format.
pub const QUOTE_FORMAT: &str = "bootaudit-bundle-quote/1";
/// The manifest's file name.
pub const MANIFEST: &str = "manifest.json";
/// The quote's file name (not listed in the manifest: it covers it).
pub const QUOTE: &str = "quote.json";
/// The responder's SSH signature over the manifest (`collect --bundle
/// --sign-key`), in namespace [`SEAL_NAMESPACE`].
pub const SEAL: &str = "manifest.json.sig";
/// The SSHSIG namespace of a bundle's seal.
pub const SEAL_NAMESPACE: &str = "bootaudit-bundle";
/// The most files a bundle may hold.
pub const MAX_FILES: usize = 50_000;
/// The largest file hashed.
pub const MAX_FILE: u64 = 1 << 30;
/// The largest manifest or quote read.
pub const MAX_MANIFEST: u64 = 64 << 20;
/// The PCRs a bundle's quote covers.
pub const QUOTED_PCRS: [u32; 10] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9];
/// The deepest directory walked.
pub const MAX_DEPTH: usize = 16;

/// A bundle's files: (path in the bundle, bytes).
pub type Files = Vec<(String, Vec<u8>)>;

/// One file of the bundle.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct FileEntry {
    /// SHA-256 of its bytes, hex.
    pub sha256: String,
    /// Its size in bytes.
    pub size: u64,
}

/// Who and what the bundle was collected from, as the host reported it
/// (evidence to cross-check, not proof: the quote is the proof).
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Host {
    /// The hostname.
    pub hostname: Option<String>,
    /// /etc/machine-id.
    pub machine_id: Option<String>,
    /// SMBIOS system UUID.
    pub system_uuid: Option<String>,
    /// SMBIOS system serial number.
    pub system_serial: Option<String>,
}

/// The manifest.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    /// [`FORMAT`].
    pub format: String,
    /// `bootaudit 0.1.0`.
    pub tool: String,
    /// The command line that made the bundle.
    pub command_line: Vec<String>,
    /// Who collected it (`--operator`).
    pub operator: Option<String>,
    /// When (RFC 3339 UTC, the collecting host's clock).
    pub collected_at: String,
    /// The host.
    pub host: Host,
    /// Every file but the manifest and the quote, by its path in the
    /// bundle (`/`-separated).
    pub files: BTreeMap<String, FileEntry>,
}

/// The TPM's quote over the manifest.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct BundleQuote {
    /// [`QUOTE_FORMAT`].
    pub format: String,
    /// SHA-256 of manifest.json's bytes, hex: the quote's nonce.
    pub manifest_sha256: String,
    /// The AK's TPMT_PUBLIC, hex.
    pub ak_public: String,
    /// TPMS_ATTEST, hex.
    pub attest: String,
    /// TPMT_SIGNATURE, hex.
    pub signature: String,
}

/// Why a bundle cannot be written or read at all.
#[derive(Debug, thiserror::Error)]
pub enum BundleError {
    /// A file or directory could not be read or written.
    #[error("{path}: {why}")]
    Io {
        /// The path.
        path: String,
        /// What happened.
        why: String,
    },
    /// The manifest or the quote is malformed.
    #[error("{path}: byte {offset}: {why}")]
    Malformed {
        /// The file.
        path: String,
        /// The byte offset.
        offset: usize,
        /// What is wrong.
        why: String,
    },
}

fn io(path: &Path, e: impl std::fmt::Display) -> BundleError {
    BundleError::Io {
        path: path.display().to_string(),
        why: e.to_string(),
    }
}

/// Whether `rel` is a safe path inside a bundle: relative, only normal
/// components, no empty ones, printable.
pub fn safe_rel(rel: &str) -> bool {
    !rel.is_empty()
        && rel.len() <= 1024
        && !rel.chars().any(|c| c.is_control() || c == '\\')
        && Path::new(rel)
            .components()
            .all(|c| matches!(c, Component::Normal(_)))
        && !rel
            .split('/')
            .any(|c| c.is_empty() || c == "." || c == "..")
}

/// Builds the manifest of `files` (path in the bundle, bytes).
pub fn manifest(
    files: &[(String, Vec<u8>)],
    command_line: Vec<String>,
    operator: Option<String>,
    host: Host,
    now: u64,
) -> Manifest {
    Manifest {
        format: FORMAT.into(),
        tool: format!("bootaudit {}", env!("CARGO_PKG_VERSION")),
        command_line,
        operator,
        collected_at: crate::attest::utc(now),
        host,
        files: files
            .iter()
            .map(|(p, b)| {
                (
                    p.clone(),
                    FileEntry {
                        sha256: hexser::sha256(b),
                        size: b.len() as u64,
                    },
                )
            })
            .collect(),
    }
}

/// The manifest's bytes, as written and as the quote's nonce hashes them.
pub fn manifest_bytes(m: &Manifest) -> Vec<u8> {
    json_bytes(m)
}

/// Pretty JSON and a final newline: how every JSON file of a bundle is
/// written.
fn json_bytes<T: Serialize>(v: &T) -> Vec<u8> {
    let mut b = serde_json::to_vec_pretty(v).unwrap_or_default();
    b.push(b'\n');
    b
}

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

/// The verdict of one check of [`verify`].
#[derive(Clone, Copy, Debug, Serialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    /// It holds.
    Pass,
    /// It does not: the bundle is not what its manifest says, or not
    /// vouched for.
    Fail,
    /// Nothing to judge it by.
    Unknown,
}

/// One check of [`verify`].
#[derive(Clone, Debug, Serialize)]
pub struct BundleCheck {
    /// `files`, `changed`, `added`, `removed`, `quote`.
    pub check: &'static str,
    /// The file it is about, if one.
    pub file: Option<String>,
    /// The verdict.
    pub verdict: Verdict,
    /// What was found.
    pub detail: String,
}

/// What `verify-bundle` reports.
#[derive(Clone, Debug, Serialize)]
pub struct BundleReport {
    /// The bundle.
    pub bundle: String,
    /// The manifest's SHA-256.
    pub manifest_sha256: String,
    /// The manifest (the operator, the time, the host, as recorded).
    pub manifest: Manifest,
    /// Every check; the failures name their file.
    pub checks: Vec<BundleCheck>,
    /// True when no check failed.
    pub ok: bool,
    /// True when something the bundle's holder cannot forge vouches for
    /// its manifest: a verified seal (the responder's signature) or a
    /// verified TPM quote. Without one, the files match only the bundle's
    /// own manifest, which anyone could have rewritten.
    pub sealed: bool,
}

/// Parses a manifest or a bundle quote (`path` names it in errors, with
/// the byte offset).
pub fn parse_json<T: for<'de> Deserialize<'de>>(b: &[u8], path: &str) -> Result<T, BundleError> {
    let malformed = |e: serde_json::Error| BundleError::Malformed {
        path: path.to_string(),
        offset: crate::attest::enrol::json_offset(b, e.line(), e.column()),
        why: e.to_string(),
    };
    let v = serde_json::from_slice(b).map_err(malformed)?;
    // A file listed twice in the manifest (serde keeps the last): refused.
    crate::strict_json::no_duplicate_keys(b, false).map_err(malformed)?;
    Ok(v)
}

/// Walks `dir`: every regular file's path relative to the bundle, and a
/// finding for anything else (a symbolic link, a device, a FIFO).
fn walk(
    root: &Path,
    dir: &Path,
    rel: &str,
    depth: usize,
    files: &mut Vec<String>,
    odd: &mut Vec<(String, String)>,
    entries_seen: &mut usize,
) -> Result<(), BundleError> {
    if depth > MAX_DEPTH {
        odd.push((rel.into(), format!("deeper than {MAX_DEPTH} directories")));
        return Ok(());
    }
    // At most MAX_FILES + 1 entries are held: one more is already too many.
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .map_err(|e| io(dir, e))?
        .take(MAX_FILES + 1)
        .collect::<Result<_, _>>()
        .map_err(|e| io(dir, e))?;
    entries.sort_by_key(|e| e.file_name());
    for e in entries {
        // Every entry counts, directories and links too: a bundle of a
        // million empty directories is refused, not walked.
        if files.len() + odd.len() + *entries_seen >= MAX_FILES {
            return Err(io(root, format!("more than {MAX_FILES} entries")));
        }
        let name = e.file_name().to_string_lossy().into_owned();
        let r = if rel.is_empty() {
            name
        } else {
            format!("{rel}/{name}")
        };
        let ft = e.file_type().map_err(|x| io(&e.path(), x))?;
        if ft.is_dir() {
            *entries_seen += 1;
            walk(root, &e.path(), &r, depth + 1, files, odd, entries_seen)?;
        } else if ft.is_file() {
            if files.len() >= MAX_FILES {
                return Err(io(root, format!("more than {MAX_FILES} files")));
            }
            files.push(r);
        } else {
            odd.push((r, crate::fsutil::kind_of(&ft).to_string()));
        }
    }
    Ok(())
}

/// What a bundle holds, from a directory or a tar file: every regular
/// file's SHA-256 and size (or why it could not be read), the entries that
/// are not regular files, and the bytes of the manifest, the quote and the
/// snapshot.
#[derive(Default)]
struct Contents {
    files: BTreeMap<String, Result<(String, u64), String>>,
    odd: Vec<(String, String)>,
    manifest: Option<Vec<u8>>,
    quote: Option<Vec<u8>>,
    seal: Option<Vec<u8>>,
    snapshot: Option<Vec<u8>>,
}

impl Contents {
    /// Takes one regular file's bytes from `r`: the manifest, the quote
    /// and the snapshot are kept (within their caps), the rest hashed.
    fn take(&mut self, rel: String, r: &mut dyn std::io::Read) -> std::io::Result<()> {
        use std::io::Read;
        if self.files.contains_key(&rel) {
            self.odd
                .push((rel, "a second entry of the same path".into()));
            return Ok(());
        }
        let keep = match rel.as_str() {
            MANIFEST | QUOTE | SEAL => Some(MAX_MANIFEST),
            "snapshot.json" => Some(crate::snapshot::MAX_SNAPSHOT_SIZE),
            _ => None,
        };
        let result = match keep {
            Some(cap) => {
                let mut b = Vec::new();
                r.take(cap + 1).read_to_end(&mut b)?;
                if b.len() as u64 > cap {
                    Err(format!("larger than {cap} bytes"))
                } else {
                    let h = (hexser::sha256(&b), b.len() as u64);
                    match rel.as_str() {
                        MANIFEST => self.manifest = Some(b),
                        QUOTE => self.quote = Some(b),
                        SEAL => self.seal = Some(b),
                        _ => self.snapshot = Some(b),
                    }
                    Ok(h)
                }
            }
            None => hash_reader(r).map_err(|e| e.to_string()),
        };
        self.files.insert(rel, result);
        Ok(())
    }

    /// A directory's contents (see [`walk`]).
    fn of_dir(dir: &Path) -> Result<Contents, BundleError> {
        crate::fsutil::check_input_dir(dir).map_err(|e| io(dir, e))?;
        let mut c = Contents::default();
        let mut names = Vec::new();
        walk(dir, dir, "", 0, &mut names, &mut c.odd, &mut 0)?;
        for rel in names {
            let p = dir.join(&rel);
            match crate::fsutil::open_input(&p) {
                Ok(mut f) => c.take(rel, &mut f).map_err(|e| io(&p, e))?,
                Err(e) => {
                    c.files.insert(rel, Err(e.to_string()));
                }
            }
        }
        Ok(c)
    }

    /// A tar file's contents: every entry, in order; regular files are
    /// hashed as they stream by, links, devices and the like are findings,
    /// and a path that is not a plain relative path is one too.
    fn of_tar(file: &Path, r: impl std::io::Read) -> Result<Contents, BundleError> {
        let mut ar = tar::Archive::new(r);
        let mut c = Contents::default();
        let entries = ar.entries().map_err(|e| io(file, e))?;
        for (n, e) in entries.enumerate() {
            if n >= MAX_FILES {
                return Err(io(file, format!("more than {MAX_FILES} entries")));
            }
            let mut e = e.map_err(|x| io(file, format!("tar entry {n}: {x}")))?;
            let raw = e.path_bytes().into_owned();
            let name = String::from_utf8_lossy(&raw).into_owned();
            let rel = name
                .strip_prefix("./")
                .unwrap_or(&name)
                .trim_end_matches('/')
                .to_string();
            let ty = e.header().entry_type();
            if ty.is_dir() {
                if !rel.is_empty() && !safe_rel(&rel) {
                    c.odd.push((name, "a directory outside the bundle".into()));
                }
                continue;
            }
            if !safe_rel(&rel) || std::str::from_utf8(&raw).is_err() {
                c.odd.push((name, "not a plain relative path".into()));
                continue;
            }
            if !(ty.is_file() || ty.is_contiguous()) {
                c.odd.push((
                    rel,
                    format!(
                        "tar entry type {:?}, not a regular file",
                        ty.as_byte() as char
                    ),
                ));
                continue;
            }
            c.take(rel, &mut e)
                .map_err(|x| io(file, format!("tar entry {n}: {x}")))?;
        }
        Ok(c)
    }
}

/// SHA-256 and size of what `r` yields, within [`MAX_FILE`].
fn hash_reader(r: &mut dyn std::io::Read) -> std::io::Result<(String, u64)> {
    use std::io::Read;
    let mut r = r.take(MAX_FILE + 1);
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    let mut n = 0u64;
    loop {
        let k = r.read(&mut buf)?;
        if k == 0 {
            break;
        }
        n += k as u64;
        h.update(&buf[..k]);
    }
    if n > MAX_FILE {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            format!("larger than {MAX_FILE} bytes"),
        ));
    }
    Ok((hexser::encode(h.finalize()), n))
}

/// Checks a bundle (a directory, or a tar file as `collect --bundle
/// OUT.tar` writes it): every file against the manifest (changed, added,
/// removed, not a regular file), and the quote: made by `ak` (an AK the
/// verifier trusts; a bare key fails), over the manifest's SHA-256 as its
/// nonce, quoting the PCRs the bundle's snapshot records. Without a quote,
/// or without an AK to check it with, the quote's verdict is a failure
/// when an AK was given and unknown when not.
pub fn verify(
    path: &Path,
    ak: Option<&crate::quote::TrustedAk>,
) -> Result<BundleReport, BundleError> {
    verify_with(path, ak, None)
}

/// [`verify`], and the seal ([`SEAL`]) against `signers` (an
/// allowed-signers file's lines; none: the seal is not checked).
pub fn verify_with(
    path: &Path,
    ak: Option<&crate::quote::TrustedAk>,
    signers: Option<&[crate::signing::AllowedSigner]>,
) -> Result<BundleReport, BundleError> {
    let is_file = std::fs::symlink_metadata(path)
        .map(|m| m.file_type().is_file())
        .unwrap_or(false);
    if is_file {
        let f = crate::fsutil::open_input(path).map_err(|e| io(path, e))?;
        return judge(
            path,
            Contents::of_tar(path, std::io::BufReader::new(f))?,
            ak,
            signers,
        );
    }
    judge(path, Contents::of_dir(path)?, ak, signers)
}

/// [`verify`] of a tar bundle read from `r` (`path` names it).
pub fn verify_tar(
    path: &Path,
    r: impl std::io::Read,
    ak: Option<&crate::quote::TrustedAk>,
) -> Result<BundleReport, BundleError> {
    judge(path, Contents::of_tar(path, r)?, ak, None)
}

fn judge(
    path: &Path,
    c: Contents,
    ak: Option<&crate::quote::TrustedAk>,
    signers: Option<&[crate::signing::AllowedSigner]>,
) -> Result<BundleReport, BundleError> {
    let mpath = format!("{}: {MANIFEST}", path.display());
    let mbytes = c.manifest.clone().ok_or_else(|| BundleError::Io {
        path: mpath.clone(),
        why: "absent: this is no bundle".into(),
    })?;
    let manifest: Manifest = parse_json(&mbytes, &mpath)?;
    if manifest.format != FORMAT {
        return Err(BundleError::Malformed {
            path: mpath,
            offset: 0,
            why: format!("format {:?}, not {FORMAT:?}", manifest.format),
        });
    }
    let msha = hexser::sha256(&mbytes);
    let mut checks = Vec::new();
    let fail = |check, file: &str, detail: String| BundleCheck {
        check,
        file: Some(file.to_string()),
        verdict: Verdict::Fail,
        detail,
    };
    for (f, kind) in &c.odd {
        checks.push(fail(
            "added",
            f,
            format!("{kind}: a bundle holds only regular files"),
        ));
    }
    let mut seen = 0usize;
    for (f, got) in &c.files {
        if f == MANIFEST || f == QUOTE || f == SEAL {
            continue;
        }
        match manifest.files.get(f) {
            None => checks.push(fail("added", f, "not in the manifest".into())),
            Some(want) => {
                seen += 1;
                match got {
                    Ok((sha, size))
                        if *sha == want.sha256.to_ascii_lowercase() && *size == want.size => {}
                    Ok((sha, size)) => checks.push(fail(
                        "changed",
                        f,
                        format!(
                            "SHA-256 {sha} ({size} bytes), the manifest says {} ({} bytes)",
                            want.sha256, want.size
                        ),
                    )),
                    Err(e) => checks.push(fail("changed", f, format!("unreadable: {e}"))),
                }
            }
        }
    }
    for f in manifest.files.keys() {
        if !safe_rel(f) {
            checks.push(fail(
                "files",
                f,
                "the manifest lists a path no bundle may hold".into(),
            ));
        } else if !c.files.contains_key(f) {
            checks.push(fail(
                "removed",
                f,
                "in the manifest, not in the bundle".into(),
            ));
        }
    }
    if manifest.files.is_empty() {
        checks.push(fail("files", MANIFEST, "the manifest lists no file".into()));
    } else if checks.is_empty() {
        checks.push(BundleCheck {
            check: "files",
            file: None,
            verdict: Verdict::Pass,
            detail: format!("all {seen} files are what the manifest says, and there are no others"),
        });
    }
    checks.extend(quote_checks(path, &c, &msha, ak)?);
    checks.push(seal_check(path, &c, &mbytes, signers));
    let sealed = checks
        .iter()
        .any(|x| matches!(x.check, "quote" | "seal") && x.verdict == Verdict::Pass);
    Ok(BundleReport {
        bundle: path.display().to_string(),
        manifest_sha256: msha,
        ok: checks.iter().all(|c| c.verdict != Verdict::Fail),
        sealed,
        manifest,
        checks,
    })
}

/// The responder's seal: an SSH signature over the manifest's bytes in
/// [`SEAL_NAMESPACE`], by a key `signers` lists.
fn seal_check(
    path: &Path,
    c: &Contents,
    manifest: &[u8],
    signers: Option<&[crate::signing::AllowedSigner]>,
) -> BundleCheck {
    let check = |verdict, detail: String| BundleCheck {
        check: "seal",
        file: Some(SEAL.into()),
        verdict,
        detail,
    };
    match (&c.seal, signers) {
        (None, None) => check(
            Verdict::Unknown,
            "unsealed: no signature over the manifest (collect --bundle --sign-key)".into(),
        ),
        (None, Some(_)) => check(
            Verdict::Fail,
            "unsealed, and --allowed-signers asked for a seal".into(),
        ),
        (Some(_), None) => check(
            Verdict::Unknown,
            "a seal, but no --allowed-signers to check it with: an unchecked signature vouches for nothing".into(),
        ),
        (Some(sig), Some(allowed)) => {
            let name = format!("{}: {SEAL}", path.display());
            match crate::signing::verify_pem(SEAL_NAMESPACE, manifest, sig, &name, allowed) {
                Ok(v) => check(
                    Verdict::Pass,
                    format!(
                        "sealed by {} ({}): the manifest is the one the responder signed",
                        v.principal, v.fingerprint
                    ),
                ),
                Err(e) => check(Verdict::Fail, e.to_string()),
            }
        }
    }
}

/// The PCR values of the bundle's snapshot (bank, index, value); empty
/// when it has none or does not parse (the quote's digest then fails).
fn snapshot_pcrs(bytes: Option<&[u8]>) -> BTreeMap<String, BTreeMap<u32, Vec<u8>>> {
    let mut out: BTreeMap<String, BTreeMap<u32, Vec<u8>>> = BTreeMap::new();
    if let Some(Ok(s)) = bytes.map(|b| crate::snapshot::parse(b, "snapshot.json")) {
        for (bank, values) in s.tpm.iter().flat_map(|t| &t.pcrs) {
            for (i, v) in values {
                if let Some(b) = hexser::decode(v) {
                    out.entry(bank.clone()).or_default().insert(*i, b);
                }
            }
        }
    }
    out
}

fn quote_checks(
    bundle: &Path,
    c: &Contents,
    msha: &str,
    ak: Option<&crate::quote::TrustedAk>,
) -> Result<Vec<BundleCheck>, BundleError> {
    let qpath = PathBuf::from(format!("{}: {QUOTE}", bundle.display()));
    let check = |verdict, detail: String| BundleCheck {
        check: "quote",
        file: Some(QUOTE.into()),
        verdict,
        detail,
    };
    let Some(qbytes) = &c.quote else {
        return Ok(vec![match ak {
            Some(_) => check(Verdict::Fail, "the bundle has no TPM quote, and an AK was given to check one".into()),
            None => check(Verdict::Unknown, "the bundle has no TPM quote: its hashes show only that it is what its own manifest says".into()),
        }]);
    };
    let q: BundleQuote = parse_json(qbytes, &qpath.display().to_string())?;
    let Some(ak) = ak else {
        return Ok(vec![check(
            Verdict::Unknown,
            "a quote, but no --ak to check it with: an unchecked quote vouches for nothing".into(),
        )]);
    };
    let mut out = Vec::new();
    if q.manifest_sha256 != msha {
        out.push(check(
            Verdict::Fail,
            format!(
                "the quote is for manifest {}, this one is {msha}",
                q.manifest_sha256
            ),
        ));
    }
    let bad = |field: &str| BundleError::Malformed {
        path: qpath.display().to_string(),
        offset: 0,
        why: format!("{field} is not hex"),
    };
    let theirs = hexser::decode(&q.ak_public).ok_or_else(|| bad("ak_public"))?;
    let attest = hexser::decode(&q.attest).ok_or_else(|| bad("attest"))?;
    let sig = hexser::decode(&q.signature).ok_or_else(|| bad("signature"))?;
    let nonce = hexser::decode(msha).unwrap_or_default();
    let malformed = |e: crate::quote::QuoteError| BundleError::Malformed {
        path: qpath.display().to_string(),
        offset: e.offset,
        why: format!("{}: {}", e.structure, e.why),
    };
    let trusted = crate::quote::parse_public(&ak.public()).map_err(malformed)?;
    if crate::quote::parse_public(&theirs).map_err(malformed)? != trusted {
        out.push(check(
            Verdict::Fail,
            "the quote names another AK than the trusted one".into(),
        ));
    }
    if let Err(why) = ak.certified("the AK") {
        out.push(check(Verdict::Fail, why));
    }
    // The nonce, the signature, and the quoted PCRs against the bundle's
    // snapshot: the TPM's state when the bundle was sealed is the one the
    // snapshot records.
    let pcrs = snapshot_pcrs(c.snapshot.as_deref());
    for c in crate::quote::verify(&trusted, &attest, &sig, &nonce, &pcrs).map_err(malformed)? {
        if matches!(c.check, "signature" | "nonce" | "pcr-digest") && !c.ok {
            out.push(check(Verdict::Fail, format!("{}: {}", c.check, c.detail)));
        }
    }
    if out.is_empty() {
        out.push(check(
            Verdict::Pass,
            "the enrolled AK signed a quote whose nonce is the manifest's SHA-256".into(),
        ));
    }
    Ok(out)
}

/// The raw artefacts of a running host under `root`, as the bundle holds
/// them: the snapshot (`snapshot.json`), the TPM event log, the ACPI
/// tables, the EFI variables and the SMBIOS tables (`raw/...`), and the
/// ESP's binaries with their hashes (`esp.json`). What cannot be read is
/// left out (the snapshot's `errors` say why); symbolic links and special
/// files are never followed.
pub fn gather(
    root: &Path,
    snapshot_json: &[u8],
    snap: &crate::snapshot::Snapshot,
) -> Vec<(String, Vec<u8>)> {
    let mut out = vec![("snapshot.json".to_string(), snapshot_json.to_vec())];
    let mut budget: u64 = 512 << 20;
    let under = |abs: &str| root.join(abs.trim_start_matches('/'));
    if let Ok(b) = crate::fsutil::read_input(
        &under("/sys/kernel/security/tpm0/binary_bios_measurements"),
        64 << 20,
    ) {
        budget = budget.saturating_sub(b.len() as u64);
        out.push(("raw/tpm/binary_bios_measurements".into(), b));
    }
    for (dir, prefix) in [
        ("/sys/firmware/acpi/tables", "raw/acpi"),
        ("/sys/firmware/efi/efivars", "raw/efivars"),
        ("/sys/firmware/dmi/tables", "raw/dmi"),
    ] {
        let d = under(dir);
        if crate::fsutil::check_input_dir(&d).is_err() {
            continue;
        }
        let mut files = Vec::new();
        let mut odd = Vec::new();
        if walk(&d, &d, "", 0, &mut files, &mut odd, &mut 0).is_err() {
            continue;
        }
        for f in files {
            let rel = format!("{prefix}/{f}");
            if !safe_rel(&rel) {
                continue;
            }
            if let Ok(b) = crate::fsutil::read_input(&d.join(&f), 16 << 20) {
                if (b.len() as u64) > budget {
                    break;
                }
                budget -= b.len() as u64;
                out.push((rel, b));
            }
        }
    }
    if let Some(esp) = &snap.esp {
        out.push(("esp.json".into(), json_bytes(esp)));
    }
    out
}

/// The host as its snapshot names it.
pub fn host_of(snap: &crate::snapshot::Snapshot) -> Host {
    let id = snap.identity.as_ref();
    let smbios = id.and_then(|i| i.smbios.as_ref());
    Host {
        hostname: id.and_then(|i| i.hostname.clone()),
        machine_id: id.and_then(|i| i.machine_id.clone()),
        system_uuid: smbios
            .map(|s| s.system_uuid.clone())
            .filter(|s| !s.is_empty()),
        system_serial: smbios
            .map(|s| s.system_serial.clone())
            .filter(|s| !s.is_empty()),
    }
}

/// Quotes PCRs 0-9 (the firmware's and the boot loader's, which do not
/// move once the OS runs; IMA keeps extending PCR 10) through `tcti` with
/// the manifest's SHA-256 as the nonce, by bootaudit's AK.
pub fn quote_manifest(
    tcti: &str,
    manifest_sha256: &str,
) -> Result<BundleQuote, crate::pcrs::TpmError> {
    let nonce = hexser::decode(manifest_sha256).unwrap_or_default();
    let (_, q) = crate::pcrs::quote_live(tcti, &nonce, &QUOTED_PCRS)?;
    Ok(BundleQuote {
        format: QUOTE_FORMAT.into(),
        manifest_sha256: manifest_sha256.into(),
        ak_public: hexser::encode(&q.ak_public),
        attest: hexser::encode(&q.attest),
        signature: hexser::encode(&q.signature),
    })
}

/// A bundle's files from a collector's ESP: every file under its
/// `\bootaudit` directory (the snapshots, their read-back SHA-256 files,
/// the ACPI and flash sidecars), as `esp/...`, read as `ingest` reads
/// them (a directory or an image, never mounted). The host is the one the
/// last valid snapshot names.
pub fn from_esp(source: &Path) -> Result<(Files, Host), crate::esp::EspError> {
    let (_, files) = crate::esp::read_tree(source, "bootaudit")?;
    let mut out = Vec::new();
    let mut host = Host::default();
    for f in files {
        let rel = format!("esp/{}", f.path.trim_start_matches('/'));
        if !safe_rel(&rel) {
            continue;
        }
        if f.path.ends_with(".json") && f.bytes.len() as u64 <= crate::snapshot::MAX_SNAPSHOT_SIZE {
            if let Ok(s) = crate::snapshot::parse(&f.bytes, &f.path) {
                host = host_of(&s);
            }
        }
        out.push((rel, f.bytes));
    }
    out.sort_by(|a, b| a.0.cmp(&b.0));
    Ok((out, host))
}
