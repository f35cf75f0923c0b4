//! Verifying a bundle that may have been tampered with.

use super::*;

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

impl BundleReport {
    /// Holds the bundle to being vouched for (`--require-seal`): when
    /// nothing vouches for its manifest, the seal check fails (it was
    /// unknown) and so does the report, so that the report says what the
    /// exit code says.
    pub fn require_sealed(&mut self) {
        if self.sealed {
            return;
        }
        for c in self.checks.iter_mut().filter(|c| c.check == "seal") {
            if c.verdict != Verdict::Fail {
                c.verdict = Verdict::Fail;
                c.detail = format!(
                    "{}; --require-seal asks for a verified seal or TPM quote",
                    c.detail
                );
            }
        }
        self.ok = false;
    }
}

/// Walks `dir`: every regular file's path relative to the bundle, and a
/// finding for anything else (a symbolic link, a device, a FIFO).
pub(super) fn walk(
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
