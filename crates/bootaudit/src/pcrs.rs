//! Real PCR values to check a replayed log against: from a JSON file, from
//! Linux sysfs (/sys/class/tpm/tpm0/pcr-<alg>/<n>), or from a live TPM
//! (feature `tpm`). And the per-PCR verdicts of that comparison.

use crate::eventlog::replay::{PcrBanks, PCR_COUNT};
use crate::eventlog::HashAlg;
use serde::Serialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

pub mod direct;
#[cfg(feature = "tpm")]
pub mod tpm;

/// Where PCR values come from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PcrSource {
    /// A JSON file: `{"sha256": {"0": "hex", ...}, ...}`, the shape of the
    /// `pcrs` object `bootaudit eventlog --format json` prints.
    Json(PathBuf),
    /// A sysfs root (normally `/`): reads `<root>/sys/class/tpm/tpm0/pcr-<alg>/<n>`.
    Sysfs(PathBuf),
    /// A live TPM through a TSS2 TCTI string (`device:/dev/tpmrm0`,
    /// `swtpm:host=127.0.0.1,port=2321`).
    Tpm(String),
    /// An Intel TDX guest's RTMR values in a JSON file, `{"rtmr0": "hex",
    /// ...}` (as a TD quote's body or the guest's sysfs gives them), for a
    /// CC event log: RTMRn is MR index n+1, SHA-384.
    Rtmrs(PathBuf),
}

impl PcrSource {
    /// Parses the `--pcrs` argument: `sysfs`, `sysfs:ROOT`, `tpm:TCTI`, or a
    /// path to a JSON file.
    pub fn parse(s: &str) -> PcrSource {
        if s == "sysfs" {
            PcrSource::Sysfs(PathBuf::from("/"))
        } else if let Some(root) = s.strip_prefix("sysfs:") {
            PcrSource::Sysfs(PathBuf::from(root))
        } else if let Some(tcti) = s.strip_prefix("tpm:") {
            PcrSource::Tpm(tcti.to_string())
        } else {
            PcrSource::Json(PathBuf::from(s))
        }
    }

    /// A label for reports.
    pub fn describe(&self) -> String {
        match self {
            PcrSource::Json(p) => format!("JSON file {}", p.display()),
            PcrSource::Sysfs(r) => format!("sysfs under {}", r.display()),
            PcrSource::Tpm(t) => format!("TPM via {t}"),
            PcrSource::Rtmrs(p) => format!("RTMR JSON file {}", p.display()),
        }
    }

    /// Reads the PCR values.
    pub fn read(&self) -> Result<PcrBanks, PcrError> {
        match self {
            PcrSource::Json(p) => read_json(p),
            PcrSource::Rtmrs(p) => read_rtmr_json(p),
            PcrSource::Sysfs(r) => read_sysfs(r),
            PcrSource::Tpm(t) => read_live(t),
        }
    }
}

/// What `TPM2_Quote` returned, marshalled: the AK's TPMT_PUBLIC, the
/// TPMS_ATTEST and the TPMT_SIGNATURE ([`crate::quote`] reads them back).
pub struct QuoteBlobs {
    /// TPMT_PUBLIC of the attestation key.
    pub ak_public: Vec<u8>,
    /// TPMS_ATTEST.
    pub attest: Vec<u8>,
    /// TPMT_SIGNATURE.
    pub signature: Vec<u8>,
}

/// Reads PCRs 0-23 of every allocated bank from a live TPM: `device:` and
/// `swtpm:` spoken to directly ([`direct`]), any other TCTI through the TSS
/// (feature `tpm`).
pub fn read_live(tcti: &str) -> Result<PcrBanks, PcrError> {
    if let Some(mut t) = direct::DirectTpm::open(tcti)? {
        return t.read_pcrs().map_err(|e| PcrError::Tpm {
            tcti: tcti.to_string(),
            why: e.0,
        });
    }
    #[cfg(feature = "tpm")]
    return tpm::read_pcrs(tcti);
    #[cfg(not(feature = "tpm"))]
    Err(PcrError::NoTpmSupport)
}

/// Reads every PCR from a live TPM, then quotes `pcrs` of its SHA-256 bank
/// (SHA-1 when it has none) with `nonce` by bootaudit's AK, then reads the
/// PCRs again: they must not have moved in between. Returns the PCRs and
/// the quote.
pub fn quote_live(
    tcti: &str,
    nonce: &[u8],
    pcrs: &[u32],
) -> Result<(PcrBanks, QuoteBlobs), TpmError> {
    let bank = |p: &PcrBanks| {
        if p.contains_key(&HashAlg::Sha256) {
            HashAlg::Sha256
        } else {
            HashAlg::Sha1
        }
    };
    let moved = || TpmError::from("the PCRs changed while quoting; try again");
    if let Some(mut t) = direct::DirectTpm::open(tcti).map_err(|e| TpmError(e.to_string()))? {
        let before = t.read_pcrs()?;
        let q = t.quote(nonce, bank(&before), pcrs)?;
        if t.read_pcrs()? != before {
            return Err(moved());
        }
        return Ok((before, q));
    }
    #[cfg(feature = "tpm")]
    {
        let mut ctx = tpm::open(tcti).map_err(|e| TpmError(e.to_string()))?;
        let before = tpm::read_pcrs_with(&mut ctx)?;
        let q = tpm::quote_pcrs(&mut ctx, nonce, bank(&before), pcrs)?;
        if tpm::read_pcrs_with(&mut ctx)? != before {
            return Err(moved());
        }
        Ok((before, q))
    }
    #[cfg(not(feature = "tpm"))]
    {
        let _ = bank;
        Err(TpmError(PcrError::NoTpmSupport.to_string()))
    }
}

/// The TPM's endorsement key (TPMT_PUBLIC of the TCG's default RSA 2048
/// EK) and its certificate, read over one connection to `tcti`
/// (`device:` or `swtpm:`) with the sequence the collector runs
/// (`bootaudit_snapshot::tpm2::read_endorsement`).
pub fn endorsement_live(
    tcti: &str,
) -> Result<bootaudit_snapshot::tpm2::Endorsement<TpmError>, TpmError> {
    let Some(mut t) = direct::DirectTpm::open(tcti).map_err(|e| TpmError(e.to_string()))? else {
        return Err(TpmError(format!(
            "{tcti}: the endorsement key is read through device: or swtpm: only"
        )));
    };
    bootaudit_snapshot::tpm2::read_endorsement(|c| t.transact(c))
        .map_err(|e| TpmError(e.to_string()))
}

/// What failed in a conversation with the TPM (which call, and what the
/// TSS or the TPM answered).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct TpmError(pub String);

impl From<String> for TpmError {
    fn from(s: String) -> Self {
        TpmError(s)
    }
}

impl From<&str> for TpmError {
    fn from(s: &str) -> Self {
        TpmError(s.to_string())
    }
}

/// Why PCR values could not be read.
#[derive(Debug, thiserror::Error)]
pub enum PcrError {
    /// A file could not be read.
    #[error("{path}: cannot read: {cause}")]
    Io {
        /// The file.
        path: String,
        /// The OS error.
        cause: std::io::Error,
    },
    /// A file's content is not what was expected.
    #[error("{path}: {field}: {why}")]
    Format {
        /// The file.
        path: String,
        /// The field (bank, PCR) that was wrong.
        field: String,
        /// What was wrong.
        why: String,
    },
    /// No PCR values found at all.
    #[error("{0}: no PCR values found")]
    Empty(String),
    /// A TCTI that needs the TSS (or a TSS-only command), without the `tpm`
    /// feature.
    #[error("this bootaudit was built without the `tpm` feature: it speaks to device: and swtpm: TPMs itself for PCRs and quotes; rebuild with --features tpm for other TCTIs and for `ak`")]
    NoTpmSupport,
    /// The TPM could not be reached or answered with an error.
    #[error("TPM ({tcti}): {why}")]
    Tpm {
        /// The TCTI used.
        tcti: String,
        /// What failed.
        why: String,
    },
}

/// The largest PCR file bootaudit accepts (a JSON of every bank is ~10 KiB).
const MAX_PCR_FILE: u64 = 1 << 20;

fn read_bounded(p: &Path) -> Result<Vec<u8>, PcrError> {
    use std::io::Read;
    let io = |cause| PcrError::Io {
        path: p.display().to_string(),
        cause,
    };
    let f = crate::fsutil::open_input(p).map_err(io)?;
    let mut buf = Vec::new();
    f.take(MAX_PCR_FILE + 1).read_to_end(&mut buf).map_err(io)?;
    if buf.len() as u64 > MAX_PCR_FILE {
        return Err(PcrError::Format {
            path: p.display().to_string(),
            field: "(file)".into(),
            why: format!("larger than {MAX_PCR_FILE} bytes"),
        });
    }
    Ok(buf)
}

/// Why a PCR value given as text is not one.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ValueError {
    /// Not hexadecimal.
    #[error("not hex: {0}")]
    NotHex(String),
    /// Hex of the wrong length for the bank.
    #[error("{got} bytes, {alg} values are {want}")]
    Size {
        /// Bytes given.
        got: usize,
        /// The bank.
        alg: HashAlg,
        /// Bytes a value of that bank has.
        want: usize,
    },
}

fn parse_value(alg: HashAlg, s: &str) -> Result<Vec<u8>, ValueError> {
    let s = s.trim();
    let s = s.strip_prefix("0x").unwrap_or(s);
    let v = hex::decode(s).map_err(|e| ValueError::NotHex(e.to_string()))?;
    if let Some(want) = alg.size() {
        if v.len() != want {
            return Err(ValueError::Size {
                got: v.len(),
                alg,
                want,
            });
        }
    }
    Ok(v)
}

/// Reads a small JSON document of shape `T` from `p`, and a maker of
/// errors that name the file and a field.
fn json_doc<T: serde::de::DeserializeOwned>(
    p: &Path,
    shape: &str,
) -> Result<(T, impl Fn(String, String) -> PcrError), PcrError> {
    let path = p.display().to_string();
    let buf = read_bounded(p)?;
    let fmt = move |field: String, why: String| PcrError::Format {
        path: path.clone(),
        field,
        why,
    };
    let v = serde_json::from_slice(&buf)
        .map_err(|e| fmt("(document)".into(), format!("expected {shape}: {e}")))?;
    Ok((v, fmt))
}

/// Reads `{"bank": {"index": "hex"}}`.
pub fn read_json(p: &Path) -> Result<PcrBanks, PcrError> {
    let path = p.display().to_string();
    let (v, fmt): (BTreeMap<String, BTreeMap<String, String>>, _) =
        json_doc(p, "{\"sha256\": {\"0\": \"hex\"}}")?;
    let mut out = PcrBanks::new();
    for (bank, pcrs) in v {
        let alg = HashAlg::from_name(&bank)
            .ok_or_else(|| fmt(bank.clone(), "unknown bank name".into()))?;
        for (idx, val) in pcrs {
            let field = format!("{bank}.{idx}");
            let i: u32 = idx
                .parse()
                .ok()
                .filter(|&i| i < PCR_COUNT)
                .ok_or_else(|| fmt(field.clone(), "PCR index must be 0-23".into()))?;
            let value = parse_value(alg, &val).map_err(|why| fmt(field, why.to_string()))?;
            out.entry(alg).or_default().insert(i, value);
        }
    }
    if out.is_empty() {
        return Err(PcrError::Empty(path));
    }
    Ok(out)
}

/// Reads `{"rtmr0": "hex", ..., "rtmr3": "hex"}` (keys in any case, each
/// value 48 bytes) as the SHA-384 registers of a CC event log, keyed by MR
/// index (RTMRn is n+1), so that they compare with its replay.
pub fn read_rtmr_json(p: &Path) -> Result<PcrBanks, PcrError> {
    let path = p.display().to_string();
    let (v, fmt): (BTreeMap<String, String>, _) = json_doc(p, "{\"rtmr0\": \"hex\", ...}")?;
    let mut out = PcrBanks::new();
    for (key, val) in v {
        let n = key
            .to_ascii_lowercase()
            .strip_prefix("rtmr")
            .and_then(|n| n.parse::<u32>().ok())
            .filter(|&n| n < crate::eventlog::replay::CC_RTMR_COUNT)
            .ok_or_else(|| fmt(key.clone(), "expected rtmr0, rtmr1, rtmr2 or rtmr3".into()))?;
        let value =
            parse_value(HashAlg::Sha384, &val).map_err(|why| fmt(key.clone(), why.to_string()))?;
        out.entry(HashAlg::Sha384).or_default().insert(n + 1, value);
    }
    if out.is_empty() {
        return Err(PcrError::Empty(path));
    }
    Ok(out)
}

/// Reads every `pcr-<alg>/<n>` file under `<root>/sys/class/tpm/tpm0/`.
pub fn read_sysfs(root: &Path) -> Result<PcrBanks, PcrError> {
    let dir = root.join("sys/class/tpm/tpm0");
    let entries = std::fs::read_dir(&dir).map_err(|cause| PcrError::Io {
        path: dir.display().to_string(),
        cause,
    })?;
    let mut out = PcrBanks::new();
    for ent in entries.flatten() {
        let name = ent.file_name().to_string_lossy().into_owned();
        let Some(alg) = name.strip_prefix("pcr-").and_then(HashAlg::from_name) else {
            continue;
        };
        for i in 0..PCR_COUNT {
            let f = ent.path().join(i.to_string());
            if !f.exists() {
                continue;
            }
            let buf = read_bounded(&f)?;
            let text = String::from_utf8_lossy(&buf);
            let v = parse_value(alg, &text).map_err(|why| PcrError::Format {
                path: f.display().to_string(),
                field: format!("{alg}.{i}"),
                why: why.to_string(),
            })?;
            out.entry(alg).or_default().insert(i, v);
        }
    }
    if out.is_empty() {
        return Err(PcrError::Empty(dir.display().to_string()));
    }
    Ok(out)
}

/// How one replayed PCR compares with the real value.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Verdict {
    /// Equal.
    Match,
    /// Different: the log is incomplete or false, or the PCR was extended
    /// after the log was taken.
    Mismatch,
    /// The source has no value for this PCR in this bank.
    Unavailable,
}

/// One PCR's verdict.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct PcrVerdict {
    /// Bank.
    pub bank: HashAlg,
    /// PCR index (a CC event log's MR index).
    pub pcr: u32,
    /// A CC event log's register name for the index (RTMR0).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub register: Option<String>,
    /// The verdict.
    pub verdict: Verdict,
    /// The replayed value (hex).
    #[serde(serialize_with = "crate::hexser::bytes")]
    pub replayed: Vec<u8>,
    /// The real value (hex), when the source has one.
    #[serde(serialize_with = "opt_hex")]
    pub actual: Option<Vec<u8>>,
    /// Why the verdict is what it is, when the values alone do not say
    /// (a PCR the log cannot replay).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

fn opt_hex<S: serde::Serializer>(v: &Option<Vec<u8>>, s: S) -> Result<S::Ok, S::Error> {
    match v {
        Some(b) => s.serialize_str(&crate::hexser::encode(b)),
        None => s.serialize_none(),
    }
}

/// Compares every replayed PCR (in `pcrs`, or all when empty) with the
/// source's values. PCRs the log never extends are not judged: the OS extends
/// some (IMA's PCR10) after the firmware log ends.
pub fn compare(replayed: &PcrBanks, actual: &PcrBanks, only: &[u32]) -> Vec<PcrVerdict> {
    compare_with(replayed, &std::collections::BTreeSet::new(), actual, only)
}

/// Compares a replay with real values, as [`compare`], and also gives a
/// mismatch for every PCR the replay could not compute because an event
/// lacks that bank's digest: such a PCR is never dropped from the
/// comparison, whatever value the source holds.
pub fn compare_replay(
    rep: &crate::eventlog::replay::Replay,
    actual: &PcrBanks,
    only: &[u32],
) -> Vec<PcrVerdict> {
    compare_with(&rep.banks, &rep.unreplayable, actual, only)
}

fn compare_with(
    replayed: &PcrBanks,
    unreplayable: &std::collections::BTreeSet<(HashAlg, u32)>,
    actual: &PcrBanks,
    only: &[u32],
) -> Vec<PcrVerdict> {
    let mut out = Vec::new();
    for (bank, pcrs) in replayed {
        for (&pcr, value) in pcrs {
            if !only.is_empty() && !only.contains(&pcr) {
                continue;
            }
            let a = actual.get(bank).and_then(|b| b.get(&pcr));
            let verdict = match a {
                None => Verdict::Unavailable,
                Some(a) if a == value => Verdict::Match,
                Some(_) => Verdict::Mismatch,
            };
            out.push(PcrVerdict {
                bank: *bank,
                pcr,
                register: None,
                verdict,
                replayed: value.clone(),
                actual: a.cloned(),
                note: None,
            });
        }
    }
    for &(bank, pcr) in unreplayable {
        if !only.is_empty() && !only.contains(&pcr) {
            continue;
        }
        out.push(PcrVerdict {
            bank,
            pcr,
            register: None,
            verdict: Verdict::Mismatch,
            replayed: Vec::new(),
            actual: actual.get(&bank).and_then(|b| b.get(&pcr)).cloned(),
            note: Some(format!(
                "an event of the log lacks its {bank} digest: what was extended into {bank} PCR{pcr} is not in the log"
            )),
        });
    }
    out.sort_by_key(|v| (v.bank, v.pcr));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn source_argument_forms() {
        assert_eq!(PcrSource::parse("sysfs"), PcrSource::Sysfs("/".into()));
        assert_eq!(PcrSource::parse("sysfs:/x"), PcrSource::Sysfs("/x".into()));
        assert_eq!(
            PcrSource::parse("tpm:swtpm:port=1"),
            PcrSource::Tpm("swtpm:port=1".into())
        );
        assert_eq!(PcrSource::parse("a.json"), PcrSource::Json("a.json".into()));
    }

    #[test]
    fn json_errors_name_the_field() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("p.json");
        std::fs::write(&p, r#"{"sha256": {"0": "abcd"}}"#).unwrap();
        let e = read_json(&p).unwrap_err().to_string();
        assert!(e.contains("sha256.0") && e.contains("2 bytes"), "{e}");
        std::fs::write(&p, r#"{"sha1": {"24": "00"}}"#).unwrap();
        assert!(read_json(&p).unwrap_err().to_string().contains("sha1.24"));
        std::fs::write(&p, r#"[1,2]"#).unwrap();
        assert!(read_json(&p)
            .unwrap_err()
            .to_string()
            .contains("(document)"));
    }

    #[test]
    fn compare_gives_match_mismatch_and_unavailable() {
        let mut r = PcrBanks::new();
        r.entry(HashAlg::Sha1).or_default().insert(0, vec![1; 20]);
        r.entry(HashAlg::Sha1).or_default().insert(1, vec![2; 20]);
        r.entry(HashAlg::Sha1).or_default().insert(2, vec![3; 20]);
        let mut a = PcrBanks::new();
        a.entry(HashAlg::Sha1).or_default().insert(0, vec![1; 20]);
        a.entry(HashAlg::Sha1).or_default().insert(1, vec![9; 20]);
        let v = compare(&r, &a, &[]);
        let got: Vec<_> = v.iter().map(|v| v.verdict.clone()).collect();
        assert_eq!(
            got,
            [Verdict::Match, Verdict::Mismatch, Verdict::Unavailable]
        );
        assert_eq!(compare(&r, &a, &[1]).len(), 1);
    }
}
