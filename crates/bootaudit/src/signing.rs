//! Baselines signed the way git signs commits: an SSH signature (SSHSIG)
//! in a detached `BASELINE.sig` file beside the baseline, verified against
//! an allowed-signers file (`ssh-keygen -Y` format).
//!
//! A baseline's own SHA-256 only catches an accidental edit: whoever can
//! write the file can recompute it. A signature made with a key that the
//! judged host does not hold cannot be recomputed there. The signature is
//! over the baseline file's exact bytes in the namespace
//! [`NAMESPACE`], so `ssh-keygen -Y sign -n bootaudit-baseline -f KEY
//! baseline.json` (with an agent or a hardware key) makes the same `.sig`
//! that `bootaudit baseline create --sign-key` makes, and
//! `ssh-keygen -Y verify` checks either.

use serde::Serialize;
use ssh_key::{HashAlg, LineEnding, PrivateKey, PublicKey, SshSig};
use std::path::{Path, PathBuf};

/// The SSHSIG namespace of baseline signatures.
pub const NAMESPACE: &str = "bootaudit-baseline";
/// The SSHSIG namespace of reference signatures (`bootaudit reference add
/// --sign-key`): another namespace, so that a baseline's signature can
/// never pass for a reference's, nor the other way round.
pub const REFERENCE_NAMESPACE: &str = "bootaudit-reference";

/// The largest key, signature or allowed-signers file read.
const MAX_FILE: u64 = 1 << 20;

/// Why signing or verifying failed.
#[derive(Debug, thiserror::Error)]
pub enum SignError {
    /// A file could not be read or written.
    #[error("{path}: {cause}")]
    Io {
        /// The file.
        path: String,
        /// The error.
        cause: std::io::Error,
    },
    /// A key, signature or allowed-signers line is malformed.
    #[error("{path}: {why}")]
    Format {
        /// The file (with `:LINE` for allowed signers).
        path: String,
        /// What is wrong.
        why: String,
    },
}

/// How a baseline's signature was judged.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Verified {
    /// The allowed signer's principals whose key made the signature.
    pub principal: String,
    /// That key's SHA-256 fingerprint.
    pub fingerprint: String,
    /// The signature file.
    pub signature_file: String,
}

/// The detached signature's path for `baseline`: `baseline` + `.sig`.
pub fn sig_path(baseline: &Path) -> PathBuf {
    let mut s = baseline.as_os_str().to_owned();
    s.push(".sig");
    PathBuf::from(s)
}

/// Signs `bytes` with the OpenSSH private key in `key` (unencrypted; for a
/// key in an agent or on a token, sign with `ssh-keygen -Y sign`), giving
/// the armoured signature.
pub fn sign(key: &Path, bytes: &[u8]) -> Result<String, SignError> {
    sign_in(NAMESPACE, key, bytes)
}

/// [`sign`] in the namespace `ns`.
pub fn sign_in(ns: &str, key: &Path, bytes: &[u8]) -> Result<String, SignError> {
    let name = key.display().to_string();
    let pem = crate::fsutil::read_input(key, MAX_FILE).map_err(|cause| SignError::Io {
        path: name.clone(),
        cause,
    })?;
    let k = PrivateKey::from_openssh(&pem).map_err(|e| SignError::Format {
        path: name.clone(),
        why: format!("not an OpenSSH private key: {e}"),
    })?;
    if k.is_encrypted() {
        return Err(SignError::Format {
            path: name,
            why: format!("the key is encrypted; sign with `ssh-keygen -Y sign -n {ns}` instead"),
        });
    }
    let sig = k
        .sign(ns, HashAlg::Sha512, bytes)
        .map_err(|e| SignError::Format {
            path: name.clone(),
            why: format!("cannot sign with this key: {e}"),
        })?;
    sig.to_pem(LineEnding::LF).map_err(|e| SignError::Format {
        path: name,
        why: e.to_string(),
    })
}

/// One line of an allowed-signers file.
#[derive(Clone, Debug)]
pub struct AllowedSigner {
    /// The principals (comma-separated in the file).
    pub principals: String,
    /// The key.
    pub key: PublicKey,
    /// `namespaces="..."`, when given: the signer is allowed only there.
    pub namespaces: Option<Vec<String>>,
    /// `cert-authority`: a CA line, which bootaudit does not honour.
    pub cert_authority: bool,
    /// `valid-after`: the key is not valid before this Unix time.
    pub valid_after: Option<i64>,
    /// `valid-before`: the key is not valid after this Unix time.
    pub valid_before: Option<i64>,
}

/// A time of an allowed-signers line, as ssh-keygen(1) reads it:
/// `YYYYMMDD`, `YYYYMMDDHHMM` or `YYYYMMDDHHMMSS`, in the system's time
/// zone unless it ends in `Z` (UTC). `None` when it is not one.
fn signer_time(v: &str) -> Option<i64> {
    let (digits, utc) = match v.strip_suffix(['Z', 'z']) {
        Some(d) => (d, true),
        None => (v, false),
    };
    if !matches!(digits.len(), 8 | 12 | 14) || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let n = |a: usize, b: usize| digits.get(a..b).and_then(|x| x.parse::<i32>().ok());
    let (y, mo, d) = (n(0, 4)?, n(4, 6)?, n(6, 8)?);
    let (h, mi, sec) = (
        n(8, 10).unwrap_or(0),
        n(10, 12).unwrap_or(0),
        n(12, 14).unwrap_or(0),
    );
    if !(1..=12).contains(&mo) || !(1..=31).contains(&d) || h > 23 || mi > 59 || sec > 60 {
        return None;
    }
    // SAFETY: tm is a plain C struct, zeroed then filled; timegm and
    // mktime read it and return a time_t (mktime may normalise it).
    let mut tm: libc::tm = unsafe { std::mem::zeroed() };
    tm.tm_year = y - 1900;
    tm.tm_mon = mo - 1;
    tm.tm_mday = d;
    tm.tm_hour = h;
    tm.tm_min = mi;
    tm.tm_sec = sec;
    tm.tm_isdst = -1;
    let t = unsafe {
        if utc {
            libc::timegm(&mut tm)
        } else {
            libc::mktime(&mut tm)
        }
    };
    (t != -1).then_some(t as i64)
}

/// Parses an allowed-signers file (`ssh-keygen(1)` ALLOWED SIGNERS):
/// `principals [options] keytype base64 [comment]` per line.
pub fn read_allowed_signers(path: &Path) -> Result<Vec<AllowedSigner>, SignError> {
    let name = path.display().to_string();
    let bytes = crate::fsutil::read_input(path, MAX_FILE).map_err(|cause| SignError::Io {
        path: name.clone(),
        cause,
    })?;
    let text = String::from_utf8(bytes).map_err(|e| SignError::Format {
        path: name.clone(),
        why: format!("not UTF-8 at byte offset {}", e.utf8_error().valid_up_to()),
    })?;
    let mut out = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let bad = |why: String| SignError::Format {
            path: format!("{name}:{}", n + 1),
            why,
        };
        let (principals, rest) = line
            .split_once(char::is_whitespace)
            .ok_or_else(|| bad("a principal and no key".into()))?;
        // ssh-keygen matches principals as patterns (`*`, `?`, `!`) against
        // the identity a verifier names; bootaudit names none, so a
        // pattern would mean something it cannot honour: refused.
        if principals.contains(['*', '?', '!']) {
            return Err(bad(format!(
                "principal patterns ({principals:?}) are not implemented: bootaudit verifies no identity against them; list each principal by name"
            )));
        }
        let mut rest = rest.trim_start();
        let mut namespaces = None;
        let mut cert_authority = false;
        let (mut valid_after, mut valid_before) = (None, None);
        // Options come before the key type; a quoted value may hold commas.
        if !looks_like_key_type(rest) {
            let (opts, after) =
                split_options(rest).ok_or_else(|| bad("unterminated quote".into()))?;
            for o in opts.iter().filter(|o| !o.is_empty()) {
                let (k, v) = o.split_once('=').unwrap_or((o.as_str(), ""));
                let v = v.trim_matches('"');
                let time = |what: &str| {
                    signer_time(v).ok_or_else(|| {
                        bad(format!(
                            "{what}={v:?} is not a time (YYYYMMDD[HHMM[SS]][Z])"
                        ))
                    })
                };
                match k.to_ascii_lowercase().as_str() {
                    "cert-authority" => cert_authority = true,
                    "namespaces" => {
                        namespaces = Some(v.split(',').map(|s| s.trim().to_string()).collect())
                    }
                    "valid-after" => valid_after = Some(time("valid-after")?),
                    "valid-before" => valid_before = Some(time("valid-before")?),
                    other => {
                        return Err(bad(format!(
                            "option {other:?} is not implemented: refused rather than ignored"
                        )))
                    }
                }
            }
            rest = after.trim_start();
        }
        let mut it = rest.split_whitespace();
        let (Some(ty), Some(b64)) = (it.next(), it.next()) else {
            return Err(bad("no key type and key".into()));
        };
        let key = PublicKey::from_openssh(&format!("{ty} {b64}"))
            .map_err(|e| bad(format!("not a public key: {e}")))?;
        out.push(AllowedSigner {
            principals: principals.to_string(),
            key,
            namespaces,
            cert_authority,
            valid_after,
            valid_before,
        });
    }
    if out.is_empty() {
        return Err(SignError::Format {
            path: name,
            why: "no allowed signer in the file".into(),
        });
    }
    Ok(out)
}

fn looks_like_key_type(s: &str) -> bool {
    ["ssh-", "ecdsa-sha2-", "sk-"]
        .iter()
        .any(|p| s.starts_with(p))
}

/// Splits `a,b="x,y" rest` into its options and the rest.
fn split_options(s: &str) -> Option<(Vec<String>, &str)> {
    let mut opts = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    for (i, c) in s.char_indices() {
        match c {
            '"' => {
                quoted = !quoted;
                cur.push(c);
            }
            ',' if !quoted => opts.push(std::mem::take(&mut cur)),
            c if c.is_whitespace() && !quoted => {
                opts.push(std::mem::take(&mut cur));
                return Some((opts, &s[i..]));
            }
            c => cur.push(c),
        }
    }
    None
}

/// Verifies the detached signature of a baseline's `bytes` (read from
/// `sig_file`) against the allowed signers: it must be an SSHSIG in the
/// baseline namespace, by a key an allowed-signers line lists (for that
/// namespace, when the line limits it), and valid over exactly these bytes.
pub fn verify(
    bytes: &[u8],
    sig_file: &Path,
    allowed: &[AllowedSigner],
) -> Result<Verified, SignError> {
    verify_in(NAMESPACE, bytes, sig_file, allowed)
}

/// [`verify`] in the namespace `ns`.
pub fn verify_in(
    ns: &str,
    bytes: &[u8],
    sig_file: &Path,
    allowed: &[AllowedSigner],
) -> Result<Verified, SignError> {
    let name = sig_file.display().to_string();
    let pem = crate::fsutil::read_input(sig_file, MAX_FILE).map_err(|cause| SignError::Io {
        path: name.clone(),
        cause: std::io::Error::new(cause.kind(), format!("the signature: {cause}")),
    })?;
    verify_pem(ns, bytes, &pem, &name, allowed)
}

/// [`verify_in`] of a signature already read (`pem`; `name` names it).
pub fn verify_pem(
    ns: &str,
    bytes: &[u8],
    pem: &[u8],
    name: &str,
    allowed: &[AllowedSigner],
) -> Result<Verified, SignError> {
    let name = name.to_string();
    let bad = |why: String| SignError::Format {
        path: name.clone(),
        why,
    };
    let sig = SshSig::from_pem(pem).map_err(|e| bad(format!("not an SSH signature: {e}")))?;
    if sig.namespace() != ns {
        return Err(bad(format!(
            "signed in namespace {:?}, not {ns:?}",
            sig.namespace()
        )));
    }
    let signer = allowed
        .iter()
        .filter(|a| !a.cert_authority)
        .filter(|a| {
            a.namespaces
                .as_ref()
                .is_none_or(|n| n.iter().any(|x| x == ns || x == "*"))
        })
        .find(|a| a.key.key_data() == sig.public_key())
        .ok_or_else(|| {
            let fp = PublicKey::from(sig.public_key().clone()).fingerprint(HashAlg::Sha256);
            bad(format!(
                "made by key {fp}, which no allowed signer lists for {ns}"
            ))
        })?;
    // The key's validity, at the time of verification, as ssh-keygen -Y
    // verify checks it.
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64);
    if let Some(t) = signer.valid_after.filter(|t| now < *t) {
        return Err(bad(format!(
            "the allowed signer's key is not yet valid (valid-after, Unix time {t})"
        )));
    }
    if let Some(t) = signer.valid_before.filter(|t| now > *t) {
        return Err(bad(format!(
            "the allowed signer's key has expired (valid-before, Unix time {t})"
        )));
    }
    signer
        .key
        .verify(ns, bytes, &sig)
        .map_err(|e| bad(format!("does not verify over the file's bytes: {e}")))?;
    Ok(Verified {
        principal: signer.principals.clone(),
        fingerprint: signer.key.fingerprint(HashAlg::Sha256).to_string(),
        signature_file: name,
    })
}
